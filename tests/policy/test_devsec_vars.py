"""The gate judges the role variables of the dev-sec parity controls (roles/baseline): setuid/setgid
(MLPS3-MINIMAL) and the journal's size against the retention period (MLPS3-AUDIT-RETENTION)."""

from __future__ import annotations

import pytest

from policy_helpers import check


def failing(report, rule=None):
    return [f for f in report.findings if f.status == "fail" and (rule is None or f.rule.id == rule)]


@pytest.mark.parametrize("text", [
    "baseline_suid_allowlist_extra: [/tmp/rootshell]",
    "baseline_suid_blacklist: [/usr/bin/at]",
    "baseline_suid_scan_exclude: [/]",
    "baseline_suid_enabled: false",
    "baseline_suid_filesystem_types: [ext4]",
    "baseline_suid_scan_timeout: 1",
    "baseline_suid_allowlist: {Debian: [/tmp/rootshell], RedHat: []}",
])
def test_weakening_the_control_fails_the_gate(text, make_env):
    report = check(make_env(files={"group_vars/all.yml": text + "\n"}))
    assert [f.rule.id for f in failing(report)] == ["MLPS3-MINIMAL"], [f.message for f in failing(report)]


@pytest.mark.parametrize("text", ["baseline_suid_remove_unknown: true", "baseline_suid_scan_exclude: [/var/lib/docker]",
                                  "baseline_suid_scan_timeout: 3600"])
def test_stricter_values_pass_the_gate(text, make_env):
    assert failing(check(make_env(files={"group_vars/all.yml": text + "\n"}))) == []


# ------------------------------------------------------------------ MLPS3-AUDIT-RETENTION: the journal's size


@pytest.mark.parametrize("value, why", [
    ("2G", "needs >= 11520 MiB"),          # the old default: about 32 days at 64 MiB a day
    ("11G", "needs >= 11520 MiB"),
    ("10%", "not a size journald reads"),   # journald takes no percentage for SystemMaxUse
    ("12g", "not a size journald reads"),   # nor a lower-case unit
    ("-12G", "not a size journald reads"),
    ('"{{ 100 * 1024 }}G"', "Jinja template"),
])
def test_a_journal_that_cannot_hold_the_retention_fails(value, why, make_env):
    report = check(make_env(files={"group_vars/all/logs.yml": f"baseline_journald_system_max_use: {value}\n"}))
    [f] = failing(report)
    assert f.rule.id == "MLPS3-AUDIT-RETENTION" and why in f.message, f.message
    assert f.location.file.endswith("group_vars/all/logs.yml") and f.location.line == 1


@pytest.mark.parametrize("value", ["11520M", "12G", "1T", "11G 512M", 12884901888])
def test_a_journal_that_holds_the_retention_passes(value, make_env):
    assert failing(check(make_env(files={"group_vars/all.yml": f"baseline_journald_system_max_use: {value}\n"}))) == []


def test_the_retention_size_follows_the_thresholds(make_env, tmp_path):
    """One source: a longer retention in policy/thresholds.yaml makes the role default too small."""
    from idcpilot.policy.baseline import retention_bytes, weakness
    from idcpilot.policy.thresholds import load
    from idcpilot.policy.registry import policy_dir

    th = load(policy_dir() / "thresholds.yaml")
    need = retention_bytes(th)
    assert need == th.get("audit.journalMiBPerDay") * 1024 ** 2 * th.get("audit.minRetentionDays")
    spec = th.get("variables")["baseline_journald_system_max_use"]
    assert weakness("12G", spec, retention_size=need) is None
    assert "needs >=" in weakness("12G", spec, retention_size=need * 2)


def test_the_role_default_holds_the_retention():
    from idcpilot.hostchecks import size_bytes
    from idcpilot.policy.baseline import retention_bytes
    from idcpilot.policy.registry import policy_dir
    from idcpilot.policy.rolevars import role_vars
    from idcpilot.policy.thresholds import load

    assert size_bytes(role_vars().default("baseline_journald_system_max_use")) >= retention_bytes(load(policy_dir() / "thresholds.yaml"))


# ------------------------------------------------------------------ MLPS3-ACCESS-ACCOUNTS: /proc hidepid


@pytest.mark.parametrize("text", [
    "baseline_proc_hidepid_enabled: false",
    "baseline_proc_group_members: [polkitd, prometheus]",       # one more account sees every process
    "baseline_proc_group: users",                               # a group ordinary accounts are in
    "baseline_proc_group_members: \"{{ ['x'] }}\"",
])
def test_weakening_hidepid_fails_the_gate(text, make_env):
    report = check(make_env(files={"host_vars/bj-core-1-bastion.yml": text + "\n"}))
    assert [f.rule.id for f in failing(report)] == ["MLPS3-ACCESS-ACCOUNTS"], [f.message for f in failing(report)]


def test_fewer_hidepid_exceptions_pass_the_gate(make_env):
    assert failing(check(make_env(files={"group_vars/all.yml": "baseline_proc_group_members: []\n"}))) == []


def test_proc_hidepid_reads_the_mount_in_effect():
    from idcpilot.hostchecks import proc_hidepid

    assert proc_hidepid("proc /proc proc rw,nosuid,nodev,noexec,relatime,hidepid=invisible,gid=996 0 0\n")
    assert proc_hidepid("proc /proc proc rw,relatime,hidepid=2 0 0\n")
    assert not proc_hidepid("proc /proc proc rw,relatime,hidepid=1 0 0\n")       # hides nothing from a listing
    assert not proc_hidepid("proc /proc proc rw,hidepid=2 0 0\nproc /proc proc rw 0 0\n")  # remounted over
    assert not proc_hidepid("proc /mnt/proc proc rw,hidepid=2 0 0\n")
