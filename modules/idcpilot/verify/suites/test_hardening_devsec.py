"""Verify the parts of roles/baseline that bring it to dev-sec os_hardening's level, on real hosts.

AIDE alerting (MLPS3-INTEGRITY), the setuid/setgid allow-list (MLPS3-MINIMAL), /proc hidepid
(MLPS3-ACCESS-ACCOUNTS), a journal that can hold the retention period (MLPS3-AUDIT-RETENTION) and
the sysctls laid down for boot (MLPS3-MINIMAL). The live sysctl values and the high-risk packages
dev-sec also covers are in the role's existing dicts and lists, which test_baseline.py reads.
Each test names its rule; what a container cannot show is skipped with the reason, never passed. Tests that change something on a host (the AIDE canary) work in a scratch
directory of their own and remove it, leaving the host's AIDE database and files as they were.
"""

from __future__ import annotations

import re
import shlex
import time
from typing import Any

import pytest

from idcpilot.hostchecks import local_mounts, proc_hidepid, setid_find_argv, size_bytes, unknown_setid
from idcpilot.policy.baseline import retention_bytes
from idcpilot.verify.suites.baseline_support import kv, role_var, setting, thresholds

pytestmark = [pytest.mark.group("role_baseline")]

AIDE_IDENTIFIER = "idcpilot-aide"
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def prom_values(text: str) -> dict[str, float]:
    """Samples of a Prometheus text file: {name{labels}: value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def journal_since(host, since: float, needle: str, priority: str = "warning") -> str:
    """Entries of the AIDE identifier at PRIORITY or more urgent since the epoch second SINCE,
    asked until NEEDLE shows up or ten seconds passed (journald writes asynchronously)."""
    text = ""
    for _ in range(10):
        text = host.run(f"journalctl --no-pager -o cat -t {AIDE_IDENTIFIER} -p {priority} --since @{int(since)}").stdout
        if needle in text:
            break
        time.sleep(1)
    return text


# ------------------------------------------------------------------ MLPS3-MINIMAL: sysctls laid down


@pytest.mark.rule("MLPS3-MINIMAL")
def test_sysctls_are_laid_down_for_boot(host, hostvars):
    """Every network and kernel sysctl (dev-sec's accept_ra, kexec_load_disabled ... included) is
    in /etc/sysctl.d for the next boot, containers too; the live values are test_baseline.py's
    (kernel.* skipped there in a container, where /proc/sys is the machine's and read-only)."""
    for path, name in (("/etc/sysctl.d/60-idcpilot-net.conf", "baseline_sysctl_net"),
                       ("/etc/sysctl.d/61-idcpilot-kernel.conf", "baseline_sysctl_kernel")):
        written = kv(host.file(path).content_string)
        want = {key: str(value) for key, value in setting(hostvars, name).items()}
        wrong = {key: written.get(key) for key, value in want.items() if written.get(key) != value}
        assert not wrong, f"{path} lacks or differs for {wrong} (want {want})"
    effective = host.run("systemd-analyze cat-config sysctl.d 2>/dev/null || cat /etc/sysctl.conf /etc/sysctl.d/*.conf")
    later = kv(effective.stdout)
    overridden = {k: later.get(k) for k, v in {**setting(hostvars, "baseline_sysctl_net"), **setting(hostvars, "baseline_sysctl_kernel")}.items()
                  if k in later and later[k] != str(v)}
    assert not overridden, f"a later sysctl.d file sets these back at boot: {overridden}"


# ------------------------------------------------------------------ MLPS3-INTEGRITY


#: What AIDE calls the hashes in its database header (@@db_spec); H is all of them.
AIDE_HASHES = ("md5", "sha1", "rmd160", "tiger", "crc32", "haval", "gost", "crc32b", "sha256", "sha512", "whirlpool")


@pytest.mark.rule("MLPS3-INTEGRITY")
def test_aide_database_records_the_configured_hashes(host, hostvars):
    """The database the check compares against was recorded with the hashes the estate asked for
    (read from the database's own header, not from the configuration that asked)."""
    if not role_var(hostvars, "baseline_aide_checksums_group"):
        pytest.skip(f"{hostvars['idcpilot_os_family']}: the stock aide.conf names its hashes per group; nothing is set")
    wanted = setting(hostvars, "baseline_aide_checksums")
    expected = set(AIDE_HASHES) if wanted == "H" else set(wanted.split("+"))
    db = role_var(hostvars, "baseline_aide_db")
    head = host.run(f"{{ zcat -f {shlex.quote(db)} | head -n 20; }} 2>/dev/null")
    spec = re.search(r"^@@db_spec (.*)$", head.stdout, re.M)
    assert spec, f"{db}: no @@db_spec header: {head.stdout[:300]!r}"
    recorded = set(spec.group(1).split()) & set(AIDE_HASHES)
    assert recorded == expected, f"{db} records {sorted(recorded)}, baseline_aide_checksums asks for {sorted(expected)}"


@pytest.mark.rule("MLPS3-INTEGRITY")
def test_aide_unit_runs_the_alerting_check(host, hostvars):
    """The scheduled check goes through the wrapper that logs warnings and writes the metrics."""
    unit = host.run("systemctl cat idcpilot-aide-check.service")
    assert unit.rc == 0, unit.stderr
    program = f"{role_var(hostvars, 'baseline_libexec_dir')}/idcpilot-aide-check"
    textfile = f"{role_var(hostvars, 'baseline_aide_textfile_dir')}/idcpilot_aide.prom"
    exec_start = re.search(r"^ExecStart=(.*)$", unit.stdout, re.M)
    assert exec_start, unit.stdout
    words = shlex.split(exec_start.group(1))
    assert words[0] == program and f"--textfile={textfile}" in words and f"--identifier={AIDE_IDENTIFIER}" in words, words
    assert "--check" in words[words.index("--"):], f"the wrapper does not run an AIDE check: {words}"
    assert host.file(program).is_file and host.file(program).mode & 0o022 == 0 and host.file(program).user == "root"


@pytest.mark.rule("MLPS3-INTEGRITY")
def test_aide_scheduled_check_writes_its_metrics(host, hostvars):
    """Run the real scheduled check once (a full AIDE pass of the host) and read its metrics."""
    textfile = f"{role_var(hostvars, 'baseline_aide_textfile_dir')}/idcpilot_aide.prom"
    start = int(host.run("date +%s").stdout)
    run = host.run("timeout 1800 systemctl start idcpilot-aide-check.service")
    status = host.run("systemctl show -p Result -p ExecMainStatus --value idcpilot-aide-check.service").stdout.split()
    assert run.rc == 0, f"AIDE check unit failed ({status}): {run.stderr}\n" + host.run(
        "journalctl --no-pager -o cat -u idcpilot-aide-check.service -n 20").stdout
    metrics = prom_values(host.file(textfile).content_string)
    assert metrics.get("idcpilot_aide_check_success") == 1, metrics
    assert metrics.get("idcpilot_aide_last_check_timestamp_seconds", 0) >= start, metrics
    changed = metrics.get("idcpilot_aide_changed_files")
    assert changed is not None and changed >= 0, metrics
    if changed:  # a difference on this host is a finding: it must also be in the journal at warning priority
        assert f"AIDE found {int(changed)} difference" in journal_since(host, start, f"AIDE found {int(changed)} difference"), \
            f"{int(changed)} AIDE differences counted but no warning in the journal"


@pytest.mark.rule("MLPS3-INTEGRITY")
def test_aide_difference_raises_a_journal_warning_and_the_metric(host, hostvars):
    """A watched canary changes: the wrapper logs a warning naming it and the metric counts it.

    The canary, its AIDE configuration and database and the metrics file live in a scratch
    directory under /run that the test removes: the host's own AIDE database is not touched, and
    /run (runtime state, changing all the time) is outside what the host's AIDE watches, so
    creating and removing the directory leaves no difference behind either.
    """
    program = f"{role_var(hostvars, 'baseline_libexec_dir')}/idcpilot-aide-check"
    scratch = host.run("mktemp -d /run/idcpilot-aide-canary.XXXXXX").stdout.strip()
    assert scratch.startswith("/run/idcpilot-aide-canary."), scratch
    try:
        canary, prom = f"{scratch}/watched/canary", f"{scratch}/metrics/idcpilot_aide.prom"
        version = host.run(f"{PATH} aide --version 2>&1").stdout
        found = re.search(r"\b0\.(\d+)", version)
        assert found, f"aide --version: {version!r}"
        db_in = "database_in" if int(found.group(1)) >= 17 else "database"  # renamed in AIDE 0.17
        conf = (f"{db_in}=file:{scratch}/aide.db\ndatabase_out=file:{scratch}/aide.db.new\ngzip_dbout=no\n"
                f"report_url=stdout\n{scratch}/watched sha256\n")
        setup = host.run(
            f"mkdir {scratch}/watched {scratch}/metrics && printf 'canary\\n' > {canary} && "
            f"printf %s {shlex.quote(conf)} > {scratch}/aide.conf && "
            f"{PATH} aide --config {scratch}/aide.conf --init && mv {scratch}/aide.db.new {scratch}/aide.db")
        assert setup.rc == 0, setup.stdout + setup.stderr
        check = f"{PATH} {program} --identifier={AIDE_IDENTIFIER} --textfile={prom} -- aide --config {scratch}/aide.conf --check"

        clean = host.run(check)
        assert clean.rc == 0, f"unchanged canary reported (exit {clean.rc}): {clean.stderr}"
        assert prom_values(host.file(prom).content_string)["idcpilot_aide_changed_files"] == 0

        start = int(host.run("date +%s").stdout)
        assert host.run(f"printf 'tampered\\n' >> {canary}").rc == 0
        changed = host.run(check)
        assert changed.rc == 1, f"changed canary not reported (exit {changed.rc}): {changed.stderr}"
        metrics = prom_values(host.file(prom).content_string)
        assert metrics["idcpilot_aide_changed_files"] > 0, metrics
        assert metrics['idcpilot_aide_differences{kind="changed"}'] == 1, metrics
        assert metrics["idcpilot_aide_last_check_timestamp_seconds"] >= start, metrics
        warnings = journal_since(host, start, f"AIDE changed: {canary}")
        assert f"AIDE changed: {canary}" in warnings, f"no warning naming the canary in the journal:\n{warnings[-2000:]}"
    finally:
        host.run(f"rm -rf -- {shlex.quote(scratch)}")
    assert not host.file(scratch).exists, f"{scratch} left behind"


# ------------------------------------------------------------------ MLPS3-MINIMAL: setuid/setgid


@pytest.mark.rule("MLPS3-MINIMAL")
def test_setuid_setgid_files_are_all_allowed(host, hostvars):
    """Every setuid/setgid file on / and the local filesystems is on the family's allow-list, and
    none of the blacklist kept its bits: the same find the host's compliance check runs."""
    assert setting(hostvars, "baseline_suid_enabled"), "the setuid/setgid control is off on this host"
    types = setting(hostvars, "baseline_suid_filesystem_types")
    exclude = setting(hostvars, "baseline_suid_scan_exclude")
    allowed = setting(hostvars, "baseline_suid_allowlist").get(hostvars["idcpilot_os_family"], []) + \
        setting(hostvars, "baseline_suid_allowlist_extra")
    mounts = host.file("/proc/self/mounts").content_string
    excluded = lambda p: any(p == e or p.startswith(e.rstrip("/") + "/") for e in exclude)
    roots = ["/"] + sorted({m for m in local_mounts(types, mounts) if m != "/" and not excluded(m)})
    timeout = int(setting(hostvars, "baseline_suid_scan_timeout"))
    scan = host.run(f"timeout {timeout} {shlex.join(setid_find_argv(roots, exclude))}")
    assert scan.rc == 0, f"the scan did not complete (exit {scan.rc}): {scan.stderr[:300]}"
    found = sorted(set(scan.stdout.split("\n")) - {""})
    assert found, "no setuid/setgid file at all: su and sudo are expected, the scan did not look"
    stripped = sorted(set(found) & set(setting(hostvars, "baseline_suid_blacklist")))
    assert not stripped, f"blacklisted files kept their setuid/setgid bits: {stripped}"
    unknown = unknown_setid(found, allowed)
    assert not unknown, f"setuid/setgid files not on the allow-list (baseline_suid_allowlist): {unknown}"


# ------------------------------------------------------------------ MLPS3-AUDIT-RETENTION: the journal's size


@pytest.mark.rule("MLPS3-AUDIT-RETENTION")
def test_journal_can_hold_the_retention_period(host, measure):
    """journald deletes the oldest entries at SystemMaxUse: the limit holds the estimate for the
    retention period, the filesystem can give the journal that much, and where the journal already
    spans a day the host's own rate for the retention period fits under the limit."""
    th = thresholds()
    days = th.get("audit.minRetentionDays")
    need = retention_bytes(th)
    conf = kv(host.run("systemd-analyze cat-config systemd/journald.conf").stdout)
    limit = size_bytes(conf.get("SystemMaxUse", ""))
    assert limit is not None and limit >= need, \
        f"journald SystemMaxUse={conf.get('SystemMaxUse')} holds less than {need / 1024 ** 3:.1f} GiB ({days} days at the estimate)"
    assert conf.get("ForwardToSyslog") == "yes", "the journal is not copied to syslog (rotated files, log store)"

    usage = host.run("du -sb /var/log/journal").stdout.split()
    df = host.run("df -B1 --output=size,avail /var/log/journal").stdout.split()
    assert len(usage) >= 1 and len(df) >= 4, (usage, df)
    used, size, avail = int(usage[0]), int(df[-2]), int(df[-1])
    keep_free = size_bytes(conf["SystemKeepFree"]) if conf.get("SystemKeepFree") else min(0.15 * size, 4 * 1024 ** 3)
    room = used + avail - keep_free
    measure("journal_room_bytes", int(room))
    assert room >= limit, (f"/var/log/journal can give the journal {room / 1024 ** 3:.1f} GiB (SystemKeepFree kept), "
                           f"less than SystemMaxUse {limit / 1024 ** 3:.1f} GiB: journald would delete before {days} days")

    # The host's own rate, once the journal spans a day (a younger journal is mostly boot and deploy).
    oldest = re.match(r"\s*([0-9]+(?:\.[0-9]+)?)", host.run("journalctl --no-pager -q -o short-unix | head -n 1").stdout)
    assert oldest, "cannot read the journal's oldest entry"
    span_days = (float(host.run("date +%s").stdout) - float(oldest.group(1))) / 86400
    if span_days >= 1:
        per_day = used / span_days
        measure("journal_bytes_per_day", int(per_day))
        assert per_day * days <= limit, (f"this host writes {per_day / 1024 ** 2:.0f} MiB of journal a day: {days} days need "
                                         f"{per_day * days / 1024 ** 3:.1f} GiB, SystemMaxUse is {limit / 1024 ** 3:.1f} GiB")


# ------------------------------------------------------------------ MLPS3-ACCESS-ACCOUNTS: /proc hidepid


@pytest.mark.rule("MLPS3-ACCESS-ACCOUNTS")
def test_proc_hides_other_accounts_processes(host, hostvars, not_in_container):
    """/proc has hidepid=2 at boot (fstab) and now: an unprivileged account cannot see PID 1, a
    member of the exception group can. A container whose manager refused the remount is skipped."""
    assert setting(hostvars, "baseline_proc_hidepid_enabled"), "/proc hidepid is off on this host"
    group = setting(hostvars, "baseline_proc_group")
    gid = host.group(group).gid
    fstab = [l.split() for l in host.file("/etc/fstab").content_string.splitlines() if l.split()[:2] == ["proc", "/proc"]]
    assert fstab and re.search(r"(^|,)hidepid=2(,|$)", fstab[-1][3]) and re.search(rf"(^|,)gid={gid}(,|$)", fstab[-1][3]), \
        f"/etc/fstab does not mount /proc with hidepid=2,gid={gid}: {fstab}"
    if not proc_hidepid(host.file("/proc/self/mounts").content_string):
        not_in_container("/proc is mounted by the container manager, which refused the hidepid remount")
        pytest.fail("/proc is mounted without hidepid=2: every account sees every process")
    options = host.run("findmnt --noheadings --output OPTIONS --mountpoint /proc").stdout
    assert re.search(rf"(^|,)gid={gid}(,|$)", options.strip()), f"/proc has no gid={gid} exception: {options}"
    assert host.run("runuser -u nobody -- test -e /proc/1/status").rc != 0, "an unprivileged account sees PID 1"
    assert host.run(f"runuser -u nobody -g {shlex.quote(group)} -- test -e /proc/1/status").rc == 0, \
        f"a member of {group} cannot see PID 1: the exception does not work"
