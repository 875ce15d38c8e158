"""Shared helpers for the role suites (baseline, monitoring, k8s_node, and the thresholds every suite reads).

Expected values come from the role defaults (roles/<role>/defaults/main.yml) overlaid by the
host's own inventory variables, and the MLPS limits from policy/thresholds.yaml — the same data
the role and the policy gate use, never numbers written into a test.
"""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from typing import Any

import yaml

from idcpilot.hostchecks import host_ports, parse_kv, parse_sshd_t, timespan_seconds
from idcpilot.paths import repo_root
from idcpilot.policy.registry import policy_dir
from idcpilot.policy.thresholds import Thresholds, load


@lru_cache(maxsize=None)
def role_defaults(role: str) -> dict[str, Any]:
    return yaml.safe_load((repo_root() / "roles" / role / "defaults" / "main.yml").read_text()) or {}


@lru_cache(maxsize=None)
def family_vars(role: str, family: str) -> dict[str, Any]:
    """roles/<role>/vars/<family>.yml: the per-family paths and names the role used on a host of
    that family (role vars outrank every inventory)."""
    return yaml.safe_load((repo_root() / "roles" / role / "vars" / f"{family}.yml").read_text()) or {}


def role_var(hostvars: dict[str, Any], name: str, role: str = "baseline") -> Any:
    return family_vars(role, hostvars["idcpilot_os_family"])[name]


@lru_cache(maxsize=1)
def thresholds() -> Thresholds:
    """policy/thresholds.yaml, read by the gate's own loader: the numbers the gate judged against."""
    return load(policy_dir() / "thresholds.yaml")


def mlps_limits() -> dict[str, dict[str, Any]]:
    return thresholds().get("variables")  # the role-variable classification: rule and constraints


def mlps_high_risk_ports() -> list[int]:
    return [int(p) for p in thresholds().get("mlps3.highRiskPorts")]


def setting(hostvars: dict[str, Any], name: str, role: str = "baseline") -> Any:
    """The value the role applies on this host: a literal inventory override, else the default."""
    value = hostvars.get(name, role_defaults(role).get(name))
    if isinstance(value, str) and "{{" in value:
        raise LookupError(f"{name} is templated ({value}); read the host's own idcpilot_* variable instead")
    return value


def literal(hostvars: dict[str, Any], name: str, derived: Any) -> Any:
    """A literal inventory override of NAME, else DERIVED (what its templated default gives the host)."""
    value = hostvars.get(name)
    return derived if value is None or (isinstance(value, str) and "{{" in value) else value


def declared_ports(hostvars: dict[str, Any]) -> list[tuple[str | None, int, int, str | None]]:
    """What the host may listen on (MLPS3-MINIMAL), read as the host's self-check reads it
    (idcpilot.hostchecks.host_ports), from the same variables roles/baseline passes it."""
    return host_ports(
        setting(hostvars, "baseline_ssh_port"),
        setting(hostvars, "baseline_role_ports"),
        literal(hostvars, "baseline_host_roles", hostvars.get("idcpilot_roles", [])),
        literal(hostvars, "baseline_declared_ports", hostvars.get("idcpilot_declared_ports", [])),
        literal(hostvars, "baseline_overlay_ports", (hostvars.get("idcpilot_sdwan") or {}).get("firewall")),
    )


def limit(name: str, key: str) -> Any:
    return mlps_limits()[name][key]


def sshd_effective(host: Any, hostvars: dict[str, Any], addr: str | None = None) -> dict[str, list[str]]:
    """`sshd -T` for a connection of the automation account from `addr` (default: the controller's side)."""
    addr = addr or hostvars["idcpilot_management_cidrs"][0].split("/")[0]
    account = hostvars["idcpilot_automation_account"]
    out = host.run(f"/usr/sbin/sshd -T -C user={account},host=probe,addr={addr}")
    assert out.rc == 0, f"sshd -T failed: {out.stderr}"
    return parse_sshd_t(out.stdout)


def kv(text: str, sep: str = "=") -> dict[str, str]:
    """Key/value config text as the host's own self-check reads it (idcpilot.hostchecks)."""
    return parse_kv(text, sep)


def systemd_seconds(text: str) -> float:
    """A systemd time span read from a host, in seconds (0 when systemd would refuse it)."""
    return timespan_seconds(text) or 0


def ssh_probe(hostvars: dict[str, Any], user: str, *options: str, command: str = "true") -> subprocess.CompletedProcess[str]:
    """An SSH attempt from this machine (the controller, inside the management network)."""
    # ssh keeps the first value of an option: the caller's options come first.
    argv = ["ssh", *options, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=INFO",
            f"{user}@{hostvars['ansible_host']}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
