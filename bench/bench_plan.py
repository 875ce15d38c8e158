"""Benchmark: `idcpilot plan` against what users would otherwise run, `pulumi preview` of the same stacks.

    python bench/bench_plan.py [--repeat 3]

Per stack of the example estate, in the same run, interleaved, best of --repeat:

  plan      `idcpilot plan inventories/example --stack <cluster> --format json` (one process)
  preview   `idcpilot stack preview inventories/example --cluster <cluster> --json --no-policy`:
            the bundle's engine, language host and Kubernetes provider, in a workspace of its own
            (kubeconfig naming a closed loopback port: the provider previews without a cluster)

and checks that both give the same resources (idcpilot.stack.compare: URN, type, parent, inputs,
secrecy). Target: the plan at least 10x faster per stack. The whole estate in one plan process is
shown per stack too (what a pull request's gate runs).
Needs the engine: `make bundle` (or `idcpilot bundle pulumi`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
IDCPILOT = str(Path(sys.executable).with_name("idcpilot"))
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: bench}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""
TARGET = 10.0


def _run(state: Path, *args: str, stdin: str | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run([IDCPILOT, *args], cwd=REPO, input=stdin, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "IDCPILOT_STATE_DIR": str(state)})
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"idcpilot {' '.join(args)} failed ({done.returncode}): {(done.stderr or done.stdout)[-1500:]}")
    return took, done


def engine_anchor(repeat: int) -> bool:
    from idcpilot import catalogue
    from idcpilot.bundle import pulumi_engine
    from idcpilot.stack import compare

    if pulumi_engine.find() is None:
        raise SystemExit("the Pulumi engine is not built: `make bundle` (idcpilot bundle pulumi)")
    env = "inventories/example"
    clusters = list(catalogue.load(REPO / env).clusters)
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        for cluster in clusters:
            _run(state, "stack", "init", env, "--cluster", cluster, "--kubeconfig", "-", stdin=KUBECONFIG)
        whole = []
        plans: dict[str, list[float]] = {c: [] for c in clusters}
        previews: dict[str, list[float]] = {c: [] for c in clusters}
        same: dict[str, int] = {}
        for _ in range(repeat):
            took, _ = _run(state, "plan", env, "--format", "json")
            whole.append(took)
            for cluster in clusters:
                took, plan = _run(state, "plan", env, "--stack", cluster, "--format", "json")
                plans[cluster].append(took)
                took, preview = _run(state, "stack", "preview", env, "--cluster", cluster, "--json", "--no-policy")
                previews[cluster].append(took)
                resources = json.loads(plan.stdout)["stacks"][0]["resources"]
                found = compare.differences(resources, json.loads(preview.stdout))
                if found:
                    ok = False
                    print(f"{cluster}: the plan and the engine disagree:\n  " + "\n  ".join(found[:20]))
                same[cluster] = len(resources) if not found else -1
        print(f"\n{'stack':<16} {'resources':>9} {'same':>5} {'plan (s)':>9} {'preview (s)':>12} {'x faster':>9} {'target':>7}")
        for cluster in clusters:
            p, v = min(plans[cluster]), min(previews[cluster])
            ok = ok and v / p >= TARGET
            print(f"{cluster:<16} {abs(same[cluster]):>9} {'yes' if same[cluster] >= 0 else 'NO':>5} {p:>9.2f} {v:>12.2f} "
                  f"{v / p:>8.1f}x {'ok' if v / p >= TARGET else 'MISSED':>7}")
        per_stack = min(whole) / len(clusters)
        mean_preview = sum(min(v) for v in previews.values()) / len(clusters)
        print(f"{'whole estate':<16} {'':>9} {'':>5} {per_stack:>9.2f} {mean_preview:>12.2f} {mean_preview / per_stack:>8.1f}x "
              f"{'ok' if mean_preview / per_stack >= TARGET else 'MISSED':>7}  (one plan process for the {len(clusters)} stacks, per stack)")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sys.exit(0 if engine_anchor(args.repeat) else 1)


if __name__ == "__main__":
    main()
