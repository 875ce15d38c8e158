"""The shared base root filesystem: debootstrapped once, cached as a zstd tarball.

Hosts never write to it: each gets an overlayfs upper dir on top (see ``hosts.py``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from idcpilot.lab.errors import LabError
from idcpilot.lab.layout import LabLayout
from idcpilot.lab.mirror import Mirrors
from idcpilot.lab.system import run

SUITE = "bookworm"
# What a kickstarted bare-metal host has before any role runs.
INCLUDE = (
    "systemd", "systemd-sysv", "openssh-server", "python3", "python3-apt", "sudo", "iproute2",
    "iputils-ping", "dbus", "ca-certificates",
)
BASE_REVISION = "3"  # bump when customize() changes
COMPLETE = ".idcpilot-base-complete"

HOSTKEYS_UNIT = """\
[Unit]
Description=Generate this host's SSH host keys at first boot (idcpilot lab)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
"""

Log = Callable[[str], None]


def base_key() -> str:
    return hashlib.sha256(f"{SUITE}|{','.join(INCLUDE)}|{BASE_REVISION}".encode()).hexdigest()[:12]


def tarball(layout: LabLayout) -> Path:
    return layout.base_cache / f"base-{SUITE}-{base_key()}.tar.zst"


def base_dir(layout: LabLayout) -> Path:
    return layout.base_root / base_key()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def customize(root: Path) -> None:
    """Make the debootstrapped tree a template: no identity, networkd on, host keys at first boot."""
    (root / "etc/machine-id").write_text("")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.is_file() and not dbus_id.is_symlink():
        dbus_id.unlink()
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    unit = root / "etc/systemd/system/idcpilot-hostkeys.service"
    unit.write_text(HOSTKEYS_UNIT)
    run(["systemctl", f"--root={root}", "enable", "idcpilot-hostkeys.service", "systemd-networkd.service"])
    # Containers cannot do these; they would only fail at every boot.
    run(["systemctl", f"--root={root}", "mask", "systemd-networkd-wait-online.service"])
    (root / "etc/hostname").write_text("localhost\n")
    run(["chroot", root, "apt-get", "clean"])
    lists = root / "var/lib/apt/lists"
    for entry in lists.iterdir() if lists.is_dir() else []:
        if entry.is_file():
            entry.unlink()


def _extract(tar: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".extracting")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    run(["tar", "--zstd", "--numeric-owner", "--xattrs", "--acls", "-xpf", tar, "-C", tmp])
    (tmp / COMPLETE).write_text(base_key() + "\n")
    os.rename(tmp, dest)


def _umount_under(path: Path) -> None:
    """Unmount whatever an interrupted debootstrap left mounted below PATH (proc, sys, dev)."""
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as fh:
        points = [line.split()[1] for line in fh if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "--lazy", point], check=False)


def _remove_tree(path: Path) -> None:
    if path.exists():
        _umount_under(path)  # never recurse into a bind-mounted /dev or /proc
        shutil.rmtree(path, ignore_errors=True)


def _build(layout: LabLayout, mirrors: Mirrors, log: Log) -> None:
    tar = tarball(layout)
    work = layout.base_root / f".build-{base_key()}"
    _remove_tree(work)
    work.mkdir(parents=True)
    t0 = time.monotonic()
    log(f"debootstrap {SUITE} (minbase + {len(INCLUDE)} packages) from the machine's mirror ...")
    try:
        run(["debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}", SUITE, work, mirrors.debian])
        customize(work)
        log(f"base built in {time.monotonic() - t0:.0f}s; caching {tar}")
        tar.parent.mkdir(parents=True, exist_ok=True)
        tmp_tar = tar.with_name(tar.name + ".part")
        run(["tar", "--zstd", "--numeric-owner", "--xattrs", "--acls", "-cpf", tmp_tar, "-C", work, "."])
        os.rename(tmp_tar, tar)
    finally:
        _remove_tree(work)


def ensure_base(layout: LabLayout, mirrors: Mirrors, log: Log = lambda _m: None) -> Path:
    """The extracted base tree (read-only lower dir of every host's overlay)."""
    dest = base_dir(layout)
    with _locked(layout.base_root / ".lock"):
        if (dest / COMPLETE).is_file():
            return dest
        if dest.exists():
            shutil.rmtree(dest)
        tar = tarball(layout)
        if not tar.is_file():
            _build(layout, mirrors, log)
        t0 = time.monotonic()
        _extract(tar, dest)
        log(f"base restored from cache in {time.monotonic() - t0:.1f}s")
        if not (dest / "sbin/init").exists():
            raise LabError(f"base tree {dest} has no /sbin/init; remove {tar} and retry")
        return dest


def drop_base(layout: LabLayout, cache_too: bool = False) -> None:
    """Remove the extracted base (and the tarball when cache_too): the next `up` is cold."""
    with _locked(layout.base_root / ".lock"):
        shutil.rmtree(base_dir(layout), ignore_errors=True)
        if cache_too:
            tarball(layout).unlink(missing_ok=True)
