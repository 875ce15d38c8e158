"""Run the unmodified stack program under the Pulumi SDK's mocks, once per stack.

Each run gets a fresh event loop, fresh runtime settings and the stack's config installed the
way the CLI installs it (``set_all_config`` with the secret keys), so runs do not leak state
into each other and secret config values reach the program as secrets. Stacks run one after
another, on the caller's thread.

The program runs as the language host runs it (``runpy.run_path`` semantics: a fresh
``__main__`` module, ``sys.argv[0]`` and the program's directory on ``sys.path``), from a code
object compiled once per program source. The program body just returns; the SDK's own
``wait_for_rpcs`` waits for its registrations and outputs and raises any that failed.

The event loop is the standard library's (``asyncio.new_event_loop()``), the one the SDK's
``_sync_await`` pumps by hand when a program blocks on a value synchronously (a plain
``invoke``, a Helm v3 ``Chart``, a v1 ``ConfigFile``).

Three speed-ups that read SDK internals (uvloop with a guard against ``_sync_await``, a settle
pass over the SDK's RPC manager, a fresh thread per stack) were each measured against ``pulumi
preview`` and removed for gaining under 15 % (docs/pulumi.md, Benchmark).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pulumi.runtime import config as pulumi_config
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_in_stack

from idcpilot.plan.mocks import PlanMocks
from idcpilot.plan.recorder import Recorded, RecordingMonitor


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


@dataclass
class Run:
    stack: str
    resources: list[Recorded]
    outputs: dict[str, Any]
    logs: list[str] = field(default_factory=list)


_NO_ROOT = object()


class ProgramError(Exception):
    """The stack program failed for a reason other than bad input: names the stack."""


#: Compiled programs, by path: (source, code). The program's source is read on every run and the
#: code reused only while it is byte for byte the same.
_CODE: dict[str, tuple[bytes, types.CodeType]] = {}


def _compiled(program: Path) -> types.CodeType:
    name = str(program)
    source = program.read_bytes()
    cached = _CODE.get(name)
    if cached is None or cached[0] != source:
        cached = _CODE[name] = (source, compile(source, name, "exec"))
    return cached[1]


def run_program(main: Path, project: str, stack: str, config: dict[str, str], secret_keys: list[str],
                mocks: pulumi_mocks.Mocks | None = None, preview: bool = True) -> Run:
    """Run ``main`` (a directory with __main__.py, or a file) as stack ``stack`` of ``project``."""
    program = main / "__main__.py" if main.is_dir() else main
    code = _compiled(program)

    def body() -> None:
        # What runpy.run_path(program, run_name="__main__") does, minus compiling the file again
        # for every stack and three runpy frames in every resource's stack trace (the SDK walks
        # the whole stack for each resource it registers).
        module = types.ModuleType("__main__")
        module.__dict__.update(__file__=str(program), __cached__=None, __loader__=None, __package__="", __spec__=None)
        saved_main, saved_argv0, saved_path = sys.modules.get("__main__"), sys.argv[0] if sys.argv else None, list(sys.path)
        sys.modules["__main__"] = module
        if sys.argv:
            sys.argv[0] = str(program)
        sys.path.insert(0, str(program.parent))
        try:
            exec(code, module.__dict__)  # noqa: S102 - the project's own program, as `pulumi up` runs it
        finally:
            sys.path[:] = saved_path
            if sys.argv:
                sys.argv[0] = saved_argv0
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
            else:
                sys.modules.pop("__main__", None)

    return run_callable(body, project, stack, config, secret_keys, mocks, preview)


def run_callable(func: Callable[[], Any], project: str = "idcpilot", stack: str = "test",
                 config: dict[str, str] | None = None, secret_keys: list[str] | None = None,
                 mocks: pulumi_mocks.Mocks | None = None, preview: bool = True) -> Run:
    """Run ``func`` as a Pulumi program under fresh mocks (what unit tests of components use)."""
    logger = logging.getLogger("idcpilot.plan.program")
    logger.propagate = False
    # The program's info/warning/error messages are kept; the SDK's debug chatter is not (as
    # the CLI shows it only with -v), which also keeps it from costing time per resource.
    logger.setLevel(logging.INFO)
    handler = _Collect()
    logger.handlers = [handler]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(mocks or PlanMocks())
    try:
        # A placeholder root keeps set_mocks from registering a stack of its own (whose late
        # RegisterResourceOutputs could race the program's); run_in_stack makes the real one.
        pulumi_settings.ROOT.set(_NO_ROOT)  # type: ignore[arg-type]
        pulumi_settings.SETTINGS.outputs.clear()
        pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, logger=logger, monitor=monitor)
        pulumi_settings.ROOT.set(None)  # run_in_stack makes the root stack, as the language host does
        pulumi_config.set_all_config(dict(config or {}), list(secret_keys or []))
        loop.run_until_complete(run_in_stack(func))
    finally:
        pulumi_config.set_all_config({}, [])
        pulumi_settings.ROOT.set(None)
        monitor.close_loops()
        loop.close()
        asyncio.set_event_loop(None)
    return Run(stack, monitor.recorded, monitor.stack_outputs, handler.lines)
