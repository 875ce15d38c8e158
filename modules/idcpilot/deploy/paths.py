"""Where deploy keeps its run artifacts and fact caches: outside the repository.

What is kept: one directory per run under ``runs_dir(estate)`` (ansible-runner's events and
stdout, ``recap.json``), the newest ``keep_runs()`` of them ($IDCPILOT_KEEP_RUNS, default 20),
and one jsonfile fact cache per estate under ``facts_dir(estate)``. No role reads a password
hash or a private key into Ansible, so neither holds one (tests/roles/test_no_secrets.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from idcpilot.paths import DEFAULT_KEEP_RUNS, keep_runs, prune_runs, repo_root, run_stamp, state_root

__all__ = ["DEFAULT_KEEP_RUNS", "SECRET_FACTS", "facts_dir", "keep_runs", "prune_runs", "repo_root", "run_stamp", "runs_dir",
           "scrub_fact_cache", "state_root"]

#: Facts that carried password hashes before the baseline stopped reading shadow with getent.
#: Ansible merges a run's facts into the host's cached ones, so a cache written by an older
#: version would keep them for as long as deploys come within the cache timeout.
SECRET_FACTS = ("getent_shadow", "getent_gshadow", "ansible_getent_shadow", "ansible_getent_gshadow")


def runs_dir(estate: str) -> Path:
    return state_root() / "runs" / estate


def facts_dir(estate: str) -> Path:
    """Per-estate fact cache: hosts of different estates may share names."""
    return state_root() / "facts" / estate


def scrub_fact_cache(directory: Path) -> list[Path]:
    """Drop SECRET_FACTS from every host's cached facts in ``directory`` (a jsonfile cache);
    the files changed. Each keeps its modification time, which is what the cache's timeout
    reads. Files that are not a JSON object are left alone."""
    changed = []
    try:
        files = [p for p in directory.iterdir() if p.is_file() and not p.is_symlink()]
    except FileNotFoundError:
        return []
    for path in sorted(files):
        try:
            facts = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(facts, dict) or not any(k in facts for k in SECRET_FACTS):
            continue
        for key in SECRET_FACTS:
            facts.pop(key, None)
        stat = path.stat()
        tmp = path.with_name(f".{path.name}.scrub")
        tmp.write_text(json.dumps(facts, sort_keys=True, indent=4), encoding="utf-8")
        os.chmod(tmp, stat.st_mode & 0o7777)
        os.replace(tmp, path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        changed.append(path)
    return changed
