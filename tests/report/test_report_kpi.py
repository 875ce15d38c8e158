"""KPI computations: pure functions over the catalogue, checked on small edits of the example."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from idcpilot import catalogue
from idcpilot.policy import thresholds as th_mod
from idcpilot.policy.registry import policy_dir
from idcpilot.report import kpi as k
from idcpilot.report import measure
from idcpilot.report.build import compute_kpis

from .conftest import AS_OF, EXAMPLE


def load_edited(tmp_path: Path, *edits: tuple[str, str]):
    text = (EXAMPLE / "estate.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) >= 1, old
        text = text.replace(old, new)
    (tmp_path / "estate.yaml").write_text(text, encoding="utf-8")
    return catalogue.load(tmp_path)


@pytest.fixture(scope="module")
def example():
    return catalogue.load(EXAMPLE)


@pytest.fixture(scope="module")
def thresholds():
    return th_mod.load(policy_dir() / "thresholds.yaml")


def test_automation_counts_hosts_and_components(example):
    a = k.automation(example)
    spec = example.estate.spec
    assert a.total == len(example.hosts) + len(spec.clusters) + len(spec.gateways) + len(spec.services) == 305
    assert a.manual == ("gz-edge-1-legacy-01",)
    assert a.rate == pytest.approx(304 / 305)


def test_automation_rate_drops_with_manual_group(tmp_path):
    cat = load_edited(tmp_path, ('namePattern: "bj-core-1-cdn-{index:03d}", roles: [baseline, monitoring, cdn_node]}',
                                 'namePattern: "bj-core-1-cdn-{index:03d}", roles: [baseline, monitoring, cdn_node], automated: false}'))
    a = k.automation(cat)
    assert len(a.manual) == 49 and a.rate == pytest.approx(256 / 305)
    assert k.compare(a.rate, ">=", 0.85) == "fail"


def test_cdn_nodes_per_site(example):
    per = k.cdn_nodes(example)
    assert sum(per.values()) == 216
    assert per["bj-core-1"] == 48 and per["tj-mobile-1"] == 8


def test_tier_coverage_matrix_and_missing_tier(example, tmp_path):
    cov = k.tier_coverage(example)
    assert cov.coverage == 1.0 and cov.missing_tiers == ()
    assert cov.matrix["cn-north"]["backbone"] == ("bj-core-1",)
    assert cov.by_tier == {"backbone": 0.5, "edge": 0.75, "mobile": 0.5}
    # Turn both mobile sites into edge sites: no mobile tier; cn-west drops out of scope coverage.
    cat = load_edited(tmp_path, ("tier: mobile", "tier: edge"),
                      ("regionsInScope: [cn-north, cn-east, cn-south, cn-west]", "regionsInScope: [cn-north, cn-east, cn-south, cn-west, cn-central]"))
    cov = k.tier_coverage(cat)
    assert cov.missing_tiers == ("mobile",)
    assert cov.coverage == pytest.approx(4 / 5)
    assert "cn-central" not in cov.covered


def test_pue_uses_per_site_threshold_and_worst_value(example, thresholds):
    pues = {p.site: p for p in k.pue_by_site(example, lambda s: thresholds.get("pue.max", site=s),
                                               lambda s: thresholds.describe_override("pue.max", s))}
    assert pues["sh-core-1"].threshold == 1.25 and pues["sh-core-1"].override
    assert pues["cd-edge-1"].threshold == 1.2
    assert pues["bj-core-1"].threshold == 1.35 and pues["bj-core-1"].override is None
    assert pues["bj-core-1"].worst == 1.29
    assert all(p.status == "pass" for p in pues.values())


def test_pue_over_threshold_fails(tmp_path, thresholds):
    cat = load_edited(tmp_path, ("pue: {design: 1.22, measured: 1.24,", "pue: {design: 1.22, measured: 1.27,"))
    sh = next(p for p in k.pue_by_site(cat, lambda s: thresholds.get("pue.max", site=s)) if p.site == "sh-core-1")
    assert sh.worst == 1.27 and sh.status == "fail"  # within the pilot's 1.35, over the national-hub 1.25


def test_sdwan_links_budget_measured_and_connectivity(example, tmp_path):
    links = k.sdwan_links(example, 10.0, {k.link_key("sh-core-1", "bj-core-1"): 4.1})
    first = links[0]
    assert (first.a, first.b, first.budget_ms, first.measured_ms, first.status) == ("bj-core-1", "sh-core-1", 6, 4.1, "pass")
    assert k.sdwan_links(example, 10.0, {k.link_key("bj-core-1", "sh-core-1"): 10.5})[0].status == "fail"
    # a link nobody measured is unknown (grey), never a pass on its budget alone
    assert [l.status for l in links[:2]] == ["pass", "unknown"]
    assert {l.status for l in k.sdwan_links(example, 10.0)} == {"unknown"}
    assert k.sdwan_connected(example)
    cat = load_edited(tmp_path, ("- {a: sh-core-1, b: sz-mobile-1, latencyBudgetMs: 8, encryption: wireguard}", ""))
    assert not k.sdwan_connected(cat)  # sz-mobile-1 has lost its only link
    cat2 = load_edited(tmp_path, ("{a: bj-core-1, b: cd-edge-1, latencyBudgetMs: 9.5, encryption: ipsec}",
                                  "{a: bj-core-1, b: cd-edge-1, latencyBudgetMs: 9.5, encryption: none}"))
    assert [l.status for l in k.sdwan_links(cat2, 10.0) if l.encryption == "none"] == ["fail"]


def test_encryption_coverage_of_sensitive_stores(example, tmp_path):
    enc = k.encryption_coverage(example, ("important", "core"))
    assert enc.rate == 1.0 and set(enc.encrypted) == {"member-accounts", "billing-ledger", "access-logs"}
    cat = load_edited(tmp_path, ("classification: important,\n       encryptedAtRest: true", "classification: important,\n       encryptedAtRest: false"))
    enc = k.encryption_coverage(cat, ("important", "core"))
    assert enc.unencrypted == ("access-logs",) and enc.rate == pytest.approx(2 / 3)


def test_drills_window(example):
    assert k.drills_in_window(example, AS_OF, 365) == ["2026-h1-red-blue", "2026-h2-red-blue"]
    assert k.drills_in_window(example, dt.date(2027, 5, 20), 365) == ["2026-h2-red-blue"]
    assert k.drills_in_window(example, dt.date(2026, 6, 1), 365, ("tabletop",)) == []


def test_zt_accuracy_shapes():
    assert k.zt_accuracy(0.9995).accuracy == 0.9995
    assert k.zt_accuracy({"correct": 999, "total": 1000}) == k.ZtAccuracy(0.999, 999, 1000)
    assert k.zt_accuracy({"accuracy": 1.0}).accuracy == 1.0
    # per gateway, as tests/verify records it: the worst gateway counts, requests add up
    per_gw = k.zt_accuracy({"bj-zt.accuracy": 1.0, "bj-zt.requests": 1000, "gz-zt.accuracy": 0.998, "gz-zt.requests": 500,
                            "gz-zt.wrong_allows": 1})
    assert per_gw == k.ZtAccuracy(0.998, 1499, 1500)
    assert k.zt_accuracy(None).accuracy is None and k.zt_accuracy("high").accuracy is None and k.zt_accuracy(True).accuracy is None


def test_measured_latency_shapes_map_hosts_to_sites(example):
    got = measure.sdwan_latency(example, {"links": [
        {"a": "bj-core-1", "b": "sh-core-1", "rttMs": 8.0},
        {"from": "gz-edge-1-wan-01", "to": "bj-core-1-wan-02", "oneWayMs": 4.5},
        {"a": "nowhere", "b": "sh-core-1", "oneWayMs": 1.0},
    ]})
    assert got == {"bj-core-1--sh-core-1": 4.0, "bj-core-1--gz-edge-1": 4.5}
    assert measure.sdwan_latency(example, {"sh-core-1--hz-edge-1": 2.0, "bj-core-1<->tj-mobile-1": {"rtt_ms": 3.0}}) == {
        "hz-edge-1--sh-core-1": 2.0, "bj-core-1--tj-mobile-1": 1.5}
    # as tests/verify/test_sdwan.py records it: keyed by link, RTT and one-way in the record
    assert measure.sdwan_latency(example, {"bj-core-1--sh-core-1": {"from": "bj-core-1-wan-01", "to": "sh-core-1-wan-01",
                                                                    "rtt_ms": 5.0, "one_way_ms": 2.5, "budget_ms": 6}}) == {
        "bj-core-1--sh-core-1": 2.5}
    assert measure.sdwan_latency(example, {"probe-1": {"from": "bj-core-1-wan-01", "to": "hz-edge-1-wan-01", "rtt_ms": 3.0}}) == {
        "bj-core-1--hz-edge-1": 1.5}
    assert measure.sdwan_latency(example, {"bj-core-1-wan-01": {"bj-core-1--tj-mobile-1": {"one_way_ms": 1.2}}}) == {
        "bj-core-1--tj-mobile-1": 1.2}  # grouped by the measuring host
    # the worst of several measurements of one link counts
    assert measure.sdwan_latency(example, [{"a": "bj-core-1", "b": "sh-core-1", "ms": 2.0},
                                           {"a": "sh-core-1", "b": "bj-core-1", "ms": 3.0}]) == {"bj-core-1--sh-core-1": 3.0}
    assert measure.sdwan_latency(example, None) == {} and measure.sdwan_latency(example, "fast") == {}


def test_compute_kpis_on_example(example, thresholds):
    _, kpis = compute_kpis(example, thresholds, AS_OF, None)
    by = {x.id: x for x in kpis}
    assert set(by) == {"automation", "cdn", "coverage", "pue", "sdwan-budget", "sdwan-measured", "zt", "encryption", "drills"}
    assert by["cdn"].value == 216 and by["cdn"].threshold == 200 and by["cdn"].status == "pass"
    assert by["pue"].value == 1.34 and by["pue"].status == "pass"
    assert by["sdwan-budget"].value == 9.5 and by["sdwan-budget"].threshold == 10
    assert by["sdwan-measured"].value is None and by["sdwan-measured"].status == "unknown"  # nothing verified yet
    assert by["drills"].value == 2 and by["drills"].status == "pass"
    assert by["automation"].status == "pass" and by["coverage"].status == "pass"
