"""The estate inventory rendered as Ansible sees it (templates resolved), for testinfra.

testinfra reads host variables through ``ansible-inventory --list``, which does not resolve
templates such as the lab's ``ansible_user: "{{ idcpilot_automation_account }}"``. verify
therefore renders every host's variables with Ansible's own templar and hands testinfra a
static YAML inventory with the same groups.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

MAGIC = {
    "groups", "group_names", "inventory_hostname", "inventory_hostname_short", "inventory_dir", "inventory_file",
    "omit", "playbook_dir", "ansible_playbook_python", "ansible_config_file", "ansible_version", "ansible_facts",
    "hostvars", "role_names", "ansible_check_mode", "ansible_diff_mode", "ansible_forks", "ansible_inventory_sources",
    "ansible_run_tags", "ansible_skip_tags", "ansible_verbosity", "ansible_collection_name", "ansible_dependent_role_names",
    "ansible_play_role_names", "ansible_role_names", "environment",
}


def render(env_dir: Path, ansible_cfg: Path) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """(hostvars with templates resolved, groups -> hosts)."""
    os.environ["ANSIBLE_CONFIG"] = str(ansible_cfg)
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inv = InventoryManager(loader=loader, sources=[str(env_dir)])
    vm = VariableManager(loader=loader, inventory=inv)
    hostvars: dict[str, dict[str, Any]] = {}
    for host in inv.get_hosts():
        raw = vm.get_vars(host=host, include_hostvars=False)
        keep = {k: v for k, v in raw.items() if k not in MAGIC}
        templar = Templar(loader=loader, variables=raw)
        hostvars[host.name] = json.loads(json.dumps(templar.template(keep), default=str))
    groups = {g: sorted(h.name for h in inv.groups[g].get_hosts()) for g in inv.groups if g not in ("all", "ungrouped")}
    return hostvars, groups


def to_yaml_inventory(hostvars: dict[str, dict[str, Any]], groups: dict[str, list[str]], control_path: str | None = None) -> str:
    hosts: dict[str, Any] = {}
    for name, v in sorted(hostvars.items()):
        v = dict(v)
        if control_path and "controlpath" not in str(v.get("ansible_ssh_common_args", "")).lower():
            v["ansible_ssh_common_args"] = (
                f"{v.get('ansible_ssh_common_args', '')} -o ControlMaster=auto -o ControlPersist=60s -o ControlPath={control_path}"
            ).strip()
        hosts[name] = v
    children = {g: {"hosts": {h: None for h in members}} for g, members in sorted(groups.items()) if members}
    return yaml.safe_dump({"all": {"hosts": hosts, "children": children}}, sort_keys=True, default_flow_style=False)
