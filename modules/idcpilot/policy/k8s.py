"""Kubernetes manifests for the K8S-* rules: walking them, loading them with positions,
and validating them against the Kubernetes OpenAPI schema of the cluster's version.

Manifests come as ``dict[cluster, list[manifest]]`` (``idcpilot.plan.plan_estate(cat).manifests``)
or from YAML files (``idcpilot check --manifests DIR``: ``DIR/<cluster>/**/*.yaml``; files directly
in DIR belong to the cluster given by ``--cluster``).
"""

from __future__ import annotations

import gc
import mmap
import os
import pickle
import signal
import struct
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from idcpilot import fastyaml
from idcpilot.policy.envelope import envelope_problems
from idcpilot.policy.k8sschema import validator
from idcpilot.errors import Problem, UserInputError
from idcpilot.yamlsource import PathKey, SourceMap, load_yaml_documents, read_yaml_bytes, read_yaml_text

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
    #: (Kubernetes version, schema errors or None for a kind without schema) found by the reader's
    #: worker; ``schema_problems`` uses it only when the cluster's version is that one
    prechecked: tuple[str, list[tuple[tuple[Any, ...], str]] | None] | None = field(default=None, repr=False, compare=False)

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

def load_documents(path: Path, fast: bool = False) -> list[tuple[dict[str, Any], SourceMap]]:
    """Every manifest of a file with where each field was written; bad input raises with file:line.

    ``fast``: read the positions from libyaml's events (``fastyaml.load_positioned_all``) where that
    gives what the position-keeping loader gives; the bodies then keep YAML's key types.
    """
    from idcpilot.catalogue.load import display_name

    shown = display_name(path)
    out = []
    for data, smap in load_yaml_documents(read_yaml_text(path, shown), shown, fast=fast):
        if data is None:
            continue
        if not isinstance(data, dict) or "kind" not in data or "apiVersion" not in data:
            line, col = smap.locate(())
            raise UserInputError([Problem(shown, line, col, "", "not a Kubernetes manifest (needs apiVersion and kind)")])
        if envelope_problems(data):
            raise UserInputError([smap.problem(path, message) for path, message in envelope_problems(data)])
        if data.get("kind") == "List":
            items = data.get("items") or []
            if not isinstance(items, list):
                raise UserInputError([smap.problem(("items",), "a List's items must be a list of manifests")])
            for i, item in enumerate(items):
                if not _is_manifest(item):
                    line, col = smap.locate(("items", i))
                    raise UserInputError([Problem(shown, line, col, f"items[{i}]", "not a Kubernetes manifest (needs apiVersion and kind)")])
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
        docs = [d for d in fastyaml.load_all(read_yaml_bytes(path)) if d is not None]
    except Exception:  # malformed (YAMLError, or ValueError for a date like 2026-13-45), unreadable: the slow path says where
        return None
    out: list[dict[str, Any]] = []
    for d in docs:
        if not _is_manifest(d):
            return None
        if d.get("kind") == "List":
            items = d.get("items") or []
            if not isinstance(items, list) or not all(_is_manifest(i) for i in items):
                return None  # the slow path names the item
            out += items
        else:
            out.append(d)
    return out


def _is_manifest(doc: Any) -> bool:
    return isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc and not envelope_problems(doc)


#: From this many files on, a forked worker reads manifests too (below, a fork costs more than it saves).
PARALLEL_MIN_FILES = 200


def _second_cpu() -> bool:
    """Forking pays only with a second CPU, and is safe only without other threads."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpus > 1 and hasattr(os, "fork") and threading.active_count() == 1


class _Worker:
    """A forked process parsing files from the last one down while the caller parses from the
    first one up; two counters in shared memory say where each has got to, so they meet wherever
    the work leaves them (the worker does it all when the caller is busy importing the catalogue).

    Whoever reaches a file first parses it: if both claim the one in the middle, each parses it
    and the caller keeps its own. The worker sends its documents as one pickle; if it fails in any
    way, the caller parses the worker's share itself.
    """

    def __init__(self, files: list[Path], clusters: list[str] | None = None, estate: Path | None = None):
        self.files = files
        self.clusters = clusters
        self.estate = estate
        self.shared = mmap.mmap(-1, 16)  # caller's next file, worker's lowest claimed file
        struct.pack_into("qq", self.shared, 0, 0, len(files))
        read_end, write_end = os.pipe()
        gc.freeze()  # no collection in the worker copies the parent's pages
        try:
            self.pid = os.fork()
        finally:
            gc.unfreeze()
        if self.pid == 0:  # the worker: never returns
            code = 1
            try:
                os.close(read_end)
                code = self._work(write_end)
            finally:
                os._exit(code)
        os.close(write_end)
        self.read_end: int | None = read_end

    def _work(self, out: int) -> int:
        gc.disable()
        shared, files = self.shared, self.files
        done: list[list[dict[str, Any]] | None] = []
        i = len(files) - 1
        while i >= 0 and struct.unpack_from("q", shared, 0)[0] <= i:
            struct.pack_into("q", shared, 8, i)  # claimed: from here on the caller stops below i
            done.append(_fast_documents(files[i]))
            i -= 1
        done.reverse()
        checked = self._schema(i + 1, done)
        data = memoryview(pickle.dumps((i + 1, done, checked), protocol=pickle.HIGHEST_PROTOCOL))
        while data:
            data = data[os.write(out, data):]
        return 0

    def _schema(self, start: int, done: list[list[dict[str, Any]] | None]) -> list[Any] | None:
        """Schema verdicts for the worker's documents, per file: [(version, errors or None), ...].

        The versions are read from the estate file as written; the caller uses a verdict only
        where the validated catalogue gives the manifest's cluster that same version."""
        if self.estate is None or self.clusters is None:
            return None
        versions = _written_versions(self.estate)
        if versions is None:
            return None
        out: list[Any] = []
        for cluster, docs in zip(self.clusters[start:], done):
            if docs is None:
                out.append(None)
                continue
            version = versions.get(cluster) or FALLBACK_VERSION
            out.append([(version, schema_errors(version, body)) for body in docs])
        return out

    def parse(self) -> tuple[list[list[dict[str, Any]] | None], list[Any]]:
        """Every file's documents, in order (this process takes the files from the first one up),
        and the worker's schema verdicts per file (None for the files parsed here)."""
        files, shared = self.files, self.shared
        mine: list[list[dict[str, Any]] | None] = []
        j = 0
        while j < len(files):
            struct.pack_into("q", shared, 0, j + 1)  # claimed: the worker stops above j
            if struct.unpack_from("q", shared, 8)[0] <= j:
                break  # the worker has claimed this one (and all after it)
            mine.append(_fast_documents(files[j]))
            j += 1
        start, theirs, checked = self.collect()
        if theirs is None or start > j:  # the worker failed: its share is done here
            theirs, checked = [_fast_documents(f) for f in files[j:]], None
            start = j
        verdicts = [None] * j + (checked[j - start:] if checked is not None else [None] * (len(files) - j))
        return mine + theirs[j - start:], verdicts

    def collect(self) -> tuple[int, list[list[dict[str, Any]] | None] | None, list[Any] | None]:
        """The worker's (first file, documents, schema verdicts); (len, None, None) when it failed."""
        chunks = []
        fd, self.read_end = self.read_end, None
        if fd is None:
            return len(self.files), None, None
        try:
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
            _, status = os.waitpid(self.pid, 0)
        try:
            if status != 0:
                raise ValueError(f"worker exit status {status}")
            start, docs, checked = pickle.loads(b"".join(chunks))
        except Exception:
            return len(self.files), None, None
        return start, docs, checked

    def close(self) -> None:
        """Stop the worker if its documents were never collected (the caller failed first)."""
        if self.read_end is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            os.close(self.read_end)
            self.read_end = None
            os.waitpid(self.pid, 0)


def _written_versions(estate: Path) -> dict[str, str] | None:
    """Cluster name -> kubernetesVersion as written in the estate file (whitespace stripped, as the
    catalogue model does); None when the file does not read that simply."""
    try:
        file = estate / "estate.yaml" if estate.is_dir() else estate
        spec = fastyaml.load_all(read_yaml_bytes(file))[0]["spec"]
        return {str(c["name"]).strip(): str(c["kubernetesVersion"]).strip()
                for c in spec["clusters"] if isinstance(c, dict) and "name" in c and "kubernetesVersion" in c}
    except Exception:
        return None


class ManifestReader:
    """Reads the manifests of ``--manifests DIR``; with many files, a forked worker starts at once
    and reads while this process does other work (imports, the catalogue), until ``result()``.

    ``DIR/<cluster>/**/*.yaml``, or files directly in DIR for ``default_cluster``; ``result()``
    raises UserInputError with every problem (file:line:column).
    """

    def __init__(self, directory: Path, default_cluster: str | None = None, estate: Path | None = None):
        self.directory = directory
        self.default_cluster = default_cluster
        self.entries: list[tuple[Path, Path, str | None]] = []  # (file, relative path, cluster)
        self.worker: _Worker | None = None
        if not directory.is_dir():
            return
        files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and not p.is_dir())
        for f in files:
            rel = f.relative_to(directory)
            self.entries.append((f, rel, rel.parts[0] if len(rel.parts) > 1 else default_cluster))
        wanted = [(f, cluster) for f, _, cluster in self.entries if cluster is not None]
        if len(wanted) >= PARALLEL_MIN_FILES and _second_cpu():
            # given the estate (inventories/<env> or its file), the worker schema-checks what it read too
            self.worker = _Worker([f for f, _ in wanted], [c for _, c in wanted], estate)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()

    def __enter__(self) -> "ManifestReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def result(self) -> ManifestSet:
        from idcpilot.catalogue.load import display_name

        directory = self.directory
        if not directory.is_dir():
            self.close()
            raise UserInputError.single(display_name(directory), "no such directory of manifests")
        if self.worker is not None:
            try:
                docs_list, verdict_list = self.worker.parse()
            finally:
                self.close()
                self.worker = None
            parsed, verdicts = iter(docs_list), iter(verdict_list)
        else:
            parsed = iter([_fast_documents(f) for f, _, cluster in self.entries if cluster is not None])
            verdicts = None
        out = ManifestSet()
        problems: list[Problem] = []
        base = display_name(directory)
        for f, rel, cluster in self.entries:
            shown = str(Path(base) / rel)
            if cluster is None:
                problems.append(Problem(shown, 1, 1, "", "manifest outside a cluster directory; use DIR/<cluster>/ or --cluster NAME"))
                continue
            docs = next(parsed)
            checked = next(verdicts) if verdicts is not None else None
            try:
                if docs is None:  # malformed: the position-keeping parser names file, line and column
                    for body, smap in load_documents(f):
                        out.items.append(Manifest(cluster, body, smap.file, smap))
                    continue
            except UserInputError as exc:
                problems += exc.problems
                continue
            for i, body in enumerate(docs):
                out.items.append(Manifest(cluster, body, shown, loader=lambda f=f, i=i: _sources(f)[i],
                                          prechecked=checked[i] if checked is not None else None))
        if problems:
            raise UserInputError(problems)
        return out


def load_manifest_dir(directory: Path, default_cluster: str | None = None) -> ManifestSet:
    """Every manifest of DIR (see ``ManifestReader``); many files are read by two processes."""
    with ManifestReader(directory, default_cluster) as reader:
        return reader.result()


# --------------------------------------------------------------------------- schema validation


#: the schema version for manifests of a cluster the estate gives no version
FALLBACK_VERSION = "1.30.0"


def schema_errors(version: str, body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]] | None:
    """(path, message) for every schema error of one manifest; None for a kind without a schema.
    The reader's worker and schema_problems both judge a manifest through this."""
    check = validator(version, str(body.get("kind", "")), str(body.get("apiVersion", "")))
    return None if check is None else list(check(body, ()))


def schema_problems(manifests: ManifestSet, versions: dict[str, str]) -> tuple[list[Problem], list[str]]:
    """Validate every manifest against its cluster's Kubernetes schema (strict: unknown fields fail).

    Returns problems (file:line for manifests read from files) and notes for kinds with no schema
    (custom resources).
    """
    problems: list[Problem] = []
    unknown: set[str] = set()
    for m in manifests.items:
        version = versions.get(m.cluster) or FALLBACK_VERSION
        if m.prechecked is not None and m.prechecked[0] == version:  # the reader's worker did it
            errors = m.prechecked[1]
        else:
            errors = schema_errors(version, m.body)
        if errors is None:
            unknown.add(f"{m.body.get('apiVersion')}/{m.kind}")
            continue
        for path, text in errors:
            field_path = ".".join(str(p) for p in path)
            message = f"{m.target}: schema: {text}"
            if m.source is not None:
                line, col = m.source.locate(path)
                problems.append(Problem(m.source.file, line, col, field_path, message))
            else:
                problems.append(Problem(f"<planned {m.cluster}>", 1, 1, field_path, message))
    notes = [f"no Kubernetes schema for {k}; not schema-checked" for k in sorted(unknown)]
    return problems, notes
