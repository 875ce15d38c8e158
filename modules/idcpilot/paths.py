"""Where idcpilot finds the project it works on and keeps its own state: one place for both."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import idcpilot


def repo_root() -> Path:
    """The idcpilot project (ansible.cfg, playbooks/, roles/, policy/): the working directory when
    it is one, else the checkout the package is installed from (``make venv``'s editable install)."""
    for cand in (Path.cwd(), Path(idcpilot.__file__).resolve().parents[2]):
        if (cand / "ansible.cfg").is_file() and (cand / "playbooks").is_dir():
            return cand.resolve()
    raise FileNotFoundError("cannot find the idcpilot project (ansible.cfg, playbooks/): run from the repository root")


def state_root() -> Path:
    """$IDCPILOT_STATE_DIR, else $XDG_STATE_HOME/idcpilot (~/.local/state/idcpilot)."""
    if os.environ.get("IDCPILOT_STATE_DIR"):
        return Path(os.environ["IDCPILOT_STATE_DIR"])
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "idcpilot"


# ------------------------------------------------------------------ per-run directories

#: Run directories kept per estate and kind (deploy runs, verify runs) unless $IDCPILOT_KEEP_RUNS
#: says otherwise: each holds a whole run's events and output, so they are not kept forever.
DEFAULT_KEEP_RUNS = 20
KEEP_RUNS_ENV = "IDCPILOT_KEEP_RUNS"
#: The name ``run_stamp`` gives a run directory (UTC, microseconds): only such names are pruned.
RUN_STAMP = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")


def run_stamp(now: datetime | None = None) -> str:
    """A run directory's name: its UTC start time, sortable as text (20250102T030405.123456Z)."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")


def keep_runs_problem() -> str | None:
    """What is wrong with $IDCPILOT_KEEP_RUNS (None: unset or fine)."""
    raw = os.environ.get(KEEP_RUNS_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        return f"${KEEP_RUNS_ENV} must be a whole number of runs >= 1, not {raw!r}"
    return None


def keep_runs() -> int:
    """How many run directories are kept: $IDCPILOT_KEEP_RUNS, else DEFAULT_KEEP_RUNS."""
    problem = keep_runs_problem()
    if problem:
        raise ValueError(problem)
    raw = os.environ.get(KEEP_RUNS_ENV, "").strip()
    return int(raw) if raw else DEFAULT_KEEP_RUNS


def prune_runs(directory: Path, keep: int | None = None, current: Path | None = None) -> list[Path]:
    """Remove the oldest run directories of ``directory`` beyond the newest ``keep`` (default
    keep_runs()) and return them. Only directories named by run_stamp are candidates: anything
    else there (a user's file, a symlink, a differently named directory) is never touched. The
    newest ``keep`` and ``current`` (the run that is ending) always stay. A directory that cannot
    be removed is left and not returned: pruning never fails a run."""
    keep = keep_runs() if keep is None else keep
    if keep < 1:
        raise ValueError(f"keep must be >= 1, not {keep}")
    try:
        runs = sorted(p for p in directory.iterdir() if RUN_STAMP.match(p.name) and p.is_dir() and not p.is_symlink())
    except FileNotFoundError:
        return []
    removed = []
    for old in runs[:-keep]:
        if current is not None and old.resolve() == current.resolve():
            continue
        try:
            shutil.rmtree(old)
        except OSError:
            continue
        removed.append(old)
    return removed
