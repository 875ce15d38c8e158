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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make demo-lab` brings its own lab up and takes it down: it runs before every test that
    shares the session's lab, never in the middle of them."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("demo_lab") else 1)
