"""`idcpilot verify` runs all of one host's tests in one xdist worker (verify/schedule.py).

Run through real xdist: the grouping it replaced (`--dist loadgroup`) passed every unit test
while pytest 9.2 silently spread one host's tests over all workers.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from idcpilot.verify.schedule import host_of

HOSTS = ["lab-sh-k8s01", "lab-sh-k8s03", "lab-bj-gw01", "lab-gz-cdn01"]

# Ids as testinfra builds them: path::test[ansible://<host>].
SUITE = """
import os, time, pytest

@pytest.fixture(params=HOSTS, ids=[f"ansible://{h}" for h in HOSTS])
def h(request):
    return request.param

def ran(h):
    time.sleep(0.02)
    with open(OUT, "a") as f:
        f.write(h + " " + os.environ["PYTEST_XDIST_WORKER"] + "\\n")

def test_one(h): ran(h)
def test_two(h): ran(h)
def test_three(h): ran(h)
def test_of_no_host(): pass
"""


def test_host_of_reads_the_testinfra_id():
    assert host_of("modules/idcpilot/verify/suites/test_duties.py::test_x[ansible://lab-sh-k8s03]") == "lab-sh-k8s03"
    assert host_of("suites/test_zt.py::test_matrix") is None
    assert host_of("suites/test_a.py::test_x[local://]") is None


def test_each_hosts_tests_run_in_one_worker(tmp_path: Path):
    out = tmp_path / "ran.txt"
    for name in ("a", "b", "c"):
        (tmp_path / f"test_{name}.py").write_text(f"HOSTS = {HOSTS!r}\nOUT = {str(out)!r}\n" + SUITE)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-n", "3",
         "-p", "idcpilot.verify.schedule", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = out.read_text().splitlines()
    workers: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        host, worker = line.split()
        workers[host].add(worker)
    assert len(lines) == 3 * 3 * len(HOSTS)
    assert all(len(w) == 1 for w in workers.values()), dict(workers)
    assert len(set().union(*workers.values())) > 1, "one worker ran everything: nothing was spread"
