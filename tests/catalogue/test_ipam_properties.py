"""Property tests: IPAM never overlaps, never renumbers, and its lock file round-trips."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from idcpilot.errors import UserInputError
from idcpilot.ipam import Lock, allocate, host_kinds
from idcpilot.ipam.blocks import Block, parse_address
from idcpilot.ipam.lock import read_lock, write_lock

from .estates import catalogue, estate, site

site_specs = st.lists(
    st.tuples(st.integers(0, 40), st.booleans(), st.integers(0, 3)),  # hosts, wan, k8s nodes
    min_size=1,
    max_size=12,
)


def _estate(specs, names=None):
    names = names or [f"s{i}" for i in range(len(specs))]
    sites = [site(n, h, w, k) for n, (h, w, k) in zip(names, specs)]
    clusters = [
        {"name": f"{n}-c", "site": n, "nodes": [f"{n}-k8s"], "kubernetesVersion": "1.30.4"}
        for n, (_, _, k) in zip(names, specs) if k
    ]
    return estate(sites, clusters)


def _assert_disjoint(lock: Lock) -> None:
    blocks = [Block.parse(v) for kinds in list(lock.sites.values()) + list(lock.clusters.values()) for v in kinds.values()]
    for a, b in itertools.combinations(blocks, 2):
        assert not a.overlaps(b), f"{a} overlaps {b}"
    for kind in ("management", "service", "overlay", "loopback"):
        values = [h[kind] for h in lock.hosts.values() if kind in h]
        assert len(values) == len(set(values)), f"duplicate {kind} address"


@settings(max_examples=60, deadline=None)
@given(site_specs)
def test_no_two_allocations_overlap(specs) -> None:
    cat = catalogue(_estate(specs))
    lock = allocate(cat).lock
    _assert_disjoint(lock)
    for name, host in cat.hosts.items():
        site_block = Block.parse(lock.sites[host.site]["management"])
        assert site_block.first < parse_address(lock.hosts[name]["management"]) < site_block.last


@settings(max_examples=60, deadline=None)
@given(site_specs, site_specs, st.randoms(use_true_random=False), st.lists(st.integers(0, 20), max_size=12))
def test_adding_in_any_order_never_renumbers(before, added, rnd, extra_hosts) -> None:
    first = catalogue(_estate(before))
    lock1 = allocate(first).lock

    # grow: more hosts in existing sites, new sites, listed in a random order
    grown = [(h + (extra_hosts[i] if i < len(extra_hosts) else 0), w, k) for i, (h, w, k) in enumerate(before)]
    names = [f"s{i}" for i in range(len(before))] + [f"n{i}" for i in range(len(added))]
    pairs = list(zip(names, grown + list(added)))
    rnd.shuffle(pairs)
    second = catalogue(_estate([p for _, p in pairs], [n for n, _ in pairs]))
    result = allocate(second, lock1)
    lock2 = result.lock
    for section in ("sites", "clusters", "hosts"):
        old, new = lock1.section(section), lock2.section(section)
        for owner, kinds in old.items():
            for kind, value in kinds.items():
                assert new[owner][kind] == value, f"{section}/{owner} {kind} renumbered"
    _assert_disjoint(lock2)
    assert all(c.action == "add" for c in result.changes)

    # the same catalogue in another order, from the same lock, gives the same answer
    rnd.shuffle(pairs)
    third = catalogue(_estate([p for _, p in pairs], [n for n, _ in pairs]))
    assert allocate(third, lock1).lock == lock2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(site_specs)
def test_lock_file_round_trips(tmp_path, specs) -> None:
    lock = allocate(catalogue(_estate(specs))).lock
    write_lock(tmp_path, lock)
    again = read_lock(tmp_path)
    assert again == lock
    assert again.dump() == lock.dump()


@settings(max_examples=30, deadline=None)
@given(site_specs, st.integers(0, 11))
def test_removed_owners_stay_reserved_until_pruned(specs, drop) -> None:
    names = [f"s{i}" for i in range(len(specs))]
    lock1 = allocate(catalogue(_estate(specs, names))).lock
    gone = names[drop % len(names)]
    kept = [(n, s) for n, s in zip(names, specs) if n != gone]
    if not kept:
        return
    smaller = catalogue(_estate([s for _, s in kept], [n for n, _ in kept]))
    held = allocate(smaller, lock1)
    assert gone in held.lock.sites and not held.pending
    assert any(c.action == "orphan" and c.owner == gone for c in held.changes)
    pruned = allocate(smaller, lock1, prune=True)
    assert gone not in pruned.lock.sites and pruned.pending


# ------------------------------------------------------------------ pools moved, grown, shrunk

#: sixteen /12s: pools are made of these, or of their first or last /14
SLOTS = [f"10.{16 * i}.0.0/12" for i in range(16)]
KINDS = ("management", "service", "overlay", "loopback", "pod", "serviceCidr")
PREFIXLEN = {"management": 24, "service": 24, "overlay": 28, "loopback": 28, "pod": 20, "serviceCidr": 24}
ACTIONS = ("grow", "shrink-low", "shrink-high", "move", "onto-another")


def _pools(slots: dict[str, list[str]]) -> dict:
    return {k: {"cidrs": slots[k], "prefixLength": PREFIXLEN[k]} for k in KINDS}


def _quarter(slot: str, last: bool) -> str:
    block = Block.parse(slot)
    size = block.size // 4
    return str(Block(block.last - size + 1 if last else block.first, (block.last if last else block.first + size - 1)))


def _catalogue(specs, names, supernets):
    sites = [site(n, h, w, k) for n, (h, w, k) in zip(names, specs)]
    clusters = [{"name": f"{n}-c", "site": n, "nodes": [f"{n}-k8s"], "kubernetesVersion": "1.30.4"}
                for n, (_, _, k) in zip(names, specs) if k]
    return catalogue(estate(sites, clusters, supernets))


def _assert_sound(cat, lock: Lock, pools: dict) -> None:
    """Every prefix of every kind disjoint from every other, inside its pool; host addresses
    unique, usable, inside their own site's prefix."""
    prefixes = [(Block.parse(v), f"{s}/{o} {k}", k) for s in ("sites", "clusters") for o, kinds in lock.section(s).items()
                for k, v in kinds.items()]
    prefixes.sort()
    for (a, la, _), (b, lb, _) in zip(prefixes, prefixes[1:]):
        assert not a.overlaps(b), f"{la} {a} overlaps {lb} {b}"
    for block, label, kind in prefixes:
        assert any(Block.parse(p).contains(block) for p in pools[kind]["cidrs"]), f"{label} {block} outside its pool"
    seen: set[int] = set()
    for name, kinds in lock.hosts.items():
        for kind, value in kinds.items():
            a = parse_address(value)
            assert a not in seen, f"{name} {kind} {value} given twice"
            seen.add(a)
            if name in cat.hosts:
                own = Block.parse(lock.sites[cat.hosts[name].site][kind])
                low, high = own.usable
                assert low <= a <= high, f"{name} {kind} {value} outside {own} or not usable"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=site_specs,
    after=site_specs,
    kept=st.lists(st.booleans(), min_size=12, max_size=12),
    order=st.permutations(range(16)),
    changed=st.dictionaries(st.sampled_from(KINDS), st.sampled_from(ACTIONS), max_size=3),
    targets=st.lists(st.integers(0, 15), min_size=6, max_size=6),
    prune=st.booleans(),
)
def test_moving_growing_and_shrinking_pools_never_overlaps(tmp_path, before, after, kept, order, changed, targets, prune) -> None:
    old_slots = {k: [SLOTS[order[i]]] for i, k in enumerate(KINDS)}
    names = [f"s{i}" for i in range(len(before))]
    first = _catalogue(before, names, _pools(old_slots))
    lock1 = allocate(first).lock

    new_slots: dict[str, list[str]] = {}
    for i, kind in enumerate(KINDS):
        action = changed.get(kind, "keep")
        slot = old_slots[kind][0]
        free = SLOTS[order[6 + targets[i] % 10]]
        new_slots[kind] = {
            "keep": [slot], "grow": [slot, free], "shrink-low": [_quarter(slot, False)],
            "shrink-high": [_quarter(slot, True)], "move": [free],
            "onto-another": [old_slots[KINDS[targets[i] % 6]][0]],
        }[action]
    # sites kept, removed or added; hosts and clusters change with them
    second_names = [n for n, keep in zip(names, kept) if keep] + [f"n{i}" for i in range(len(after))]
    second_specs = [s for s, keep in zip(before, kept) if keep] + list(after)
    if not second_names:
        return
    second = _catalogue(second_specs, second_names, _pools(new_slots))
    try:
        result = allocate(second, lock1, prune=prune)
    except UserInputError as exc:
        # refused only because the pools no longer hold what the lock holds (or overlap, or ran out)
        reasons = ("moved or shrunk", "is exhausted", "overlaps")
        assert all(any(r in p.message for r in reasons) for p in exc.problems), "\n".join(map(str, exc.problems))
        event("refused")
        return
    event("allocated")
    lock2 = result.lock
    _assert_sound(second, lock2, _pools(new_slots))
    for section in ("sites", "clusters", "hosts"):
        live = {"sites": second.sites, "clusters": second.clusters, "hosts": second.hosts}[section]
        for owner, kinds in lock1.section(section).items():
            if prune and owner not in live:
                assert owner not in lock2.section(section)
                continue
            for kind, value in kinds.items():
                if section == "hosts" and prune and owner in second.hosts and kind not in host_kinds(second.hosts[owner]):
                    continue
                assert lock2.section(section)[owner][kind] == value, f"{section}/{owner} {kind} renumbered"
    # plan == apply: what apply writes, read back, plans no change and is the same lock
    write_lock(tmp_path, lock2)
    again = allocate(second, read_lock(tmp_path), prune=prune)
    assert not again.pending and again.lock == lock2
