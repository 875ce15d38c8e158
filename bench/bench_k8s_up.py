#!/usr/bin/env python3
"""Benchmark: control-plane up time of the lab cluster, on real lab hosts, against baselines
measured in the same run.

    .venv/bin/python bench/bench_k8s_up.py [--env inventories/lab] [--bound 900]

Needs root and systemd-nspawn, and the offline bundle (`idcpilot bundle build`). Boots only the
cluster's control-plane hosts of the lab estate (three: etcd member, kube-apiserver,
controller-manager, scheduler and kube-lb on each) and refuses to run while that lab is up, so it
never disturbs someone's lab. Prints:
- **first up**: `idcpilot deploy` of playbooks/k8s_cluster.yml on hosts that only have the
  bootstrap role, from its start until `/readyz` answers "ok" through the first host's kube-lb;
  baseline: the idempotent re-deploy of the same playbook on the same hosts (the Ansible cost of
  visiting every task with nothing to do), and the ratio of the two;
- **up after a power cut**: every control-plane host powered off and on again, from power-on
  until `/readyz` answers "ok"; baseline: from power-on until the hosts answer SSH, same boot,
  and the difference (the control plane's own start on booted hosts).
Bounded: every wait stops after --bound seconds; the lab goes down at the end, also on errors.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "modules")]

from idcpilot import catalogue, ipam  # noqa: E402
from idcpilot.lab import leftovers, lifecycle, plan_lab  # noqa: E402
from idcpilot.lab.system import unavailable_reason  # noqa: E402
from timing import print_rows  # noqa: E402

BIN = Path(sys.executable).parent
READYZ = "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=5s get --raw /readyz"


def deploy(env: Path, playbook: str, limit: str) -> dict:
    proc = subprocess.run([str(BIN / "idcpilot"), "deploy", "--playbook", playbook, "--limit", limit, "--format", "json", str(env)],
                          capture_output=True, text=True, cwd=REPO, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"deploy {playbook} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def wait(what: str, probe, bound: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds until probe() is true, polled every 0.5 s; exits the bench past the bound."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < bound:
        if probe():
            return time.monotonic() - t0
        time.sleep(0.5)
    raise SystemExit(f"{what}: not within {bound:.0f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env", default=str(REPO / "inventories" / "lab"))
    ap.add_argument("--bound", type=float, default=900.0, help="seconds any one wait may take")
    args = ap.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"bench_k8s_up skipped: {reason}")
        return 0
    env = Path(args.env)
    cat = catalogue.load(env)
    plan = plan_lab(cat, ipam.plan(cat))
    if leftovers(plan):
        raise SystemExit(f"bench_k8s_up: lab {plan.name} is up ({', '.join(leftovers(plan))}); it needs fresh hosts: "
                         f"`idcpilot lab down {env}` first")
    cluster = next(iter(cat.clusters.values()))
    control = [h.name for h in cat.members(cluster.control_plane)]
    first, limit = control[0], ",".join(control)
    rows: list[tuple[str, str]] = []
    try:
        lifecycle.up(plan, only=control)
        deploy(env, "playbooks/bootstrap.yml", limit)  # the package source: not part of the figure

        def ready() -> bool:
            out = lifecycle.host_ssh(plan, first, READYZ, timeout=60)
            return out.returncode == 0 and out.stdout.strip() == "ok"

        t0 = time.monotonic()
        deploy(env, "playbooks/k8s_cluster.yml", limit)
        deployed = time.monotonic() - t0
        up = deployed + wait("readyz after the first deploy", ready, args.bound)
        t0 = time.monotonic()
        again = deploy(env, "playbooks/k8s_cluster.yml", limit)
        rerun = time.monotonic() - t0
        changed = {n: h["changed"] for n, h in again["hosts"].items() if h["changed"]}
        rows += [(f"first up: deploy k8s_cluster.yml on {len(control)} control planes", f"{deployed:7.1f} s"),
                 ("first up: deploy start -> /readyz ok", f"{up:7.1f} s"),
                 ("baseline: idempotent re-deploy, same hosts" + (f" (changed {changed})" if changed else ""), f"{rerun:7.1f} s"),
                 ("first up / idempotent re-deploy", f"{up / rerun:7.2f} x")]

        lifecycle.stop_hosts(plan, control)
        t0 = time.monotonic()
        lifecycle.up(plan, only=control)  # returns once every host answers SSH
        booted = time.monotonic() - t0
        serving = booted + wait("readyz after power-on", ready, args.bound)
        rows += [(f"power cut: power-on -> SSH on all {len(control)} (baseline)", f"{booted:7.1f} s"),
                 ("power cut: power-on -> /readyz ok", f"{serving:7.1f} s"),
                 ("control plane's own start after boot", f"{serving - booted:7.1f} s")]
    finally:
        lifecycle.down(plan)
    left = leftovers(plan)
    rows.append(("left behind after down", ", ".join(left) or "nothing"))
    print_rows(f"bench_k8s_up ({os.cpu_count()} CPUs, Kubernetes v{cluster.kubernetes_version}, cluster {cluster.name})", rows)
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
