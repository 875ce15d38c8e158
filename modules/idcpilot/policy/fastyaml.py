"""Plain YAML documents, fast: libyaml's C parser events turned straight into dicts and lists.

PyYAML's CSafeLoader parses in C but composes and constructs in Python; for thousands of
manifests that is most of the time. Building objects from the parser events, with plain
scalars resolved by SafeLoader's own rules (memoised), gives the same values about twice as
fast. Anything unusual (tags, anchors, aliases, merge keys) falls back to CSafeLoader.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml import events as ev

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class _Fallback(Exception):
    pass


class DuplicateKeyError(yaml.YAMLError):
    """PyYAML silently keeps the last of two equal keys; we refuse (callers report file:line)."""


_RESOLVER = yaml.resolver.Resolver()
_CTOR = yaml.SafeLoader("")
_plain_cache: dict[str, Any] = {}


def _plain(value: str) -> Any:
    try:
        return _plain_cache[value]
    except KeyError:
        pass
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
    if tag == "tag:yaml.org,2002:str":
        out: Any = value
    elif tag == "tag:yaml.org,2002:merge":
        raise _Fallback
    else:
        out = _CTOR.construct_object(yaml.ScalarNode(tag, value), deep=True)
    if len(_plain_cache) < 50_000 and not isinstance(out, (list, dict)):
        _plain_cache[value] = out
    return out


def _build(events: Any) -> list[Any]:
    docs: list[Any] = []
    stack: list[Any] = []  # containers being filled
    keys: list[Any] = []  # pending key per mapping (sentinel when expecting a key)
    expect_key = object()
    root: list[Any] = []

    def add(value: Any) -> None:
        if not stack:
            root.append(value)
            return
        top = stack[-1]
        if isinstance(top, list):
            top.append(value)
        elif keys[-1] is expect_key:
            if isinstance(value, (dict, list)):
                raise _Fallback
            keys[-1] = value
        else:
            if keys[-1] in top:
                raise DuplicateKeyError(f"duplicate key {keys[-1]!r}")
            top[keys[-1]] = value
            keys[-1] = expect_key

    for e in events:
        cls = type(e)
        if cls is ev.ScalarEvent:
            if e.anchor or (e.tag and e.tag != "!"):
                raise _Fallback
            add(_plain(e.value) if not e.style and e.implicit[0] else e.value)
        elif cls is ev.MappingStartEvent:
            if e.anchor or (e.tag and e.tag not in ("tag:yaml.org,2002:map",)):
                raise _Fallback
            stack.append({})
            keys.append(expect_key)
        elif cls is ev.MappingEndEvent:
            value = stack.pop()
            keys.pop()
            add(value)
        elif cls is ev.SequenceStartEvent:
            if e.anchor or (e.tag and e.tag not in ("tag:yaml.org,2002:seq",)):
                raise _Fallback
            stack.append([])
            keys.append(None)
        elif cls is ev.SequenceEndEvent:
            value = stack.pop()
            keys.pop()
            add(value)
        elif cls is ev.AliasEvent:
            raise _Fallback
        elif cls is ev.DocumentEndEvent:
            docs.append(root[0] if root else None)
            root.clear()
    return docs


def load_all(data: bytes | str) -> list[Any]:
    """Every document of a YAML stream (raises yaml.YAMLError on malformed input)."""
    try:
        return _build(yaml.parse(data, Loader=_Loader))
    except _Fallback:
        return list(yaml.load_all(data, Loader=_Loader))
