"""Helpers for the policy tests: an estate (and manifests) written with one small edit each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from idcpilot import catalogue
from idcpilot.policy import engine
from idcpilot.policy.k8s import load_manifest_dir
from idcpilot.policy.model import Report

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
BASE_ESTATE = (FIXTURES / "estate.yaml").read_text(encoding="utf-8")
BASE_MANIFESTS = (FIXTURES / "manifests.yaml").read_text(encoding="utf-8")
TODAY = dt.date(2026, 11, 27)
#: the day policy/waivers.yaml was last approved: its waivers expire within maxDays of it
REPO_WAIVERS_DAY = dt.date(2026, 12, 6)
MARK = "# FAIL"


def edit(text: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        assert text.count(old) == 1, f"fixture edit anchor must occur exactly once: {old!r}"
        text = text.replace(old, new)
    return text


@dataclass
class Env:
    root: Path
    manifests: Path | None = None
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text written

    def marked(self) -> set[tuple[str, int]]:
        """(file name, line) of every line carrying the FAIL marker."""
        out = set()
        for rel, text in self.files.items():
            for n, line in enumerate(text.splitlines(), start=1):
                if MARK in line:
                    out.add((rel, n))
        return out


@pytest.fixture
def make_env(tmp_path: Path):
    def make(estate_edits=(), files: dict[str, str] | None = None, manifest_edits=None) -> Env:
        root = tmp_path / "env"
        root.mkdir()
        env = Env(root)
        text = edit(BASE_ESTATE, list(estate_edits))
        (root / "estate.yaml").write_text(text, encoding="utf-8")
        env.files["estate.yaml"] = text
        for rel, content in (files or {}).items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content, encoding="utf-8")
            env.files[rel] = content
        if manifest_edits is not None:
            mdir = tmp_path / "manifests" / "bj-core-k8s"
            mdir.mkdir(parents=True)
            mtext = edit(BASE_MANIFESTS, list(manifest_edits))
            (mdir / "portal.yaml").write_text(mtext, encoding="utf-8")
            env.files["portal.yaml"] = mtext
            env.manifests = tmp_path / "manifests"
        return env

    return make


def check(env: Env, **kwargs) -> Report:
    cat = catalogue.load(env.root)
    manifests = load_manifest_dir(env.manifests) if env.manifests else None
    kwargs.setdefault("waivers_file", env.root / "no-waivers.yaml")
    kwargs.setdefault("today", TODAY)
    kwargs.setdefault("plan", False)
    return engine.run(cat, manifests=manifests, **kwargs)
