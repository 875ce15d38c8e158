"""The overlay graph: which sites an SD-WAN estate links, and which edge hosts peer.

Rules (unit tests hold the code to them):
- overlay sites are the sites with at least one ``sdwan_edge`` host;
- ``full-mesh``: every pair of overlay sites is linked; declared links only add attributes
  (latency budget, encryption);
- ``hub-spoke``: the declared links are the topology; with no declared link, every spoke links
  to every hub and the hubs link to each other;
- transit sites re-announce other sites' prefixes: the hubs of a hub-spoke overlay, every site
  of a full mesh (so a mesh also survives the loss of one link);
- edge hosts peer across every link (each edge of one site with each edge of the other), and
  the edges of one site peer with each other (iBGP);
- each site has its own ASN: ``sdwan.asn`` + the site's index in ``spec.sites``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.catalogue.model import Sdwan
from idcpilot.ipam.allocate import natural_key
from idcpilot.ipam.blocks import parse_address

MAX_ASN = 4_294_967_295
IFNAMSIZ = 15  # Linux interface names: at most 15 characters
IF_PREFIX = "wg-"


@dataclass(frozen=True)
class Link:
    """An overlay link between two sites (a, b in natural order)."""

    a: str
    b: str
    latency_budget_ms: float | None
    encryption: str
    declared_at: tuple | None  # yaml path of the declared link, None when derived

    @property
    def sites(self) -> frozenset[str]:
        return frozenset((self.a, self.b))

    def other(self, site: str) -> str:
        return self.b if site == self.a else self.a


@dataclass
class Topology:
    """The overlay graph of one estate."""

    kind: str  # hub-spoke | full-mesh
    hubs: tuple[str, ...]
    transit: frozenset[str]
    sites: tuple[str, ...]  # overlay sites, natural order
    edges: dict[str, tuple[Host, ...]]  # site -> its sdwan_edge hosts, natural order
    links: tuple[Link, ...]
    asn: dict[str, int]
    listen_port: int
    rank: dict[str, int] = field(default_factory=dict)  # edge host -> stable index (port offset)

    def links_of(self, site: str) -> list[Link]:
        return [link for link in self.links if site in link.sites]

    @cached_property
    def neighbours(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {s: set() for s in self.sites}
        for link in self.links:
            out.setdefault(link.a, set()).add(link.b)
            out.setdefault(link.b, set()).add(link.a)
        return out

    def unreachable(self) -> list[tuple[str, str]]:
        """Pairs of overlay sites with no path between them.

        A path may pass through a site only if that site is transit (re-announces others).
        """
        out: list[tuple[str, str]] = []
        for start in self.sites:
            seen = {start}
            todo = [start]
            while todo:
                here = todo.pop()
                if here != start and here not in self.transit:
                    continue
                for there in self.neighbours.get(here, ()):
                    if there not in seen:
                        seen.add(there)
                        todo.append(there)
            out.extend((start, s) for s in self.sites if s not in seen and natural_key(start) < natural_key(s))
        return out

    def connected(self) -> bool:
        """True when every overlay site can reach every other (directly or through transit)."""
        return not self.unreachable()


def interface_name(peer: str) -> str:
    """Tunnel interface towards ``peer``: 'wg-<peer>' or, when too long, a stable shortened form."""
    name = IF_PREFIX + peer
    if len(name) <= IFNAMSIZ:
        return name
    digest = hashlib.sha256(peer.encode()).hexdigest()[:4]
    return f"{IF_PREFIX}{peer[: IFNAMSIZ - len(IF_PREFIX) - 5]}-{digest}"


def _pair(a: str, b: str) -> tuple[str, str]:
    return tuple(sorted((a, b), key=natural_key))  # type: ignore[return-value]


def build(cat: Catalogue, overlay_addresses: dict[str, str] | None = None) -> Topology | None:
    """The overlay of ``cat`` (None when the estate declares no ``sdwan`` section).

    ``overlay_addresses`` (host -> overlay address from IPAM) orders the edge hosts for their
    port offsets; hosts keep their offset when others are added at higher addresses.
    """
    sd: Sdwan | None = cat.estate.spec.sdwan
    if sd is None:
        return None
    edges: dict[str, tuple[Host, ...]] = {}
    for site in cat.sites:
        members = sorted((h for h in cat.hosts_by_site.get(site, []) if h.has("sdwan_edge")), key=lambda h: natural_key(h.name))
        if members:
            edges[site] = tuple(members)
    sites = tuple(sorted(edges, key=natural_key))
    declared: dict[tuple[str, str], Link] = {}
    for index, link in enumerate(sd.links):
        if link.a == link.b:
            continue  # catalogue.references reports it
        a, b = _pair(link.a, link.b)
        declared[(a, b)] = Link(a, b, link.latency_budget_ms, link.encryption, ("spec", "sdwan", "links", index))
    hubs = tuple(h for h in sd.hubs if h in cat.sites)
    if sd.topology == "full-mesh":
        pairs = {_pair(a, b) for a, b in combinations(sites, 2)} | set(declared)
        transit = frozenset(sites)
    else:
        if declared:
            pairs = set(declared)
        else:
            spokes = [s for s in sites if s not in hubs]
            pairs = {_pair(s, h) for s in spokes for h in hubs if h in edges}
            pairs |= {_pair(a, b) for a, b in combinations([h for h in hubs if h in edges], 2)}
        transit = frozenset(hubs)
    links = tuple(
        declared.get(p) or Link(p[0], p[1], None, "wireguard", None)
        for p in sorted(pairs, key=lambda p: (natural_key(p[0]), natural_key(p[1])))
    )
    asn = {site: sd.asn + cat.site_index[site] for site in cat.sites}
    order = sorted(
        (h.name for hosts in edges.values() for h in hosts),
        key=lambda n: (parse_address(overlay_addresses[n]) if overlay_addresses and n in overlay_addresses else 1 << 33, natural_key(n)),
    )
    return Topology(
        kind=sd.topology,
        hubs=hubs,
        transit=transit,
        sites=sites,
        edges=edges,
        links=links,
        asn=asn,
        listen_port=sd.listen_port,
        rank={name: i for i, name in enumerate(order)},
    )
