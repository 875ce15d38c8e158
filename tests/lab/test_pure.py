"""Pure parts of lab, deploy and verify (no root, no hosts): naming, mirrors, progress, reports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from idcpilot import catalogue, ipam
from idcpilot.deploy.options import DeployOptions, cmdline, forks_for, option_problems, parse_listing
from idcpilot.deploy.progress import Tracker
from idcpilot.lab import LabError, plan_lab
from idcpilot.lab.aptproxy import Cache, immutable
from idcpilot.lab.hosts import apt_sources, network_file
from idcpilot.lab.layout import bridge_name, machine_name, nft_table
from idcpilot.lab.mirror import parse_deb822, parse_one_line, pick_mirrors
from idcpilot.verify.inventory import to_yaml_inventory
from idcpilot.verify.report import build_report
from idcpilot.verify.run import VerifyError, select_hosts

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab_plan():
    cat = catalogue.load(REPO / "inventories/lab")
    return plan_lab(cat, ipam.plan(cat))


def test_names_derive_from_the_estate_and_fit_interface_limits() -> None:
    assert bridge_name("lab") == "ib-lab"
    long_a, long_b = bridge_name("a-very-long-estate-name-1"), bridge_name("a-very-long-estate-name-2")
    assert len(long_a) <= 15 and len(long_b) <= 15 and long_a != long_b
    assert nft_table("lab-6") == "idcpilot_lab_lab_6"
    assert machine_name("lab7", "lab-bj-gw01") == "lab7-lab-bj-gw01"


def test_lab_plan_uses_ipam_addresses_and_first_usable_bridge_address(lab_plan) -> None:
    assert lab_plan.bridge_addresses == ("10.213.0.1/24",)
    assert lab_plan.gateway == "10.213.0.1" and lab_plan.proxy_url == "http://10.213.0.1:3142"
    hosts = {h.name: h for h in lab_plan.hosts}
    assert len(hosts) == 9 and hosts["lab-bj-gw01"].address == "10.213.0.10" and hosts["lab-bj-gw01"].prefixlen == 27
    assert lab_plan.account == "idcops"
    net = network_file(lab_plan, hosts["lab-gz-cdn01"])
    assert "Name=host0" in net and "Address=10.213.0.42/27" in net and "Destination=10.213.0.0/24" in net
    assert "Gateway" not in net  # no default route out of the lab
    assert "deb http://10.213.0.1:3142/debian bookworm main" in apt_sources(lab_plan)
    with pytest.raises(LabError, match="no host"):
        lab_plan.host("nope")


def test_mirror_is_read_from_apt_sources_in_both_formats() -> None:
    deb822 = """Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib

Types: deb
URIs: http://mirror.example/debian-security/
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main
Enabled: no
"""
    one_line = "# comment\ndeb [arch=amd64] http://other.example/debian/ bookworm main\ndeb-src http://x/ bookworm main\n"
    m = pick_mirrors(parse_deb822(deb822))
    assert (m.debian, m.security) == ("http://mirror.example/debian", "http://mirror.example/debian-security")
    assert pick_mirrors(parse_one_line(one_line)).debian == "http://other.example/debian"
    assert pick_mirrors(parse_one_line(one_line)).security is None
    with pytest.raises(LabError, match="no Debian mirror"):
        pick_mirrors(parse_one_line("deb http://x/ubuntu jammy main\n"))


def test_apt_proxy_serves_only_remapped_paths(tmp_path: Path) -> None:
    cache = Cache(tmp_path, {"/debian": "http://m.example/debian", "/debian-security": "http://m.example/debian-security"})
    url, file = cache.resolve("/debian/pool/main/a/apt/apt_2.6.1_amd64.deb")
    assert url == "http://m.example/debian/pool/main/a/apt/apt_2.6.1_amd64.deb" and file.is_relative_to(tmp_path)
    assert cache.resolve("/debian-security/dists/bookworm-security/InRelease")[0].endswith("/debian-security/dists/bookworm-security/InRelease")
    assert cache.resolve("/debian/../../etc/passwd") is None
    assert cache.resolve("/ubuntu/dists/jammy/InRelease") is None
    assert cache.resolve("http://evil.example/x") is None
    assert immutable("debian/pool/main/a/apt.deb") and immutable("debian/dists/x/by-hash/SHA256/ab")
    assert not immutable("debian/dists/bookworm/InRelease")


LISTING = """
playbook: playbooks/site.yml

  play #1 (all:&automated): Bootstrap	TAGS: []
    pattern: ['all:&automated']
    hosts (7):
      lab-bj-gw01
      lab-sh-k8s01
    tasks:
      bootstrap : Check for Python	TAGS: [bootstrap]
      bootstrap : Install Python	TAGS: [bootstrap]
      bootstrap : Gather facts	TAGS: [bootstrap]

  play #2 (role_sdwan_edge:&automated): SD-WAN	TAGS: []
    pattern: ['role_sdwan_edge:&automated']
    hosts (3):
      lab-bj-gw01
    tasks:
      sdwan_edge : One	TAGS: []
"""


def test_playbook_listing_gives_hosts_times_tasks() -> None:
    plays = parse_listing(LISTING)
    assert plays == [("Bootstrap", 7, 3), ("SD-WAN", 3, 1)]
    assert Tracker(listing=plays).total == 24


def test_deploy_options_and_forks() -> None:
    assert cmdline(DeployOptions(env=Path("x"), check=True, diff=True, skip_tags="a")) == ["--check", "--diff", "--skip-tags", "a"]
    assert forks_for(7) == 7 and forks_for(292) == 50 and forks_for(0) == 1 and forks_for(7, 3) == 3


def test_deploy_extra_vars_and_vault_options(tmp_path: Path) -> None:
    secrets = tmp_path / "s.vault.yml"
    secrets.write_text("$ANSIBLE_VAULT;1.1;AES256\n")
    password = tmp_path / "pass"
    password.write_text("x\n")
    opts = DeployOptions(env=Path("x"), extra_vars=(f"@{secrets}", "a=1"), vault_ids=(f"prod@{password}",),
                         vault_password_files=(str(password),))
    assert cmdline(opts) == ["-e", f"@{secrets}", "-e", "a=1", "--vault-id", f"prod@{password}",
                             "--vault-password-file", str(password)]
    assert option_problems(opts) == []
    bad = DeployOptions(env=Path("x"), extra_vars=("@/nonexistent/v.yml",), vault_ids=("prod@prompt",),
                        vault_password_files=("/nonexistent/pass",))
    problems = option_problems(bad)
    assert problems[0] == "--extra-vars /nonexistent/v.yml: file not found"
    assert "--vault-password-file /nonexistent/pass: file not found" in problems
    assert any("prod@prompt" in p and "cannot prompt" in p for p in problems)


def _ev(kind: str, **data) -> dict:
    return {"event": kind, "event_data": data}


def test_tracker_follows_events_and_takes_the_recap_from_stats() -> None:
    t = Tracker(listing=[("Bootstrap", 2, 2)])
    t.handle(_ev("playbook_on_play_start", play="Bootstrap"))
    t.handle(_ev("playbook_on_task_start", task="Check"))
    t.handle(_ev("runner_on_start", host="a", task="Check"))
    assert t.hosts["a"].current == "Check"
    t.handle(_ev("runner_on_ok", host="a", task="Check", res={}))
    t.handle(_ev("runner_on_unreachable", host="b", task="Check", res={"msg": "No route to host"}))
    t.handle(_ev("runner_on_ok", host="a", task="Two", res={}))
    t.handle(_ev("runner_on_ok", host="b", task="Two", res={}))
    t.handle(_ev("runner_on_ok", host="a", task="Dynamic", res={}))  # beyond the listing (include)
    assert t.done == 5 and t.total == 5
    assert any("UNREACHABLE b" in line for line in t.log)
    t.handle(_ev("playbook_on_stats", ok={"a": 3}, changed={"a": 1}, dark={"b": 1}, failures={}, skipped={}))
    assert t.final and t.hosts["a"].status == "changed" and t.hosts["b"].status == "unreachable"
    assert t.failed_hosts == ["b"]
    assert t.hosts["b"].as_dict()["error"] == "No route to host"


def test_verify_report_contract_shape() -> None:
    records = [
        {"rule": "MLPS3-TIME", "host": "a", "test": "t::x", "status": "pass", "message": "", "duration": 0.1,
         "measurements": {"MLPS3-TIME": {"a.offset_ms": 0.2}}},
        {"rule": "MLPS3-AUDIT", "host": "a", "test": "t::y", "status": "skipped", "message": "not checkable in a container: auditd",
         "duration": 0.0, "measurements": {}},
        {"rule": "MLPS3-TIME", "host": "b", "test": "t::x", "status": "fail", "message": "offset", "duration": 0.1, "measurements": {}},
    ]
    rep = build_report("lab", records)
    d = rep.as_dict()
    assert d["summary"] == {"total": 3, "pass": 1, "fail": 1, "skipped": 1}
    assert set(d["results"][0]) == {"rule", "host", "test", "status", "message", "duration"}
    assert d["measurements"] == {"MLPS3-TIME": {"a.offset_ms": 0.2}}
    assert not rep.passed
    assert rep.by("rule")["MLPS3-TIME"] == {"pass": 1, "fail": 1, "skipped": 0}


def test_verify_host_selection() -> None:
    groups = {"automated": ["a", "b", "c"], "role_cdn_node": ["b", "m"], "manual": ["m"]}
    assert select_hosts(groups, ["a", "b", "c", "m"], None) == ["a", "b", "c"]
    assert select_hosts(groups, ["a", "b", "c", "m"], "role_cdn_node,a") == ["a", "b"]
    with pytest.raises(VerifyError, match="no such host"):
        select_hosts(groups, ["a"], "zzz")


def test_rendered_inventory_keeps_groups_and_adds_connection_sharing() -> None:
    import yaml

    text = to_yaml_inventory({"a": {"ansible_host": "10.0.0.2", "ansible_ssh_common_args": "-o X=1"}}, {"g": ["a"], "empty": []}, "/tmp/cp-%C")
    data = yaml.safe_load(text)
    assert data["all"]["hosts"]["a"]["ansible_ssh_common_args"].startswith("-o X=1 -o ControlMaster=auto")
    assert data["all"]["children"] == {"g": {"hosts": {"a": None}}}


def test_every_verify_test_names_its_rule() -> None:
    """`idcpilot verify` reports per rule: a test without @pytest.mark.rule would be UNTAGGED."""
    untagged = []
    paths = sorted((REPO / "modules/idcpilot/verify/suites").glob("test_*.py"))
    assert len(paths) >= 7, "the packaged verify suites moved?"
    for path in paths:
        tree = ast.parse(path.read_text())
        module_rule = "mark.rule" in ast.unparse(next((n for n in tree.body if isinstance(n, ast.Assign)
                                                       and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)), ast.Pass()))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith(("test_", "Test")):
                if not module_rule and not any("mark.rule" in ast.unparse(d) for d in node.decorator_list):
                    untagged.append(f"{path.name}::{node.name}")
    assert not untagged, untagged


def test_lab_raises_inotify_limits_and_never_lowers_them(tmp_path: Path) -> None:
    from idcpilot.lab.system import inotify_targets, raise_kernel_limits

    ino = tmp_path / "fs" / "inotify"
    ino.mkdir(parents=True)
    (ino / "max_user_instances").write_text("128\n")
    (ino / "max_user_watches").write_text("1048576\n")
    changed = raise_kernel_limits(7, proc_sys=tmp_path)
    want = inotify_targets(7)["fs/inotify/max_user_instances"]
    assert changed == [f"fs.inotify.max_user_instances: 128 -> {want}"]
    assert int((ino / "max_user_instances").read_text()) == want > 128
    assert (ino / "max_user_watches").read_text() == "1048576\n"  # higher than needed: left alone
    assert raise_kernel_limits(7, proc_sys=tmp_path) == []


def test_lab_ssh_binds_to_the_lab_bridge(lab_plan) -> None:
    """A lab address must never be reached by the machine's default route (when the lab is
    down, the connection fails here instead): every client reads the lab's ssh_config."""
    from idcpilot.lab.lifecycle import ssh_base_args, ssh_config_text

    text = ssh_config_text(lab_plan)
    assert f"BindInterface {lab_plan.bridge}\n" in text
    args = ssh_base_args(lab_plan)
    assert args[:2] == ["-F", str(lab_plan.layout.ssh_config)]
    group_vars = yaml.safe_load((REPO / "inventories/lab/group_vars/all/lab.yml").read_text())
    assert group_vars["ansible_ssh_common_args"].startswith("-F {{ idcpilot_lab_state_dir }}/ssh_config ")
    assert lab_plan.layout.ssh_config.parent == lab_plan.layout.key_file.parent
