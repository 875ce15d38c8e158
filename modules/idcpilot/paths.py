"""Where idcpilot finds the project it works on and keeps its own state: one place for both."""

from __future__ import annotations

import os
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
