"""Running commands on the machine (the only place the lab shells out)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from idcpilot.lab.errors import LabError

NEEDED = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "zstd": "zstd",
    "nft": "nftables",
    "ip": "iproute2",
    "ssh-keygen": "openssh-client",
    "ssh": "openssh-client",
}


def which(tool: str) -> str | None:
    return shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def missing_tools() -> list[str]:
    """Debian packages the lab needs that are not installed (scripts/host-packages.txt)."""
    return sorted({pkg for tool, pkg in NEEDED.items() if which(tool) is None})


def unavailable_reason() -> str | None:
    """Why the lab cannot run on this machine, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (systemd-nspawn, bridges, overlay mounts)"
    missing = missing_tools()
    if missing:
        return f"missing Debian packages: {' '.join(missing)} (run scripts/install-host-deps.sh as root)"
    return None


def run(cmd: Sequence[str | Path], *, check: bool = True, input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = [str(c) for c in cmd]
    tool = which(args[0]) or args[0]
    proc = subprocess.run([tool, *args[1:]], capture_output=True, text=True, input=input, env=env)
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(args)}` failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc


def ok(cmd: Sequence[str | Path]) -> bool:
    return run(cmd, check=False).returncode == 0


# Every lab host runs systemd and its services, each holding inotify instances of root's
# per-user budget; Debian's default of 128 instances runs out at about half a dozen hosts
# ("Failed to allocate directory watch: Too many open files" in the hosts' journals).
INOTIFY_INSTANCES_PER_HOST = 96
INOTIFY_BASE = 512
INOTIFY_WATCHES = 524288


def inotify_targets(host_count: int) -> dict[str, int]:
    """Kernel inotify limits a machine running host_count lab hosts needs (pure)."""
    return {"fs/inotify/max_user_instances": INOTIFY_BASE + INOTIFY_INSTANCES_PER_HOST * host_count,
            "fs/inotify/max_user_watches": INOTIFY_WATCHES}


def raise_kernel_limits(host_count: int, proc_sys: Path = Path("/proc/sys")) -> list[str]:
    """Raise (never lower) the inotify limits for this many hosts until the next reboot.

    Returns what was changed, as "name: old -> new" lines."""
    changed = []
    for key, want in inotify_targets(host_count).items():
        path = proc_sys / key
        try:
            have = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if have >= want:
            continue
        try:
            path.write_text(f"{want}\n")
        except OSError as exc:
            raise LabError(f"cannot raise {key.replace('/', '.')} from {have} to {want} for {host_count} lab hosts: {exc.strerror}") from None
        changed.append(f"{key.replace('/', '.')}: {have} -> {want}")
    return changed
