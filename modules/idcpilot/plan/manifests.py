"""Kubernetes manifests from recorded resources: exactly what the provider would apply.

Clean for people and tools: integral floats become ints (protobuf numbers are doubles),
nulls and engine-internal keys are dropped, apiVersion/kind/metadata come first.
"""

from __future__ import annotations

from typing import Any

import yaml

from idcpilot.plan.recorder import Recorded

KUBERNETES_PREFIX = "kubernetes:"
_HEAD = ("apiVersion", "kind", "metadata")
#: Annotation listing the fields whose values are Pulumi secrets and therefore not in the plan.
SECRETS_ANNOTATION = "idcpilot.io/pulumi-secret-fields"


def clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: clean(value[k]) for k in sorted(value) if value[k] is not None and not k.startswith("__")}
    if isinstance(value, list):
        return [clean(v) for v in value if v is not None]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def is_manifest(r: Recorded) -> bool:
    return r.custom and r.type.startswith(KUBERNETES_PREFIX)


def _drop(body: dict[str, Any], path: str) -> list[str]:
    """Remove the secret at ``path`` (dotted, top-level fields of a manifest); name what it held."""
    parts = path.replace("[", ".[").split(".")
    node: Any = body
    for part in parts[:-1]:
        if part.startswith("["):
            node = node[int(part[1:-1])] if isinstance(node, list) and int(part[1:-1]) < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return []
    last = parts[-1]
    if last.startswith("[") or not isinstance(node, dict) or last not in node:
        return [path]
    value = node.pop(last)
    if isinstance(value, dict) and value:
        return [f"{path}.{k}" for k in sorted(value)]
    return [path]


def manifest(r: Recorded) -> dict[str, Any]:
    """The manifest as planned. Pulumi-secret values are left out (they exist only encrypted in
    state) and listed in the ``idcpilot.io/pulumi-secret-fields`` annotation; a value that was
    NOT a Pulumi secret stays, so K8S-SECRETS can catch a plaintext literal."""
    body = clean(r.inputs)
    hidden: list[str] = []
    for path in r.secret_paths:
        if path.split(".")[0].split("[")[0] in _HEAD:
            continue  # never hide identity; a secret there is reported by the plan instead
        hidden += _drop(body, path)
    if hidden:
        meta = body.setdefault("metadata", {})
        notes = dict(meta.get("annotations") or {})
        notes[SECRETS_ANNOTATION] = ",".join(sorted(hidden))
        meta["annotations"] = dict(sorted(notes.items()))
        body["metadata"] = dict(sorted(meta.items()))
    out = {k: body[k] for k in _HEAD if k in body}
    out.update({k: v for k, v in sorted(body.items()) if k not in _HEAD})
    return out


def _order(m: dict[str, Any]) -> tuple:
    meta = m.get("metadata") or {}
    return (m.get("kind") != "Namespace", bool(meta.get("namespace")), meta.get("namespace") or "", m.get("kind"), meta.get("name") or "")


def manifests(resources: list[Recorded]) -> list[dict[str, Any]]:
    """In apply order: namespaces, cluster-scoped objects, then each namespace's objects."""
    return sorted((manifest(r) for r in resources if is_manifest(r)), key=_order)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(docs: list[dict[str, Any]]) -> str:
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
