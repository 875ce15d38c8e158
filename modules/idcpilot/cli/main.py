"""Entry point of the ``idcpilot`` command.

Each command lives in its own module under ``idcpilot.cli`` with a ``register(app)`` function;
add the module's name to ``COMMANDS`` to put it on the command line. A command's module is
imported only when that command runs (or when help lists every command): start-up pays for
typer alone, not for the catalogue model, Rich tables, the lab or the deploy machinery of
commands that are not running. ``idcpilot check`` in a pull request is mostly start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from idcpilot import __version__
from idcpilot.cli.common import run_guarded

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
    "bundle",
    "stack",
    "drift",
    "pki",
]


def load_command(name: str) -> Any:
    """The click command ``name``, built from ``idcpilot.cli.<name>.register`` (imports it)."""
    holder = typer.Typer()
    holder.callback()(lambda: None)  # a group, whatever register() adds (one command or a sub-app)
    importlib.import_module(f"idcpilot.cli.{name}").register(holder)
    return typer.main.get_group(holder).commands[name]


class LazyCommands(TyperGroup):
    """The root group: lists every command of COMMANDS, builds one only when it is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in self.commands if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in COMMANDS and args[0] not in self.commands:
            for name in COMMANDS:  # a typo: typer suggests among the commands built, so build them all
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="idcpilot",
    cls=LazyCommands,
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


def run() -> None:
    """The console script: the command line under the exit-code contract (common.run_guarded)."""
    run_guarded(app)


if __name__ == "__main__":
    run()
