"""``idcpilot drift ENV``: what changed on the clusters and hosts since the last rollout, per rule id.

Per cluster stack, ``pulumi preview --refresh`` by the bundle's engine (the stack's objects read
back from the API server); per host, ``ansible-playbook --check --diff`` of playbooks/site.yml
(after the policy gate, as every deploy). Exit 0: no drift; 3: drift found; 1: something could not
be read back (named: never reported as "no drift"); 2: bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from idcpilot import catalogue
from idcpilot.cli.common import EXIT_CHANGES, EXIT_FAIL, Format, FormatOpt, RequiredEnvArg, console, err_console, fail_input, print_json, user_errors
from idcpilot.paths import repo_root
from idcpilot.stack import drift as drift_mod


def _stack_part(cat: catalogue.Catalogue, clusters: list[str], report: drift_mod.Report, unread: list[str]) -> None:
    from idcpilot.bundle import pulumi_engine
    from idcpilot.stack import workspace as wsp

    engine = pulumi_engine.find()
    for cluster in clusters:
        ws = wsp.open_workspace(cat, cluster)
        if engine is None:
            unread.append(f"stack {ws.stack_name}: the Pulumi engine is not built (`make bundle`)")
            continue
        if not ws.config_file.is_file() or not wsp.has_secret(ws, "kubeconfig"):
            unread.append(f"stack {ws.stack_name}: never initialised here (`idcpilot stack init`), nothing to compare")
            continue
        wsp.sync(ws)
        env = wsp.environment(ws, engine)
        done = wsp.pulumi(ws, engine, env, ["preview", "--refresh", "--json", *wsp.stack_args(ws)], check=False)
        if done.returncode != 0:
            unread.append(f"stack {ws.stack_name}: the refreshed preview failed: {drift_mod.preview_failure(done.stdout, done.stderr)}")
            continue
        report.drifts.extend(drift_mod.stack_drifts(ws.stack_name, json.loads(done.stdout or "{}")))
        report.checked.append(f"stack {ws.stack_name}")


def _host_part(env: Path, cat: catalogue.Catalogue, limit: str | None, playbook: str, report: drift_mod.Report,
               unread: list[str]) -> None:
    from idcpilot.deploy import DeployOptions, GateRefused, Tracker, deploy

    events: list[dict[str, Any]] = []
    tracker = Tracker()

    def keep(event: dict[str, Any]) -> None:
        events.append(event)
        tracker.handle(event)

    try:
        result = deploy(DeployOptions(env=env, playbook=playbook, limit=limit, check=True, diff=True), on_event=keep, tracker=tracker, cat=cat)
    except GateRefused:
        unread.append("hosts: the policy gate failed, so no host was read (fix the findings first)")
        return
    report.drifts.extend(drift_mod.host_drifts(events, repo_root()))
    for name, host in sorted(tracker.hosts.items()):
        if host.failed or host.unreachable:
            why = f": {host.last_error[:300]}" if host.last_error else ""
            unread.append(f"host {name}: the check run {'could not reach it' if host.unreachable else 'failed'}{why} "
                          f"(artifacts: {result.artifacts})")
        else:
            report.checked.append(f"host {name}")


def register(app: typer.Typer) -> None:
    @app.command()
    def drift(
        env: Path = RequiredEnvArg,
        cluster: list[str] = typer.Option(None, "--cluster", "-c", help="only these clusters' stacks (default: every cluster)"),
        hosts: bool = typer.Option(True, "--hosts/--no-hosts", help="check the hosts too (ansible-playbook --check --diff)"),
        stacks: bool = typer.Option(True, "--stacks/--no-stacks", help="check the cluster stacks (pulumi preview --refresh)"),
        limit: str = typer.Option(None, "--limit", "-l", help="only these hosts/groups (Ansible pattern)"),
        playbook: str = typer.Option("playbooks/site.yml", "--playbook", help="the playbook whose hosts are checked (relative to the repository)"),
        fmt: Format = FormatOpt,
    ) -> None:
        """Drift of the cluster stacks and the hosts from the repository, per rule id (exit 3 when found)."""
        with user_errors():
            cat = catalogue.load(env)
        wanted = list(cluster or cat.clusters)
        unknown = [c for c in wanted if c not in cat.clusters]
        if unknown:
            raise fail_input(f"{cat.file}: no cluster {', '.join(map(repr, unknown))} in estate {cat.name!r}")
        if hosts:
            from idcpilot.deploy import DeployOptions
            from idcpilot.deploy.options import option_problems

            problems = option_problems(DeployOptions(env=env, playbook=playbook, limit=limit, check=True, diff=True))
            if problems:
                raise fail_input([f"drift: {p}" for p in problems])
        report, unread = drift_mod.Report(), []
        if stacks:
            with user_errors():
                _stack_part(cat, wanted, report, unread)
        if hosts:
            with user_errors():
                _host_part(env, cat, limit, playbook, report, unread)
        if fmt is Format.json:
            print_json(report.as_dict() | {"notRead": unread})
        else:
            for rule, items in report.by_rule().items():
                for d in items:
                    console.print(f"{rule}: {d.source}: {d.what}", markup=False, highlight=False, soft_wrap=True)
            for line in unread:
                err_console.print(f"not read: {line}", style="yellow", markup=False, highlight=False, soft_wrap=True)
            n = len(report.drifts)
            console.print(f"drift: {n} finding(s) over {len(report.by_rule())} rule(s); read back: {len(report.checked)}; "
                          f"not read: {len(unread)}", markup=False, highlight=False)
        if unread:
            raise typer.Exit(EXIT_FAIL)
        if report.drifts:
            raise typer.Exit(EXIT_CHANGES)
