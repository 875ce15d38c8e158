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


def manifest(r: Recorded) -> dict[str, Any]:
    body = clean(r.inputs)
    out = {k: body[k] for k in _HEAD if k in body}
    out.update({k: v for k, v in sorted(body.items()) if k not in _HEAD})
    return out


def manifests(resources: list[Recorded]) -> list[dict[str, Any]]:
    return [manifest(r) for r in resources if is_manifest(r)]


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(docs: list[dict[str, Any]]) -> str:
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
