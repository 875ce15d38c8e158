"""Strict schema problems of planned manifests, judged by ``idcpilot.k8sschema`` (the validator
``idcpilot check`` uses too) against the cluster's Kubernetes version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idcpilot import k8sschema
from idcpilot.yamlsource import format_path


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


def check(cluster: str, version: str, manifest: dict[str, Any]) -> list[SchemaProblem] | None:
    """Every schema problem of one planned manifest; None for a custom resource (not schema-checked).
    Raises ``k8sschema.UnsupportedVersion`` for a version without schemas."""
    errors = k8sschema.errors(version, manifest)
    if errors is None:
        return None
    meta = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
    kind, name, ns = str(manifest.get("kind")), str(meta.get("name") or "?"), meta.get("namespace")
    return [SchemaProblem(cluster, kind, name, ns, format_path(path), message) for path, message in errors]
