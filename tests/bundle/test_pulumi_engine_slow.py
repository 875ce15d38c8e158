"""The Pulumi engine built by `idcpilot bundle pulumi` (or `make bundle`) runs a Python program
offline: `pulumi version`, a file backend, a passphrase-secrets stack, `pulumi preview --json` and
`pulumi up --yes` of a tiny program whose pulumi-kubernetes provider renders YAML to a directory
(no cluster), and a preview with the repo's CrossGuard pack. Automatic plugin downloads are off,
every proxy points at a closed port, and the plugins are the same before and after: nothing was
downloaded.

Skipped, with the reason, when the bundle cache ($IDCPILOT_BUNDLE_CACHE, else
/var/cache/idcpilot/bundle) has no engine built: `make bundle` first, then `make test` runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from idcpilot.bundle import cache_root, pulumi_engine, versions

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent  # the repo's .venv, which runs the tests
ENGINE = pulumi_engine.find()

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(ENGINE is None, reason=f"no Pulumi engine built in {cache_root()}: run `make bundle` "
                                                        "(idcpilot bundle pulumi) first")]

PASSPHRASE = "engine-test-passphrase"
#: Any HTTP(S) request pulumi or a plugin might make off this machine goes to a closed local port and
#: fails at once (the engine's gRPC between its own processes is on the loopback, never proxied).
_CLOSED = "http://127.0.0.1:9"
_LOOPBACK = "127.0.0.1,localhost,::1"
NO_NETWORK = {"HTTP_PROXY": _CLOSED, "HTTPS_PROXY": _CLOSED, "http_proxy": _CLOSED, "https_proxy": _CLOSED,
              "NO_PROXY": _LOOPBACK, "no_proxy": _LOOPBACK}

PROGRAM = """\
import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
render = k8s.Provider("render", render_yaml_to_directory=config.require("renderDir"))
cm = k8s.core.v1.ConfigMap(
    "engine-check",
    metadata={"name": "engine-check", "namespace": "default", "labels": {"app": "engine-check"}},
    data={"hello": "offline"},
    opts=pulumi.ResourceOptions(provider=render),
)
pulumi.export("configMap", cm.metadata["name"])
pulumi.export("secret", pulumi.Output.secret("shh"))
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    assert ENGINE is not None
    base = tmp_path_factory.mktemp("engine")
    prog, home, state = base / "prog", base / "home", base / "state"
    prog.mkdir()
    state.mkdir()
    (prog / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: enginecheck
        runtime:
          name: python
          options:
            toolchain: pip
            virtualenv: {VENV}
        """))
    (prog / "__main__.py").write_text(PROGRAM)
    env = pulumi_engine.prepare_home(ENGINE, home, base={**_clean_env(), **NO_NETWORK})
    env.update(PULUMI_CONFIG_PASSPHRASE=PASSPHRASE, PULUMI_BACKEND_URL=f"file://{state}")
    run = _runner(prog, env)
    run("login", f"file://{state}")
    run("stack", "init", "dev", "--secrets-provider", "passphrase")
    run("config", "set", "renderDir", str(base / "rendered"))
    return prog, env


def _clean_env() -> dict[str, str]:
    # no KUBECONFIG: the provider would take it, and a kubeconfig and renderYamlToDirectory exclude each other
    drop = ("VIRTUAL_ENV", "PYTHONHOME", "KUBECONFIG")
    return {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_") and k not in drop}


def _runner(cwd: Path, env: dict[str, str]):
    assert ENGINE is not None

    def run(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(ENGINE.pulumi), *args, "--non-interactive"], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"pulumi {' '.join(args)}: exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        return proc
    return run


def _plugin_files(plugin_dir: Path) -> list[str]:
    """The files inside the plugin directories of a PULUMI_HOME (not the .lock/.lastused markers
    pulumi keeps beside each directory)."""
    return sorted(str(p.relative_to(plugin_dir)) for p in plugin_dir.glob("*/**/*") if p.is_file())


def _plugins(env: dict[str, str], cwd: Path) -> list[tuple[str, str, str]]:
    proc = _runner(cwd, env)("plugin", "ls", "--json")
    return sorted((p["kind"], p["name"], p["version"]) for p in json.loads(proc.stdout or "[]"))


def test_pulumi_reports_the_version_of_the_python_sdk(project):
    prog, env = project
    data = versions.load().pulumi
    assert ENGINE is not None
    out = _runner(prog, env)("version").stdout.strip()
    assert out == f"v{data['cli'].version}"
    host = subprocess.run([str(ENGINE.pulumi.with_name("pulumi-language-python")), "-version"], capture_output=True, text=True,
                          timeout=60)
    assert host.stdout.strip() == f"v{data['cli'].version}", host
    from importlib.metadata import version  # the SDKs the program runs with: requirements.txt's pins

    assert version("pulumi") == data["cli"].version
    assert version("pulumi_kubernetes") == data["resource-kubernetes"].version


def test_preview_and_up_run_offline_with_the_installed_plugins_only(project):
    prog, env = project
    kube = versions.load().pulumi["resource-kubernetes"].version
    before = _plugins(env, prog)
    assert before == [("resource", "kubernetes", kube)]
    plugin_dir = Path(env["PULUMI_HOME"]) / "plugins"
    files_before = _plugin_files(plugin_dir)
    assert files_before == [f"resource-kubernetes-v{kube}/pulumi-resource-kubernetes"]
    run = _runner(prog, env)

    preview = run("preview", "--json")
    steps = json.loads(preview.stdout)["steps"]
    assert {s["op"] for s in steps} == {"create"}
    assert {s["urn"].rsplit("::", 1)[1] for s in steps} >= {"render", "engine-check"}

    up = run("up", "--yes", "--skip-preview")
    outputs = json.loads(run("stack", "output", "--json", "--show-secrets").stdout)
    assert outputs == {"configMap": "engine-check", "secret": "shh"}
    rendered = list((Path(json.loads(run("config", "get", "renderDir", "--json").stdout)["value"])).rglob("*.yaml"))
    assert any("engine-check" in f.read_text() for f in rendered), rendered

    assert _plugins(env, prog) == before, "a plugin was downloaded or installed during the run"
    assert _plugin_files(plugin_dir) == files_before
    assert not [p.name for p in plugin_dir.iterdir() if p.name.endswith((".partial", ".tmp", ".tar.gz"))]
    for text in (preview.stdout, preview.stderr, up.stdout, up.stderr):
        assert "Downloading" not in text and "downloading" not in text
    again = json.loads(run("preview", "--json").stdout)
    assert {s["op"] for s in again["steps"]} == {"same"}, again["steps"]


def test_crossguard_pack_runs_through_the_language_host(project):
    prog, env = project
    proc = _runner(prog, env)("preview", "--policy-pack", str(REPO / "policy"), check=False)
    text = proc.stdout + proc.stderr
    assert "idcpilot-pilot-spec" in text, text[-4000:]  # the pack started and reported under its name
    assert "failed to start" not in text and "policy pack not found" not in text, text[-4000:]
