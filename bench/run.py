#!/usr/bin/env python3
"""Run the benchmarks one after another (what `make bench` runs).

    .venv/bin/python bench/run.py [--lab] [--only NAME ...] [--list]

Without options: the benchmarks that need no lab (catalogue, policy, plan), each in its own
process, its figures printed as it goes. ``--lab`` adds the ones that boot lab hosts (lab,
sdwan, hardening: root and systemd-nspawn; each brings up what it needs and takes it down).
``edge`` needs a lab with the CDN and gateway roles already deployed, so it runs only when
named (``--only edge``). Exits non-zero if any benchmark did, after running the rest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    needs: str  # "" (nothing), "lab" (root + systemd-nspawn), "deployed" (a lab with the edge roles)
    about: str


BENCHES = (
    Bench("catalogue", "bench_catalogue.py", "", "validate + IPAM of 10,000 hosts vs PyYAML's C loader"),
    Bench("policy", "bench_policy.py", "", "the gate on 10,000 hosts; K8S rules vs checkov (installs checkov in its own venv)"),
    Bench("plan", "bench_plan.py", "", "idcpilot plan vs the real engine's pulumi preview of the same stacks (needs make bundle)"),
    Bench("bundle", "bench_bundle.py", "", "idcpilot bundle build: warm (GOCACHE as it is) and cached; cold with --cold"),
    Bench("k8s", "bench_k8s.py", "", "etcd write latency, 3 members over TLS vs 1 (real etcd from the offline bundle)"),
    Bench("lab", "bench_lab.py", "lab", "lab up/down, deploy and verify on nspawn hosts"),
    Bench("sdwan", "bench_sdwan.py", "lab", "tunnel RTT vs bridge, BGP convergence after a cut"),
    Bench("k8s-up", "bench_k8s_up.py", "lab", "control-plane up time (first deploy, after a power cut) vs re-deploy and boot"),
    Bench("hardening", "bench_hardening.py", "lab", "Lynis and ssh-audit before/after the baseline role"),
    Bench("edge", "bench_edge.py", "deployed", "requests/s through the CDN node and the gateway vs plain nginx"),
)


def chosen(only: list[str] | None, lab: bool) -> list[Bench]:
    if only:
        known = {b.name: b for b in BENCHES}
        unknown = [n for n in only if n not in known]
        if unknown:
            raise ValueError(f"no benchmark {', '.join(unknown)} (known: {', '.join(known)})")
        return [known[n] for n in only]
    return [b for b in BENCHES if b.needs == "" or (lab and b.needs == "lab")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lab", action="store_true", help="also the benchmarks that boot lab hosts (root, systemd-nspawn)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="just these benchmarks, in this order")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args()
    if args.list:
        for b in BENCHES:
            print(f"{b.name:10} {b.needs or '-':9} {b.about}")
        return 0
    try:
        todo = chosen(args.only, args.lab)
    except ValueError as exc:
        ap.error(str(exc))  # exit 2
    if any(b.needs for b in todo) and os.geteuid() != 0:
        ap.error("the lab benchmarks need root (systemd-nspawn)")
    results = []
    for b in todo:
        print(f"\n=== {b.name}: {b.about}", flush=True)
        start = time.monotonic()
        rc = subprocess.call([sys.executable, str(HERE / b.script)], cwd=HERE.parent)
        results.append((b.name, rc, time.monotonic() - start))
    print("\n=== summary")
    for name, rc, seconds in results:
        print(f"{name:10} {'ok' if rc == 0 else f'exit {rc}':8} {seconds:7.0f} s")
    if not args.only and not args.lab:
        print("(lab benchmarks not run: --lab; edge needs a deployed lab: --only edge)")
    return max((rc != 0 for _, rc, _ in results), default=0)


if __name__ == "__main__":
    sys.exit(main())
