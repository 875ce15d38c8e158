"""The exit-code contract of every command, through the real ``idcpilot`` executable.

0 success, 1 a check found failures, 2 bad input or usage, 3 changes pending, 70 an internal
error (one line naming the file that holds the details). Every command listed by
``idcpilot --help`` is walked with hostile inputs: none may print a traceback, exit 70 (bad
input is never a bug), or run past a time bound.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer

from idcpilot.cli.common import EXIT_CHANGES, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK
from idcpilot.cli.main import app

REPO = Path(__file__).resolve().parents[1]
IDCPILOT = str(Path(sys.executable).with_name("idcpilot"))
BOUND_S = 60  # far above any of these runs (about 1 s each); a hang is what it catches
CONTRACT = {EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_CHANGES}


def leaves() -> list[tuple[list[str], object]]:
    """Every runnable command, the way ``idcpilot --help`` and its groups list them."""
    root = typer.main.get_command(app)
    ctx = type(root).context_class(root) if hasattr(type(root), "context_class") else None
    out: list[tuple[list[str], object]] = []

    def walk(cmd: object, path: list[str]) -> None:
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):  # type: ignore[attr-defined]
                walk(cmd.get_command(ctx, name), path + [name])  # type: ignore[attr-defined]
        else:
            out.append((path, cmd))

    walk(root, [])
    return out


LEAVES = leaves()


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IDCPILOT, *args], cwd=cwd, capture_output=True, text=True, timeout=BOUND_S,
                          env={**os.environ, **(env or {})})


def hostile_inputs(tmp: Path) -> dict[str, Path]:
    rnd = random.Random(1402)  # the same garbage every run
    garbage = bytes(rnd.randrange(256) for _ in range(4096))
    (tmp / "file.txt").write_text("not an estate directory\n")
    (tmp / "no-estate").mkdir()
    (tmp / "no-estate" / "hosts.ini").write_text("[all]\nh1\n")
    (tmp / "empty").mkdir()
    (tmp / "empty" / "estate.yaml").write_text("")
    (tmp / "binary").mkdir()
    (tmp / "binary" / "estate.yaml").write_bytes(garbage)
    (tmp / "garbage.bin").write_bytes(garbage)
    (tmp / "not-a-mapping").mkdir()
    (tmp / "not-a-mapping" / "estate.yaml").write_text("- just\n- a list\n")
    return {
        "missing-dir": tmp / "nope",
        "file-instead-of-dir": tmp / "file.txt",
        "dir-without-estate": tmp / "no-estate",
        "empty-estate": tmp / "empty",
        "binary-estate": tmp / "binary",
        "binary-file": tmp / "garbage.bin",
        "estate-not-a-mapping": tmp / "not-a-mapping",
    }


def invocation(path: list[str], cmd: object, target: Path) -> list[str]:
    """The command line putting ``target`` where the estate goes, other required values made up."""
    args = list(path)
    for p in cmd.params:  # type: ignore[attr-defined]
        if p.param_type_name == "argument":
            args.append(str(target) if p.name == "env" else "h1")
        elif p.required:
            args += [p.opts[0], "h1"]
    return args


def assert_contract(args: list[str], proc: subprocess.CompletedProcess[str], wanted: set[int]) -> None:
    out = proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" not in out, f"{args}: traceback\n{out[-3000:]}"
    assert proc.returncode != EXIT_INTERNAL, f"{args}: bad input reported as an internal error\n{out[-2000:]}"
    assert proc.returncode in CONTRACT, f"{args}: exit {proc.returncode} is outside the contract\n{out[-2000:]}"
    assert proc.returncode in wanted, f"{args}: exit {proc.returncode}, wanted {sorted(wanted)}\n{out[-2000:]}"


def test_help_lists_every_command_walked():
    """The walk covers exactly what `idcpilot --help` shows a user (and each group's --help)."""
    proc = run("--help")
    assert proc.returncode == 0
    listed = set(re.findall(r"^\W (\w[\w-]*)  ", proc.stdout, re.M))
    assert listed == {path[0] for path, _ in LEAVES} and {"check", "deploy", "lab", "ipam"} <= listed, proc.stdout
    for group in {path[0] for path, _ in LEAVES if len(path) > 1}:
        sub = run(group, "--help")
        assert set(re.findall(r"^\W (\w[\w-]*)  ", sub.stdout, re.M)) == {p[1] for p, _ in LEAVES if p[0] == group}, sub.stdout


def run_in_process(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                   state: Path) -> tuple[int, str]:
    """The console script's own entry point (``idcpilot.cli.main:run``) in this process: the
    same code path as the executable without an interpreter start per case. ``state``: where
    a crash would leave its details (never the user's own state directory)."""
    from idcpilot.cli import main

    monkeypatch.setenv("IDCPILOT_STATE_DIR", str(state))
    monkeypatch.setattr(sys, "argv", ["idcpilot", *args])
    started = time.monotonic()
    with pytest.raises(SystemExit) as exc:
        main.run()
    assert time.monotonic() - started < BOUND_S, f"{args}: took longer than {BOUND_S} s"
    captured = capsys.readouterr()
    code = exc.value.code if isinstance(exc.value.code, int) else (0 if exc.value.code is None else 1)
    return code, captured.out + captured.err


@pytest.mark.parametrize("path, cmd", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_refuses_hostile_input_with_exit_2(tmp_path, monkeypatch, capsys, path, cmd):
    """Each hostile estate path where the command takes one, and an unknown option everywhere:
    exit 2 and no traceback (never 70: bad input is not a bug)."""
    monkeypatch.chdir(tmp_path)
    cases: list[list[str]] = [[*path, "--no-such-option"]]
    if any(p.name == "env" for p in cmd.params):  # type: ignore[attr-defined]
        cases += [invocation(path, cmd, target) for target in hostile_inputs(tmp_path).values()]
    for args in cases:
        code, out = run_in_process(args, monkeypatch, capsys, tmp_path / "state")
        assert_contract(args, subprocess.CompletedProcess(args, code, out, ""), {EXIT_INPUT})
    assert not (tmp_path / "nope").exists(), "a missing estate directory was created"


def test_the_executable_keeps_the_contract(tmp_path):
    """The installed ``idcpilot`` itself, one hostile input per top-level command (concurrently,
    each bounded); the in-process walk above covers every input on every command."""
    targets = hostile_inputs(tmp_path)
    cases = []
    firsts = {path[0]: (path, cmd) for path, cmd in reversed(LEAVES)}
    for path, cmd in firsts.values():
        if any(p.name == "env" for p in cmd.params):  # type: ignore[attr-defined]
            cases.append(invocation(path, cmd, targets["binary-estate" if len(cases) % 2 else "file-instead-of-dir"]))
        else:
            cases.append([*path, "--no-such-option"])
    with ThreadPoolExecutor(max_workers=3) as pool:
        procs = list(pool.map(lambda a: run(*a, cwd=tmp_path, env={"IDCPILOT_STATE_DIR": str(tmp_path / "state")}), cases))
    for args, proc in zip(cases, procs):
        assert_contract(args, proc, {EXIT_INPUT})
        assert proc.stderr.strip(), f"{args}: refused without saying why"


@pytest.mark.parametrize("args", [
    ["check", "{example}", "--no-plan", "--thresholds", "{binary-file}"],
    ["check", "{example}", "--no-plan", "--waivers", "{binary-file}"],
    ["check", "{example}", "--no-plan", "--waivers", "{dir-without-estate}"],
    ["check", "{example}", "--no-plan", "--thresholds", "{missing-dir}"],
    ["check", "{example}", "--manifests", "{binary-file}"],
    ["check", "{example}", "--manifests", "{missing-dir}"],
    ["report", "{example}", "--no-plan", "--out", "{out}", "--verify", "{binary-file}"],
    ["report", "{example}", "--no-plan", "--out", "{out}", "--findings", "{binary-file}"],
    ["report", "{example}", "--no-plan", "--out", "{out}", "--waivers", "{binary-file}"],
    ["report", "{example}", "--no-plan", "--out", "{out}", "--thresholds", "{empty-estate}"],
    ["stack", "init", "{example}", "--cluster", "bj-core-k8s", "--kubeconfig", "{binary-file}"],
    ["stack", "init", "{example}", "--cluster", "bj-core-k8s", "--kubeconfig", "{missing-dir}"],
    ["stack", "init", "{example}", "--cluster", "bj-core-k8s", "--kubeconfig", "{file-instead-of-dir}"],
], ids=lambda a: " ".join(x for x in a if not x.startswith("{") or x == "{binary-file}"))
def test_file_options_refuse_hostile_files(tmp_path, monkeypatch, capsys, args):
    """Files named by options (thresholds, waivers, manifests, verify results, findings) are
    input like the estate: refused with exit 2, never a crash (a waiver-file change once made
    every `report` run an internal error)."""
    names = {k: str(v) for k, v in hostile_inputs(tmp_path).items()} | {"example": str(REPO / "inventories" / "example"),
                                                                        "out": str(tmp_path / "out")}
    argv = [a.format_map(names) if a.startswith("{") else a for a in args]
    monkeypatch.chdir(REPO)
    code, out = run_in_process(argv, monkeypatch, capsys, tmp_path / "state")
    assert_contract(argv, subprocess.CompletedProcess(argv, code, out, ""), {EXIT_INPUT})


@pytest.mark.parametrize("command", [["deploy"], ["verify"], ["lab", "up"], ["lab", "down"], ["lab", "status"],
                                     ["lab", "stop", "--host", "h1"], ["lab", "ssh", "h1"]], ids=" ".join)
def test_commands_that_touch_hosts_require_the_estate(command):
    """A bare `idcpilot deploy` used to deploy inventories/example (and lab defaulted to lab)."""
    proc = run(*command)
    assert_contract(command, proc, {EXIT_INPUT})
    assert "Missing argument 'ENV'" in proc.stderr and "Usage:" in proc.stderr


def test_an_internal_error_is_one_line_exit_70_and_a_file(tmp_path):
    """A rule whose code crashes is a bug in reviewed code, not bad input: exit 70, one line on
    stderr naming the file that holds the traceback (under the state directory)."""
    policy = tmp_path / "policy"
    subprocess.run(["cp", "-r", str(REPO / "policy"), str(policy)], check=True)
    (policy / "rules" / "pilot_zz_crash.py").write_text(
        "from idcpilot.policy.model import Rule\n"
        "RULE = Rule(id='PILOT-ZZ-CRASH', title='t', severity='low', stage=('plan',), clause='c', remediation='r')\n"
        "def check(ctx):\n    return [1 / 0]\n")
    state = tmp_path / "state"
    proc = run("check", str(REPO / "inventories" / "example"), "--no-plan", "--only", "PILOT-ZZ-CRASH",
               env={"IDCPILOT_POLICY_DIR": str(policy), "IDCPILOT_STATE_DIR": str(state)})
    assert proc.returncode == EXIT_INTERNAL, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()
    m = re.fullmatch(r"idcpilot: internal error \(ZeroDivisionError\); .*details written to (\S+)", line)
    assert m, line
    detail = Path(m.group(1))
    assert detail.is_relative_to(state) and "ZeroDivisionError" in detail.read_text() and "pilot_zz_crash.py" in detail.read_text()
    assert detail.stat().st_mode & 0o077 == 0  # a traceback may quote values: readable by its owner only


def test_internal_error_falls_back_to_a_temporary_file(tmp_path, monkeypatch, capsys):
    from idcpilot.cli import common

    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    monkeypatch.setenv("IDCPILOT_STATE_DIR", str(blocked / "state"))  # cannot be created
    monkeypatch.setattr(sys, "argv", ["idcpilot", "deploy", "inventories/x", "-e", "db_password=hunter2", "--extra-vars=token=s3cr3t"])

    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(SystemExit) as exc:
        common.run_guarded(boom)
    assert exc.value.code == EXIT_INTERNAL
    err = capsys.readouterr().err
    path = Path(err.rsplit("details written to ", 1)[1].strip())
    try:
        text = path.read_text()
        assert "RuntimeError: boom" in text and not path.is_relative_to(blocked)
        assert text.startswith("idcpilot deploy -e --extra-vars\n") and "hunter2" not in text and "s3cr3t" not in text
    finally:
        path.unlink()


def test_validate_problems_are_never_wrapped(tmp_path):
    """A problem line longer than any terminal stays one line in a pipe (CI logs)."""
    (tmp_path / "estate.yaml").write_text("apiVersion: idcpilot/v1\nkind: Estate\nmetadata: {name: x, "
                                          "description: ok}\nspec: {sites: 3, " + "regionsInScope: [" + ", ".join(
                                              f"region-with-a-rather-long-name-{i}" for i in range(8)) + "]}\n")
    proc = run("validate", str(tmp_path), env={"COLUMNS": "40"})
    assert_contract(["validate"], proc, {EXIT_INPUT})
    problems = [ln for ln in proc.stderr.splitlines() if "estate.yaml:" in ln]
    assert problems and all(re.match(r"\S*estate\.yaml:\d+:\d+: ", ln) for ln in problems), proc.stderr
    assert any(len(ln) > 40 for ln in problems)
    assert all(ln in problems or re.fullmatch(r"\d+ problems? found", ln) for ln in proc.stderr.splitlines() if ln), proc.stderr
