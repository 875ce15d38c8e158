"""Long-running processes the lab starts (nspawn hosts, the apt proxy), tracked by pid files."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def alive(pid: int, marker: str) -> bool:
    """The process exists, is not a zombie, and its command line contains MARKER."""
    state = _state(pid)
    return state is not None and state not in ("Z", "X") and marker in " ".join(cmdline(pid))


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def running(pidfile: Path, marker: str) -> int | None:
    pid = read_pid(pidfile)
    return pid if pid is not None and alive(pid, marker) else None


def spawn(cmd: Sequence[str], pidfile: Path, log: Path, env: dict[str, str] | None = None) -> int:
    """Start CMD detached (own session, stdin /dev/null, output to LOG) and record its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(list(cmd), stdin=devnull, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env, close_fds=True)
    pidfile.write_text(f"{proc.pid}\n")
    return proc.pid


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop(pid: int, marker: str, timeout: float = 20.0) -> bool:
    """SIGTERM, wait up to TIMEOUT, then SIGKILL. True when it stopped cleanly on SIGTERM."""
    if not alive(pid, marker):
        return True
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid, marker):
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        _reap(pid)
        if not alive(pid, marker):
            break
        time.sleep(0.1)
    return False


def rooted_in(upper: Path) -> list[int]:
    """Processes whose root filesystem is the overlay with this upper dir: a host's payload.

    When nspawn dies hard (SIGKILL, a crash), the container's systemd and whatever runs under it
    are re-parented to PID 1 and keep the host's network namespace, its veth and its addresses
    alive. They are found by their root mount, which names the overlay's upper dir.
    """
    needle = f"upperdir={upper},"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(entry / "mountinfo") as fh:
                for line in fh:
                    fields = line.split(" ", 5)
                    if len(fields) > 4 and fields[4] == "/":
                        if needle in line:
                            found.append(int(entry.name))
                        break
        except OSError:
            continue
    return found


def kill_all(pids: list[int], timeout: float = 10.0) -> list[int]:
    """SIGKILL every pid and wait until they are gone; returns those still there after TIMEOUT."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    left = list(pids)
    while left and time.monotonic() < deadline:
        for pid in left:
            _reap(pid)
        left = [pid for pid in left if _state(pid) not in (None, "Z", "X")]
        if left:
            time.sleep(0.1)
    return left


def count_running(marker: str) -> int:
    """Processes on this machine whose program name contains marker (e.g. every booted nspawn)."""
    n = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            argv = cmdline(int(entry.name))
            if argv and marker in Path(argv[0]).name:
                n += 1
    return n
