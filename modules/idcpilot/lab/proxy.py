"""The lab's apt proxy: a per-lab apt-cacher-ng bound to the bridge address.

It forwards only to the machine's own Debian mirrors (``ForceManaged``), published to the
hosts as ``http://GATEWAY:3142/debian`` and ``/debian-security`` — the shape of an air-gapped
IDC's own mirror, which is what ``idcpilot_package_mirror`` points roles at.
"""

from __future__ import annotations

import socket
import time

from idcpilot.lab import procs
from idcpilot.lab.errors import LabError
from idcpilot.lab.layout import PROXY_PORT, LabPlan
from idcpilot.lab.mirror import Mirrors
from idcpilot.lab.system import which

MARKER = "apt-cacher-ng"


def config(plan: LabPlan, mirrors: Mirrors) -> str:
    d = plan.layout.proxy_dir
    lines = [
        f"CacheDir: {plan.layout.proxy_cache}",
        f"LogDir: {d / 'log'}",
        "SupportDir: /usr/lib/apt-cacher-ng",
        f"Port: {PROXY_PORT}",
        f"BindAddress: {plan.gateway}",
        f"SocketPath: {d / 'socket'}",
        f"PidFile: {d / 'acng.pid'}",
        "ForeGround: 1",
        "ForceManaged: 1",
        "ExThreshold: 4",
        f"Remap-idcdebian: /debian ; {mirrors.debian}",
    ]
    if mirrors.security:
        lines.append(f"Remap-idcsecurity: /debian-security ; {mirrors.security}")
    return "\n".join(lines) + "\n"


def pidfile(plan: LabPlan):
    return plan.layout.proxy_dir / "proxy.pid"


def running(plan: LabPlan) -> int | None:
    return procs.running(pidfile(plan), MARKER)


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
    (d / "conf").mkdir(parents=True, exist_ok=True)
    (d / "log").mkdir(parents=True, exist_ok=True)
    plan.layout.proxy_cache.mkdir(parents=True, exist_ok=True)
    (d / "conf" / "acng.conf").write_text(config(plan, mirrors))
    binary = which("apt-cacher-ng")
    if binary is None:
        raise LabError("apt-cacher-ng is not installed (scripts/host-packages.txt)")
    procs.spawn([binary, "-c", str(d / "conf")], pidfile(plan), d / "proxy.log")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _listening(plan.gateway, PROXY_PORT):
            return
        if not running(plan):
            break
        time.sleep(0.2)
    tail = (d / "proxy.log").read_text(errors="replace")[-1500:] if (d / "proxy.log").exists() else ""
    raise LabError(f"apt proxy did not start on {plan.gateway}:{PROXY_PORT}: {tail.strip()}")


def down(plan: LabPlan) -> None:
    pid = running(plan)
    if pid:
        procs.stop(pid, MARKER, timeout=10)
