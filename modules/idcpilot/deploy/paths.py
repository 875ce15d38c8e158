"""Where deploy keeps its run artifacts and fact caches: outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import idcpilot


def repo_root() -> Path:
    """The checkout holding ansible.cfg, playbooks/ and roles/ (the package is installed from it)."""
    for cand in (Path.cwd(), Path(idcpilot.__file__).resolve().parents[2]):
        if (cand / "ansible.cfg").is_file() and (cand / "playbooks").is_dir():
            return cand.resolve()
    raise FileNotFoundError("cannot find the idcpilot checkout (ansible.cfg, playbooks/): run from the repository root")


def state_root() -> Path:
    """$IDCPILOT_STATE_DIR, else $XDG_STATE_HOME/idcpilot (~/.local/state/idcpilot)."""
    if os.environ.get("IDCPILOT_STATE_DIR"):
        return Path(os.environ["IDCPILOT_STATE_DIR"])
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "idcpilot"


def runs_dir(estate: str) -> Path:
    return state_root() / "runs" / estate


def facts_dir(estate: str) -> Path:
    """Per-estate fact cache: hosts of different estates may share names."""
    return state_root() / "facts" / estate
