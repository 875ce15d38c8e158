"""The catalogue's string types, strict numbers, messages and the "all problems at once" promise."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import PydanticCustomError
from typer.testing import CliRunner

from idcpilot.catalogue import role_variables, types as t
from idcpilot.catalogue.load import fields_at
from idcpilot.catalogue.model import HostSpec
from idcpilot.cli.main import app
from idcpilot.errors import UserInputError
from tests.catalogue.estates import catalogue, estate, site

REPO = Path(__file__).resolve().parents[2]

GOOD_AND_BAD: list[tuple[t.StringType, str, bool]] = [
    (t.DNS_LABEL, "bj-core-1", True),
    (t.DNS_LABEL, "South_1", False),
    (t.DNS_LABEL, "-edge", False),
    (t.DNS_LABEL, "a" * 63, True),
    (t.DNS_LABEL, "a" * 64, False),
    (t.DNS_LABEL, "lab\n", False),
    (t.DNS_1035_LABEL, "2fa", False),
    (t.HOST_OR_ADDRESS, "10.10.0.11", True),
    (t.HOST_OR_ADDRESS, "logs.hy-idc.internal", True),
    (t.HOST_OR_ADDRESS, "10.0.0.300", False),
    (t.HOST_OR_ADDRESS, "010.0.0.1", False),
    (t.HOST_OR_ADDRESS, "10.0.0.1 iburst", False),
    (t.REGISTRY, "registry.hy-idc.internal:5000", True),
    (t.REGISTRY, "reg", True),
    (t.REGISTRY, "reg:70000", False),
    (t.REGISTRY, "reg:5000/path", False),
    (t.IPV4_PREFIX, "10.64.0.0/14", True),
    (t.IPV4_PREFIX, "10.64.0.0/33", False),
    (t.IPV4_PREFIX, "10.64.0.0", False),
    (t.HTTP_URL, "http://mirror.hy-idc.internal/debian", True),
    (t.HTTP_URL, "https://ti.hy-idc.internal/cncert/blocklist.txt", True),
    (t.HTTP_URL, "http://10.213.0.1:3142/debian", True),
    (t.HTTP_URL, "ftp://mirror/debian", False),
    (t.HTTP_URL, "http://mirror/debian?x=1", False),
    (t.HTTP_URL, "http://mirror/debian#frag", False),
    (t.HTTP_URL, "http://u:p@mirror/debian", False),
    (t.HTTP_URL, "http://mirror/a/../b", False),
    (t.HTTP_URL, "http://mirror/a b", False),
    (t.HTTP_ORIGIN, "https://portal.hy-idc.internal", True),
    (t.HTTP_ORIGIN, "http://10.213.0.1:8081/", True),
    (t.HTTP_ORIGIN, "http://10.213.0.1:8081/path", False),
    (t.PATH_PREFIX, "/static/", True),
    (t.PATH_PREFIX, "/", True),
    (t.PATH_PREFIX, "/v1.2/api/", True),
    (t.PATH_PREFIX, "/...well/", True),
    (t.PATH_PREFIX, "static/", False),
    (t.PATH_PREFIX, "/a/..", False),
    (t.PATH_PREFIX, "/a/./b", False),
    (t.PATH_PREFIX, "/a//b", False),
    (t.PATH_PREFIX, "/a;b", False),
    (t.PATH_PREFIX, "/a{b}", False),
    (t.PATH_PREFIX, "/a'b", False),
    (t.PATH_PREFIX, "/a$b", False),
    (t.PATH_PREFIX, "/%2e%2e/", False),
    (t.UPSTREAM, "127.0.0.1:9301", True),
    (t.UPSTREAM, "ops-console.hy-idc.internal:8443", True),
    (t.UPSTREAM, "https://billing.hy-idc.internal/app/", True),
    (t.UPSTREAM, "http://127.0.0.1:9301/x/; }", False),
    (t.FREE_LINE, "Huayun Interconnect (华云互联)", True),
    (t.FREE_LINE, "a {b} c { d", True),
    (t.FREE_LINE, "ends with {", True),
    (t.FREE_LINE, "{{ x }}", False),
    (t.FREE_LINE, "{% if %}", False),
    (t.FREE_LINE, "{# c #}", False),
    (t.FREE_LINE, "two\nlines", False),
    (t.FREE_LINE, "tab\there", False),
    (t.FREE_LINE, "bidi \u202e", False),
    (t.CPU_QUANTITY, "250m", True),
    (t.CPU_QUANTITY, "2.5", True),
    (t.CPU_QUANTITY, "2Gi", False),
    (t.MEMORY_QUANTITY, "4Gi", True),
    (t.MEMORY_QUANTITY, "1e3", False),
    (t.IMAGE_REF, "registry.hy-idc.internal:5000/hy/portal:3.4.1", True),
    (t.IMAGE_REF, "hy/portal@sha256:" + "a" * 64, True),
    (t.IMAGE_REF, "hy/portal:1.0 --privileged", False),
    (t.K8S_LABEL_KEY, "pilot-batch", True),
    (t.K8S_LABEL_KEY, "idcpilot.io/tier", True),
    (t.K8S_LABEL_VALUE, "2023-1", True),
    (t.K8S_LABEL_VALUE, "a b", False),
    (t.NAME_PATTERN_TYPE, "bj-cdn-{index:03d}", True),
    (t.NAME_PATTERN_TYPE, "{index}-edge", True),
    (t.NAME_PATTERN_TYPE, "x-{index:>999999999}", False),
    (t.NAME_PATTERN_TYPE, "x-{index:07d}", False),
    (t.NAME_PATTERN_TYPE, "x-{index}-{index}", False),
    (t.NAME_PATTERN_TYPE, "x-{index!r}", False),
    (t.NAME_PATTERN_TYPE, "x-{0}", False),
    (t.HOST_NAME, "localhost", False),
    (t.HOST_NAME, "ungrouped", False),
    (t.HOST_NAME, "manual-01", True),
]


def _accepts(kind: t.StringType, value: str) -> bool:
    try:
        kind.check(value)
    except PydanticCustomError:
        return False
    return True


@pytest.mark.parametrize(("kind", "value", "ok"), GOOD_AND_BAD, ids=[f"{k.kind}-{v[:30]!r}" for k, v, _ in GOOD_AND_BAD])
def test_string_type_and_its_published_pattern_agree(kind: t.StringType, value: str, ok: bool) -> None:
    assert _accepts(kind, value) is ok
    schema = kind.json_schema()
    by_schema = (re.search(schema["pattern"], value) is not None and len(value) <= schema["maxLength"]
                 and value not in schema.get("not", {}).get("enum", []))
    assert by_schema is ok, "the JSON Schema and the CLI disagree"


def test_refusals_name_the_limit_and_cut_long_values() -> None:
    with pytest.raises(PydanticCustomError) as err:
        t.DNS_LABEL.check("a" * 70)
    assert err.value.message() == "must be at most 63 characters (got 70)"
    with pytest.raises(PydanticCustomError) as err:
        t.HTTP_URL.check("http://x/" + "a b" * 100)
    assert len(err.value.message()) < 400 and "(309 characters)" in err.value.message()


def test_name_pattern_expands_in_bounded_time() -> None:
    start = time.monotonic()
    with pytest.raises(ValueError):
        HostSpec.model_validate({"group": "x", "count": 100_000, "namePattern": "x-{index:>999999999}"})
    spec = HostSpec.model_validate({"group": "x", "count": 100_000, "namePattern": "x-{index:06d}"})
    names = spec.host_names()
    assert names[0] == "x-000001" and names[-1] == "x-100000" and len(set(names)) == 100_000
    assert time.monotonic() - start < 2


def test_a_pattern_expands_as_its_single_names_do() -> None:
    for pattern in ("x-{index:06d}", "{index}", "bj-{index:03d}-cdn", "{index:01d}y"):
        assert t.expand_name_pattern_range(pattern, 1, 120) == [t.expand_name_pattern(pattern, i) for i in range(1, 121)]
    assert t.expand_name_pattern_range("a{index:02d}", 9, 11) == ["a09", "a10", "a11"]
    with pytest.raises(ValueError, match="not a name pattern"):
        t.expand_name_pattern_range("no-index", 1, 2)


def test_hosts_of_a_group_are_the_hosts_init_would_make() -> None:
    import dataclasses

    from idcpilot.catalogue.estate import Host

    common = dict(site="bj", roles=("baseline",), distribution="debian12", automated=True, path=("spec", "sites", 0, "hosts", 1),
                  group="g", management_address=None, ports=(22,), vars={"a": 1})
    made = Host.named(["g-1", "g-2"], True, **common)
    assert made == [Host(name="g-1", index=1, **common), Host(name="g-2", index=2, **common)]
    assert [h.index for h in Host.named(["solo"], False, **common)] == [None]
    assert {dataclasses.asdict(made[1])[f] for f in ("name", "site", "ports")} == {"g-2", "bj", (22,)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        made[0].site = "sh"  # type: ignore[misc]
    with pytest.raises(TypeError, match="every field"):
        Host.named(["x"], False, site="bj")


def test_generated_names_are_checked_at_both_ends() -> None:
    with pytest.raises(ValueError, match="at most 63 characters"):
        HostSpec.model_validate({"group": "g", "count": 1000, "namePattern": "h" * 60 + "{index}"})
    with pytest.raises(ValueError, match="namePattern gives '-1'"):
        HostSpec.model_validate({"group": "g", "count": 2, "namePattern": "-{index}"})


def test_suggestions_come_from_the_fields_valid_at_that_path(tmp_path: Path) -> None:
    assert "automated" not in fields_at(("spec", "hostDefaults"))
    assert "automated" in fields_at(("spec", "sites", 0, "hosts", 3))
    assert "design" in fields_at(("spec", "sites", 2, "pue"))
    data = estate([site("s1", 2)])
    data["spec"]["hostDefaults"] = {"automated": False, "rolse": ["baseline"]}
    with pytest.raises(UserInputError) as err:
        catalogue(data)
    text = str(err.value)
    assert "spec.hostDefaults.automated: unknown field 'automated'\n" in text + "\n"
    assert "did you mean 'automated'" not in text
    assert "spec.hostDefaults.rolse: unknown field 'rolse' (did you mean 'roles'?)" in text


def test_type_and_consistency_problems_are_reported_together() -> None:
    data = estate([site("s1", 2), site("s2", 2)])
    data["spec"]["sites"][1]["pue"]["design"] = 0.9  # type problem in a site others refer to
    data["spec"]["sdwan"] = {"topology": "full-mesh", "links": [{"a": "s1", "b": "west-1"}, {"a": "s1", "b": "s2"}]}
    data["spec"]["sites"][0]["hosts"].append({"name": "s1-h-001"})  # a duplicate beside them
    with pytest.raises(UserInputError) as err:
        catalogue(data)
    lines = [f"{p.field}: {p.message}" for p in err.value.problems]
    assert "spec.sites[1].pue.design: must be a number >= 1.0 (got 0.9)" in lines
    assert "spec.sdwan.links[0].b: unknown site 'west-1'" in lines
    assert any(line.startswith("spec.sites[0].hosts[2].name: duplicate host name 's1-h-001'") for line in lines)
    assert not any("'s2'" in line for line in lines), "a site set aside for a type problem is not 'unknown'"


def test_entries_after_a_refused_one_keep_their_own_lines() -> None:
    data = estate([site("s1", 2), site("s2", 2), site("s3", 2)])
    data["spec"]["sites"][0]["tier"] = "core"
    data["spec"]["sites"][2]["dataDomain"] = "nowhere"
    with pytest.raises(UserInputError) as err:
        catalogue(data)
    fields = {p.field for p in err.value.problems}
    assert fields == {"spec.sites[0].tier", "spec.sites[2].dataDomain"}


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda s: s.update(sites=None), "spec.sites", "must be a list (got null)"),
        (lambda s: s.update(clusters=[None]), "spec.clusters[0]", "must be a mapping (got null)"),
        (lambda s: s.update(registry=5000), "spec.registry", "must be text (got the number 5000)"),
        (lambda s: s.update(ntpServers="10.0.0.1"), "spec.ntpServers", "must be a list (got text '10.0.0.1')"),
        (lambda s: s["sites"][0].update(tier="x" * 500), "spec.sites[0].tier", "(500 characters))"),
        (lambda s: s.update(services=[{"name": "web", "replicas": False}]), "spec.services[0].replicas", "must be an integer (got false)"),
        (lambda s: s.update(services=[{"name": "web", "replicas": 1e30}]), "spec.services[0].replicas", "must be an integer (got the number 1e+30)"),
        (lambda s: s.update(services=[{"name": "web", "replicas": 5000}]), "spec.services[0].replicas", "must be a number <= 1000 (got 5000)"),
    ],
    ids=["null-list", "null-item", "number-for-text", "text-for-list", "long-value", "bool-for-int", "huge-float", "over-bound"],
)
def test_messages_are_plain_words(edit: Any, field: str, message: str) -> None:
    data = estate([site("s1", 2)])
    edit(data["spec"])
    with pytest.raises(UserInputError) as err:
        catalogue(data)
    text = str(err.value)
    line = next(p for p in err.value.problems if p.field == field)
    assert message in line.message, text
    for internal in ("NoneType", "Value error", "got str", "got dict", "Input should", "[", "]"):
        assert internal not in line.message, line.message
    assert len(line.message) < 300


def test_role_variables_file_is_generated_from_the_argument_specs() -> None:
    generated = role_variables.render(role_variables.generate(REPO / "roles"))
    assert role_variables.ROLE_VARIABLES_FILE.read_text(encoding="utf-8") == generated, \
        "run scripts/generate-role-variables.py (then idcpilot schema --write)"
    proc = subprocess.run([sys.executable, "scripts/generate-role-variables.py", "--check"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_role_variables_are_the_documented_ones_only() -> None:
    documented = role_variables.documented()
    assert "baseline_firewall_enabled" in documented and "zt_gateway_apps" in documented
    assert not any(name.startswith("ansible_") or name.startswith("idcpilot_") for name in documented)
    assert "did you mean 'baseline_firewall_enabled'" in (role_variables.name_problem("baseline_firewal_enabled") or "")
    assert role_variables.type_problem("baseline_firewall_enabled", None) is not None
    assert role_variables.type_problem("baseline_pass_max_days", True) is not None
    assert role_variables.type_problem("baseline_pass_max_days", 60) is None
    assert list(role_variables.value_problems({"a": ["ok", "{{ x }}"]})) == [(("a", 1), list(role_variables.value_problems("{{ x }}"))[0][1])]


def test_host_vars_that_are_documented_still_work() -> None:
    data = estate([site("s1", 0)])
    data["spec"]["sites"][0]["hosts"][0]["vars"] = {"baseline_pass_max_days": 60, "baseline_admin_members": ["alice"]}
    cat = catalogue(data)
    assert cat.hosts["s1-wan"].vars == {"baseline_pass_max_days": 60, "baseline_admin_members": ["alice"]}


def test_exhausted_prefix_message_points_the_right_way() -> None:
    result = CliRunner().invoke(app, ["validate", "tests/catalogue/broken/site-prefix-exhausted.yaml"])
    assert "lower supernets.management.prefixLength" in result.stderr
    assert "raise" not in result.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node (an ECMA-262 regex engine, as in editors) not installed")
def test_published_patterns_mean_the_same_in_an_editor() -> None:
    """Editors evaluate the schema's patterns as ECMA-262 (unicode mode): same verdicts as Python."""
    cases = [[kind.json_schema()["pattern"], value, ok or value in kind.json_schema().get("not", {}).get("enum", [])]
             for kind, value, ok in GOOD_AND_BAD if len(value) <= kind.max_length]
    script = (
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const wrong = cases.filter(([p, v, ok]) => new RegExp(p, 'u').test(v) !== ok);"
        "console.log(JSON.stringify(wrong));"
    )
    proc = subprocess.run(["node", "-e", script], input=json.dumps(cases), capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == []


def test_a_hostile_key_cannot_flood_or_forge_output_lines() -> None:
    data = estate([site("s1", 2)])
    data["spec"]["x" * 100_000] = 1
    data["spec"]["ok\nestate.yaml:1:1: forged"] = 1
    data["metadata"]["description"] = "d" * 200_000
    with pytest.raises(UserInputError) as err:
        catalogue(data)
    text = str(err.value)
    assert len(text) < 2000
    assert "\nestate.yaml:1:1: forged" not in text
    assert "metadata.description: must be at most 1000 characters (got 200000)" in text


def test_problems_after_a_set_aside_entry_point_at_their_own_line(tmp_path: Path) -> None:
    text = (REPO / "inventories" / "lab" / "estate.yaml").read_text(encoding="utf-8")
    text = text.replace("      tier: backbone\n", "      tier: core\n", 1)
    text = text.replace("      dataDomain: domain-south\n", "      dataDomain: domain-west\n", 1)
    (tmp_path / "estate.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    lines = text.splitlines()
    tier_line = lines.index("      tier: core") + 1
    domain_line = lines.index("      dataDomain: domain-west") + 1
    assert f"estate.yaml:{tier_line}:7: spec.sites[0].tier: must be one of" in result.stderr
    assert f"estate.yaml:{domain_line}:7: spec.sites[2].dataDomain: unknown data domain 'domain-west'" in result.stderr
