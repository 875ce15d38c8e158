"""Building the offline bundle: each component of each release, cached, then the manifest.

A component (kubernetes, etcd, cri-tools, kwok at one version) is built through its wrapper
module in the cache's work directory (never in the repository), its binaries copied into the
bundle root in files_repo layout, SHA256SUMS written beside them and a stamp kept in the cache.
A second build with the same inputs finds the stamp, re-hashes the files and builds nothing.
"""

from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from idcpilot.bundle import checksums, layout, packages, stamps, wrapper
from idcpilot.bundle.gobuild import BuildError, Runner, Toolchain, toolchain
from idcpilot.bundle.versions import Component, Release, Versions, parse_release

Say = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    """One component at one version, as built into one bundle root."""

    component: str
    version: str
    recipe: Component

    @property
    def name(self) -> str:
        return f"{self.component}-{self.version}"


def jobs(versions: Versions, releases: list[Release]) -> list[Job]:
    """The components the releases need, each (component, version) once, in a stable order."""
    seen: dict[tuple[str, str], Job] = {}
    for release in releases:
        for component, version in release.component_versions().items():
            seen.setdefault((component, version), Job(component, version, versions.components[component]))
    return list(seen.values())


def ldflags(versions: Versions, job: Job) -> str:
    """The -ldflags value: versions.yaml's linker flags and the component's -X settings."""
    major, minor, _ = parse_release(job.version) or (0, 0, 0)
    values = {"version": job.version, "major": major, "minor": minor, "buildDate": versions.build_date}
    return " ".join([*versions.go_ldflags, *(f"-X {x.format(**values)}" for x in job.recipe.ldflags)])


def argv(versions: Versions, job: Job) -> list[list[str]]:
    """Every go build command line of the job (the cache key hashes them)."""
    flags = ldflags(versions, job)
    return [["build", *versions.go_flags, "-ldflags", flags, "-o", name, pkg] for name, pkg in sorted(job.recipe.binaries.items())]


@dataclass
class Result:
    built: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # job or job/binary -> seconds
    total: float = 0.0
    manifest_changed: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)
    not_built: list[dict[str, str]] = field(default_factory=list)
    #: files that differ from the committed checksums (checksums.yaml), one line each
    unpinned: list[str] = field(default_factory=list)


@contextmanager
def locked(cache: Path) -> Iterator[None]:
    """One bundle build at a time per cache (a second one waits for the first)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _wrapper_text(runner: Runner, job: Job, workdir: Path) -> str:
    requires = {m: f"v{job.version}" for m in job.recipe.modules}
    upstream = None
    pin = None
    if job.recipe.staging_pins:
        upstream = wrapper.read_upstream(runner.upstream_gomod(job.recipe.modules[0], f"v{job.version}", workdir))
        pin = wrapper.staging_version(job.version)
    return wrapper.wrapper_gomod(f"idcpilot.invalid/bundle/{job.component}", requires,
                                 list(job.recipe.binaries.values()), upstream, pin)


def build_job(versions: Versions, tool: Toolchain, job: Job, key: str, root: Path, cache: Path, say: Say,
              timeout: int) -> stamps.Stamp:
    """Build one component into the root; its stamp (written to the cache)."""
    workdir = cache / "work" / job.name
    log = cache / "logs" / f"{job.name}.log"
    runner = Runner(tool, versions.arch, log, timeout)
    workdir.mkdir(parents=True, exist_ok=True)
    runner.prepare(workdir, _wrapper_text(runner, job, workdir))
    flags = ldflags(versions, job)
    rel = layout.component_dir(job.recipe.layout, job.version, versions.arch)
    dest_dir = root / rel
    records, seconds = [], {}
    for name, package in sorted(job.recipe.binaries.items()):
        out = workdir / "bin" / name
        took = runner.build(workdir, package, out, versions.go_flags, flags)
        seconds[name] = round(took, 1)
        say(f"  {job.name}: {name} built in {took:.1f} s")
        layout.install_file(out, dest_dir / name)
        digest = layout.sha256_file(dest_dir / name)
        records.append(stamps.FileRecord(f"{rel}/{name}", digest, (dest_dir / name).stat().st_size, name, package))
    layout.write_sums(dest_dir, {r.binary: r.sha256 for r in records})
    stamp = stamps.Stamp(job.component, job.version, key, str(root.resolve()), tool.version,
                         {m: f"v{job.version}" for m in job.recipe.modules}, records, seconds)
    stamps.write(cache, stamp)
    return stamp


def file_entries(stamp: stamps.Stamp) -> list[dict[str, Any]]:
    return [{"path": f.path, "sha256": f.sha256, "size": f.size,
             "source": f"{f.package}@v{stamp.version}", "goVersion": stamp.go_version} for f in stamp.files]


def build(versions: Versions, releases: list[Release], root: Path, cache: Path, repo: Path, say: Say,
          force: bool = False, timeout: int = 3 * 3600, only: frozenset[str] = frozenset(),
          pins: checksums.Checksums | None = None) -> Result:
    """Build (or find cached) every component the releases need, write the manifest, and compare
    every file with the committed checksums (``pins``, default checksums.yaml): a difference is
    listed in ``Result.unpinned`` and the caller fails the build.

    With ``only`` (component names), the other components are not built: the manifest still
    lists their files when their stamp is current, else names them under ``notBuilt``."""
    result = Result()
    start = time.monotonic()
    tool = toolchain(versions.arch)
    root.mkdir(parents=True, exist_ok=True)
    with locked(cache):
        done: list[stamps.Stamp] = []
        for job in jobs(versions, releases):
            key = stamps.build_key(job.component, job.version, tool.version, tool.goflags, argv(versions, job))
            stamp = stamps.read(cache, job.component, job.version)
            reason = stamps.stale_reason(stamp, key, root)
            if only and job.component not in only:
                if reason is None and stamp is not None:
                    done.append(stamp)
                else:
                    say(f"{job.name}: not built (not asked for; {reason})")
                    result.not_built.append({"component": job.component, "version": job.version, "reason": f"not built: {reason}"})
                continue
            reason = "--force" if force else reason
            if reason is None and stamp is not None:
                n = len(stamp.files)
                say(f"{job.name}: cached, nothing to build ({n} file{'s' if n != 1 else ''} verified)")
                result.cached.append(job.name)
                done.append(stamp)
                continue
            say(f"{job.name}: building ({reason}) with {tool.version}")
            t0 = time.monotonic()
            stamp = build_job(versions, tool, job, key, root, cache, say, timeout)
            took = time.monotonic() - t0
            result.seconds[job.name] = round(took, 1)
            result.seconds.update({f"{job.name}/{b}": s for b, s in stamp.seconds.items()})
            result.built.append(job.name)
            say(f"{job.name}: built in {took:.1f} s")
            done.append(stamp)
        names = packages.package_names(versions, repo)
        debs = packages.debian_packages(names, packages.apt_show(names), versions.arch)
        data = layout.manifest([e for s in done for e in file_entries(s)], debs, packages.images(versions, repo),
                               [r.version for r in releases], versions.build_date, result.not_built)
        result.manifest = data
        result.manifest_changed = layout.write_manifest(root, data)
    built = {f.path: (f.sha256, s.go_version) for s in done for f in s.files}
    result.unpinned = checksums.compare(versions, pins or checksums.load(), built)
    result.total = round(time.monotonic() - start, 1)
    return result


__all__ = ["BuildError", "Job", "Result", "build", "jobs", "ldflags"]
