"""Verify the separation of duties of roles/baseline on real hosts (MLPS3-ACCESS-ROLES).

Administrators hold an allow-list of exact commands that never reaches the audit trail;
auditors reach audit data only through the read wrapper, which refuses write options; audit
configuration and logs are written by root only and read by root and the auditors only; audit
records stay out of what adm reads. The sudo policy is read as sudo itself parses it
(`cvtsudoers -f json`), and `sudo -l -U` asks sudo about each declared member. All of this holds
in a lab container too; only reading real audit records needs a running auditd, and that check
is skipped in a container with the reason.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from typing import Iterator

import pytest

from idcpilot.verify.suites.baseline_support import setting
from idcpilot.verify.suites.duties_support import administrator_problems, grants, path_problems, role_var

pytestmark = [pytest.mark.group("role_baseline")]

#: What no administrator may run, asked of sudo one by one (`sudo -l -U member COMMAND`).
ADMIN_MUST_NOT_RUN = [
    "/usr/sbin/auditctl -D", "/usr/sbin/auditctl -e 0", "/sbin/auditctl -D", "/usr/sbin/augenrules --load",
    "/usr/sbin/auditd", "/usr/sbin/service auditd stop", "/usr/bin/systemctl stop auditd", "/usr/bin/systemctl kill auditd",
    "/usr/bin/systemctl mask auditd", "/usr/bin/systemctl edit auditd", "/usr/bin/tee /etc/audit/rules.d/99-x.rules",
    "/usr/bin/rm /var/log/audit/audit.log", "/usr/bin/truncate -s 0 /var/log/audit/audit.log",
    "/usr/bin/cp /dev/null /var/log/audit/audit.log", "/bin/sh", "/bin/bash", "/usr/bin/vi /etc/audit/auditd.conf",
    "sudoedit /etc/audit/auditd.conf", "sudoedit /etc/audit/rules.d/50-idcpilot.rules", "sudoedit /etc/sudoers",
    "/usr/sbin/visudo", "/usr/bin/su -",
]

#: What the auditors' wrapper must refuse, whoever runs it (refused before any program starts).
WRAPPER_REFUSES = [
    ["search", "--checkpoint", "{tmp}/checkpoint"], ["search", "--checkpoint={tmp}/checkpoint"],
    ["search", "-k", "--checkpoint", "{tmp}/checkpoint"], ["search", "-if", "/etc/shadow"],
    ["search", "--input", "/etc/shadow"], ["report", "-if", "/etc/shadow"], ["search", "--debug"],
    ["journal", "--file", "/etc/shadow"], ["journal", "--directory", "{tmp}"], ["journal", "--vacuum-size=1"],
    ["journal", "--rotate"], ["journal", "--flush"], ["journal", "-u", "ssh.service"], ["shell"],
]


def _policy(host) -> str:
    out = host.run("cvtsudoers -f json /etc/sudoers")
    assert out.rc == 0, f"cvtsudoers cannot read the sudo policy: {out.stderr[:300]}"
    return out.stdout


def _members(host, group: str) -> list[str]:
    return sorted(host.group(group).members) if host.group(group).exists else []


@contextlib.contextmanager
def _members_or_probe(host, group: str) -> Iterator[list[str]]:
    """The group's members; a group without one gets a probe member for the length of the test:
    a locked system account with no shell and no key (nobody can log in as it), removed after.
    sudo and the file modes see it through NSS exactly as they see a real administrator."""
    members = _members(host, group)
    if members:
        yield members
        return
    assert host.group(group).exists, f"group {group} does not exist"
    probe = "idcpilot-probe-" + host.run("cat /proc/sys/kernel/random/uuid").stdout.strip()[:8]
    made = host.run("useradd --system --no-create-home --shell /usr/sbin/nologin --groups %s %s", group, probe)
    assert made.rc == 0, f"cannot add a probe member to {group}: {made.stderr}"
    try:
        yield [probe]
    finally:
        gone = host.run("userdel %s", probe)
        assert gone.rc == 0 and not host.user(probe).exists, f"probe account {probe} left behind: {gone.stderr}"


# ------------------------------------------------------------------ administrators


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_administrator_sudo_is_an_allow_list_without_the_audit_trail(host, hostvars):
    admins = setting(hostvars, "baseline_admin_group")
    held = grants(_policy(host), None, {admins})
    assert held, f"the sudo policy gives group {admins} nothing (the role writes its allow-list)"
    problems = administrator_problems(held)
    assert not problems, f"group {admins}: {problems}"


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_no_role_member_is_in_a_full_sudo_group(host, hostvars):
    """A member of sudo/wheel keeps the distribution's ALL rule whatever the baseline writes."""
    members = set()
    for variable in ("baseline_admin_group", "baseline_auditor_group", "baseline_security_officer_group"):
        members |= set(_members(host, setting(hostvars, variable)))
    policy = _policy(host)
    for member in sorted(members):
        groups = set(host.user(member).groups) if host.user(member).exists else set()
        everything = [g for g in grants(policy, member, groups) if g["command"] == "ALL" and not g["negated"]]
        assert not everything, f"{member} (a separated role) is given ALL by the sudo policy (groups {sorted(groups)})"


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_each_administrator_is_refused_the_audit_commands(host, hostvars):
    admins = setting(hostvars, "baseline_admin_group")
    with _members_or_probe(host, admins) as members:
        for member in members:
            listing = host.run("sudo -n -l -U %s", member).stdout
            assert not re.search(r"\)\s+(NOPASSWD:\s*)?ALL\s*$", listing, re.M), f"{member} may run ALL:\n{listing}"
            allowed = [c for c in ADMIN_MUST_NOT_RUN if host.run("sudo -n -l -U %s " + c, member).rc == 0]
            assert not allowed, f"sudo lets administrator {member} run {allowed}"


# ------------------------------------------------------------------ audit configuration and logs


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_audit_configuration_and_logs_written_by_root_read_by_auditors(host, hostvars):
    auditors = setting(hostvars, "baseline_auditor_group")
    for top in ("/etc/audit", "/var/log/audit"):
        d = host.file(top)
        assert d.is_directory and d.user == "root" and d.group == auditors, f"{top} is {d.user}:{d.group}"
    listing = host.run("find /etc/audit /var/log/audit -xdev ! -type l -printf '%p\\t%u\\t%g\\t%m\\n'")
    assert listing.rc == 0, listing.stderr
    stats = [(p, u, g, int(m, 8)) for p, u, g, m in (line.split("\t") for line in listing.stdout.splitlines())]
    problems = path_problems(stats, auditors)
    assert not problems, problems
    acl = host.run("getfacl -Rsp /etc/audit /var/log/audit")  # acl: a package the baseline installs
    assert acl.rc == 0, f"getfacl cannot read the ACLs: {acl.stderr[:300]}"
    assert acl.stdout.strip() == "", f"extended ACLs open audit files to others:\n{acl.stdout[:600]}"


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_administrators_cannot_write_audit_paths(host, hostvars):
    admins = setting(hostvars, "baseline_admin_group")
    with _members_or_probe(host, admins) as members:
        for member in members:
            for path in ("/etc/audit", "/etc/audit/rules.d", "/etc/audit/auditd.conf", "/var/log/audit"):
                writable = host.run("runuser -u %s -- test -w %s", member, path)
                assert writable.rc != 0, f"administrator {member} can write {path}"
            readable = host.run("runuser -u %s -- ls /var/log/audit", member)
            assert readable.rc != 0, f"administrator {member} can list the audit logs"


# ------------------------------------------------------------------ auditors


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_auditors_hold_only_the_read_wrapper(host, hostvars):
    auditors = setting(hostvars, "baseline_auditor_group")
    wrapper = role_var("baseline_audit_read_command")
    held = grants(_policy(host), None, {auditors})
    assert [g["command"] for g in held] == [wrapper] and not any(g["negated"] for g in held), held
    f = host.file(wrapper)
    assert f.exists and f.user == "root" and f.group == "root" and f.mode == 0o755, (f.user, f.group, oct(f.mode))
    # every directory above it is root's alone: nobody else can swap the file
    parts = wrapper.split("/")[1:-1]
    for i in range(len(parts)):
        d = host.file("/" + "/".join(parts[: i + 1]))
        assert d.user == "root" and not d.mode & 0o022, f"{d.path} is {d.user} {oct(d.mode)}"
    for member in _members(host, auditors):
        assert host.run("sudo -n -l -U %s %s search -k identity", member, wrapper).rc == 0, f"{member} cannot run the wrapper"
        for command in ("/usr/sbin/ausearch --checkpoint /var/log/audit/audit.log", "/usr/sbin/auditctl -D", "/bin/sh"):
            assert host.run("sudo -n -l -U %s " + command, member).rc != 0, f"auditor {member} may run {command}"


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_read_wrapper_refuses_write_options(host):
    wrapper = role_var("baseline_audit_read_command")
    tmp = host.run("mktemp -d").stdout.strip()
    assert tmp.startswith("/"), "mktemp failed"
    try:
        for args in WRAPPER_REFUSES:
            args = [a.replace("{tmp}", tmp) for a in args]
            out = host.run(" ".join(shlex.quote(a) for a in [wrapper, *args]))
            # ssh may put its own lines first (a refused mux session, then the banner of the
            # fallback connection): the wrapper's refusal is one line of stderr, not all of it
            refused = any(line.startswith("idc-audit-read: ") for line in out.stderr.splitlines())
            assert out.rc == 2 and refused, (args, out.rc, out.stderr[-300:])
        assert host.run("ls -A %s", tmp).stdout.strip() == "", "a refused call still wrote into the directory"
    finally:
        host.run("rm -rf -- %s", tmp)


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_read_wrapper_reads_audit_records(host, not_in_container):
    not_in_container("auditd cannot run in a container (no audit netlink), so there is no audit log to read")
    wrapper = role_var("baseline_audit_read_command")
    out = host.run("%s report --summary", wrapper)
    assert out.rc == 0, out.stderr[:300]
    assert "Summary Report" in out.stdout, out.stdout[:300]


# ------------------------------------------------------------------ audit records and adm


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_audit_records_stay_out_of_what_adm_reads(host, hostvars):
    facilities = setting(hostvars, "baseline_audit_syslog_facilities")
    drop_in = host.file("/etc/rsyslog.d/65-idcpilot-audit-records.conf")
    assert drop_in.exists, "the rsyslog rule that stops audit records before the local files is missing"
    stop = re.search(r"^if (.*) then stop$", drop_in.content_string, re.M)
    assert stop and set(re.findall(r'\$syslogfacility-text == "([a-z0-9]+)"', stop.group(1))) == set(facilities), \
        drop_in.content_string
    # rsyslog reads the drop-ins in name order: the forwarding rule must come first
    names = sorted(host.run("ls /etc/rsyslog.d").stdout.split())
    if "60-idcpilot-forward.conf" in names:
        assert names.index("60-idcpilot-forward.conf") < names.index("65-idcpilot-audit-records.conf")
    assert host.run("rsyslogd -N1").rc == 0, "rsyslog does not accept its configuration"
    plugin = host.file("/etc/audit/plugins.d/syslog.conf")
    if plugin.exists:
        assert re.search(r"^\s*active\s*=\s*no\s*$", plugin.content_string, re.M), \
            "audisp-syslog is on: every audit record goes through /dev/log into the journal"
    socket = host.run("systemctl is-enabled systemd-journald-audit.socket")
    assert socket.stdout.strip() in ("masked", "masked-runtime"), f"journald audit socket is {socket.stdout.strip()!r}"
    assert host.run("systemctl is-active systemd-journald-audit.socket").stdout.strip() != "active"


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
def test_a_probe_on_an_audit_facility_reaches_no_adm_file(host, hostvars):
    """A line logged on each audit facility must not appear in any file under /var/log that adm
    (or anyone but root and the auditors) can read. The journal is left out: syslog(3) lines
    reach it before rsyslog (docs/hardening.md says which audit lines that leaves there)."""
    auditors = setting(hostvars, "baseline_auditor_group")
    # The token is made, logged and searched for on the host, never on a command line: sudo logs
    # every command it runs to auth.log (group adm), which would hold a token passed as argument.
    probe = "/run/idcpilot-duties-probe"
    log = " && ".join(f"logger -p {shlex.quote(f + '.info')} -t idcpilot-duties-probe -f {probe}"
                      for f in setting(hostvars, "baseline_audit_syslog_facilities"))
    made = host.run(f"umask 077 && cat /proc/sys/kernel/random/uuid > {probe} && {log}")
    assert made.rc == 0, made.stderr
    try:
        host.run("sleep 2")
        found = host.run(f"grep -rlsF --exclude-dir=journal -f {probe} /var/log").stdout.split()
    finally:
        host.run(f"rm -f {probe}")
    leaked = []
    for path in found:
        f = host.file(path)
        if f.mode & 0o004 or (f.group not in ("root", auditors) and f.mode & 0o040):
            leaked.append(f"{path} ({f.user}:{f.group} {oct(f.mode)})")
    assert not leaked, f"an audit-facility line landed in files others can read: {leaked}"
