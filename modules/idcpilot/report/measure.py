"""Reading verification measurements (``measurements`` in verify JSON, keyed by rule id).

Verification reports numbers in a few natural shapes; these functions accept them all and
map host names to their sites, so the report can put a measured latency next to the link's
budget. Unknown shapes yield nothing rather than a guess.
"""

from __future__ import annotations

import re
from typing import Any

from idcpilot.catalogue.estate import Catalogue
from idcpilot.report.kpi import link_key

ONE_WAY_KEYS = ("oneWayMs", "one_way_ms", "latencyMs", "latency_ms", "ms", "value")
RTT_KEYS = ("rttMs", "rtt_ms", "rtt")
END_KEYS = (("a", "b"), ("from", "to"), ("src", "dst"), ("source", "target"))
_SPLIT = re.compile(r"\s*(?:<->|<=>|--|->|\||,|\s)\s*")


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def _one_way(value: Any) -> float | None:
    """A number is one-way ms already; a record may give one-way or round-trip."""
    direct = _number(value)
    if direct is not None:
        return direct
    if isinstance(value, dict):
        for key in ONE_WAY_KEYS:
            if _number(value.get(key)) is not None:
                return float(value[key])
        for key in RTT_KEYS:
            if _number(value.get(key)) is not None:
                return float(value[key]) / 2
    return None


def _site(cat: Catalogue, name: str) -> str | None:
    if name in cat.sites:
        return name
    host = cat.hosts.get(name)
    return host.site if host else None


def _ends_from_key(cat: Catalogue, key: str) -> tuple[str, str] | None:
    parts = [p for p in _SPLIT.split(key.strip()) if p]
    if len(parts) == 2:
        a, b = _site(cat, parts[0]), _site(cat, parts[1])
        if a and b:
            return a, b
    # site names contain '-': try every split point of a single-dash join
    for i in range(1, key.count("-") + 1):
        left, right = key.split("-", i)[:i], key.split("-", i)[i]
        a, b = _site(cat, "-".join(left)), _site(cat, right)
        if a and b:
            return a, b
    return None


def sdwan_latency(cat: Catalogue, measurement: Any) -> dict[str, float]:
    """link key ('a--b', sites sorted) -> worst measured one-way latency in ms."""
    out: dict[str, float] = {}

    def put(a: str, b: str, ms: float | None) -> None:
        if ms is None or a == b:
            return
        key = link_key(a, b)
        out[key] = max(ms, out.get(key, ms))

    def walk(node: Any) -> None:
        if isinstance(node, dict) and "links" in node:
            walk(node["links"])
            return
        if isinstance(node, dict):
            for key, value in node.items():
                ends = _ends_from_key(cat, str(key))
                if ends is None and isinstance(value, dict):  # {"from": host, "to": host, ...} under any key
                    for ka, kb in END_KEYS:
                        a = _site(cat, str(value.get(ka, "")))
                        b = _site(cat, str(value.get(kb, "")))
                        if a and b:
                            ends = (a, b)
                            break
                if ends:
                    put(*ends, _one_way(value))
                elif isinstance(value, (dict, list)):  # grouped, e.g. by the measuring host
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                if not isinstance(item, dict):
                    continue
                for ka, kb in END_KEYS:
                    if ka in item and kb in item:
                        a, b = _site(cat, str(item[ka])), _site(cat, str(item[kb]))
                        if a and b:
                            put(a, b, _one_way(item))
                        break
                else:
                    name = item.get("link") or item.get("name")
                    ends = _ends_from_key(cat, str(name)) if name else None
                    if ends:
                        put(*ends, _one_way(item))

    walk(measurement)
    return out


def rule_measurement(measurements: dict[str, Any], rule: str) -> Any:
    return measurements.get(rule)
