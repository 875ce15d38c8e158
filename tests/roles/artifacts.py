"""A small offline artifact repository for k8s_node tests, laid out like kubespray's files_repo:
<root>/dl.k8s.io/release/v<version>/bin/linux/<arch>/{kubelet,kubeadm,kubectl,SHA256SUMS},
served over HTTP on a lab bridge address until stopped."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

BINARIES = ("kubelet", "kubeadm", "kubectl")


def build(root: Path, version: str, arch: str = "amd64", tamper: str | None = None) -> Path:
    """Fake binaries that print their version; SHA256SUMS of the genuine ones. `tamper` names a
    binary changed after its checksum was taken (what a corrupted or swapped download looks like)."""
    directory = root / "dl.k8s.io" / "release" / f"v{version}" / "bin" / "linux" / arch
    directory.mkdir(parents=True, exist_ok=True)
    sums = []
    for name in BINARIES:
        body = f'#!/bin/sh\necho "{name} v{version} (idcpilot offline test artifact)"\n'.encode()
        sums.append(f"{hashlib.sha256(body).hexdigest()}  {name}")
        if name == tamper:
            body += b"# tampered\n"
        path = directory / name
        path.write_bytes(body)
        path.chmod(0o755)
    (directory / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return directory


class Served:
    """http.server over `root` on address:port, in a thread; a context manager."""

    def __init__(self, root: Path, address: str, port: int) -> None:
        handler = functools.partial(QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer((address, port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Served":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
