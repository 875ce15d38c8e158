"""Deterministic, stable address allocation from the estate's supernets.

Rules (the property tests hold the code to them):
- the lock is checked first (``lockcheck``): a lock with a collision, a stray or a malformed
  value is an error, never a source of addresses;
- what the lock records is kept, byte for byte: nothing is renumbered, except a host whose
  ``managementAddress`` pin says otherwise (shown in the plan as a move, or refused with why);
- every kept prefix of every kind is taken for every pool, so moving or reshaping the pools can
  never hand out a prefix that overlaps one already held;
- new owners are allocated in natural name order, first fit, so the result does not depend on
  the order of the catalogue;
- owners that left the catalogue (and addresses of a kind a host no longer needs) stay reserved
  until ``prune=True``;
- pools must not overlap one another, pinned prefixes must sit inside their pool, and a pool or
  a site prefix that runs out is an error naming the site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.errors import Problem, UserInputError, excerpt
from idcpilot.ipam.blocks import Block, UsedSet, address, parse_address
from idcpilot.ipam.lock import Lock
from idcpilot.ipam.lockcheck import CLUSTER_KINDS, SITE_KINDS, Live, Pools, check_lock

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
    return [k for k, roles in HOST_KINDS.items() if roles is None or not roles.isdisjoint(host.roles)]


@dataclass
class Change:
    action: str  # add | move | orphan | release
    section: str  # sites | clusters | hosts
    owner: str
    kind: str
    value: str
    old: str | None = None  # move: the address it had

    def __str__(self) -> str:
        if self.action == "move":
            return f"* {self.section[:-1]}/{self.owner} {self.kind} {self.old} -> {self.value} (managementAddress pin)"
        sign = {"add": "+", "orphan": "~", "release": "-"}[self.action]
        return f"{sign} {self.section[:-1]}/{self.owner} {self.kind} {self.value}"


@dataclass
class Allocation:
    """The complete lock for the catalogue, and how it differs from the lock on disk."""

    lock: Lock
    changes: list[Change] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return any(c.action in ("add", "move", "release") for c in self.changes)

    def site(self, name: str, kind: str) -> str:
        return self.lock.sites[name][kind]

    def cluster(self, name: str, kind: str) -> str:
        return self.lock.clusters[name][kind]

    def host(self, name: str) -> dict[str, str]:
        return self.lock.hosts.get(name, {})


def read_pools(cat: Catalogue) -> tuple[Pools, dict[str, int], list[Problem]]:
    """The estate's pools (each checked to parse, fit its prefix length and overlap no other)."""
    supernets = cat.estate.spec.supernets
    problems: list[Problem] = []
    seen: list[tuple[Block, str, tuple]] = []
    blocks: dict[str, list[Block]] = {}
    where: dict[str, str] = {}
    prefixlen: dict[str, int] = {}
    for kind, attr in POOL_FIELDS.items():
        spec = getattr(supernets, attr)
        prefixlen[kind] = spec.prefix_length
        line, _ = cat.source.locate(("spec", "supernets", kind, "cidrs"))
        where[kind] = f"{cat.source.file}:{line}"
        blocks[kind] = []
        for i, text in enumerate(spec.cidrs):
            path = ("spec", "supernets", kind, "cidrs", i)
            try:
                block = Block.parse(text)
            except ValueError as exc:
                problems.append(cat.source.problem(path, str(exc)))
                continue
            for other, other_kind, other_path in seen:
                if block.overlaps(other):
                    other_line, _ = cat.source.locate(other_path)
                    problems.append(cat.source.problem(path, f"{block} overlaps {other_kind} pool {other} (line {other_line})"))
            if block.prefixlen > spec.prefix_length:
                problems.append(cat.source.problem(("spec", "supernets", kind, "prefixLength"),
                                                   f"/{spec.prefix_length} prefixes do not fit in {block}"))
            seen.append((block, kind, path))
            blocks[kind].append(block)
        blocks[kind].sort()
    return Pools(blocks, where), prefixlen, problems


def live_owners(cat: Catalogue) -> Live:
    kinds: dict[tuple[str, ...], frozenset[str]] = {}
    hosts = {}
    pinned = []
    for host in cat.hosts.values():
        needed = kinds.get(host.roles)
        if needed is None:
            needed = kinds[host.roles] = frozenset(host_kinds(host))
        hosts[host.name] = (host.site, needed)
        if host.management_address is not None:
            pinned.append(host.name)
    return Live(frozenset(cat.sites), frozenset(cat.clusters), hosts, tuple(pinned))


class _Allocator:
    def __init__(self, cat: Catalogue, old: Lock, pools: Pools, prefixlen: dict[str, int]):
        self.cat = cat
        self.old = old
        self.pools = pools
        self.prefixlen = prefixlen
        self.new = Lock(source=old.source)
        self.changes: list[Change] = []
        self.problems: list[Problem] = []
        #: every kept prefix of every kind, with its owner: no pool hands out what overlaps one
        self.used = UsedSet()
        #: kind -> address -> owner, for every kept host address
        self.taken: dict[str, dict[int, str]] = {k: {} for k in HOST_KINDS}
        #: every live host's lock entry holds all the kinds it needs (set by keep)
        self.complete = False

    def problem(self, path: tuple, message: str) -> None:
        self.problems.append(self.cat.source.problem(path, message))

    def keep(self, lock: Lock, prune: bool, live: Live) -> None:
        """Everything the lock holds stays as it is (orphans too, unless pruning)."""
        checked = check_lock(lock, self.pools, live, prune)
        self.complete = checked.complete == len(live.hosts)
        self.problems += checked.problems
        self.new = lock.copy()
        for e in checked.released:
            self.changes.append(Change("release", e.section, e.owner, e.kind, e.value))
            kinds = self.new.section(e.section)[e.owner]
            del kinds[e.kind]
            if not kinds:
                del self.new.section(e.section)[e.owner]
        for e in checked.prefixes:
            self.used.add(e.block, f"the {e.kind} prefix of {e.section[:-1]} {e.owner} ({lock.line(e.section, e.owner, e.kind)})")
        self.taken = checked.addresses
        self.changes += [Change("orphan", e.section, e.owner, e.kind, e.value)
                         for e in checked.prefixes + checked.orphans if not e.live]

    # ------------------------------------------------------------ prefixes

    def allocate_prefix(self, section: str, owner: str, kind: str, pin: str | None, path: tuple) -> Block | None:
        locked = self.new.section(section).get(owner, {}).get(kind)
        if locked is not None:
            block = Block.parse(locked)
            if pin is not None and pin != locked:
                self.problem(path, f"pinned to {excerpt(pin)} but {self.old.line(section, owner, kind)} holds {locked} for {owner}: "
                                   f"remove the owner, run `idcpilot ipam apply --prune`, then re-add it to renumber")
            return block
        if pin is not None:
            try:
                block = Block.parse(pin)
            except ValueError as exc:
                self.problem(path, str(exc))
                return None
            if not any(p.contains(block) for p in self.pools.blocks[kind]):
                self.problem(path, f"{block} is outside the {kind} pool ({', '.join(map(str, self.pools.blocks[kind]))})")
                return None
            clash = self.used.overlapping(block)
            if clash is not None:
                self.problem(path, f"{block} overlaps {clash[0]}, {clash[1]}")
                return None
        else:
            block = self.used.first_fit(self.pools.blocks[kind], self.prefixlen[kind])
            if block is None:
                self.problem(path, f"the {kind} pool ({', '.join(map(str, self.pools.blocks[kind]))}) is exhausted: "
                                   f"no free /{self.prefixlen[kind]} for {section[:-1]} {owner!r} ({self.pools.where[kind]})")
                return None
        self.used.add(block, f"the {kind} prefix of {section[:-1]} {owner} (added by this plan)")
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

    # ------------------------------------------------------------ host addresses

    def hosts(self, site_blocks: dict[str, dict[str, Block]], live: Live) -> None:
        # Only hosts with a pin or an address kind the lock lacks have anything to do here. When
        # the lock check found every host's entry complete, those are the pinned hosts alone
        # (the common case: a plan without changes, `inventory --host`); otherwise one
        # comprehension finds them (0.13 CPU s on the 100,000-host bench estate).
        locked = self.new.hosts
        nothing: dict[str, str] = {}
        busy: dict[str, list[Host]] = {}
        candidates = ([self.cat.hosts[name] for name in live.pinned] if self.complete else
                      [h for h in self.cat.hosts.values()
                       if h.management_address is not None or not locked.get(h.name, nothing).keys() >= live.hosts[h.name][1]])
        for host in candidates:
            busy.setdefault(host.site, []).append(host)
        for site_name in self.cat.sites:
            hosts = busy.get(site_name)
            if not hosts:
                continue
            blocks = site_blocks.get(site_name, {})
            si = self.cat.site_index[site_name]
            for kind in HOST_KINDS:
                block = blocks.get(kind)
                if block is not None:
                    self.hosts_in(site_name, si, kind, block, [h for h in hosts if kind in live.hosts[h.name][1]])

    def hosts_in(self, site: str, si: int, kind: str, block: Block, hosts: list[Host]) -> None:
        taken = self.taken[kind]
        rest: list[Host] = []
        for host in hosts:
            locked = self.new.hosts.get(host.name, {}).get(kind)
            pin = host.management_address if kind == "management" else None
            if pin is not None and pin != locked:
                self.pin(host, site, block, pin, locked)
            elif locked is None:
                rest.append(host)
        low, high = block.usable
        start = max(low, block.first + RESERVED_LOW[kind]) if block.size > 4 else low
        candidate = start
        rest.sort(key=lambda h: natural_key(h.name))
        for n, host in enumerate(rest):
            while candidate in taken and candidate <= high:
                candidate += 1
            if candidate > high:
                capacity = max(0, high - start + 1)
                self.problem(("spec", "sites", si, "hosts"),
                             f"site {site!r} {kind} prefix {block} is exhausted: {len(rest) - n} more host(s) "
                             f"need addresses ({capacity} usable); lower supernets.{kind}.prefixLength "
                             f"(each step down doubles a site's prefix) or pin a larger prefix")
                return
            self._assign(host, kind, candidate, None)
            candidate += 1

    def pin(self, host: Host, site: str, block: Block, pin: str, locked: str | None) -> None:
        """A ``managementAddress`` the lock does not hold yet: a new host, or a move."""
        path = host.path + ("managementAddress",)
        try:
            value = parse_address(pin)
        except ValueError as exc:
            self.problem(path, str(exc))
            return
        low, high = block.usable
        if not low <= value <= high:
            what = "the network address of" if value == block.first else "the broadcast address of" if value == block.last else "outside"
            self.problem(path, f"{address(value)} is {what} site {site!r} management prefix {block}")
            return
        holder = self.taken["management"].get(value)
        if holder is not None:
            where = f" ({self.old.line('hosts', holder, 'management')})" if holder in self.old.hosts else ""
            self.problem(path, f"{address(value)} is already the management address of host {holder}{where}: "
                               f"release or renumber that host first")
            return
        self._assign(host, "management", value, locked)

    def _assign(self, host: Host, kind: str, value: int, old: str | None) -> None:
        text = address(value)
        self.taken[kind][value] = host.name
        self.new.hosts.setdefault(host.name, {})[kind] = text
        self.changes.append(Change("move" if old else "add", "hosts", host.name, kind, text, old))


def allocate(cat: Catalogue, old: Lock | None = None, prune: bool = False) -> Allocation:
    """The complete allocation for ``cat``, keeping everything in ``old``; raises UserInputError
    listing every problem of the pools, the lock and the allocation."""
    old = old or Lock()
    pools, prefixlen, problems = read_pools(cat)
    if problems:
        raise UserInputError(problems)
    live = live_owners(cat)
    alloc = _Allocator(cat, old, pools, prefixlen)
    alloc.keep(old, prune, live)
    if alloc.problems:
        raise UserInputError(alloc.problems)
    site_blocks = alloc.sites()
    alloc.clusters()
    alloc.hosts(site_blocks, live)
    if alloc.problems:
        raise UserInputError(alloc.problems)
    return Allocation(alloc.new, alloc.changes)
