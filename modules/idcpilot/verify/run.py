"""A verify run: render the inventory, run the testinfra suites (idcpilot.verify.suites, or paths the
user names) with pytest-testinfra (xdist), collect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from idcpilot import catalogue as catalogue_mod
from idcpilot.paths import keep_runs, prune_runs, repo_root, run_stamp, state_root
from idcpilot.errors import UserInputError
from idcpilot.verify.inventory import render, to_yaml_inventory
from idcpilot.verify.report import VerifyReport, build_report


class VerifyError(RuntimeError):
    """The suites could not run (collection error, no hosts ...): nothing was verified."""


#: The suites shipped with idcpilot: the product's own checks of every role, per rule id.
SUITES_DIR = Path(__file__).resolve().parent / "suites"


def resolve_suites(names: tuple[str, ...]) -> list[str]:
    """Suite arguments for pytest: every packaged suite, or each name as a packaged suite
    (``sdwan``, ``test_sdwan``, ``test_sdwan.py``) or an existing path (a user's own suite)."""
    if not names:
        return [str(SUITES_DIR)]
    out = []
    for name in names:
        stem = Path(name).name.removesuffix(".py")
        packaged = SUITES_DIR / f"{stem if stem.startswith('test_') else 'test_' + stem}.py"
        if packaged.is_file() and not Path(name).exists():
            out.append(str(packaged))
        elif Path(name).exists():
            out.append(str(Path(name).resolve()))
        else:
            known = ", ".join(sorted(p.stem.removeprefix("test_") for p in SUITES_DIR.glob("test_*.py")))
            raise UserInputError.single("--suite", f"no suite {name!r} (packaged: {known}) and no such path")
    return out


@dataclass(frozen=True)
class VerifyOptions:
    env: Path
    limit: str | None = None  # comma-separated host or group names
    rules: tuple[str, ...] = ()
    keyword: str | None = None
    workers: int | None = None
    junit: bool = False
    suites: tuple[str, ...] = ()  # names in idcpilot.verify.suites or paths; empty: every packaged suite


@dataclass
class VerifyRun:
    report: VerifyReport
    run_dir: Path
    junit: Path | None
    pytest_rc: int
    duration: float


def select_hosts(groups: dict[str, list[str]], hostnames: list[str], limit: str | None) -> list[str]:
    """Automated hosts, narrowed by --limit (host names or group names, comma-separated)."""
    automated = set(groups.get("automated", hostnames))
    if not limit:
        return sorted(automated)
    chosen: set[str] = set()
    for token in (t.strip() for t in limit.split(",") if t.strip()):
        if token in groups:
            chosen |= set(groups[token])
        elif token in hostnames:
            chosen.add(token)
        else:
            raise VerifyError(f"--limit {token!r}: no such host or group in the inventory")
    return sorted(chosen & automated)


def verify(opts: VerifyOptions, echo: Callable[[str], None] = lambda _l: None) -> VerifyRun:
    t0 = time.monotonic()
    try:
        keep = keep_runs()
    except ValueError as exc:
        raise UserInputError.single("$IDCPILOT_KEEP_RUNS", str(exc)) from None
    cat = catalogue_mod.load(opts.env)
    suites = resolve_suites(opts.suites)
    repo = repo_root()
    env_dir = cat.root.resolve()
    run_dir = state_root() / "verify" / cat.name / run_stamp()
    run_dir.mkdir(parents=True, exist_ok=True)
    prune_runs(run_dir.parent, keep, current=run_dir)  # now: a run that fails still counts
    hostvars, groups = render(env_dir, repo / "ansible.cfg")
    hosts = select_hosts(groups, list(hostvars), opts.limit)
    if not hosts:
        raise VerifyError("no automated hosts to verify")
    inventory = run_dir / "inventory.yml"
    inventory.write_text(to_yaml_inventory(hostvars, groups, control_path="/tmp/idcpilot-verify-%C"))
    results = run_dir / "results.json"
    workers = opts.workers or max(1, min(len(hosts), 4))
    cmd = [
        sys.executable, "-m", "pytest", *suites,
        "-p", "no:cacheprovider", "-o", "addopts=", "--strict-markers", "-q", "--tb=short", "-rN", "--color=no",
        f"--hosts={','.join(f'ansible://{h}' for h in hosts)}", f"--ansible-inventory={inventory}",
    ]
    if workers > 1:
        cmd += ["-n", str(workers), "-p", "idcpilot.verify.schedule"]  # a host's tests in one worker
    if opts.keyword:
        cmd += ["-k", opts.keyword]
    junit = run_dir / "junit.xml" if opts.junit else None
    if junit:
        cmd.append(f"--junitxml={junit}")
    env = os.environ | {
        "IDCPILOT_VERIFY_ENV": str(env_dir),
        "IDCPILOT_VERIFY_INVENTORY": str(inventory),
        "IDCPILOT_VERIFY_RESULTS": str(results),
        "IDCPILOT_VERIFY_RULES": ",".join(opts.rules),
        "ANSIBLE_CONFIG": str(repo / "ansible.cfg"),
        "ANSIBLE_INVENTORY_ENABLED": "idcpilot_estate,yaml,host_list,ini",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    log = run_dir / "pytest.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            echo(line.rstrip("\n"))
        rc = proc.wait()
    if not results.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise VerifyError(f"pytest ended ({rc}) without results; log {log}:\n{tail}")
    report = build_report(cat.name, json.loads(results.read_text()))
    if rc not in (0, 1, 5):
        raise VerifyError(f"pytest ended with {rc} (interrupted or internal error); log {log}")
    (run_dir / "report.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return VerifyRun(report, run_dir, junit, rc, time.monotonic() - t0)
