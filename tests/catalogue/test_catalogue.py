"""The catalogue model, host expansion, inventory, schema and the CLI around them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from idcpilot import catalogue, ipam
from idcpilot import inventory as inv
from idcpilot.catalogue.schema import SCHEMA_FILE, estate_schema
from idcpilot.cli.main import app

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_INVENTORY = REPO / ".venv" / "bin" / "ansible-inventory"


def test_example_estate_meets_the_shape_the_demo_promises() -> None:
    cat = catalogue.load("inventories/example")
    tiers = {s.tier for s in cat.estate.spec.sites}
    assert tiers == {"backbone", "edge", "mobile"}
    assert len({s.region for s in cat.estate.spec.sites}) >= 3
    assert len(cat.hosts_with("cdn_node")) >= 200
    assert len(cat.estate.spec.data_domains) == 2
    assert {d.classification for d in cat.estate.spec.data_stores} == {"general", "important", "core"}
    assert {s.level for s in cat.estate.spec.services} == {"L1", "L2", "L3", "L4", "L5"}
    assert any(s.five_g for s in cat.estate.spec.sites)
    assert any(h.group for h in cat.hosts.values())


def test_host_groups_expand_with_defaults() -> None:
    cat = catalogue.load("inventories/example")
    host = cat.hosts["bj-core-1-cdn-007"]
    assert host.group == "bj-core-1-cdn" and host.index == 7 and host.site == "bj-core-1"
    assert cat.groups["bj-core-1-cdn"][0] == "bj-core-1-cdn-001"
    db = cat.hosts["bj-core-1-db-01"]
    assert db.roles == ("baseline", "monitoring")  # spec.hostDefaults
    assert db.distribution == "openeuler" and db.os_family == "RedHat"
    assert cat.hosts["gz-edge-1-legacy-01"].automated is False
    assert [h.name for h in cat.members(["gz-edge-1-zt"])] == ["gz-edge-1-zt-01", "gz-edge-1-zt-02"]


def test_locations_point_at_the_yaml() -> None:
    cat = catalogue.load("inventories/example")
    file, line, col = cat.locate(cat.path_of("sites", "sh-core-1") + ("pue", "design"))
    text = Path(file).read_text().splitlines()[line - 1]
    assert text[col - 1:].startswith("design") or "pue:" in text


@pytest.mark.parametrize("env", ["example", "lab"])
def test_committed_lock_files_are_up_to_date(env: str) -> None:
    cat = catalogue.load(f"inventories/{env}")
    assert not ipam.plan(cat).pending, f"run `idcpilot ipam apply inventories/{env}`"


@pytest.mark.parametrize("env", ["example", "lab"])
def test_estates_validate_against_the_published_schema(env: str) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    data = yaml.safe_load(Path(f"inventories/{env}/estate.yaml").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=None).validate(json.loads(json.dumps(data, default=str)))


def test_published_schema_is_generated_from_the_model() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == estate_schema(), "run `idcpilot schema --write`"
    result = CliRunner().invoke(app, ["schema", "--check"])
    assert result.exit_code == 0


def test_schema_rejects_what_the_model_rejects() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    data = yaml.safe_load(Path("tests/catalogue/broken/invalid-tier.yaml").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(json.loads(json.dumps(data, default=str)))


def test_inventory_groups_and_hostvars() -> None:
    cat = catalogue.load("inventories/example")
    data = inv.build(cat, ipam.plan(cat))
    assert len(data["role_cdn_node"]["hosts"]) == 216
    assert "bj-core-1-wan-01" in data["site_bj_core_1"]["hosts"]
    assert "gz-edge-1-legacy-01" in data["manual"]["hosts"]
    assert set(data["tier_mobile"]["hosts"]) >= {"sz-mobile-1-wan-01", "tj-mobile-1-cdn-01"}
    hv = data["_meta"]["hostvars"]["bj-core-1-wan-01"]
    assert hv["ansible_host"] == hv["idcpilot_addresses"]["management"]
    assert {"overlay", "loopback"} <= set(hv["idcpilot_addresses"])
    assert hv["idcpilot_data_domain"] == "domain-north"
    assert data["all"]["vars"]["idcpilot_registry"] == "registry.hy-idc.internal:5000"


@pytest.mark.skipif(not ANSIBLE_INVENTORY.exists(), reason="ansible-core not installed in .venv")
def test_plain_ansible_inventory_lists_cdn_hosts_with_addresses() -> None:
    proc = subprocess.run([str(ANSIBLE_INVENTORY), "-i", "inventories/example", "--list"],
                          capture_output=True, text=True, check=True, cwd=REPO)
    data = json.loads(proc.stdout)
    cdn = data["role_cdn_node"]["hosts"]
    assert len(cdn) >= 200
    # catalogue values are untrusted data: ansible-inventory prints them as {"__ansible_unsafe": value}
    hosts = [data["_meta"]["hostvars"][h]["ansible_host"] for h in cdn]
    assert all((a.get("__ansible_unsafe") if isinstance(a, dict) else a).startswith("10.64.") for a in hosts)
    graph = subprocess.run([str(ANSIBLE_INVENTORY), "-i", "inventories/lab", "--graph"],
                           capture_output=True, text=True, check=True, cwd=REPO).stdout
    for group in ("@site_lab_bj", "@tier_edge", "@role_sdwan_edge", "@domain_domain_south"):
        assert group in graph
    ours = CliRunner().invoke(app, ["inventory", "inventories/example"])
    assert json.loads(ours.stdout)["role_cdn_node"]["hosts"] == cdn


def test_ipam_plan_and_apply_only_add(tmp_path: Path) -> None:
    env = tmp_path / "env"
    shutil.copytree("inventories/lab", env)
    runner = CliRunner()
    assert "up to date" in runner.invoke(app, ["ipam", "plan", str(env)]).stdout
    before = (env / "ipam.lock.yaml").read_text()
    text = (env / "estate.yaml").read_text().replace(
        "        - name: lab-gz-cdn01\n", "        - name: lab-gz-cdn02\n          roles: [baseline, cdn_node]\n        - name: lab-gz-cdn01\n")
    (env / "estate.yaml").write_text(text)
    plan = runner.invoke(app, ["ipam", "plan", str(env), "--detailed-exitcode"])
    assert plan.exit_code == 3  # EXIT_CHANGES: the lock would change
    assert "+ host/lab-gz-cdn02 management" in plan.stdout
    assert plan.stdout.count("\n+ ") + plan.stdout.startswith("+ ") == 2  # management + service, nothing else
    assert (env / "ipam.lock.yaml").read_text() == before, "plan must not write"
    assert runner.invoke(app, ["ipam", "apply", str(env)]).exit_code == 0
    after = yaml.safe_load((env / "ipam.lock.yaml").read_text())
    old = yaml.safe_load(before)
    for section in ("sites", "clusters", "hosts"):
        for owner, kinds in old[section].items():
            assert after[section][owner] == kinds
    assert "lab-gz-cdn02" in after["hosts"]


def test_ipam_show_json() -> None:
    result = CliRunner().invoke(app, ["ipam", "show", "inventories/lab", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["sites"]["lab-bj"]["management"] == "10.213.0.0/27"


def test_validate_json_summary() -> None:
    result = CliRunner().invoke(app, ["validate", "inventories/example", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["cdnNodes"] == 216 and data["sites"]["byTier"] == {"backbone": 2, "edge": 3, "mobile": 2}


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for command in ("validate", "inventory", "schema", "ipam", "ipam show", "ipam plan", "ipam apply"):
        result = runner.invoke(app, [*command.split(), "--help"])
        assert result.exit_code == 0 and "Usage" in result.stdout, command


def test_missing_environment_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "no estate catalogue here" in result.stderr
