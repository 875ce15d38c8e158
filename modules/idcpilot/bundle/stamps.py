"""Cache stamps: a component already built into a bundle root with the same inputs is not rebuilt.

The key is the component, its version, the Go toolchain, the machine's GOFLAGS and every flag of
the build (ldflags included): change any of them and the component is built again. A stamp is
only trusted when every file it lists is still in the root with the SHA256 it was built with
(a file changed or removed under the bundle makes the component build again).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from idcpilot.bundle.layout import atomic_write, sha256_file

STAMP_SCHEMA = 1


def build_key(component: str, version: str, go_version: str, goflags_env: str, argv: list[list[str]]) -> str:
    """A hash of everything that decides the bytes of a component's files."""
    data = json.dumps([STAMP_SCHEMA, component, version, go_version, goflags_env, argv], separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


@dataclass(frozen=True)
class FileRecord:
    path: str  # relative to the bundle root
    sha256: str
    size: int
    binary: str
    package: str


@dataclass(frozen=True)
class Stamp:
    component: str
    version: str
    key: str
    root: str
    go_version: str
    modules: dict[str, str]
    files: list[FileRecord] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Stamp":
        files = [FileRecord(**f) for f in data["files"]]
        return cls(**{**data, "files": files})


def stamp_file(cache: Path, component: str, version: str) -> Path:
    return cache / "stamps" / f"{component}-{version}.json"


def read(cache: Path, component: str, version: str) -> Stamp | None:
    """The stamp of a component build, or None (none yet, or unreadable: then it is rebuilt)."""
    try:
        return Stamp.from_json(json.loads(stamp_file(cache, component, version).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def write(cache: Path, stamp: Stamp) -> None:
    atomic_write(stamp_file(cache, stamp.component, stamp.version), (json.dumps(stamp.to_json(), indent=2) + "\n").encode(), 0o644)


def stale_reason(stamp: Stamp | None, key: str, root: Path) -> str | None:
    """Why the component must be built again, or None when the root already holds this build."""
    if stamp is None:
        return "not built yet"
    if stamp.key != key:
        return "the version, Go toolchain or build flags changed"
    if stamp.root != str(root.resolve()):
        return f"last built into {stamp.root}"
    for f in stamp.files:
        file = root / f.path
        if not file.is_file():
            return f"{f.path} is missing"
        if file.stat().st_size != f.size or sha256_file(file) != f.sha256:
            return f"{f.path} changed since it was built"
    return None
