"""roles/baseline/files/idcpilot-aide-check: what it makes of AIDE's reports (MLPS3-INTEGRITY).

The program runs on hosts; here it runs against a stand-in `aide` (a script that prints a report
of the shape AIDE 0.16 or 0.18 prints and exits with AIDE's status), its journal entries caught
instead of sent to this machine's journal. The lab check (verify suite test_hardening_devsec.py)
runs it against the real AIDE.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import stat
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "roles" / "baseline" / "files" / "idcpilot-aide-check"

REPORT_018 = """\
Start timestamp: 2026-12-07 04:05:00 +0000 (AIDE 0.18.3)
AIDE found differences between database and filesystem!!

Summary:
  Total number of entries:\t41872
  Added entries:\t\t1
  Removed entries:\t\t0
  Changed entries:\t\t2

---------------------------------------------------
Added entries:
---------------------------------------------------

f++++++++++++++++: /etc/cron.d/evil

---------------------------------------------------
Changed entries:
---------------------------------------------------

f   ...    . C... : /etc/passwd
f   ...    . C... : /usr/bin/sudo

---------------------------------------------------
Detailed information about changes:
---------------------------------------------------

File: /etc/passwd
  SHA512    : abc | def
"""

REPORT_016 = """\
AIDE 0.16 found differences between database and filesystem!!
Start timestamp: 2026-12-07 04:05:00

Summary:
  Total number of files:\t30211
  Added files:\t\t\t0
  Removed files:\t\t1
  Changed files:\t\t1


---------------------------------------------------
Removed files:
---------------------------------------------------

removed: /etc/issue.net

---------------------------------------------------
Changed files:
---------------------------------------------------

changed: /etc/shadow

---------------------------------------------------
Detailed information about changes:
---------------------------------------------------

File: /etc/shadow
 Mtime    : 2026-12-01 | 2026-12-07
"""

CLEAN_018 = """\
Start timestamp: 2026-12-07 04:05:00 +0000 (AIDE 0.18.3)
AIDE found NO differences between database and filesystem. Looks okay!!

Number of entries:\t41872
"""


@pytest.fixture
def program(monkeypatch):
    loader = importlib.machinery.SourceFileLoader("idcpilot_aide_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sent: list[tuple[str, str, str]] = []
    monkeypatch.setattr(module, "journal", lambda ident, prio, lines: sent.extend((ident, prio, l) for l in lines))
    module.sent = sent
    return module


def fake_aide(tmp_path: Path, report: str, status: int, stderr: str = "") -> list[str]:
    (tmp_path / "report").write_text(report)
    (tmp_path / "stderr").write_text(stderr)
    exe = tmp_path / "aide"
    exe.write_text(f"#!/bin/sh\ncat {tmp_path / 'report'}\ncat {tmp_path / 'stderr'} >&2\nexit {status}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return [str(exe), "--check"]


def metrics(path: Path) -> dict[str, float]:
    return {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1]) for l in path.read_text().splitlines() if l and not l.startswith("#")}


def test_script_is_executable_python():
    assert SCRIPT.stat().st_mode & stat.S_IXUSR
    assert SCRIPT.read_text().startswith("#!/usr/bin/python3\n")


@pytest.mark.parametrize("report, status, counts, paths", [
    (REPORT_018, 5, {"added": 1, "removed": 0, "changed": 2}, ["/etc/cron.d/evil", "/etc/passwd", "/usr/bin/sudo"]),
    (REPORT_016, 6, {"added": 0, "removed": 1, "changed": 1}, ["/etc/issue.net", "/etc/shadow"]),
], ids=["aide-0.18", "aide-0.16"])
def test_differences_raise_warnings_and_metrics(program, tmp_path, report, status, counts, paths):
    prom = tmp_path / "idcpilot_aide.prom"
    before = int(__import__("time").time())
    rc = program.main(["--identifier", "idcpilot-aide", "--textfile", str(prom), "--", *fake_aide(tmp_path, report, status)])
    assert rc == 1
    warnings = [line for ident, prio, line in program.sent if prio == "warning"]
    assert all(ident == "idcpilot-aide" for ident, _, _ in program.sent)
    assert warnings[0].startswith(f"AIDE found {sum(counts.values())} difference(s)")
    for path in paths:
        assert any(w.endswith(": " + path) for w in warnings), (path, warnings)
    # the detailed part ("File: /etc/passwd") is not counted again
    assert len(warnings) == 1 + len(paths)
    m = metrics(prom)
    assert m["idcpilot_aide_changed_files"] == sum(counts.values())
    for kind, n in counts.items():
        assert m[f'idcpilot_aide_differences{{kind="{kind}"}}'] == n
    assert m["idcpilot_aide_last_check_timestamp_seconds"] >= before
    assert m["idcpilot_aide_check_success"] == 1
    assert oct(prom.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".idcpilot_aide.")] == []


def test_no_difference_is_zero_and_no_warning(program, tmp_path):
    prom = tmp_path / "idcpilot_aide.prom"
    rc = program.main(["--textfile", str(prom), "--", *fake_aide(tmp_path, CLEAN_018, 0)])
    assert rc == 0
    assert not [l for _, prio, l in program.sent if prio == "warning"]
    assert metrics(prom)["idcpilot_aide_changed_files"] == 0


def test_unreadable_report_with_a_difference_status_still_alerts(program, tmp_path):
    prom = tmp_path / "idcpilot_aide.prom"
    assert program.main(["--textfile", str(prom), "--", *fake_aide(tmp_path, "something else\n", 4)]) == 1
    assert any(prio == "warning" for _, prio, _ in program.sent)
    assert metrics(prom)["idcpilot_aide_changed_files"] == 1


def test_aide_failure_keeps_the_last_check_and_says_so(program, tmp_path):
    prom = tmp_path / "idcpilot_aide.prom"
    assert program.main(["--textfile", str(prom), "--", *fake_aide(tmp_path, REPORT_018, 5)]) == 1
    last = metrics(prom)
    program.sent.clear()
    assert program.main(["--textfile", str(prom), "--", *fake_aide(tmp_path, "", 17, "Configuration error")]) == 2
    errors = [l for _, prio, l in program.sent if prio == "err"]
    assert errors and "exit 17" in errors[0] and "Configuration error" in errors[0]
    now = metrics(prom)
    assert now["idcpilot_aide_check_success"] == 0
    assert now["idcpilot_aide_changed_files"] == last["idcpilot_aide_changed_files"] == 3
    assert now["idcpilot_aide_last_check_timestamp_seconds"] == last["idcpilot_aide_last_check_timestamp_seconds"]


def test_a_missing_aide_is_a_failure_not_a_clean_check(program, tmp_path):
    prom = tmp_path / "idcpilot_aide.prom"
    assert program.main(["--textfile", str(prom), "--", str(tmp_path / "no-such-aide"), "--check"]) == 2
    assert metrics(prom) == {"idcpilot_aide_check_success": 0}


def test_many_entries_are_capped_in_warnings(program, tmp_path):
    lines = "\n".join(f"f++++++++++++++++: /srv/f{i}" for i in range(500))
    report = (f"Summary:\n  Added entries:\t500\n  Removed entries:\t0\n  Changed entries:\t0\n\n"
              f"---------------------------------------------------\nAdded entries:\n"
              f"---------------------------------------------------\n\n{lines}\n")
    assert program.main(["--", *fake_aide(tmp_path, report, 1)]) == 1
    warnings = [l for _, prio, l in program.sent if prio == "warning"]
    assert len(warnings) == 1 + program.MAX_ENTRIES + 1 and "300 more entries" in warnings[-1]


def test_main_is_run_as_a_program():
    out = __import__("subprocess").run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "AIDE" in out.stdout


def test_script_runs_on_the_oldest_host_python():
    """RHEL 8 family hosts run it with Python 3.6: its grammar, no annotations that 3.6 would
    evaluate (list[str]), no 3.7 keywords of subprocess.run (capture_output, text)."""
    import ast

    source = SCRIPT.read_text()
    tree = ast.parse(source, feature_version=(3, 6))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.returns is None and all(a.annotation is None for a in node.args.args), node.name
        if isinstance(node, ast.AnnAssign):
            raise AssertionError(f"annotated assignment at line {node.lineno}")
        if isinstance(node, ast.keyword):
            assert node.arg not in ("capture_output", "text"), f"subprocess keyword {node.arg} needs Python 3.7"
    assert "from __future__ import annotations" not in source
