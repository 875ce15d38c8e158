"""Join the catalogue, policy findings, verification results and history into one document.

The document is plain JSON data (``report.json``, checked against ``report.schema.json``);
the HTML and Markdown renderers draw only from it, so all three always say the same thing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from idcpilot import __version__
from idcpilot.catalogue.estate import Catalogue
from idcpilot.catalogue.load import display_name
from idcpilot.errors import UserInputError
from idcpilot.policy.model import SEVERITY_RANK
from idcpilot.report import kpi as k
from idcpilot.report import measure, values
from idcpilot.report.inputs import Findings, Verify
from idcpilot.verify.suites.k8s_support import NODE_RULE, NODE_TEST, node_measurement
from idcpilot.yamlsource import load_yaml_file

SCHEMA_VERSION = "idcpilot-report/v1"
HERE = Path(__file__).resolve().parent

#: Row order: failed rows first, then what needs attention, then what passed.
STATUS_ORDER = {"fail": 0, "waived": 1, "not-verified": 2, "not-checked": 3, "pass": 4, "not-applicable": 5}
#: Passing findings kept as evidence per row (all failures and waivers are always kept).
PASS_EVIDENCE_LIMIT = 200
#: Names listed per verification gap (the counts are always complete).
GAP_NAMES = 50


class ThresholdSource(Protocol):
    def get(self, key: str, site: Any = None) -> Any: ...

    def describe_override(self, key: str, site: Any) -> str | None: ...


@lru_cache(maxsize=1)
def clause_catalogue() -> dict[str, Any]:
    return load_yaml_file(HERE / "clauses.yaml")[0]


def member_ids(clause: dict[str, Any]) -> list[str]:
    group = clause.get("group")
    if not group:
        return []
    return [m["id"] for m in clause_catalogue()["groups"][group]["members"]]


@dataclass(frozen=True)
class Inputs:
    findings: Findings | None
    verify: Verify | None
    history: list[dict[str, Any]]
    waivers: list[dict[str, Any]]  # every waiver in scope for this estate, as the policy engine reads them
    notes: list[str]
    thresholds_file: str = "policy/thresholds.yaml"  # where thresholds came from, for error messages
    provenance: dict[str, Any] | None = None  # estate digest and repo commit (run.provenance)


# --------------------------------------------------------------------------- thresholds


def _threshold_value(th: ThresholdSource, key: str | None) -> float | None:
    if not key:
        return None
    try:
        value = th.get(key)
    except KeyError:
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _threshold(clause: dict[str, Any], th: ThresholdSource, cat: Catalogue,
               thresholds_file: str = "policy/thresholds.yaml") -> dict[str, Any] | None:
    spec = clause.get("threshold")
    if not spec:
        return None
    value = spec.get("fixed")
    value = float(value) if value is not None else _threshold_value(th, spec.get("key"))
    out: dict[str, Any] = {
        "key": spec.get("key"),
        # where the number comes from: the thresholds file, or the clause's own fixed bound
        "source": f"{thresholds_file}: {spec['key']}" if spec.get("key") else "pilot specification (fixed)",
        "value": value,
        "comparator": spec["comparator"],
        "unit": spec.get("unit", ""),
        "overrides": [],
    }
    if spec.get("key") and value is not None:
        per: dict[tuple[str, float], list[str]] = {}
        for site in cat.estate.spec.sites:
            name = th.describe_override(spec["key"], site)
            if name:
                per.setdefault((name, float(th.get(spec["key"], site=site))), []).append(site.name)
        out["overrides"] = [{"name": n, "value": v, "sites": s} for (n, v), s in per.items()]
    return out


# --------------------------------------------------------------------------- KPIs


def compute_kpis(cat: Catalogue, th: ThresholdSource, as_of: dt.date, verify: Verify | None,
                 thresholds_file: str = "policy/thresholds.yaml") -> tuple[dict[str, Any], list[k.Kpi]]:
    """The raw computations (for clause values and pictures) and the KPI list."""
    measurements = verify.measurements if verify else {}
    get = lambda key: _threshold_value(th, key)  # noqa: E731
    sensitive = tuple(_required(th, "data.sensitive", thresholds_file))
    window = int(_required(th, "drills.windowDays", thresholds_file))
    kinds = tuple(th.get("drills.kinds")) if _has(th, "drills.kinds") else ()  # optional: every kind counts
    latency_ms = measure.sdwan_latency(cat, measurements.get("PILOT-SDWAN-LATENCY"))
    raw: dict[str, Any] = {
        "automation": k.automation(cat),
        "cdn": k.cdn_nodes(cat),
        "tiers": k.tier_coverage(cat),
        "pue": k.pue_by_site(cat, lambda s: th.get("pue.max", site=s), lambda s: th.describe_override("pue.max", s)),
        "links": k.sdwan_links(cat, float(_required(th, "sdwan.maxLatencyMs", thresholds_file)), latency_ms),
        "connected": k.sdwan_connected(cat),
        "zt": k.zt_accuracy(measurements.get("PILOT-ZT")),
        "encryption": k.encryption_coverage(cat, sensitive),
        "drills": k.drills_in_window(cat, as_of, window, kinds),
        "sensitive": sensitive,
        "window": window,
    }
    raw["zt_status"] = k.compare(raw["zt"].accuracy, ">=", get("zeroTrust.minAccuracy"))
    a: k.Automation = raw["automation"]
    cov: k.TierCoverage = raw["tiers"]
    pues: list[k.SitePue] = raw["pue"]
    links: list[k.LinkLatency] = raw["links"]
    zt: k.ZtAccuracy = raw["zt"]
    enc: k.EncryptionCoverage = raw["encryption"]
    cdn_total = sum(raw["cdn"].values())
    budgets = [l.budget_ms for l in links if l.budget_ms is not None]
    measured = [l.measured_ms for l in links if l.measured_ms is not None]
    lat_th = get("sdwan.maxLatencyMs")
    cov_th = get("tiers.minRegionCoverage")
    cov_status = k.compare(cov.coverage, ">=", cov_th)
    if cov.missing_tiers:
        cov_status = "fail"
    worst = max(pues, key=lambda p: p.worst) if pues else None
    kpis = [
        k.Kpi("automation", "PILOT-AUTOOPS", a.rate, "%", get("autoops.minRate"), ">=",
              k.compare(a.rate, ">=", get("autoops.minRate")),
              {"automated": a.automated, "total": a.total, "manual": list(a.manual)}),
        k.Kpi("cdn", "PILOT-CDN-NODES", float(cdn_total), "nodes", get("cdn.minNodes"), ">=",
              k.compare(float(cdn_total), ">=", get("cdn.minNodes")), {"bySite": dict(raw["cdn"])}),
        k.Kpi("coverage", "PILOT-TIERS", cov.coverage, "%", cov_th, ">=", cov_status,
              {"byTier": dict(cov.by_tier), "covered": list(cov.covered), "regionsInScope": list(cov.regions_in_scope),
               "missingTiers": list(cov.missing_tiers)}),
        k.Kpi("pue", "PILOT-PUE", worst.worst if worst else None, "", get("pue.max"), "<=",
              "fail" if any(p.status == "fail" for p in pues) else ("pass" if pues else "unknown"),
              {"worstSite": worst.site if worst else None,
               "bySite": {p.site: {"design": p.design, "measured": p.measured, "threshold": p.threshold} for p in pues}}),
        k.Kpi("sdwan-budget", "PILOT-SDWAN-LATENCY", max(budgets) if budgets else None, "ms", lat_th, "<=",
              k.compare(max(budgets) if budgets else None, "<=", lat_th),
              {"links": len(links), "withBudget": len(budgets)}),
        k.Kpi("sdwan-measured", "PILOT-SDWAN-LATENCY", max(measured) if measured else None, "ms", lat_th, "<=",
              k.compare(max(measured) if measured else None, "<=", lat_th),
              {"links": len(links), "measured": len(measured)}),
        k.Kpi("zt", "PILOT-ZT", zt.accuracy, "%", get("zeroTrust.minAccuracy"), ">=",
              k.compare(zt.accuracy, ">=", get("zeroTrust.minAccuracy")),
              {"correct": zt.correct, "total": zt.total}),
        k.Kpi("encryption", "PILOT-DATA-ENCRYPT", enc.rate, "%", _fixed("PILOT-DATA-ENCRYPT"), ">=",
              "unknown" if enc.rate is None else ("pass" if not enc.unencrypted else "fail"),
              {"encrypted": list(enc.encrypted), "unencrypted": list(enc.unencrypted)}),
        k.Kpi("drills", "PILOT-DRILLS", float(len(raw["drills"])), "drills", get("drills.minPerYear"), ">=",
              k.compare(float(len(raw["drills"])), ">=", get("drills.minPerYear")),
              {"drills": list(raw["drills"]), "windowDays": window}),
    ]
    return raw, kpis


def _required(th: ThresholdSource, key: str, file: str) -> Any:
    try:
        return th.get(key)
    except KeyError:
        raise UserInputError.single(file, f"no threshold {key!r} (the report needs it)", field=f"thresholds.{key}") from None


def _fixed(clause_id: str) -> float:
    """A clause's fixed bound from clauses.yaml (e.g. "100%" of sensitive data encrypted)."""
    clause = next(c for c in clause_catalogue()["clauses"] if c["id"] == clause_id)
    return float(clause["threshold"]["fixed"])


def _has(th: ThresholdSource, key: str) -> bool:
    try:
        th.get(key)
        return True
    except KeyError:
        return False


#: KPIs measured on the hosts (read back from --verify); every other KPI is computed from the catalogue.
VERIFY_KPIS = frozenset({"sdwan-measured", "zt"})


def kpi_dict(x: k.Kpi) -> dict[str, Any]:
    return {
        "id": x.id, "rule": x.rule, "term": f"kpi-{x.id}", "value": x.value, "unit": x.unit,
        "source": "verify" if x.id in VERIFY_KPIS else "catalogue",
        "threshold": x.threshold, "comparator": x.comparator, "status": x.status, "detail": x.detail,
        "previous": x.previous, "change": x.change, "series": [],
    }


# --------------------------------------------------------------------------- history


def apply_history(kpis: list[dict[str, Any]], history: list[dict[str, Any]], estate: str, as_of: dt.date) -> dict[str, Any] | None:
    """Fill each KPI's previous value and change from the latest earlier report of this estate."""
    earlier = sorted(
        (h for h in history if h["estate"]["name"] == estate and h["asOf"] < as_of.isoformat()),
        key=lambda h: (h["asOf"], h["generatedAt"]),
    )
    for x in kpis:
        series = []
        for h in earlier:
            old = next((o for o in h["kpis"] if o["id"] == x["id"]), None)
            if old is not None and old["value"] is not None:
                series.append({"asOf": h["asOf"], "value": old["value"]})
        if x["value"] is not None:
            series.append({"asOf": as_of.isoformat(), "value": x["value"]})
        x["series"] = series
    if not earlier:
        return None
    last = earlier[-1]
    for x in kpis:
        old = next((o for o in last["kpis"] if o["id"] == x["id"]), None)
        if old is not None and old["value"] is not None:
            x["previous"] = old["value"]
            if x["value"] is not None:
                x["change"] = round(x["value"] - old["value"], 9)
    return {"asOf": last["asOf"], "file": last.get("_file"), "reports": len(earlier)}


# --------------------------------------------------------------------------- rows


def _rule_of_waiver_finding(target: str) -> str | None:
    """POLICY-WAIVER findings target 'waiver/<RULE>:<target>'."""
    if target.startswith("waiver/") and ":" in target:
        return target[len("waiver/"):].split(":", 1)[0]
    return None


def _evidence_finding(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "finding", "rule": f["rule"], "status": f["status"], "severity": f.get("severity"),
        "target": f.get("target", ""), "message": f.get("message", ""), "location": f.get("location"),
    }


def _evidence_verify(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "verify", "rule": r["rule"], "status": r["status"], "host": r.get("host"),
        "test": r.get("test") or r["rule"], "message": r.get("message") or "", "duration": r.get("duration"),
    }


def _first_present(statuses: set[str], order: tuple[str, ...], otherwise: str) -> str:
    return next((s for s in order if s in statuses), otherwise)


def _plan_status(fs: list[dict[str, Any]]) -> str:
    """Worst policy outcome; no findings at all means the gate did not check it."""
    statuses = {f["status"] for f in fs}
    if statuses == {"not-applicable"}:
        return "not-applicable"
    return _first_present(statuses, ("fail", "waived", "pass"), "not-checked")


def _verify_status(rs: list[dict[str, Any]], stage: list[str]) -> str:
    """Worst verification outcome read back from hosts. Results always count, whatever the
    spec's stages say (a host check of a plan-stage clause that fails is still a failure);
    without results, a verify-stage clause was not verified and a plan-only one needs no
    verification. Skips decide nothing: only skips is "skipped" (= not verified)."""
    if not rs:
        return "not-run" if "verify" in stage else "not-applicable"
    return _first_present({r["status"] for r in rs}, ("fail", "pass", "skipped"), "not-run")


def _gap(kind: str, expected: list[str], covered: set[str]) -> dict[str, Any] | None:
    """What verification should have covered and did not (hosts, links, member rules, measurements)."""
    missing = [x for x in expected if x not in covered]
    if not missing:
        return None
    return {"kind": kind, "expected": len(expected), "covered": len(expected) - len(missing), "missing": missing[:GAP_NAMES]}


def _with_gaps(status: str, gaps: list[dict[str, Any]]) -> str:
    """Checks that passed on part of what they must cover are "partial", never "pass"."""
    return "partial" if status == "pass" and gaps else status


def _overall(plan: str, verify: str, stage: list[str]) -> str:
    """A row's result from its plan (policy) and verify (read back from hosts) parts.

    Any failure fails; a waived plan failure is waived. A clause the spec checks at the verify
    stage passes only when its plan part passed (or had nothing to judge) AND its verify checks
    were read back and passed everywhere they had to run; verify missing, skipped or partial is
    "not-verified". A plan-only clause is decided by its plan part (passing host checks of it
    add evidence, never a pass of their own).
    """
    if "fail" in (plan, verify):
        return "fail"
    if plan == "waived":
        return "waived"
    if plan == "not-checked" and "plan" in stage:
        return "not-checked"
    if "verify" in stage:
        if verify == "pass":
            return "pass"
        if plan == "not-applicable" and verify in ("not-run", "not-applicable"):
            return "not-applicable"  # nothing to judge at plan stage, nothing read back
        return "not-verified"
    if plan == "not-applicable" and verify == "pass":
        return "pass"  # nothing to judge in the catalogue, and the host checks passed
    return plan


def _counts(items: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, int]:
    return {key: sum(1 for i in items if i["status"] == key) for key in keys}


def _evidence_sort(e: dict[str, Any]) -> tuple[Any, ...]:
    order = {"fail": 0, "waived": 1, "skipped": 2, "pass": 3, "not-applicable": 4}
    loc = e.get("location") or {}
    return (order.get(e["status"], 5), -SEVERITY_RANK.get(e.get("severity") or "", 0), e["rule"],
            loc.get("file") or "", loc.get("line") or 0, e.get("target") or e.get("host") or "")


def _waiver_view(w: dict[str, Any], as_of: dt.date) -> dict[str, Any]:
    expires = str(w.get("expires") or "")
    return {
        "rule": w.get("rule", ""), "target": w.get("target", ""), "justification": w.get("justification") or "",
        "approver": w.get("approver") or "", "expires": expires or None,
        "expired": bool(expires) and expires < as_of.isoformat(), "location": w.get("location"),
    }


def _verify_gaps(clause: dict[str, Any], cat: Catalogue, raw: dict[str, Any], inputs: Inputs,
                 results: list[dict[str, Any]], members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where verification results exist but do not cover what the clause's checks must cover.

    ``verifyScope`` in clauses.yaml names it: ``role`` (every automated host of that role must
    have a result that is not a skip), ``links`` (every SD-WAN link measured), ``measurement``
    (the figure the threshold applies to was measured). Member rules of a verify-stage group
    must each be verified.
    """
    scope = clause.get("verifyScope") or {}
    gaps: list[dict[str, Any] | None] = []
    if scope.get("role"):
        expected = sorted(h.name for h in cat.hosts_with(scope["role"]) if h.automated)
        gaps.append(_gap("hosts", expected, {r["host"] for r in results if r["status"] != "skipped" and r.get("host")}))
    if scope.get("links"):
        links: list[k.LinkLatency] = raw["links"]
        gaps.append(_gap("links", [f"{l.a}~{l.b}" for l in links], {f"{l.a}~{l.b}" for l in links if l.measured_ms is not None}))
    if scope.get("measurement") == "zt":
        zt: k.ZtAccuracy = raw["zt"]
        gaps.append(_gap("measurements", ["PILOT-ZT accuracy"], set() if zt.accuracy is None else {"PILOT-ZT accuracy"}))
    verified_members = [m for m in members if "verify" in m["stage"]]
    if verified_members:
        gaps.append(_gap("members", [m["id"] for m in verified_members],
                         {m["id"] for m in verified_members if m["verify"]["status"] == "pass"}))
    return [g for g in gaps if g]


def _measured_verdict(cid: str, raw: dict[str, Any], verify: str) -> str:
    """A measurement over its threshold fails the verify part even when the test passed."""
    if cid == "PILOT-SDWAN-LATENCY" and any(l.measured_ms is not None and l.measured_ms > l.threshold_ms for l in raw["links"]):
        return "fail"
    if cid == "PILOT-ZT" and raw.get("zt_status") == "fail":
        return "fail"
    return verify


def build_rows(cat: Catalogue, th: ThresholdSource, inputs: Inputs, raw: dict[str, Any], as_of: dt.date) -> list[dict[str, Any]]:
    catalogue = clause_catalogue()
    findings = inputs.findings.findings if inputs.findings else []
    results = inputs.verify.results if inputs.verify else []
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        rule = f["rule"]
        if rule == "POLICY-WAIVER":
            by_rule.setdefault(rule, []).append(f)
            target_rule = _rule_of_waiver_finding(f.get("target", ""))
            if target_rule and f["status"] == "fail":  # an unusable waiver also belongs to its rule's row
                by_rule.setdefault(f"~{target_rule}", []).append(f)
            continue
        by_rule.setdefault(rule, []).append(f)
    verify_by_rule: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        verify_by_rule.setdefault(r["rule"], []).append(r)

    base_thresholds = {c["id"]: (_threshold(c, th, cat) or {}).get("value") for c in catalogue["clauses"]}
    ctx = values.Context(cat, raw, base_thresholds)
    known: set[str] = set()
    rows = []
    for clause in catalogue["clauses"]:
        cid = clause["id"]
        members = member_ids(clause)
        ids = [cid] + members
        known.update(ids)
        row_findings = [f for i in ids for f in by_rule.get(i, [])]
        waiver_failures = [f for i in ids for f in by_rule.get(f"~{i}", [])]
        row_results = [r for i in ids for r in verify_by_rule.get(i, [])]
        stage = clause.get("stage", ["plan"])
        plan = _plan_status(row_findings + waiver_failures)
        if cid == "POLICY-WAIVER" and inputs.findings is not None and not row_findings and not inputs.waivers:
            plan = "not-applicable"  # no waiver in force: nothing to govern
        members_out = []
        if members:
            group = catalogue["groups"][clause["group"]]
            for m in group["members"]:
                mf = by_rule.get(m["id"], []) + by_rule.get(f"~{m['id']}", [])
                mr = verify_by_rule.get(m["id"], [])
                mstage = list(m.get("stage", group.get("stage", stage)))
                mplan = _plan_status(mf)
                mverify = _verify_status(mr, mstage)
                members_out.append({
                    "id": m["id"], "requirement": {"zh": m["zh"], "en": m["en"]}, "stage": mstage,
                    "plan": {"status": mplan, "counts": _counts(mf, ("pass", "fail", "waived", "not-applicable"))},
                    "verify": {"status": mverify, "counts": _counts(mr, ("pass", "fail", "skipped"))},
                    "status": _overall(mplan, mverify, mstage),
                })
        gaps = _verify_gaps(clause, cat, raw, inputs, row_results, members_out) if inputs.verify is not None else []
        verify = _verify_status(row_results, stage)
        if "verify" in stage:
            verify = _with_gaps(_measured_verdict(cid, raw, verify), gaps)
        verify_part: dict[str, Any] = {"status": verify, "counts": _counts(row_results, ("pass", "fail", "skipped"))}
        if gaps:
            verify_part["gaps"] = gaps
        row: dict[str, Any] = {
            "id": cid,
            "family": cid.split("-", 1)[0],
            "requirement": {"zh": clause["zh"], "en": clause["en"]},
            "stage": list(stage),
            "threshold": _threshold(clause, th, cat, inputs.thresholds_file),
            "values": values.values_for(cid, ctx),
            "plan": {"status": plan, "counts": _counts(row_findings + waiver_failures, ("pass", "fail", "waived", "not-applicable"))},
            "verify": verify_part,
            "status": _overall(plan, verify, stage),
            "waivers": _row_waivers(ids, inputs, row_findings, as_of),
            "evidence": _row_evidence(row_findings + waiver_failures, row_results),
            "members": members_out,
        }
        rows.append(row)
    # Findings for rules this report does not know (a newer rule set): never drop evidence.
    for rule in sorted(r for r in set(by_rule) | set(verify_by_rule) if not r.startswith("~") and r not in known):
        fs, rs = by_rule.get(rule, []), verify_by_rule.get(rule, [])
        title = next((f.get("title") for f in fs if f.get("title")), rule)
        plan = _plan_status(fs)
        stage = (["plan"] if fs else []) + (["verify"] if rs else [])  # what was reported for it is what it has
        verify = _verify_status(rs, stage)
        rows.append({
            "id": rule, "family": rule.split("-", 1)[0], "requirement": {"zh": title, "en": title},
            "stage": stage, "threshold": None, "values": [],
            "plan": {"status": plan, "counts": _counts(fs, ("pass", "fail", "waived", "not-applicable"))},
            "verify": {"status": verify, "counts": _counts(rs, ("pass", "fail", "skipped"))},
            "status": _overall(plan, verify, stage),
            "waivers": _row_waivers([rule], inputs, fs, as_of),
            "evidence": _row_evidence(fs, rs), "members": [],
        })
    order = {r["id"]: i for i, r in enumerate(rows)}
    rows.sort(key=lambda r: (STATUS_ORDER.get(r["status"], 9), order[r["id"]]))
    return rows


def _row_waivers(ids: list[str], inputs: Inputs, row_findings: list[dict[str, Any]], as_of: dt.date) -> list[dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for w in inputs.waivers:
        if w.get("rule") in ids:
            view = _waiver_view(w, as_of)
            out[(view["rule"], view["target"])] = view
    for f in row_findings:  # waivers the findings carry (e.g. from a --findings file)
        if f.get("waiver"):
            view = _waiver_view(f["waiver"], as_of)
            out.setdefault((view["rule"] or f["rule"], view["target"]), view)
    return sorted(out.values(), key=lambda w: (not w["expired"], w["rule"], w["target"]))


def _row_evidence(fs: list[dict[str, Any]], rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    evidence = sorted([_evidence_finding(f) for f in fs] + [_evidence_verify(r) for r in rs], key=_evidence_sort)
    kept, passes = [], 0
    for e in evidence:
        if e["status"] == "pass":
            passes += 1
            if passes > PASS_EVIDENCE_LIMIT:
                continue
        kept.append(e)
    return kept


# --------------------------------------------------------------------------- pictures' data


def sdwan_view(cat: Catalogue, raw: dict[str, Any]) -> dict[str, Any] | None:
    sdwan = cat.estate.spec.sdwan
    if sdwan is None:
        return None
    return {
        "topology": sdwan.topology,
        "hubs": list(sdwan.hubs),
        "links": [
            {"a": l.a, "b": l.b, "encryption": l.encryption, "budgetMs": l.budget_ms, "measuredMs": l.measured_ms,
             "thresholdMs": l.threshold_ms, "status": l.status}
            for l in raw["links"]
        ],
        "connected": raw["connected"],
    }


def sites_view(cat: Catalogue, raw: dict[str, Any]) -> list[dict[str, Any]]:
    pue = {p.site: p for p in raw["pue"]}
    out = []
    for s in cat.estate.spec.sites:
        p = pue[s.name]
        line, _ = cat.source.locate(cat.path_of("sites", s.name))
        out.append({
            "name": s.name, "tier": s.tier, "region": s.region, "dataDomain": s.data_domain,
            "siteClass": s.site_class, "provider": s.provider, "hosts": len(cat.hosts_by_site.get(s.name, [])),
            "cdnNodes": raw["cdn"].get(s.name, 0),
            "pue": {"design": p.design, "measured": p.measured, "measuredOn": p.measured_on.isoformat() if p.measured_on else None,
                    "threshold": p.threshold, "override": p.override, "status": p.status},
            "location": {"file": display_name(cat.file), "line": line},
        })
    return out


def tiers_view(raw: dict[str, Any]) -> dict[str, Any]:
    cov: k.TierCoverage = raw["tiers"]
    return {
        "regionsInScope": list(cov.regions_in_scope),
        "outOfScope": list(cov.out_of_scope),
        "matrix": {r: {t: list(s) for t, s in tiers.items()} for r, tiers in cov.matrix.items()},
        "byTier": dict(cov.by_tier),
        "coverage": cov.coverage,
        "missingTiers": list(cov.missing_tiers),
    }


def clusters_view(cat: Catalogue, verify: Verify | None) -> list[dict[str, Any]]:
    """Each cluster with its hosts, how each node was verified (real, "simulated (kwok)" or not at
    all) and every verify-stage line of the Kubernetes suites on its hosts, failures first."""
    results = verify.results if verify else []
    measured = (verify.measurements if verify else {}).get(NODE_RULE) or {}
    out = []
    for c in cat.estate.spec.clusters:
        control_plane = [h.name for h in cat.members(c.control_plane)]
        nodes = [h.name for h in cat.members(c.nodes)]
        members = set(control_plane) | set(nodes)
        lines = sorted((_evidence_verify(r) for r in results
                        if r.get("host") in members and "test_k8s_" in (r.get("test") or "")), key=_evidence_sort)
        node_lines = {e["host"]: e["status"] for e in lines if (e.get("test") or "").endswith(NODE_TEST)}
        out.append({
            "name": c.name, "site": c.site, "version": c.kubernetes_version, "controlPlane": control_plane,
            "nodes": [{"name": n, "kind": measured.get(f"{n}.{node_measurement(c.name)}"), "status": node_lines.get(n, "not-run")}
                      for n in nodes],
            "verify": lines,
        })
    return out


# --------------------------------------------------------------------------- the document


def build_report(cat: Catalogue, th: ThresholdSource, inputs: Inputs, *, as_of: dt.date, generated_at: dt.datetime) -> dict[str, Any]:
    raw, kpis = compute_kpis(cat, th, as_of, inputs.verify, inputs.thresholds_file)
    kpi_list = [kpi_dict(x) for x in kpis]
    previous = apply_history(kpi_list, inputs.history, cat.name, as_of)
    rows = build_rows(cat, th, inputs, raw, as_of)
    findings = inputs.findings.findings if inputs.findings else []
    blocking = [f for f in findings if f["status"] == "fail"]  # every failing rule fails the gate, whatever its severity
    statuses = [r["status"] for r in rows]
    return {
        "schemaVersion": SCHEMA_VERSION,
        "generator": f"idcpilot {__version__}",
        "generatedAt": generated_at.replace(microsecond=0).isoformat(),
        "asOf": as_of.isoformat(),
        "estate": {
            "name": cat.name,
            "organisation": cat.estate.metadata.organisation,
            "description": cat.estate.metadata.description,
            "file": display_name(cat.file),
            "sites": len(cat.sites),
            "hosts": len(cat.hosts),
            "clusters": len(cat.clusters),
        },
        "provenance": {"tool": f"idcpilot {__version__}", **(inputs.provenance or {})},
        "inputs": {
            "thresholds": inputs.thresholds_file,
            "findings": inputs.findings.source if inputs.findings else None,
            "verify": inputs.verify.source if inputs.verify else None,
            "history": [h.get("_file") or h["asOf"] for h in inputs.history],
            "previous": previous,
        },
        "summary": {
            "clauses": len(rows),
            "pass": statuses.count("pass"),
            "fail": statuses.count("fail"),
            "waived": statuses.count("waived"),
            "notVerified": statuses.count("not-verified"),
            "notChecked": statuses.count("not-checked"),
            "notApplicable": statuses.count("not-applicable"),
            "gate": None if inputs.findings is None else ("fail" if blocking else "pass"),
            "blocking": len(blocking),
            "verify": _verify_summary(inputs.verify),
        },
        "kpis": kpi_list,
        "sites": sites_view(cat, raw),
        "sdwan": sdwan_view(cat, raw),
        "tiers": tiers_view(raw),
        "clusters": clusters_view(cat, inputs.verify),
        "clauses": rows,
        "waivers": [_waiver_view(w, as_of) for w in inputs.waivers],
        "notes": list(inputs.notes) + (list(inputs.findings.warnings) if inputs.findings else []),
    }


def _verify_summary(verify: Verify | None) -> dict[str, int] | None:
    if verify is None:
        return None
    return {s: sum(1 for r in verify.results if r["status"] == s) for s in ("pass", "fail", "skipped")}
