"""The baseline firewall admits an SD-WAN edge's overlay ports (every tunnel port, BFD, BGP)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: ["{role}/defaults/main.yml"]
  vars:
    ansible_managed: test
    baseline_host_roles: [baseline, sdwan_edge]
    idcpilot_management_cidrs: [10.213.0.0/24]
    idcpilot_sdwan: {{firewall: {{udp: ["51820", "51821", "4784"], tcp: ["179"]}}}}
  tasks:
    - name: Ports as roles/baseline/tasks/firewall.yml computes them
      ansible.builtin.set_fact:
        baseline_fw_management: "{{{{ [{{'port': baseline_ssh_port, 'proto': 'tcp'}}] }}}}"
        baseline_fw_public: >-
          {{{{ baseline_role_ports | dict2items | selectattr('key', 'in', baseline_host_roles)
             | map(attribute='value.public') | flatten }}}}
    - name: Render the ruleset
      ansible.builtin.copy:
        content: "{{{{ lookup('ansible.builtin.template', '{role}/templates/nftables.conf.j2') }}}}"
        dest: "{out}"
        mode: "0600"
"""


def test_overlay_ports_are_admitted(tmp_path: Path) -> None:
    out = tmp_path / "nftables.conf"
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(role=REPO / "roles" / "baseline", out=out))
    yaml.safe_load(play.read_text())
    proc = subprocess.run([str(REPO / ".venv/bin/ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", str(play)],
                          capture_output=True, text=True, cwd=tmp_path, check=False,
                          env=os.environ | {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg")})  # the repo's filters
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    udp = [line for line in out.read_text().splitlines() if "udp dport" in line and "role service ports" in line]
    assert udp and all(p in udp[0] for p in ("51820", "51821", "4784")), out.read_text()
    tcp = [line for line in out.read_text().splitlines() if "tcp dport" in line and "role service ports" in line]
    assert tcp and "179" in tcp[0]
