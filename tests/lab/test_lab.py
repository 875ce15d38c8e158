"""The lab itself: real hosts with systemd and sshd, provisioned like kickstart, isolated."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from idcpilot.lab import leftovers, lifecycle
from tests.lab.conftest import REPO, Lab, load_lab_plan

pytestmark = pytest.mark.lab


def test_every_host_boots_systemd_with_sshd(lab: Lab) -> None:
    for status in lifecycle.host_status(lab.plan):
        assert status.up, status
    for h in lab.plan.hosts:
        out = lab.ssh(h.name, "cat /proc/1/comm; hostname; systemctl is-active ssh systemd-networkd; ip -4 -br addr show host0")
        assert out.returncode == 0, out.stderr
        comm, hostname, ssh_state, networkd, addr = out.stdout.split("\n", 4)
        assert (comm, hostname, ssh_state, networkd) == ("systemd", h.name, "active", "active")
        assert f"{h.address}/{h.prefixlen}" in addr


def test_automation_account_has_key_and_nopasswd_sudo(lab: Lab) -> None:
    h = lab.plan.hosts[0]
    out = lab.ssh(h.name, "id -un; sudo -n id -u")
    assert out.stdout.split() == [lab.plan.account, "0"], out.stderr


def test_host_keys_and_machine_ids_differ_per_host(lab: Lab) -> None:
    known = Path(lab.plan.layout.known_hosts).read_text().splitlines()
    keys = {line.split()[2] for line in known}
    assert len(keys) == len(lab.plan.hosts)
    ids = {lab.ssh(h.name, "cat /etc/machine-id").stdout.strip() for h in lab.plan.hosts}
    assert len(ids) == len(lab.plan.hosts) and "" not in ids


def test_hosts_reach_each_other_and_the_apt_proxy_but_nothing_outside(lab: Lab) -> None:
    a, b = lab.plan.hosts[0], lab.plan.hosts[-1]
    assert lab.ssh(a.name, f"sudo ping -c1 -W2 {b.address}").returncode == 0
    out = lab.ssh(a.name, "sudo apt-get update -o Acquire::Retries=1 2>&1")
    assert out.returncode == 0 and f"{lab.plan.proxy_url}/debian" in out.stdout, out.stdout[-2000:]
    assert "Err:" not in out.stdout, out.stdout[-2000:]
    # No default route and the nft table drops any forwarding out of the bridge.
    assert "default" not in lab.ssh(a.name, "ip route").stdout
    rules = subprocess.run(["nft", "list", "table", "inet", lab.plan.nft_table], capture_output=True, text=True).stdout
    assert f'iifname "{lab.plan.bridge}" oifname != "{lab.plan.bridge}"' in rules and "drop" in rules


def test_up_on_a_running_lab_is_a_no_op(lab: Lab) -> None:
    before = {s.name: s.pid for s in lifecycle.host_status(lab.plan)}
    out = lab.idcpilot("lab", "up")
    assert out.returncode == 0, out.stderr
    assert "already up" in out.stderr
    assert {s.name: s.pid for s in lifecycle.host_status(lab.plan)} == before


def test_half_started_lab_is_repaired(lab: Lab) -> None:
    victim, bystander = lab.plan.hosts[1], lab.plan.hosts[0]
    mark = "# written by test_half_started_lab_is_repaired"
    for h in (victim, bystander):  # what roles change on a host survives a repair
        assert lab.ssh(h.name, f"echo '{mark}' | sudo tee -a /etc/hosts >/dev/null").returncode == 0
    lifecycle.stop_hosts(lab.plan, [victim.name])
    assert not {s.name: s for s in lifecycle.host_status(lab.plan)}[victim.name].up
    out = lab.idcpilot("lab", "up")
    assert out.returncode == 0, out.stderr
    assert all(s.up for s in lifecycle.host_status(lab.plan))
    assert lab.ssh(victim.name, "true").returncode == 0
    for h in (victim, bystander):
        assert mark in lab.ssh(h.name, "cat /etc/hosts").stdout
        lab.ssh(h.name, f"sudo sed -i '/^{mark}$/d' /etc/hosts")


def _second_estate(tmp: Path) -> Path:
    """A 2-host copy of the lab estate with another name and address range."""
    env = tmp / "lab5b"
    env.mkdir()
    data = yaml.safe_load((REPO / "inventories/lab/estate.yaml").read_text())
    text = (REPO / "inventories/lab/estate.yaml").read_text()
    text = text.replace("name: lab\n", "name: lab5b\n", 1).replace("10.213.", "10.219.").replace("10.214.", "10.220.").replace("10.215.", "10.221.")
    (env / "estate.yaml").write_text(text)
    assert data["metadata"]["name"] == "lab"
    out = subprocess.run([str(Path(REPO / ".venv/bin/idcpilot")), "ipam", "apply", str(env)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr + out.stdout
    return env


def test_two_labs_coexist_and_down_leaves_nothing(lab: Lab, tmp_path: Path) -> None:
    env = _second_estate(tmp_path)
    plan = load_lab_plan(env)
    assert plan.bridge != lab.plan.bridge and plan.nft_table != lab.plan.nft_table
    try:
        lifecycle.up(plan, only=[plan.hosts[0].name, plan.hosts[1].name])
        assert sum(s.up for s in lifecycle.host_status(plan)) == 2
    finally:
        lifecycle.down(plan, purge=True)
    assert leftovers(plan) == []
    assert not Path(f"/sys/class/net/{plan.bridge}").exists()
    assert not any(Path("/run/systemd/nspawn/propagate").glob(f"{plan.estate}-*"))
    # The first lab is untouched.
    assert all(s.up for s in lifecycle.host_status(lab.plan))
    shutil.rmtree(env)
