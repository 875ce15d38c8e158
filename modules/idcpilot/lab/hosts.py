"""One lab host: an overlayfs over the base, provisioned like kickstart would, booted by nspawn."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from idcpilot.lab import procs
from idcpilot.lab.errors import LabError
from idcpilot.lab.layout import LabHost, LabPlan
from idcpilot.lab.system import ok, run, which

MARKER = "systemd-nspawn"
PROPAGATE = Path("/run/systemd/nspawn/propagate")


def network_file(plan: LabPlan, host: LabHost) -> str:
    """Static management address; the management supernet(s) are on-link over the bridge."""
    routes = "".join(f"\n[Route]\nDestination={cidr}\nScope=link\n" for cidr in plan.management_cidrs)
    return (
        "# Written by `idcpilot lab up`: the lab's stand-in for the host's management NIC.\n"
        "[Match]\nName=host0\n\n[Network]\n"
        f"Address={host.address}/{host.prefixlen}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n" + routes
    )


def apt_sources(plan: LabPlan, suite: str = "bookworm") -> str:
    url = plan.proxy_url
    return (
        "# Written by `idcpilot lab up`: packages come from the lab's apt proxy on the bridge.\n"
        f"deb {url}/debian {suite} main\n"
        f"deb {url}/debian {suite}-updates main\n"
        f"deb {url}/debian-security {suite}-security main\n"
    )


class HostDirs:
    def __init__(self, plan: LabPlan, host: LabHost):
        self.root = plan.layout.host_dir(host.name)
        self.upper = self.root / "upper"
        self.work = self.root / "work"
        self.merged = self.root / "merged"
        self.pidfile = self.root / "nspawn.pid"
        self.console = self.root / "console.log"
        self.provisioned = self.root / "provisioned"


def mounted(path: Path) -> bool:
    target = str(path.resolve()) if path.exists() else str(path)
    with open("/proc/self/mounts") as fh:
        return any(line.split()[1] == target for line in fh)


def mount(dirs: HostDirs, base: Path) -> None:
    for d in (dirs.upper, dirs.work, dirs.merged):
        d.mkdir(parents=True, exist_ok=True)
    if not mounted(dirs.merged):
        run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={base},upperdir={dirs.upper},workdir={dirs.work}", dirs.merged])


def _write(root: Path, rel: str, text: str, mode: int = 0o644) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def provision(plan: LabPlan, host: LabHost, dirs: HostDirs, pubkey: str) -> str:
    """Identity, network, apt source, host key and the automation account, once per host (like
    kickstart: later changes belong to the roles and are never overwritten). Returns the host key."""
    m = dirs.merged
    host_pub = m / "etc/ssh/ssh_host_ed25519_key.pub"
    if dirs.provisioned.exists() and host_pub.exists():
        return " ".join(host_pub.read_text().split()[:2])
    _write(m, "/etc/hostname", f"{host.name}\n")
    _write(m, "/etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{host.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    _write(m, "/etc/systemd/network/10-host0.network", network_file(plan, host))
    _write(m, "/etc/apt/sources.list", apt_sources(plan))
    key = m / "etc/ssh/ssh_host_ed25519_key"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host.name}", "-f", key])
    account = plan.account
    if not ok(["chroot", m, "getent", "passwd", account]):
        run(["chroot", m, "useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "--comment", "idcpilot automation", account])
    ids = run(["chroot", m, "id", "-u", account]).stdout.strip(), run(["chroot", m, "id", "-g", account]).stdout.strip()
    uid, gid = int(ids[0]), int(ids[1])
    ssh_dir = m / "home" / account / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pubkey.strip() + "\n")
    os.chmod(ssh_dir / "authorized_keys", 0o600)
    for p in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(p, uid, gid)
    _write(m, "/etc/sudoers.d/90-idcpilot-automation", f"# kickstart: the automation account\n{account} ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440)
    dirs.provisioned.write_text("provisioned by idcpilot lab up\n")
    return " ".join(host_pub.read_text().split()[:2])


def nspawn_command(plan: LabPlan, host: LabHost, dirs: HostDirs) -> list[str]:
    return [
        which("systemd-nspawn") or "systemd-nspawn",
        "--boot",
        f"--directory={dirs.merged}",
        f"--machine={host.machine}",
        f"--hostname={host.name}",
        f"--network-bridge={plan.bridge}",
        "--register=no",
        "--keep-unit",
        "--console=read-only",
    ]


def running(dirs: HostDirs, host: LabHost) -> int | None:
    pid = procs.read_pid(dirs.pidfile)
    if pid is not None and procs.alive(pid, MARKER) and f"--machine={host.machine}" in procs.cmdline(pid):
        return pid
    return None


def start(plan: LabPlan, host: LabHost, dirs: HostDirs) -> int:
    if procs.kill_all(procs.rooted_in(dirs.upper)):  # an orphaned payload holds the veth name
        raise LabError(f"{host.machine}: an earlier instance of the host would not die")
    env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
    return procs.spawn(nspawn_command(plan, host, dirs), dirs.pidfile, dirs.console, env=env)


def stop(dirs: HostDirs, host: LabHost, timeout: float = 20.0) -> None:
    pid = running(dirs, host)
    if pid is not None:
        procs.stop(pid, MARKER, timeout=timeout)
    # A payload that outlived its nspawn (killed hard) would keep the host's veth and address.
    left = procs.kill_all(procs.rooted_in(dirs.upper))
    if left:
        raise LabError(f"{host.machine}: processes {left} of the host would not die")


def remove(dirs: HostDirs, machine: str) -> None:
    """Unmount and delete everything of a stopped host, including nspawn's /run leftovers."""
    for _ in range(50):
        if not mounted(dirs.merged):
            break
        if ok(["umount", dirs.merged]):
            break
        time.sleep(0.1)
    else:
        run(["umount", "--lazy", dirs.merged])
    shutil.rmtree(dirs.root, ignore_errors=True)
    shutil.rmtree(PROPAGATE / machine, ignore_errors=True)
