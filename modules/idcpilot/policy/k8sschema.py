"""Kubernetes schema validation, compiled: the OpenAPI schemas shipped by ``kubernetes-validate``
turned once into plain Python closures.

The schemas use a small JSON Schema subset (type, enum, properties, additionalProperties,
required, items, $ref, oneOf/anyOf/allOf). Interpreting them with ``jsonschema`` costs
milliseconds per Deployment; the compiled closures check the same keywords in microseconds,
which is what lets the gate validate thousands of planned manifests in a pull request.
``tests/policy/test_k8sschema.py`` checks the compiled validator against ``jsonschema``.

Each schema compiles twice, both lazily: a yes/no check (plain functions, no paths, stops at the
first problem) that every manifest goes through, and the reporting check (generators with the
path and message of every problem) that runs only on a manifest the first found wrong. Valid
manifests, nearly all of them, never pay for paths and messages.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

Error = tuple[tuple[Any, ...], str]
Check = Callable[[Any, tuple[Any, ...]], Iterator[Error]]

_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _none(value: Any, path: tuple[Any, ...]) -> Iterator[Error]:
    return iter(())


def _true(value: Any) -> bool:
    return True


def _type_check(type_names: list[str]) -> Callable[[Any], bool] | None:
    """One function for the schema's ``type`` list, agreeing with ``_TYPES`` (bool is no number)."""
    known = [t for t in type_names if t in _TYPES]
    if not known:
        return None
    allow_bool = "boolean" in known
    others = tuple({"string": str, "integer": int, "number": (int, float), "object": dict, "array": list,
                    "null": type(None)}.get(t, ()) for t in known if t != "boolean")
    flat: tuple[type, ...] = ()
    for o in others:
        flat += o if isinstance(o, tuple) else (o,)

    def ok(value: Any) -> bool:
        if value.__class__ is bool:
            return allow_bool
        return isinstance(value, flat)

    return ok


class Compiler:
    def __init__(self, definitions: dict[str, Any]):
        self.defs = definitions
        self.compiled: dict[str, Check] = {}
        self.compiled_ok: dict[str, Callable[[Any], bool]] = {}

    def validator(self, schema: Any) -> Check:
        """The reporting check, behind the yes/no check: errors are looked for only when there are some."""
        ok = self.compile_ok(schema)
        report = self.lazy(schema)

        def check(value: Any, path: tuple[Any, ...]) -> Iterator[Error]:
            if ok(value):
                return iter(())
            return report(value, path)

        return check

    # ---------------------------------------------------------------- yes/no

    def ref_ok(self, ref: str) -> Callable[[Any], bool]:
        name = ref.rsplit("/", 1)[-1]
        if name in self.compiled_ok:
            return self.compiled_ok[name]
        holder: list[Callable[[Any], bool]] = []

        def deferred(value: Any) -> bool:
            if not holder:
                target = self.defs.get(name)
                holder.append(self.compile_ok(target) if target is not None else _true)
            return holder[0](value)

        self.compiled_ok[name] = deferred
        return deferred

    def lazy_ok(self, schema: Any) -> Callable[[Any], bool]:
        holder: list[Callable[[Any], bool]] = []

        def run(value: Any) -> bool:
            if not holder:
                holder.append(self.compile_ok(schema))
            return holder[0](value)

        return run

    def compile_ok(self, schema: Any) -> Callable[[Any], bool]:
        """True when ``compile(schema)`` would yield no error for the value (same keywords, same rules)."""
        if not isinstance(schema, dict) or not schema:
            return _true
        types = schema.get("type")
        type_ok = _type_check([types] if isinstance(types, str) else list(types or []))
        enum = schema.get("enum")
        prop_schemas = schema.get("properties") or {}
        props: dict[str, Callable[[Any], bool]] = {}
        addl = schema.get("additionalProperties", True)
        addl_ok = self.lazy_ok(addl) if isinstance(addl, dict) else None
        closed = addl is False
        required = tuple(schema.get("required") or ())
        has_object = bool(prop_schemas) or addl is not True or bool(required)
        items = self.lazy_ok(schema["items"]) if isinstance(schema.get("items"), dict) else None
        also = ([self.ref_ok(schema["$ref"])] if "$ref" in schema else []) + [self.lazy_ok(s) for s in schema.get("allOf") or []]
        one_of = [self.lazy_ok(s) for s in schema.get("oneOf") or []]
        any_of = [self.lazy_ok(s) for s in schema.get("anyOf") or []]
        compile_ok = self.compile_ok

        def ok(value: Any) -> bool:
            if type_ok is not None and not type_ok(value):
                return False
            if enum is not None and value not in enum:
                return False
            if has_object and isinstance(value, dict):
                for key in required:
                    if key not in value:
                        return False
                for key, v in value.items():
                    sub = props.get(key)
                    if sub is None:
                        if key in prop_schemas:
                            sub = props[key] = compile_ok(prop_schemas[key])
                        elif closed:
                            return False
                        elif addl_ok is not None:
                            sub = addl_ok
                        else:
                            continue
                    if not sub(v):
                        return False
            if items is not None and isinstance(value, list):
                for v in value:
                    if not items(v):
                        return False
            for c in also:
                if not c(value):
                    return False
            if one_of and sum(1 for c in one_of if c(value)) != 1:
                return False
            if any_of and not any(c(value) for c in any_of):
                return False
            return True

        return ok

    # ---------------------------------------------------------------- reporting

    def ref(self, ref: str) -> Check:
        name = ref.rsplit("/", 1)[-1]
        if name in self.compiled:
            return self.compiled[name]
        holder: list[Check] = []

        def deferred(value: Any, path: tuple[Any, ...]) -> Iterator[Error]:
            if not holder:
                target = self.defs.get(name)
                holder.append(self.compile(target) if target is not None else _none)
            return holder[0](value, path)

        self.compiled[name] = deferred
        return deferred

    def lazy(self, schema: Any) -> Check:
        """A check compiled the first time it runs."""
        holder: list[Check] = []

        def run(value: Any, path: tuple[Any, ...]) -> Iterator[Error]:
            if not holder:
                holder.append(self.compile(schema))
            return holder[0](value, path)

        return run

    def compile(self, schema: Any) -> Check:
        if not isinstance(schema, dict) or not schema:
            return _none
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        types = schema.get("type")
        type_names = [types] if isinstance(types, str) else list(types or [])
        preds = [_TYPES[t] for t in type_names if t in _TYPES]
        shown = type_names[0] if len(type_names) == 1 else type_names
        enum = schema.get("enum")
        prop_schemas = schema.get("properties") or {}
        props: dict[str, Check] = {}  # compiled on first use: a Deployment touches a sliver of PodSpec
        addl = schema.get("additionalProperties", True)
        addl_check = self.lazy(addl) if isinstance(addl, dict) else None
        required = list(schema.get("required") or [])
        items = self.lazy(schema["items"]) if isinstance(schema.get("items"), dict) else None
        one_of = [self.lazy(s) for s in schema.get("oneOf") or []]
        any_of = [self.lazy(s) for s in schema.get("anyOf") or []]
        all_of = [self.lazy(s) for s in schema.get("allOf") or []]
        has_object = bool(prop_schemas) or addl is not True or required

        def check(value: Any, path: tuple[Any, ...]) -> Iterator[Error]:
            if preds and not any(p(value) for p in preds):
                yield path, f"{value!r} is not of type {shown!r}"
                return
            if enum is not None and value not in enum:
                yield path, f"{value!r} is not one of {enum!r}"
            if isinstance(value, dict) and has_object:
                for key in required:
                    if key not in value:
                        yield path, f"{key!r} is a required property"
                for key, v in value.items():
                    sub = props.get(key)
                    if sub is None and key in prop_schemas:
                        sub = props[key] = self.compile(prop_schemas[key])
                    if sub is not None:
                        yield from sub(v, path + (key,))
                    elif addl is False:
                        yield path + (key,), f"Additional properties are not allowed ({key!r} was unexpected)"
                    elif addl_check is not None:
                        yield from addl_check(v, path + (key,))
            if items is not None and isinstance(value, list):
                for i, v in enumerate(value):
                    yield from items(v, path + (i,))
            for c in checks:
                yield from c(value, path)
            for c in all_of:
                yield from c(value, path)
            if one_of and sum(1 for c in one_of if next(c(value, path), None) is None) != 1:
                yield path, f"{value!r} is not valid under exactly one of the given schemas"
            if any_of and all(next(c(value, path), None) is not None for c in any_of):
                yield path, f"{value!r} is not valid under any of the given schemas"

        return check


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"[0-9]+", v))


@lru_cache(maxsize=1)
def _schema_root() -> Path:
    """kubernetes-validate's bundled schemas, found without importing it (and jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is not installed (it ships the Kubernetes schemas)")
    return Path(list(spec.submodule_search_locations)[0]) / "kubernetes-json-schema"


def _schema_dir(version: str) -> str:
    """The newest bundled schema version not newer than the cluster's (major.minor)."""
    want = _version_key(version)[:2]
    found = sorted((_version_key(p.name[1:].split("-")[0]), p.name.split("-")[0]) for p in _schema_root().glob("v*-local-strict"))
    chosen = [name for key, name in found if key[:2] <= want] or [found[0][1]]
    return f"{chosen[-1]}-local-strict"


def _read(schema_dir: str, name: str) -> Any:
    with open(_schema_root() / schema_dir / name, encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def _compiler(schema_dir: str) -> Compiler:
    defs = _read(schema_dir, "_definitions.json")
    return Compiler(defs.get("$defs") or defs.get("definitions") or {})


@lru_cache(maxsize=None)
def validator(version: str, kind: str, api_version: str) -> Check | None:
    """A compiled validator for one kind, or None when the schemas know no such kind (CRDs)."""
    schema_dir = _schema_dir(version)
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = _read(schema_dir, f"{kind.lower()}-{group}.json")
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return _compiler(schema_dir).validator(schema)
