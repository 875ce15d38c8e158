"""The auditors' wrapper (roles/baseline/templates/idc-audit-read.j2) refuses what is not reading.

The template is rendered by Ansible's templating engine, as the role installs it, but with the
programs it runs pointed at fakes in a temporary directory (the paths are fixed at install time;
the wrapper reads none from the environment). The fakes record their argv, environment and
standard input, so a test sees exactly what would have run as root — or that nothing ran.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))

from ansible.errors import AnsibleError  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import filter_loader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402

filter_loader.add_directory(str(REPO / "modules" / "idcpilot" / "ansible_plugins" / "filter"))

TEMPLATE = REPO / "roles" / "baseline" / "templates" / "idc-audit-read.j2"

FAKE = """#!/bin/sh
# Records how it was run, then exits 0.
{ printf '%s\\n' "$0"; for a in "$@"; do printf '%s\\n' "$a"; done; } > "{out}/argv"
env > "{out}/env"
cat > "{out}/stdin" 2>/dev/null
"""


def render(variables: dict) -> str:
    base = {"ansible_managed": "test", "baseline_audit_read_python": sys.executable,
            "baseline_audit_read_ausearch": "/usr/sbin/ausearch", "baseline_audit_read_aureport": "/usr/sbin/aureport",
            "baseline_audit_read_journalctl": "/usr/bin/journalctl"}
    templar = Templar(loader=DataLoader(), variables={**base, **variables})
    return str(templar.template(trust_as_template(TEMPLATE.read_text())))


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """The wrapper installed into a temporary directory with fake ausearch/aureport/journalctl."""
    root = tmp_path_factory.mktemp("audit-read")
    paths = {}
    for name in ("ausearch", "aureport", "journalctl"):
        out = root / f"{name}.out"
        out.mkdir()
        fake = root / name
        fake.write_text(FAKE.replace("{out}", str(out)))
        fake.chmod(0o755)
        paths[name] = fake
    wrapper = root / "idc-audit-read"
    wrapper.write_text(render({f"baseline_audit_read_{n}": str(p) for n, p in paths.items()}))
    wrapper.chmod(0o755)
    # A hostile environment: a PATH whose first ausearch is not the configured one, and a
    # PYTHONPATH whose sitecustomize would run first in a non-isolated Python.
    evil = root / "evil"
    evil.mkdir()
    for name in ("ausearch", "aureport", "journalctl"):
        (evil / name).write_text(f"#!/bin/sh\ntouch {root}/evil-ran\n")
        (evil / name).chmod(0o755)
    (evil / "sitecustomize.py").write_text(f"open({str(root / 'evil-site')!r}, 'w').close()\n")
    return {"root": root, "wrapper": wrapper, "evil": evil, **paths}


@pytest.fixture(scope="module")
def module(installed) -> types.ModuleType:
    """The rendered wrapper as a module, for its argument filter."""
    mod = types.ModuleType("idc_audit_read")
    exec(compile(installed["wrapper"].read_text(), str(installed["wrapper"]), "exec"), mod.__dict__)
    return mod


def run(installed: dict[str, Path], *args: str, stdin: str = "secret input\n") -> subprocess.CompletedProcess:
    for name in ("ausearch", "aureport", "journalctl"):
        for f in (installed["root"] / f"{name}.out").iterdir():
            f.unlink()
    env = {"PATH": f"{installed['evil']}:/usr/bin:/bin", "PYTHONPATH": str(installed["evil"]),
           "PYTHONSTARTUP": str(installed["evil"] / "sitecustomize.py"), "LD_PRELOAD": "", "SYSTEMD_PAGER": "sh",
           "PAGER": "sh", "HOME": str(installed["root"])}
    return subprocess.run([str(installed["wrapper"]), *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=30)


def ran(installed: dict[str, Path], name: str) -> list[str] | None:
    argv = installed["root"] / f"{name}.out" / "argv"
    return argv.read_text().splitlines() if argv.exists() else None


# ---------------------------------------------------------------------------- what it allows

ALLOWED = [
    (["search", "-k", "identity", "-ts", "today", "-i"], "ausearch", ["--input-logs", "-k", "identity", "-ts", "today", "-i"]),
    (["search", "-ts", "12/07/2026", "10:00:00", "-te", "now", "--format", "csv"], "ausearch",
     ["--input-logs", "-ts", "12/07/2026", "10:00:00", "-te", "now", "--format", "csv"]),
    (["search", "-ts", "09:30", "-ua", "1001", "-sv", "no", "-x", "/usr/bin/passwd"], "ausearch",
     ["--input-logs", "-ts", "09:30", "-ua", "1001", "-sv", "no", "-x", "/usr/bin/passwd"]),
    (["report", "--summary", "-ts", "this-week", "-i"], "aureport", ["--input-logs", "--summary", "-ts", "this-week", "-i"]),
    (["report", "-au", "--failed"], "aureport", ["--input-logs", "-au", "--failed"]),
    (["journal", "--since", "-1h", "-o", "short-iso", "-n", "200"], "journalctl",
     ["--no-pager", "--since", "-1h", "-o", "short-iso", "-n", "200", "_SYSTEMD_UNIT=auditd.service", "+", "_TRANSPORT=audit"]),
    (["journal", "--since", "2026-12-07 08:00:00", "--until", "now", "-r"], "journalctl",
     ["--no-pager", "--since", "2026-12-07 08:00:00", "--until", "now", "-r", "_SYSTEMD_UNIT=auditd.service", "+",
      "_TRANSPORT=audit"]),
]


@pytest.mark.parametrize(("args", "program", "passed"), ALLOWED, ids=[" ".join(a[0]) for a in ALLOWED])
def test_reading_options_reach_the_configured_program_only(installed, args, program, passed) -> None:
    proc = run(installed, *args)
    assert proc.returncode == 0, proc.stderr
    assert ran(installed, program) == [str(installed[program]), *passed]
    root = installed["root"]
    assert not (root / "evil-ran").exists(), "a program was taken from PATH"
    assert not (root / "evil-site").exists(), "Python read PYTHONPATH/PYTHONSTARTUP: not isolated"
    env = dict(line.split("=", 1) for line in (root / f"{program}.out" / "env").read_text().splitlines() if "=" in line)
    assert env.get("PATH") == "/usr/sbin:/usr/bin:/sbin:/bin"
    assert "PYTHONPATH" not in env and "PAGER" not in env and env.get("SYSTEMD_PAGER") == ""
    assert (root / f"{program}.out" / "stdin").read_text() == "", "the program read the caller's standard input"


# ---------------------------------------------------------------------------- what it refuses

REFUSED = [
    ["search", "--checkpoint", "/var/log/audit/audit.log"],
    ["search", "--checkpoint=/var/log/audit/audit.log"],
    ["search", "-k", "identity", "--checkpoint", "/tmp/x"],
    ["search", "-k", "--checkpoint"],                # an option where a value belongs
    ["search", "--chec", "/tmp/x"],                  # an abbreviation
    ["search", "-if", "/etc/shadow"],
    ["search", "--input", "/etc/shadow"],
    ["report", "-if", "/etc/shadow"],
    ["report", "--input", "/etc/shadow"],
    ["search", "--debug"],
    ["search", "-k", "a b"],
    ["search", "-k", "x\nid"],
    ["search", "-k", "$(id)"],
    ["search", "-k", "`id`"],
    ["search", "-k", ";id"],
    ["search", "-k", "-if"],
    ["search", "-p", "12;id"],
    ["search", "-sv", "maybe"],
    ["search", "-ts", "today", "/etc/shadow"],       # a stray token after a time
    ["search", "-ts", "--checkpoint"],
    ["search", "-k"],                                # a value missing
    ["search", "/etc/shadow"],
    ["search", "--format", "raw; id"],
    ["report", "-k", "identity"],                    # aureport's -k takes no value
    ["journal", "--file", "/etc/shadow"],
    ["journal", "--file=/etc/shadow"],
    ["journal", "-D", "/tmp"],
    ["journal", "--directory", "/tmp"],
    ["journal", "--root", "/"],
    ["journal", "--vacuum-size=1"],
    ["journal", "--rotate"],
    ["journal", "--flush"],
    ["journal", "--setup-keys"],
    ["journal", "-u", "ssh.service"],                # only the audit entries
    ["journal", "_SYSTEMD_UNIT=ssh.service"],
    ["journal", "--since", "--file=/etc/shadow"],
    ["journal", "-o", "export"],
    ["journal", "--pager-end"],
    ["journal", "-f"],
    ["shell"],
    ["../search"],
    ["search", *["-i"] * 65],
]


@pytest.mark.parametrize("args", REFUSED, ids=[repr(a)[:60] for a in REFUSED])
def test_write_and_foreign_options_are_refused_and_nothing_runs(installed, args) -> None:
    proc = run(installed, *args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.startswith("idc-audit-read: "), proc.stderr
    assert all(ran(installed, p) is None for p in ("ausearch", "aureport", "journalctl"))
    assert not (installed["root"] / "evil-ran").exists()


def test_filter_function_agrees(module) -> None:
    """The filter itself, for what argv cannot carry through a process boundary (non-strings)."""
    with pytest.raises(module.Refused):
        module.filter_arguments("search", ["--checkpoint", "x"])
    with pytest.raises(module.Refused):
        module.filter_arguments("search", [None])
    with pytest.raises(module.Refused):
        module.filter_arguments("journal", ["--since", "-1h; id"])
    assert module.filter_arguments("report", ["-x"])[1:] == ["--input-logs", "-x"]


def test_no_option_is_both_refused_and_listed(module) -> None:
    """The options the documentation names as refused are in no allow-list."""
    for table in (module.SEARCH, module.REPORT, module.JOURNAL):
        for option in ("--checkpoint", "-if", "--input", "--debug"):
            assert option not in table, option
    # journalctl's: other journal files or directories, other units, and the writing commands
    # (ausearch's --file searches by file name and aureport's -u is the user report: not these).
    for option in ("--file", "-D", "--directory", "--root", "--image", "-u", "--unit", "-M", "--machine", "--rotate",
                   "--flush", "--sync", "--relinquish-var", "--vacuum-size", "--vacuum-time", "--vacuum-files",
                   "--setup-keys", "--update-catalog", "-f", "--follow", "--pager-end", "-e"):
        assert option not in module.JOURNAL, option


def test_program_paths_come_from_the_role_not_the_environment() -> None:
    source = TEMPLATE.read_text()
    assert "os.environ" not in source and "getenv" not in source and "os.getenvb" not in source
    assert source.splitlines()[0].endswith(" -I"), "Python must run isolated (no PYTHON* variables, no user site)"


def test_hostile_install_paths_are_refused() -> None:
    for bad in ('/usr/sbin/ausearch"; import os #', "/usr/sbin/ausearch\nimport os", "{{ 7 * 7 }}"):
        with pytest.raises(AnsibleError):
            render({"baseline_audit_read_ausearch": bad})


def test_installed_mode_is_what_the_role_sets() -> None:
    """The role installs the wrapper root:root 0755 (writable by root only: sudo runs it as root)."""
    import yaml

    tasks = yaml.safe_load((REPO / "roles" / "baseline" / "tasks" / "duties.yml").read_text())
    task = next(t for t in tasks if t.get("ansible.builtin.template", {}).get("src") == "idc-audit-read.j2")
    args = task["ansible.builtin.template"]
    assert (args["owner"], args["group"], args["mode"]) == ("root", "root", "0755")
    assert not int(args["mode"], 8) & (stat.S_IWGRP | stat.S_IWOTH)
    assert json.dumps(args["dest"]) == json.dumps("{{ baseline_audit_read_command }}")
