"""``idcpilot stack init|preview|up|destroy``: the real Pulumi engine on one cluster's stack.

The engine is the offline bundle's (``idcpilot bundle pulumi``), run in the estate's workspace
(``idcpilot.stack.workspace``: file backend, passphrase secrets provider, plugins installed from
the bundle, never a download). ``preview`` and ``up`` run the CrossGuard pack of ``policy/``
inside the engine unless ``--no-policy``: a mandatory violation stops them, exit 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from idcpilot import catalogue
from idcpilot.bundle import pulumi_engine
from idcpilot.cli.common import EXIT_CHANGES, EXIT_FAIL, EXIT_INPUT, RequiredEnvArg, err_console, fail_input, print_json, user_errors
from idcpilot.paths import repo_root
from idcpilot.stack import workspace as wsp

app = typer.Typer(help="The real Pulumi engine (offline bundle) on one edge cluster's stack: init, preview, up, destroy.",
                  no_args_is_help=True)

ClusterOpt = typer.Option(..., "--cluster", "-c", help="the cluster whose stack it is (spec.clusters[].name)", show_default=False)
PolicyOpt = typer.Option(True, "--policy/--no-policy", help="run the CrossGuard pack policy/ inside the engine")
#: What `up` does and `preview` shows: the stack's objects are read back from the cluster first, so
#: a field changed by hand is a change to put back (every object is applied with patchForce), not
#: something the engine's saved state hides.
RefreshOpt = typer.Option(True, "--refresh/--no-refresh", help="read the cluster's live objects first, so hand edits are put back")


def _workspace(env: Path, cluster: str) -> tuple[catalogue.Catalogue, wsp.Workspace]:
    """The estate and CLUSTER's workspace (exit 2 on a bad estate or an unknown cluster)."""
    with user_errors():
        cat = catalogue.load(env)
        return cat, wsp.open_workspace(cat, cluster)


def _engine(ws: wsp.Workspace) -> tuple[pulumi_engine.Engine, dict[str, str]]:
    """The bundle's engine and the environment to run it in, the workspace laid out for it."""
    engine = pulumi_engine.find()
    if engine is None:
        raise fail_input("the Pulumi engine is not built: `make bundle` (or `idcpilot bundle pulumi`) builds it from its Go modules")
    with user_errors():
        wsp.sync(ws)
    try:
        return engine, wsp.environment(ws, engine)
    except pulumi_engine.EngineMissing as exc:
        raise fail_input(str(exc)) from None


def _open(env: Path, cluster: str) -> tuple[wsp.Workspace, pulumi_engine.Engine, dict[str, str]]:
    _, ws = _workspace(env, cluster)
    return (ws, *_engine(ws))


def _engine_failed(exc: Exception) -> typer.Exit:
    err_console.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_FAIL)


def _policy_args(policy: bool) -> list[str]:
    return ["--policy-pack", str(repo_root() / "policy")] if policy else []


def _read_kubeconfig(path: Path) -> str:
    """A kubeconfig file's text (``-``: standard input), refused when it is not one."""
    from idcpilot.yamlsource import load_yaml_text, read_yaml_text

    with user_errors():
        text = sys.stdin.read() if str(path) == "-" else read_yaml_text(path, str(path))
        data, _ = load_yaml_text(text, str(path))
    if not isinstance(data, dict) or data.get("kind") != "Config" or not data.get("clusters"):
        raise fail_input(f"{path}: not a kubeconfig (kind: Config with clusters)")
    return text


def _lab_kubeconfig(cat: catalogue.Catalogue, cluster: str) -> str:
    """The admin kubeconfig of CLUSTER's first control-plane host in the lab, read over SSH."""
    from idcpilot import ipam
    from idcpilot.lab import LabError, lifecycle, plan_lab

    with user_errors():
        plan = plan_lab(cat, ipam.plan(cat))
    first = cat.members(cat.clusters[cluster].control_plane)[0].name
    try:
        done = lifecycle.host_ssh(plan, first, "sudo -n cat /etc/kubernetes/admin.conf", timeout=60)
    except (LabError, OSError) as exc:
        raise fail_input(f"lab host {first}: {exc}") from None
    if done.returncode != 0 or "kind: Config" not in done.stdout:
        raise fail_input(f"lab host {first}: no admin kubeconfig (is the lab up and the cluster deployed?)")
    return done.stdout


@app.command("init")
def init(env: Path = RequiredEnvArg, cluster: str = ClusterOpt,
         kubeconfig: Path = typer.Option(None, "--kubeconfig", help="the cluster's admin kubeconfig ('-': standard input), stored as the stack's secret"),
         from_lab: bool = typer.Option(False, "--from-lab", help="read the kubeconfig from the cluster's first control-plane host in the lab")) -> None:
    """Create the stack (passphrase secrets provider) and set its kubeconfig secret."""
    if kubeconfig is not None and from_lab:
        raise fail_input("--kubeconfig and --from-lab: give one")
    cat, ws = _workspace(env, cluster)
    # the kubeconfig is read (and refused if it is not one) before the workspace is touched
    text = _lab_kubeconfig(cat, cluster) if from_lab else _read_kubeconfig(kubeconfig) if kubeconfig is not None else None
    engine, environ = _engine(ws)
    try:
        new = wsp.init(ws, engine, environ, text)
    except wsp.EngineError as exc:
        raise _engine_failed(exc) from None
    what = "created" if new else "exists"
    err_console.print(f"stack {ws.stack_name} {what} in {ws.root}" + ("; kubeconfig set (encrypted)" if text else ""),
                      markup=False, highlight=False)


def _passed_through(ws: wsp.Workspace, engine: pulumi_engine.Engine, environ: dict[str, str], args: list[str]) -> str:
    """``pulumi ARGS``, its output passed on as it is; exit 1 when the engine failed. Its stdout."""
    done = wsp.pulumi(ws, engine, environ, args, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise typer.Exit(EXIT_FAIL)
    return done.stdout


def _require_ready(ws: wsp.Workspace) -> None:
    if not wsp.has_secret(ws, "kubeconfig"):
        raise fail_input(f"stack {ws.stack_name} has no kubeconfig secret yet: `idcpilot stack init ... --kubeconfig FILE`")


@app.command("preview")
def preview(env: Path = RequiredEnvArg, cluster: str = ClusterOpt, policy: bool = PolicyOpt,
            as_json: bool = typer.Option(False, "--json", help="the engine's JSON (steps, diagnostics, policy results)"),
            refresh: bool = RefreshOpt,
            expect_no_changes: bool = typer.Option(False, "--expect-no-changes", help="exit 3 when the preview has changes")) -> None:
    """`pulumi preview` of the stack, the policy pack running in the engine."""
    ws, engine, environ = _open(env, cluster)
    _require_ready(ws)
    args = ["preview", *wsp.stack_args(ws), *_policy_args(policy), "--diff"]
    if refresh:
        args.append("--refresh")
    if as_json:
        args.append("--json")
    stdout = _passed_through(ws, engine, environ, args)
    if expect_no_changes:
        changes = wsp.changes(stdout) if as_json else None
        if changes is None:
            again = wsp.pulumi(ws, engine, environ, [*args, "--json"] if not as_json else args, check=False)
            changes = wsp.changes(again.stdout)
        if changes:
            err_console.print(f"stack {ws.stack_name}: {sum(changes.values())} change(s): {json.dumps(changes)}",
                              markup=False, highlight=False)
            raise typer.Exit(EXIT_CHANGES)


@app.command("up")
def up(env: Path = RequiredEnvArg, cluster: str = ClusterOpt, policy: bool = PolicyOpt, refresh: bool = RefreshOpt,
       as_json: bool = typer.Option(False, "--json", help="the engine's JSON")) -> None:
    """`pulumi up --yes` of the stack, the policy pack running in the engine."""
    ws, engine, environ = _open(env, cluster)
    _require_ready(ws)
    args = ["up", "--yes", *wsp.stack_args(ws), *_policy_args(policy)]
    if refresh:
        args.append("--refresh")
    _passed_through(ws, engine, environ, [*args, "--json"] if as_json else args)


@app.command("destroy")
def destroy(env: Path = RequiredEnvArg, cluster: str = ClusterOpt) -> None:
    """`pulumi destroy --yes` of the stack: every object the stack made is removed from the cluster."""
    ws, engine, environ = _open(env, cluster)
    _require_ready(ws)
    _passed_through(ws, engine, environ, ["destroy", "--yes", *wsp.stack_args(ws)])


@app.command("outputs")
def outputs(env: Path = RequiredEnvArg, cluster: str = ClusterOpt) -> None:
    """The stack's outputs (secrets shown as [secret])."""
    ws, engine, environ = _open(env, cluster)
    try:
        done = wsp.pulumi(ws, engine, environ, ["stack", "output", "--json", *wsp.stack_args(ws)])
    except wsp.EngineError as exc:
        raise _engine_failed(exc) from None
    print_json(json.loads(done.stdout or "{}"))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="stack")


__all__ = ["register", "EXIT_INPUT"]
