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

from idcpilot.paths import repo_root
from idcpilot.policy.registry import policy_dir
from idcpilot.policy.thresholds import Thresholds, load


@lru_cache(maxsize=None)
def role_defaults(role: str) -> dict[str, Any]:
    return yaml.safe_load((repo_root() / "roles" / role / "defaults" / "main.yml").read_text()) or {}


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


def limit(name: str, key: str) -> Any:
    return mlps_limits()[name][key]


def sshd_effective(host: Any, hostvars: dict[str, Any], addr: str | None = None) -> dict[str, list[str]]:
    """`sshd -T` for a connection of the automation account from `addr` (default: the controller's side)."""
    addr = addr or hostvars["idcpilot_management_cidrs"][0].split("/")[0]
    account = hostvars["idcpilot_automation_account"]
    out = host.run(f"/usr/sbin/sshd -T -C user={account},host=probe,addr={addr}")
    assert out.rc == 0, f"sshd -T failed: {out.stderr}"
    values: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        values.setdefault(key.lower(), []).append(value.strip())
    return values


def kv(text: str, sep: str = "=") -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if sep != " " and sep in line:
            key, _, value = line.partition(sep)
        else:
            parts = line.split(None, 1)
            key, value = parts[0], (parts[1] if len(parts) > 1 else "")
        out[key.strip()] = value.strip()
    return out


SECONDS = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400,
           "w": 604800, "week": 604800, "month": 2629800, "months": 2629800, "y": 31557600, "year": 31557600}


def systemd_seconds(text: str) -> int:
    return sum(int(n) * SECONDS[u] for n, u in re.findall(r"(\d+)\s*([a-z]*)", text or ""))


def ssh_probe(hostvars: dict[str, Any], user: str, *options: str, command: str = "true") -> subprocess.CompletedProcess[str]:
    """An SSH attempt from this machine (the controller, inside the management network)."""
    # ssh keeps the first value of an option: the caller's options come first.
    argv = ["ssh", *options, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=INFO",
            f"{user}@{hostvars['ansible_host']}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
