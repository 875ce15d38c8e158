"""The bundle on disk: kubespray's files_repo layout, SHA256SUMS per directory, manifest.json.

Paths under the root mirror the download sites kubespray's ``files_repo`` mirrors
(``dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl``), so a role that knows kubespray's paths
finds the files. Every write is atomic (a temporary file renamed into place): the lab serves this
directory while a build may be refreshing it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
MANIFEST_SCHEMA = "idcpilot/bundle-manifest/v1"


def component_dir(layout: str, version: str, arch: str) -> str:
    """The directory of a component's files under the root (relative, '/'-separated)."""
    rel = layout.format(version=version, arch=arch)
    parts = rel.split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"layout {layout!r} does not make a relative path")
    return rel


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _replace(path: Path, write: Callable[[BinaryIO], None], mode: int) -> None:
    """Write through a temporary file in the same directory, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` atomically (readers see the old file or the new one)."""
    _replace(path, lambda fh: fh.write(data), mode)


def install_file(src: Path, dest: Path, mode: int = 0o755) -> None:
    """Copy a built binary into the bundle (atomically; a same-content file is left as it is)."""
    if dest.is_file() and dest.stat().st_size == src.stat().st_size and sha256_file(dest) == sha256_file(src):
        if dest.stat().st_mode & 0o777 != mode:
            os.chmod(dest, mode)
        return
    with src.open("rb") as inp:
        _replace(dest, lambda out: shutil.copyfileobj(inp, out, 1 << 20), mode)


def sums_text(digests: dict[str, str]) -> str:
    """SHA256SUMS in sha256sum's format (``<sha256>  <name>``), sorted by name."""
    return "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))


def parse_sums(text: str) -> dict[str, str]:
    """name -> sha256 of a SHA256SUMS file (lines that are not ``<64 hex>  <name>`` are ignored)."""
    out = {}
    for line in text.splitlines():
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) and name:
            out[name] = digest
    return out


def write_sums(directory: Path, digests: dict[str, str]) -> bool:
    """Write ``directory/SHA256SUMS`` for these files; False when it already said exactly that."""
    text = sums_text(digests)
    file = directory / SUMS
    if file.is_file() and file.read_text(encoding="utf-8") == text:
        return False
    atomic_write(file, text.encode(), 0o644)
    return True


def manifest(files: list[dict[str, Any]], packages: list[dict[str, Any]], images: list[dict[str, Any]],
             releases: list[str], build_date: str, not_built: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The bundle's manifest: every file, Debian package and image with its checksum or why not;
    ``notBuilt`` names the components of the releases whose files are not in the bundle."""
    return {
        "schema": MANIFEST_SCHEMA,
        "kubernetesReleases": list(releases),
        "complete": not not_built,
        "notBuilt": list(not_built or []),
        "buildDate": build_date,
        "files": sorted(files, key=lambda f: f["path"]),
        "debianPackages": sorted(packages, key=lambda p: p["name"]),
        "images": list(images),
    }


def write_manifest(root: Path, data: dict[str, Any]) -> bool:
    """Write root/manifest.json; False when it already held exactly this."""
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    file = root / MANIFEST
    if file.is_file() and file.read_text(encoding="utf-8") == text:
        return False
    atomic_write(file, text.encode(), 0o644)
    return True


def read_manifest(root: Path) -> dict[str, Any] | None:
    """root/manifest.json, or None when there is none (or it is not a manifest of this schema)."""
    file = root / MANIFEST
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == MANIFEST_SCHEMA else None
