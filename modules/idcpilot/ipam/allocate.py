"""Deterministic, stable address allocation from the estate's supernets.

Rules (the property tests hold the code to them):
- what the lock file records is kept, byte for byte: nothing is ever renumbered;
- new owners are allocated in natural name order, first fit, so the result does not depend on
  the order of the catalogue;
- owners that left the catalogue stay reserved until ``prune=True``;
- pools must not overlap one another, pinned prefixes must sit inside their pool, and a pool or
  a site prefix that runs out is an error naming the site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.errors import Problem, UserInputError
from idcpilot.ipam.blocks import Block, UsedSet, address, parse_address
from idcpilot.ipam.lock import Lock

SITE_KINDS = ("management", "service", "overlay", "loopback")
CLUSTER_KINDS = ("pod", "serviceCidr")
POOL_FIELDS = {"management": "management", "service": "service", "overlay": "overlay",
               "loopback": "loopback", "pod": "pod", "serviceCidr": "service_cidr"}

#: Host address kinds, and which host roles need them (management: every host).
HOST_KINDS: dict[str, frozenset[str] | None] = {
    "management": None,
    "service": frozenset({"cdn_node", "zt_gateway", "k8s_node", "k8s_control_plane"}),
    "overlay": frozenset({"sdwan_edge"}),
    "loopback": frozenset({"sdwan_edge"}),
}
#: Offsets kept free at the start of every site prefix (network address, gateway, VRRP, ...).
RESERVED_LOW = {"management": 10, "service": 10, "overlay": 1, "loopback": 1}


def natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def host_kinds(host: Host) -> list[str]:
    return [k for k, roles in HOST_KINDS.items() if roles is None or roles & set(host.roles)]


@dataclass
class Change:
    action: str  # add | orphan | release
    section: str  # sites | clusters | hosts
    owner: str
    kind: str
    value: str

    def __str__(self) -> str:
        sign = {"add": "+", "orphan": "~", "release": "-"}[self.action]
        return f"{sign} {self.section[:-1]}/{self.owner} {self.kind} {self.value}"


@dataclass
class Allocation:
    """The complete lock for the catalogue, and how it differs from the lock on disk."""

    lock: Lock
    changes: list[Change] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return any(c.action in ("add", "release") for c in self.changes)

    def site(self, name: str, kind: str) -> str:
        return self.lock.sites[name][kind]

    def cluster(self, name: str, kind: str) -> str:
        return self.lock.clusters[name][kind]

    def host(self, name: str) -> dict[str, str]:
        return self.lock.hosts.get(name, {})


class _Allocator:
    def __init__(self, cat: Catalogue, old: Lock, prune: bool):
        self.cat = cat
        self.old = old
        self.prune = prune
        self.new = Lock()
        self.changes: list[Change] = []
        self.problems: list[Problem] = []
        self.pools: dict[str, list[Block]] = {}
        self.prefixlen: dict[str, int] = {}
        self.used: dict[str, UsedSet] = {k: UsedSet() for k in POOL_FIELDS}
        self.orphan_addresses: dict[str, set[int]] = {k: set() for k in HOST_KINDS}

    def problem(self, path: tuple, message: str) -> None:
        self.problems.append(self.cat.source.problem(path, message))

    # ------------------------------------------------------------ pools

    def read_pools(self) -> None:
        supernets = self.cat.estate.spec.supernets
        seen: list[tuple[Block, str, tuple]] = []
        for kind, attr in POOL_FIELDS.items():
            spec = getattr(supernets, attr)
            self.prefixlen[kind] = spec.prefix_length
            blocks = []
            for i, text in enumerate(spec.cidrs):
                path = ("spec", "supernets", kind, "cidrs", i)
                try:
                    block = Block.parse(text)
                except (ValueError, TypeError) as exc:
                    self.problem(path, str(exc))
                    continue
                for other, other_kind, other_path in seen:
                    if block.overlaps(other):
                        line, _ = self.cat.source.locate(other_path)
                        self.problem(path, f"{block} overlaps {other_kind} pool {other} (line {line})")
                if block.prefixlen > spec.prefix_length:
                    self.problem(("spec", "supernets", kind, "prefixLength"),
                                 f"/{spec.prefix_length} prefixes do not fit in {block}")
                seen.append((block, kind, path))
                blocks.append(block)
            self.pools[kind] = sorted(blocks)

    def in_pool(self, kind: str, block: Block) -> bool:
        return any(p.contains(block) for p in self.pools[kind])

    # ------------------------------------------------------------ owners

    def reserve_locked(self) -> None:
        """Everything in the old lock stays reserved (orphans too, unless pruning)."""
        live = {"sites": set(self.cat.sites), "clusters": set(self.cat.clusters), "hosts": set(self.cat.hosts)}
        for section in ("sites", "clusters"):
            for owner, kinds in self.old.section(section).items():
                orphan = owner not in live[section]
                for kind, value in kinds.items():
                    if orphan:
                        self.changes.append(Change("release" if self.prune else "orphan", section, owner, kind, value))
                        if self.prune:
                            continue
                    if kind not in self.used:
                        continue
                    try:
                        block = Block.parse(value)
                    except (ValueError, TypeError):
                        self.problems.append(Problem("ipam.lock.yaml", 1, 1, f"{section}.{owner}.{kind}", f"not a prefix: {value!r}"))
                        continue
                    self.used[kind].add(block)
                    self.new.section(section).setdefault(owner, {})[kind] = value
        for owner, kinds in self.old.hosts.items():
            if owner not in live["hosts"]:
                for kind, value in kinds.items():
                    self.changes.append(Change("release" if self.prune else "orphan", "hosts", owner, kind, value))
                if not self.prune:
                    self.new.hosts[owner] = dict(kinds)
                    for kind, value in kinds.items():
                        if kind in self.orphan_addresses:
                            self.orphan_addresses[kind].add(parse_address(value))

    def allocate_prefix(self, section: str, owner: str, kind: str, pin: str | None, path: tuple) -> Block | None:
        locked = self.old.section(section).get(owner, {}).get(kind)
        if locked is not None:
            block = Block.parse(locked)
            if pin is not None and Block.parse(pin) != block:
                self.problem(path, f"pinned to {pin} but ipam.lock.yaml holds {locked} for {owner}: "
                                   f"remove the owner, run `idcpilot ipam apply --prune`, then re-add it to renumber")
            return block
        if pin is not None:
            try:
                block = Block.parse(pin)
            except (ValueError, TypeError) as exc:
                self.problem(path, str(exc))
                return None
            if not self.in_pool(kind, block):
                self.problem(path, f"{block} is outside the {kind} pool ({', '.join(map(str, self.pools[kind]))})")
                return None
            clash = self.used[kind].overlapping(block)
            if clash is not None:
                self.problem(path, f"{block} overlaps {clash}, already allocated")
                return None
        else:
            block = self.used[kind].first_fit(self.pools[kind], self.prefixlen[kind])
            if block is None:
                self.problem(path, f"the {kind} pool ({', '.join(map(str, self.pools[kind]))}) is exhausted: "
                                   f"no free /{self.prefixlen[kind]} for {section[:-1]} {owner!r}")
                return None
        self.used[kind].add(block)
        self.new.section(section).setdefault(owner, {})[kind] = str(block)
        self.changes.append(Change("add", section, owner, kind, str(block)))
        return block

    def sites(self) -> dict[str, dict[str, Block]]:
        out: dict[str, dict[str, Block]] = {}
        for name in sorted(self.cat.sites, key=natural_key):
            site = self.cat.sites[name]
            si = self.cat.site_index[name]
            out[name] = {}
            for kind in SITE_KINDS:
                pin = site.prefixes.get(kind)  # type: ignore[call-overload]
                path = ("spec", "sites", si, "prefixes", kind) if pin else ("spec", "sites", si, "name")
                block = self.allocate_prefix("sites", name, kind, pin, path)
                if block is not None:
                    out[name][kind] = block
        return out

    def clusters(self) -> None:
        index = {c.name: i for i, c in enumerate(self.cat.estate.spec.clusters)}
        for name in sorted(self.cat.clusters, key=natural_key):
            path = ("spec", "clusters", index[name], "name")
            for kind in CLUSTER_KINDS:
                self.allocate_prefix("clusters", name, kind, None, path)

    def hosts(self, site_blocks: dict[str, dict[str, Block]]) -> None:
        for site_name, hosts in self.cat.hosts_by_site.items():
            blocks = site_blocks.get(site_name, {})
            si = self.cat.site_index[site_name]
            for kind in HOST_KINDS:
                block = blocks.get(kind)
                if block is None:
                    continue
                self.hosts_in(site_name, si, kind, block, hosts)

    def hosts_in(self, site: str, si: int, kind: str, block: Block, hosts: list[Host]) -> None:
        taken: set[int] = set()
        want: list[Host] = []
        needs = HOST_KINDS[kind]
        for host in hosts:
            if needs is not None and needs.isdisjoint(host.roles):
                continue
            locked = self.old.hosts.get(host.name, {}).get(kind)
            if locked is not None:
                value = parse_address(locked)
                if not block.first <= value <= block.last:
                    self.problem(host.path, f"host {host.name!r}: locked {kind} address {locked} is outside site prefix {block}")
                taken.add(value)
                self.new.hosts.setdefault(host.name, {})[kind] = locked
            else:
                want.append(host)
        # orphaned hosts keep their addresses reserved too
        taken.update(a for a in self.orphan_addresses[kind] if block.first <= a <= block.last)
        pinned = [h for h in want if kind == "management" and h.management_address]
        for host in pinned:
            try:
                value = parse_address(host.management_address or "")
            except (ValueError, TypeError) as exc:
                self.problem(host.path + ("managementAddress",), f"not an IPv4 address: {exc}")
                continue
            if not block.first < value < block.last:
                self.problem(host.path + ("managementAddress",), f"{address(value)} is outside site {site!r} management prefix {block}")
                continue
            if value in taken:
                self.problem(host.path + ("managementAddress",), f"{address(value)} is already allocated")
                continue
            taken.add(value)
            self._assign(host, kind, value)
        free_from = block.first + RESERVED_LOW[kind] if block.size > 4 else block.first
        last = block.last - 1 if block.size > 2 else block.last
        rest = sorted((h for h in want if h not in pinned), key=lambda h: natural_key(h.name))
        candidate = free_from
        for n, host in enumerate(rest):
            while candidate in taken and candidate <= last:
                candidate += 1
            if candidate > last:
                capacity = max(0, last - free_from + 1)
                self.problem(("spec", "sites", si, "hosts"),
                             f"site {site!r} {kind} prefix {block} is exhausted: {len(rest) - n} more host(s) "
                             f"need addresses ({capacity} usable); lower supernets.{kind}.prefixLength "
                             f"(each step down doubles a site's prefix) or pin a larger prefix")
                return
            taken.add(candidate)
            self._assign(host, kind, candidate)

    def _assign(self, host: Host, kind: str, value: int) -> None:
        text = address(value)
        self.new.hosts.setdefault(host.name, {})[kind] = text
        self.changes.append(Change("add", "hosts", host.name, kind, text))


def allocate(cat: Catalogue, old: Lock | None = None, prune: bool = False) -> Allocation:
    """The complete allocation for ``cat``, keeping everything in ``old``; raises UserInputError."""
    alloc = _Allocator(cat, old or Lock(), prune)
    alloc.read_pools()
    if alloc.problems:
        raise UserInputError(alloc.problems)
    alloc.reserve_locked()
    site_blocks = alloc.sites()
    alloc.clusters()
    alloc.hosts(site_blocks)
    if alloc.problems:
        raise UserInputError(alloc.problems)
    return Allocation(alloc.new, alloc.changes)
