"""The lab's offline artifact repository (``idcpilot.lab.artifacts``): the bundle, read-only, over HTTP.

Run by ``idcpilot lab up`` as ``python -m idcpilot.lab.artifacts --bind GATEWAY --port N --root DIR
[--prefix /PATH]`` when the estate's ``packageMirror.artifacts`` URL (``http://GATEWAY:N/PATH``)
names the lab bridge's gateway address: the
lab's stand-in for an IDC's own artifact mirror (kubespray's ``files_repo`` layout), serving the
offline bundle ``idcpilot bundle build`` lays out. GET and HEAD of regular files under DIR only:
no listing, no upload, nothing outside DIR (``..``, encoded or not, and symlinks leading out are
refused). Integrity does not rest on the transport: roles check every file against the sha256
committed in modules/idcpilot/bundle/checksums.yaml (never the SHA256SUMS served here); the gate
requires https for an artifact repository, and the lab estate's http one is waived (K8S-ARTIFACTS).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import unquote, urlsplit

from idcpilot.lab.httpfiles import FileHandler, serve_forever


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


class Handler(FileHandler):
    server_version = "idcpilot-lab-artifacts"
    root: Path
    prefix: str = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        file = resolve(self.root, self.path, self.prefix)
        if file is None:
            self._error(404, "not in the lab's artifact repository")
            return
        self._serve(file)

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
    serve_forever(args.bind, args.port, Handler,
                  f"lab artifact repository (stand-in for the estate's artifact mirror) on {args.bind}:{args.port}{args.prefix}: {args.root}")


if __name__ == "__main__":
    main()
