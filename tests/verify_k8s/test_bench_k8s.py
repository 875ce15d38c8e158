"""bench/bench_k8s.py: says why it measured nothing rather than printing a figure, and, with a
real etcd (the offline bundle's, or ``$IDCPILOT_ETCD_BIN``), measures both clusters and leaves no
process or directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench" / "bench_k8s.py"


def _run(env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=timeout,
                          env=os.environ | env, cwd=REPO)


def test_without_etcd_it_says_so_and_prints_no_figure(tmp_path):
    out = _run({"IDCPILOT_ETCD_BIN": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "not measured" in out.stdout and "has no executable etcd" in out.stdout
    assert " ms" not in out.stdout and "Traceback" not in out.stderr


def _bench_module():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_k8s
    finally:
        sys.path.remove(str(REPO / "bench"))
    return bench_k8s


def test_percentile_is_nearest_rank():
    bench_k8s = _bench_module()
    values = [float(v) for v in range(1, 101)]
    assert bench_k8s.percentile(values, 99) == 99 and bench_k8s.percentile(values, 50) == 50
    assert bench_k8s.percentile([7.0], 99) == 7.0


@pytest.mark.slow
def test_with_real_etcd_both_clusters_are_measured_and_cleaned_up():
    bench_k8s = _bench_module()
    try:
        etcd = str(bench_k8s.find_etcd())  # the bench's own search: the offline bundle, or $IDCPILOT_ETCD_BIN
    except bench_k8s.Skip as why:
        pytest.skip(str(why))
    before = set(Path("/var/tmp").glob("idcpilot-bench-etcd-*"))
    out = _run({}, "--puts", "30", "--timeout", "90", timeout=150)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 member  (baseline): p50" in out.stdout and "3 members" in out.stdout and "3 / 1" in out.stdout
    assert set(Path("/var/tmp").glob("idcpilot-bench-etcd-*")) == before
    left = subprocess.run(["pgrep", "-f", f"^{etcd} --name m"], capture_output=True, text=True)
    assert left.stdout == "", left.stdout
