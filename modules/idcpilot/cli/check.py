"""``idcpilot check``: the policy gate on an estate, for people (table) and pull requests.

The catalogue model, the engine and Rich are imported when the command runs, not when it is
registered, and Rich only for the table: a JSON or SARIF gate in CI pays for what it uses.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

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


def lint_lines(report: Report, verbose: bool) -> list[str]:
    """Findings one per line, ``file:line:col: RULE-ID severity: message`` (the compiler and
    linter convention CI logs and editors parse); a finding without a location of its own
    points at the estate file. Failures and waived findings; passes too with ``verbose``."""
    from idcpilot.policy.model import sorted_findings

    lines = []
    for f in sorted_findings(report.findings):
        if not verbose and f.status in ("pass", "not-applicable"):
            continue
        where = str(f.location) if f.location else f"{report.estate_file or report.estate}:1:1"
        status = "" if f.status == "fail" else f"{f.status}: "
        message = " ".join(f"{f.target}: {f.message}".split())  # one line, whatever the message held
        if f.waiver:
            message += f" [waived until {f.waiver['expires']} by {f.waiver['approver']}]"
        lines.append(f"{where}: {f.rule.id} {f.severity}: {status}{message}")
    return lines


def render_table(report: Report, fail_on: str | None, verbose: bool) -> None:
    """A Rich table on a terminal; anywhere else (a CI log, a pipe) one unwrapped line per finding."""
    from idcpilot.policy.model import Verdict, sorted_findings

    console, err_console = common.console, common.err_console
    verdict = Verdict(report, fail_on)
    if not console.is_terminal:
        text = "\n".join([*lint_lines(report, verbose), verdict.sentence()]) + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()
        for w in report.warnings:
            sys.stderr.write(f"warning: {' '.join(w.split())}\n")
        for n in report.notes:
            sys.stderr.write(f"note: {' '.join(n.split())}\n")
        return
    from rich.table import Table
    from rich.text import Text

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
        # values from the estate are Text, never Rich markup
        table.add_row(Text(f.status, style=STATUS_STYLE[f.status]), f.rule.id, f.severity, Text(f.target), Text(message),
                      Text(str(f.location)) if f.location else "")
    if shown:
        console.print(table)
    for w in report.warnings:
        err_console.print(f"warning: {w}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    for n in report.notes:
        err_console.print(f"note: {n}", markup=False, highlight=False, soft_wrap=True)
    style = "green" if verdict.passed else "red" if verdict.failures else "yellow"
    mark = "✔" if verdict.passed else "✘"
    console.print(f"{mark} {verdict.sentence()} (-v lists passes)", style=style, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        env: Path = EnvArg,
        fmt: CheckFormat = typer.Option(CheckFormat.table, "--format", "-f", help="table, json, sarif, junit or markdown"),
        fail_on: Optional[FailOn] = typer.Option(
            None, "--fail-on",
            help="local opt-out: exit 0 while only failures below this severity remain (the verdict line names what it ignores; "
                 "by default every failing rule fails the gate, and `deploy` always runs the full gate)"),
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

        with user_errors():
            from idcpilot import catalogue, ipam
            from idcpilot.policy import engine

            cat = catalogue.load(env)
            ipam.plan(cat)  # the gate refuses a lock that collides or strays from its pools (exit 2)
            planned = None
            if cluster is not None and manifests is None:
                raise UserInputError.single("--cluster", "names the cluster of files directly in --manifests DIR; give --manifests too")
            if manifests is not None:
                from idcpilot.policy.k8s import load_manifest_dir

                planned = load_manifest_dir(manifests, cluster, clusters=cat.clusters)
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
        from idcpilot.policy.model import Verdict

        floor = fail_on.value if fail_on else None
        verdict = Verdict(report, floor)
        code = EXIT_FAIL if verdict.exit_failed else EXIT_OK
        if fmt is CheckFormat.table and output is None:
            render_table(report, floor, verbose)
            raise typer.Exit(code)
        text = {
            CheckFormat.table: lambda: "\n".join([*lint_lines(report, True), verdict.sentence()]) + "\n",
            CheckFormat.json: lambda: formats.to_json(report, floor),
            CheckFormat.sarif: lambda: formats.to_sarif(report),
            CheckFormat.junit: lambda: formats.to_junit(report),
            CheckFormat.markdown: lambda: formats.to_markdown(report, floor),
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
            common.err_console.print(verdict.sentence(), markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stdout.write(text)
        raise typer.Exit(code)

