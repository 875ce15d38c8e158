"""Live state of a deploy, built from ansible-runner events (pure; rendering is in view.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESULT_EVENTS = {"runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"}


@dataclass
class HostRecap:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0
    current: str = ""  # the task running on the host now
    done: int = 0  # task results seen
    last_error: str = ""

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "changed" if self.changed else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")} | {
            "status": self.status, **({"error": self.last_error} if self.last_error else {})
        }


@dataclass
class Tracker:
    """hosts x tasks: expected totals from the playbook listing, results from the event stream."""

    listing: list[tuple[str, int, int]] = field(default_factory=list)  # (play, hosts, tasks)
    hosts: dict[str, HostRecap] = field(default_factory=dict)
    play: str = ""
    play_index: int = -1
    task: str = ""
    done: int = 0
    extra: int = 0  # results beyond the listing (dynamic includes)
    _play_done: int = 0
    final: bool = False
    log: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(h * t for _, h, t in self.listing) + self.extra

    def host(self, name: str) -> HostRecap:
        return self.hosts.setdefault(name, HostRecap())

    def _expected_in_play(self) -> int:
        if 0 <= self.play_index < len(self.listing):
            _, h, t = self.listing[self.play_index]
            return h * t
        return 0

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self.play = data.get("play", data.get("name", ""))
            self.play_index += 1
            self._play_done = 0
        elif kind == "playbook_on_task_start":
            self.task = data.get("task", data.get("name", ""))
        elif kind == "runner_on_start":
            self.host(data.get("host", "?")).current = data.get("task", "")
        elif kind in RESULT_EVENTS:
            name = data.get("host", "?")
            h = self.host(name)
            h.done += 1
            h.current = ""
            self.done += 1
            self._play_done += 1
            if self._play_done > self._expected_in_play():
                self.extra += 1
            res = data.get("res") or {}
            if kind == "runner_on_unreachable":
                h.last_error = str(res.get("msg", "unreachable"))[:300]
                self.log.append(f"UNREACHABLE {name}: {data.get('task', '')}: {h.last_error}")
            elif kind == "runner_on_failed" and not data.get("ignore_errors"):
                h.last_error = str(res.get("msg", "") or res.get("stderr", ""))[:300]
                self.log.append(f"FAILED {name}: {data.get('task', '')}: {h.last_error}")
        elif kind == "playbook_on_stats":
            for attr, key in (("ok", "ok"), ("changed", "changed"), ("failed", "failures"), ("unreachable", "dark"),
                              ("skipped", "skipped"), ("rescued", "rescued"), ("ignored", "ignored")):
                for name, count in (data.get(key) or {}).items():
                    setattr(self.host(name), attr, count)
            self.final = True

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(n for n, h in self.hosts.items() if h.failed or h.unreachable)
