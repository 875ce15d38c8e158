"""Where deploy keeps its run artifacts and fact caches: outside the repository."""

from __future__ import annotations

from pathlib import Path

from idcpilot.paths import repo_root, state_root

__all__ = ["facts_dir", "repo_root", "runs_dir", "state_root"]


def runs_dir(estate: str) -> Path:
    return state_root() / "runs" / estate


def facts_dir(estate: str) -> Path:
    """Per-estate fact cache: hosts of different estates may share names."""
    return state_root() / "facts" / estate
