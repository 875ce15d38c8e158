"""``idcpilot schema``: the JSON Schema of the catalogue format, for editors."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from idcpilot.catalogue.schema import SCHEMA_FILE, estate_schema
from idcpilot.cli.common import EXIT_FAIL, console, err_console


def register(app: typer.Typer) -> None:
    @app.command()
    def schema(
        check: bool = typer.Option(False, "--check", help="exit 1 if the published schema file is out of date"),
        write: bool = typer.Option(False, "--write", help=f"rewrite {SCHEMA_FILE.name} from the model"),
    ) -> None:
        """Print the JSON Schema of estate.yaml (idcpilot/v1), or check/refresh the published file."""
        text = json.dumps(estate_schema(), indent=2, ensure_ascii=False) + "\n"
        if check:
            current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
            if current != text:
                err_console.print(f"{SCHEMA_FILE} is out of date: run `idcpilot schema --write`")
                raise typer.Exit(EXIT_FAIL)
            console.print(f"{SCHEMA_FILE} is up to date")
        elif write:
            SCHEMA_FILE.write_text(text, encoding="utf-8")
            console.print(f"wrote {SCHEMA_FILE}")
        else:
            typer.echo(text, nl=False)
