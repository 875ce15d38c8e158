"""The adversarial corpus: hostile estates, group_vars, host_vars, waivers and manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.hostile import Hostile, copy_estate


@pytest.fixture
def example(tmp_path: Path) -> Hostile:
    return copy_estate(tmp_path, "example")


@pytest.fixture
def lab(tmp_path: Path) -> Hostile:
    return copy_estate(tmp_path, "lab")
