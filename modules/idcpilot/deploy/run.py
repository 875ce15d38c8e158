"""A deploy run: policy gate, playbook listing, ansible-runner with live events, recap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import ansible_runner

from idcpilot import catalogue as catalogue_mod
from idcpilot.catalogue.estate import Catalogue
from idcpilot.deploy.options import DeployOptions, cmdline, forks_for, parse_listing, vars_args
from idcpilot.deploy.paths import facts_dir, keep_runs, prune_runs, repo_root, run_stamp, runs_dir, scrub_fact_cache
from idcpilot.deploy.progress import Tracker
from idcpilot.errors import UserInputError

FACT_CACHE_TIMEOUT = 900  # seconds a host's facts are reused by later runs


class GateRefused(Exception):
    """The policy gate failed: no host was touched."""

    def __init__(self, gate: Any):
        self.gate = gate
        super().__init__(gate.summary())


@dataclass
class DeployResult:
    estate: str
    status: str  # successful | failed | ...
    rc: int
    artifacts: Path
    tracker: Tracker
    duration: float
    gate_summary: str

    @property
    def ok(self) -> bool:
        return self.rc == 0 and self.status == "successful" and not self.tracker.failed_hosts

    def as_dict(self) -> dict[str, Any]:
        return {
            "estate": self.estate,
            "status": self.status,
            "rc": self.rc,
            "ok": self.ok,
            "duration": round(self.duration, 2),
            "artifacts": str(self.artifacts),
            "gate": self.gate_summary,
            "hosts": {n: h.as_dict() for n, h in sorted(self.tracker.hosts.items())},
        }


def run_gate(cat: Catalogue, opts: DeployOptions | None = None) -> Any:
    """The full policy gate (every rule, the repo's waivers): a deploy cannot narrow it. It sees every
    variable the playbook run gets: vaults opened with its secrets, its playbook's group_vars/host_vars
    and its -e extra vars."""
    from idcpilot import policy  # the engine and the rules load only when a deploy runs
    from idcpilot.policy.hostvars import playbook_dir
    from idcpilot.policy.vault import VaultOptions

    if opts is None:
        return policy.gate(cat)
    return policy.gate(cat, vault=VaultOptions(opts.vault_ids, opts.vault_password_files), playbook_dir=playbook_dir(opts.playbook),
                       extra_vars=opts.extra_vars)


def pki_preflight(cat: Catalogue) -> None:
    """Before any host is touched: an estate with gateways or node exporters needs its CA (the play
    signs their certificates on this machine, roles/estate_certificate) and the CA's passphrase as a
    file. A passphrase in the environment is refused: ansible-runner records the environment in the
    run's artifacts."""
    from idcpilot.pki.ca import PkiError
    from idcpilot.pki.store import PASS_ENV, PASS_FILE_ENV, open_ca

    if os.environ.get(PASS_ENV):
        raise UserInputError.single(f"${PASS_ENV}", f"a deploy records its environment in the run's artifacts; give the CA "
                                    f"passphrase as a file readable by you alone: ${PASS_FILE_ENV}")
    served = [what for what, needs in (("gateways", any(cat.members(g.hosts) for g in cat.estate.spec.gateways)),
                                        ("node exporters", any(h.has("monitoring") and h.automated for h in cat.hosts.values())))
              if needs]
    if not served:
        return
    try:
        open_ca(cat.name).check_passphrase()
    except PkiError as exc:
        raise UserInputError.single(str(cat.file), f"the estate's {' and '.join(served)} need its CA on this machine: {exc}",
                                    "spec.gateways" if served[0] == "gateways" else "spec.hosts") from None


def _bin_dir() -> str:
    return str(Path(sys.executable).parent)


def ansible_env(estate: str, repo: Path, fact_cache: bool = True, inventory: Path | None = None) -> dict[str, str]:
    env = {
        "ANSIBLE_CONFIG": str(repo / "ansible.cfg"),
        "PATH": f"{_bin_dir()}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        # the estate CA signs gateway certificates on the controller (roles/zt_gateway, idcpilot pki
        # sign-host): which idcpilot and which estate, from here rather than from any inventory variable
        "IDCPILOT_CLI": str(Path(_bin_dir()) / "idcpilot"),
    }
    if inventory is not None:
        env["IDCPILOT_INVENTORY"] = str(inventory)
    if fact_cache:
        env |= {
            "ANSIBLE_CACHE_PLUGIN": "jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(facts_dir(estate)),
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": str(FACT_CACHE_TIMEOUT),
        }
    return env


def extravars(cat: Catalogue) -> dict[str, Any]:
    """Rolling behaviour from the catalogue; play keywords cannot see inventory variables."""
    auto = cat.estate.spec.automation
    return {"idcpilot_serial": auto.serial, "idcpilot_max_fail_percentage": auto.max_fail_percentage}


def listing(opts: DeployOptions, env_dir: Path, repo: Path, env: dict[str, str]) -> list[tuple[str, int, int]]:
    """Plays with their host and task counts (the progress bar's hosts x tasks)."""
    cmd = [str(Path(_bin_dir()) / "ansible-playbook"), "-i", str(env_dir), str(repo / opts.playbook), "--list-hosts", "--list-tasks"]
    if opts.limit:
        cmd += ["--limit", opts.limit]
    if opts.tags:
        cmd += ["--tags", opts.tags]
    if opts.skip_tags:
        cmd += ["--skip-tags", opts.skip_tags]
    cmd += vars_args(opts)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, env=os.environ | env, timeout=300)
    return parse_listing(proc.stdout) if proc.returncode == 0 else []


def deploy(
    opts: DeployOptions,
    on_event: Callable[[dict[str, Any]], Any] | None = None,
    tracker: Tracker | None = None,
    cat: Catalogue | None = None,
    fact_cache: bool = True,
    on_gate: Callable[[Any], None] | None = None,
    on_listing: Callable[[Tracker], None] | None = None,
) -> DeployResult:
    """Gate, then run the playbook. Raises GateRefused (nothing touched) when the gate fails."""
    t0 = time.monotonic()
    try:
        keep = keep_runs()  # a bad $IDCPILOT_KEEP_RUNS stops the deploy before anything runs
    except ValueError as exc:
        raise UserInputError.single("$IDCPILOT_KEEP_RUNS", str(exc)) from None
    cat = cat or catalogue_mod.load(opts.env)
    env_dir = cat.root.resolve()
    repo = repo_root()
    env = ansible_env(cat.name, repo, fact_cache, env_dir)
    with ThreadPoolExecutor(max_workers=2) as pool:
        gate_f = pool.submit(run_gate, cat, opts)
        listing_f = pool.submit(listing, opts, env_dir, repo, env)
        gate = gate_f.result()
        if on_gate:
            on_gate(gate)
        if not gate.passed:
            listing_f.cancel()
            raise GateRefused(gate)
        plays = listing_f.result()
    pki_preflight(cat)
    tracker = tracker or Tracker()
    tracker.listing = plays
    if on_listing:
        on_listing(tracker)
    run_dir = runs_dir(cat.name) / run_stamp()
    run_dir.mkdir(parents=True, exist_ok=True)
    facts_dir(cat.name).mkdir(parents=True, exist_ok=True)
    scrub_fact_cache(facts_dir(cat.name))
    prune_runs(runs_dir(cat.name), keep, current=run_dir)  # now: a run that crashes still counts

    def handler(event: dict[str, Any]) -> bool:
        if on_event:
            on_event(event)
        else:
            tracker.handle(event)
        return True

    r = ansible_runner.run(
        private_data_dir=str(run_dir),
        project_dir=str(repo),
        playbook=str(repo / opts.playbook),
        inventory=str(env_dir),
        envvars=env,
        extravars=extravars(cat),
        limit=opts.limit,
        tags=opts.tags,
        forks=forks_for(len(cat.hosts), opts.forks),
        cmdline=" ".join(cmdline(opts)) or None,
        event_handler=handler,
        quiet=True,
        suppress_env_files=False,
    )
    result = DeployResult(cat.name, r.status, r.rc, run_dir, tracker, time.monotonic() - t0, gate.summary().splitlines()[0])
    (run_dir / "recap.json").write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return result
