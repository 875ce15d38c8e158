"""A small Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (Python only).

Chromium reads CDP commands from fd 3 and writes replies and events to fd 4, each message a
JSON object terminated by NUL. This opens a page in real headless Chromium and records what a
person would see in DevTools: console errors, uncaught exceptions, log entries (failed loads,
CSP violations) and every network request the page makes. It also takes a screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-pipe",
]


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageVisit:
    url: str
    console_errors: list[str] = field(default_factory=list)  # console.error, exceptions, error log entries
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    dom: str = ""
    screenshot: bytes = b""
    title: str = ""


class CdpError(RuntimeError):
    pass


class _Pipe:
    def __init__(self, proc: subprocess.Popen, write_fd: int, read_fd: int):
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        want = self.next_id
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._read(deadline):
                if reply.get("id") == want:
                    if "error" in reply:
                        raise CdpError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    return self.events.pop(i)
            self.events.extend(self._read(deadline))

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.extend(self._read(deadline))
        except TimeoutError:
            pass

    def _read(self, deadline: float) -> list[dict[str, Any]]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise CdpError(f"chromium closed the pipe (exit {self.proc.poll()})")
            self.buffer += chunk
        out = []
        while b"\0" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\0", 1)
            out.append(json.loads(raw))
        return out


def visit(url: str, *, width: int = 1280, height: int = 900, settle: float = 0.5,
          binary: str | None = None, full_page: bool = True, clip: tuple[int, int] | None = None) -> PageVisit:
    """Load ``url`` in headless Chromium and report console errors, requests, DOM and a PNG."""
    exe = binary or chromium_binary()
    if not exe:
        raise FileNotFoundError("chromium is not installed")
    profile = tempfile.mkdtemp(prefix="idcpilot-chromium-")
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()

    def _fds() -> None:  # the child sees our pipe ends as fd 3 (commands) and fd 4 (replies)
        high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4 first
        high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.dup2(high_r, 3)
        os.dup2(high_w, 4)

    proc = subprocess.Popen(
        [exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_fds, pass_fds=(3, 4), close_fds=True,
    )
    os.close(to_child_r)
    os.close(from_child_w)
    pipe = _Pipe(proc, to_child_w, from_child_r)
    result = PageVisit(url=url)
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        pipe.events.clear()
        pipe.send("Page.navigate", {"url": url}, session=session)
        pipe.wait_event("Page.loadEventFired")
        pipe.drain(settle)
        for ev in pipe.events:
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                text = details.get("exception", {}).get("description") or details.get("text", "exception")
                result.console_errors.append(f"exception: {text}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                result.console_errors.append(f"console.{params['type']}: {args}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                result.console_errors.append(f"log/{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.requestWillBeSent":
                result.requests.append(params.get("request", {}).get("url", ""))
        result.title = pipe.send("Runtime.evaluate", {"expression": "document.title", "returnByValue": True},
                                 session=session)["result"].get("value", "")
        result.dom = pipe.send("Runtime.evaluate",
                               {"expression": "document.documentElement.outerHTML", "returnByValue": True},
                               session=session)["result"].get("value", "")
        shot_params: dict[str, Any] = {"format": "png"}
        if clip is not None:  # (top, height) of the page, in CSS pixels
            shot_params["clip"] = {"x": 0, "y": clip[0], "width": width, "height": clip[1], "scale": 1}
            shot_params["captureBeyondViewport"] = True
        elif full_page:
            metrics = pipe.send("Page.getLayoutMetrics", session=session)
            size = metrics.get("cssContentSize") or metrics.get("contentSize")
            shot_params["clip"] = {"x": 0, "y": 0, "width": width,
                                   "height": min(int(size["height"]), 16000), "scale": 1}
            shot_params["captureBeyondViewport"] = True
        result.screenshot = base64.b64decode(pipe.send("Page.captureScreenshot", shot_params, session=session)["data"])
        try:
            pipe.send("Browser.close", timeout=5)
        except (CdpError, TimeoutError):
            pass
    finally:
        os.close(to_child_w)
        os.close(from_child_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return result


def file_url(path: Path) -> str:
    return Path(path).resolve().as_uri()


def main(argv: list[str] | None = None) -> int:
    """python -m tests.report.cdp PAGE.html OUT.png [HEIGHT]: screenshot a page (docs/report-screenshot.png)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -m tests.report.cdp PAGE.html OUT.png [HEIGHT]", file=sys.stderr)
        return 2
    clip = (0, int(args[2])) if len(args) == 3 else None
    seen = visit(file_url(Path(args[0])), width=1400, clip=clip)
    Path(args[1]).write_bytes(seen.screenshot)
    for error in seen.console_errors:
        print(f"console error: {error}", file=sys.stderr)
    return 1 if seen.console_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
