"""Entry point of the ``idcpilot`` command.

Each command lives in its own module under ``idcpilot.cli`` with a ``register(app)`` function;
add the module's name to ``COMMANDS`` to put it on the command line.
"""

from __future__ import annotations

import importlib

import typer

from idcpilot import __version__

COMMANDS = [
    "validate",
    "ipam",
    "inventory",
    "schema",
    "plan",
    "lab",
    "deploy",
    "verify",
    "check",
    "rules",
    "report",
]

app = typer.Typer(
    name="idcpilot",
    help="Infrastructure as code for the industry cloud-service pilot: catalogue, IPAM, plan, policy, deploy, verify.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"idcpilot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version")) -> None:
    """idcpilot."""


for _name in COMMANDS:
    importlib.import_module(f"idcpilot.cli.{_name}").register(app)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
