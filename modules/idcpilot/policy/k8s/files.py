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
from typing import Any, Collection

from idcpilot import fastyaml
from idcpilot.errors import Problem, UserInputError, excerpt
from idcpilot.policy.k8s.envelope import envelope_problems
from idcpilot.policy.k8s.manifest import Manifest, ManifestSet
from idcpilot.yamlsource import SourceMap, load_yaml_documents, read_yaml_bytes, read_yaml_text

SUFFIXES = (".yaml", ".yml", ".json")
NOT_A_MANIFEST = "not a Kubernetes manifest (needs apiVersion and kind, both strings)"


def is_manifest(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("kind"), str) and bool(doc["kind"])
            and isinstance(doc.get("apiVersion"), str) and bool(doc["apiVersion"]) and not envelope_problems(doc))


def _display(path: Path) -> str:
    from idcpilot.catalogue.load import display_name

    return display_name(path)


# --------------------------------------------------------------------------- one file, with positions


def load_documents(path: Path, fast: bool = False) -> list[tuple[dict[str, Any], SourceMap]]:
    """Every manifest of a file (a List's items one by one) with where each field was written;
    bad input raises UserInputError with file:line:column.

    ``fast``: read the positions from libyaml's events (``fastyaml.load_positioned_all``) where that
    gives what the position-keeping loader gives; the bodies then keep YAML's key types.
    Within the loader's limits (``idcpilot.yamlsource``), every document of the stream.
    """
    shown = _display(path)
    out = []
    for data, smap in load_yaml_documents(read_yaml_text(path, shown), shown, fast=fast):
        if data is None:  # an empty document (only comments)
            continue
        if isinstance(data, dict) and envelope_problems(data):
            raise UserInputError([smap.problem(field, message) for field, message in envelope_problems(data)])
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
        docs = fastyaml.load_all(read_yaml_bytes(path))
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
    found = sorted(p for p in directory.rglob("*") if p.suffix in SUFFIXES and not p.is_dir())  # the loader refuses FIFOs, loops
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
