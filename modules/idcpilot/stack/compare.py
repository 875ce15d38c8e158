"""The offline plan against the real engine's preview, resource by resource (pure).

``idcpilot plan`` runs the stack's program under the SDK's mocks; ``pulumi preview --json`` runs
the same program in the engine, with the provider plugins checking every input. For pull requests
to trust the offline plan, both must name the same resources (URN), of the same type, under the
same parent, with the same inputs and the same secrets. ``differences`` lists every disagreement
as one readable line; none means the plan is what the engine would do.

What the engine adds by itself and the program never registers is left out, by rule: the stack's
root resource (``pulumi:pulumi:Stack``) and the default providers the engine makes for resources
that name no provider (``pulumi:providers:<pkg>::default...``), and the ``__internal`` input it
keeps on provider resources. Secrets are compared as secrets:
the engine's JSON shows each secret value as ``[secret]``, the plan records where its secrets
are (``secretInputs``); a value secret in one and plain in the other is a difference. A value the
engine can know only at apply time (an output of another resource, shown as pulumi's unknown
sentinel) is not compared: the plan's mocks made one up. Numbers are compared as numbers (the
wire carries only doubles).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from idcpilot.redaction import REDACTED

ROOT_TYPE = "pulumi:pulumi:Stack"
#: what the engine adds to a provider resource's inputs for itself
ENGINE_INTERNAL = "__internal"
#: what the engine's JSON shows for a value known only at apply time (pulumi's UnknownStringValue)
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
#: preview operations whose new state is what the engine would make or keep
NEW_STATE_OPS = ("create", "same", "update", "replace", "create-replacement", "import", "refresh", "read")


@dataclass(frozen=True)
class Resource:
    urn: str
    type: str
    parent: str | None
    inputs: Any  # secrets as REDACTED, whole


def _is_engine_default(urn: str, type_: str) -> bool:
    return type_.startswith("pulumi:providers:") and urn.rsplit("::", 1)[-1].startswith("default")


def _path_parts(path: str) -> list[Any]:
    """'spec.template.spec.containers[0].image' -> ['spec', 'template', 'spec', 'containers', 0, 'image']."""
    out: list[Any] = []
    for part in path.split("."):
        while "[" in part:
            head, rest = part.split("[", 1)
            if head:
                out.append(head)
            index, part = rest.split("]", 1)
            out.append(int(index))
        if part:
            out.append(part)
    return out


def _mask(inputs: Any, secret_paths: Iterable[str]) -> Any:
    """INPUTS with each secret value (at its path) replaced whole by REDACTED."""
    out = json.loads(json.dumps(inputs))
    for path in secret_paths:
        if path == ".":
            return REDACTED
        parts = _path_parts(path)
        node = out
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = REDACTED
    return out


def planned(resources: Iterable[dict[str, Any]]) -> dict[str, Resource]:
    """The plan's resources (``StackPlan.to_json()['resources']``) by URN."""
    out = {}
    for r in resources:
        out[r["urn"]] = Resource(r["urn"], r["type"], r.get("parent"), _mask(r.get("inputs") or {}, r.get("secretInputs") or []))
    return out


def previewed(preview: dict[str, Any]) -> dict[str, Resource]:
    """The engine's resources (``pulumi preview --json``) by URN: each step's new state."""
    out = {}
    for step in preview.get("steps") or []:
        state = step.get("newState")
        if step.get("op") not in NEW_STATE_OPS or not state:
            continue
        urn, type_ = state.get("urn") or step.get("urn"), state.get("type", "")
        if type_ == ROOT_TYPE or _is_engine_default(urn, type_):
            continue
        inputs = state.get("inputs") or {}
        if type_.startswith("pulumi:providers:"):
            inputs = {k: v for k, v in inputs.items() if k != ENGINE_INTERNAL}
        out[urn] = Resource(urn, type_, state.get("parent") or None, inputs)
    return out


def _walk(a: Any, b: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append(f"{sub}: only in the engine's preview ({_short(b[key])})")
            elif key not in b:
                out.append(f"{sub}: only in the plan ({_short(a[key])})")
            else:
                _walk(a[key], b[key], sub, out, limit)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(x, y, f"{path}[{i}]", out, limit)
        return
    if b == UNKNOWN:
        return  # computed by the engine at apply time (another resource's output): the plan's mock value stands
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        if a != b:
            out.append(f"{path or '.'}: plan {_short(a)}, engine {_short(b)}")
        return
    if a != b or type(a) is not type(b):
        if a == REDACTED or b == REDACTED:
            which = "the plan" if a == REDACTED else "the engine"
            out.append(f"{path or '.'}: secret in {which} only (plan {_short(a)}, engine {_short(b)})")
        else:
            out.append(f"{path or '.'}: plan {_short(a)}, engine {_short(b)}")


def _short(value: Any, width: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def differences(plan_resources: Iterable[dict[str, Any]], preview: dict[str, Any], limit: int = 200) -> list[str]:
    """Every disagreement between the plan's resources and the engine's preview, one line each."""
    mine, theirs = planned(plan_resources), previewed(preview)
    out: list[str] = []
    for urn in sorted(set(mine) - set(theirs)):
        out.append(f"{urn}: in the plan only")
    for urn in sorted(set(theirs) - set(mine)):
        out.append(f"{urn}: in the engine's preview only")
    for urn in sorted(set(mine) & set(theirs)):
        a, b = mine[urn], theirs[urn]
        if a.type != b.type:
            out.append(f"{urn}: type: plan {a.type}, engine {b.type}")
        if a.parent != b.parent:
            out.append(f"{urn}: parent: plan {a.parent}, engine {b.parent}")
        found: list[str] = []
        _walk(a.inputs, b.inputs, "", found, limit)
        out.extend(f"{urn}: inputs.{line}" for line in found)
        if len(out) >= limit:
            return out[:limit] + [f"... and more (first {limit} shown)"]
    return out
