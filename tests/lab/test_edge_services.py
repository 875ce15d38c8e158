"""Edge services end to end on real lab hosts: bootstrap, then the cdn_node and
zt_gateway playbooks through `idcpilot deploy`, their verification suites through
`idcpilot verify` (real HTTPS requests, the zero-trust access matrix, sslscan), and a second
deploy that must change nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.lab.conftest import Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

EDGE = "role_cdn_node,role_zt_gateway"
PLAYBOOKS = ["playbooks/bootstrap.yml", "playbooks/cdn_node.yml", "playbooks/zt_gateway.yml"]
SUITES = ["cdn", "zt"]


def deploy(lab: Lab, playbook: str, *extra: str) -> dict:
    out = lab.idcpilot("deploy", "--playbook", playbook, "--limit", EDGE, "--format", "json", *extra)
    assert out.stdout.strip(), out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert out.returncode == 0, json.dumps(result, indent=1)[-4000:]
    return result


def test_edge_roles_deploy_verify_and_redeploy_unchanged(lab: Lab) -> None:
    by_role = {role: {h.name for h in lab.plan.hosts if role in h.roles} for role in ("cdn_node", "zt_gateway")}
    edge = by_role["cdn_node"] | by_role["zt_gateway"]
    expected = {"playbooks/bootstrap.yml": edge, "playbooks/cdn_node.yml": by_role["cdn_node"],
                "playbooks/zt_gateway.yml": by_role["zt_gateway"]}
    for playbook in PLAYBOOKS:
        result = deploy(lab, playbook)
        assert set(result["hosts"]) == expected[playbook], (playbook, sorted(result["hosts"]))
        assert all(h["failed"] == 0 and h["unreachable"] == 0 for h in result["hosts"].values())

    args = ["verify", "--limit", EDGE, "--format", "json"]
    for suite in SUITES:
        args += ["--suite", suite]
    out = lab.idcpilot(*args)
    report = json.loads(out.stdout)
    failed = [r for r in report["results"] if r["status"] == "fail"]
    assert out.returncode == 0 and not failed, json.dumps(failed, indent=1)
    assert {r["host"] for r in report["results"]} == edge
    rules = {r["rule"] for r in report["results"] if r["status"] == "pass"}
    assert {"PILOT-ZT", "PILOT-CDN-NODES", "MLPS3-TLS", "PILOT-TRACEABLE", "PILOT-THREAT-INTEL"} <= rules
    accuracy = {k: v for k, v in report["measurements"]["PILOT-ZT"].items() if k.endswith(".accuracy")}
    assert accuracy and all(v >= 0.999 for v in accuracy.values()), accuracy

    for playbook in PLAYBOOKS[1:]:
        second = deploy(lab, playbook)
        changed = {n: h["changed"] for n, h in second["hosts"].items() if h["changed"]}
        assert not changed, f"{playbook}: second run changed something: {changed}"
        check = deploy(lab, playbook, "--check", "--diff")
        assert all(h["changed"] == 0 for h in check["hosts"].values()), check["hosts"]
