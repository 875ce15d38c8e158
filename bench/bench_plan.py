"""Benchmark: `idcpilot plan` against what users would otherwise run, `pulumi preview` of the same stacks.

    python bench/bench_plan.py [--repeat 3] [--tricks [--clusters 60]]

Per stack of the example estate, in the same run, interleaved, best of --repeat:

  plan      `idcpilot plan inventories/example --stack <cluster> --format json` (one process)
  preview   `idcpilot stack preview inventories/example --cluster <cluster> --json --no-policy`:
            the bundle's engine, language host and Kubernetes provider, in a workspace of its own
            (kubeconfig naming a closed loopback port: the provider previews without a cluster)

and checks that both give the same resources (idcpilot.stack.compare: URN, type, parent, inputs,
secrecy). Target: the plan at least 10x faster per stack. The whole estate in one plan process is
shown per stack too (what a pull request's gate runs).

``--tricks``: the plan runner's speed-ups that reach into the SDK (idcpilot.plan.runner), each
switched off in turn, on bench/synthetic.py's estate of --clusters clusters, in-process CPU of the
plan, best of --repeat, rounds interleaved; the gain of each against the runner with all of them.
A speed-up whose gain is under 15 % does not earn its keep against the engine anchor above.
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
sys.path.insert(0, str(HERE))
IDCPILOT = str(Path(sys.executable).with_name("idcpilot"))
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: bench}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""
TARGET = 10.0
KEEP = 0.15


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


TRICKS = ("thread",)


def _switch_off(name: str) -> None:
    """Switch one of the runner's speed-ups off, in this process."""
    from idcpilot.plan import runner

    if name == "thread":
        runner._on_fresh_thread = lambda func: func()  # the caller's thread, its frames included


def trick_child(mode: str, env: str, clusters: int) -> float:
    import time as _t

    from idcpilot import catalogue, ipam
    from idcpilot.plan import plan_estate

    if mode != "all":
        _switch_off(mode)
    cat = catalogue.load(env)
    alloc = ipam.plan(cat)
    names = list(cat.clusters)[:clusters]
    plan_estate(cat, names[:1], validate=False, alloc=alloc)  # warm, as a second stack is
    start = _t.process_time()
    plan_estate(cat, names, validate=False, alloc=alloc)
    return _t.process_time() - start


def tricks(repeat: int, clusters: int) -> None:
    import synthetic

    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "synthetic"
        synthetic.write(env, sites=max(10, clusters), hosts=20 * max(10, clusters), clusters=clusters)
        subprocess.run([IDCPILOT, "ipam", "apply", str(env)], capture_output=True, check=True)
        times: dict[str, list[float]] = {m: [] for m in ("all", *TRICKS)}
        for _ in range(repeat):
            for mode in times:
                out = subprocess.run([sys.executable, __file__, "--trick-child", mode, str(env), str(clusters)],
                                     capture_output=True, text=True, check=True)
                times[mode].append(float(out.stdout.strip().splitlines()[-1]))
    base = min(times["all"])
    print(f"\nplan runner speed-ups, {clusters} stacks of bench/synthetic.py (CPU s of the plan, best of {repeat})")
    print(f"{'switched off':<14} {'cpu (s)':>8} {'gain of the speed-up':>21} {'keep (>= 15 %)':>15}")
    print(f"{'(none)':<14} {base:>8.2f}")
    for mode in TRICKS:
        t = min(times[mode])
        gain = (t - base) / t
        print(f"{mode:<14} {t:>8.2f} {gain * 100:>20.1f}% {'yes' if gain >= KEEP else 'no':>15}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tricks", action="store_true", help="also weigh the plan runner's speed-ups")
    ap.add_argument("--clusters", type=int, default=60)
    ap.add_argument("--trick-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.trick_child:
        mode, env, clusters = args.trick_child
        print(trick_child(mode, env, int(clusters)))
        return
    ok = engine_anchor(args.repeat)
    if args.tricks:
        tricks(args.repeat, args.clusters)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
