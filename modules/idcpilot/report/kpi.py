"""The quarterly KPIs, as pure functions over the catalogue (and verify measurements).

Nothing here reads files or the clock: thresholds, the assessment date and measurements are
arguments, so every number in the report can be recomputed and tested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from idcpilot.sdwan.reach import unjoined_pairs
from idcpilot.catalogue.estate import Catalogue
from idcpilot.catalogue.model import DataStore, Site

Status = Literal["pass", "fail", "unknown"]
TIERS: tuple[str, ...] = ("backbone", "edge", "mobile")


def compare(value: float | None, comparator: str, threshold: float | None) -> Status:
    if value is None or threshold is None:
        return "unknown"
    ok = value <= threshold if comparator == "<=" else value >= threshold
    return "pass" if ok else "fail"


# --------------------------------------------------------------------------- automation


@dataclass(frozen=True)
class Automation:
    automated: int
    total: int
    manual: tuple[str, ...]  # names of hosts still run by hand

    @property
    def rate(self) -> float | None:
        return self.automated / self.total if self.total else None


def automation(cat: Catalogue) -> Automation:
    """Automated hosts and components ÷ all hosts and components.

    Hosts carry ``automated``; clusters, gateways and services are managed by the Pulumi
    stacks, so they count as automated components (the same count as rule PILOT-AUTOOPS).
    """
    hosts = list(cat.hosts.values())
    manual = tuple(sorted(h.name for h in hosts if not h.automated))
    spec = cat.estate.spec
    components = len(spec.clusters) + len(spec.gateways) + len(spec.services)
    total = len(hosts) + components
    return Automation(automated=total - len(manual), total=total, manual=manual)


# --------------------------------------------------------------------------- CDN


def cdn_nodes(cat: Catalogue) -> dict[str, int]:
    """CDN nodes per site (every site listed, zero included)."""
    return {site: sum(1 for h in hosts if h.has("cdn_node")) for site, hosts in cat.hosts_by_site.items()}


# --------------------------------------------------------------------------- tiers and regions


@dataclass(frozen=True)
class TierCoverage:
    regions_in_scope: tuple[str, ...]
    matrix: dict[str, dict[str, tuple[str, ...]]]  # region -> tier -> sites
    by_tier: dict[str, float]  # tier -> regions with a site of that tier ÷ regions in scope
    covered: tuple[str, ...]  # in-scope regions with at least one site
    out_of_scope: tuple[str, ...]  # regions with sites that are not in scope
    tiers_present: tuple[str, ...]

    @property
    def coverage(self) -> float:
        return len(self.covered) / len(self.regions_in_scope) if self.regions_in_scope else 0.0

    @property
    def missing_tiers(self) -> tuple[str, ...]:
        return tuple(t for t in TIERS if t not in self.tiers_present)


def tier_coverage(cat: Catalogue) -> TierCoverage:
    scope = tuple(cat.estate.spec.regions_in_scope)
    regions = list(scope) + sorted({s.region for s in cat.sites.values()} - set(scope))
    matrix: dict[str, dict[str, tuple[str, ...]]] = {
        r: {t: tuple(s.name for s in cat.sites.values() if s.region == r and s.tier == t) for t in TIERS} for r in regions
    }
    by_tier = {t: (sum(1 for r in scope if matrix[r][t]) / len(scope) if scope else 0.0) for t in TIERS}
    covered = tuple(r for r in scope if any(matrix[r][t] for t in TIERS))
    present = tuple(t for t in TIERS if any(s.tier == t for s in cat.sites.values()))
    return TierCoverage(scope, matrix, by_tier, covered, tuple(r for r in regions if r not in scope), present)


# --------------------------------------------------------------------------- PUE


@dataclass(frozen=True)
class SitePue:
    site: str
    tier: str
    region: str
    design: float
    measured: float | None
    measured_on: dt.date | None
    threshold: float
    override: str | None  # name of the threshold override that applies, if any

    @property
    def worst(self) -> float:
        return max(self.design, self.measured) if self.measured is not None else self.design

    @property
    def status(self) -> Status:
        return compare(self.worst, "<=", self.threshold)


def pue_by_site(cat: Catalogue, threshold: Callable[[Site], float], override: Callable[[Site], str | None] = lambda s: None) -> list[SitePue]:
    """Every site's design and latest measured PUE against the threshold that applies to it."""
    return [
        SitePue(s.name, s.tier, s.region, s.pue.design, s.pue.measured, s.pue.measured_on, float(threshold(s)), override(s))
        for s in cat.estate.spec.sites
    ]


# --------------------------------------------------------------------------- SD-WAN


@dataclass(frozen=True)
class LinkLatency:
    a: str
    b: str
    encryption: str
    budget_ms: float | None
    measured_ms: float | None  # one-way (RTT/2) from verification
    threshold_ms: float
    measured_status: str | None = None  # the verify status for this link, when reported

    @property
    def key(self) -> str:
        return link_key(self.a, self.b)

    @property
    def status(self) -> Status:
        """Fail on any evidence against the link; pass only once it was measured within the
        limit (a budget within it is a plan, not a measurement); otherwise unknown (grey)."""
        checks = [compare(v, "<=", self.threshold_ms) for v in (self.budget_ms, self.measured_ms) if v is not None]
        if self.encryption == "none" or "fail" in checks or self.measured_status == "fail":
            return "fail"
        if self.budget_ms is None or self.measured_ms is None:
            return "unknown"
        return "pass"


def link_key(a: str, b: str) -> str:
    """Links are undirected: the key orders the two ends."""
    x, y = sorted((a, b))
    return f"{x}--{y}"


def sdwan_links(cat: Catalogue, threshold_ms: float, measured: dict[str, float] | None = None,
                measured_status: dict[str, str] | None = None) -> list[LinkLatency]:
    sdwan = cat.estate.spec.sdwan
    if sdwan is None:
        return []
    measured = measured or {}
    measured_status = measured_status or {}
    out = []
    for link in sdwan.links:
        key = link_key(link.a, link.b)
        out.append(LinkLatency(link.a, link.b, link.encryption, link.latency_budget_ms, measured.get(key), float(threshold_ms),
                               measured_status.get(key)))
    return out


def sdwan_connected(cat: Catalogue) -> bool:
    """The overlay joins every pair of sites (as rule PILOT-SDWAN-ENCRYPT judges it)."""
    return cat.estate.spec.sdwan is not None and not unjoined_pairs(cat)


# --------------------------------------------------------------------------- data


def is_sensitive(store: DataStore, sensitive_classes: tuple[str, ...]) -> bool:
    """GB/T 43697-2024 important or core data (the thresholds' list), or sensitive personal information."""
    return store.classification in sensitive_classes or store.sensitive_personal


@dataclass(frozen=True)
class EncryptionCoverage:
    encrypted: tuple[str, ...]
    unencrypted: tuple[str, ...]  # sensitive stores missing encryption at rest or in transit

    @property
    def total(self) -> int:
        return len(self.encrypted) + len(self.unencrypted)

    @property
    def rate(self) -> float | None:
        return len(self.encrypted) / self.total if self.total else None


def encryption_coverage(cat: Catalogue, sensitive_classes: tuple[str, ...]) -> EncryptionCoverage:
    ok, bad = [], []
    for store in cat.estate.spec.data_stores:
        if not is_sensitive(store, sensitive_classes):
            continue
        (ok if store.encrypted_at_rest and store.encrypted_in_transit else bad).append(store.name)
    return EncryptionCoverage(tuple(ok), tuple(bad))


# --------------------------------------------------------------------------- drills


def drills_in_window(cat: Catalogue, as_of: dt.date, window_days: int, kinds: tuple[str, ...] = ()) -> list[str]:
    """Drills (of the counted kinds, if given) held in the ``window_days`` up to ``as_of``."""
    start = as_of - dt.timedelta(days=window_days)
    return [
        d.name
        for d in sorted(cat.estate.spec.drills, key=lambda d: d.date)
        if start < d.date <= as_of and (not kinds or d.kind in kinds)
    ]


# --------------------------------------------------------------------------- zero trust


@dataclass(frozen=True)
class ZtAccuracy:
    accuracy: float | None
    correct: int | None = None
    total: int | None = None


def zt_accuracy(measurement: Any) -> ZtAccuracy:
    """Accept a bare ratio, or {accuracy} / {correct, total} as verification reports it."""
    if isinstance(measurement, bool) or measurement is None:
        return ZtAccuracy(None)
    if isinstance(measurement, (int, float)):
        return ZtAccuracy(float(measurement))
    if isinstance(measurement, dict) and any(str(k).endswith(".accuracy") for k in measurement):
        # per gateway, as the zt verify suite records it: "<gateway>.accuracy", "<gateway>.requests"; the worst counts
        per = {str(k)[: -len(".accuracy")]: v for k, v in measurement.items()
               if str(k).endswith(".accuracy") and isinstance(v, (int, float)) and not isinstance(v, bool)}
        if not per:
            return ZtAccuracy(None)
        requests = [measurement.get(f"{gw}.requests") for gw in per]
        total = sum(r for r in requests if isinstance(r, int)) if all(isinstance(r, int) for r in requests) else None
        correct = round(sum(per[gw] * measurement[f"{gw}.requests"] for gw in per)) if total else None
        return ZtAccuracy(float(min(per.values())), correct, total)
    if isinstance(measurement, dict):
        correct = measurement.get("correct")
        total = measurement.get("total")
        acc = measurement.get("accuracy")
        if isinstance(correct, int) and isinstance(total, int) and total > 0:
            return ZtAccuracy(correct / total if acc is None else float(acc), correct, total)
        if isinstance(acc, (int, float)):
            return ZtAccuracy(float(acc))
    return ZtAccuracy(None)


# --------------------------------------------------------------------------- summary


@dataclass
class Kpi:
    """One number at the top of the report."""

    id: str
    rule: str
    value: float | None
    unit: str  # "%" (value is a ratio 0..1), "ms", "nodes", "drills", ""
    threshold: float | None
    comparator: str
    status: Status
    detail: dict[str, Any] = field(default_factory=dict)
    previous: float | None = None
    change: float | None = None
