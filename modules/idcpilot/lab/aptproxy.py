"""A small caching apt proxy for the lab: ``http://GATEWAY:3142/debian/...`` -> the machine's mirror.

Run by ``idcpilot lab up`` as ``python -m idcpilot.lab.aptproxy --bind IP --port N --cache DIR
--remap /debian=URL [--remap /debian-security=URL]``. Content-addressed files (``pool/``,
``by-hash/``) are downloaded once, under a per-file lock, and served from the cache; index files
(``InRelease`` ...) are fetched upstream each time and served from the cache when upstream is
unreachable. Only the remapped prefixes are served: lab hosts cannot use it to reach anything
else (the shape of an air-gapped IDC's own mirror).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

from idcpilot.lab.httpfiles import CHUNK, FileHandler, serve_forever

TIMEOUT = 60


def immutable(rel: str) -> bool:
    return "/pool/" in f"/{rel}" or "/by-hash/" in rel


class Cache:
    def __init__(self, root: Path, remaps: dict[str, str]):
        self.root = root
        self.remaps = {k.rstrip("/"): v.rstrip("/") for k, v in remaps.items()}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def resolve(self, path: str) -> tuple[str, Path] | None:
        """URL path -> (upstream URL, cache file), or None when not served."""
        path = path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            return None
        for prefix, upstream in self.remaps.items():
            pparts = [p for p in prefix.split("/") if p]
            if parts[: len(pparts)] == pparts and len(parts) > len(pparts):
                rel = "/".join(parts[len(pparts):])
                return f"{upstream}/{rel}", self.root / "/".join(pparts) / rel
        return None

    def fetch(self, url: str, dest: Path) -> None:
        """Download URL to DEST atomically (raises urllib errors)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:  # noqa: S310 - mirror URL from apt sources
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(resp, out, CHUNK)
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


class Handler(FileHandler):
    server_version = "idcpilot-aptproxy"
    cache: Cache

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        target = self.cache.resolve(self.path)
        if target is None:
            self._error(404, "not served by the lab apt proxy")
            return
        url, file = target
        with self.cache.lock(str(file)):
            try:
                if not (immutable(str(file)) and file.is_file()):
                    self.cache.fetch(url, file)
            except urllib.error.HTTPError as exc:
                if exc.code == 404 or not file.is_file():
                    self._error(exc.code, f"upstream: {exc.reason}")
                    return
            except (urllib.error.URLError, OSError) as exc:
                if not file.is_file():
                    self._error(502, f"upstream unreachable: {exc}")
                    return
        self._serve(file)

    do_HEAD = do_GET


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=3142)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--remap", action="append", default=[], help="/prefix=UPSTREAM_URL")
    args = ap.parse_args(argv)
    remaps = dict(r.split("=", 1) for r in args.remap)
    Handler.cache = Cache(args.cache, remaps)
    serve_forever(args.bind, args.port, Handler, f"lab apt proxy on {args.bind}:{args.port}: {remaps}")


if __name__ == "__main__":
    main()
