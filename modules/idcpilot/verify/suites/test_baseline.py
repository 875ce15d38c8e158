"""Verify roles/baseline on real hosts: every MLPS3 rule a host can show, read back from the host.

Each test names its rule. Values the role applies come from its defaults overlaid by the host's
inventory variables; the MLPS limits from policy/thresholds.yaml. What a container cannot show
(auditd, kernel sysctls) is skipped with the reason, never passed.
"""

from __future__ import annotations

import re

import pytest

from idcpilot.hostchecks import undeclared_listeners
from idcpilot.verify.suites.baseline_support import declared_ports, kv, limit, setting, ssh_probe, sshd_effective, systemd_seconds

pytestmark = [pytest.mark.group("role_baseline")]


def _login_shell(host, hostvars, script: str):
    """Run `script` in a login bash of the automation account (what an operator's session gets)."""
    account = hostvars["idcpilot_automation_account"]
    return host.run("runuser -u %s -- bash -lc %s", account, script)


# ------------------------------------------------------------------ MLPS3-AUTH-PASSWORD


@pytest.mark.rule("MLPS3-AUTH-PASSWORD")
def test_pwquality(host, hostvars):
    conf = kv(host.file("/etc/security/pwquality.conf").content_string)
    assert int(conf.get("minlen", 0)) >= limit("baseline_pwquality_minlen", "min"), conf
    assert int(conf.get("minclass", 0)) >= limit("baseline_pwquality_minclass", "min"), conf
    assert "enforce_for_root" in conf, "pwquality does not apply to root"


@pytest.mark.rule("MLPS3-AUTH-PASSWORD")
def test_password_ageing(host):
    defs = kv(host.file("/etc/login.defs").content_string, sep=" ")
    assert 0 < int(defs["PASS_MAX_DAYS"]) <= limit("baseline_pass_max_days", "max")
    assert int(defs["PASS_MIN_DAYS"]) >= limit("baseline_pass_min_days", "min")
    assert int(defs["PASS_WARN_AGE"]) >= limit("baseline_pass_warn_age", "min")
    # accounts that have a usable password follow the policy too
    for line in host.file("/etc/shadow").content_string.splitlines():
        name, pw, _, mindays, maxdays, warn, *_ = line.split(":")
        if pw and pw[0] not in "!*":
            assert maxdays and 0 < int(maxdays) <= limit("baseline_pass_max_days", "max"), f"{name}: max days {maxdays!r}"
            assert mindays and int(mindays) >= limit("baseline_pass_min_days", "min"), f"{name}: min days {mindays!r}"


@pytest.mark.rule("MLPS3-AUTH-PASSWORD")
def test_pam_password_stack(host):
    stack = host.file("/etc/pam.d/common-password").content_string
    assert re.search(r"^password\s+\S+\s+pam_pwquality\.so", stack, re.M), "pam_pwquality not in the password stack"
    history = re.search(r"^password\s+\S+\s+pam_pwhistory\.so.*\bremember=(\d+)", stack, re.M)
    assert history and int(history.group(1)) >= limit("baseline_pwhistory_remember", "min"), "pam_pwhistory remember missing or too small"
    # order: quality, then history, then pam_unix storing the checked token
    assert stack.index("pam_pwquality.so") < stack.index("pam_pwhistory.so") < stack.index("pam_unix.so")


# ------------------------------------------------------------------ MLPS3-AUTH-LOCKOUT


@pytest.mark.rule("MLPS3-AUTH-LOCKOUT")
def test_faillock(host):
    conf = kv(host.file("/etc/security/faillock.conf").content_string)
    assert 0 < int(conf["deny"]) <= limit("baseline_faillock_deny", "max")
    unlock = int(conf["unlock_time"])
    assert unlock == 0 or unlock >= limit("baseline_faillock_unlock_time", "min")
    auth = host.file("/etc/pam.d/common-auth").content_string
    assert re.search(r"^auth\s+requisite\s+pam_faillock\.so\s+preauth", auth, re.M), "no faillock preauth"
    assert re.search(r"^auth\s+\[default=die\]\s+pam_faillock\.so\s+authfail", auth, re.M), "no faillock authfail"
    assert re.search(r"^account\s+required\s+pam_faillock\.so", host.file("/etc/pam.d/common-account").content_string, re.M)
    assert host.run("faillock --user root").rc == 0, "faillock tool cannot read the tally"


@pytest.mark.rule("MLPS3-AUTH-LOCKOUT")
def test_sshd_max_auth_tries(host, hostvars):
    assert 0 < int(sshd_effective(host, hostvars)["maxauthtries"][0]) <= limit("baseline_ssh_max_auth_tries", "max")


# ------------------------------------------------------------------ MLPS3-AUTH-TIMEOUT


@pytest.mark.rule("MLPS3-AUTH-TIMEOUT")
def test_login_shell_has_readonly_tmout(host, hostvars):
    out = _login_shell(host, hostvars, "echo TMOUT=$TMOUT; (TMOUT=0) 2>/dev/null && echo writable || echo readonly")
    assert out.rc == 0, out.stderr
    value = int(re.search(r"TMOUT=(\d*)", out.stdout).group(1) or 0)
    assert 0 < value <= limit("baseline_tmout", "max"), out.stdout
    assert "readonly" in out.stdout, "a user can change TMOUT"


@pytest.mark.rule("MLPS3-AUTH-TIMEOUT")
def test_sshd_client_alive(host, hostvars):
    sshd = sshd_effective(host, hostvars)
    assert 0 < int(sshd["clientaliveinterval"][0]) <= limit("baseline_ssh_client_alive_interval", "max")
    assert int(sshd["clientalivecountmax"][0]) >= limit("baseline_ssh_client_alive_count_max", "min")


# ------------------------------------------------------------------ MLPS3-AUTH-REMOTE


@pytest.mark.rule("MLPS3-AUTH-REMOTE")
def test_sshd_no_root_no_password(host, hostvars):
    sshd = sshd_effective(host, hostvars)
    assert sshd["permitrootlogin"] == ["no"], f"sshd PermitRootLogin {sshd['permitrootlogin'][0]}"
    assert sshd["passwordauthentication"] == ["no"], f"sshd PasswordAuthentication {sshd['passwordauthentication'][0]}"
    assert sshd["kbdinteractiveauthentication"] == ["no"]
    assert sshd["permitemptypasswords"] == ["no"]
    assert sshd["pubkeyauthentication"] == ["yes"]


@pytest.mark.rule("MLPS3-AUTH-REMOTE")
def test_sshd_strong_algorithms_only(host, hostvars):
    sshd = sshd_effective(host, hostvars)
    for key, var in (("ciphers", "baseline_ssh_ciphers"), ("macs", "baseline_ssh_macs"), ("kexalgorithms", "baseline_ssh_kex")):
        offered = set(sshd[key][0].split(","))
        weak = offered - set(limit(var, "subsetOf"))
        assert not weak, f"sshd {key} offers algorithms outside the strong list: {sorted(weak)}"


@pytest.mark.rule("MLPS3-AUTH-REMOTE")
def test_sshd_refuses_passwords_and_weak_ciphers_on_the_wire(hostvars):
    """From the controller: the server offers publickey only and refuses a CBC cipher."""
    out = ssh_probe(hostvars, "root", "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no")
    assert out.returncode != 0
    assert "Permission denied (publickey)" in out.stderr, out.stderr
    out = ssh_probe(hostvars, "root", "-c", "aes128-cbc")
    assert out.returncode != 0 and "no matching cipher" in out.stderr, out.stderr


@pytest.mark.rule("MLPS3-AUTH-REMOTE")
def test_no_cleartext_remote_services(host, hostvars):
    installed = [p for p in setting(hostvars, "baseline_high_risk_packages") if host.package(p).is_installed]
    assert not installed, f"high-risk packages installed: {installed}"
    listening = {int(spec.rsplit(":", 1)[1]) for spec in host.socket.get_listening_sockets() if spec.startswith(("tcp://", "udp://"))}
    risky = set(map(int, limit_ports())) & listening
    assert not risky, f"cleartext remote-access ports listening: {sorted(risky)}"


def limit_ports() -> list[int]:
    from idcpilot.verify.suites.baseline_support import mlps_high_risk_ports

    return mlps_high_risk_ports()


# ------------------------------------------------------------------ MLPS3-ACCESS-ACCOUNTS


@pytest.mark.rule("MLPS3-ACCESS-ACCOUNTS")
def test_root_only_uid0_and_no_empty_passwords(host):
    uid0 = [l.split(":")[0] for l in host.file("/etc/passwd").content_string.splitlines() if l.split(":")[2] == "0"]
    assert uid0 == ["root"], uid0
    empty = [l.split(":")[0] for l in host.file("/etc/shadow").content_string.splitlines() if l.split(":")[1] == ""]
    assert not empty, f"accounts with an empty password: {empty}"


@pytest.mark.rule("MLPS3-ACCESS-ACCOUNTS")
def test_system_accounts_have_no_login_shell(host, hostvars):
    exempt = set(setting(hostvars, "baseline_nologin_exempt_accounts")) | {hostvars["idcpilot_automation_account"]}
    uid_max = setting(hostvars, "baseline_system_uid_max")
    bad = []
    for line in host.file("/etc/passwd").content_string.splitlines():
        name, _, uid, _, _, _, shell = line.split(":")
        if int(uid) <= uid_max and name not in exempt and not re.search(r"(nologin|false)$", shell):
            bad.append(f"{name}:{shell}")
    assert not bad, f"system accounts with a login shell: {bad}"


@pytest.mark.rule("MLPS3-ACCESS-ACCOUNTS")
def test_umask(host, hostvars):
    want = setting(hostvars, "baseline_umask").rjust(4, "0")
    assert kv(host.file("/etc/login.defs").content_string, sep=" ")["UMASK"].rjust(4, "0") == want
    out = _login_shell(host, hostvars, "umask")
    assert out.stdout.strip().splitlines()[-1] == want, out.stdout


@pytest.mark.rule("MLPS3-ACCESS-ACCOUNTS")
def test_automation_account_is_key_only(host, hostvars):
    account = hostvars["idcpilot_automation_account"]
    entry = [l for l in host.file("/etc/shadow").content_string.splitlines() if l.startswith(account + ":")]
    assert entry, f"{account} missing"
    assert entry[0].split(":")[1][:1] in ("!", "*"), f"{account} has a usable password"
    assert host.file(f"/home/{account}/.ssh/authorized_keys").exists or host.run(f"getent passwd {account}").rc == 0


# ------------------------------------------------------------------ MLPS3-ACCESS-ROLES


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_three_role_groups_without_shared_members(host, hostvars):
    names = [setting(hostvars, v) for v in ("baseline_admin_group", "baseline_auditor_group", "baseline_security_officer_group")]
    members = {}
    for name in names:
        group = host.group(name)
        assert group.exists, f"group {name} missing"
        members[name] = set(group.members)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not members[a] & members[b], f"{a} and {b} share {sorted(members[a] & members[b])}"


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_only_auditors_read_audit_logs(host, hostvars):
    auditors = setting(hostvars, "baseline_auditor_group")
    logdir = host.file("/var/log/audit")
    assert logdir.is_directory and logdir.group == auditors and logdir.mode & 0o007 == 0, (logdir.group, oct(logdir.mode))
    assert kv(host.file("/etc/audit/auditd.conf").content_string)["log_group"] == auditors
    for path in host.run("find /var/log/audit -type f").stdout.split():
        assert host.file(path).mode & 0o007 == 0, f"{path} readable by others"
    denied = host.run("runuser -u nobody -- ls /var/log/audit")
    assert denied.rc != 0, "an account outside the auditor group can list the audit logs"


# ------------------------------------------------------------------ MLPS3-AUDIT

AUDIT_KEYS = ("identity", "sudoers", "privileged-exec", "privileged", "time-change", "modules")


@pytest.mark.rule("MLPS3-AUDIT")
def test_audit_rules_configured_and_immutable(host):
    rules = host.run("cat /etc/audit/rules.d/*.rules").stdout
    for key in AUDIT_KEYS:
        assert re.search(rf"-k {re.escape(key)}$", rules, re.M), f"no audit rule with key {key}"
    for path in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers"):
        assert re.search(rf"^-w {re.escape(path)} -p wa", rules, re.M), f"{path} not watched"
    assert re.search(r"^-e 2\s*$", rules, re.M), "audit rules are not made immutable (-e 2)"
    effective = [l.strip() for l in rules.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert effective[-1] == "-e 2", f"-e 2 must be the last rule loaded, last is {effective[-1]!r}"


@pytest.mark.rule("MLPS3-AUDIT")
def test_auditd_running_with_rules_loaded(host, not_in_container):
    not_in_container("auditd needs the kernel audit netlink socket, which a container does not get")
    assert host.service("auditd").is_running and host.service("auditd").is_enabled
    status = host.run("auditctl -s").stdout
    assert "enabled 2" in status, f"loaded rules not immutable: {status}"
    loaded = host.run("auditctl -l").stdout
    for key in AUDIT_KEYS:
        assert f"key={key}" in loaded, f"audit key {key} not loaded"


# ------------------------------------------------------------------ MLPS3-AUDIT-RETENTION


@pytest.mark.rule("MLPS3-AUDIT-RETENTION")
def test_journald_persistent_six_months(host):
    conf = kv(host.run("systemd-analyze cat-config systemd/journald.conf").stdout)
    assert conf.get("Storage") == "persistent"
    assert systemd_seconds(conf.get("MaxRetentionSec", "")) >= limit("baseline_journald_max_retention", "minDays") * 86400
    assert host.run("ls /var/log/journal/*/system.journal").rc == 0, "journal is not written to /var/log/journal"


@pytest.mark.rule("MLPS3-AUDIT-RETENTION")
def test_logrotate_keeps_180_days(host):
    conf = host.file("/etc/logrotate.d/rsyslog").content_string
    assert re.search(r"^\s*daily", conf, re.M)
    assert int(re.search(r"^\s*rotate\s+(\d+)", conf, re.M).group(1)) >= limit("baseline_logrotate_days", "min")
    assert host.run("logrotate --debug /etc/logrotate.conf").rc == 0


@pytest.mark.rule("MLPS3-AUDIT-RETENTION")
def test_logs_forwarded_over_tls(host, hostvars):
    store = hostvars["idcpilot_log_store"]
    conf = host.run("cat /etc/rsyslog.d/*.conf").stdout
    assert re.search(rf'target="{re.escape(store["host"])}"', conf) and re.search(rf'port="{store["port"]}"', conf)
    assert re.search(r'StreamDriver="(gtls|ossl)"', conf) and 'StreamDriverMode="1"' in conf, "forwarding is not TLS"
    assert 'StreamDriverAuthMode="anon"' not in conf, "TLS without checking the log store's certificate"
    assert host.package("rsyslog-gnutls").is_installed
    assert host.service("rsyslog").is_running
    assert host.run("rsyslogd -N1").rc == 0


# ------------------------------------------------------------------ MLPS3-TIME


@pytest.mark.rule("MLPS3-TIME")
def test_chrony_uses_estate_servers(host, hostvars):
    conf = host.run("cat /etc/chrony/chrony.conf /etc/chrony.conf 2>/dev/null").stdout
    servers = re.findall(r"^\s*(?:server|pool)\s+(\S+)", conf, re.M)
    assert sorted(servers) == sorted(hostvars["idcpilot_ntp_servers"]), servers
    assert host.service("chrony").is_running or host.service("chronyd").is_running


@pytest.mark.rule("MLPS3-TIME")
def test_chrony_synchronised(host, hostvars):
    sources = host.run("chronyc -n sources").stdout
    selected = re.findall(r"^\^\*\s+(\S+)", sources, re.M)
    assert selected and selected[0] in hostvars["idcpilot_ntp_servers"], f"not synchronised to an estate server:\n{sources}"
    tracking = kv(host.run("chronyc tracking").stdout, sep=":")
    assert tracking.get("Leap status") == "Normal", tracking


# ------------------------------------------------------------------ MLPS3-MINIMAL / MLPS3-MGMT-ACL


@pytest.mark.rule("MLPS3-MINIMAL")
def test_firewall_default_deny_inbound(host, hostvars):
    table = host.run(f"nft list table inet {setting(hostvars, 'baseline_firewall_table')}")
    assert table.rc == 0, table.stderr
    assert re.search(r"hook input priority filter; policy (drop|reject);", table.stdout), table.stdout
    assert host.service("nftables").is_enabled


@pytest.mark.rule("MLPS3-MINIMAL")
def test_listening_ports_are_declared(host, hostvars):
    """The host's self-check and this test read the same declaration with the same code."""
    sockets = host.run("ss -Hltnup")
    assert sockets.rc == 0, sockets.stderr
    extra = undeclared_listeners(sockets.stdout, declared_ports(hostvars))
    assert not extra, f"listening but not declared (baseline_role_ports / baseline_overlay_ports / idcpilot_declared_ports): {extra}"


@pytest.mark.rule("MLPS3-MINIMAL")
def test_kernel_hardening_sysctls(host, hostvars, not_in_container):
    for key, value in setting(hostvars, "baseline_sysctl_net").items():
        assert host.sysctl(key) == value, key
    not_in_container("kernel.* and fs.* sysctls are read-only in a container (the machine's kernel)")
    for key, value in setting(hostvars, "baseline_sysctl_kernel").items():
        assert host.sysctl(key) == value, key


@pytest.mark.rule("MLPS3-MGMT-ACL")
def test_ssh_only_from_management_networks(host, hostvars):
    sshd = sshd_effective(host, hostvars, addr="192.0.2.1")  # TEST-NET-1: outside every management CIDR
    assert sshd.get("denyusers") == ["*"], "sshd accepts logins from outside the management networks"
    assert "denyusers" not in sshd_effective(host, hostvars), "sshd refuses the management network itself"
    listen = {a.rsplit(":", 1)[0].strip("[]") for a in sshd_effective(host, hostvars)["listenaddress"]}
    assert listen == {hostvars["ansible_host"]}, f"sshd listens on {listen}"
    table = host.run(f"nft list table inet {setting(hostvars, 'baseline_firewall_table')}").stdout
    for cidr in hostvars["idcpilot_management_cidrs"]:
        assert cidr in table, f"management network {cidr} not in the firewall"
    assert re.search(rf"saddr @management_v4 tcp dport \{{?[^}}\n]*\b{setting(hostvars, 'baseline_ssh_port')}\b", table), "SSH not limited to the management networks"


# ------------------------------------------------------------------ MLPS3-INTEGRITY


@pytest.mark.rule("MLPS3-INTEGRITY")
def test_aide_initialised_and_scheduled(host):
    assert host.file("/var/lib/aide/aide.db").exists or host.file("/var/lib/aide/aide.db.gz").exists, "AIDE database missing"
    timer = host.service("idcpilot-aide-check.timer")
    assert timer.is_enabled and timer.is_running
    nxt = host.run("systemctl show -p NextElapseUSecRealtime --value idcpilot-aide-check.timer").stdout.strip()
    assert nxt and nxt != "0", "AIDE check not scheduled"


# ------------------------------------------------------------------ MLPS3-BANNER


@pytest.mark.rule("MLPS3-BANNER")
def test_banner_on_console_and_ssh(host, hostvars):
    for path in ("/etc/issue", "/etc/issue.net"):
        assert "authori" in host.file(path).content_string.lower(), f"{path} has no legal warning"
    assert sshd_effective(host, hostvars)["banner"] == ["/etc/issue.net"]
    shown = ssh_probe(hostvars, "nobody", "-o", "LogLevel=INFO", "-o", "PreferredAuthentications=none")
    assert "authori" in shown.stderr.lower(), f"SSH shows no banner before login: {shown.stderr[:300]}"
