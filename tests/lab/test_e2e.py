"""End to end on real lab hosts: deploy -> verify -> idempotent re-deploy (-> down in teardown).

The playbook is the minimal bootstrap role by default (IDCPILOT_LAB_PLAYBOOK=playbooks/site.yml
runs the whole rollout); verification runs its suite (IDCPILOT_LAB_SUITE to change).
"""

from __future__ import annotations

import json
import os

import pytest

from tests.lab.conftest import Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PLAYBOOK = os.environ.get("IDCPILOT_LAB_PLAYBOOK", "playbooks/bootstrap.yml")
SUITE = os.environ.get("IDCPILOT_LAB_SUITE", "bootstrap")


def deploy(lab: Lab, *extra: str) -> tuple[int, dict]:
    out = lab.idcpilot("deploy", "--playbook", PLAYBOOK, "--format", "json", *extra)
    assert out.stdout.strip(), out.stderr[-3000:]
    return out.returncode, json.loads(out.stdout)


def test_deploy_verify_redeploy(lab: Lab) -> None:
    names = {h.name for h in lab.plan.hosts}

    rc, first = deploy(lab)
    assert rc == 0, json.dumps(first, indent=1)
    assert first["ok"] and set(first["hosts"]) == names
    assert all(h["failed"] == 0 and h["unreachable"] == 0 and h["ok"] > 0 for h in first["hosts"].values())
    assert "PASSED" in first["gate"]

    out = lab.idcpilot("verify", "--suite", SUITE, "--format", "json")
    report = json.loads(out.stdout)
    assert out.returncode == 0, json.dumps([r for r in report["results"] if r["status"] == "fail"], indent=1)
    assert set(report) >= {"summary", "results", "measurements"}
    assert report["summary"]["fail"] == 0 and report["summary"]["pass"] >= len(names) * 4
    assert {r["host"] for r in report["results"]} == names
    assert all(r["rule"] != "UNTAGGED" and r["status"] in ("pass", "fail", "skipped") for r in report["results"])

    rc, second = deploy(lab)
    assert rc == 0, json.dumps(second, indent=1)
    changed = {n: h["changed"] for n, h in second["hosts"].items() if h["changed"]}
    assert not changed, f"second run changed something: {changed}"


def test_check_mode_on_a_converged_lab_reports_no_change(lab: Lab) -> None:
    rc, result = deploy(lab, "--check", "--diff")
    assert rc == 0, json.dumps(result, indent=1)
    assert all(h["changed"] == 0 for h in result["hosts"].values()), result["hosts"]
