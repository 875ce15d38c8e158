"""Which pairs of sites the declared overlay cannot join.

Traffic between two sites crosses hubs only: spokes announce just their own prefixes and
never transit (roles/sdwan_edge filters BGP that way). The policy rule and the report both
judge connectivity with this one function.
"""

from __future__ import annotations

from idcpilot.catalogue.estate import Catalogue


def unjoined_pairs(cat: Catalogue) -> list[tuple[str, str]]:
    """Site pairs (a < b) with no overlay path whose intermediate sites are all hubs."""
    sites = [s.name for s in cat.estate.spec.sites]
    sdwan = cat.estate.spec.sdwan
    if sdwan is None:
        return [(a, b) for i, a in enumerate(sites) for b in sites[i + 1:]]
    hubs = set(sdwan.hubs)
    adjacent: dict[str, set[str]] = {s: set() for s in sites}
    for link in sdwan.links:
        if link.a in adjacent and link.b in adjacent:
            adjacent[link.a].add(link.b)
            adjacent[link.b].add(link.a)
    out = []
    for origin in sites:
        seen, todo = {origin}, [origin]
        while todo:
            here = todo.pop()
            if here != origin and here not in hubs:
                continue  # reached, but a spoke carries no traffic further
            for nxt in adjacent[here] - seen:
                seen.add(nxt)
                todo.append(nxt)
        out += [(origin, s) for s in sites if s not in seen and origin < s]
    return out
