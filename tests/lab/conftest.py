"""Fixtures for lab tests: real systemd-nspawn hosts of an estate (default inventories/lab).

Use in any test under tests/lab/:

    @pytest.mark.lab
    def test_something(lab, lab_run):
        lab.plan.hosts            # LabHost(name, machine, address, ...)
        lab_run("lab-sh-cdn01", "systemctl is-active ssh")  # -> CompletedProcess
        lab.idcpilot("deploy", "--tags", "bootstrap")        # runs the CLI on lab.env

The lab comes up once per session and goes down at the end (the teardown fails the session if
anything is left behind). Set IDCPILOT_LAB_ENV to use another estate directory and
IDCPILOT_LAB_KEEP=1 to leave the lab running after the session (for debugging).
Lab tests are skipped, with the reason, without root or without systemd-nspawn & co.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from idcpilot import catalogue, ipam
from idcpilot.lab import LabPlan, leftovers, plan_lab
from idcpilot.lab import lifecycle
from idcpilot.lab.system import unavailable_reason

REPO = Path(__file__).resolve().parents[2]
IDCPILOT = str(Path(sys.executable).with_name("idcpilot"))


def load_lab_plan(env: Path) -> LabPlan:
    cat = catalogue.load(env)
    return plan_lab(cat, ipam.plan(cat))


@dataclass
class Lab:
    env: Path
    plan: LabPlan

    def idcpilot(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        """Run `idcpilot ARGS... ENV` (the lab's environment dir appended as the positional)."""
        cmd = [IDCPILOT, *args, str(self.env)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)

    def ssh(self, host: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return lifecycle.host_ssh(self.plan, host, command, timeout)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"lab unavailable: {reason}")
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def lab() -> Lab:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    env = Path(os.environ.get("IDCPILOT_LAB_ENV", REPO / "inventories" / "lab"))
    plan = load_lab_plan(env)
    lifecycle.up(plan)
    yield Lab(env, plan)
    if os.environ.get("IDCPILOT_LAB_KEEP") == "1":
        return
    lifecycle.down(plan)
    left = leftovers(plan)
    assert not left, f"lab down left things behind: {left}"


@pytest.fixture(scope="session")
def lab_run(lab: Lab) -> Callable[[str, str], subprocess.CompletedProcess[str]]:
    """lab_run(host, shell_command) over SSH as the automation account."""
    return lab.ssh
