#!/usr/bin/env python3
"""SD-WAN bench on real lab hosts: tunnel RTT vs plain bridge RTT, and BGP convergence after a cut.

    .venv/bin/python bench/bench_sdwan.py [ENV_DIR] [--rounds N] [--keep]

ENV_DIR defaults to inventories/lab. Needs root and systemd-nspawn (the lab). Brings the lab up
if it is not running (and down again at the end unless --keep), deploys the overlay, then:
- RTT between the spoke and a hub over the plain lab bridge (management addresses) and through
  the WireGuard tunnel (overlay addresses), same hosts, same run, and their ratio;
- convergence: stop the spoke's tunnel to one hub and time, on the spoke, until the route to
  that hub's loopback uses the other hub's tunnel; start it again and time until the direct
  path is back. Measured in the host with a 20 ms polling loop; each round prints its figures.
All traffic stays between lab hosts on the lab's bridge.
"""

from __future__ import annotations

import argparse
import re
import base64
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "modules")]

from idcpilot.lab import lifecycle  # noqa: E402
from idcpilot.lab.system import unavailable_reason  # noqa: E402
from tests.lab.conftest import Lab, load_lab_plan  # noqa: E402
from tests.sdwan import overlay_lab as ol  # noqa: E402


def rtt(lab: Lab, host: str, args: str) -> float:
    out = lab.ssh(host, f"sudo ping -n -q -c 50 -i 0.02 -W 1 {args}")
    value = ol.rtt_ms(out.stdout)
    if value is None:
        raise SystemExit(f"ping {args} from {host} failed: {out.stdout}{out.stderr}")
    return value


def now_ns(lab: Lab, host: str, action: str = "true") -> int:
    """Run action on host and return the (shared lab) clock in ns just before it."""
    out = lab.ssh(host, f"sudo sh -c 'date +%s%N; {action}'")
    return int(out.stdout.split()[0])


def watch_route(lab: Lab, host: str, src: str, dst: str, want_dev: str, tag: str, timeout_s: int = 60) -> str:
    """Start a poller on host that writes the clock (ns) once dst routes via want_dev; returns its file."""
    log = f"/tmp/bench-sdwan-{tag}.t"
    script = (f"rm -f {log}\nn=0\nwhile ! ip -4 route get {dst} from {src} | grep -q 'dev {want_dev} '; do\n"
              f"  sleep 0.02; n=$((n+1)); [ $n -gt {timeout_s * 50} ] && exit 1\ndone\ndate +%s%N > {log}\n")
    b64 = base64.b64encode(script.encode()).decode()
    lab.ssh(host, f"echo {b64} | base64 -d > /tmp/bench-sdwan-{tag}.sh && (sudo sh /tmp/bench-sdwan-{tag}.sh >/dev/null 2>&1 &)")
    return log


def wait_watch(lab: Lab, host: str, log: str, timeout_s: float = 90) -> int:
    got = ol.wait_for(lambda: lab.ssh(host, f"test -s {log}").returncode == 0, timeout_s, step=0.2)
    if got is None:
        raise SystemExit(f"{host}: route never moved ({log})")
    return int(lab.ssh(host, f"cat {log}").stdout.strip())


def timed_cut(lab: Lab, spoke: str, hub: str, v: dict, cut: dict, other: dict, stop: bool) -> tuple[float, float]:
    """(seconds until the spoke's route moved, seconds until the far hub's route moved)."""
    hub_v = v[hub]
    to_spoke = next(p for p in hub_v["peers"] if p["name"] == spoke)
    via_other = next(p for p in hub_v["peers"] if p["site"] == other["site"])
    src, dst = v[spoke]["loopback"], cut["loopback"]
    want_spoke = other["interface"] if stop else cut["interface"]
    want_hub = via_other["interface"] if stop else to_spoke["interface"]
    w1 = watch_route(lab, spoke, src, dst, want_spoke, "spoke")
    w2 = watch_route(lab, hub, hub_v["loopback"], v[spoke]["loopback"], want_hub, "hub")
    t0 = now_ns(lab, spoke, f"systemctl {'stop' if stop else 'start'} wg-quick@{cut['interface']}.service")
    t_spoke = wait_watch(lab, spoke, w1)
    t_hub = wait_watch(lab, hub, w2)
    return (t_spoke - t0) / 1e9, (t_hub - t0) / 1e9


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("env", nargs="?", default=str(REPO / "inventories" / "lab"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="leave the lab running")
    args = ap.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"bench_sdwan: skipped, lab unavailable: {reason}")
        return 0
    plan = load_lab_plan(Path(args.env))
    was_up = all(s.ssh for s in lifecycle.host_status(plan))
    lifecycle.up(plan)
    lab = Lab(Path(args.env), plan)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sdwan-") as tmp:
            result = ol.deploy(lab.env, Path(tmp))
            if result.rc != 0 or result.failed():
                raise SystemExit(f"overlay deploy failed ({result.status}); artifacts in {result.artifacts}")
        v = ol.overlay_vars(lab)
        spoke = next(h for h, x in v.items() if not x["hub"])
        peers = sorted(v[spoke]["peers"], key=lambda p: p["name"])
        cut, other = peers[0], peers[1]
        mgmt = {h.name: h.address for h in plan.hosts}
        src, dst = v[spoke]["loopback"], cut["loopback"]
        ol.wait_for(lambda: ol.route_dev(lab.ssh, spoke, src, dst) == cut["interface"], 60)

        bridge = rtt(lab, spoke, f"-I {mgmt[spoke]} {mgmt[cut['name']]}")
        tunnel = rtt(lab, spoke, f"-I {cut['interface']} {cut['overlay_address']}")
        print(f"\nSD-WAN bench — estate {plan.estate}, {spoke} <-> {cut['name']} (50 echo requests each)")
        print(f"{'path':<34}{'avg RTT ms':>12}")
        print(f"{'plain lab bridge (management)':<34}{bridge:>12.3f}")
        print(f"{'WireGuard tunnel (' + cut['interface'] + ')':<34}{tunnel:>12.3f}")
        print(f"{'tunnel / bridge':<34}{tunnel / bridge:>11.2f}x")
        print(f"{'one-way over the tunnel (RTT/2)':<34}{tunnel / 2:>12.3f}   budget {cut['latency_budget_ms']} ms")

        bfd = lab.ssh(cut["name"], "sudo vtysh -c 'show bfd peers brief'").stdout
        bfd_up = len(re.findall(r"\s+up\s*$", bfd, re.M))
        detection = (f"BFD up on {bfd_up} session(s): 3 x 300 ms" if bfd_up
                     else "BFD not up (a host firewall drops it): BGP hold time 3 s")
        print(f"\nfailure detection on {cut['name']}: {detection}")
        rows = []
        print(f"\nconvergence: stop {spoke}'s tunnel {cut['interface']} to {cut['name']}; traffic between them must move "
              f"to the path via {other['name']}, on both ends (spoke: local interface gone; hub: detection + BGP withdraw)")
        for i in range(args.rounds):
            s_down, h_down = timed_cut(lab, spoke, cut["name"], v, cut, other, stop=True)
            s_up, h_up = timed_cut(lab, spoke, cut["name"], v, cut, other, stop=False)
            rows.append((s_down, h_down, s_up, h_up))
            print(f"  round {i + 1}: cut -> spoke rerouted {s_down:.3f} s, hub rerouted {h_down:.3f} s; "
                  f"restore -> spoke {s_up:.3f} s, hub {h_up:.3f} s")
        med = [statistics.median(col) for col in zip(*rows)]
        print(f"{'BGP convergence after a cut':<34}{max(med[0], med[1]):>9.3f} s median (both ends rerouted; {detection})")
        print(f"{'back to the direct path':<34}{max(med[2], med[3]):>9.3f} s median")
    finally:
        if not args.keep and not was_up:
            lifecycle.down(plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
