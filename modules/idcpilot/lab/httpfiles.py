"""What the lab's HTTP services share: a handler that answers with files or short errors and logs
one line per request, and the loop that serves it until the process is stopped."""

from __future__ import annotations

import os
import shutil
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 1 << 16


class FileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: object) -> None:  # one line per request on stderr (the log)
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    def _error(self, code: int, text: str) -> None:
        body = f"{text}\n".encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, path: Path) -> None:
        """PATH with its length (HEAD: the headers only); 404 when it cannot be opened."""
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError:
            self._error(404, "not found")
            return
        with fh:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(os.fstat(fh.fileno()).st_size))
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(fh, self.wfile, CHUNK)


def serve_forever(bind: str, port: int, handler: type[FileHandler], banner: str) -> None:
    server = ThreadingHTTPServer((bind, port), handler)
    server.daemon_threads = True
    sys.stderr.write(f"{banner}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
