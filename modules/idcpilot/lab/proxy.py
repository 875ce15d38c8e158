"""The lab's apt proxy (``idcpilot.lab.aptproxy``), one per lab, bound to the bridge address.

It forwards only to the machine's own Debian mirrors, published to the hosts as
``http://GATEWAY:3142/debian`` and ``/debian-security`` — the shape of an air-gapped IDC's own
mirror, which is what ``idcpilot_package_mirror`` points roles at. Started and stopped like the
lab's other services (``idcpilot.lab.services``).
"""

from __future__ import annotations

from pathlib import Path

from idcpilot.lab import procs, services
from idcpilot.lab.layout import PROXY_PORT, LabPlan
from idcpilot.lab.mirror import Mirrors

MARKER = "idcpilot.lab.aptproxy"


def service(plan: LabPlan, mirrors: Mirrors | None = None) -> services.Service:
    """The proxy as a lab service (MIRRORS give its upstreams; without them: to find or stop it)."""
    args: tuple[str, ...] = ()
    if mirrors is not None:
        args = ("--cache", str(plan.layout.proxy_cache), "--remap", f"/debian={mirrors.debian}")
        if mirrors.security:
            args += ("--remap", f"/debian-security={mirrors.security}")
    return services.Service("apt-proxy", "apt proxy", MARKER, PROXY_PORT, "tcp", args, stem="proxy")


def command(plan: LabPlan, mirrors: Mirrors) -> list[str]:
    return service(plan, mirrors).command(plan)


def running(plan: LabPlan) -> int | None:
    return services.running(plan, service(plan))


def up(plan: LabPlan, mirrors: Mirrors) -> None:
    plan.layout.proxy_cache.mkdir(parents=True, exist_ok=True)
    services.start(plan, service(plan, mirrors))


def down(plan: LabPlan) -> None:
    services.stop(plan, service(plan))
    # Labs started by an earlier version ran apt-cacher-ng with a config dir in proxy_dir.
    legacy = str(plan.layout.proxy_dir / "conf")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and legacy in procs.cmdline(int(entry.name)):
            procs.stop(int(entry.name), "apt-cacher-ng", timeout=10)
