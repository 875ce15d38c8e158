"""``idcpilot check``: the policy gate on an estate, for people (table) and pull requests.

The catalogue model, the engine and Rich are imported when the command runs, not when it is
registered, and Rich only for the table: a JSON or SARIF gate in CI pays for what it uses.
"""

from __future__ import annotations

import enum
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from idcpilot.cli import common
from idcpilot.cli.common import EXIT_FAIL, EXIT_INPUT, EXIT_OK, EnvArg, user_errors

if TYPE_CHECKING:
    from idcpilot.policy.model import Report

STATUS_STYLE = {"pass": "green", "fail": "red", "waived": "yellow", "not-applicable": "dim"}


class CheckFormat(str, enum.Enum):
    table = "table"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    markdown = "markdown"


class FailOn(str, enum.Enum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


def _split(values: list[str] | None) -> list[str]:
    return [v for item in values or [] for v in item.split(",") if v.strip()]


def render_table(report: Report, fail_on: str, verbose: bool) -> None:
    from rich.table import Table

    from idcpilot.policy.model import sorted_findings

    console, err_console = common.console, common.err_console
    table = Table(show_lines=False, pad_edge=False)
    for col in ("status", "rule", "severity"):
        table.add_column(col, no_wrap=True)
    for col in ("target", "message", "location"):
        table.add_column(col, overflow="fold")
    shown = 0
    for f in sorted_findings(report.findings):
        if not verbose and f.status in ("pass", "not-applicable"):
            continue
        shown += 1
        message = f.message
        if f.waiver:
            message += f" [waived until {f.waiver['expires']} by {f.waiver['approver']}]"
        table.add_row(f"[{STATUS_STYLE[f.status]}]{f.status}[/]", f.rule.id, f.severity, f.target, message,
                      str(f.location) if f.location else "")
    if shown:
        console.print(table)
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {w}", markup=True, highlight=False, soft_wrap=True)
    for n in report.notes:
        err_console.print(f"note: {n}", markup=False, highlight=False, soft_wrap=True)
    s = report.summary()
    blocking = report.failures(fail_on)
    mark = "[red]✘ policy gate failed[/red]" if blocking else "[green]✔ policy gate passed[/green]"
    console.print(f"{mark} for estate [bold]{report.estate}[/bold]: {s['pass']} pass, {s['fail']} fail, "
                  f"{s['waived']} waived, {s['not-applicable']} not applicable "
                  f"({len(blocking)} failure(s) at or above {fail_on}; -v lists passes)")


_prefetched: dict[tuple[Path, str | None], Any] = {}
#: check's options that take no value (every other option takes one)
_FLAGS = ("--plan", "--no-plan", "-v", "--verbose", "-h", "--help")


def prefetch(args: list[str]) -> None:
    """Start reading ``--manifests DIR`` from the raw command line, before typer parses it (typer
    imports pydantic to coerce the options): the worker then overlaps all of the start-up. The
    command uses the reader only if typer parses the same DIR and --cluster; anything unusual on
    the command line (an option given twice, a ``--``) means no prefetch."""
    seen: dict[str, str] = {}
    positional: list[str] = []
    unsure = False  # combined short options (-vf json): where the estate argument is, typer knows
    it = iter(args)
    for arg in it:
        if arg == "--":
            return
        name, eq, value = arg.partition("=")
        if name in ("--manifests", "--cluster"):
            if name in seen:
                return
            seen[name] = value if eq else next(it, "")
        elif arg in _FLAGS:
            continue
        elif arg.startswith("--"):
            if not eq:
                next(it, None)  # the option's value
        elif arg in ("-f", "-o", "-e"):
            next(it, None)
        elif arg.startswith("-") and arg != "-":
            unsure = True
        else:
            positional.append(arg)
    if not seen.get("--manifests"):
        return
    import atexit

    from idcpilot.policy.k8s import ManifestReader

    # The estate only lets the worker schema-check what it reads against the versions written
    # there; the command uses that only where the loaded catalogue agrees.
    estate = None if unsure or len(positional) > 1 else Path(positional[0] if positional else "inventories/example")
    reader = ManifestReader(Path(seen["--manifests"]), seen.get("--cluster"), estate)
    atexit.register(reader.close)  # typer refused the command line, or the command never asked
    _prefetched[(Path(seen["--manifests"]), seen.get("--cluster"))] = reader


def _reader(manifests: Path | None, cluster: str | None, env: Path) -> Any:
    """The reader for --manifests: the one prefetch() started for the same arguments, or a new one."""
    from idcpilot.policy.k8s import ManifestReader

    if manifests is None:
        return nullcontext()
    early = _prefetched.pop((manifests, cluster), None)
    for other in _prefetched.values():
        other.close()
    _prefetched.clear()
    return early or ManifestReader(manifests, cluster, env)


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        env: Path = EnvArg,
        fmt: CheckFormat = typer.Option(CheckFormat.table, "--format", "-f", help="table, json, sarif, junit or markdown"),
        fail_on: FailOn = typer.Option(FailOn.high, "--fail-on", help="exit 1 when a failure at or above this severity remains"),
        only: Optional[list[str]] = typer.Option(None, "--only", help="rule ids or prefixes to run (repeat or comma-separate)"),
        skip: Optional[list[str]] = typer.Option(None, "--skip", help="rule ids or prefixes to leave out"),
        plan: bool = typer.Option(True, "--plan/--no-plan", help="plan the Kubernetes stacks for the K8S-* rules (--no-plan skips)"),
        manifests: Optional[Path] = typer.Option(None, "--manifests", help="check these manifests (DIR/<cluster>/*.yaml) instead of planning"),
        cluster: Optional[str] = typer.Option(None, "--cluster", help="cluster of manifests directly in --manifests DIR"),
        thresholds: Optional[Path] = typer.Option(None, "--thresholds", help="thresholds file (default policy/thresholds.yaml)"),
        waivers: Optional[Path] = typer.Option(None, "--waivers", help="waivers file (default policy/waivers.yaml)"),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="write the report here instead of stdout"),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="table: list passing checks too"),
        playbook: str = typer.Option("playbooks/site.yml", "--playbook", help="the playbook deploy runs (relative to the repository): its group_vars/ and host_vars/ are read too"),
        extra_vars: Optional[list[str]] = typer.Option(None, "--extra-vars", "-e", help="the -e values deploy will pass (KEY=VALUE, JSON/YAML, or @FILE): judged like group_vars"),
        vault_id: Optional[list[str]] = typer.Option(None, "--vault-id", help="vault identity [label@]password-file-or-script to read encrypted group_vars/host_vars (as deploy; repeatable)"),
        vault_password_file: Optional[list[str]] = typer.Option(None, "--vault-password-file", help="file or script giving the ansible-vault password (as deploy; repeatable)"),
    ) -> None:
        """Check the estate against every plan-stage rule of the pilot specification."""
        from idcpilot.errors import UserInputError

        # Many manifest files are read by a forked worker while this process imports the
        # catalogue model and the engine, the other half of a pull request's gate.
        with user_errors(), _reader(manifests, cluster, env) as reader:
            from idcpilot import catalogue
            from idcpilot.policy import engine

            cat = catalogue.load(env)
            planned = reader.result() if reader else None
            if thresholds and not thresholds.exists():
                raise UserInputError.single(str(thresholds), "thresholds file not found")
            if waivers and not waivers.exists():
                raise UserInputError.single(str(waivers), "waivers file not found")
            from idcpilot.policy.hostvars import playbook_dir
            from idcpilot.policy.vault import VaultOptions

            report = engine.run(cat, manifests=planned, plan=plan, only=_split(only), skip=_split(skip),
                                thresholds_file=thresholds, waivers_file=waivers,
                                vault=VaultOptions(tuple(vault_id or ()), tuple(vault_password_file or ())),
                                playbook_dir=playbook_dir(playbook), extra_vars=tuple(extra_vars or ()))
        from idcpilot.policy import formats

        code = EXIT_FAIL if report.failures(fail_on.value) else EXIT_OK
        if fmt is CheckFormat.table and output is None:
            render_table(report, fail_on.value, verbose)
            raise typer.Exit(code)
        text = {
            CheckFormat.table: lambda: _plain(report),
            CheckFormat.json: lambda: formats.to_json(report),
            CheckFormat.sarif: lambda: formats.to_sarif(report),
            CheckFormat.junit: lambda: formats.to_junit(report),
            CheckFormat.markdown: lambda: formats.to_markdown(report, fail_on.value),
        }[fmt]()
        if output:
            try:
                output.parent.mkdir(parents=True, exist_ok=True)
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                common.err_console.print(f"{output}: cannot write report: {exc.strerror}", markup=False)
                raise typer.Exit(EXIT_INPUT) from None
            for w in report.warnings:
                common.err_console.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stdout.write(text)
        raise typer.Exit(code)


def _plain(report: Report) -> str:
    from idcpilot.policy.model import sorted_findings

    lines = []
    for f in sorted_findings(report.findings):
        lines.append(f"{f.status}\t{f.rule.id}\t{f.severity}\t{f.target}\t{f.message}\t{f.location or ''}")
    return "\n".join(lines) + "\n"
