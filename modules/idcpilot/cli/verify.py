"""``idcpilot verify``: the testinfra suites (idcpilot.verify.suites) against the estate's hosts, per rule and host."""

from __future__ import annotations

import enum
import sys
from pathlib import Path

import typer
from rich.table import Table

from idcpilot.cli.common import EXIT_FAIL, RequiredEnvArg, console, err_console, print_json, user_errors
from idcpilot.verify.run import VerifyError, VerifyOptions, verify as run_verify


class VerifyFormat(str, enum.Enum):
    table = "table"
    json = "json"
    junit = "junit"


def _table(title: str, rows: dict[str, dict[str, int]], key: str) -> Table:
    table = Table(title=title)
    for col in (key, "pass", "fail", "skipped"):
        table.add_column(col)
    for name, counts in rows.items():
        style = "red" if counts["fail"] else ("yellow" if counts["skipped"] and not counts["pass"] else "green")
        table.add_row(f"[{style}]{name}[/]", str(counts["pass"]), str(counts["fail"]), str(counts["skipped"]))
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        env: Path = RequiredEnvArg,
        fmt: VerifyFormat = typer.Option(VerifyFormat.table, "--format", "-f", help="table, json (contract) or junit (XML)"),
        limit: str = typer.Option(None, "--limit", "-l", help="hosts or groups, comma-separated"),
        rule: list[str] = typer.Option([], "--rule", "-r", help="only tests of this rule id (repeatable)"),
        keyword: str = typer.Option(None, "-k", help="pytest -k expression"),
        workers: int = typer.Option(None, "--workers", "-n", help="parallel pytest workers (default: hosts, max 4)"),
        suite: list[str] = typer.Option([], "--suite", help="only these suites: a packaged suite's name (baseline, sdwan, zt …) or a path to your own; repeatable"),
    ) -> None:
        """Run the testinfra suites on every automated host; exit 1 if any check failed."""
        quiet = fmt is not VerifyFormat.table
        opts = VerifyOptions(env=env, limit=limit, rules=tuple(rule), keyword=keyword, workers=workers, junit=fmt is VerifyFormat.junit,
                             **({"suites": tuple(suite)} if suite else {}))
        try:
            with user_errors():
                run = run_verify(opts, echo=(lambda _l: None) if quiet else (lambda line: err_console.print(line, markup=False, highlight=False)))
        except VerifyError as exc:
            err_console.print(f"verify: {exc}", style="red", markup=False)
            raise typer.Exit(EXIT_FAIL) from None
        report = run.report
        if fmt is VerifyFormat.json:
            print_json(report.as_dict())
        elif fmt is VerifyFormat.junit and run.junit is not None:
            sys.stdout.write(run.junit.read_text())
        else:
            console.print(_table(f"verify {report.estate} — per rule", report.by("rule"), "rule"))
            console.print(_table("per host", report.by("host"), "host"))
            for r in report.results:
                if r["status"] == "fail":
                    console.print(f"FAIL {r['rule']} {r['host']} {r['test']}: {r['message']}", style="red", markup=False)
            for r in report.results:  # not verified, with the reason (a container's limits, a simulated node)
                if r["status"] == "skipped":
                    console.print(f"SKIP {r['rule']} {r['host']} {r['test']}: {r['message']}", style="yellow", markup=False)
            s = report.summary
            console.print(f"{s['pass']} pass, {s['fail']} fail, {s['skipped']} skipped of {s['total']} in {run.duration:.0f}s; {run.run_dir}", markup=False)
        if not report.passed:
            raise typer.Exit(EXIT_FAIL)
