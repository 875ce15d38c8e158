"""Engine pieces: Ansible variable precedence, thresholds and overrides, the gate API, rule loading."""

from __future__ import annotations

import pytest

from policy_helpers import REPO_WAIVERS_DAY, TODAY, check
from idcpilot import catalogue
from idcpilot.errors import UserInputError
from idcpilot.inventory import build
from idcpilot.policy import gate, registry
from idcpilot.policy.baseline import timespan_days, weakness
from idcpilot.inventory import host_groups
from idcpilot.policy.thresholds import load as load_thresholds


def failing(report, rule):
    return [f for f in report.findings if f.rule.id == rule and f.status == "fail"]


# ------------------------------------------------------------------ host variables (more in test_hostvars.py)


def test_vars_for_unknown_groups_or_hosts_are_warned_about(make_env):
    env = make_env(files={"group_vars/webservers.yml": "baseline_tmout: 9999\n", "host_vars/ghost.yml": "baseline_tmout: 9999\n"})
    report = check(env, only=["MLPS3-AUTH-TIMEOUT"])
    assert failing(report, "MLPS3-AUTH-TIMEOUT") == []
    assert any("webservers" in w for w in report.warnings) and any("ghost" in w for w in report.warnings)


def test_group_membership_matches_the_inventory(repo):
    from idcpilot import ipam

    cat = catalogue.load(repo / "inventories" / "example")
    inv = build(cat, ipam.plan(cat))
    ours = host_groups(cat)
    theirs: dict[str, set[str]] = {}
    for group, body in inv.items():
        if group in ("_meta", "all"):
            continue
        for h in body.get("hosts", []):
            theirs.setdefault(h, set()).add(group)
    assert {h: set(g) for h, g in ours.items()} == theirs


@pytest.mark.parametrize("value, spec, weak", [
    (180, {"max": 90}, True), (90, {"max": 90}, False), ("60", {"max": 90}, False),
    ("{{ x }}", {"max": 90}, True), (0, {"min": 900, "allow": [0]}, False),
    (False, {"equals": "no"}, False), ("yes", {"equals": "no"}, True), ("prohibit-password", {"equals": "no"}, True),
    ("022", {"umaskBits": "027"}, True), ("077", {"umaskBits": "027"}, False),
    ("6month", {"minDays": 180}, False), ("30d", {"minDays": 180}, True), ("1y", {"minDays": 180}, False),
    (["aes256-ctr", "3des-cbc"], {"subsetOf": ["aes256-ctr"]}, True),
    (["telnetd"], {"supersetOf": ["telnetd", "xinetd"]}, True),
])
def test_weakness(value, spec, weak):
    assert (weakness(value, spec) is not None) is weak


def test_timespan():
    assert timespan_days("6month") == pytest.approx(182.6, abs=0.1)
    assert timespan_days("180d") == 180 and timespan_days("2w 1d") == 15 and timespan_days("soon") is None


# ------------------------------------------------------------------ thresholds


def test_site_class_override_tightens_pue(make_env):
    # sh-core-1 is a national hub (<= 1.25): 1.28 passes the pilot's 1.35 but not the override
    edits = [("pue: {design: 1.22, measured: 1.24", "pue: {design: 1.22, measured: 1.28")]
    [f] = failing(check(make_env(estate_edits=edits), only=["PILOT-PUE"]), "PILOT-PUE")
    assert f.target == "site/sh-core-1" and "1.25" in f.message and "national hub" in f.message


def test_region_override_from_a_custom_thresholds_file(make_env, repo):
    text = (repo / "policy" / "thresholds.yaml").read_text()
    text += "  - name: south is stricter\n    match: {region: cn-south}\n    set: {pue.max: 1.31}\n"
    env = make_env()
    (env.root.parent / "t.yaml").write_text(text)
    bad = failing(check(env, only=["PILOT-PUE"], thresholds_file=env.root.parent / "t.yaml"), "PILOT-PUE")
    assert {f.target for f in bad} == {"site/gz-edge-1", "site/sz-mobile-1"}


# ------------------------------------------------------------------ gate API and loading


def test_gate_api(make_env):
    env = make_env(estate_edits=[("{a: bj-core-1, b: cd-edge-1, latencyBudgetMs: 9.5, encryption: ipsec}",
                                  "{a: bj-core-1, b: cd-edge-1, latencyBudgetMs: 9.5, encryption: none}")])
    cat = catalogue.load(env.root)
    result = gate(cat, plan=False, today=TODAY, waivers_file=env.root / "none.yaml")
    assert not result.passed and [f.rule.id for f in result.blocking] == ["PILOT-SDWAN-ENCRYPT"]
    assert "FAILED" in result.summary() and "PILOT-SDWAN-ENCRYPT" in str(result)


def test_deploy_gate_cannot_be_narrowed():
    """deploy runs the full gate: gate() takes no --only/--skip/--fail-on."""
    import inspect

    params = set(inspect.signature(gate).parameters)
    assert not params & {"only", "skip", "fail_on", "kwargs"}, params


def test_a_medium_failure_refuses_the_deploy_gate(make_env):
    """PILOT-EMERGENCY is medium: before, gate() passed it (its floor was high) and deploy went on."""
    env = make_env(estate_edits=[("escalation: [ops-director], targetHours: 1.5}", "escalation: [ops-director], targetHours: 3}")])
    result = gate(catalogue.load(env.root), plan=False, today=TODAY, waivers_file=env.root / "none.yaml")
    assert not result.passed and [(f.rule.id, f.severity) for f in result.blocking] == [("PILOT-EMERGENCY", "medium")]
    assert result.summary().startswith("policy gate FAILED") and "passed" not in result.summary()


def test_lab_gate_passes_through_waivers(repo):
    # the day the repo's lab waiver was last approved: it holds for at most maxDays after that
    result = gate(catalogue.load(repo / "inventories" / "lab"), plan=False, today=REPO_WAIVERS_DAY)
    assert result.passed, result.summary()
    # 2 CDN nodes; kwok worker nodes; the plain-http artifact repository on the lab bridge (files still pinned)
    assert {f.rule.id for f in result.findings if f.status == "waived"} == {"PILOT-CDN-NODES", "PILOT-MLPS3", "K8S-ARTIFACTS"}


def test_rule_files_are_named_after_their_ids(repo):
    loaded = registry.load_rules(registry.policy_dir())
    assert len(loaded) == 44
    for lr in loaded:
        assert lr.file.name == registry.rule_file_name(lr.rule.id)
        assert lr.rule.title and lr.rule.clause and lr.rule.remediation and "plan" in lr.rule.stage


def test_a_misnamed_rule_file_is_refused(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "wrong.py").write_text(
        "from idcpilot.policy import Rule\nRULE = Rule(id='PILOT-X', title='t', severity='low', stage=('plan',), clause='c', remediation='r')\n"
        "def check(ctx):\n    return []\n")
    with pytest.raises(UserInputError, match="pilot_x.py"):
        registry.load_rules(tmp_path)


def test_k8s_secrets_reads_the_estates_pulumi_stack_config(tmp_path):
    from policy_helpers import BASE_ESTATE

    root = tmp_path / "repo"
    (root / "inventories" / "fx").mkdir(parents=True)
    (root / "inventories" / "fx" / "estate.yaml").write_text(BASE_ESTATE)
    (root / "Pulumi.yaml").write_text("name: x\nruntime: python\nstackConfigDir: stacks/config\n")
    cfg = root / "stacks" / "config"
    cfg.mkdir(parents=True)
    (cfg / "Pulumi.policy-fixture.bj-core-k8s.yaml").write_text(
        "config:\n  idcpilot:cluster: bj-core-k8s\n  idcpilot:kubeconfig:\n    secure: AAABAKx=\n")
    cat = catalogue.load(root / "inventories" / "fx")
    from idcpilot.policy import engine

    def run():
        return engine.run(cat, plan=False, only=["K8S-SECRETS"], waivers_file=tmp_path / "none.yaml", today=TODAY)

    assert failing(run(), "K8S-SECRETS") == []
    (cfg / "Pulumi.policy-fixture.sh-core-k8s.yaml").write_text(
        "config:\n  idcpilot:cluster: sh-core-k8s\n  idcpilot:dbPassword: hunter2\n")
    [f] = failing(run(), "K8S-SECRETS")
    assert f.target == "stack/policy-fixture.sh-core-k8s"
    assert f.location.file.endswith("Pulumi.policy-fixture.sh-core-k8s.yaml") and f.location.line == 3


def test_thresholds_remember_their_file(repo):
    # the override loop once rebound `path`, so messages named ('overrides', 2) as the file
    t = load_thresholds(repo / "policy" / "thresholds.yaml")
    assert t.file == str(repo / "policy" / "thresholds.yaml")
