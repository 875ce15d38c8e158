"""Run the unmodified stack program under the Pulumi SDK's mocks, once per stack.

Each run gets a fresh event loop, fresh runtime settings and the stack's config installed the
way the CLI installs it (``set_all_config`` with the secret keys), so runs do not leak state
into each other and secret config values reach the program as secrets.

The program runs as the language host runs it (``runpy.run_path`` semantics: a fresh
``__main__`` module, ``sys.argv[0]`` and the program's directory on ``sys.path``), from a code
object compiled once per program source, and the run waits for the program's registrations in
one pass before the SDK's own shutdown wait (see ``_settle``).

The event loop is uvloop's where it is installed (see ``_FastLoop``): the program's chains of
dependent registrations wake the loop once per completed RPC, and uvloop's cheaper wake-ups
take ~9 % off a plan. A program that blocks on a value synchronously (a plain ``invoke``,
a Helm v3 ``Chart`` or v1 ``ConfigFile``) needs the SDK's ``_sync_await``, which pumps the
stdlib loop by hand and cannot drive uvloop: such a stack is run again on the stdlib loop,
and the program's later stacks start there.
"""

from __future__ import annotations

import _thread
import asyncio
import inspect
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
from pulumi.runtime.sync_await import _sync_await

try:
    import uvloop
except ImportError:  # pragma: no cover - pinned in requirements.txt; the stdlib loop still works
    uvloop = None

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
    event_loop: str = "asyncio"  #: the loop the recorded run ran on: "uvloop" or "asyncio"


_NO_ROOT = object()
_SYNC_AWAIT = _sync_await.__code__


class _StockLoopNeeded(RuntimeError):
    """Raised into the program where the SDK would pump the loop by hand; the stack is re-run."""


if uvloop is not None:
    class _FastLoop(uvloop.Loop):  # type: ignore[misc,name-defined]
        """uvloop, except that it refuses the SDK's ``_sync_await`` instead of being corrupted by it.

        ``_sync_await`` asks ``loop.is_running()`` first; on a running loop it would then detach
        the current task and call ``loop._run_once()``, which only the stdlib loop has (on
        uvloop the task is left detached and the run hangs). Refusing at that first question
        leaves the loop intact; ``needs_stock`` tells the runner to run the stack again on the
        stdlib loop, however the program handled the exception."""

        needs_stock = False

        def is_running(self) -> bool:
            running = super().is_running()
            if running and sys._getframe(1).f_code is _SYNC_AWAIT:
                self.needs_stock = True
                raise _StockLoopNeeded("this program waits synchronously; it is run on the stdlib event loop")
            return running


class ProgramError(Exception):
    """The stack program failed for a reason other than bad input: names the stack."""


async def _settle(result: Any = None) -> None:
    """Wait for everything the program started (its resource registrations and outputs) in
    waves, each wave one ``asyncio.wait`` over all that is pending.

    Without it the SDK's ``wait_for_rpcs`` does that waiting itself, but one completion at a time:
    every wake-up re-arms a callback on every pending output (hundreds per stack: the typed
    resources' outputs, alias URNs), ~0.1 ms per resource spent re-scanning the same futures.
    It still runs afterwards and finds nothing left, and it is still what raises a failed
    registration or output (``asyncio.wait`` only waits)."""
    if inspect.isawaitable(result):
        await result
    settings = pulumi_settings.SETTINGS
    rpcs = pulumi_settings._get_rpc_manager().rpcs
    while True:
        await asyncio.sleep(0)  # registrations scheduled by the program enlist in ``rpcs`` when they start
        with settings.lock:
            pending = [f for f in settings.outputs if not f.done()]
        pending += [r for r in rpcs if not r.done()]
        if not pending:
            return
        await asyncio.wait(pending)


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

    def body() -> Any:
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
        return _settle()

    return _on_fresh_thread(lambda: _run_any(body, project, stack, config, secret_keys, mocks, preview, code))


def _on_fresh_thread(func: Callable[[], Run]) -> Run:
    """``func()`` on a new thread whose stack starts at ``func``; its result or exception here.

    The SDK walks the whole Python stack for every resource it registers (the stack trace and
    source position in the request, ~6 us a frame): on the caller's thread that walk includes
    the CLI's frames (typer, click) and the plan's own, ~20 per resource. ``_thread`` rather than
    ``threading`` adds no bootstrap frames of its own. The run gets a fresh contextvars context,
    as each stack's settings are made inside it anyway; stacks still run one after another."""
    box: dict[str, Any] = {}
    done = _thread.allocate_lock()
    done.acquire()

    def target() -> None:
        try:
            box["run"] = func()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            box["error"] = exc
        finally:
            done.release()

    _thread.start_new_thread(target, ())
    done.acquire()
    if "error" in box:
        raise box["error"]
    return box["run"]


def run_callable(func: Callable[[], Any], project: str = "idcpilot", stack: str = "test",
                 config: dict[str, str] | None = None, secret_keys: list[str] | None = None,
                 mocks: pulumi_mocks.Mocks | None = None, preview: bool = True) -> Run:
    """Run ``func`` as a Pulumi program under fresh mocks (what unit tests of components use)."""
    return _run_any(lambda: _settle(func()), project, stack, config, secret_keys, mocks, preview)


#: Compiled programs that waited synchronously once: their other stacks start on the stdlib loop.
_NEEDS_STOCK: set[types.CodeType] = set()


def _run_any(func: Callable[[], Any], project: str, stack: str, config: dict[str, str] | None,
             secret_keys: list[str] | None, mocks: pulumi_mocks.Mocks | None, preview: bool,
             code: types.CodeType | None = None) -> Run:
    """Run on uvloop where installed, and again on the stdlib loop if the program needed it.
    A second run starts from scratch (fresh loop, settings, monitor and record); the mocks are
    the caller's own object both times."""
    if uvloop is not None and code not in _NEEDS_STOCK:
        loop = _FastLoop()
        try:
            run = _run(func, project, stack, config, secret_keys, mocks, preview, loop)
        except BaseException:
            if not loop.needs_stock:
                raise
        else:
            if not loop.needs_stock:
                return run
        if code is not None:
            _NEEDS_STOCK.add(code)
    return _run(func, project, stack, config, secret_keys, mocks, preview, asyncio.new_event_loop())


def _run(func: Callable[[], Any], project: str, stack: str, config: dict[str, str] | None,
         secret_keys: list[str] | None, mocks: pulumi_mocks.Mocks | None, preview: bool,
         loop: asyncio.AbstractEventLoop) -> Run:
    logger = logging.getLogger("idcpilot.plan.program")
    logger.propagate = False
    # The program's info/warning/error messages are kept; the SDK's debug chatter is not (as
    # the CLI shows it only with -v), which also keeps it from costing time per resource.
    logger.setLevel(logging.INFO)
    handler = _Collect()
    logger.handlers = [handler]

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
    return Run(stack, monitor.recorded, monitor.stack_outputs, handler.lines,
               "asyncio" if isinstance(loop, asyncio.BaseEventLoop) else "uvloop")
