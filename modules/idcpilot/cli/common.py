"""What every command shares: output formats, the console, and turning bad input into exit 2."""

from __future__ import annotations

import enum
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import typer

from idcpilot.errors import UserInputError

#: The exit codes every command keeps, so CI can tell outcomes apart: 0 success, 1 a check found
#: failures, 2 bad input or usage, 3 changes pending (``ipam plan --detailed-exitcode``) or made (``deploy --detailed-exitcode``),
#: 70 an internal error (EX_SOFTWARE: a bug in idcpilot, never the user's input).
EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_CHANGES, EXIT_INTERNAL = 0, 1, 2, 3, 70


class Format(str, enum.Enum):
    table = "table"
    json = "json"


EnvArg = typer.Argument(Path("inventories/example"), help="environment directory inventories/<env> (or its estate.yaml)")
#: Commands that change or probe hosts (deploy, verify, lab) are always told which estate:
#: a missing argument is a usage error (exit 2), never a default estate.
RequiredEnvArg = typer.Argument(..., metavar="ENV", help="environment directory inventories/<env> (or its estate.yaml); required", show_default=False)
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


def _crash_file() -> Path:
    """Where the traceback of an internal error goes: the state directory (beside deploy's
    runs), else a temporary file; never the terminal, where a user would read it as the answer."""
    import datetime as dt
    import tempfile

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = f"crash-{stamp}-{os.getpid()}.txt"
    try:
        from idcpilot.paths import state_root

        folder = state_root() / "crashes"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / name
        path.touch(mode=0o600)
        return path
    except Exception:  # noqa: BLE001  (any reason the state directory is unusable)
        fd, tmp = tempfile.mkstemp(prefix="idcpilot-crash-", suffix=".txt")
        os.close(fd)
        return Path(tmp)


def run_guarded(main: Callable[[], Any]) -> None:
    """Run the command line under the exit-code contract: a bug in idcpilot prints ONE line on
    stderr naming the file that holds the details and exits EXIT_INTERNAL, never a traceback
    (bad input is the commands' own business: exit 2 with file, line and field)."""
    try:
        main()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("idcpilot: interrupted\n")
        raise SystemExit(130) from None
    except BaseException as exc:  # noqa: BLE001  (the contract covers every exception)
        import traceback

        detail = "".join(traceback.format_exception(exc))
        try:
            path = _crash_file()
            # the command and the option names, never their values (an -e KEY=VALUE may hold a secret)
            words = [a.split("=", 1)[0] for a in sys.argv[1:] if a.startswith("-")]
            command = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else ""
            path.write_text(f"idcpilot {command} {' '.join(words)}\n\n{detail}", encoding="utf-8")
            where = f"details written to {path}"
        except Exception:  # noqa: BLE001
            where = "details could not be written"
        sys.stderr.write(f"idcpilot: internal error ({type(exc).__name__}); this is a bug in idcpilot, not your input; {where}\n")
        raise SystemExit(EXIT_INTERNAL) from None
