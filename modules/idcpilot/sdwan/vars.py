"""Per-host variables for the ``sdwan_edge`` role, derived from the catalogue and IPAM.

``sdwan_vars(cat, alloc, host)`` returns ``{"idcpilot_sdwan": {...}}`` for an ``sdwan_edge``
host of an estate with an ``sdwan`` section, else ``{}``. The inventory merges it into the
host's variables, so the role never re-derives the topology. Pure: no I/O.

Per peer, the host runs one WireGuard interface (``wg-<peer>``, point-to-point, /32 addresses),
so BGP, not WireGuard's allowed-IPs, decides which tunnel carries a prefix: that is what lets a
spoke fall back to the other hub when one tunnel dies. The interface towards peer P listens on
``listenPort + rank(P)``; rank orders edge hosts by overlay address, so existing tunnels keep
their ports when edges are added.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.errors import Problem
from idcpilot.ipam import Allocation
from idcpilot.ipam.blocks import Block, address, parse_address
from idcpilot.sdwan.topology import MAX_ASN, Link, Topology, build, interface_name

#: Site prefix kinds a site may announce into the overlay (the role picks which it does).
PREFIX_KINDS = ("service", "loopback", "management")
BGP_PORT = 179
# FRR's bfdd listens on both BFD ports whatever the sessions (RFC 5881 single-hop, RFC 5883
# multihop) and sends each session from its own socket bound to a port of RFC 5881's source
# range, counting up from its start: those sockets listen too, but nothing is sent to them.
BFD_SINGLE_HOP_PORT = 3784
BFD_ECHO_PORT = 3785  # bfdd listens for echo packets too (seen on the lab's edges: udp [::]:3785)
BFD_MULTIHOP_PORT = 4784
BFD_SOURCE_PORTS = "49152-65535"


def topology(cat: Catalogue, alloc: Allocation) -> Topology | None:
    overlay = {name: kinds["overlay"] for name, kinds in alloc.lock.hosts.items() if "overlay" in kinds}
    return build(cat, overlay)


def site_prefixes(alloc: Allocation, site: str) -> dict[str, str]:
    kinds = alloc.lock.sites.get(site, {})
    return {k: kinds[k] for k in PREFIX_KINDS if k in kinds}


def service_anchor(alloc: Allocation, site: str) -> str | None:
    """The site's service gateway address (first address of its service prefix)."""
    prefix = alloc.lock.sites.get(site, {}).get("service")
    if prefix is None:
        return None
    block = Block.parse(prefix)
    return address(block.first + 1) if block.size > 2 else None


def endpoint_prefix_kinds(topo: Topology, alloc: Allocation) -> list[str]:
    """Prefix kinds (of any overlay site) that hold a tunnel endpoint: never announce those."""
    endpoints = sorted(parse_address(a["management"]) for h in topo.rank if "management" in (a := alloc.host(h)))
    kinds: set[str] = set()
    for site in topo.sites:
        for kind, prefix in site_prefixes(alloc, site).items():
            block = Block.parse(prefix)
            at = bisect.bisect_left(endpoints, block.first)  # the first endpoint at or above the block's start
            if at < len(endpoints) and endpoints[at] <= block.last:
                kinds.add(kind)
    return sorted(kinds)


@dataclass(frozen=True)
class Overlay:
    """What every edge host's variables share, computed once per estate."""

    topo: Topology
    endpoint_prefix_kinds: list[str]
    sites: dict[str, dict[str, Any]]


def overlay(cat: Catalogue, alloc: Allocation) -> Overlay | None:
    """The overlay of the estate with its shared facts (None without an ``sdwan`` section)."""
    topo = topology(cat, alloc)
    if topo is None:
        return None
    sites = {
        s: {"asn": topo.asn[s], "hub": s in topo.hubs, "transit": s in topo.transit, "prefixes": site_prefixes(alloc, s)}
        for s in topo.sites
    }
    return Overlay(topo, endpoint_prefix_kinds(topo, alloc), sites)


def _peer(topo: Topology, alloc: Allocation, me: Host, peer: Host, link: Link | None) -> dict[str, Any]:
    addrs = alloc.host(peer.name)
    return {
        "name": peer.name,
        "site": peer.site,
        "asn": topo.asn[peer.site],
        "ibgp": peer.site == me.site,
        "transit": peer.site in topo.transit,
        "hub": peer.site in topo.hubs,
        "interface": interface_name(peer.name),
        "listen_port": topo.listen_port + topo.rank[peer.name],
        "endpoint": addrs.get("management"),
        "endpoint_port": topo.listen_port + topo.rank[me.name],
        "overlay_address": addrs.get("overlay"),
        "loopback": addrs.get("loopback"),
        "latency_budget_ms": link.latency_budget_ms if link else None,
        "encryption": link.encryption if link else "wireguard",
        "link": f"{link.a}--{link.b}" if link else f"{me.site}--{me.site}",
    }


def peers(topo: Topology, alloc: Allocation, host: Host) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for other in topo.edges.get(host.site, ()):
        if other.name != host.name:
            out.append(_peer(topo, alloc, host, other, None))
    for link in topo.links_of(host.site):
        for other in topo.edges.get(link.other(host.site), ()):
            out.append(_peer(topo, alloc, host, other, link))
    return out


def sdwan_vars(cat: Catalogue, alloc: Allocation, host: Host, shared: Overlay | None = None) -> dict[str, Any]:
    """``{"idcpilot_sdwan": ...}`` for an sdwan_edge host, ``{}`` for any other host.

    ``shared`` is ``overlay(cat, alloc)`` when the caller computes many hosts (else computed here).
    """
    if not host.has("sdwan_edge"):
        return {}
    shared = shared or overlay(cat, alloc)
    if shared is None:
        return {}
    topo = shared.topo
    mine = alloc.host(host.name)
    site_edges = topo.edges.get(host.site, ())
    first_edge = bool(site_edges) and site_edges[0].name == host.name
    overlay_prefix = alloc.lock.sites.get(host.site, {}).get("overlay")
    host_peers = peers(topo, alloc, host)
    ports = sorted(p["listen_port"] for p in host_peers)
    return {
        "idcpilot_sdwan": {
            "topology": topo.kind,
            "site": host.site,
            "asn": topo.asn[host.site],
            "hub": host.site in topo.hubs,
            "transit": host.site in topo.transit,
            "router_id": mine.get("loopback") or mine.get("overlay"),
            "loopback": mine.get("loopback"),
            "overlay_address": mine.get("overlay"),
            "overlay_prefix": overlay_prefix,
            "service_anchor": service_anchor(alloc, host.site) if first_edge else None,
            "listen_port": topo.listen_port,
            "endpoint_prefix_kinds": list(shared.endpoint_prefix_kinds),
            "prefixes": site_prefixes(alloc, host.site),
            "sites": {s: {**info, "prefixes": dict(info["prefixes"])} for s, info in shared.sites.items()},
            "peers": host_peers,
            # every port the edge listens on, for the host firewall in front of the overlay (tcp,
            # udp: the role's own table then narrows each tunnel port to its peer, and BGP/BFD to
            # the tunnels) and for MLPS3-MINIMAL (bound: declared, never opened)
            "firewall": {
                "udp": [str(p) for p in ports] + [str(BFD_SINGLE_HOP_PORT), str(BFD_ECHO_PORT), str(BFD_MULTIHOP_PORT)],
                "tcp": [str(BGP_PORT)],
                "bound": [{"port": BFD_SOURCE_PORTS, "proto": "udp", "process": "bfdd"}],
            },
        }
    }


def problems(cat: Catalogue, alloc: Allocation) -> list[Problem]:
    """What stops the overlay from being built as declared, each at its place in estate.yaml."""
    topo = topology(cat, alloc)
    if topo is None:
        return []
    out: list[Problem] = []
    sd_path: tuple = ("spec", "sdwan")
    for link in topo.links:
        for end, site in (("a", link.a), ("b", link.b)):
            if site in cat.sites and site not in topo.edges:
                path = link.declared_at + (end,) if link.declared_at else sd_path
                out.append(cat.source.problem(path, f"site {site!r} has no host with role sdwan_edge to terminate this link"))
    for i, hub in enumerate(topo.hubs):
        if hub not in topo.edges:
            out.append(cat.source.problem(sd_path + ("hubs", i), f"hub site {hub!r} has no host with role sdwan_edge"))
    top_asn = max(topo.asn.values(), default=0)
    if top_asn > MAX_ASN:
        out.append(cat.source.problem(sd_path + ("asn",), f"site ASNs run up to {top_asn}, above {MAX_ASN}"))
    top_port = topo.listen_port + max(topo.rank.values(), default=0)
    if top_port > 65535:
        out.append(cat.source.problem(sd_path + ("listenPort",),
                                      f"{len(topo.rank)} edge hosts need UDP ports up to {top_port}; lower listenPort"))
    names: dict[str, str] = {}
    for hosts in topo.edges.values():
        for h in hosts:
            ifname = interface_name(h.name)
            if ifname in names:
                out.append(cat.source.problem(h.path, f"tunnel interface name {ifname!r} of {h.name!r} clashes with {names[ifname]!r}"))
            names[ifname] = h.name
            addrs = alloc.host(h.name)
            for kind in ("management", "overlay", "loopback"):
                if kind not in addrs:
                    out.append(cat.source.problem(h.path, f"edge host {h.name!r} has no {kind} address: run `idcpilot ipam apply`"))
    for a, b in topo.unreachable():
        out.append(cat.source.problem(sd_path + ("links",), f"no overlay path between {a!r} and {b!r} (links pass through transit sites only)"))
    return out
