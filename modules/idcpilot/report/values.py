"""What the estate declares (or verification measured) for each clause, per site or target.

Pure functions: catalogue + KPI results in, a list of value items out. Each item is
``{"target", "term", "value", "source", "status"?}``; ``term`` is an i18n key naming what the
value is, ``source`` where it came from: ``catalogue`` (declared in the estate file) or
``verify`` (measured on the hosts and read back from the verify results).
"""

from __future__ import annotations

from typing import Any, Callable

from idcpilot.catalogue.estate import Catalogue
from idcpilot.report import kpi as k

Item = dict[str, Any]


def _item(target: str, term: str, value: str, status: str | None = None, source: str = "catalogue") -> Item:
    out: Item = {"target": target, "term": term, "value": value, "source": source}
    if status:
        out["status"] = status
    return out


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "—"
    return f"{x:.{digits}f}".rstrip("0").rstrip(".") if isinstance(x, float) else str(x)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _yn(flag: bool) -> str:
    return "✓" if flag else "✗"  # language-neutral in a bilingual report


class Context:
    """Everything value functions may read; built once per report."""

    def __init__(self, cat: Catalogue, kpis: dict[str, Any], thresholds: dict[str, Any]):
        self.cat = cat
        self.kpis = kpis  # raw KPI computations (kpi module objects) by name
        self.thresholds = thresholds  # rule id -> threshold value (base)
        self.sensitive: tuple[str, ...] = tuple(kpis.get("sensitive", ()))


def pue(ctx: Context) -> list[Item]:
    out = []
    for p in ctx.kpis["pue"]:
        value = f"{_fmt(p.design)} / {_fmt(p.measured)} (≤ {_fmt(p.threshold)})"
        out.append(_item(f"site/{p.site}", "v-pue", value, p.status))
    return out


def autoops(ctx: Context) -> list[Item]:
    a: k.Automation = ctx.kpis["automation"]
    out = [_item(f"estate/{ctx.cat.name}", "v-automation", f"{a.automated}/{a.total} = {_pct(a.rate)}")]
    if a.manual:
        out.append(_item(f"estate/{ctx.cat.name}", "v-manual", ", ".join(a.manual)))
    return out


def multicloud(ctx: Context) -> list[Item]:
    out = []
    for svc in ctx.cat.estate.spec.services:
        if not svc.multi_cloud:
            continue
        clusters = [ctx.cat.clusters[c] for c in svc.clusters if c in ctx.cat.clusters]
        places = {(c.site, ctx.cat.cluster_provider(c)) for c in clusters}  # distinct site or provider
        value = f"{len(places)}: {', '.join(c.name for c in clusters) or '—'}"
        status = k.compare(float(len(places)), ">=", ctx.thresholds.get("PILOT-MULTICLOUD"))
        out.append(_item(f"service/{svc.name}", "v-eligible-clusters", value, status))
    return out


def sdwan_latency(ctx: Context) -> list[Item]:
    """Per link: the budget the estate declares, and the one-way latency verification measured."""
    out = []
    for link in ctx.kpis["links"]:
        target = f"link/{link.a}~{link.b}"
        out.append(_item(target, "v-link-budget", f"{_fmt(link.budget_ms)} ms",
                         k.compare(link.budget_ms, "<=", link.threshold_ms) if link.budget_ms is not None else "unknown"))
        if link.measured_ms is None:
            out.append(_item(target, "v-link-measured", "—", "unknown", source="verify"))
        else:
            out.append(_item(target, "v-link-measured", f"{_fmt(link.measured_ms)} ms",
                             k.compare(link.measured_ms, "<=", link.threshold_ms), source="verify"))
    return out


def sdwan_encrypt(ctx: Context) -> list[Item]:
    out = [
        _item(f"link/{link.a}~{link.b}", "v-link-encryption", link.encryption, "fail" if link.encryption == "none" else "pass")
        for link in ctx.kpis["links"]
    ]
    connected = ctx.kpis["connected"]
    out.append(_item("sdwan/overlay", "v-overlay-connected", _yn(connected), "pass" if connected else "fail"))
    return out


def five_g(ctx: Context) -> list[Item]:
    need = ctx.thresholds.get("PILOT-5G-COVERAGE")
    return [
        _item(f"site/{s.name}", "v-radius", f"{_fmt(s.five_g.radius_km)} km", k.compare(s.five_g.radius_km, ">=", need))
        for s in ctx.cat.estate.spec.sites
        if s.five_g is not None
    ]


def cdn(ctx: Context) -> list[Item]:
    per_site: dict[str, int] = ctx.kpis["cdn"]
    total = sum(per_site.values())
    out = [_item(f"estate/{ctx.cat.name}", "v-cdn", str(total), k.compare(float(total), ">=", ctx.thresholds.get("PILOT-CDN-NODES")))]
    out += [_item(f"site/{site}", "v-cdn", str(n)) for site, n in per_site.items() if n]
    return out


def support(ctx: Context) -> list[Item]:
    need = ctx.thresholds.get("PILOT-SUPPORT")
    return [
        _item(f"support/{c.name}", "v-support", f"{c.hours} / {c.response_seconds} s",
              "pass" if c.hours == "24x7" and k.compare(c.response_seconds, "<=", need) == "pass" else "fail")
        for c in ctx.cat.estate.spec.support
    ]


def service_level(ctx: Context) -> list[Item]:
    return [_item(f"service/{s.name}", "v-level", s.level or "—", "pass" if s.level else "fail") for s in ctx.cat.estate.spec.services]


def transparency(ctx: Context) -> list[Item]:
    hosts = list(ctx.cat.hosts.values())
    watched = sum(1 for h in hosts if h.has("monitoring"))
    out = [_item(f"estate/{ctx.cat.name}", "v-monitoring", f"{watched}/{len(hosts)}",
                 "pass" if watched == len(hosts) else "fail")]
    out += [_item(f"cluster/{c.name}", "v-monitoring", _yn(c.monitoring), "pass" if c.monitoring else "fail")
            for c in ctx.cat.estate.spec.clusters]
    return out


def zero_trust(ctx: Context) -> list[Item]:
    out = []
    for app in ctx.cat.estate.spec.apps:
        if not app.exposed:
            continue
        gw = ctx.cat.gateways.get(app.gateway or "")
        ok = gw is not None and gw.default_deny
        out.append(_item(f"app/{app.name}", "v-gateway", f"{app.gateway or '—'} / {_yn(bool(gw and gw.default_deny))}",
                         "pass" if ok else "fail"))
    acc: k.ZtAccuracy = ctx.kpis["zt"]
    if acc.accuracy is not None:
        detail = f" ({acc.correct}/{acc.total})" if acc.total else ""
        out.append(_item("verify/zero-trust", "v-zt-accuracy", f"{acc.accuracy * 100:.2f}%{detail}",
                         k.compare(acc.accuracy, ">=", ctx.thresholds.get("PILOT-ZT")), source="verify"))
    else:
        out.append(_item("verify/zero-trust", "v-zt-accuracy", "—", "unknown", source="verify"))
    return out


def threat_intel(ctx: Context) -> list[Item]:
    need = ctx.thresholds.get("PILOT-THREAT-INTEL")
    return [_item(f"feed/{f.name}", "v-sync", f"{f.sync_minutes} min", k.compare(float(f.sync_minutes), "<=", need))
            for f in ctx.cat.estate.spec.threat_intel]


def data_class(ctx: Context) -> list[Item]:
    return [_item(f"store/{d.name}", "v-classification", d.classification or "—", "pass" if d.classification else "fail")
            for d in ctx.cat.estate.spec.data_stores]


def data_encrypt(ctx: Context) -> list[Item]:
    enc: k.EncryptionCoverage = ctx.kpis["encryption"]
    out = [_item(f"estate/{ctx.cat.name}", "v-encrypted", f"{len(enc.encrypted)}/{enc.total} = {_pct(enc.rate)}",
                 "pass" if not enc.unencrypted else "fail")]
    for d in ctx.cat.estate.spec.data_stores:
        if k.is_sensitive(d, ctx.sensitive):
            out.append(_item(f"store/{d.name}", "v-encrypted", f"{_yn(d.encrypted_at_rest)} / {_yn(d.encrypted_in_transit)}",
                             "pass" if d.encrypted_at_rest and d.encrypted_in_transit else "fail"))
    return out


def data_domain(ctx: Context) -> list[Item]:
    out = []
    for d in ctx.cat.estate.spec.data_stores:
        home = ctx.cat.sites[d.site].data_domain if d.site in ctx.cat.sites else "?"
        others = [s for s in dict.fromkeys(d.replicas + d.backups)]
        outside = [s for s in others if s in ctx.cat.sites and ctx.cat.sites[s].data_domain != home]
        value = f"{home} / {', '.join(others) or '—'}"
        out.append(_item(f"store/{d.name}", "v-domain", value, "fail" if outside or "internet" in d.egress else "pass"))
    return out


def traceable(ctx: Context) -> list[Item]:
    spec = ctx.cat.estate.spec
    need = ctx.thresholds.get("PILOT-TRACEABLE")
    days = spec.audit.retention_days
    out = [_item(f"estate/{ctx.cat.name}", "v-retention", f"{days} d", k.compare(float(days), ">=", need))]
    for kind, items in (("cluster", spec.clusters), ("gateway", spec.gateways)):
        for x in items:
            d = x.audit_log.retention_days or days
            ok = x.audit_log.enabled and k.compare(float(d), ">=", need) != "fail"
            out.append(_item(f"{kind}/{x.name}", "v-retention", f"{_yn(x.audit_log.enabled)}, {d} d", "pass" if ok else "fail"))
    return out


def emergency(ctx: Context) -> list[Item]:
    need = ctx.thresholds.get("PILOT-EMERGENCY")
    out = []
    for level in ("blue", "yellow", "red"):
        plan = getattr(ctx.cat.estate.spec.emergency, level)
        if plan is None:
            out.append(_item(f"emergency/{level}", "v-emergency", "—", "fail"))
        else:
            out.append(_item(f"emergency/{level}", "v-emergency", f"{plan.owner} / {_fmt(plan.target_hours)} h",
                             k.compare(plan.target_hours, "<=", need)))
    return out


def drills(ctx: Context) -> list[Item]:
    recent = set(ctx.kpis["drills"])
    return [_item(f"drill/{d.name}", "v-drills", f"{d.date.isoformat()} ({d.kind})", "pass" if d.name in recent else None)
            for d in sorted(ctx.cat.estate.spec.drills, key=lambda d: d.date, reverse=True)]


def tiers(ctx: Context) -> list[Item]:
    cov: k.TierCoverage = ctx.kpis["tiers"]
    out = [_item(f"estate/{ctx.cat.name}", "v-coverage",
                 f"{len(cov.covered)}/{len(cov.regions_in_scope)} = {_pct(cov.coverage)}",
                 k.compare(cov.coverage, ">=", ctx.thresholds.get("PILOT-TIERS")))]
    for tier in k.TIERS:
        regions = [r for r in cov.regions_in_scope if cov.matrix[r][tier]]
        out.append(_item(f"tier/{tier}", "v-coverage", f"{_pct(cov.by_tier[tier])}: {', '.join(regions) or '—'}",
                         "pass" if regions else "fail"))
    return out


def mlps3(ctx: Context) -> list[Item]:
    out = [_item(f"estate/{ctx.cat.name}", "v-hosts", str(len(ctx.cat.hosts)))]
    for s in ctx.cat.estate.spec.sites:
        b = s.bastion
        out.append(_item(f"site/{s.name}", "v-bastion", f"{b.host} / {_yn(b.two_factor)}" if b else "—",
                         "pass" if b and b.two_factor else "fail"))
    return out


def k8s(ctx: Context) -> list[Item]:
    out = []
    for c in ctx.cat.estate.spec.clusters:
        services = [s.name for s in ctx.cat.estate.spec.services if c.name in s.clusters]
        out.append(_item(f"cluster/{c.name}", "v-secrets", _yn(c.secrets_encryption), "pass" if c.secrets_encryption else "fail"))
        out.append(_item(f"cluster/{c.name}", "v-workloads", ", ".join(services) or "—"))
    return out


VALUES: dict[str, Callable[[Context], list[Item]]] = {
    "PILOT-PUE": pue,
    "PILOT-AUTOOPS": autoops,
    "PILOT-MULTICLOUD": multicloud,
    "PILOT-SDWAN-LATENCY": sdwan_latency,
    "PILOT-SDWAN-ENCRYPT": sdwan_encrypt,
    "PILOT-5G-COVERAGE": five_g,
    "PILOT-CDN-NODES": cdn,
    "PILOT-SUPPORT": support,
    "PILOT-SERVICE-LEVEL": service_level,
    "PILOT-TRANSPARENCY": transparency,
    "PILOT-ZT": zero_trust,
    "PILOT-THREAT-INTEL": threat_intel,
    "PILOT-DATA-CLASS": data_class,
    "PILOT-DATA-ENCRYPT": data_encrypt,
    "PILOT-DATA-DOMAIN": data_domain,
    "PILOT-TRACEABLE": traceable,
    "PILOT-EMERGENCY": emergency,
    "PILOT-DRILLS": drills,
    "PILOT-TIERS": tiers,
    "PILOT-MLPS3": mlps3,
    "K8S": k8s,
}


def values_for(clause_id: str, ctx: Context) -> list[Item]:
    fn = VALUES.get(clause_id)
    return fn(ctx) if fn else []
