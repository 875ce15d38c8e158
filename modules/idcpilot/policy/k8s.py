"""Kubernetes manifests for the K8S-* rules: walking them, loading them with positions,
and validating them against the Kubernetes OpenAPI schema of the cluster's version.

Manifests come as ``dict[cluster, list[manifest]]`` (``idcpilot.plan.plan_estate(cat).manifests``)
or from YAML files (``idcpilot check --manifests DIR``: ``DIR/<cluster>/**/*.yaml``; files directly
in DIR belong to the cluster given by ``--cluster``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from idcpilot.catalogue.load import display_name
from idcpilot.policy import fastyaml
from idcpilot.policy.k8sschema import validator
from idcpilot.errors import Problem, UserInputError
from idcpilot.yamlsource import PathKey, SourceMap, load_yaml_text

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "ReplicationController"}
#: A value Pulumi marks secret (its serialised form); such values are not plaintext.
PULUMI_SECRET_SIG = "4dabf18193072939515e22adb298388d"
#: How ``idcpilot plan`` renders a Pulumi secret in planned manifests (idcpilot.plan.recorder.REDACTED).
REDACTED = "[secret]"


@dataclass
class Manifest:
    cluster: str
    body: dict[str, Any]
    file: str | None = None
    smap: SourceMap | None = None
    #: reads the positions only when a finding needs them (files are parsed fast without them)
    loader: Callable[[], SourceMap] | None = None

    @property
    def source(self) -> SourceMap | None:
        if self.smap is None and self.loader is not None:
            self.smap = self.loader()
            self.loader = None
        return self.smap

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", "?"))

    @property
    def namespace(self) -> str | None:
        if self.kind == "Namespace":
            return self.name
        return (self.body.get("metadata") or {}).get("namespace") or None

    @property
    def labels(self) -> dict[str, Any]:
        return (self.body.get("metadata") or {}).get("labels") or {}

    @property
    def target(self) -> str:
        ns = self.namespace if self.kind != "Namespace" else None
        return "/".join(p for p in ("k8s", self.cluster, ns, self.kind, self.name) if p)


@dataclass
class ManifestSet:
    """All planned manifests, by cluster, with where each was written when known."""

    items: list[Manifest] = field(default_factory=list)

    @classmethod
    def from_plan(cls, manifests: dict[str, list[dict[str, Any]]]) -> "ManifestSet":
        out = cls()
        for cluster, docs in manifests.items():
            for doc in docs:
                if isinstance(doc, dict) and doc:
                    out.items.append(Manifest(cluster, doc))
        return out

    def clusters(self) -> dict[str, list[Manifest]]:
        out: dict[str, list[Manifest]] = {}
        for m in self.items:
            out.setdefault(m.cluster, []).append(m)
        return out

    def __len__(self) -> int:
        return len(self.items)


def pod_spec(body: dict[str, Any]) -> tuple[dict[str, Any], PathKey] | None:
    kind = body.get("kind")
    spec = body.get("spec") or {}
    if kind == "Pod":
        return spec, ("spec",)
    if kind == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec") or {}, (
            "spec", "jobTemplate", "spec", "template", "spec")
    if kind in WORKLOAD_KINDS:
        return (spec.get("template") or {}).get("spec") or {}, ("spec", "template", "spec")
    return None


def containers(body: dict[str, Any]) -> Iterator[tuple[dict[str, Any], PathKey]]:
    found = pod_spec(body)
    if found is None:
        return
    spec, path = found
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(key) or []):
            if isinstance(c, dict):
                yield c, path + (key, i)


def is_plain_secret(value: Any) -> bool:
    """A literal string (not a Pulumi secret) in a place that should hold a secret."""
    if value is None or value == "" or value == REDACTED:
        return False
    if isinstance(value, dict) and PULUMI_SECRET_SIG in value:
        return False
    if type(value).__name__ == "Secret" or getattr(value, "is_pulumi_secret", False):  # CrossGuard pack
        return False
    return isinstance(value, (str, int, float))


# --------------------------------------------------------------------------- loading files

_DOC_SPLIT = re.compile(r"^---(?:[ \t].*)?$", re.M)


def _split_documents(text: str) -> Iterator[tuple[int, str]]:
    """(line offset, text) of every YAML document in a multi-document stream."""
    lines = text.split("\n")
    start = 0
    for i, line in enumerate(lines):
        if _DOC_SPLIT.match(line):
            yield start, "\n".join(lines[start:i])
            start = i + 1
    yield start, "\n".join(lines[start:])


def load_documents(path: Path, fast: bool = False) -> list[tuple[dict[str, Any], SourceMap]]:
    """Every manifest of a file with where each field was written; bad input raises with file:line.

    ``fast``: read the positions from libyaml's events (``fastyaml.load_positioned``) where that
    gives what the position-keeping loader gives; the bodies then keep YAML's key types.
    """
    shown = display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError.single(shown, f"cannot read manifest file: {exc}") from None
    out = []
    for offset, chunk in _split_documents(text):
        if not chunk.strip():
            continue
        quick = fastyaml.load_positioned(chunk) if fast else None
        if quick is not None:
            data, smap = quick[0], SourceMap(shown, quick[1])
        else:
            data, smap = load_yaml_text(chunk, shown)
        if data is None:
            continue
        if offset:
            smap.positions = {k: (line + offset, col) for k, (line, col) in smap.positions.items()}
        if not isinstance(data, dict) or "kind" not in data or "apiVersion" not in data:
            line, col = smap.locate(())
            raise UserInputError([Problem(shown, line, col, "", "not a Kubernetes manifest (needs apiVersion and kind)")])
        if data.get("kind") == "List":
            for i, item in enumerate(data.get("items") or []):
                sub = SourceMap(shown, {k[2:]: v for k, v in smap.positions.items() if k[:2] == ("items", i)})
                out.append((item, sub))
        else:
            out.append((data, smap))
    return out


@lru_cache(maxsize=256)
def _sources(path: Path) -> tuple[SourceMap, ...]:
    return tuple(smap for _, smap in load_documents(path, fast=True))


def _fast_documents(path: Path) -> list[dict[str, Any]] | None:
    """Documents parsed by libyaml without positions; None if anything looks off (then parse slowly)."""
    try:
        docs = [d for d in fastyaml.load_all(path.read_bytes()) if d is not None]
    except Exception:  # malformed (YAMLError, or ValueError for a date like 2026-13-45), unreadable: the slow path says where
        return None
    out: list[dict[str, Any]] = []
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            return None
        if d.get("kind") == "List":
            out += list(d.get("items") or [])
        else:
            out.append(d)
    return out


def load_manifest_dir(directory: Path, default_cluster: str | None = None) -> ManifestSet:
    if not directory.is_dir():
        raise UserInputError.single(display_name(directory), "no such directory of manifests")
    out = ManifestSet()
    files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    problems: list[Problem] = []
    base = display_name(directory)
    for f in files:
        rel = f.relative_to(directory)
        cluster = rel.parts[0] if len(rel.parts) > 1 else default_cluster
        shown = str(Path(base) / rel)
        if cluster is None:
            problems.append(Problem(shown, 1, 1, "", "manifest outside a cluster directory; use DIR/<cluster>/ or --cluster NAME"))
            continue
        docs = _fast_documents(f)
        try:
            if docs is None:  # malformed: the position-keeping parser names file, line and column
                for body, smap in load_documents(f):
                    out.items.append(Manifest(cluster, body, smap.file, smap))
                continue
        except UserInputError as exc:
            problems += exc.problems
            continue
        for i, body in enumerate(docs):
            out.items.append(Manifest(cluster, body, shown, loader=lambda f=f, i=i: _sources(f)[i]))
    if problems:
        raise UserInputError(problems)
    return out


# --------------------------------------------------------------------------- schema validation


def schema_problems(manifests: ManifestSet, versions: dict[str, str]) -> tuple[list[Problem], list[str]]:
    """Validate every manifest against its cluster's Kubernetes schema (strict: unknown fields fail).

    Returns problems (file:line for manifests read from files) and notes for kinds with no schema
    (custom resources).
    """
    problems: list[Problem] = []
    unknown: set[str] = set()
    for m in manifests.items:
        version = versions.get(m.cluster) or "1.30.0"
        check = validator(version, m.kind, str(m.body.get("apiVersion", "")))
        if check is None:
            unknown.add(f"{m.body.get('apiVersion')}/{m.kind}")
            continue
        for path, text in check(m.body, ()):
            field_path = ".".join(str(p) for p in path)
            message = f"{m.target}: schema: {text}"
            if m.source is not None:
                line, col = m.source.locate(path)
                problems.append(Problem(m.source.file, line, col, field_path, message))
            else:
                problems.append(Problem(f"<planned {m.cluster}>", 1, 1, field_path, message))
    notes = [f"no Kubernetes schema for {k}; not schema-checked" for k in sorted(unknown)]
    return problems, notes
