"""The envelope every Kubernetes manifest must have before any rule or schema looks at it.

``apiVersion`` and ``kind`` choose a schema file by name, and ``metadata.name``/``namespace``
name the manifest in every finding: they must be short plain strings of Kubernetes' own
grammar (a group that is a DNS subdomain, a version and a kind that are DNS-label-like), and
``metadata``, ``labels`` and ``annotations`` mappings. Anything else is refused where the
manifest is read (exit 2 naming file:line), never met by a rule as a list or a 70 KB string.
"""

from __future__ import annotations

import re
from typing import Any

from idcpilot.errors import excerpt

_API_VERSION = re.compile(r"(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
#: metadata.name and metadata.namespace: at most a DNS subdomain's length (the rest is the schema's to judge)
_NAME_CHARS = 253


def envelope_problems(doc: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """(field path, message) for every way DOC's envelope is not a manifest's; [] when it is one."""
    out: list[tuple[tuple[str, ...], str]] = []
    api, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api, str) or not _API_VERSION.fullmatch(api):
        out.append((("apiVersion",), f"not a Kubernetes apiVersion (group/version, e.g. apps/v1): {excerpt(api)}"))
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        out.append((("kind",), f"not a Kubernetes kind (a letter, then letters and digits, e.g. Deployment): {excerpt(kind)}"))
    meta = doc.get("metadata")
    if meta is None:
        return out
    if not isinstance(meta, dict):
        return out + [(("metadata",), f"must be a mapping (name, namespace, labels, ...), not {_kind_of(meta)}")]
    for key in ("name", "namespace"):
        value = meta.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > _NAME_CHARS):
            out.append((("metadata", key), f"must be a string of at most {_NAME_CHARS} characters: {excerpt(value)}"))
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is not None and not isinstance(value, dict):
            out.append((("metadata", key), f"must be a mapping of names to strings, not {_kind_of(value)}"))
    return out


def _kind_of(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a string" if isinstance(value, str) else f"the value {excerpt(value)}"
