"""Kubernetes manifests against the OpenAPI schema of their cluster's Kubernetes version: the one
schema validator and the one version policy of ``idcpilot validate``, ``plan`` and ``check``.

The schemas are the strict ones bundled by ``kubernetes-validate`` (one directory per minor
release; unknown fields are errors). Version policy: a cluster's ``kubernetesVersion`` is judged
against the schemas of its own minor release; a version whose minor release the bundle does not
have is an error naming the versions that are available (never a silent fallback to another
release's schema).

The schemas use a small JSON Schema subset (type, enum, properties, additionalProperties,
required, items, $ref, oneOf/anyOf/allOf; ``format`` is not asserted, as in ``jsonschema``
without a format checker). Each schema is compiled once, lazily, into plain closures that append
``(path, message)`` for every error: ``jsonschema`` interprets the same schema ~30x slower, which
matters to a gate validating thousands of manifests. ``tests/policy/test_k8sschema.py`` checks
the compiled validator against ``jsonschema`` on the same schemas.

Kinds: a kind of a Kubernetes API group (the core group, a group without a dot such as ``apps``
or ``batch``, or one ending in ``.k8s.io``) that has no schema in the version is an error (for
example ``apps/v2``); a kind of any other group is a custom resource, which this module does not
judge (``errors`` answers None and the callers say it was not schema-checked).
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from idcpilot.errors import excerpt

Path_ = tuple[Any, ...]
Error = tuple[Path_, str]
Check = Callable[[Any, Path_, list[Error]], None]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "object": (dict,), "array": (list,),
    "null": (type(None),), "boolean": (bool,),
}
_VERSION = re.compile(r"^v?([0-9]+)\.([0-9]+)(?:\.[0-9]+)?$")


class UnsupportedVersion(ValueError):
    """A Kubernetes version the bundled schemas do not cover (the message names those that are)."""


# --------------------------------------------------------------------------- versions


@lru_cache(maxsize=1)
def _schema_root() -> Path:
    """kubernetes-validate's bundled schemas, found without importing it (nor jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is not installed (it ships the Kubernetes schemas)")
    return Path(list(spec.submodule_search_locations)[0]) / "kubernetes-json-schema"


@lru_cache(maxsize=1)
def _bundle() -> dict[tuple[int, int], str]:
    """(major, minor) -> schema directory, for every minor release the bundle has."""
    out: dict[tuple[int, int], str] = {}
    for p in _schema_root().glob("v*-local-strict"):
        m = _VERSION.match(p.name.split("-")[0])
        if m:
            out[(int(m.group(1)), int(m.group(2)))] = p.name
    return dict(sorted(out.items()))


def available() -> list[str]:
    """The Kubernetes minor releases there are schemas for ("1.25", ..., oldest first)."""
    return [f"{a}.{b}" for a, b in _bundle()]


def schema_dir(version: str) -> str:
    """The schema directory for a cluster's Kubernetes version; UnsupportedVersion when none."""
    m = _VERSION.match(str(version).strip())
    if not m:
        raise UnsupportedVersion(f"{excerpt(version)} is not a Kubernetes version (major.minor.patch)")
    found = _bundle().get((int(m.group(1)), int(m.group(2))))
    if found is None:
        raise UnsupportedVersion(f"no Kubernetes schemas for version {excerpt(str(version).strip())}; "
                                 f"available: {', '.join(available())}")
    return found


def version_problem(version: str) -> str | None:
    """Why the version cannot be validated against, or None when it can (the catalogue's check)."""
    try:
        schema_dir(version)
    except UnsupportedVersion as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- the compiler


def _nothing(value: Any, path: Path_, out: list[Error]) -> None:
    return None


class _Probe(list):  # type: ignore[type-arg]
    """The error list of a oneOf/anyOf branch tried on a value: only "any error?" matters."""


class _Failed(Exception):
    pass


def _report(out: list[Error], path: Path_, message: Callable[[], str]) -> None:
    """Record an error; a probe stops at the first one, before its message is written."""
    if out.__class__ is _Probe:
        raise _Failed
    out.append((path, message()))


class Compiler:
    """Schemas of one Kubernetes version compiled into checks. Each subschema is compiled the first
    time a manifest reaches it (a Deployment touches a sliver of PodSpec): a ``cell`` holds a
    stand-in that compiles the subschema and puts the result in its place."""

    def __init__(self, definitions: dict[str, Any]):
        self.defs = definitions
        self.refs: dict[str, list[Check]] = {}

    def ref(self, ref: str) -> list[Check]:
        name = ref.rsplit("/", 1)[-1]
        if name not in self.refs:
            self.refs[name] = self.cell(self.defs.get(name))
        return self.refs[name]

    def cell(self, schema: Any) -> list[Check]:
        cell: list[Check] = []

        def first(value: Any, path: Path_, out: list[Error]) -> None:
            cell[0] = self.compile(schema)
            cell[0](value, path, out)

        cell.append(first)
        return cell

    def compile(self, schema: Any) -> Check:
        if not isinstance(schema, dict) or not schema:
            return _nothing
        type_names = schema.get("type")
        type_names = [type_names] if isinstance(type_names, str) else list(type_names or [])
        known = [t for t in type_names if t in _PY_TYPES]
        types = tuple(t for name in known if name != "boolean" for t in _PY_TYPES[name])
        allow_bool = "boolean" in known
        integral_floats = "integer" in known  # JSON Schema: 2.0 is an integer, 2.5 is not
        shown = type_names[0] if len(type_names) == 1 else type_names
        enum = schema.get("enum")
        prop_schemas = schema.get("properties") or {}
        props: dict[str, list[Check]] = {}
        addl = schema.get("additionalProperties", True)
        addl_cell = self.cell(addl) if isinstance(addl, dict) else None
        closed = addl is False
        required = tuple(schema.get("required") or ())
        has_object = bool(prop_schemas) or addl is not True or bool(required)
        items = self.cell(schema["items"]) if isinstance(schema.get("items"), dict) else None
        also = ([self.ref(schema["$ref"])] if "$ref" in schema else []) + [self.cell(s) for s in schema.get("allOf") or []]
        one_of = [self.cell(s) for s in schema.get("oneOf") or []]
        any_of = [self.cell(s) for s in schema.get("anyOf") or []]
        cell = self.cell

        def check(value: Any, path: Path_, out: list[Error]) -> None:
            cls = value.__class__
            if known and ((not allow_bool) if cls is bool else not (
                    isinstance(value, types) or (integral_floats and cls is float and value.is_integer()))):
                _report(out, path, lambda: f"{excerpt(value)} is not of type {shown!r}")
                return
            if enum is not None and value not in enum:
                _report(out, path, lambda: f"{excerpt(value)} is not one of {enum!r}")
            if has_object and value.__class__ is dict:
                for key in required:
                    if key not in value:
                        _report(out, path, lambda: f"{key!r} is a required property")
                for key, v in value.items():
                    sub = props.get(key)
                    if sub is None:
                        if key in prop_schemas:
                            sub = props[key] = cell(prop_schemas[key])
                        elif closed:
                            _report(out, path + (key,), lambda: f"Additional properties are not allowed ({excerpt(key)} was unexpected)")
                            continue
                        elif addl_cell is not None:
                            sub = addl_cell
                        else:
                            continue
                    sub[0](v, path + (key,), out)
            if items is not None and value.__class__ is list:
                run = items[0]
                for i, v in enumerate(value):
                    run(v, path + (i,), out)
                    run = items[0]
            for c in also:
                c[0](value, path, out)
            if one_of and sum(1 for c in one_of if _passes(c[0], value)) != 1:
                _report(out, path, lambda: f"{excerpt(value)} is not valid under exactly one of the given schemas")
            if any_of and not any(_passes(c[0], value) for c in any_of):
                _report(out, path, lambda: f"{excerpt(value)} is not valid under any of the given schemas")

        return check


def _passes(check: Check, value: Any) -> bool:
    try:
        check(value, (), _Probe())
    except _Failed:
        return False
    return True


def _read(directory: str, name: str) -> Any:
    with open(_schema_root() / directory / name, encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def _compiler(directory: str) -> Compiler:
    defs = _read(directory, "_definitions.json")
    return Compiler(defs.get("$defs") or defs.get("definitions") or {})


def is_kubernetes_group(api_version: str) -> bool:
    """apiVersion of a Kubernetes API group (core ``v1``, ``apps/v1``, ``*.k8s.io/...``), not a custom resource's."""
    if "/" not in api_version:
        return True
    group = api_version.split("/", 1)[0]
    return "." not in group or group.endswith(".k8s.io")


@lru_cache(maxsize=None)
def validator(version: str, kind: str, api_version: str) -> Check | None:
    """The compiled check of one kind in one version; None when the schemas have no such kind."""
    directory = schema_dir(version)
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    if not re.fullmatch(r"[A-Za-z0-9-]+", f"{kind}-{group}"):
        return None
    try:
        schema = _read(directory, f"{kind.lower()}-{group}.json")
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return _compiler(directory).compile(schema)


def errors(version: str, body: dict[str, Any]) -> list[Error] | None:
    """Every schema error of one manifest ((path, message), empty when it is valid), or None for a
    custom resource, which no bundled schema describes. Raises UnsupportedVersion."""
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if not isinstance(kind, str) or not kind:
        return [(("kind",), "kind must be a non-empty string")]
    if not isinstance(api_version, str) or not api_version:
        return [(("apiVersion",), "apiVersion must be a non-empty string")]
    out: list[Error] = []
    meta = body.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        out.append((("metadata", "name"), "every manifest needs metadata.name"))
    check = validator(version, kind, api_version)
    if check is None:
        if is_kubernetes_group(api_version):
            minor = ".".join(schema_dir(version)[1:].split(".")[:2])
            return out + [(("apiVersion",), f"Kubernetes {minor} has no kind {excerpt(kind)} in {excerpt(api_version)}")]
        return out or None
    check(body, (), out)
    return out
