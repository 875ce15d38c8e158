"""Separation of duties in roles/baseline, statically (MLPS3-ACCESS-ROLES).

The sudoers drop-in is rendered by Ansible's templating engine from the role's own defaults and
per-family vars, then read back: administrators hold exact commands (never ALL, never a
deny-list), and the file passes `visudo -c` where visudo exists. Hostile estate values for the
names and lists the rules are built from are refused or escaped. The preflight assertion that
guards the administrators' units and files is evaluated as the role ships it. The zero-trust
gateway's audit group is the baseline's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))

from ansible.errors import AnsibleError  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import filter_loader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402

filter_loader.add_directory(str(REPO / "modules" / "idcpilot" / "ansible_plugins" / "filter"))

BASELINE = REPO / "roles" / "baseline"
VISUDO = shutil.which("visudo") or ("/usr/sbin/visudo" if Path("/usr/sbin/visudo").exists() else None)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _vars_file(path: Path) -> dict[str, Any]:
    """A role's vars file as Ansible loads it (its Jinja expressions trusted, as the role's own)."""
    return DataLoader().load_from_file(str(path), trusted_as_template=True)


def role_vars(family: str, **overrides: Any) -> dict[str, Any]:
    """What a host of ``family`` gets: defaults, then the family's vars, then vars/main.yml."""
    out: dict[str, Any] = {"ansible_managed": "test", "os_family_name": family}
    out.update(_vars_file(BASELINE / "defaults" / "main.yml"))
    out.update(_vars_file(BASELINE / "vars" / f"{family}.yml"))
    out.update(_vars_file(BASELINE / "vars" / "main.yml"))
    out.update(overrides)
    return out


def render(template: str, variables: dict[str, Any]) -> str:
    templar = Templar(loader=DataLoader(), variables=variables)
    return str(templar.template(trust_as_template((BASELINE / "templates" / template).read_text())))


def sudoers(family: str = "Debian", **overrides: Any) -> str:
    return render("sudoers.j2", role_vars(family, **overrides))


def split_commands(text: str) -> list[str]:
    """A sudoers command list split at unescaped commas, tags (EXEC: NOEXEC:) removed."""
    parts = re.split(r"(?<!\\),", text)
    return [re.sub(r"^(?:(?:NO)?EXEC:\s*|(?:NO)?PASSWD:\s*)+", "", p.strip()) for p in parts]


def rules(text: str) -> dict[str, list[str]]:
    """user or %group -> its commands, Cmnd_Alias names expanded."""
    aliases: dict[str, list[str]] = {}
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("Defaults"):
            continue
        m = re.match(r"^Cmnd_Alias\s+([A-Z0-9_]+)\s*=\s*(.*)$", line)
        if m:
            aliases[m.group(1)] = split_commands(m.group(2))
            continue
        m = re.match(r"^(\S+)\s+ALL=\(([^)]*)\)\s*(.*)$", line)
        assert m, f"a sudoers line this test does not understand: {line!r}"
        commands = []
        for c in split_commands(m.group(3)):
            commands.extend(aliases.get(c, [c]))
        out[m.group(1)] = commands
    return out


def visudo(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    f = tmp_path / "sudoers"
    f.write_text(text)
    f.chmod(0o440)
    return subprocess.run([VISUDO, "-c", "-f", str(f)], capture_output=True, text=True, timeout=30)


WITH_DUTIES = {"baseline_admin_services": ["nginx", "node-exporter.service"],
               "baseline_admin_editable_files": ["/etc/nginx/conf.d/site.conf", "/etc/hosts"]}


# ---------------------------------------------------------------------------- administrators


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
@pytest.mark.parametrize("duties", [{}, WITH_DUTIES], ids=["defaults", "services-and-files"])
def test_administrators_hold_exact_commands_never_all(family: str, duties: dict) -> None:
    text = sudoers(family, **duties)
    got = rules(text)
    admin = got["%admins"]
    assert admin, "administrators have no command at all"
    for command in admin:
        assert command != "ALL" and not command.startswith("!"), command
        assert not re.search(r"(?<!\\)[*?\[]", command), f"a wildcard widens {command!r}"
        assert command.startswith(("/usr/bin/", "sudoedit /")), command
        assert not re.search(r"audit|/bin/(ba|da|z)?sh\b|/bin/su\b|visudo|/etc/sudoers", command), command
    # the only ALL left is the automation account's
    assert [who for who, commands in got.items() if "ALL" in commands] == ["idcops"]
    for group in ("%auditors", "%security-officers"):
        assert all(c != "ALL" and not c.startswith("!") for c in got[group]), got[group]
    assert got["%auditors"] == ["/usr/local/sbin/idc-audit-read"]


def test_services_run_noexec_and_edits_are_sudoedit() -> None:
    text = sudoers("Debian", **WITH_DUTIES)
    admin_line = next(line for line in text.splitlines() if line.startswith("%admins"))
    noexec = admin_line.split("NOEXEC:", 1)[1]
    assert "IDC_ADMIN_SERVICES" in noexec and "IDC_ADMIN_POWER" in noexec
    assert "IDC_ADMIN_EDIT" not in noexec.split("EXEC:")[0] or "IDC_ADMIN_EDIT" in admin_line.split("NOEXEC:")[0]
    commands = rules(text)["%admins"]
    assert "/usr/bin/systemctl restart nginx" in commands and "/usr/bin/systemctl reload node-exporter.service" in commands
    assert "sudoedit /etc/hosts" in commands
    assert not any(c.startswith("/usr/bin/systemctl") and c.split()[1] not in ("start", "stop", "restart", "reload", "reboot")
                   for c in commands)


@pytest.mark.skipif(VISUDO is None, reason="visudo is not installed on this machine")
@pytest.mark.parametrize("family", ["Debian", "RedHat"])
@pytest.mark.parametrize("duties", [{}, WITH_DUTIES, {"baseline_admin_reboot": False, "baseline_admin_package_commands": []}],
                         ids=["defaults", "services-and-files", "no-admin-commands"])
def test_rendered_sudoers_passes_visudo(family: str, duties: dict, tmp_path: Path) -> None:
    proc = visudo(sudoers(family, **duties), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_admin_commands_leaves_no_admin_rule() -> None:
    text = sudoers("Debian", baseline_admin_reboot=False, baseline_admin_package_commands=[])
    assert "%admins" not in rules(text)


# ---------------------------------------------------------------------------- hostile estate values

HOSTILE_NAMES = ["admins\nidcops ALL=(ALL) NOPASSWD: ALL", "admins,carol", "ALL", "ADMINS", "!root", "admins ALL",
                 "{{ lookup('pipe', 'id') }}", "admins#", "a" * 40, "%admins", "adm:ins"]


@pytest.mark.parametrize("variable", ["baseline_admin_group", "baseline_auditor_group", "baseline_security_officer_group",
                                      "baseline_automation_account"])
@pytest.mark.parametrize("value", HOSTILE_NAMES, ids=[repr(v)[:30] for v in HOSTILE_NAMES])
def test_hostile_group_and_user_names_are_refused(variable: str, value: str) -> None:
    sudoers("Debian")  # the benign rendering works, so the refusal below is the hostile value's
    with pytest.raises(AnsibleError, match="sudoers: refusing"):
        sudoers("Debian", **{variable: value})


HOSTILE_UNITS = ["nginx auditd", "nginx\nauditd", "*", "nginx*", "ngin[x]", "ALL", "nginx, /bin/sh", "nginx#",
                 "{{ 7 * 7 }}", "nginx; /bin/sh"]


@pytest.mark.parametrize("unit", HOSTILE_UNITS, ids=[repr(v)[:30] for v in HOSTILE_UNITS])
def test_hostile_units_are_refused_or_stay_one_argument(unit: str, tmp_path: Path) -> None:
    try:
        text = sudoers("Debian", baseline_admin_services=[unit])
    except AnsibleError:
        return
    services = [c for c in rules(text)["%admins"] if c.startswith("/usr/bin/systemctl ") and "reboot" not in c]
    assert len(services) == 4, services  # start, stop, restart, reload of one unit: nothing more
    assert all(len(re.split(r"(?<!\\) ", c)) == 3 for c in services), services
    if VISUDO:
        assert visudo(text, tmp_path).returncode == 0


HOSTILE_FILES = ["/etc/hosts /etc/shadow", "/etc/hosts, /etc/shadow", "/etc/*", "/etc/host?", "etc/hosts",
                 "/etc/hosts\n%admins ALL=(ALL) ALL", "{{ 7 * 7 }}", "ALL"]


@pytest.mark.parametrize("path", HOSTILE_FILES, ids=[repr(v)[:30] for v in HOSTILE_FILES])
def test_hostile_editable_files_are_refused_or_stay_one_file(path: str) -> None:
    try:
        text = sudoers("Debian", baseline_admin_editable_files=[path])
    except AnsibleError:
        return
    edits = [c for c in rules(text)["%admins"] if c.startswith("sudoedit")]
    assert len(edits) == 1 and len(re.split(r"(?<!\\) ", edits[0])) == 2, edits


# ---------------------------------------------------------------------------- preflight guard


def preflight_guard() -> list[str]:
    tasks = _yaml(BASELINE / "tasks" / "preflight.yml")
    task = next(t for t in tasks if t["name"].startswith("Separation-of-duties inputs"))
    return task["ansible.builtin.assert"]["that"]


def guard_holds(services: list[str], files: list[str]) -> bool:
    variables = role_vars("Debian", baseline_admin_services=services, baseline_admin_editable_files=files)
    templar = Templar(loader=DataLoader(), variables=variables)
    return all(templar.evaluate_conditional(trust_as_template(c)) for c in preflight_guard())


@pytest.mark.parametrize(("services", "files"), [
    ([], []), (["nginx", "node-exporter.service", "kubelet"], []), ([], ["/etc/hosts", "/etc/nginx/conf.d/site.conf"]),
])
def test_preflight_accepts_plain_units_and_files(services: list[str], files: list[str]) -> None:
    assert guard_holds(services, files)


@pytest.mark.parametrize(("services", "files"), [
    (["auditd"], []), (["auditd.service"], []), (["rsyslog"], []), (["systemd-journald"], []), (["sshd"], []),
    (["nginx auditd"], []), (["*"], []), (["-nginx"], []), (["../auditd"], []),
    ([], ["/etc/audit/rules.d/50-idcpilot.rules"]), ([], ["/etc/audit"]), ([], ["/var/log/audit/audit.log"]),
    ([], ["/etc/sudoers"]), ([], ["/etc/sudoers.d/10-idcpilot"]), ([], ["/etc/nginx/../audit/auditd.conf"]),
    ([], ["/etc/systemd/system/x.service"]), ([], ["/etc/pam.d/sudo"]), ([], ["/usr/local/sbin/idc-audit-read"]),
    ([], ["/etc/rsyslog.d/65-idcpilot-audit-records.conf"]), ([], ["/etc/hosts /etc/shadow"]), ([], ["/etc/*"]),
    ([], ["etc/hosts"]), ([], ["/etc/./audit/auditd.conf"]), ([], ["/etc/ld.so.preload"]),
])
def test_preflight_refuses_the_audit_chain_and_odd_names(services: list[str], files: list[str]) -> None:
    assert not guard_holds(services, files)


# ---------------------------------------------------------------------------- audit records, groups


def test_audit_records_stop_after_forwarding_before_local_files() -> None:
    text = render("rsyslog-audit-records.conf.j2", role_vars("Debian"))
    statement = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert statement[-1] == 'if $syslogfacility-text == "local6" or $syslogfacility-text == "local5" then stop'
    assert all(s.startswith(("module(", "input(")) for s in statement[:-1]), statement
    tasks = {t["name"]: t for t in _yaml(BASELINE / "tasks" / "duties.yml")}
    dest = next(t["ansible.builtin.template"]["dest"] for t in tasks.values()
                if t.get("ansible.builtin.template", {}).get("src") == "rsyslog-audit-records.conf.j2")
    forward = next(t["ansible.builtin.template"]["dest"] for t in _yaml(BASELINE / "tasks" / "logging.yml")
                   if t.get("ansible.builtin.template", {}).get("src") == "rsyslog-forward.conf.j2")
    assert Path(forward).parent == Path(dest).parent and Path(forward).name < Path(dest).name, (forward, dest)


def test_the_auditd_and_gateway_facilities_are_the_stopped_ones() -> None:
    defaults = _yaml(BASELINE / "defaults" / "main.yml")
    text = render("rsyslog-audit-records.conf.j2", role_vars("Debian"))
    auditd = re.search(r'input\(type="imfile" file="/var/log/audit/audit.log" .*facility="(local[0-7])"', text).group(1)
    zt = _yaml(REPO / "roles" / "zt_gateway" / "defaults" / "main.yml")["zt_gateway_audit_syslog_facility"]
    assert {auditd, zt} <= set(defaults["baseline_audit_syslog_facilities"])


def test_auditd_records_bypass_syslog3_and_the_journal() -> None:
    """audisp-syslog would write every record to /dev/log, which is journald's: it is switched off,
    and rsyslog reads the audit log file instead (Debian, where the forwarding was audisp's)."""
    logging = _yaml(BASELINE / "tasks" / "logging.yml")
    plugin = next(t for t in logging if t.get("ansible.builtin.copy", {}).get("dest") == "/etc/audit/plugins.d/syslog.conf")
    assert re.search(r"^active = no$", plugin["ansible.builtin.copy"]["content"], re.M)
    assert "imfile" not in render("rsyslog-audit-records.conf.j2", role_vars("RedHat"))
    assert "imfile" not in render("rsyslog-audit-records.conf.j2", role_vars("Debian", baseline_log_forward_enabled=False))


def test_the_gateway_audit_group_is_the_baselines() -> None:
    default = _vars_file(REPO / "roles" / "zt_gateway" / "defaults" / "main.yml")["zt_gateway_audit_log_group"]
    baseline_default = _yaml(BASELINE / "defaults" / "main.yml")["baseline_auditor_group"]
    templar = Templar(loader=DataLoader(), variables={})
    assert templar.template(trust_as_template(default)) == baseline_default
    templar = Templar(loader=DataLoader(), variables={"baseline_auditor_group": "audit-team"})
    assert templar.template(trust_as_template(default)) == "audit-team"
    for path in list(REPO.glob("roles/*/defaults/main.yml")) + list(REPO.glob("roles/*/meta/argument_specs.yml")):
        assert "idc-auditors" not in path.read_text(), path


def test_audit_configuration_is_root_written_and_auditor_read() -> None:
    """Every file and directory the role writes under /etc/audit is root-owned, group auditors (or
    root), and writable by root only."""
    found = 0
    for name in ("auditd.yml", "logging.yml", "duties.yml"):
        for task in _yaml(BASELINE / "tasks" / name):
            for module in ("ansible.builtin.copy", "ansible.builtin.template", "ansible.builtin.file"):
                args = task.get(module)
                if not isinstance(args, dict):
                    continue
                paths = [args.get("dest") or args.get("path")]
                if paths == ["{{ item }}"]:
                    paths = task["loop"]
                for path in paths:
                    if not str(path).startswith(("/etc/audit", "/var/log/audit")):
                        continue
                    found += 1
                    if args.get("recurse"):  # the sweep over what the role did not write
                        assert args["mode"] == "g-w,o-rwx" and "owner" not in args, (name, path, args)
                        continue
                    assert args["owner"] == "root", (name, path)
                    assert args["group"] in ("root", "{{ baseline_auditor_group }}"), (name, path)
                    assert not int(args["mode"], 8) & 0o027, (name, path, args["mode"])
    assert found >= 8


@pytest.mark.skipif(shutil.which("rsyslogd") is None and not Path("/usr/sbin/rsyslogd").exists(),
                    reason="rsyslogd is not installed on this machine")
@pytest.mark.parametrize("family", ["Debian", "RedHat"])
def test_the_roles_rsyslog_validate_accepts_the_rendering_and_refuses_a_broken_one(family: str, tmp_path: Path) -> None:
    """The task's validate command as Ansible runs it (``validate % path``, split, no shell)."""
    import shlex

    task = next(t for t in _yaml(BASELINE / "tasks" / "duties.yml")
                if t.get("ansible.builtin.template", {}).get("src") == "rsyslog-audit-records.conf.j2")
    validate = task["ansible.builtin.template"]["validate"]
    env = {**os.environ, "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin"}
    good = tmp_path / "good.conf"
    good.write_text(render("rsyslog-audit-records.conf.j2", role_vars(family)))
    bad = tmp_path / "bad.conf"
    bad.write_text(good.read_text().replace("then stop", "then stopp"))
    for path, rc in ((good, 0), (bad, 1), (tmp_path / "missing.conf", 1)):
        proc = subprocess.run(shlex.split(validate % path), capture_output=True, text=True, env=env, timeout=60)
        assert (proc.returncode == 0) == (rc == 0), (path.name, proc.returncode, proc.stderr[-400:])
