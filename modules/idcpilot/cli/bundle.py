"""``idcpilot bundle``: build, list and show the offline bundle (Kubernetes, etcd, crictl, kwok
built from their Go modules, in kubespray's files_repo layout, with SHA256SUMS and a manifest).

``bundle build`` without ENV builds every release the bundle supports (versions.yaml); with ENV,
the releases the estate's clusters name (a cluster naming a release the bundle does not provide
is bad input: exit 2, with its file, line and field). Progress goes to stderr, the summary to
stdout. A go build failure is exit 1 with one line naming the command and the full build log.

``bundle pulumi`` builds the Pulumi engine the stacks run with (versions.yaml ``pulumi:``: the CLI,
the Python language host, the provider plugins) into the bundle cache, cached the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

from idcpilot.cli.common import EXIT_FAIL, EXIT_INPUT, Format, FormatOpt, fail_input, print_json, user_errors
from idcpilot.errors import UserInputError, excerpt

app = typer.Typer(help="Offline bundle: Kubernetes, etcd, crictl and kwok built from their Go modules, with SHA256SUMS and a manifest.",
                  no_args_is_help=True)

OutOpt = typer.Option(None, "--out", "-o", help="bundle root (default $IDCPILOT_BUNDLE_DIR or /var/cache/idcpilot/bundle/files)", show_default=False)


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _releases(env: Optional[Path], wanted: list[str]) -> list[Any]:
    """The releases to build: the estate's clusters', the --kubernetes-version ones, or all."""
    from idcpilot.bundle import select, versions

    data = versions.load()
    if env is not None and wanted:
        raise fail_input("--kubernetes-version: give ENV or --kubernetes-version, not both")
    if wanted:
        unknown = [v for v in wanted if data.release(v) is None]
        if unknown:
            raise fail_input(f"--kubernetes-version: Kubernetes {', '.join(excerpt(v) for v in unknown)} is not in the "
                             f"offline bundle (it provides {', '.join(data.supported())})")
        return [r for r in data.kubernetes if r.version in {v.lstrip("v") for v in wanted}]
    if env is None:
        return list(data.kubernetes)
    from idcpilot import catalogue

    cat = catalogue.load(env)
    problems = select.problems(cat)
    if problems:
        raise UserInputError(problems)
    return select.releases(select.clusters(cat))


@app.command()
def build(
    env: Optional[Path] = typer.Argument(None, metavar="[ENV]", show_default=False,
                                         help="inventories/<env> (or its estate.yaml): the releases its clusters name; default every supported release"),
    kubernetes_version: Optional[list[str]] = typer.Option(None, "--kubernetes-version", "-k", help="build this supported release (repeatable)"),
    out: Optional[Path] = OutOpt,
    cache: Optional[Path] = typer.Option(None, "--cache", help="wrapper modules, logs, stamps (default $IDCPILOT_BUNDLE_CACHE or /var/cache/idcpilot/bundle)", show_default=False),
    only: Optional[list[str]] = typer.Option(None, "--only", help="build only this component (kubernetes, etcd, cri-tools, kwok; repeatable)"),
    force: bool = typer.Option(False, "--force", help="build every component again, even when its stamp is current"),
    timeout: int = typer.Option(3 * 3600, "--timeout", min=60, max=24 * 3600, help="bound on each go command, seconds"),
    fmt: Format = FormatOpt,
) -> None:
    """Build the offline bundle (cached: a second build with the same inputs builds nothing)."""
    from idcpilot.bundle import build as bundle_build, cache_root, checksums, files_root, versions
    from idcpilot.bundle.gobuild import BuildError
    from idcpilot.paths import repo_root

    with user_errors():
        releases = _releases(env, kubernetes_version or [])
        pins = checksums.load()
    unknown = sorted(set(only or []) - set(versions.load().components))
    if unknown:
        raise fail_input(f"--only: no component {', '.join(excerpt(u) for u in unknown)} (components: {', '.join(versions.load().components)})")
    root = (out or files_root()).absolute()
    cache_dir = (cache or cache_root()).absolute()
    if not releases:
        _say("the estate has no clusters: no Kubernetes release to bundle")
    try:
        result = bundle_build.build(versions.load(), releases, root, cache_dir, repo_root(), _say, force, timeout,
                                    frozenset(only or []), pins)
    except BuildError as exc:
        _say(f"idcpilot bundle: {exc}")
        raise typer.Exit(EXIT_FAIL) from None
    except PermissionError as exc:
        _say(f"idcpilot bundle: cannot write {exc.filename}: permission denied (run as root, or choose --out and --cache)")
        raise typer.Exit(EXIT_INPUT) from None
    summary = {"root": str(root), "releases": [r.version for r in releases], "built": result.built, "cached": result.cached,
               "seconds": result.seconds, "totalSeconds": result.total, "manifestChanged": result.manifest_changed,
               "files": len(result.manifest.get("files", [])), "notBuilt": result.not_built, "differFromPins": result.unpinned}
    if fmt is Format.json:
        print_json(summary)
        if result.unpinned:
            _refuse_unpinned(result.unpinned)
        return
    if not result.built:
        typer.echo(f"bundle up to date: nothing built ({len(result.cached)} components cached, {summary['files']} files verified) "
                   f"in {result.total:.1f} s; {root}")
    else:
        typer.echo(f"built {', '.join(result.built)}" + (f"; cached {', '.join(result.cached)}" if result.cached else "")
                   + f" in {result.total:.1f} s total; {summary['files']} files in {root}")
    typer.echo(f"manifest: {root / 'manifest.json'}{' (updated)' if result.manifest_changed else ' (unchanged)'}")
    if result.not_built:
        typer.echo("incomplete: not built " + ", ".join(f"{n['component']} {n['version']}" for n in result.not_built))
    if result.unpinned:
        _refuse_unpinned(result.unpinned)


def _refuse_unpinned(lines: list[str]) -> None:
    """A build whose files differ from checksums.yaml fails: hosts would refuse these files, and a
    difference is either a change to review (a new version, another Go) or a tampered build."""
    from idcpilot.bundle import checksums

    for line in lines:
        _say(f"idcpilot bundle: {line}")
    _say(f"idcpilot bundle: {len(lines)} file(s) differ from the committed checksums ({checksums.CHECKSUMS_FILE.name} "
         f"beside versions.yaml); hosts refuse them. If the change is expected (a new version in versions.yaml, another "
         f"Go toolchain), review it and re-pin with `idcpilot bundle lock`; otherwise do not serve this bundle.")
    raise typer.Exit(EXIT_FAIL)


@app.command()
def lock(
    out: Optional[Path] = OutOpt,
    checksums_file: Optional[Path] = typer.Option(None, "--checksums", help="the checksums file to write (default: checksums.yaml beside versions.yaml)", show_default=False),
    check: bool = typer.Option(False, "--check", help="write nothing; exit 3 when the pins would change"),
) -> None:
    """Re-pin: write the committed checksums from the built bundle (review the diff, then commit it)."""
    from idcpilot.bundle import checksums, files_root, layout, versions
    from idcpilot.cli.common import EXIT_CHANGES

    root = (out or files_root()).absolute()
    target = (checksums_file or checksums.CHECKSUMS_FILE).absolute()
    with user_errors():
        old = checksums.load(target) if target.exists() else None
    pins, problems = checksums.lock(versions.load(), root)
    if problems:
        for line in problems:
            _say(f"idcpilot bundle lock: {line}")
        _say(f"idcpilot bundle lock: nothing written; {target} is unchanged")
        raise typer.Exit(EXIT_FAIL)
    changes = checksums.diff(old, pins)
    for line in changes:
        typer.echo(line)
    if not changes:
        typer.echo(f"pins unchanged: {target}")
        return
    if check:
        raise typer.Exit(EXIT_CHANGES)
    layout.atomic_write(target, checksums.render(pins).encode(), 0o644)
    typer.echo(f"wrote {target}: review the diff above before committing it")


@app.command("list")
def list_releases(out: Optional[Path] = OutOpt, fmt: Format = FormatOpt) -> None:
    """The Kubernetes releases the bundle provides, their components, and whether they are built."""
    from idcpilot.bundle import files_root, layout, versions

    data = versions.load()
    root = (out or files_root()).absolute()
    manifest = layout.read_manifest(root) or {}
    built = set(manifest.get("kubernetesReleases", [])) if manifest.get("complete") else set()
    rows = [{**r.component_versions(), "built": r.version in built} for r in data.kubernetes]
    if fmt is Format.json:
        print_json({"root": str(root), "releases": rows})
        return
    for row in rows:
        parts = ", ".join(f"{k} {v}" for k, v in row.items() if k not in ("kubernetes", "built"))
        typer.echo(f"kubernetes {row['kubernetes']}: {parts}; {'built in ' + str(root) if row['built'] else 'not (completely) built'}")


@app.command()
def show(
    out: Optional[Path] = OutOpt,
    fmt: Format = FormatOpt,
    check: bool = typer.Option(False, "--check", help="re-hash every file against the manifest; exit 1 on any difference"),
) -> None:
    """Print the bundle's manifest (files, Debian packages, images); --check verifies the files."""
    from idcpilot.bundle import files_root, layout

    root = (out or files_root()).absolute()
    data = layout.read_manifest(root)
    if data is None:
        _say(f"no bundle manifest at {root / layout.MANIFEST}: run `idcpilot bundle build`")
        raise typer.Exit(EXIT_FAIL)
    bad = []
    if check:
        for f in data["files"]:
            file = (root / str(f["path"])).resolve()
            inside = file.is_relative_to(root.resolve())  # a manifest edited to point outside the bundle is a failure
            if not inside or not file.is_file() or layout.sha256_file(file) != f["sha256"]:
                bad.append(str(f["path"]))
    if fmt is Format.json:
        print_json({**data, **({"check": {"failed": bad}} if check else {})})
    else:
        typer.echo(f"bundle {root}: Kubernetes {', '.join(data['kubernetesReleases']) or '(none)'}")
        for f in data["files"]:
            typer.echo(f"  {f['sha256']}  {f['path']}  ({f['size']} bytes, {f['source']}, {f['goVersion']})")
        for p in data["debianPackages"]:
            typer.echo(f"  deb {p['name']} {p.get('version') or '-'} sha256 {p.get('sha256') or p.get('note')}")
        for i in data["images"]:
            typer.echo(f"  image {i['reference']}: {i.get('digest') or i.get('note')}")
        if check:
            typer.echo(f"check: {len(data['files']) - len(bad)} of {len(data['files'])} files match the manifest"
                       + (f"; differ or missing: {', '.join(bad)}" if bad else ""))
    if bad:
        raise typer.Exit(EXIT_FAIL)


@app.command()
def pulumi(
    cache: Optional[Path] = typer.Option(None, "--cache", help="bundle cache: the engine goes to <cache>/pulumi (default $IDCPILOT_BUNDLE_CACHE or /var/cache/idcpilot/bundle)", show_default=False),
    force: bool = typer.Option(False, "--force", help="build every part again, even when its stamp is current"),
    timeout: int = typer.Option(3 * 3600, "--timeout", min=60, max=24 * 3600, help="bound on each go command, seconds"),
    fmt: Format = FormatOpt,
) -> None:
    """Build the Pulumi engine (CLI, Python language host, provider plugins) from Go modules into the bundle cache."""
    from idcpilot.bundle import cache_root, pulumi_engine
    from idcpilot.bundle.gobuild import BuildError

    cache_dir = (cache or cache_root()).absolute()
    try:
        result = pulumi_engine.ensure(cache_dir, _say, force, timeout)
    except BuildError as exc:
        _say(f"idcpilot bundle: {exc}")
        raise typer.Exit(EXIT_FAIL) from None
    except PermissionError as exc:
        _say(f"idcpilot bundle: cannot write {exc.filename}: permission denied (run as root, or choose --cache)")
        raise typer.Exit(EXIT_INPUT) from None
    engine = result.engine
    assert engine is not None
    summary = {"root": str(engine.root), "pulumi": str(engine.pulumi), "path": [str(p) for p in engine.path],
               "plugins": [{"kind": p.kind, "name": p.name, "version": p.version, "file": str(p.file)} for p in engine.plugins],
               "versions": engine.versions, "built": result.built, "cached": result.cached, "seconds": result.seconds,
               "totalSeconds": result.total}
    if fmt is Format.json:
        print_json(summary)
        return
    if result.built:
        typer.echo(f"built {', '.join(result.built)}" + (f"; cached {', '.join(result.cached)}" if result.cached else "")
                   + f" in {result.total:.1f} s total")
    else:
        typer.echo(f"pulumi engine up to date: nothing built ({len(result.cached)} parts cached) in {result.total:.1f} s")
    typer.echo(f"pulumi: {engine.pulumi}")
    for p in engine.plugins:
        typer.echo(f"plugin: {p.kind} {p.name} v{p.version}: {p.file}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bundle")
