"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _repo_cwd() -> None:
    """Tests run from the repository root, as users do (ansible.cfg, relative paths)."""
    os.chdir(REPO)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
