"""Plain YAML documents, fast: libyaml's C parser events turned straight into dicts and lists.

PyYAML's CSafeLoader parses in C but composes and constructs in Python; for thousands of
manifests that is most of the time. Building objects from the parser events, with plain
scalars resolved by SafeLoader's own rules (memoised), gives the same values about twice as
fast. Anything unusual (tags, anchors, aliases) falls back to CSafeLoader, reading only what
``idcpilot.yamlsource`` reads (plain tags, no merge keys), so the two loaders agree.

``load_positioned_all`` does the same for every document of a stream and also records where
every key and list item was written, exactly as ``idcpilot.yamlsource.load_yaml_documents`` does
(same events, same marks); it answers None whenever that loader would have something to say (a
duplicate key, a key that is not a plain scalar, a malformed value, a limit broken), so the caller
asks it instead. ``yamlsource.load_yaml_text`` reads every estate, lock and vars file through it
(keys as text, as that loader makes them): 0.20 CPU s for the 1.1 MB estate of 100,000 hosts in
bench/bench_catalogue.py, where composing PyYAML's nodes and converting them took 0.42 s.

Both read within ``idcpilot.yamlsource``'s limits. ``load_all``'s loop counts nesting itself (a
breach raises ``LimitError``); input long enough to hold an over-long string or too many values,
and anything that falls back to CSafeLoader (aliases among it), is checked by
``yamlsource.check_limits`` first. The positioned loop counts nesting, values and string lengths
itself (it never sees an alias: those fall back), and leaves any breach to the slow loader, which
names it with its line.
"""

from __future__ import annotations

from typing import Any, Callable

import yaml
from yaml import events as ev

from idcpilot.yamlsource import (COLLECTION_TAGS, MAX_DEPTH, MAX_NODES, MAX_STRING_CHARS, SCALAR_TAGS, LimitError,
                                 check_limits, depth_error)

try:
    from yaml import CSafeLoader as _Loader
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

    def _CParser(data: Any) -> Any:  # type: ignore[no-redef]
        return _Loader(data)  # its get_event also answers None at the end of the stream


class _Fallback(Exception):
    pass


class DuplicateKeyError(yaml.YAMLError):
    """PyYAML silently keeps the last of two equal keys; we refuse (callers report file:line)."""


__all__ = ["DuplicateKeyError", "LimitError", "load_all", "load_positioned", "load_positioned_all"]

#: Below this length, no string and no count of values can break a limit (each value takes at
#: least one character); only nesting is counted, inline.
_SHORT = min(MAX_STRING_CHARS, MAX_NODES)


class _PlainLoader(_Loader):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader reading only what ``yamlsource`` reads: plain tags (no !!binary bytes,
    no !!set), no merge keys; anything else is a ConstructorError, as it is an error there."""

    yaml_constructors = {t: c for t, c in _Loader.yaml_constructors.items() if t in (*SCALAR_TAGS, *COLLECTION_TAGS, None)}

    def flatten_mapping(self, node: Any) -> None:
        for key, _ in node.value:
            if key.tag == "tag:yaml.org,2002:merge":
                raise yaml.constructor.ConstructorError(None, None, "YAML merge keys (<<) are not supported", key.start_mark)


def _fallback(data: bytes | str) -> list[Any]:
    try:
        return list(yaml.load_all(data, Loader=_PlainLoader))
    except yaml.YAMLError:
        raise
    except Exception as exc:  # `!!bool maybe` (KeyError), `!!int x` (ValueError), ...
        raise yaml.constructor.ConstructorError(None, None, f"invalid value ({type(exc).__name__})", None) from None


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
        try:
            out = _CTOR.construct_object(yaml.ScalarNode(tag, value), deep=True)
        except Exception:  # e.g. the timestamp 2026-13-45: the slow loader names its line
            raise _Fallback from None
    if len(_plain_cache) < 50_000 and not isinstance(out, (list, dict)):
        _plain_cache[value] = out
    return out


_LIST = object()  # the container being filled is a list
_NO_KEY = object()  # the mapping being filled waits for a key
_MISS = object()


def _build(get_event: Callable[[], Any]) -> list[Any]:
    """Documents from libyaml's events; one loop with the container being filled in locals
    (this loop is most of the time spent reading manifests)."""
    scalar_event, map_start, map_end = ev.ScalarEvent, ev.MappingStartEvent, ev.MappingEndEvent
    seq_start, seq_end, doc_end, alias = ev.SequenceStartEvent, ev.SequenceEndEvent, ev.DocumentEndEvent, ev.AliasEvent
    cache_get, plain = _plain_cache.get, _plain
    docs: list[Any] = []
    saved: list[tuple[Any, Any]] = []  # (container, key) of each enclosing container
    top: Any = []  # the container being filled; at document level, a list that receives the root
    key: Any = _LIST  # _LIST, _NO_KEY, or the key whose value comes next
    while True:
        e = get_event()
        if e is None:
            return docs
        cls = e.__class__
        if cls is scalar_event:
            if e.anchor or (e.tag and e.tag != "!"):
                raise _Fallback
            value = e.value
            if not e.style and e.implicit[0]:
                found = cache_get(value, _MISS)
                value = plain(value) if found is _MISS else found
        elif cls is map_start or cls is seq_start:
            if e.anchor or (e.tag and e.tag not in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")):
                raise _Fallback
            if key is _NO_KEY:
                raise _Fallback  # a collection as a key
            if len(saved) >= MAX_DEPTH:
                raise depth_error(e.start_mark)
            saved.append((top, key))
            if cls is map_start:
                top, key = {}, _NO_KEY
            else:
                top, key = [], _LIST
            continue
        elif cls is map_end or cls is seq_end:
            value = top
            top, key = saved.pop()
        elif cls is doc_end:
            docs.append(top[0] if top else None)
            top = []
            continue
        elif cls is alias:
            raise _Fallback
        else:
            continue
        if key is _LIST:
            top.append(value)
        elif key is _NO_KEY:
            key = value
        else:
            if key in top:
                raise DuplicateKeyError(f"duplicate key {key!r}")
            top[key] = value
            key = _NO_KEY


def load_all(data: bytes | str) -> list[Any]:
    """Every document of a YAML stream (raises yaml.YAMLError on malformed input, LimitError
    beyond a limit)."""
    checked = len(data) > _SHORT
    if checked:
        check_limits(data)
    try:
        return _build(_CParser(data).get_event)
    except _Fallback:
        if not checked:
            check_limits(data)
        return _fallback(data)


Positions = dict[tuple[Any, ...], tuple[int, int]]


def load_positioned(text: str, str_keys: bool = False) -> tuple[Any, Positions] | None:
    """The one document of TEXT and its positions (see ``load_positioned_all``); None also when
    TEXT is not exactly one document."""
    docs = load_positioned_all(text, str_keys)
    return docs[0] if docs is not None and len(docs) == 1 else None


def load_positioned_all(text: str, str_keys: bool = False) -> list[tuple[Any, Positions]] | None:
    """Every document of TEXT, each with the 1-based (line, column) of its root, of every mapping
    key (its path ends with ``str(key)``) and of every list item: what
    ``yamlsource.load_yaml_documents`` returns as SourceMaps. None when TEXT is not plain, not
    valid or beyond a limit (the caller's loader then says what is wrong). ``str_keys``: mapping
    keys as text (``1: x`` gives the key "1"), as ``yamlsource.load_yaml_text`` gives them;
    otherwise they keep YAML's types."""
    try:
        return _positioned(_CParser(text).get_event, str_keys)
    except (_Fallback, DuplicateKeyError, yaml.YAMLError):
        return None


def _positioned(get_event: Callable[[], Any], str_keys: bool) -> list[tuple[Any, Positions]]:
    docs: list[tuple[Any, Positions]] = []
    positions: Positions = {}
    stack: list[Any] = []  # containers being filled
    paths: list[tuple[Any, ...]] = []  # path of each container
    names: list[Any] = []  # per mapping: the str keys seen; per list: None
    pending: list[Any] = []  # per mapping: the key awaiting its value (expect_key when none)
    expect_key = object()
    root: list[Any] = []

    def place(mark: Any) -> tuple[Any, ...]:
        """Path of the node starting at MARK (recorded when it is a list item or the root)."""
        if not stack:
            positions[()] = (mark.line + 1, mark.column + 1)
            return ()
        top = stack[-1]
        if names[-1] is None:
            path = paths[-1] + (len(top),)
            positions[path] = (mark.line + 1, mark.column + 1)
            return path
        return pending[-1][1]

    def add(value: Any) -> None:
        if not stack:
            root.append(value)
            return
        top = stack[-1]
        if names[-1] is None:
            top.append(value)
        else:
            top[pending[-1][0]] = value
            pending[-1] = expect_key

    values = 0  # scalars and collections: without aliases, what the limit on values counts
    while True:
        e = get_event()
        if e is None:
            return docs
        cls = type(e)
        if cls is ev.ScalarEvent:
            values += 1
            if e.anchor or (e.tag and e.tag != "!") or len(e.value) > MAX_STRING_CHARS or values > MAX_NODES:
                raise _Fallback
            value = _plain(e.value) if not e.style and e.implicit[0] else e.value
            if stack and names[-1] is not None and pending[-1] is expect_key:  # a key
                if value is None or not isinstance(value, (str, int, float, bool)):
                    raise _Fallback  # the slow loader reports keys that are not plain scalars
                name = str(value)
                if name in names[-1]:
                    raise _Fallback  # the slow loader reports the duplicate with both lines
                names[-1].add(name)
                path = paths[-1] + (name,)
                positions[path] = (e.start_mark.line + 1, e.start_mark.column + 1)
                pending[-1] = (name if str_keys else value, path)
                continue
            place(e.start_mark)
            add(value)
        elif cls is ev.MappingStartEvent or cls is ev.SequenceStartEvent:
            values += 1
            if e.anchor or (e.tag and e.tag not in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")) or values > MAX_NODES:
                raise _Fallback
            if stack and names[-1] is not None and pending[-1] is expect_key:
                raise _Fallback  # a collection as a key
            if len(stack) >= MAX_DEPTH:
                raise depth_error(e.start_mark)
            paths.append(place(e.start_mark))
            if cls is ev.MappingStartEvent:
                stack.append({})
                names.append(set())
            else:
                stack.append([])
                names.append(None)
            pending.append(expect_key)
        elif cls is ev.MappingEndEvent or cls is ev.SequenceEndEvent:
            value = stack.pop()
            paths.pop()
            names.pop()
            pending.pop()
            add(value)
        elif cls is ev.AliasEvent:
            raise _Fallback
        elif cls is ev.DocumentEndEvent:
            docs.append((root[0] if root else None, positions))
            positions, root = {}, []
