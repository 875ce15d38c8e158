"""Running the Go toolchain (the I/O edge of the bundle): module downloads, wrapper modules, builds.

Go reads its proxy, GOFLAGS and caches from its own configuration (``go env``): nothing here
names a proxy. What the bundle sets is what makes the binaries the release's: CGO_ENABLED=0
(static, runs on any host of the estate), GOOS/GOARCH, GOTOOLCHAIN=local (build with the
machine's Go, never fetch another toolchain) and the flags in versions.yaml. Every command's
output goes to the component's build log; a failure names the command and that log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: Bound on one go command (a cold Kubernetes binary takes minutes on two loaded cores).
DEFAULT_TIMEOUT = 3 * 3600


class BuildError(Exception):
    """A go command failed: ``str()`` is one line naming what failed and the full log."""

    def __init__(self, what: str, log: Path, detail: str = ""):
        self.what, self.log, self.detail = what, log, detail
        super().__init__(f"{what}{f': {detail}' if detail else ''}; full log: {log}")


@dataclass(frozen=True)
class Toolchain:
    go: Path
    version: str  # "go1.26.8"
    goflags: str  # the machine's GOFLAGS (go env), part of the cache key


def build_env(arch: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": arch, "GOTOOLCHAIN": "local"})
    return env


def toolchain(arch: str) -> Toolchain:
    """The machine's Go (raises BuildError when there is none)."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None)
    if go is None:
        raise BuildError("no Go toolchain on PATH (the bundle is built from Go modules)", Path("-"))
    done = subprocess.run([go, "env", "-json", "GOVERSION", "GOFLAGS"], capture_output=True, text=True,
                          timeout=60, env=build_env(arch))
    if done.returncode != 0:
        raise BuildError("`go env` failed", Path("-"), done.stderr.strip()[-200:])
    data = json.loads(done.stdout)
    return Toolchain(Path(go), data["GOVERSION"], data.get("GOFLAGS", ""))


class Runner:
    """Runs go commands for one component, appending their output to its build log."""

    def __init__(self, tool: Toolchain, arch: str, log: Path, timeout: int = DEFAULT_TIMEOUT):
        self.tool, self.arch, self.log, self.timeout = tool, arch, log, timeout
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")

    def run(self, args: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> str:
        """Run ``go <args>`` in ``cwd`` (``env`` added to the build environment); its stdout (stderr
        goes to the log). BuildError on failure."""
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(f"\n$ (cd {cwd}) go {' '.join(args)}\n")
            fh.flush()
            try:
                done = subprocess.run([str(self.tool.go), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=fh,
                                      text=True, timeout=self.timeout, env={**build_env(self.arch), **(env or {})})
            except subprocess.TimeoutExpired:
                raise BuildError(f"{what} timed out after {self.timeout} s", self.log) from None
            fh.write(done.stdout if len(done.stdout) < 20_000 else done.stdout[:20_000] + "\n[...]\n")
        if done.returncode != 0:
            raise BuildError(f"{what} failed (go exit {done.returncode})", self.log, self._last_error())
        return done.stdout

    def _last_error(self) -> str:
        lines = [ln for ln in self.log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip() and not ln.startswith("$ ")]
        return " ".join(lines[-1].split())[:200] if lines else ""

    def download(self, module: str, version: str, cwd: Path) -> dict[str, str]:
        """``go mod download -json module@version``: where go put it (Dir, GoMod, Zip)."""
        out = self.run(["mod", "download", "-json", f"{module}@{version}"], cwd, f"go mod download {module}@{version}")
        info = json.loads(out)
        if info.get("Error") or not info.get("GoMod"):
            raise BuildError(f"go mod download {module}@{version}", self.log, str(info.get("Error", "no go.mod"))[:200])
        return info

    def upstream_gomod(self, module: str, version: str, cwd: Path) -> str:
        """The go.mod text of module@version (downloaded into the module cache by go)."""
        return Path(self.download(module, version, cwd)["GoMod"]).read_text(encoding="utf-8")

    def prepare(self, workdir: Path, gomod: str) -> None:
        """Write the wrapper's go.mod (only when it changed: tidy's result is kept) and tidy it."""
        workdir.mkdir(parents=True, exist_ok=True)
        seed = workdir / "go.mod.seed"
        if not seed.is_file() or seed.read_text(encoding="utf-8") != gomod or not (workdir / "go.sum").is_file():
            (workdir / "go.mod").write_text(gomod, encoding="utf-8")
            (workdir / "go.sum").unlink(missing_ok=True)
            self.run(["mod", "tidy"], workdir, "go mod tidy of the wrapper module")
            seed.write_text(gomod, encoding="utf-8")

    def build(self, workdir: Path, package: str, out: Path, flags: list[str], ldflags: str) -> float:
        """go build one main package into ``out``; the seconds it took."""
        out.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        self.run(["build", *flags, "-ldflags", ldflags, "-o", str(out), package], workdir, f"go build {package}")
        return time.monotonic() - start
