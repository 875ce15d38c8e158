"""`make demo-lab`, exactly as the README tells a user to run it, on a lab nobody prepared.

It brings the lab up (the bundle, the apt mirror, NTP and the other stand-ins the lab estate
declares are the product's own), deploys playbooks/site.yml with no extra variables, verifies
every host, writes the report, re-deploys to show nothing changes, and takes the lab down.
This test only reads what the target left in out/lab: it adds no server, binary or variable.

It runs before every other lab test (tests/conftest.py orders it first), because the target
takes the lab down at its end and the other lab tests share one lab for the session.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from idcpilot.deploy.paths import facts_dir, runs_dir
from idcpilot.lab import leftovers
from idcpilot.paths import RUN_STAMP, run_stamp
from tests.lab.conftest import REPO, load_lab_plan
from tests.lab.leaks import shaped_leaks

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.demo_lab]

OUT = REPO / "out" / "lab"
TIMEOUT_S = 75 * 60  # the whole target: bounded, stops by itself


def deploy_recap(stdout: str) -> str:
    """What the first deploy said went wrong (its FAILED/UNREACHABLE lines) and its recap table."""
    problems = [line for line in stdout.splitlines() if line.startswith(("FAILED ", "UNREACHABLE "))]
    start = stdout.find("recap \u2014")
    recap = stdout[start:start + 4000] if start >= 0 else stdout[-3000:]
    return "\n".join(problems[:20]) + "\n" + recap


def test_make_demo_lab_as_the_readme_says() -> None:
    plan = load_lab_plan(REPO / "inventories" / "lab")
    assert not leftovers(plan), "a lab is already up: make demo-lab must start from nothing"
    for stale in ("verify.json", "deploy-again.json"):
        (OUT / stale).unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDCPILOT_LAB_")}
    started = run_stamp()
    proc = subprocess.run(["make", "demo-lab"], cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    tail = (proc.stdout[-6000:] + "\n--- stderr ---\n" + proc.stderr[-6000:])
    assert not leftovers(plan), f"make demo-lab left the lab behind: {leftovers(plan)}"

    assert (OUT / "verify.json").is_file(), f"make demo-lab stopped before verify (exit {proc.returncode}):\n{tail}"
    verify = json.loads((OUT / "verify.json").read_text())
    failed = [r for r in verify["results"] if r["status"] not in ("pass", "skipped")]
    assert not failed, f"{len(failed)} verify failure(s):\n" + "\n".join(
        f"  {r['rule']} {r['host']} {r['test'].rsplit('/', 1)[-1]}: {(r.get('message') or '')[:300]}" for r in failed[:40]
    ) + f"\n\nthe first deploy's recap (a host that failed to deploy explains most of them):\n{deploy_recap(proc.stdout)}"
    hosts = {h.name for h in plan.hosts}
    assert {r["host"] for r in verify["results"]} >= hosts, "some host was never verified"
    passed = {r["rule"] for r in verify["results"] if r["status"] == "pass"}
    for rule in ("PILOT-SDWAN-ENCRYPT", "PILOT-SDWAN-LATENCY", "K8S-SECRETS", "MLPS3-AUTH-REMOTE", "MLPS3-TIME"):
        assert rule in passed, f"no host passed {rule}"
    skipped = [r for r in verify["results"] if r["status"] == "skipped"]
    assert all("not checkable in a container" in (r.get("message") or "") or "simulated" in (r.get("message") or "")
               for r in skipped), json.dumps(skipped, indent=1)[-4000:]

    again = json.loads((OUT / "deploy-again.json").read_text())
    changed = {name: h["changed"] for name, h in again["hosts"].items() if h["changed"]}
    assert again["ok"] and not changed, f"the second deploy changed {changed}"

    # The hosts are gone by now (the target takes the lab down, and with it their cached facts),
    # so the runs the two deploys kept are searched for anything shaped like a password hash or a
    # PEM private key, and for the fact getent shadow used to set. tests/roles/test_roles_lab.py
    # compares with the hosts' own hashes and keys while they are up.
    runs = [p for p in runs_dir(plan.estate).glob("*") if RUN_STAMP.match(p.name) and p.name >= started]
    assert runs, f"the deploys of make demo-lab left no run directory in {runs_dir(plan.estate)}"
    found = shaped_leaks([*runs, facts_dir(plan.estate)])
    assert not found, "secret-shaped strings in what deploy keeps:\n" + "\n".join(found)

    report = (OUT / "report.html").read_text()
    for rule in ("K8S-SECRETS", "K8S-PSA"):
        assert rule in report
    assert proc.returncode == 0, tail
