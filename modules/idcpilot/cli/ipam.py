"""``idcpilot ipam show|plan|apply``: the address plan and its lock file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from idcpilot import catalogue, ipam
from idcpilot.cli.common import EXIT_CHANGES, EnvArg, Format, FormatOpt, console, print_json, user_errors

app = typer.Typer(help="IP address plan: show allocations, plan changes to ipam.lock.yaml, apply them.", no_args_is_help=True)


def _load(env: Path, prune: bool = False) -> tuple[catalogue.Catalogue, ipam.Allocation]:
    with user_errors():
        cat = catalogue.load(env)
        return cat, ipam.plan(cat, prune=prune)


@app.command()
def show(env: Path = EnvArg, fmt: Format = FormatOpt, hosts: bool = typer.Option(False, "--hosts", help="list every host address too")) -> None:
    """Show site and cluster prefixes (and host addresses with --hosts)."""
    cat, alloc = _load(env)
    if fmt is Format.json:
        print_json(alloc.lock.to_dict())
        return
    table = Table(title=f"sites of {cat.name}")
    for col in ("site", "management", "service", "overlay", "loopback"):
        table.add_column(col)
    for name, kinds in alloc.lock.sites.items():
        table.add_row(name, *(kinds.get(k, "-") for k in ("management", "service", "overlay", "loopback")))
    console.print(table)
    ctable = Table(title="clusters")
    for col in ("cluster", "pod", "serviceCidr"):
        ctable.add_column(col)
    for name, kinds in alloc.lock.clusters.items():
        ctable.add_row(name, kinds.get("pod", "-"), kinds.get("serviceCidr", "-"))
    console.print(ctable)
    if hosts:
        htable = Table(title="hosts")
        for col in ("host", "management", "service", "overlay", "loopback"):
            htable.add_column(col)
        for name, kinds in alloc.lock.hosts.items():
            htable.add_row(name, *(kinds.get(k, "-") for k in ("management", "service", "overlay", "loopback")))
        console.print(htable)


def _counts(alloc: ipam.Allocation) -> dict[str, int]:
    return {action: sum(c.action == action for c in alloc.changes) for action in ("add", "move", "release", "orphan")}


@app.command()
def plan(
    env: Path = EnvArg,
    fmt: Format = FormatOpt,
    prune: bool = typer.Option(False, help="also free the allocations of sites, clusters and hosts that left the catalogue"),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode", help=f"exit {EXIT_CHANGES} when the lock file would change (0 when not)"),
) -> None:
    """Show what `apply` would change in ipam.lock.yaml (+ add, * move to a pin, ~ orphaned but kept, - released)."""
    _, alloc = _load(env, prune)
    if fmt is Format.json:
        print_json({"pending": alloc.pending, "changes": [c.__dict__ for c in alloc.changes]})
    elif not alloc.changes:
        console.print("ipam.lock.yaml is up to date: no changes.")
    else:
        for change in alloc.changes:
            style = {"add": "green", "move": "cyan", "orphan": "yellow", "release": "red"}[change.action]
            console.print(str(change), style=style, markup=False, highlight=False, soft_wrap=True)
        n = _counts(alloc)
        console.print(f"Plan: {n['add']} to add, {n['move']} to move, {n['release']} to release, "
                      f"{n['orphan']} orphaned (kept; --prune frees them).")
    if detailed_exitcode and alloc.pending:
        raise typer.Exit(EXIT_CHANGES)


@app.command()
def apply(
    env: Path = EnvArg,
    prune: bool = typer.Option(False, help="free the allocations of sites, clusters and hosts that left the catalogue"),
    discard_comments: bool = typer.Option(False, "--discard-comments", help="replace a lock that holds comments (the file is generated; they are not kept)"),
) -> None:
    """Write the allocation to ipam.lock.yaml (only adds entries, moves pinned hosts, and frees with --prune).

    The file is replaced atomically; a symlinked lock is written through, and the file keeps its mode and owner."""
    cat, alloc = _load(env, prune)
    if not alloc.pending:
        console.print("ipam.lock.yaml is up to date: nothing to write.")
        return
    with user_errors():
        ipam.write_lock(cat.root, alloc.lock, ipam.lock_display(cat), discard_comments=discard_comments)
    n = _counts(alloc)
    console.print(f"wrote {ipam.lock_display(cat)}: "
                  f"{n['add']} added, {n['move']} moved, {n['release']} released", markup=False, highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ipam")
