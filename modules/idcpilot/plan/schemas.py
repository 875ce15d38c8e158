"""Strict schema validation of manifests against the cluster's Kubernetes version.

``kubernetes_validate.validate()`` re-reads and re-links the JSON schemas on every call; here one
validator is built per (schema version, apiVersion, kind) and reused for every manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv
from referencing import Registry, Resource


@dataclass(frozen=True)
class SchemaProblem:
    cluster: str
    kind: str
    name: str
    namespace: str | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.cluster}: {self.kind} {where}{self.name}: {self.path or '(root)'}: {self.message}"


class Validators:
    """Cache of strict validators. ``check(manifest, version)`` returns problems, never raises."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self._validators: dict[tuple[str, str, str], jsonschema.protocols.Validator | None] = {}
        self._registries: dict[str, Registry] = {}
        self._versions = kv.all_versions()

    def schema_version(self, version: str) -> str:
        mm = kv.major_minor(version.lstrip("v"))
        key = tuple(int(x) for x in mm.split("."))
        candidates = [v for v in self._versions if tuple(int(x) for x in kv.major_minor(v).split(".")) <= key]
        if not candidates:
            raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {version} (oldest {self._versions[0]})")
        return candidates[-1]

    def validator(self, version: str, api_version: str, kind: str):
        schema_version = self.schema_version(version)
        key = (schema_version, api_version, kind)
        if key not in self._validators:
            schema_dir = f"v{schema_version}-local" + ("-strict" if self.strict else "")
            group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            try:
                schema = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group}.json", version)
            except FileNotFoundError:
                self._validators[key] = None
                return None
            if schema_dir not in self._registries:
                defs = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version)
                self._registries[schema_dir] = Resource.from_contents(defs) @ Registry()
            registry = Resource.from_contents(schema) @ self._registries[schema_dir]
            self._validators[key] = jsonschema.validators.Draft202012Validator(schema, registry=registry)
        return self._validators[key]

    def check(self, cluster: str, version: str, manifest: dict[str, Any]) -> list[SchemaProblem]:
        meta = manifest.get("metadata") or {}
        kind, name, ns = str(manifest.get("kind")), str(meta.get("name") or ""), meta.get("namespace")
        problems = []
        if not name:
            problems.append(SchemaProblem(cluster, kind, "?", ns, "metadata.name", "no name set"))
        v = self.validator(version, str(manifest.get("apiVersion")), kind)
        if v is None:
            return problems + [SchemaProblem(cluster, kind, name, ns, "", f"no schema for {manifest.get('apiVersion')} {kind} in Kubernetes {version}")]
        for err in sorted(v.iter_errors(manifest), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in err.absolute_path)
            problems.append(SchemaProblem(cluster, kind, name, ns, path, err.message))
        return problems
