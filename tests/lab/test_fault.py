"""Fault test: a host dies in the middle of a deploy. The others converge, the dead one is
reported unreachable, the exit code is non-zero; once it is back, a re-run converges it."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from idcpilot.lab import lifecycle
from tests.lab.conftest import IDCPILOT, REPO, Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
PLAYBOOK = "playbooks/bootstrap.yml"
DEADLINE = 900  # the whole fault run stops by itself


def test_host_dies_mid_deploy_then_recovers(lab: Lab, tmp_path: Path) -> None:
    victim = lab.plan.hosts[2].name
    others = {h.name for h in lab.plan.hosts} - {victim}
    out_file = tmp_path / "deploy.json"
    proc = subprocess.Popen(
        [IDCPILOT, "deploy", "--playbook", PLAYBOOK, "--format", "json", str(lab.env)],
        cwd=REPO, stdout=out_file.open("w"), stderr=subprocess.PIPE, text=True,
    )
    killed = threading.Event()

    def watch() -> None:
        # Plain progress lines on stderr: stop the victim once tasks are running on the hosts.
        assert proc.stderr is not None
        for line in proc.stderr:
            if not killed.is_set() and "Install Python" in line:
                lifecycle.stop_hosts(lab.plan, [victim], timeout=10)
                killed.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        proc.wait(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
    watcher.join(timeout=5)
    stdout = out_file.read_text()
    assert killed.is_set(), "the deploy never reached its tasks"
    result = json.loads(stdout)
    assert proc.returncode != 0
    assert result["hosts"][victim]["unreachable"] >= 1, result["hosts"][victim]
    for name in others:
        h = result["hosts"][name]
        assert h["failed"] == 0 and h["unreachable"] == 0 and h["ok"] > 0, (name, h)

    out = lab.idcpilot("lab", "up")  # boots the stopped host again on its kept disk
    assert out.returncode == 0, out.stderr
    assert lab.ssh(victim, "true").returncode == 0
    again = lab.idcpilot("deploy", "--playbook", PLAYBOOK, "--format", "json", "--limit", victim)
    rerun = json.loads(again.stdout)
    assert again.returncode == 0, json.dumps(rerun, indent=1)
    assert rerun["hosts"][victim]["failed"] == 0 and rerun["hosts"][victim]["unreachable"] == 0
