"""Run directories under the state root are bounded, and only run directories are ever removed;
cached facts that once held password hashes are scrubbed."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from idcpilot.deploy.options import DeployOptions, option_problems
from idcpilot.deploy.paths import SECRET_FACTS, facts_dir, runs_dir, scrub_fact_cache
from idcpilot.paths import DEFAULT_KEEP_RUNS, RUN_STAMP, keep_runs, prune_runs, run_stamp

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("IDCPILOT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("IDCPILOT_KEEP_RUNS", raising=False)
    return tmp_path / "state"


def make_runs(directory: Path, count: int) -> list[Path]:
    runs = []
    for i in range(count):
        run = directory / run_stamp(T0 + timedelta(minutes=i, microseconds=i))
        (run / "artifacts").mkdir(parents=True)
        (run / "artifacts" / "stdout").write_text(f"run {i}\n")
        runs.append(run)
    return runs


def test_run_stamp_is_what_deploy_and_verify_name_their_runs():
    assert run_stamp(T0) == "20250301T120000.000000Z"
    assert RUN_STAMP.match(run_stamp())
    assert not RUN_STAMP.match("20250301T120000Z") and not RUN_STAMP.match("notes-20250301T120000.000000Z")


def test_runs_live_under_the_state_root(state):
    assert runs_dir("demo") == state / "runs" / "demo"
    assert facts_dir("demo") == state / "facts" / "demo"


def test_the_oldest_runs_beyond_keep_are_removed(state):
    runs = make_runs(runs_dir("demo"), 25)
    removed = prune_runs(runs_dir("demo"), 20, current=runs[-1])
    assert removed == runs[:5]
    assert sorted(p for p in runs_dir("demo").iterdir()) == runs[5:]


def test_the_default_is_twenty_and_the_environment_overrides_it(state, monkeypatch):
    assert keep_runs() == DEFAULT_KEEP_RUNS == 20
    make_runs(runs_dir("demo"), 22)
    assert len(prune_runs(runs_dir("demo"))) == 2
    monkeypatch.setenv("IDCPILOT_KEEP_RUNS", "3")
    assert keep_runs() == 3
    assert len(prune_runs(runs_dir("demo"))) == 17
    assert len(list(runs_dir("demo").iterdir())) == 3


@pytest.mark.parametrize("bad", ["0", "-1", "ten", "2.5"])
def test_a_bad_setting_is_refused_before_a_deploy_runs(state, monkeypatch, tmp_path, bad):
    monkeypatch.setenv("IDCPILOT_KEEP_RUNS", bad)
    with pytest.raises(ValueError, match="IDCPILOT_KEEP_RUNS"):
        keep_runs()
    problems = option_problems(DeployOptions(env=tmp_path))
    assert any("IDCPILOT_KEEP_RUNS" in p and repr(bad) in p for p in problems), problems


def test_nothing_but_run_directories_is_touched(state, tmp_path):
    directory = runs_dir("demo")
    runs = make_runs(directory, 4)
    notes = directory / "notes.txt"
    notes.write_text("mine")
    odd = directory / "20250101T000000Z"  # not the format runs are named with
    odd.mkdir()
    as_file = directory / run_stamp(T0 - timedelta(days=1))  # a file named like a run
    as_file.write_text("a user's file")
    outside = tmp_path / "precious"
    (outside / "data").mkdir(parents=True)
    link = directory / run_stamp(T0 - timedelta(days=2))  # a symlink named like a run
    link.symlink_to(outside, target_is_directory=True)
    removed = prune_runs(directory, 1, current=runs[-1])
    assert removed == runs[:3]
    assert notes.read_text() == "mine" and odd.is_dir() and as_file.read_text() == "a user's file"
    assert link.is_symlink() and (outside / "data").is_dir()
    assert runs[-1].is_dir()


def test_the_current_run_is_kept_even_when_it_sorts_first(state):
    """A clock set back makes the current run's name the oldest: it still stays."""
    runs = make_runs(runs_dir("demo"), 5)
    current = runs[0]
    removed = prune_runs(runs_dir("demo"), 2, current=current)
    assert current.is_dir() and runs[-1].is_dir() and runs[-2].is_dir()
    assert removed == runs[1:3]


def test_fewer_runs_than_keep_and_a_missing_directory(state):
    runs = make_runs(runs_dir("demo"), 3)
    assert prune_runs(runs_dir("demo"), 20) == []
    assert all(r.is_dir() for r in runs)
    assert prune_runs(runs_dir("absent"), 20) == []
    with pytest.raises(ValueError):
        prune_runs(runs_dir("demo"), 0)


def test_each_estate_is_bounded_on_its_own(state):
    a = make_runs(runs_dir("a"), 3)
    b = make_runs(runs_dir("b"), 3)
    prune_runs(runs_dir("a"), 1)
    assert [r.is_dir() for r in a] == [False, False, True]
    assert all(r.is_dir() for r in b)


def test_shadow_facts_are_scrubbed_from_the_fact_cache_keeping_its_age(state):
    cache = facts_dir("demo")
    cache.mkdir(parents=True)
    leaky = cache / "host1"
    leaky.write_text(json.dumps({"getent_shadow": {"root": ["$6$salt$hash", "19000"]}, "getent_passwd": {"root": ["x", "0"]},
                                 "ansible_getent_gshadow": {"adm": ["*"]}, "distribution": "Debian"}))
    os.utime(leaky, (1_700_000_000, 1_700_000_000))
    clean = cache / "host2"
    clean.write_text(json.dumps({"distribution": "Rocky"}))
    clean_before = clean.read_bytes()
    junk = cache / "notes"
    junk.write_text("not json")
    assert scrub_fact_cache(cache) == [leaky]
    facts = json.loads(leaky.read_text())
    assert not set(SECRET_FACTS) & set(facts) and facts["getent_passwd"] and facts["distribution"] == "Debian"
    assert b"$6$" not in leaky.read_bytes()
    assert leaky.stat().st_mtime == 1_700_000_000  # the cache timeout reads the file's age
    assert clean.read_bytes() == clean_before and junk.read_text() == "not json"
    assert not list(cache.glob(".*.scrub"))
    assert scrub_fact_cache(facts_dir("absent")) == []
