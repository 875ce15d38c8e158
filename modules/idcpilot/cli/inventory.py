"""``idcpilot inventory``: the Ansible inventory that plain ``ansible-inventory`` also sees."""

from __future__ import annotations

from pathlib import Path

import typer

from idcpilot import catalogue, ipam
from idcpilot import inventory as inv
from idcpilot.cli.common import EnvArg, print_json, user_errors


def register(app: typer.Typer) -> None:
    @app.command()
    def inventory(
        env: Path = EnvArg,
        graph: bool = typer.Option(False, "--graph", help="groups and their hosts, like ansible-inventory --graph"),
        host: str = typer.Option(None, "--host", help="the variables of one host"),
    ) -> None:
        """Print the Ansible inventory derived from the catalogue (JSON like ansible-inventory --list)."""
        with user_errors():
            cat = catalogue.load(env)
            data = inv.build(cat, ipam.plan(cat))
        if graph:
            typer.echo(inv.graph(data))
        elif host is not None:
            if host not in data["_meta"]["hostvars"]:
                from idcpilot.cli.common import fail_input

                raise fail_input(f"{cat.file}: no host {host!r} in the estate")
            print_json({**data["all"]["vars"], **data["_meta"]["hostvars"][host]})
        else:
            print_json(data)
