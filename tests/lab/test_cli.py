"""CLI behaviour of lab/deploy/verify that needs no hosts: bad input, gate refusal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IDCPILOT = str(Path(sys.executable).with_name("idcpilot"))


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IDCPILOT, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=600)


def test_bad_environment_is_exit_2_with_location(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    for args in (["deploy", missing], ["verify", missing], ["lab", "up", missing], ["lab", "status", missing], ["lab", "down", missing]):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert f"{missing}:1:1:" in out.stderr and "Traceback" not in out.stderr


def test_deploy_refuses_when_the_gate_fails_and_touches_nothing(tmp_path: Path) -> None:
    """A copy of the lab estate under another name has no waiver for its 2 CDN nodes."""
    env_dir = tmp_path / "gatetest"
    env_dir.mkdir()
    text = (REPO / "inventories/lab/estate.yaml").read_text().replace("name: lab\n", "name: gatetest\n", 1)
    (env_dir / "estate.yaml").write_text(text)
    (env_dir / "ipam.lock.yaml").write_text((REPO / "inventories/lab/ipam.lock.yaml").read_text())
    state = tmp_path / "state"
    out = cli("deploy", str(env_dir), env=os.environ | {"IDCPILOT_STATE_DIR": str(state)})
    assert out.returncode == 1, out.stdout + out.stderr
    assert "deploy refused" in out.stderr and "PILOT-CDN-NODES" in out.stdout + out.stderr
    assert not (state / "runs").exists()  # no ansible run was even prepared


def test_lab_ssh_unknown_host_names_the_hosts() -> None:
    out = cli("lab", "ssh", "no-such-host", "inventories/lab", "--", "true")
    assert out.returncode == 1
    assert "no host 'no-such-host'" in out.stderr and "lab-bj-gw01" in out.stderr
