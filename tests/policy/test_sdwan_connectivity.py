"""PILOT-SDWAN-ENCRYPT connectivity: spokes do not carry traffic between other sites."""

from __future__ import annotations

from policy_helpers import check


def _overlay(report):
    return [f for f in report.findings if f.rule.id == "PILOT-SDWAN-ENCRYPT" and f.target == "sdwan/overlay"]


def test_every_pair_joined_through_hubs_passes(make_env):
    (finding,) = _overlay(check(make_env(), only=["PILOT-SDWAN-ENCRYPT"]))
    assert finding.status == "pass"


def test_a_site_reached_only_through_a_spoke_fails(make_env):
    # tj-mobile-1 linked to the spoke hz-edge-1 only: the graph is connected, but hz never transits
    env = make_env([("{a: bj-core-1, b: tj-mobile-1, latencyBudgetMs: 3, encryption: wireguard}",
                     "{a: hz-edge-1, b: tj-mobile-1, latencyBudgetMs: 3, encryption: wireguard}")])
    (finding,) = _overlay(check(env, only=["PILOT-SDWAN-ENCRYPT"]))
    assert finding.status == "fail"
    assert "tj-mobile-1" in finding.message and "through hubs" in finding.message
