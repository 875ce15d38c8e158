"""Reading ``idcpilot check --manifests DIR``: every document of every YAML file, or exit 2.

Layout: ``DIR/<cluster>/**/*.yaml|yml|json``; files directly in DIR belong to the cluster named
by ``--cluster``. Given the estate's clusters, a directory for a cluster the estate does not have,
an unknown ``--cluster`` or a directory with no manifest at all is an input error: a gate that
read nothing must not pass.

Files are parsed fast, without positions (``fastyaml.load_all``); only a file that a finding
points into is read again for its line and column, from the same parser's document boundaries.
A file the fast parser refuses is read by the position-keeping loader, which names file, line
and column. Every document is kept or refused: none is skipped unread.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Collection, Iterator

import yaml

from idcpilot.errors import Problem, UserInputError, excerpt
from idcpilot.policy import fastyaml
from idcpilot.policy.k8s.manifest import Manifest, ManifestSet
from idcpilot.yamlsource import SourceMap, load_yaml_text

SUFFIXES = (".yaml", ".yml", ".json")
NOT_A_MANIFEST = "not a Kubernetes manifest (needs apiVersion and kind, both strings)"

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def is_manifest(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("kind"), str) and bool(doc["kind"])
            and isinstance(doc.get("apiVersion"), str) and bool(doc["apiVersion"]))


def _display(path: Path) -> str:
    from idcpilot.catalogue.load import display_name

    return display_name(path)


# --------------------------------------------------------------------------- one file, with positions


def _documents(text: str, shown: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of every document of a YAML stream, cut where libyaml's parser starts
    and ends each one (a ``--- {...}`` line is a document, whatever it holds)."""
    lines = text.splitlines(keepends=True)
    start: Any = None
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                start = event.start_mark
            elif isinstance(event, yaml.DocumentEndEvent) and start is not None:
                end = event.end_mark
                yield start.line, "".join(lines[start.line:end.line + (1 if end.column else 0)])
                start = None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise UserInputError([Problem(shown, line, col, "", f"malformed YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise UserInputError.single(shown, f"malformed YAML: {exc}") from None


def _shift(problems: list[Problem], lines: int) -> list[Problem]:
    return [Problem(p.file, p.line + lines, p.column, p.field, p.message) for p in problems]


def load_documents(path: Path, fast: bool = False) -> list[tuple[dict[str, Any], SourceMap]]:
    """Every manifest of a file (a List's items one by one) with where each field was written;
    bad input raises UserInputError with file:line:column.

    ``fast``: read the positions from libyaml's events (``fastyaml.load_positioned``) where that
    gives what the position-keeping loader gives; the bodies then keep YAML's key types.
    """
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError.single(shown, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UserInputError.single(shown, f"cannot read manifest file: {exc.strerror or exc}") from None
    out = []
    whole = fastyaml.load_positioned(text) if fast else None  # one plain document: no need to cut
    for offset, chunk in [(0, text)] if whole is not None else _documents(text, shown):
        quick = whole if whole is not None else fastyaml.load_positioned(chunk) if fast else None
        if quick is not None:
            data, smap = quick[0], SourceMap(shown, quick[1])
        else:
            try:
                data, smap = load_yaml_text(chunk, shown)
            except UserInputError as exc:
                raise UserInputError(_shift(exc.problems, offset)) from None
        if data is None:  # an empty document (only comments)
            continue
        if offset:
            smap.positions = {k: (line + offset, col) for k, (line, col) in smap.positions.items()}
        if not is_manifest(data):
            line, col = smap.locate(())
            raise UserInputError([Problem(shown, line, col, "", NOT_A_MANIFEST)])
        if data["kind"] == "List":
            items = data.get("items")
            if not isinstance(items, list):
                raise UserInputError([smap.problem(("items",), "a List's items must be a list of manifests")])
            for i, item in enumerate(items):
                if not is_manifest(item) or item["kind"] == "List":
                    line, col = smap.locate(("items", i))
                    why = NOT_A_MANIFEST if not is_manifest(item) else "a List inside a List is not read; list its items"
                    raise UserInputError([Problem(shown, line, col, f"items[{i}]", why)])
                sub = SourceMap(shown, {k[2:]: v for k, v in smap.positions.items() if k[:2] == ("items", i)})
                out.append((item, sub))
        else:
            out.append((data, smap))
    return out


@lru_cache(maxsize=256)
def _sources(path: Path) -> tuple[SourceMap, ...]:
    return tuple(smap for _, smap in load_documents(path, fast=True))


def _source(path: Path, index: int) -> SourceMap:
    found = _sources(path)
    if index >= len(found):  # the file changed while it was being checked
        raise UserInputError.single(_display(path), "the file changed while it was being read; run the check again")
    return found[index]


def _fast_documents(path: Path) -> list[dict[str, Any]] | None:
    """The file's manifests parsed without positions; None if anything looks off (then the
    position-keeping loader reads it and says where)."""
    try:
        docs = fastyaml.load_all(path.read_bytes())
    except Exception:  # malformed (YAMLError, or ValueError for a date like 2026-13-45), unreadable
        return None
    out: list[dict[str, Any]] = []
    for d in docs:
        if d is None:
            continue
        if not is_manifest(d):
            return None
        if d["kind"] == "List":
            items = d.get("items")
            if not isinstance(items, list) or not all(is_manifest(i) and i["kind"] != "List" for i in items):
                return None
            out += items
        else:
            out.append(d)
    return out


# --------------------------------------------------------------------------- a directory


def _files(directory: Path, default_cluster: str | None) -> list[tuple[Path, Path, str | None]]:
    """(file, path relative to DIR, cluster) of every YAML or JSON file below DIR, sorted."""
    found = sorted(p for p in directory.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    out = []
    for f in found:
        rel = f.relative_to(directory)
        out.append((f, rel, rel.parts[0] if len(rel.parts) > 1 else default_cluster))
    return out


def load_manifest_dir(directory: Path, default_cluster: str | None = None,
                      clusters: Collection[str] | None = None) -> ManifestSet:
    """Every manifest below DIR (see the module's docstring); UserInputError names every problem.

    ``clusters``: the estate's clusters; manifests for any other cluster, an unknown
    ``default_cluster`` or no manifest at all are then problems too.
    """
    shown_dir = _display(directory)
    if not directory.is_dir():
        raise UserInputError.single(shown_dir, "no such directory of manifests")
    known = ", ".join(sorted(clusters)) if clusters is not None else ""
    problems: list[Problem] = []
    if clusters is not None and default_cluster is not None and default_cluster not in clusters:
        problems.append(Problem(shown_dir, 1, 1, "--cluster",
                                f"the estate has no cluster {excerpt(default_cluster)} (clusters: {known or 'none'})"))
    out = ManifestSet()
    foreign: set[str] = set()
    for f, rel, cluster in _files(directory, default_cluster):
        shown = str(Path(shown_dir) / rel)
        if cluster is None:
            problems.append(Problem(shown, 1, 1, "", "manifest outside a cluster directory; use DIR/<cluster>/ or --cluster NAME"))
            continue
        if clusters is not None and cluster not in clusters:
            if cluster != default_cluster and cluster not in foreign:
                foreign.add(cluster)
                problems.append(Problem(str(Path(shown_dir) / rel.parts[0]), 1, 1, "",
                                        f"manifests for cluster {excerpt(cluster)}, which the estate does not have "
                                        f"(clusters: {known or 'none'})"))
            continue
        docs = _fast_documents(f)
        if docs is None:  # the position-keeping loader names file, line and column
            try:
                for body, smap in load_documents(f):
                    out.items.append(Manifest(cluster, body, smap.file, smap))
            except UserInputError as exc:
                problems += exc.problems
            continue
        for i, body in enumerate(docs):
            out.items.append(Manifest(cluster, body, shown, loader=lambda f=f, i=i: _source(f, i)))
    if not out.items and not problems:
        problems.append(Problem(shown_dir, 1, 1, "", f"no Kubernetes manifests here (looked for DIR/<cluster>/**/*{'|'.join(SUFFIXES)})"))
    if problems:
        raise UserInputError(problems)
    return out
