"""The Pulumi engine, built from Go modules into the bundle cache: the CLI, the Python language host
(with the scripts the stock distribution ships beside it) and the provider plugins the stacks use.

versions.yaml's ``pulumi:`` section says what is built and how; this module builds it through the
bundle's machinery (wrapper module, ``Runner``, stamps keyed by version and toolchain) into
``<cache>/pulumi/<part>/v<version>/`` and gives other code the engine to run:

- ``ensure()`` -> ``Engine``: builds what is missing or stale (a second call builds nothing) and
  returns the paths; ``find()`` returns the engine already built (None if it is not), without Go.
- ``prepare_home(engine, home)``: a PULUMI_HOME with the provider plugins installed by
  ``pulumi plugin install <kind> <name> v<version> --file <binary>``, and the environment to run
  ``pulumi`` with: PULUMI_HOME, the language host and the CLI first on PATH, automatic plugin
  downloads off, no update check.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from idcpilot.bundle import cache_root, layout, stamps, wrapper
from idcpilot.bundle.build import locked
from idcpilot.bundle.gobuild import DEFAULT_TIMEOUT, BuildError, Runner, Toolchain, toolchain
from idcpilot.bundle.versions import EngineComponent, Versions, load

Say = Callable[[str], None]

#: idcpilot's own Python language host (the Go module proxy does not serve Pulumi's).
LANGHOST_SOURCE = Path(__file__).with_name("langhost") / "main.go"

#: The PULUMI_HOME plugin directory name of a plugin, as ``pulumi plugin install`` makes it.
PLUGIN_DIR = "{kind}-{name}-v{version}"

#: What ``pulumi`` gets besides PULUMI_HOME and PATH: never download a plugin (a missing one is an
#: error, not a download attempt) and never ask the network for a newer CLI.
ENGINE_ENV = {"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true", "PULUMI_SKIP_UPDATE_CHECK": "true"}

#: pulumi-analyzer-policy-python, as the stock distribution shipped it until the language hosts
#: ran policy packs themselves: pulumi_policy's runner in the virtualenv PulumiPolicy.yaml names.
#: The engine only uses it when it finds no Python language host.
ANALYZER_POLICY_PYTHON = """#!/bin/sh
# pulumi-analyzer-policy-python (written by idcpilot.bundle.pulumi_engine): runs a CrossGuard
# Python policy pack, `python -u -m pulumi.policy ENGINE-ADDRESS PACK-DIR`, with the python of the
# virtualenv named by -virtualenv=DIR (PulumiPolicy.yaml's runtime option; relative to the pack
# directory, the engine's working directory for this plugin), else $PULUMI_PYTHON_CMD or python3.
virtualenv=""
for arg do
    shift
    case $arg in
        -virtualenv=*) virtualenv=${arg#*=} ;;
        *) set -- "$@" "$arg" ;;
    esac
done
if [ -z "$virtualenv" ]; then
    exec "${PULUMI_PYTHON_CMD:-python3}" -u -m pulumi.policy "$@"
fi
virtualenv=${virtualenv%/}
case $virtualenv in
    /*) ;;
    *) virtualenv=$PWD/$virtualenv ;;
esac
if [ ! -f "$virtualenv/bin/python" ]; then
    echo "The 'virtualenv' option in PulumiPolicy.yaml is set to \\"$virtualenv\\", which is not a virtual environment." >&2
    echo "Create it and install the policy pack's requirements into it (python3 -m venv; pip install -r requirements.txt)." >&2
    exit 1
fi
PATH="$virtualenv/bin:$PATH"
export PATH
unset PYTHONHOME
exec "$virtualenv/bin/python" -u -m pulumi.policy "$@"
"""

GENERATED_SCRIPTS = {"analyzer-policy-python": ANALYZER_POLICY_PYTHON}


class EngineMissing(Exception):
    """The engine (or a part of it) is not built in the cache; the message says which and why."""


@dataclass(frozen=True)
class Plugin:
    kind: str
    name: str
    version: str
    file: Path

    @property
    def dir_name(self) -> str:
        return PLUGIN_DIR.format(kind=self.kind, name=self.name, version=self.version)


@dataclass(frozen=True)
class Engine:
    """A built engine: ``pulumi`` itself, the PATH directories (the CLI's, which holds the language
    host: the CLI looks for its bundled plugins beside itself), the provider plugins."""

    root: Path
    pulumi: Path
    path: tuple[Path, ...]
    plugins: tuple[Plugin, ...]
    versions: dict[str, str]


@dataclass
class Result:
    engine: Engine | None = None
    built: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # part or part/file -> seconds
    total: float = 0.0


def engine_root(cache: Path) -> Path:
    return cache / "pulumi"


def part_dir(name: str, part: EngineComponent) -> str:
    """Where a part's files go under the engine root (relative)."""
    return f"{name}/v{part.version}"


def stamp_name(name: str) -> str:
    """The stamp's component name (stamps/pulumi-<part>-<version>.json, apart from the bundle's)."""
    return f"pulumi-{name}"


def ldflags(versions: Versions, part: EngineComponent) -> str:
    return " ".join([*versions.go_ldflags, *(f"-X {x.format(version=part.version)}" for x in part.ldflags)])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_inputs(versions: Versions, name: str, part: EngineComponent) -> list[list[str]]:
    """Everything besides the toolchain that decides a part's bytes: its recipe, its go build
    command lines and, for the language host, the source idcpilot ships."""
    recipe = json.dumps(part.model_dump(by_alias=True), sort_keys=True)
    argv = [["build", *versions.go_flags, "-ldflags", ldflags(versions, part), "-o", b, p] for b, p in sorted(part.binaries.items())]
    extra = [["langhost", _sha256(LANGHOST_SOURCE.read_bytes())]] if part.source == "langhost" else []
    scripts = [["script", s, o, _sha256(GENERATED_SCRIPTS[o.split(":", 1)[1]].encode())] if o.startswith("generated:") else ["script", s, o]
               for s, o in sorted(part.scripts.items())]
    return [[recipe], *argv, *extra, *scripts]


def _remote_packages(part: EngineComponent) -> list[str]:
    return [p for p in part.binaries.values() if not p.startswith("./")]


def wrapper_text(runner: Runner, name: str, part: EngineComponent, workdir: Path) -> str:
    module = part.upstream_module
    upstream = wrapper.read_upstream(runner.upstream_gomod(module, part.modules[module], workdir))
    if upstream.go is None:
        # without a go line, go mod tidy loads the whole unpruned module graph (go 1.16 rules),
        # down to modules the proxy does not serve
        raise BuildError(f"{module}@{part.modules[module]}'s go.mod has no go line for the wrapper", runner.log)
    return wrapper.wrapper_gomod(f"idcpilot.invalid/bundle/pulumi-{name}", part.modules, _remote_packages(part), upstream,
                                 replaces=part.replaces)


def _copy_writable(src: Path, dest: Path) -> None:
    """Copy a file out of the (read-only) module cache."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(0o644)


def _local_sources(runner: Runner, name: str, part: EngineComponent, workdir: Path) -> None:
    """The wrapper's own main packages, written before tidy sees them."""
    local = {b: p for b, p in part.binaries.items() if p.startswith("./")}
    if part.source == "langhost":
        for package in local.values():
            _copy_writable(LANGHOST_SOURCE, workdir / package / "main.go")
    elif part.source == "kubernetes-provider":
        module = part.upstream_module  # the provider's module, whose cmd/<binary> is copied
        for binary, package in local.items():
            src = Path(runner.download(module, part.modules[module], workdir)["Dir"]) / "cmd" / binary
            for file in sorted(src.iterdir()):
                if file.is_file():
                    _copy_writable(file, workdir / package / file.name)


def _generate(runner: Runner, part: EngineComponent, workdir: Path) -> None:
    """Upstream's generate step: cmd/pulumi-resource-kubernetes's `go generate` writes the schema
    (schema.json, generated upstream by pulumi-gen-kubernetes from the Kubernetes OpenAPI spec, with
    the release's version set) and the terraform mapping as the *-embed.json files main.go embeds."""
    if part.source == "kubernetes-provider":
        for package in (p for p in part.binaries.values() if p.startswith("./")):
            runner.run(["generate", package], workdir, f"go generate {package}", env={"VERSION": part.version})


def _script_source(runner: Runner, part: EngineComponent, origin: str, workdir: Path) -> bytes:
    module, _, path = origin.partition(":")
    if module == "generated":
        return GENERATED_SCRIPTS[path].encode()
    if module not in part.modules:
        raise BuildError(f"script {origin}: {module} is not one of the part's modules", runner.log)
    file = Path(runner.download(module, part.modules[module], workdir)["Dir"]) / path
    if not file.is_file():
        raise BuildError(f"script {origin}: no such file in {module}@{part.modules[module]}", runner.log)
    return file.read_bytes()


def build_part(versions: Versions, tool: Toolchain, name: str, part: EngineComponent, key: str, cache: Path, say: Say,
               timeout: int) -> stamps.Stamp:
    """Build one part of the engine into the engine root; its stamp (written to the cache)."""
    job = f"{stamp_name(name)}-{part.version}"
    workdir = cache / "work" / job
    runner = Runner(tool, versions.arch, cache / "logs" / f"{job}.log", timeout)
    workdir.mkdir(parents=True, exist_ok=True)
    _local_sources(runner, name, part, workdir)
    runner.prepare(workdir, wrapper_text(runner, name, part, workdir))
    _generate(runner, part, workdir)
    root = engine_root(cache)
    rel = part_dir(name, part)
    dest = root / rel
    records, seconds = [], {}
    for binary, package in sorted(part.binaries.items()):
        out = workdir / "bin" / binary
        took = runner.build(workdir, package, out, versions.go_flags, ldflags(versions, part))
        seconds[binary] = round(took, 1)
        say(f"  {job}: {binary} built in {took:.1f} s")
        layout.install_file(out, dest / binary)
        records.append(stamps.FileRecord(f"{rel}/{binary}", layout.sha256_file(dest / binary), (dest / binary).stat().st_size,
                                         binary, package))
    for script, origin in sorted(part.scripts.items()):
        layout.atomic_write(dest / script, _script_source(runner, part, origin, workdir), 0o755)
        records.append(stamps.FileRecord(f"{rel}/{script}", layout.sha256_file(dest / script), (dest / script).stat().st_size,
                                         script, origin))
    layout.write_sums(dest, {r.binary: r.sha256 for r in records})
    stamp = stamps.Stamp(stamp_name(name), part.version, key, str(root.resolve()), tool.version, dict(part.modules), records, seconds)
    stamps.write(cache, stamp)
    return stamp


def _engine(versions: Versions, cache: Path) -> Engine:
    root = engine_root(cache)
    dirs = {name: root / part_dir(name, part) for name, part in versions.pulumi.items()}
    cli = next(n for n, p in versions.pulumi.items() if "pulumi" in p.binaries)
    plugins = tuple(Plugin(p.plugin.kind, p.plugin.name, p.version, dirs[n] / next(iter(p.binaries)))
                    for n, p in versions.pulumi.items() if p.plugin is not None)
    return Engine(root, dirs[cli] / "pulumi", (dirs[cli],), plugins, {n: p.version for n, p in versions.pulumi.items()})


def find(cache: Path | None = None, versions: Versions | None = None) -> Engine | None:
    """The engine versions.yaml names, when every part of it is built in the cache and its files are
    intact (no Go needed: the stamps' own keys are trusted); else None."""
    versions = versions or load()
    cache = cache or cache_root()
    if not versions.pulumi:
        return None
    root = engine_root(cache)
    for name, part in versions.pulumi.items():
        stamp = stamps.read(cache, stamp_name(name), part.version)
        if stamp is None or stamps.stale_reason(stamp, stamp.key, root) is not None:
            return None
    return _engine(versions, cache)


def ensure(cache: Path | None = None, say: Say = lambda _msg: None, force: bool = False, timeout: int = DEFAULT_TIMEOUT,
           versions: Versions | None = None, build: bool = True) -> Result:
    """Build every part of the engine that is not built with the current inputs (none, on a second
    call), under the cache's lock. With ``build=False``, raise EngineMissing instead of building."""
    versions = versions or load()
    cache = (cache or cache_root()).absolute()
    if not versions.pulumi:
        raise EngineMissing("versions.yaml has no `pulumi:` section")
    result = Result()
    start = time.monotonic()
    tool = toolchain(versions.arch)
    root = engine_root(cache)
    with locked(cache):
        for name, part in versions.pulumi.items():
            job = f"{stamp_name(name)}-{part.version}"
            key = stamps.build_key(stamp_name(name), part.version, tool.version, tool.goflags, key_inputs(versions, name, part))
            stamp = stamps.read(cache, stamp_name(name), part.version)
            reason = "--force" if force else stamps.stale_reason(stamp, key, root)
            if reason is None:
                n = len(stamp.files) if stamp else 0
                say(f"{job}: cached, nothing to build ({n} file{'s' if n != 1 else ''} verified)")
                result.cached.append(job)
                continue
            if not build:
                raise EngineMissing(f"{job}: {reason} (run `idcpilot bundle pulumi`)")
            say(f"{job}: building ({reason}) with {tool.version}")
            t0 = time.monotonic()
            stamp = build_part(versions, tool, name, part, key, cache, say, timeout)
            took = time.monotonic() - t0
            result.seconds[job] = round(took, 1)
            result.seconds.update({f"{job}/{b}": s for b, s in stamp.seconds.items()})
            result.built.append(job)
            say(f"{job}: built in {took:.1f} s")
    result.engine = _engine(versions, cache)
    result.total = round(time.monotonic() - start, 1)
    return result


def environment(engine: Engine, home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment to run the engine's ``pulumi`` with, state and plugins in ``home``."""
    env = dict(os.environ if base is None else base)
    env.update(ENGINE_ENV)
    env["PULUMI_HOME"] = str(home)
    env["PATH"] = os.pathsep.join([*(str(p) for p in engine.path), env.get("PATH") or os.defpath])
    return env


def installed(engine: Engine, home: Path) -> list[Plugin]:
    """The engine's plugins that ``home`` holds byte for byte."""
    have = []
    for plugin in engine.plugins:
        file = home / "plugins" / plugin.dir_name / plugin.file.name
        if file.is_file() and file.stat().st_size == plugin.file.stat().st_size and \
                layout.sha256_file(file) == layout.sha256_file(plugin.file):
            have.append(plugin)
    return have


def prepare_home(engine: Engine, home: Path, base: Mapping[str, str] | None = None, timeout: int = 600) -> dict[str, str]:
    """Install the engine's plugins into the PULUMI_HOME ``home`` (those it does not hold already)
    with ``pulumi plugin install <kind> <name> v<version> --file <binary>``; the environment."""
    home.mkdir(parents=True, exist_ok=True)
    env = environment(engine, home, base)
    have = installed(engine, home)
    for plugin in engine.plugins:
        if plugin in have:
            continue
        argv = [str(engine.pulumi), "plugin", "install", plugin.kind, plugin.name, f"v{plugin.version}", "--file", str(plugin.file)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise EngineMissing(f"`{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return env


__all__ = ["Engine", "EngineMissing", "Plugin", "Result", "engine_root", "ensure", "environment", "find", "prepare_home"]
