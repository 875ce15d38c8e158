"""Helpers for the SD-WAN lab tests and bench: deploy the overlay through ansible-runner, read
figures off lab hosts. Traffic stays between lab hosts on the lab's own bridge."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]

Run = Callable[..., subprocess.CompletedProcess]


@dataclass
class Deploy:
    rc: int
    status: str
    stats: dict[str, Any]
    artifacts: Path

    def changed(self) -> dict[str, int]:
        return dict(self.stats.get("changed", {}))

    def failed(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key in ("failures", "dark"):
            for host, n in self.stats.get(key, {}).items():
                out[host] = out.get(host, 0) + n
        return out


def deploy(env: Path, private_data_dir: Path, tags: str = "sdwan_edge", extra: list[str] | None = None) -> Deploy:
    """Run playbooks/sdwan_edge.yml through ansible-runner (the runner `idcpilot deploy` uses)."""
    import ansible_runner

    private_data_dir.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    envvars = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "PATH": path}
    result = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        project_dir=str(REPO),
        playbook=str(REPO / "playbooks" / "sdwan_edge.yml"),
        inventory=str(env),
        cmdline=" ".join(["--tags", tags, *(extra or [])]),
        envvars=envvars,
        quiet=True,
        timeout=1500,
    )
    artifacts = Path(result.config.artifact_dir)
    return Deploy(result.rc, result.status, result.stats or {}, artifacts)


def files_containing(root: Path, secrets: dict[str, str]) -> tuple[int, list[tuple[str, Path]]]:
    """(files scanned, [(secret name, file)]) for every file under root holding a secret."""
    scanned, hits = 0, []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            scanned += 1
            text = path.read_text(errors="replace")
            hits.extend((name, path) for name, secret in secrets.items() if secret and secret in text)
    return scanned, hits


def edges(lab) -> list[str]:
    return [h.name for h in lab.plan.hosts if "sdwan_edge" in h.roles]


def overlay_vars(lab) -> dict[str, dict]:
    from idcpilot import catalogue, ipam
    from idcpilot.sdwan import sdwan_vars

    cat = catalogue.load(lab.env)
    alloc = ipam.plan(cat)
    return {h: sdwan_vars(cat, alloc, cat.hosts[h])["idcpilot_sdwan"] for h in edges(lab)}


def rtt_ms(text: str) -> float | None:
    m = re.search(r"= ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms", text)
    return float(m.group(2)) if m else None


def route_dev(lab_run: Run, host: str, src: str, dst: str) -> str | None:
    out = lab_run(host, f"ip -4 -j route get {dst} from {src}")
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return json.loads(out.stdout)[0].get("dev")


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until predicate() holds, or None after timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    return None


def longest_gap(ping_output: str) -> tuple[float, int]:
    """(longest silence between two answered echo requests in seconds, answers) from `ping -D`."""
    stamps = [float(m.group(1)) for m in re.finditer(r"^\[([0-9.]+)\] \d+ bytes from", ping_output, re.M)]
    if len(stamps) < 2:
        return float("inf"), len(stamps)
    return max(b - a for a, b in zip(stamps, stamps[1:])), len(stamps)


def cut_and_measure(lab_run: Run, spoke: str, cut_iface: str, src: str, dst: str,
                    before_s: float = 3.0, total_s: float = 15.0, interval: float = 0.05) -> tuple[float, int, int]:
    """Ping dst from src on the spoke while its tunnel cut_iface is stopped; (gap, answers, sent)."""
    count = int(total_s / interval)
    log = f"/tmp/idcpilot-failover-{cut_iface}.log"
    lab_run(spoke, f"sudo rm -f {log}; (sudo ping -D -n -i {interval} -W 1 -c {count} -I {src} {dst} > {log} 2>&1 &) ; true")
    time.sleep(before_s)
    lab_run(spoke, f"sudo systemctl stop wg-quick@{cut_iface}.service")
    time.sleep(total_s - before_s + 2)
    out = lab_run(spoke, f"cat {log}").stdout
    gap, answers = longest_gap(out)
    return gap, answers, count
