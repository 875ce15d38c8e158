"""Helpers for the SD-WAN lab tests and bench: deploy the overlay with `idcpilot deploy`, read
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
    """What `idcpilot deploy --format json` reported; artifacts = its ansible-runner run dir."""

    rc: int
    status: str
    hosts: dict[str, dict[str, Any]]
    artifacts: Path
    log: str = ""

    def changed(self) -> dict[str, int]:
        return {h: int(r.get("changed", 0)) for h, r in self.hosts.items()}

    def failed(self) -> dict[str, int]:
        out = {h: int(r.get("failed", 0)) + int(r.get("unreachable", 0)) for h, r in self.hosts.items()}
        return {h: n for h, n in out.items() if n}


def deploy(env: Path, state_dir: Path, tags: str = "sdwan_edge", extra: list[str] | None = None,
           playbook: str = "playbooks/sdwan_edge.yml") -> Deploy:
    """`idcpilot deploy ENV --playbook PLAYBOOK` (policy gate first, as users run it).

    Its run artifacts go under state_dir (IDCPILOT_STATE_DIR) and its own output to
    state_dir/deploy.out and deploy.err, so a test can scan everything the deploy wrote. The
    estate CA stays where `idcpilot lab up` made it (IDCPILOT_PKI_DIR, as an operator keeps one
    CA across runs): deploy checks it before touching a host, and a state directory of its own
    would otherwise hide it."""
    from idcpilot import catalogue
    from idcpilot.pki.store import open_ca

    ca_dir = open_ca(catalogue.load(env).name).dir  # resolved before the state directory moves
    state_dir.mkdir(parents=True, exist_ok=True)
    cmd = [str(Path(sys.executable).with_name("idcpilot")), "deploy", str(env), "--playbook", playbook,
           "--tags", tags, "--format", "json", *(extra or [])]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800,
                          env=os.environ | {"IDCPILOT_STATE_DIR": str(state_dir), "IDCPILOT_PKI_DIR": str(ca_dir)})
    (state_dir / "deploy.out").write_text(proc.stdout)
    (state_dir / "deploy.err").write_text(proc.stderr)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return Deploy(proc.returncode, "no report", {}, state_dir, proc.stderr[-3000:])
    return Deploy(proc.returncode, report["status"], report["hosts"], Path(report["artifacts"]), proc.stderr[-3000:])


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
