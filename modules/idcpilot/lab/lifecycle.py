"""``lab up`` / ``lab down`` / status: idempotent orchestration of base, network, services and hosts."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from idcpilot.deploy.paths import facts_dir
from idcpilot.lab import base, hosts, net, procs, proxy, services
from idcpilot.lab.errors import LabError
from idcpilot.lab.layout import LabHost, LabPlan, bridge_name, machine_name, nft_table
from idcpilot.lab.mirror import machine_mirrors
from idcpilot.lab.procs import cmdline
from idcpilot.lab.system import raise_kernel_limits, run, unavailable_reason

Log = Callable[[str], None]
# Seconds for every host to answer SSH (ten hosts take ~15 s on an idle 2-core machine).
SSH_TIMEOUT = float(os.environ.get("IDCPILOT_LAB_BOOT_TIMEOUT", "300"))


@dataclass
class HostStatus:
    name: str
    machine: str
    address: str
    pid: int | None
    mounted: bool
    ssh: bool

    @property
    def up(self) -> bool:
        return self.pid is not None and self.ssh


def ensure_key(plan: LabPlan) -> str:
    """The lab key of the automation account (generated once, kept outside the repo)."""
    key = plan.layout.key_file
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"idcpilot-lab-{plan.name}", "-f", key])
    return key.with_suffix(".pub").read_text()


def ensure_lab_ca(plan: LabPlan, log: Log = lambda _m: None) -> None:
    """The lab estate's CA, where every estate's CA is (idcpilot.pki.store.pki_dir), made once.
    A lab CA keeps its random passphrase beside its key so the lab runs unattended; `idcpilot pki
    status` says so. An existing CA (a lab's or an operator's) is left as it is."""
    from idcpilot.pki.store import open_ca

    ca = open_ca(plan.name)
    if not ca.exists():
        ca.init(plan.name, lab=True)
        log(f"lab {plan.name}: created the lab estate CA in {ca.dir}")


def ssh_base_args(plan: LabPlan, batch: bool = True) -> list[str]:
    args = [
        "-F", str(plan.layout.ssh_config),
        "-i", str(plan.layout.key_file),
        "-o", f"UserKnownHostsFile={plan.layout.known_hosts}",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "ConnectTimeout=5",
    ]
    return args + ["-o", "BatchMode=yes"] if batch else args


def host_ssh(plan: LabPlan, name: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """COMMAND on lab host NAME over SSH as the automation account; its exit code is the caller's to read."""
    h = plan.host(name)
    return subprocess.run(["ssh", *ssh_base_args(plan), f"{plan.account}@{h.address}", command],
                          capture_output=True, text=True, timeout=timeout)


def _port_open(address: str, port: int = 22, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def ssh_ok(plan: LabPlan, host: LabHost) -> bool:
    if not _port_open(host.address):
        return False
    proc = run(["ssh", *ssh_base_args(plan), f"{plan.account}@{host.address}", "sudo -n true"], check=False)
    return proc.returncode == 0


def host_status(plan: LabPlan) -> list[HostStatus]:
    out = []
    for h in plan.hosts:
        dirs = hosts.HostDirs(plan, h)
        pid = hosts.running(dirs, h)
        out.append(HostStatus(h.name, h.machine, h.address, pid, hosts.mounted(dirs.merged), pid is not None and _port_open(h.address)))
    return out


def _write_known_hosts(plan: LabPlan, keys: dict[str, str]) -> None:
    lines = [f"{plan.host(name).address},{name} {key}" for name, key in sorted(keys.items())]
    plan.layout.known_hosts.write_text("\n".join(lines) + "\n")


def ssh_config_text(plan: LabPlan) -> str:
    """Every SSH client of the lab (``lab ssh``, the tests, Ansible through the lab estate's
    group_vars) binds to the lab bridge: when the bridge is gone, a connection to a lab address
    fails on this machine instead of leaving it by the default route."""
    return (
        "# Written by `idcpilot lab up`; removed by `idcpilot lab down`.\n"
        "Host *\n"
        f"    BindInterface {plan.bridge}\n"
        f"    IdentityFile {plan.layout.key_file}\n"
        f"    UserKnownHostsFile {plan.layout.known_hosts}\n"
        "    StrictHostKeyChecking yes\n"
        "    ServerAliveInterval 15\n"
        "    ServerAliveCountMax 4\n"
    )


def _write_ssh_config(plan: LabPlan) -> None:
    plan.layout.ssh_config.write_text(ssh_config_text(plan))


def _wait_ssh(plan: LabPlan, host: LabHost, deadline: float) -> None:
    dirs = hosts.HostDirs(plan, host)
    while time.monotonic() < deadline:
        if hosts.running(dirs, host) is None:
            tail = dirs.console.read_text(errors="replace")[-1500:] if dirs.console.exists() else ""
            raise LabError(f"{host.name}: systemd-nspawn exited while booting; console tail:\n{tail}")
        if ssh_ok(plan, host):
            return
        time.sleep(0.5)
    raise LabError(f"{host.name}: no SSH on {host.address} after {SSH_TIMEOUT:.0f}s (console: {dirs.console})")


def _record(plan: LabPlan) -> None:
    state = {"estate": plan.estate, "lab": plan.name, "bridge": plan.bridge, "nftTable": plan.nft_table, "gateway": plan.gateway,
             "proxy": plan.proxy_url, "services": {s.name: s.url(plan) for s in services.wanted(plan)},
             "hosts": [asdict(h) for h in plan.hosts]}
    (plan.layout.state_dir / "lab.json").write_text(json.dumps(state, indent=2) + "\n")


def up(plan: LabPlan, log: Log = lambda _m: None, only: list[str] | None = None) -> list[HostStatus]:
    """Bring the lab up; repairs whatever is missing of a half-started lab. Idempotent."""
    reason = unavailable_reason()
    if reason:
        raise LabError(reason)
    targets = [h for h in plan.hosts if only is None or h.name in only]
    current = {s.name: s for s in host_status(plan)}
    if (all(current[h.name].up for h in targets) and proxy.running(plan) and services.all_running(plan)
            and net.link_exists(plan.bridge) and net.table_exists(plan.nft_table)):
        services.up(plan, log)  # says what the bundle lacks
        log(f"lab {plan.name}: already up ({len(targets)} hosts)")
        return [current[h.name] for h in targets]
    mirrors = machine_mirrors()
    plan.layout.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = base.ensure_base(plan.layout, mirrors, log)
    pubkey = ensure_key(plan)
    ensure_lab_ca(plan, log)
    for change in raise_kernel_limits(procs.count_running(hosts.MARKER) + len(targets)):
        log(f"lab {plan.name}: raised {change} (until reboot)")
    net.up(plan)
    proxy.up(plan, mirrors)
    services.up(plan, log)
    _record(plan)
    keys: dict[str, str] = {}
    started = []
    for h in plan.hosts:
        dirs = hosts.HostDirs(plan, h)
        if h not in targets and not dirs.root.exists():
            continue
        if not dirs.root.exists():  # a fresh host: facts cached by earlier deploys describe another machine
            (facts_dir(plan.estate) / h.name).unlink(missing_ok=True)
        hosts.mount(dirs, root)
        keys[h.name] = hosts.provision(plan, h, dirs, pubkey)
        if h in targets and hosts.running(dirs, h) is None:
            hosts.start(plan, h, dirs)
            started.append(h)
    _write_known_hosts(plan, keys)
    _write_ssh_config(plan)
    log(f"lab {plan.name}: booting {len(started)} host(s) on {plan.bridge} ({', '.join(plan.bridge_addresses)})")
    deadline = time.monotonic() + SSH_TIMEOUT
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        list(pool.map(lambda h: _wait_ssh(plan, h, deadline), targets))
    return host_status(plan)


def stop_hosts(plan: LabPlan, names: list[str], timeout: float = 20.0) -> None:
    """Power off some hosts (SIGTERM to nspawn) but keep their disks: `up` boots them again."""
    selected = [plan.host(n) for n in names]
    with ThreadPoolExecutor(max_workers=max(1, len(selected))) as pool:
        list(pool.map(lambda h: hosts.stop(hosts.HostDirs(plan, h), h, timeout), selected))


def down(plan: LabPlan, log: Log = lambda _m: None, purge: bool = False) -> None:
    """Stop and remove everything the lab created. PURGE also drops the lab key."""
    layout = plan.layout
    names = {h.name: h for h in plan.hosts}
    # Hosts left over from an earlier catalogue of the same estate go too.
    if layout.hosts_dir.is_dir():
        for d in layout.hosts_dir.iterdir():
            if d.name not in names:
                names[d.name] = LabHost(d.name, machine_name(plan.name, d.name), "", 0)
    all_hosts = list(names.values())
    veths = _bridge_ports(plan.bridge)
    with ThreadPoolExecutor(max_workers=max(1, len(all_hosts))) as pool:
        list(pool.map(lambda h: hosts.stop(hosts.HostDirs(plan, h), h), all_hosts))
    for h in all_hosts:
        hosts.remove(hosts.HostDirs(plan, h), h.machine)
    proxy.down(plan)
    services.down(plan)
    # The kernel frees a host's veth with its network namespace, which can linger after the
    # payload is gone; a veth left behind would block the next boot of that machine name.
    for veth in veths:
        if Path("/sys/class/net", veth).exists():
            run(["ip", "link", "del", veth], check=False)
    net.down(plan.bridge, plan.nft_table)
    # Names from an earlier run of this estate (recorded), in case the naming changed.
    record = layout.state_dir / "lab.json"
    if record.exists():
        try:
            old = json.loads(record.read_text())
            net.down(old.get("bridge", bridge_name(plan.name)), old.get("nftTable", nft_table(plan.name)))
        except (ValueError, LabError):
            pass
    shutil.rmtree(layout.run_dir, ignore_errors=True)
    shutil.rmtree(layout.hosts_dir, ignore_errors=True)
    for f in (record, layout.known_hosts, layout.ssh_config):
        f.unlink(missing_ok=True)
    if purge:
        shutil.rmtree(layout.state_dir, ignore_errors=True)
    log(f"lab {plan.name}: down")


def _bridge_ports(bridge: str) -> list[str]:
    ports = Path("/sys/class/net", bridge, "brif")
    return sorted(p.name for p in ports.iterdir()) if ports.is_dir() else []


def leftovers(plan: LabPlan) -> list[str]:
    """Everything of this lab still on the machine (empty after `down`)."""
    found = []
    if net.link_exists(plan.bridge):
        found.append(f"bridge {plan.bridge}")
    if net.table_exists(plan.nft_table):
        found.append(f"nft table inet {plan.nft_table}")
    state = str(plan.layout.state_dir)
    with open("/proc/self/mounts") as fh:
        for line in fh:
            point = line.split()[1]
            if point == state or point.startswith(state + "/"):
                found.append(f"mount {point}")
    machines = {f"--machine={h.machine}" for h in plan.hosts}
    for pid_dir in Path("/proc").iterdir():
        if pid_dir.name.isdigit():
            args = cmdline(int(pid_dir.name))
            if machines & set(args):
                found.append(f"process {pid_dir.name}: {' '.join(args)[:80]}")
    found += services.leftovers(plan)  # the apt proxy, NTP and the artifact repository
    for h in plan.hosts:
        for pid in procs.rooted_in(hosts.HostDirs(plan, h).upper):
            found.append(f"process {pid} of host {h.name} outlived its nspawn")
        if (hosts.PROPAGATE / h.machine).exists():
            found.append(f"{hosts.PROPAGATE / h.machine}")
        if plan.layout.host_dir(h.name).exists():
            found.append(f"{plan.layout.host_dir(h.name)}")
    if plan.layout.run_dir.exists():
        found.append(str(plan.layout.run_dir))
    for link in Path("/sys/class/net").iterdir():
        if link.name.startswith("vb-") and (link / "master").exists() and (link / "master").resolve().name == plan.bridge:
            found.append(f"veth {link.name}")
    return found
