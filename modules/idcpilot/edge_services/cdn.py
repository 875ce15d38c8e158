"""CDN node variables: origins in preference order, cache sizing and per-path rules."""

from __future__ import annotations

from typing import Any

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.catalogue.model import Origin
from idcpilot.edge_services.urls import check_path, parse_endpoint
from idcpilot.errors import UserInputError


def origin_rank(cat: Catalogue, host: Host, origin: Origin) -> int:
    """0 = origin in the node's own site, 1 = same data domain, 2 = elsewhere / unplaced."""
    if origin.site is None or origin.site not in cat.sites:
        return 2
    if origin.site == host.site:
        return 0
    return 1 if cat.domain_of_site(origin.site) == cat.domain_of_site(host.site) else 2


def cdn_vars(cat: Catalogue, host: Host) -> dict[str, Any]:
    """What roles/cdn_node needs for ``host``.

    Origins are ordered nearest first (same site, same data domain, others; catalogue order
    breaks ties). The first origin's scheme is the upstream scheme; origins with another
    scheme cannot share an nginx upstream and are listed under ``skipped_origins``.
    Rules are ordered longest path prefix first so the most specific rule wins.
    """
    cdn = cat.estate.spec.cdn
    ordered = sorted(enumerate(cdn.origins), key=lambda item: (origin_rank(cat, host, item[1]), item[0]))
    origins: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    scheme = None
    for index, origin in ordered:
        try:
            endpoint = parse_endpoint(origin.url)
        except ValueError as exc:
            raise UserInputError([cat.source.problem(("spec", "cdn", "origins", index, "url"), str(exc))]) from None
        scheme = scheme or endpoint.scheme
        entry = {"name": origin.name, "url": origin.url, "site": origin.site, **endpoint.as_dict()}
        if endpoint.scheme != scheme:
            skipped.append({"name": origin.name, "reason": f"scheme {endpoint.scheme} differs from the primary origin's {scheme}"})
            continue
        entry["backup"] = bool(origins)
        origins.append(entry)
    for index, rule in enumerate(cdn.rules):
        try:
            check_path(rule.path_prefix)
        except ValueError as exc:
            raise UserInputError([cat.source.problem(("spec", "cdn", "rules", index, "pathPrefix"), str(exc))]) from None
    rules = sorted(
        ({"path_prefix": r.path_prefix, "ttl_seconds": r.ttl_seconds} for r in cdn.rules),
        key=lambda r: (-len(r["path_prefix"]), r["path_prefix"]),
    )
    return {
        "origins": origins,
        "skipped_origins": skipped,
        "origin_scheme": scheme or "http",
        "cache_size_gb": cdn.cache_size_gb,
        "memory_cache_mb": cdn.memory_cache_mb,
        "stale_if_error_seconds": cdn.stale_if_error_seconds,
        "rules": rules,
    }
