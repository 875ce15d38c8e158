"""``ipam.lock.yaml``: the committed record of every allocation, read and written as plain YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from idcpilot.errors import UserInputError
from idcpilot.yamlsource import load_yaml_file

LOCK_FILE = "ipam.lock.yaml"
SECTIONS = ("sites", "clusters", "hosts")

HEADER = """\
# IP address allocations for this estate, written by `idcpilot ipam apply`.
# Commit this file. Existing entries are never renumbered: adding a site, a cluster or a host
# only adds entries. Entries whose owner left the catalogue stay reserved until
# `idcpilot ipam apply --prune` frees them.
"""


@dataclass
class Lock:
    """owner kind (sites|clusters|hosts) -> owner name -> address kind -> prefix or address."""

    sites: dict[str, dict[str, str]] = field(default_factory=dict)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    hosts: dict[str, dict[str, str]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, dict[str, str]]:
        return getattr(self, name)

    def to_dict(self) -> dict:
        return {
            "apiVersion": "idcpilot/v1",
            "kind": "IpamLock",
            **{s: {k: dict(sorted(v.items())) for k, v in sorted(self.section(s).items())} for s in SECTIONS},
        }

    def dump(self) -> str:
        return HEADER + yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False, width=120)

    def copy(self) -> "Lock":
        return Lock(**{s: {k: dict(v) for k, v in self.section(s).items()} for s in SECTIONS})


def lock_path(env_dir: Path) -> Path:
    return env_dir / LOCK_FILE


def read_lock(env_dir: Path, display: str | None = None) -> Lock:
    path = lock_path(env_dir)
    if not path.exists() and not path.is_symlink():  # a broken or looping symlink is an error
        return Lock()
    shown = display or str(path)
    data, smap = load_yaml_file(path, shown)
    if data is None:
        return Lock()
    problems = []
    if not isinstance(data, dict):
        raise UserInputError([smap.problem((), "the lock file must be a mapping")])
    if data.get("kind") != "IpamLock":
        problems.append(smap.problem(("kind",), "must be IpamLock"))
    lock = Lock()
    for key in data:
        if key not in ("apiVersion", "kind", *SECTIONS):
            problems.append(smap.problem((key,), f"unknown field {key!r}"))
    for section in SECTIONS:
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            problems.append(smap.problem((section,), "must be a mapping of name -> addresses"))
            continue
        for owner, addrs in entries.items():
            if not isinstance(addrs, dict) or not all(isinstance(v, str) for v in addrs.values()):
                problems.append(smap.problem((section, owner), "must map address kinds to prefixes"))
                continue
            lock.section(section)[str(owner)] = {str(k): v for k, v in addrs.items()}
    if problems:
        raise UserInputError(problems)
    return lock


def write_lock(env_dir: Path, lock: Lock) -> Path:
    path = lock_path(env_dir)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(lock.dump(), encoding="utf-8")
    tmp.replace(path)
    return path
