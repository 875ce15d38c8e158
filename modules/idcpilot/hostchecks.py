#!/usr/bin/env python3
"""The MLPS3 host checks, one implementation for the gate, the hosts and verify.

- On a host: roles/baseline ships this file (roles/baseline/files/baseline_compliance.py is a
  link to it) and runs it read-only for audit-only mode and its self-check:
  ``baseline_compliance.py BASE64_JSON_SETTINGS`` prints one JSON object
  ``{rule_id: {"status": "pass"|"fail"|"skipped", "findings": [...]}}``. Nothing is changed.
- In the gate: ``timespan_seconds`` judges a retention variable before it reaches a host.
- In verify: the suites parse what they read from hosts with ``parse_kv``, ``parse_sshd_t`` and
  ``timespan_seconds``.

So a value means the same everywhere ("6M" is six months to the gate, the host and verify).
Standard library only, and Python 3.6+ (RHEL 8 family) as well as 3.11 (Debian 12): it runs on
hosts before anything else is installed.
"""
import base64
import glob
import grp
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys


def run(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
        return p.returncode, p.stdout, p.stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", str(exc)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def parse_kv(text, sep="="):
    """``key = value`` lines (pwquality.conf, faillock.conf, journald.conf; ``sep=":"`` for
    chronyc output), or ``key value`` ones with ``sep=" "`` (login.defs); a line without the
    separator is split at its first whitespace. Comments and blank lines are dropped, the last
    value of a key wins."""
    out = {}
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if sep != " " and sep in line:
            key, _, value = line.partition(sep)
        else:
            parts = line.split(None, 1)
            key, value = parts[0], parts[1] if len(parts) > 1 else ""
        out[key.strip()] = value.strip()
    return out


def kv_file(path, sep="="):
    return parse_kv(read(path), sep)


def parse_sshd_t(text):
    """``sshd -T`` output: lower-cased keyword -> every value it has (in order)."""
    values = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if key:
            values.setdefault(key.lower(), []).append(value.strip())
    return values


def as_int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


#: systemd.time(7) time-span units in seconds; case matters as it does to systemd ("m" is a
#: minute, "M" a month of 30.44 days, "y" 365.25 days).
SPAN_UNITS = {
    "usec": 1e-6, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6,
    "msec": 1e-3, "ms": 1e-3,
    "seconds": 1, "second": 1, "sec": 1, "s": 1, "": 1,
    "minutes": 60, "minute": 60, "min": 60, "m": 60,
    "hours": 3600, "hour": 3600, "hr": 3600, "h": 3600,
    "days": 86400, "day": 86400, "d": 86400,
    "weeks": 604800, "week": 604800, "w": 604800,
    "months": 2629800, "month": 2629800, "M": 2629800,
    "years": 31557600, "year": 31557600, "y": 31557600,
}
_SPAN_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([^\s0-9.]*)")


def timespan_seconds(value):
    """A systemd time span ("6month", "180d", "1y 2w", "1.5d", "26weeks", 15552000) in seconds,
    parsed as systemd parses it; None when systemd would refuse it (an unknown unit, a sign,
    nothing at all), so a caller never mistakes a bad value for a short or a long one."""
    return _summed(value, _SPAN_PART, SPAN_UNITS)


def _summed(value, part, units):
    """VALUE as systemd reads a span or a size: a non-negative number as is, else parts of a
    number and a unit of UNITS (matched by PART), summed; None for anything systemd refuses."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    total, pos = 0.0, 0
    while pos < len(text):
        m = part.match(text, pos)
        if not m or m.end() == pos or m.group(2) not in units:
            return None
        total += float(m.group(1)) * units[m.group(2)]
        pos = m.end()
    return total


#: systemd's sizes (SystemMaxUse=, SystemKeepFree=): base 1024, one letter a unit, parts summed
#: ("1G 512M"); "B" and no unit are bytes.
SIZE_UNITS = {"E": 1024 ** 6, "P": 1024 ** 5, "T": 1024 ** 4, "G": 1024 ** 3, "M": 1024 ** 2, "K": 1024, "B": 1, "": 1}
_SIZE_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)")


def size_bytes(value):
    """A systemd size ("12G", "512M", "1G 512M", 1073741824) in bytes, as journald parses it;
    None when systemd would refuse it (a percentage, an unknown unit, a sign, nothing)."""
    return _summed(value, _SIZE_PART, SIZE_UNITS)


class Report:
    def __init__(self):
        self.rules = {}

    def rule(self, rule_id):
        return self.rules.setdefault(rule_id, {"status": "pass", "findings": [], "skipped": []})

    def fail(self, rule_id, message):
        entry = self.rule(rule_id)
        entry["status"] = "fail"
        entry["findings"].append("%s: %s" % (rule_id, message))

    def check(self, rule_id, ok, message):
        self.rule(rule_id)
        if not ok:
            self.fail(rule_id, message)

    def skip(self, rule_id, message):
        entry = self.rule(rule_id)
        entry["skipped"].append("%s: %s" % (rule_id, message))
        if entry["status"] == "pass":
            entry["status"] = "skipped"

    def finish(self):
        return self.rules


def sshd_effective(cfg):
    binary = cfg["sshd_binary"]
    code, out, err = run([binary, "-T", "-C", "user=%s,host=compliance,addr=%s" % (cfg["automation_account"], cfg["probe_address"])])
    if code != 0:
        return None, err.strip()
    return parse_sshd_t(out), ""


def installed_packages(family):
    if family == "Debian":
        code, out, _ = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n"])
        return {line.split()[0] for line in out.splitlines() if len(line.split()) > 1 and line.split()[1].startswith("ii")}
    code, out, _ = run(["rpm", "-qa", "--qf", "%{NAME}\n"])
    return set(out.split())


#: Kinds of port entries a role declares: ``management`` and ``public`` ports are opened by the
#: baseline firewall (management ones from the management networks only); ``bound`` sockets are
#: declared but stay closed (e.g. BFD's per-session source ports).
PORT_KINDS = ("management", "public", "bound")


def port_range(spec):
    """``22``, ``"22"`` or ``"30000-32767"`` -> (low, high)."""
    low, _, high = str(spec).partition("-")
    return int(low), int(high or low)


def host_ports(ssh_port, role_ports, roles, declared, overlay):
    """Every (proto or None, low, high, process or None) the host may listen on (MLPS3-MINIMAL).

    The one reading of the declaration, for the host's self-check and verify alike: the SSH port;
    each of the host's roles' entries in ``baseline_role_ports`` (every kind); the catalogue's
    declared ports (``idcpilot_declared_ports``, any protocol); and the ports the inventory
    derives from the estate for a role whose ports depend on it (``idcpilot_sdwan.firewall``:
    one WireGuard port per tunnel, BFD, BGP, and its ``bound`` sockets). The firewall opens the
    same entries (roles/baseline/templates/nftables.conf.j2), bound ones excepted.
    """
    out = [("tcp",) + port_range(ssh_port) + (None,)]
    for role in roles or []:
        for kind in PORT_KINDS:
            for entry in ((role_ports or {}).get(role) or {}).get(kind) or []:
                out.append((entry.get("proto"),) + port_range(entry["port"]) + (entry.get("process"),))
    out += [(None,) + port_range(p) + (None,) for p in declared or []]
    overlay = overlay or {}
    for proto in ("tcp", "udp"):
        out += [(proto,) + port_range(p) + (None,) for p in overlay.get(proto) or []]
    for entry in overlay.get("bound") or []:
        out.append((entry.get("proto"),) + port_range(entry["port"]) + (entry.get("process"),))
    return out


def undeclared_listeners(ss_output, allowed):
    """Sockets of ``ss -Hltnup`` output outside ALLOWED (``host_ports``); loopback ones are not
    reachable from the network and are left out."""
    found = []
    for line in (ss_output or "").splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        proto, local = fields[0], fields[4]
        address, _, port = local.rpartition(":")
        address = address.strip("[]").split("%")[0]
        if address.startswith("127.") or address == "::1" or not port.isdigit():
            continue
        names = re.findall(r'\("([^"]+)"', " ".join(fields[6:]))
        if not any((p is None or p == proto) and low <= int(port) <= high and (proc is None or proc in names)
                   for p, low, high, proc in allowed):
            found.append("%s %s%s" % (proto, local, " (%s)" % ",".join(names) if names else ""))
    return found


# ---------------------------------------------------------------- setuid/setgid files (MLPS3-MINIMAL)


def local_mounts(types, mounts_text=None):
    """Mount points of the filesystem TYPES (local ones: ext4, xfs, tmpfs ...), from /proc/self/mounts."""
    text = read("/proc/self/mounts") if mounts_text is None else mounts_text
    out = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] in types:
            out.append(fields[1].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\"))
    return out


def setid_find_argv(roots, exclude):
    """find over each root, never leaving its filesystem, pruning EXCLUDE: setuid or setgid files."""
    argv = ["find"] + list(roots) + ["-xdev"]
    if exclude:
        argv.append("(")
        for i, path in enumerate(exclude):
            argv += (["-o"] if i else []) + ["-path", path]
        argv += [")", "-prune", "-o"]
    return argv + ["-type", "f", "(", "-perm", "-4000", "-o", "-perm", "-2000", ")", "-print"]


def setid_scan(types, exclude, timeout):
    """(setuid/setgid files on / and every local filesystem, None) or (found so far, why the scan is incomplete)."""
    excluded = lambda p: any(p == e or p.startswith(e.rstrip("/") + "/") for e in exclude)
    roots = ["/"] + sorted({m for m in local_mounts(types) if m != "/" and not excluded(m)})
    try:
        p = subprocess.run(setid_find_argv(roots, exclude), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return sorted(set(partial.splitlines())), "the scan did not finish within %s s" % timeout
    except OSError as exc:
        return [], "find could not run: %s" % exc
    found = sorted(set(p.stdout.splitlines()))
    # find says 1 when a directory vanished or could not be read while it walked: say so, keep what it found
    return found, (None if p.returncode == 0 else "find exited %s: %s" % (p.returncode, p.stderr.strip()[:300]))


def proc_hidepid(mounts_text):
    """Is /proc mounted with hidepid=2 (shown as "invisible" by kernels >= 5.8)? The last /proc
    line of /proc/self/mounts is the mount in effect."""
    options = ""
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[1] == "/proc" and fields[2] == "proc":
            options = fields[3]
    return bool(re.search(r"(^|,)hidepid=(2|invisible)(,|$)", options))


def unknown_setid(found, allowed):
    """Setuid/setgid files not on the allow-list."""
    allowed = set(allowed)
    return [path for path in found if path not in allowed]


def main():
    cfg = json.loads(base64.b64decode(sys.argv[1]).decode("utf-8"))
    r = Report()
    container = cfg["in_container"]
    family = cfg["os_family"]

    # MLPS3-AUTH-PASSWORD
    rid = "MLPS3-AUTH-PASSWORD"
    pwq = kv_file("/etc/security/pwquality.conf")
    r.check(rid, as_int(pwq.get("minlen"), 0) >= cfg["pwquality_minlen"], "pwquality minlen %s < %s" % (pwq.get("minlen"), cfg["pwquality_minlen"]))
    r.check(rid, as_int(pwq.get("minclass"), 0) >= cfg["pwquality_minclass"], "pwquality minclass %s < %s" % (pwq.get("minclass"), cfg["pwquality_minclass"]))
    if cfg["pwquality_enforce_for_root"]:
        r.check(rid, "enforce_for_root" in pwq, "pwquality enforce_for_root not set")
    defs = kv_file("/etc/login.defs", sep=" ")
    r.check(rid, 0 < as_int(defs.get("PASS_MAX_DAYS"), 99999) <= cfg["pass_max_days"], "PASS_MAX_DAYS %s > %s" % (defs.get("PASS_MAX_DAYS"), cfg["pass_max_days"]))
    r.check(rid, as_int(defs.get("PASS_MIN_DAYS"), 0) >= cfg["pass_min_days"], "PASS_MIN_DAYS %s < %s" % (defs.get("PASS_MIN_DAYS"), cfg["pass_min_days"]))
    r.check(rid, as_int(defs.get("PASS_WARN_AGE"), 0) >= cfg["pass_warn_age"], "PASS_WARN_AGE %s < %s" % (defs.get("PASS_WARN_AGE"), cfg["pass_warn_age"]))
    password_stack = read(cfg["pam_password_file"]) or ""
    r.check(rid, "pam_pwquality.so" in password_stack, "pam_pwquality not in %s" % cfg["pam_password_file"])
    history = re.search(r"pam_pwhistory\.so.*remember=(\d+)", password_stack)
    remember = int(history.group(1)) if history else as_int(kv_file("/etc/security/pwhistory.conf").get("remember"), 0) if "pam_pwhistory.so" in password_stack else 0
    r.check(rid, remember >= cfg["pwhistory_remember"], "pam_pwhistory remember %s < %s" % (remember, cfg["pwhistory_remember"]))

    # MLPS3-AUTH-LOCKOUT
    rid = "MLPS3-AUTH-LOCKOUT"
    fl = kv_file("/etc/security/faillock.conf")
    r.check(rid, 0 < as_int(fl.get("deny"), 0) <= cfg["faillock_deny"], "faillock deny %s (want 1..%s)" % (fl.get("deny"), cfg["faillock_deny"]))
    unlock = as_int(fl.get("unlock_time"), 0)
    r.check(rid, unlock == 0 or unlock >= cfg["faillock_unlock_time"], "faillock unlock_time %s < %s" % (unlock, cfg["faillock_unlock_time"]))
    auth_stack = read(cfg["pam_auth_file"]) or ""
    r.check(rid, "pam_faillock.so" in auth_stack and "preauth" in auth_stack and "authfail" in auth_stack, "pam_faillock preauth/authfail missing in %s" % cfg["pam_auth_file"])

    sshd, sshd_err = sshd_effective(cfg)
    if sshd is None:
        for rid in ("MLPS3-AUTH-REMOTE", "MLPS3-AUTH-LOCKOUT", "MLPS3-AUTH-TIMEOUT", "MLPS3-MGMT-ACL"):
            r.fail(rid, "sshd -T failed: %s" % sshd_err)
        sshd = {}
    else:
        first = lambda key: (sshd.get(key) or [""])[0]
        r.check("MLPS3-AUTH-LOCKOUT", 0 < as_int(first("maxauthtries"), 99) <= cfg["ssh_max_auth_tries"], "sshd MaxAuthTries %s > %s" % (first("maxauthtries"), cfg["ssh_max_auth_tries"]))
        # MLPS3-AUTH-TIMEOUT (sshd part)
        interval = as_int(first("clientaliveinterval"), 0)
        r.check("MLPS3-AUTH-TIMEOUT", 0 < interval <= cfg["ssh_client_alive_interval"], "sshd ClientAliveInterval %s (want 1..%s)" % (interval, cfg["ssh_client_alive_interval"]))
        r.check("MLPS3-AUTH-TIMEOUT", as_int(first("clientalivecountmax"), 0) >= 1, "sshd ClientAliveCountMax %s < 1" % first("clientalivecountmax"))
        # MLPS3-AUTH-REMOTE
        rid = "MLPS3-AUTH-REMOTE"
        r.check(rid, first("permitrootlogin") == "no", "sshd PermitRootLogin %s" % first("permitrootlogin"))
        r.check(rid, first("passwordauthentication") == "no", "sshd PasswordAuthentication %s" % first("passwordauthentication"))
        r.check(rid, first("kbdinteractiveauthentication") == "no", "sshd KbdInteractiveAuthentication %s" % first("kbdinteractiveauthentication"))
        r.check(rid, first("permitemptypasswords") == "no", "sshd PermitEmptyPasswords %s" % first("permitemptypasswords"))
        for key, allowed in (("ciphers", cfg["ssh_ciphers"]), ("macs", cfg["ssh_macs"]), ("kexalgorithms", cfg["ssh_kex"])):
            weak = sorted(set(first(key).split(",")) - set(allowed))
            r.check(rid, not weak, "sshd %s not in the strong list: %s" % (key, ",".join(weak)))
        # MLPS3-MGMT-ACL: an address outside the management networks is denied
        code, out, _ = run([cfg["sshd_binary"], "-T", "-C", "user=%s,host=outside,addr=192.0.2.1" % cfg["automation_account"]])
        r.check("MLPS3-MGMT-ACL", code == 0 and re.search(r"^denyusers \*$", out, re.M) is not None, "sshd accepts users from outside the management networks (no Match Address deny)")
        listen = [v.rsplit(":", 1)[0].strip("[]") for v in sshd.get("listenaddress", [])]
        if cfg["ssh_listen_addresses"]:
            r.check("MLPS3-MGMT-ACL", sorted(set(listen)) == sorted(set(cfg["ssh_listen_addresses"])), "sshd listens on %s, want %s" % (listen, cfg["ssh_listen_addresses"]))
        r.check("MLPS3-BANNER", first("banner") not in ("", "none"), "sshd Banner is none")

    # MLPS3-AUTH-TIMEOUT (shell part)
    rid = "MLPS3-AUTH-TIMEOUT"
    tmout_ok = False
    for path in ["/etc/profile", "/etc/bash.bashrc"] + sorted(glob.glob("/etc/profile.d/*.sh")):
        text = read(path) or ""
        match = re.search(r"^\s*(?:export\s+|readonly\s+)?TMOUT=(\d+)", text, re.M)
        if match and 0 < int(match.group(1)) <= cfg["tmout"] and re.search(r"readonly\s+(?:.*\s)?TMOUT", text):
            tmout_ok = True
    r.check(rid, tmout_ok, "no readonly TMOUT<=%s in /etc/profile, /etc/bash.bashrc or /etc/profile.d" % cfg["tmout"])

    # MLPS3-AUTH-REMOTE / MLPS3-MINIMAL: high-risk packages
    present = sorted(installed_packages(family) & set(cfg["high_risk_packages"]))
    r.check("MLPS3-AUTH-REMOTE", not present, "high-risk packages installed: %s" % ", ".join(present))
    r.check("MLPS3-MINIMAL", not present, "high-risk packages installed: %s" % ", ".join(present))

    # MLPS3-ACCESS-ACCOUNTS
    rid = "MLPS3-ACCESS-ACCOUNTS"
    users = pwd.getpwall()
    uid0 = sorted(u.pw_name for u in users if u.pw_uid == 0)
    r.check(rid, uid0 == ["root"], "UID 0 accounts: %s" % uid0)
    for line in (read("/etc/shadow") or "").splitlines():
        fields = line.split(":")
        if len(fields) > 1 and fields[1] == "":
            r.fail(rid, "account %s has an empty password" % fields[0])
    exempt = set(cfg["nologin_exempt"]) | {cfg["automation_account"]}
    for u in users:
        if u.pw_uid <= cfg["system_uid_max"] and u.pw_name not in exempt and not re.search(r"(nologin|false)$", u.pw_shell or ""):
            r.fail(rid, "system account %s has login shell %s" % (u.pw_name, u.pw_shell))
    umask = (defs.get("UMASK") or "").lstrip("0")
    r.check(rid, umask == cfg["umask"].lstrip("0"), "login.defs UMASK %s, want %s" % (defs.get("UMASK"), cfg["umask"]))
    for path in ["/etc/sudoers"] + sorted(glob.glob("/etc/sudoers.d/*")):
        for number, line in enumerate((read(path) or "").splitlines(), 1):
            text = line.split("#", 1)[0]
            if "NOPASSWD" in text and not re.match(r"\s*%s\s" % re.escape(cfg["automation_account"]), text):
                r.fail(rid, "%s:%d: NOPASSWD for someone other than %s" % (path, number, cfg["automation_account"]))
    try:
        shadow_line = [l for l in (read("/etc/shadow") or "").splitlines() if l.startswith(cfg["automation_account"] + ":")]
        r.check(rid, bool(shadow_line) and shadow_line[0].split(":")[1][:1] in ("!", "*"), "automation account %s has a usable password (must be key-only)" % cfg["automation_account"])
    except IndexError:
        r.fail(rid, "automation account %s missing" % cfg["automation_account"])

    # MLPS3-ACCESS-ROLES
    rid = "MLPS3-ACCESS-ROLES"
    members = {}
    for name in cfg["role_groups"]:
        try:
            group = grp.getgrnam(name)
        except KeyError:
            r.fail(rid, "group %s missing" % name)
            continue
        primary = {u.pw_name for u in users if u.pw_gid == group.gr_gid}
        members[name] = set(group.gr_mem) | primary
    names = sorted(members)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = members[a] & members[b]
            r.check(rid, not shared, "%s and %s share members: %s" % (a, b, sorted(shared)))
    if os.path.isdir("/var/log/audit"):
        st = os.stat("/var/log/audit")
        try:
            group_name = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group_name = str(st.st_gid)
        r.check(rid, group_name == cfg["auditor_group"] and not st.st_mode & stat.S_IRWXO, "/var/log/audit is %s:%s %o (want group %s, no access for others)" % (st.st_uid, group_name, st.st_mode & 0o777, cfg["auditor_group"]))
        for path in glob.glob("/var/log/audit/*"):
            mode = os.stat(path).st_mode
            r.check(rid, not mode & stat.S_IRWXO, "%s readable by others (%o)" % (path, mode & 0o777))
    else:
        r.fail(rid, "/var/log/audit missing")

    # MLPS3-AUDIT
    rid = "MLPS3-AUDIT"
    rules = "\n".join(read(p) or "" for p in sorted(glob.glob("/etc/audit/rules.d/*.rules")))
    for key in ("identity", "sudoers", "privileged-exec", "time-change", "modules"):
        r.check(rid, re.search(r"-k %s\b" % re.escape(key), rules) is not None, "audit rules have no '%s' watch" % key)
    if cfg["audit_immutable"]:
        r.check(rid, re.search(r"^-e 2\s*$", rules, re.M) is not None, "audit rules are not made immutable (-e 2)")
    if container:
        r.skip(rid, "auditd cannot run in a container (no audit netlink): configuration checked, daemon and loaded rules not")
    else:
        code, out, _ = run(["systemctl", "is-active", "auditd"])
        r.check(rid, out.strip() == "active", "auditd is %s" % out.strip())
        code, out, _ = run(["auditctl", "-s"])
        r.check(rid, re.search(r"enabled (1|2)", out) is not None, "audit not enabled in the kernel: %s" % out.strip())
        if cfg["audit_immutable"]:
            r.check(rid, "enabled 2" in out, "loaded audit rules are not immutable")

    # MLPS3-AUDIT-RETENTION
    rid = "MLPS3-AUDIT-RETENTION"
    journald = {}
    for path in ["/etc/systemd/journald.conf"] + sorted(glob.glob("/etc/systemd/journald.conf.d/*.conf")):
        journald.update(kv_file(path))
    r.check(rid, journald.get("Storage") == "persistent", "journald Storage=%s" % journald.get("Storage"))
    retention = timespan_seconds(journald.get("MaxRetentionSec", "")) or 0
    r.check(rid, retention >= (timespan_seconds(cfg["journald_max_retention"]) or float("inf")), "journald MaxRetentionSec=%s < %s" % (journald.get("MaxRetentionSec"), cfg["journald_max_retention"]))
    rotate = read("/etc/logrotate.d/rsyslog") or ""
    days = as_int((re.search(r"^\s*rotate\s+(\d+)", rotate, re.M) or [None, 0])[1], 0)
    daily = re.search(r"^\s*daily", rotate, re.M) is not None
    r.check(rid, daily and days >= cfg["logrotate_days"], "logrotate keeps %s %s rotations of syslog (< %s days)" % (days, "daily" if daily else "non-daily", cfg["logrotate_days"]))
    if cfg["log_forward_enabled"]:
        forward = "\n".join(read(p) or "" for p in glob.glob("/etc/rsyslog.d/*.conf"))
        target = cfg["log_store_host"]
        r.check(rid, re.search(r'target="%s"' % re.escape(target), forward) is not None, "no rsyslog forwarding to %s" % target)
        if cfg["log_forward_tls"]:
            r.check(rid, re.search(r'StreamDriverMode="1"', forward) is not None, "rsyslog forwarding is not TLS")
        code, out, _ = run(["systemctl", "is-active", "rsyslog"])
        r.check(rid, out.strip() == "active", "rsyslog is %s" % out.strip())

    # MLPS3-TIME
    rid = "MLPS3-TIME"
    chrony = read(cfg["chrony_conf"]) or ""
    servers = re.findall(r"^\s*(?:server|pool)\s+(\S+)", chrony, re.M)
    r.check(rid, sorted(servers) == sorted(cfg["ntp_servers"]), "chrony servers %s, want %s" % (servers, cfg["ntp_servers"]))
    code, out, _ = run(["systemctl", "is-active", cfg["chrony_service"]])
    r.check(rid, out.strip() == "active", "%s is %s" % (cfg["chrony_service"], out.strip()))

    # MLPS3-MINIMAL / MLPS3-MGMT-ACL: firewall and listening ports
    rid = "MLPS3-MINIMAL"
    code, out, err = run(["nft", "list", "table", "inet", cfg["firewall_table"]])
    r.check(rid, code == 0 and re.search(r"hook input .*policy %s;" % cfg["firewall_input_policy"], out) is not None, "no inet %s input chain with policy %s (%s)" % (cfg["firewall_table"], cfg["firewall_input_policy"], err.strip()))
    r.check("MLPS3-MGMT-ACL", code == 0 and "@management_v" in out and re.search(r"saddr @management_v\d+ tcp dport .*\b%d\b" % cfg["ssh_port"], out) is not None, "firewall does not limit SSH to the management networks")
    code, out, _ = run(["ss", "-Hltnup"])
    ports = cfg["ports"]
    allowed = host_ports(ports["ssh"], ports["roles_table"], ports["roles"], ports["declared"], ports["overlay"])
    undeclared = undeclared_listeners(out, allowed)
    r.check(rid, code == 0, "ss failed: cannot read the listening sockets")
    for socket_text in undeclared:
        r.check(rid, False, "%s listens but is not a declared port" % socket_text)

    # MLPS3-MINIMAL: every setuid/setgid file is on the allow-list (dev-sec os_hardening's suid_sgid)
    if cfg.get("setid") is not None:
        found, incomplete = setid_scan(cfg["setid"]["filesystem_types"], cfg["setid"]["exclude"], cfg["setid"]["timeout"])
        r.check("MLPS3-MINIMAL", incomplete is None, "setuid/setgid scan incomplete: %s" % incomplete)
        unknown = unknown_setid(found, cfg["setid"]["allowed"])
        r.check("MLPS3-MINIMAL", not unknown, "setuid/setgid files not on the allow-list: %s" % ", ".join(unknown))

    # MLPS3-ACCESS-ACCOUNTS: /proc hidepid (a container's manager may refuse it: skipped, not passed)
    if cfg.get("proc_hidepid"):
        if proc_hidepid(read("/proc/self/mounts") or ""):
            r.check("MLPS3-ACCESS-ACCOUNTS", True, "")
        elif container:
            r.skip("MLPS3-ACCESS-ACCOUNTS", "/proc hidepid not applied (container: /proc is the container manager's)")
        else:
            r.fail("MLPS3-ACCESS-ACCOUNTS", "/proc is mounted without hidepid=2: every account sees every process")

    # MLPS3-INTEGRITY
    rid = "MLPS3-INTEGRITY"
    r.check(rid, os.path.exists(cfg["aide_db"]), "AIDE database %s missing" % cfg["aide_db"])
    code, out, _ = run(["systemctl", "is-enabled", "idcpilot-aide-check.timer"])
    r.check(rid, out.strip() == "enabled", "AIDE check timer is %s" % (out.strip() or "missing"))

    # MLPS3-BANNER
    rid = "MLPS3-BANNER"
    for path in ("/etc/issue", "/etc/issue.net"):
        text = read(path) or ""
        r.check(rid, "authori" in text.lower(), "%s carries no legal warning" % path)

    json.dump(r.finish(), sys.stdout, sort_keys=True)


def setid_main(encoded):
    """``--setid-scan BASE64_JSON``: the setuid/setgid files found (roles/baseline tasks/suid.yml)."""
    cfg = json.loads(base64.b64decode(encoded).decode("utf-8"))
    found, incomplete = setid_scan(cfg["filesystem_types"], cfg["exclude"], cfg["timeout"])
    json.dump({"found": found, "incomplete": incomplete}, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--setid-scan":
        setid_main(sys.argv[2])
    else:
        main()
