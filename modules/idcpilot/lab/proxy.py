"""The lab's apt proxy (``idcpilot.lab.aptproxy``), one per lab, bound to the bridge address.

It forwards only to the machine's own Debian mirrors, published to the hosts as
``http://GATEWAY:3142/debian`` and ``/debian-security`` — the shape of an air-gapped IDC's own
mirror, which is what ``idcpilot_package_mirror`` points roles at.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from idcpilot.lab import procs
from idcpilot.lab.errors import LabError
from idcpilot.lab.layout import PROXY_PORT, LabPlan
from idcpilot.lab.mirror import Mirrors

MARKER = "idcpilot.lab.aptproxy"


def command(plan: LabPlan, mirrors: Mirrors) -> list[str]:
    cmd = [sys.executable, "-m", MARKER, "--bind", plan.gateway, "--port", str(PROXY_PORT),
           "--cache", str(plan.layout.proxy_cache), "--remap", f"/debian={mirrors.debian}"]
    if mirrors.security:
        cmd += ["--remap", f"/debian-security={mirrors.security}"]
    return cmd


def pidfile(plan: LabPlan) -> Path:
    return plan.layout.proxy_dir / "proxy.pid"


def running(plan: LabPlan) -> int | None:
    pid = procs.running(pidfile(plan), MARKER)
    return pid if pid is not None and plan.gateway in procs.cmdline(pid) else None


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def up(plan: LabPlan, mirrors: Mirrors) -> None:
    if running(plan) and _listening(plan.gateway, PROXY_PORT):
        return
    d = plan.layout.proxy_dir
    d.mkdir(parents=True, exist_ok=True)
    plan.layout.proxy_cache.mkdir(parents=True, exist_ok=True)
    procs.spawn(command(plan, mirrors), pidfile(plan), d / "proxy.log")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _listening(plan.gateway, PROXY_PORT):
            return
        if not running(plan):
            break
        time.sleep(0.1)
    tail = (d / "proxy.log").read_text(errors="replace")[-1500:] if (d / "proxy.log").exists() else ""
    raise LabError(f"apt proxy did not start on {plan.gateway}:{PROXY_PORT}: {tail.strip()}")


def down(plan: LabPlan) -> None:
    pid = running(plan)
    if pid:
        procs.stop(pid, MARKER, timeout=10)
    # Labs started by an earlier version ran apt-cacher-ng with a config dir in proxy_dir.
    legacy = str(plan.layout.proxy_dir / "conf")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and legacy in procs.cmdline(int(entry.name)):
            procs.stop(int(entry.name), "apt-cacher-ng", timeout=10)
