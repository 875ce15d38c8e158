"""Pure naming and addressing of a lab, derived from the catalogue and its IPAM allocation.

Every name is derived from the estate's ``metadata.name`` so that two labs of two estates
(with non-overlapping address plans) can coexist: bridge, machine names, nft table, state dir.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from idcpilot.catalogue.estate import Catalogue
from idcpilot.ipam import Allocation
from idcpilot.lab.errors import LabError

STATE_ROOT = Path("/var/lib/idcpilot/lab")
CACHE_ROOT = Path("/var/cache/idcpilot")
RUN_ROOT = Path("/run/idcpilot/lab")
PROXY_PORT = 3142
NTP_PORT = 123
IFNAME_MAX = 15


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def bridge_name(estate: str) -> str:
    """Linux interface names are at most 15 characters: 'ib-' + estate, hashed when too long."""
    slug = _slug(estate) or "lab"
    name = f"ib-{slug}"
    if len(name) <= IFNAME_MAX:
        return name
    digest = hashlib.sha256(estate.encode()).hexdigest()[:4]
    return f"ib-{slug[: IFNAME_MAX - 3 - 5]}-{digest}"


def nft_table(estate: str) -> str:
    return f"idcpilot_lab_{re.sub(r'[^A-Za-z0-9_]', '_', estate)}"


def machine_name(estate: str, host: str) -> str:
    return f"{estate}-{host}"


@dataclass(frozen=True)
class LabLayout:
    """Where a lab keeps things on the machine."""

    estate: str
    state_root: Path = STATE_ROOT
    cache_root: Path = CACHE_ROOT
    run_root: Path = RUN_ROOT

    @property
    def state_dir(self) -> Path:
        return self.state_root / self.estate

    @property
    def hosts_dir(self) -> Path:
        return self.state_dir / "hosts"

    def host_dir(self, host: str) -> Path:
        return self.hosts_dir / host

    @property
    def key_file(self) -> Path:
        """The automation account's lab key (private; never in the repo)."""
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def ssh_config(self) -> Path:
        """How every SSH client reaches this lab's hosts (written by ``lab up``)."""
        return self.state_dir / "ssh_config"

    @property
    def run_dir(self) -> Path:
        return self.run_root / self.estate

    @property
    def proxy_dir(self) -> Path:
        return self.run_dir / "apt-proxy"

    @property
    def proxy_cache(self) -> Path:
        """Shared by every lab: files are content-addressed or replaced atomically."""
        return self.cache_root / "apt-proxy"

    @property
    def base_cache(self) -> Path:
        return self.cache_root / "lab"

    @property
    def base_root(self) -> Path:
        return self.state_root / "base"


@dataclass(frozen=True)
class LabHost:
    name: str
    machine: str
    address: str  # management address
    prefixlen: int  # of the site's management prefix
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabPlan:
    """What a lab of one estate looks like: pure data, no I/O."""

    estate: str  # metadata.name of the estate
    name: str  # the lab's name (the estate's unless given): bridge, machines, table, state dir
    account: str
    bridge: str
    nft_table: str
    bridge_addresses: tuple[str, ...]  # "10.213.0.1/24", one per management supernet
    management_cidrs: tuple[str, ...]
    hosts: tuple[LabHost, ...]
    layout: LabLayout = field(compare=False)
    # Services the estate expects on the gateway address (see idcpilot.lab.services).
    ntp: bool = False  # spec.ntpServers names the gateway address
    artifacts_port: int | None = None  # spec.packageMirror.artifacts is http://GATEWAY:PORT[/PREFIX]
    artifacts_prefix: str = ""  # its path, under which hosts ask for the bundle's files
    kubernetes_versions: tuple[str, ...] = ()  # what the estate's clusters need from the bundle
    env: str = ""  # the environment directory, for commands the lab suggests

    @property
    def gateway(self) -> str:
        """The bridge address hosts use for services the lab provides (apt proxy, NTP, artifacts)."""
        return self.bridge_addresses[0].split("/")[0]

    @property
    def proxy_url(self) -> str:
        return f"http://{self.gateway}:{PROXY_PORT}"

    def host(self, name: str) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise LabError(f"no host {name!r} in estate {self.estate!r}; hosts: {', '.join(h.name for h in self.hosts)}")


def plan_lab(cat: Catalogue, alloc: Allocation, layout: LabLayout | None = None, name: str | None = None) -> LabPlan:
    """The lab of an estate: one host per catalogue host, on the management supernet(s).

    NAME (default: the estate's metadata.name) names the bridge, machines, nft table and
    state dir; the bench uses it to run a copy of an estate beside the real one.
    """
    estate = name or cat.name
    supernets = [ipaddress.ip_network(c) for c in cat.estate.spec.supernets.management.cidrs]
    bridge_addresses = []
    for net in supernets:
        if net.version != 4 or not net.is_private:
            raise LabError(f"management supernet {net} is not a private IPv4 network; the lab only uses private addresses")
        if net.num_addresses < 4:
            raise LabError(f"management supernet {net} is too small for a lab bridge")
        bridge_addresses.append(f"{net.network_address + 1}/{net.prefixlen}")
    hosts = []
    for host in sorted(cat.hosts.values(), key=lambda h: h.name):
        addresses = alloc.host(host.name)
        site_prefix = alloc.lock.sites.get(host.site, {}).get("management")
        if "management" not in addresses or not site_prefix:
            raise LabError(f"host {host.name} has no management address yet: run `idcpilot ipam apply {cat.root}`")
        addr = ipaddress.ip_address(addresses["management"])
        if not any(addr in net for net in supernets):
            raise LabError(f"host {host.name} address {addr} is outside the management supernets")
        if any(addr == ipaddress.ip_interface(b).ip for b in bridge_addresses):
            raise LabError(f"host {host.name} address {addr} collides with the lab bridge address")
        hosts.append(LabHost(host.name, machine_name(estate, host.name), str(addr), ipaddress.ip_network(site_prefix).prefixlen, tuple(host.roles)))
    gateway = bridge_addresses[0].split("/")[0]
    spec = cat.estate.spec
    artifacts = served_artifacts_port(spec.package_mirror.artifacts, gateway)
    if artifacts == PROXY_PORT:
        raise LabError(f"spec.packageMirror.artifacts: port {PROXY_PORT} of {gateway} is the lab's apt proxy; give the artifact repository another port")
    return LabPlan(
        estate=cat.name,
        name=estate,
        account=cat.estate.spec.automation.account,
        bridge=bridge_name(estate),
        nft_table=nft_table(estate),
        bridge_addresses=tuple(bridge_addresses),
        management_cidrs=tuple(str(n) for n in supernets),
        hosts=tuple(hosts),
        layout=layout or LabLayout(estate),
        ntp=gateway in spec.ntp_servers,
        artifacts_port=artifacts,
        artifacts_prefix=urlsplit(str(spec.package_mirror.artifacts or "")).path.rstrip("/") if artifacts else "",
        kubernetes_versions=tuple(sorted({c.kubernetes_version for c in cat.clusters.values()})),
        env=str(cat.root),
    )


def served_artifacts_port(url: str | None, gateway: str) -> int | None:
    """The port of an ``http://GATEWAY[:PORT]`` artifacts URL; None when the lab does not serve it.

    An https URL on the gateway is not served either: the lab has no certificate hosts trust.
    """
    if not url:
        return None
    parts = urlsplit(str(url))
    if parts.scheme != "http" or parts.hostname != gateway:
        return None
    return parts.port or 80
