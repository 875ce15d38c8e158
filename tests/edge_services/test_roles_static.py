"""Static checks particular to roles/cdn_node and roles/zt_gateway (the checks every role shares
are in tests/roles/test_roles_static.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_threat_sync_limit_matches_policy_thresholds():
    thresholds = yaml.safe_load((REPO / "policy/thresholds.yaml").read_text())["thresholds"]
    defaults = yaml.safe_load((REPO / "roles/zt_gateway/defaults/main.yml").read_text())
    assert defaults["zt_gateway_threat_sync_max_minutes"] == thresholds["threatIntel"]["maxSyncMinutes"]
    assert 0 < float(thresholds["zeroTrust"]["minAccuracy"]) <= 1
