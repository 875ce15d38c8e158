"""The services a lab runs on its bridge's gateway address, each a detached process with a pid file.

- the apt proxy (``idcpilot.lab.aptproxy``, always; see ``idcpilot.lab.proxy``);
- NTP (``idcpilot.lab.ntp``) when the estate's ``ntpServers`` name the gateway address;
- the offline artifact repository (``idcpilot.lab.artifacts``) when ``packageMirror.artifacts``
  is ``http://GATEWAY[:PORT]``, serving the bundle ``idcpilot bundle build`` lays out.

They are the lab's stand-ins for what an IDC runs itself (its mirror, its NTP servers, its
artifact repository), so the product reaches them exactly as it reaches the real ones. ``lab up``
starts what the estate declares and stops what it no longer declares; ``lab down`` stops all.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from idcpilot.lab import ntp, procs
from idcpilot.lab.errors import LabError
from idcpilot.lab.layout import NTP_PORT, LabPlan

Log = Callable[[str], None]
START_TIMEOUT = 15.0
PROBE_TIMEOUT = 2.0  # a loaded 2-core machine can take a while to accept or answer
# Every program a lab service runs; `down` and `leftovers` find them by `-m MODULE --bind GATEWAY`.
MODULES = ("idcpilot.lab.aptproxy", "idcpilot.lab.ntp", "idcpilot.lab.artifacts")


@dataclass(frozen=True)
class Service:
    name: str  # its directory under the lab's run dir, and its name in `lab status`
    title: str
    module: str  # run as `python -m MODULE`; also the marker in its command line
    port: int
    proto: str  # "tcp" or "udp"
    args: tuple[str, ...] = ()
    stem: str = ""  # pid and log file name (default: name)
    scheme: str = "http"  # how hosts name it

    def command(self, plan: LabPlan) -> list[str]:
        return [sys.executable, "-m", self.module, "--bind", plan.gateway, "--port", str(self.port), *self.args]

    def dir(self, plan: LabPlan) -> Path:
        return plan.layout.run_dir / self.name

    def pidfile(self, plan: LabPlan) -> Path:
        return self.dir(plan) / f"{self.stem or self.name}.pid"

    def log(self, plan: LabPlan) -> Path:
        return self.dir(plan) / f"{self.stem or self.name}.log"

    def url(self, plan: LabPlan) -> str:
        prefix = self.args[self.args.index("--prefix") + 1] if "--prefix" in self.args else ""
        return f"{self.scheme}://{plan.gateway}:{self.port}{prefix}"


def bundle_root() -> Path:
    """Where the offline bundle lives on this machine (what the artifact repository serves)."""
    from idcpilot.bundle import files_root

    return files_root()


def missing_kubernetes(root: Path, versions: tuple[str, ...] | list[str], arch: str | None = None) -> list[str]:
    """Kubernetes versions whose release directory (with its SHA256SUMS) the bundle lacks; the
    directory comes from the bundle's own layout (versions.yaml), for the arch it builds."""
    from idcpilot.bundle import layout
    from idcpilot.bundle import versions as bundle_versions

    data = bundle_versions.load()
    recipe = data.components["kubernetes"].layout
    return [v for v in versions if not (root / layout.component_dir(recipe, v, arch or data.arch) / "SHA256SUMS").is_file()]


def ntp_service() -> Service:
    return Service("ntp", "NTP server", "idcpilot.lab.ntp", NTP_PORT, "udp", scheme="ntp")


def artifacts_service(port: int, root: Path, prefix: str = "") -> Service:
    return Service("artifacts", "artifact repository", "idcpilot.lab.artifacts", port, "tcp",
                   ("--root", str(root)) + (("--prefix", prefix) if prefix else ()))


def wanted(plan: LabPlan) -> list[Service]:
    """The services besides the apt proxy that the plan's estate declares on the gateway address."""
    out = []
    if plan.ntp:
        out.append(ntp_service())
    if plan.artifacts_port:
        out.append(artifacts_service(plan.artifacts_port, bundle_root(), plan.artifacts_prefix))
    return out


def running(plan: LabPlan, svc: Service) -> int | None:
    pid = procs.running(svc.pidfile(plan), svc.module)
    return pid if pid is not None and plan.gateway in procs.cmdline(pid) else None


def answering(plan: LabPlan, svc: Service) -> bool:
    if svc.proto == "udp":
        return ntp.query(plan.gateway, svc.port, timeout=PROBE_TIMEOUT) is not None
    try:
        with socket.create_connection((plan.gateway, svc.port), timeout=PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-1500:].strip() if path.exists() else ""


def start(plan: LabPlan, svc: Service) -> bool:
    """Run SVC (idempotent; restarted when its arguments changed). True when it was (re)started."""
    cmd = svc.command(plan)
    pid = running(plan, svc)
    if pid is not None:
        # argv[0] is whichever interpreter path started it (the CLI's, a test's): not a change
        if procs.cmdline(pid)[1 : len(cmd)] == cmd[1:] and answering(plan, svc):
            return False
        procs.stop(pid, svc.module, timeout=10)
    svc.dir(plan).mkdir(parents=True, exist_ok=True)
    procs.spawn(cmd, svc.pidfile(plan), svc.log(plan))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if answering(plan, svc):
            return True
        if not running(plan, svc):
            break
        time.sleep(0.1)
    raise LabError(f"lab {svc.title} did not start on {svc.url(plan)}: {_log_tail(svc.log(plan))}")


def _stray(plan: LabPlan) -> list[int]:
    """Processes of any lab service bound to this lab's gateway address."""
    needles = [f"{m} --bind {plan.gateway} " for m in MODULES]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            args = " ".join(procs.cmdline(int(entry.name)))
            if any(n in args for n in needles):
                found.append(int(entry.name))
    return found


def stop(plan: LabPlan, svc: Service) -> None:
    pid = running(plan, svc)
    if pid:
        procs.stop(pid, svc.module, timeout=10)


def up(plan: LabPlan, log: Log) -> None:
    """Start what the estate declares on the gateway address; stop the lab's services it no longer does."""
    want = wanted(plan)
    for svc in (ntp_service(), artifacts_service(0, Path())):
        if svc.name not in {w.name for w in want}:
            stop(plan, svc)
    for svc in want:
        if start(plan, svc):
            log(f"lab {plan.name}: {svc.title} on {svc.url(plan)}" + (f" serving {svc.args[1]}" if svc.args else ""))
    if plan.artifacts_port and plan.kubernetes_versions:
        root = bundle_root()
        missing = missing_kubernetes(root, plan.kubernetes_versions)
        if missing:
            versions = ", ".join(f"v{v}" for v in missing)
            log(f"artifacts: {root} has no Kubernetes {versions}: run `idcpilot bundle build {plan.env or plan.estate}`")


def down(plan: LabPlan) -> None:
    """Stop every lab service of this lab (the apt proxy's own leftovers are idcpilot.lab.proxy's)."""
    for pid in _stray(plan):
        cmd = " ".join(procs.cmdline(pid))
        procs.stop(pid, next(m for m in MODULES if m in cmd), timeout=10)


def all_running(plan: LabPlan) -> bool:
    return all(running(plan, svc) is not None for svc in wanted(plan))


@dataclass
class ServiceStatus:
    name: str
    url: str
    pid: int | None
    answering: bool
    detail: str = ""


def status(plan: LabPlan) -> list[ServiceStatus]:
    """Each service the estate declares on the gateway: running, answering, and what it lacks."""
    out = []
    for svc in wanted(plan):
        pid = running(plan, svc)
        detail = ""
        if svc.name == "artifacts":
            missing = missing_kubernetes(Path(svc.args[1]), plan.kubernetes_versions)
            detail = f"{svc.args[1]}" + (f" (no Kubernetes {', '.join('v' + v for v in missing)})" if missing else "")
        out.append(ServiceStatus(svc.name, svc.url(plan), pid, pid is not None and answering(plan, svc), detail))
    return out


def leftovers(plan: LabPlan) -> list[str]:
    return [f"process {pid}: {' '.join(procs.cmdline(pid))[:80]}" for pid in _stray(plan)]
