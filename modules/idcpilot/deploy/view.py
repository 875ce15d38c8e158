"""Showing a deploy: a live progress bar and per-host table on a terminal, plain lines otherwise."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from idcpilot.deploy.progress import HostRecap, Tracker

STYLE = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "magenta"}


def host_table(tracker: Tracker, title: str = "", live: bool = False) -> Table:
    table = Table(title=title or None)
    cols = ["host", "ok", "changed", "failed", "unreachable", "skipped", "status"] + (["current task"] if live else [])
    for c in cols:
        table.add_column(c)
    for name in sorted(tracker.hosts):
        h: HostRecap = tracker.hosts[name]
        row = [name, str(h.ok if tracker.final else h.done), str(h.changed), str(h.failed), str(h.unreachable), str(h.skipped),
               f"[{STYLE[h.status]}]{h.status}[/]"]
        if live:
            row.append(h.current)
        table.add_row(*row)
    return table


class View:
    """Context manager fed with runner events."""

    def __init__(self, tracker: Tracker, console: Console, live: bool | None = None):
        self.tracker = tracker
        self.console = console
        self.live_mode = console.is_terminal if live is None else live
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)
        self.bar = self.progress.add_task("deploy", total=max(1, tracker.total))
        self.live: Live | None = None
        self._last_task = ""
        self._logged = 0

    def __enter__(self) -> "View":
        if self.live_mode:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live:
            self.live.__exit__(*exc)

    def _render(self) -> Group:
        t = self.tracker
        self.progress.update(self.bar, total=max(1, t.total, t.done), completed=t.done, description=f"{t.play[:40]} | {t.task[:50]}")
        return Group(self.progress, host_table(t, live=True))

    def handle(self, event: dict[str, Any]) -> bool:
        self.tracker.handle(event)
        if self.live:
            self.live.update(self._render())
            for line in self.tracker.log[self._logged:]:
                self.live.console.print(line, style="red", markup=False)
        else:
            t = self.tracker
            if event.get("event") == "playbook_on_task_start" and t.task != self._last_task:
                self._last_task = t.task
                self.console.print(f"[{t.done}/{max(t.total, t.done)}] {t.play}: {t.task}", markup=False, highlight=False)
            for line in t.log[self._logged:]:
                self.console.print(line, markup=False, highlight=False)
        self._logged = len(self.tracker.log)
        return True
