"""The lab's offline artifact repository (``idcpilot.lab.artifacts``): the bundle, read-only, over HTTP.

Run by ``idcpilot lab up`` as ``python -m idcpilot.lab.artifacts --bind GATEWAY --port N --root DIR
[--prefix /PATH]`` when the estate's ``packageMirror.artifacts`` URL (``http://GATEWAY:N/PATH``)
names the lab bridge's gateway address: the
lab's stand-in for an IDC's own artifact mirror (kubespray's ``files_repo`` layout), serving the
offline bundle ``idcpilot bundle build`` lays out. GET and HEAD of regular files under DIR only:
no listing, no upload, nothing outside DIR (``..``, encoded or not, and symlinks leading out are
refused). Integrity does not rest on the transport: roles check every file against SHA256SUMS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK = 1 << 16


def resolve(root: Path, url_path: str, prefix: str = "") -> Path | None:
    """The regular file under ROOT a request path (below PREFIX) names, or None (refused or absent)."""
    path = unquote(urlsplit(url_path).path)
    if "\0" in path or "\\" in path or not path.startswith("/"):
        return None
    parts = [p for p in path.split("/") if p]
    want = [p for p in prefix.split("/") if p]
    if parts[: len(want)] != want:
        return None
    parts = parts[len(want):]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    base = root.resolve()
    candidate = base.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real != base and base not in real.parents:
        return None
    return real if real.is_file() else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "idcpilot-lab-artifacts"
    root: Path
    prefix: str = ""

    def log_message(self, fmt: str, *args: object) -> None:  # one line per request in the log
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    def _error(self, code: int, text: str) -> None:
        body = f"{text}\n".encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        file = resolve(self.root, self.path, self.prefix)
        if file is None:
            self._error(404, "not in the lab's artifact repository")
            return
        try:
            handle = open(file, "rb")  # noqa: SIM115 - closed below
        except OSError:
            self._error(404, "not in the lab's artifact repository")
            return
        with handle:
            size = os.fstat(handle.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(handle, self.wfile, CHUNK)

    do_HEAD = do_GET

    def _read_only(self) -> None:
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _read_only


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--prefix", default="", help="URL path the files are served under (the estate URL's path)")
    args = ap.parse_args(argv)
    Handler.root = args.root
    Handler.prefix = args.prefix
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    sys.stderr.write(f"lab artifact repository (stand-in for the estate's artifact mirror) on {args.bind}:{args.port}{args.prefix}: {args.root}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
