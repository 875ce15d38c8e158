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
