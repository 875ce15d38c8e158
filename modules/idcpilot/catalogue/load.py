"""Read ``estate.yaml`` into a ``Catalogue``, or fail with every problem at once.

Type problems (a field of the wrong shape) and consistency problems (a dangling reference, a
duplicate name) are reported together: when the model refuses some entries, those entries are
set aside and the rest of the catalogue is still checked for consistency, with every location
pointing at the original file. Names defined inside a set-aside entry count as existing, so a
broken site does not also make every reference to it "unknown".
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from idcpilot.catalogue import model as m
from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.catalogue.references import check_references
from idcpilot.catalogue.types import NAME_PATTERN, expand_name_pattern_range
from idcpilot.errors import Problem, UserInputError, excerpt
from idcpilot.gcpause import paused
from idcpilot.yamlsource import PathKey, SourceMap, format_path, load_yaml_file

ESTATE_FILE = "estate.yaml"

#: Rounds of setting entries aside before giving up on the consistency checks; each round
#: climbs one level (field -> its object -> the list entry holding it).
_PRUNE_ROUNDS = 12


def estate_file(target: str | Path) -> Path:
    """inventories/<env> or inventories/<env>/estate.yaml -> the estate file."""
    path = Path(target)
    if path.is_dir():
        return path / ESTATE_FILE
    return path


def display_name(path: Path) -> str:
    """Paths in messages are relative to the working directory when they can be."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # elsewhere, or a symlink loop (the loader names it)
        return str(path)


def load(target: str | Path) -> Catalogue:
    """Load and validate a catalogue; raise UserInputError listing every problem."""
    catalogue, problems = load_partial(target)
    if problems or catalogue is None:
        raise UserInputError(problems)
    return catalogue


def load_partial(target: str | Path) -> tuple[Catalogue | None, list[Problem]]:
    """Every problem of the catalogue, and what of it can still be read, for reporting only:
    when some entries have a type problem the catalogue holds the rest (None when too little
    is readable), so that checks further down (IPAM, the lock) can add their problems to the
    same report. A catalogue with problems is never planned, deployed or handed to Ansible;
    ``load`` refuses it. A file that is not YAML at all raises UserInputError."""
    file = estate_file(target)
    shown = display_name(file)
    if not file.exists() and not file.is_symlink():
        raise UserInputError.single(shown, f"no estate catalogue here (expected {ESTATE_FILE})")
    with paused():
        data, smap = load_yaml_file(file, shown)
        return _build(data, smap, file)


def build(data: Any, smap: SourceMap, file: Path) -> Catalogue:
    catalogue, problems = _build(data, smap, file)
    if problems or catalogue is None:
        raise UserInputError(problems)
    return catalogue


def _build(data: Any, smap: SourceMap, file: Path) -> tuple[Catalogue | None, list[Problem]]:
    if not isinstance(data, dict):
        return None, [smap.problem((), "the catalogue must be a mapping (apiVersion, kind, metadata, spec)")]
    try:
        estate = m.Estate.model_validate(data)
    except ValidationError as exc:
        problems = translate_errors(exc, data, smap)
        partial = _set_aside(data, exc)
        if partial is None:
            return None, problems
        catalogue, more = _checked(partial.estate, partial.source(smap), file, partial.unreadable)
        return catalogue, problems + more
    return _checked(estate, smap, file, frozenset())


def _checked(estate: m.Estate, smap: SourceMap, file: Path, unreadable: frozenset[str]) -> tuple[Catalogue, list[Problem]]:
    """The catalogue and its consistency problems (duplicates, dangling references)."""
    hosts, groups, problems = expand_hosts(estate, smap)
    catalogue = Catalogue(estate=estate, root=file.parent, file=file, source=smap, hosts=hosts, groups=groups)
    return catalogue, problems + check_references(catalogue, unreadable)


def expand_hosts(estate: m.Estate, smap: SourceMap) -> tuple[dict[str, Host], dict[str, list[str]], list[Problem]]:
    """Every concrete host (host groups expanded), the members of each group, and duplicates.

    What a host entry gives all its hosts is read once per entry, not once per host (a group
    of thousands differs only in name and index)."""
    defaults = estate.spec.host_defaults
    hosts: dict[str, Host] = {}
    groups: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for si, site in enumerate(estate.spec.sites):
        for hi, spec in enumerate(site.hosts):
            path: PathKey = ("spec", "sites", si, "hosts", hi)
            group = spec.group
            if group:
                if group in groups or group in hosts:
                    problems.append(smap.problem(path + ("group",), f"duplicate host group name {excerpt(group)}"))
                    continue
                groups[group] = []
            members = groups[group] if group else None
            common = {
                "site": site.name,
                "roles": tuple(dict.fromkeys(spec.roles if spec.roles is not None else defaults.roles)),
                "distribution": spec.os or defaults.os,
                "automated": spec.automated,
                "path": path,
                "group": group,
                "management_address": spec.management_address,
                "ports": tuple(spec.ports),
                "vars": spec.vars,
            }
            for host in Host.named(spec.host_names(), bool(group), **common):
                name = host.name
                if name in hosts:
                    line, _ = smap.locate(hosts[name].path)
                    where = path + ("name" if spec.name else "namePattern",)
                    problems.append(smap.problem(where, f"duplicate host name {excerpt(name)} (also declared at line {line})"))
                    continue
                hosts[name] = host
                if members is not None:
                    members.append(name)
    clash = set(groups) & set(hosts)
    for name in sorted(clash):
        problems.append(smap.problem(hosts[name].path, f"{excerpt(name)} is both a host and a host group"))
    return hosts, groups, problems


# ------------------------------------------------------------------ set aside what the model refuses


@dataclass
class _Partial:
    estate: m.Estate
    index_maps: dict[PathKey, list[int]]  # list path (original) -> original indices kept
    unreadable: frozenset[str]

    def translate(self, path: PathKey) -> PathKey:
        return _translate(self.index_maps, path)

    def source(self, smap: SourceMap) -> SourceMap:
        return _TranslatedSource(smap.file, smap.positions, self.translate)


@dataclass
class _TranslatedSource(SourceMap):
    """A SourceMap for the reduced data: paths are translated back to the file's."""

    translate_path: Callable[[PathKey], PathKey] = field(default=lambda p: p)

    def locate(self, path: PathKey) -> tuple[int, int]:
        return SourceMap.locate(self, self.translate_path(tuple(path)))

    def problem(self, path: PathKey, message: str) -> Problem:
        original = self.translate_path(tuple(path))
        line, column = SourceMap.locate(self, original)
        return Problem(self.file, line, column, format_path(original), message)


def _translate(index_maps: dict[PathKey, list[int]], path: PathKey) -> PathKey:
    """A path in the reduced data -> the same entry's path in the file."""
    out: list[str | int] = []
    for part in path:
        kept = index_maps.get(tuple(out))
        if isinstance(part, int) and kept is not None and 0 <= part < len(kept):
            part = kept[part]
        out.append(part)
    return tuple(out)


def _set_aside(data: dict[str, Any], exc: ValidationError) -> _Partial | None:
    """The estate without the entries the model refuses, or None when too much is unreadable."""
    removed: set[PathKey] = set()
    errors = [_data_path(tuple(e["loc"]), data, e["type"]) for e in exc.errors(include_url=False)]
    for _ in range(_PRUNE_ROUNDS):
        for path in errors:
            target = _target(data, path, removed)
            if not target:
                return None
            removed.add(target)
        reduced, index_maps = _without(data, removed)
        try:
            estate = m.Estate.model_validate(reduced)
        except ValidationError as again:
            errors = [_translate(index_maps, _data_path(tuple(e["loc"]), reduced, e["type"])) for e in again.errors(include_url=False)]
            continue
        return _Partial(estate, index_maps, frozenset(_names_in(data, removed)))
    return None


def _target(data: Any, path: PathKey, removed: set[PathKey]) -> PathKey:
    """What to set aside for a problem at ``path``: the value itself, or, when it was already set
    aside (a required field) or is absent, the object that holds it."""
    target = path
    while target and (target in removed or not _exists(data, target) or any(target[:i] in removed for i in range(len(target)))):
        inside = next((target[:i] for i in range(1, len(target)) if target[:i] in removed), None)
        target = inside[:-1] if inside is not None else target[:-1]
    return target


def _exists(data: Any, path: PathKey) -> bool:
    node = data
    for part in path:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False
    return True


def _without(data: Any, removed: set[PathKey]) -> tuple[Any, dict[PathKey, list[int]]]:
    index_maps: dict[PathKey, list[int]] = {}

    def strip(node: Any, path: PathKey) -> Any:
        if isinstance(node, dict):
            return {k: strip(v, path + (k,)) for k, v in node.items() if path + (k,) not in removed}
        if isinstance(node, list):
            kept = [i for i in range(len(node)) if path + (i,) not in removed]
            if len(kept) != len(node):
                index_maps[path] = kept
            return [strip(node[i], path + (i,)) for i in kept]
        return node

    return strip(data, ()), index_maps


def _names_in(data: Any, removed: set[PathKey]) -> set[str]:
    """Names inside the entries set aside (every string, and the hosts a group pattern makes):
    references to them are neither confirmed nor reported as unknown."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            names.add(node)
        elif isinstance(node, dict):
            pattern, count = node.get("namePattern"), node.get("count")
            if isinstance(pattern, str) and isinstance(count, int) and 0 < count <= 100_000 and _re_fullmatch(NAME_PATTERN, pattern):
                names.update(expand_name_pattern_range(pattern, 1, count))
            for key, value in node.items():
                names.add(str(key))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in removed:
        if isinstance(path[-1], str):
            names.add(path[-1])  # a mapping key (a data domain) set aside
        node: Any = data
        for part in path:
            node = node[part]
        walk(node)
    return names


def _re_fullmatch(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


# ------------------------------------------------------------------ pydantic errors -> problems


def _data_path(loc: tuple[Any, ...], data: Any, kind: str) -> PathKey:
    """Keep the parts of a pydantic loc that index real data (drop union member tags)."""
    out: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            out.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            out.append(part)
            current = current[part]
        elif last and kind == "missing" and isinstance(part, str):
            out.append(part)
        elif isinstance(current, dict) and isinstance(part, str) and kind not in ("missing",) and not _is_tag(part):
            out.append(part)
            current = None
    return tuple(out)


def _is_tag(part: str) -> bool:
    return part == "[key]" or bool(_TAG.fullmatch(part))


_TAG = re.compile(r"(int|str|float|bool|none|date|[a-z-]+\[.*\])")


def fields_at(path: PathKey) -> tuple[str, ...]:
    """The YAML field names valid in the object at ``path`` (for "did you mean")."""
    tp: Any = m.Estate
    for part in path:
        tp = _step(tp, part)
        if tp is None:
            return ()
    cls = _model_class(tp)
    if cls is None:
        return ()
    return tuple(info.alias or name for name, info in cls.model_fields.items())


def _unwrap(tp: Any) -> list[Any]:
    """Annotated[X, ...] -> [X]; X | None -> [X]; X | Y -> [X, Y]."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [inner for arg in typing.get_args(tp) if arg is not type(None) for inner in _unwrap(arg)]
    return [tp]


def _model_class(tp: Any) -> type[BaseModel] | None:
    for option in _unwrap(tp):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _step(tp: Any, part: str | int) -> Any:
    for option in _unwrap(tp):
        if isinstance(option, type) and issubclass(option, BaseModel) and isinstance(part, str):
            for name, info in option.model_fields.items():
                if part in (info.alias, name):
                    return info.annotation
            return None
        origin = typing.get_origin(option)
        if origin is list and isinstance(part, int):
            return typing.get_args(option)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(option)[1]
    return None


def _kind(value: Any) -> str:
    """A user's value named in words: 'null', 'true', 'a number', 'text', 'a list', 'a mapping'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {excerpt(value)}"
    if isinstance(value, str):
        return f"text {excerpt(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return "a mapping"
    return excerpt(value)


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return excerpt(value)


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _message(err: dict[str, Any], path: PathKey) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else ""
        close = difflib.get_close_matches(name, [f for f in fields_at(path[:-1]) if f != name], n=1)
        return f"unknown field {excerpt(name)}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        return f"must be a number {_BOUNDS[kind]} {bound} (got {_shown(value)})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {_shown(value)})"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')} (got {_shown(value)})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer (got {_kind(value)})"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number (got {_kind(value)})"
    if kind == "finite_number":
        return f"must be a finite number (got {_shown(value)})"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false (got {_kind(value)})"
    if kind == "string_type":
        return f"must be text (got {_kind(value)})"
    if kind == "list_type":
        return f"must be a list (got {_kind(value)})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping (got {_kind(value)})"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s) (got {ctx.get('actual_length')})"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s) (got {ctx.get('actual_length')})"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type", "date_from_datetime_inexact"):
        return f"must be a date YYYY-MM-DD (got {_kind(value)})"
    if kind in ("none_required",):
        return f"must be null (got {_kind(value)})"
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if msg.startswith("Input should be"):
        msg = "must be" + msg[len("Input should be"):] + f" (got {_kind(value)})"
    return msg


def translate_errors(exc: ValidationError, data: Any, smap: SourceMap) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        path = _data_path(tuple(err["loc"]), data, err["type"])
        at = (err.get("ctx") or {}).get("at") or ()
        problems.append(_problem(smap, path + tuple(at), _message(err, path)))
    return problems


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _problem(smap: SourceMap, path: PathKey, message: str) -> Problem:
    """Like ``smap.problem``, but a mapping key the user wrote (an unknown field, a vars name)
    is shown cut and escaped, so a field path cannot flood or forge lines of the output."""
    line, column = smap.locate(path)
    shown = tuple(p if isinstance(p, int) or _PLAIN_KEY.fullmatch(p) else excerpt(p, 40) for p in path)
    return Problem(smap.file, line, column, format_path(shown), message)
