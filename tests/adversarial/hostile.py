"""Shared tools for the adversarial corpus: a copy of a bundled estate, edited as a hostile pull
request would edit it, and the real CLI and Ansible run on it as a subprocess.

Every run asserts the contract that holds for every input: no traceback, bounded time. The
callers assert the verdict (exit code, the field path or rule id named) and, for injection,
that a marker file was not created.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IDCPILOT = str(BIN / "idcpilot")
TIMEOUT = 120


@dataclass
class Hostile:
    """An estate directory copied from ``inventories/<source>`` into a temporary folder."""

    root: Path

    @property
    def estate_file(self) -> Path:
        return self.root / "estate.yaml"

    def estate(self) -> dict[str, Any]:
        return yaml.safe_load(self.estate_file.read_text(encoding="utf-8"))

    def edit(self, mutate: Callable[[dict[str, Any]], Any]) -> "Hostile":
        """Load estate.yaml, let ``mutate`` change the data in place, write it back."""
        data = self.estate()
        mutate(data)
        self.estate_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return self

    def write(self, rel: str, text: str) -> Path:
        """Write a file below the estate directory (group_vars/all.yml, host_vars/h.yml, ...)."""
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p


def copy_estate(tmp_path: Path, source: str = "example") -> Hostile:
    dst = tmp_path / source
    shutil.copytree(REPO / "inventories" / source, dst)
    return Hostile(dst)


def run(cmd: list[str], *, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    """Run a command with the contract every input must keep: it ends in time, no traceback."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" not in out, f"{cmd}: traceback\n{out[-4000:]}"
    return proc


def idcpilot(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return run([IDCPILOT, *map(str, args)], **kwargs)


def ansible(tool: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """``ansible``, ``ansible-inventory``, ... from the project's environment, run from the repo root
    (its ansible.cfg enables the estate inventory plugin)."""
    return run([str(BIN / tool), *map(str, args)], **kwargs)


def output(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr
