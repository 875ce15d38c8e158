"""Property tests: IPAM never overlaps, never renumbers, and its lock file round-trips."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idcpilot.ipam import Lock, allocate
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
