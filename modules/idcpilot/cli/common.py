"""What every command shares: output formats, the console, and turning bad input into exit 2."""

from __future__ import annotations

import enum
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import typer

from idcpilot.errors import UserInputError

#: The exit codes every command keeps, so CI can tell outcomes apart: 0 success, 1 a check found
#: failures, 2 bad input or usage, 3 changes pending (``ipam plan --detailed-exitcode``),
#: 70 an internal error (EX_SOFTWARE: a bug in idcpilot, never the user's input).
EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_CHANGES, EXIT_INTERNAL = 0, 1, 2, 3, 70


class Format(str, enum.Enum):
    table = "table"
    json = "json"


EnvArg = typer.Argument(Path("inventories/example"), help="environment directory inventories/<env> (or its estate.yaml)")
FormatOpt = typer.Option(Format.table, "--format", "-f", help="table for people, json for machines")


def _consoles() -> dict[str, Any]:
    """Make ``console`` and ``err_console`` (Rich) on first use: JSON output never imports Rich."""
    made = globals()
    if "console" not in made:
        from rich.console import Console

        made["console"] = Console()
        made["err_console"] = Console(stderr=True)
    return made


def __getattr__(name: str) -> Any:
    if name in ("console", "err_console"):
        return _consoles()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def fail_input(problems: list[str] | str) -> "typer.Exit":
    for line in [problems] if isinstance(problems, str) else problems:
        _consoles()["err_console"].print(line, style="red", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_INPUT)


@contextmanager
def user_errors() -> Iterator[None]:
    """Bad input: one line per problem on stderr, exit code 2, never a traceback."""
    try:
        yield
    except UserInputError as exc:
        n = len(exc.problems)
        raise fail_input([str(p) for p in exc.problems] + [f"{n} problem{'s' if n != 1 else ''} found"]) from None
