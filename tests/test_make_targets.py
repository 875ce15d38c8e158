"""The Makefile's targets and the benchmark runner point at things that exist (both once did not:
`make bench` ran a missing bench/run.py, `make lint` was declared but never defined)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAKEFILE = (REPO / "Makefile").read_text()


def test_every_phony_target_has_a_rule():
    phony = re.search(r"^\.PHONY:(.*)$", MAKEFILE, re.M).group(1).split()
    rules = set(re.findall(r"^([A-Za-z][\w-]*):", MAKEFILE, re.M))
    assert set(phony) <= rules, sorted(set(phony) - rules)


def test_scripts_the_makefile_runs_exist():
    scripts = re.findall(r"\b((?:bench|scripts)/[\w./-]+\.(?:py|sh))", MAKEFILE)
    assert scripts and all((REPO / s).is_file() for s in scripts), scripts


def test_bench_runner_lists_existing_benchmarks_and_refuses_unknown_names():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import run as bench_run
    finally:
        sys.path.remove(str(REPO / "bench"))
    assert all((REPO / "bench" / b.script).is_file() for b in bench_run.BENCHES)
    assert {b.script for b in bench_run.BENCHES} == {p.name for p in (REPO / "bench").glob("bench_*.py")}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--only", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2 and "no benchmark nope" in proc.stderr and "Traceback" not in proc.stderr
