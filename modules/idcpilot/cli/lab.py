"""``idcpilot lab up|down|status|ssh``: real Debian hosts (systemd-nspawn) for an estate."""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer
from rich.table import Table

from idcpilot import catalogue, ipam
from idcpilot.cli.common import EXIT_FAIL, Format, FormatOpt, RequiredEnvArg, console, err_console, print_json, user_errors
from idcpilot.lab import LabError, LabPlan, plan_lab
from idcpilot.lab import lifecycle, services
from idcpilot.lab.layout import PROXY_PORT

app = typer.Typer(help="Local lab: one systemd-nspawn Debian host per estate host, on a private bridge.", no_args_is_help=True)



def load_plan(env: Path) -> LabPlan:
    with user_errors():
        cat = catalogue.load(env)
        alloc = ipam.plan(cat)
    try:
        return plan_lab(cat, alloc)
    except LabError as exc:
        err_console.print(f"lab: {exc}", style="red", markup=False)
        raise typer.Exit(EXIT_FAIL) from None


def _log(msg: str) -> None:
    err_console.print(msg, markup=False, highlight=False)


def _fail(exc: LabError) -> typer.Exit:
    err_console.print(f"lab: {exc}", style="red", markup=False, highlight=False)
    return typer.Exit(EXIT_FAIL)


def _status_table(plan: LabPlan, rows: list[lifecycle.HostStatus]) -> Table:
    table = Table(title=f"lab {plan.estate} — bridge {plan.bridge} {', '.join(plan.bridge_addresses)}, apt proxy {plan.proxy_url}")
    for col in ("host", "address", "machine", "pid", "ssh", "state"):
        table.add_column(col)
    for r in rows:
        state = "up" if r.up else ("booting" if r.pid else ("stopped" if r.mounted else "absent"))
        table.add_row(r.name, r.address, r.machine, str(r.pid or "-"), "yes" if r.ssh else "no", state)
    return table


def _services_table(rows: list[services.ServiceStatus]) -> Table:
    table = Table(title="services on the bridge (lab stand-ins for the estate's own)")
    for col in ("service", "url", "pid", "answers", "serves"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.name, r.url, str(r.pid or "-"), "yes" if r.answering else "no", r.detail)
    return table


@app.command()
def up(
    env: Path = RequiredEnvArg,
    host: list[str] = typer.Option([], "--host", help="only (re)start these hosts (repeatable)"),
) -> None:
    """Boot the lab (idempotent: a running lab is left alone, a half-started one is repaired)."""
    plan = load_plan(env)
    t0 = time.monotonic()
    try:
        rows = lifecycle.up(plan, _log, only=host or None)
    except LabError as exc:
        raise _fail(exc) from None
    console.print(_status_table(plan, rows))
    console.print(f"lab {plan.estate} up in {time.monotonic() - t0:.1f}s — `idcpilot deploy {env}` / `idcpilot lab ssh HOST {env}`")


@app.command()
def down(
    env: Path = RequiredEnvArg,
    purge: bool = typer.Option(False, "--purge", help="also delete the lab SSH key of this estate"),
) -> None:
    """Stop every host and remove everything the lab created (processes, mounts, bridge, nft table)."""
    plan = load_plan(env)
    if os.geteuid() != 0:
        raise _fail(LabError("the lab needs root"))
    try:
        lifecycle.down(plan, _log, purge=purge)
    except LabError as exc:
        raise _fail(exc) from None
    left = lifecycle.leftovers(plan)
    if left:
        raise _fail(LabError("left behind: " + "; ".join(left)))


@app.command()
def stop(env: Path = RequiredEnvArg, host: list[str] = typer.Option(..., "--host", help="host to power off (repeatable)")) -> None:
    """Power off some hosts (their disks stay; `lab up` boots them again)."""
    plan = load_plan(env)
    try:
        lifecycle.stop_hosts(plan, host)
    except LabError as exc:
        raise _fail(exc) from None


@app.command()
def status(env: Path = RequiredEnvArg, fmt: Format = FormatOpt) -> None:
    """Which hosts run and answer SSH, which services answer on the bridge. Exit 1 unless all do."""
    plan = load_plan(env)
    rows = lifecycle.host_status(plan)
    svc = services.status(plan)
    if fmt is Format.json:
        print_json({"estate": plan.estate, "lab": plan.name, "bridge": plan.bridge, "gateway": plan.gateway, "proxy": plan.proxy_url,
                    "services": [r.__dict__ for r in svc], "hosts": [dict(r.__dict__, up=r.up) for r in rows]})
    else:
        console.print(_status_table(plan, rows))
        if svc:
            console.print(_services_table(svc))
    if not all(r.up for r in rows) or not all(r.answering for r in svc):
        raise typer.Exit(EXIT_FAIL)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh(
    ctx: typer.Context,
    host: str = typer.Argument(..., help="lab host name"),
    env: Path = RequiredEnvArg,
) -> None:
    """Open an SSH session (as the automation account) on a lab host; `lab ssh HOST ENV -- CMD` runs a command."""
    command = list(ctx.args)
    plan = load_plan(env)
    try:
        h = plan.host(host)
    except LabError as exc:
        raise _fail(exc) from None
    args = ["ssh", *lifecycle.ssh_base_args(plan, batch=False)]
    cmd = args + ["-t" if not command else "-T", f"{plan.account}@{h.address}", *command]
    os.execvp("ssh", cmd)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="lab")


__all__ = ["PROXY_PORT", "load_plan", "register"]
