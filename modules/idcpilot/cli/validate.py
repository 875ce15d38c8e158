"""``idcpilot validate``: is the catalogue well-formed and consistent, and what does it hold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from idcpilot import catalogue, ipam, sdwan
from idcpilot.bundle import select as bundle_select
from idcpilot.catalogue.estate import Catalogue
from idcpilot.errors import UserInputError
from idcpilot.cli.common import EnvArg, Format, FormatOpt, console, print_json, user_errors


def summary(cat: Catalogue, alloc: ipam.Allocation) -> dict[str, Any]:
    spec = cat.estate.spec
    tiers = Counter(s.tier for s in spec.sites)
    roles = Counter(r for h in cat.hosts.values() for r in h.roles)
    return {
        "estate": cat.name,
        "file": str(cat.file),
        "organisation": cat.estate.metadata.organisation,
        "regionsInScope": list(spec.regions_in_scope),
        "dataDomains": {k: list(v) for k, v in spec.data_domains.items()},
        "sites": {"total": len(spec.sites), "byTier": dict(tiers)},
        "hosts": {"total": len(cat.hosts), "automated": sum(h.automated for h in cat.hosts.values()), "byRole": dict(roles)},
        "cdnNodes": roles.get("cdn_node", 0),
        "clusters": len(spec.clusters),
        "sdwanLinks": len(spec.sdwan.links) if spec.sdwan else 0,
        "gateways": len(spec.gateways),
        "apps": len(spec.apps),
        "dataStores": len(spec.data_stores),
        "services": len(spec.services),
        "ipam": {"pending": sum(c.action in ("add", "move") for c in alloc.changes), "orphaned": sum(c.action == "orphan" for c in alloc.changes)},
    }


def checked(env: Path) -> tuple[Catalogue, ipam.Allocation]:
    """The catalogue and its address plan, or UserInputError with every problem at once: where
    the catalogue can still be read (a type problem confined to some entries), the address plan
    and the lock are checked on what can be read and their problems join the catalogue's."""
    cat, problems = catalogue.load_partial(env)
    if cat is None:
        raise UserInputError(problems)
    try:
        alloc = ipam.plan(cat)
    except UserInputError as exc:
        raise UserInputError(problems + exc.problems) from None
    if problems:
        # the overlay is derived from references the catalogue's own problems may leave dangling
        raise UserInputError(problems)
    later = sdwan.problems(cat, alloc)  # an overlay the role could not build as declared
    later += bundle_select.problems(cat)  # a release the offline bundle cannot install (K8S-BUNDLE)
    if later:
        raise UserInputError(later)
    return cat, alloc


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(env: Path = EnvArg, fmt: Format = FormatOpt) -> None:
        """Validate the estate catalogue (schema, references, address plan) and summarise it."""
        with user_errors():
            cat, alloc = checked(env)
        data = summary(cat, alloc)
        if fmt is Format.json:
            print_json(data)
            return
        console.print(f"[green]✔[/green] {data['file']}: estate [bold]{data['estate']}[/bold] is valid")
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        table.add_row("organisation", str(data["organisation"] or "-"))
        table.add_row("regions in scope", ", ".join(data["regionsInScope"]))
        table.add_row("data domains", "; ".join(f"{k}: {', '.join(v)}" for k, v in data["dataDomains"].items()))
        table.add_row("sites", f"{data['sites']['total']} (" + ", ".join(f"{t} {n}" for t, n in sorted(data["sites"]["byTier"].items())) + ")")
        table.add_row("hosts", f"{data['hosts']['total']} ({data['hosts']['automated']} automated)")
        table.add_row("roles", ", ".join(f"{r} {n}" for r, n in sorted(data["hosts"]["byRole"].items())))
        table.add_row("CDN nodes", str(data["cdnNodes"]))
        for key in ("clusters", "sdwanLinks", "gateways", "apps", "dataStores", "services"):
            table.add_row(key, str(data[key]))
        pending = data["ipam"]["pending"]
        table.add_row("IPAM", f"{pending} allocation(s) not yet in ipam.lock.yaml (run `idcpilot ipam apply`)" if pending else "lock file up to date")
        console.print(table)
