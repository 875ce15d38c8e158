"""Read ``estate.yaml`` into a ``Catalogue``, or fail with every problem at once."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from idcpilot.catalogue import model as m
from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.catalogue.references import check_references
from idcpilot.errors import Problem, UserInputError
from idcpilot.yamlsource import PathKey, SourceMap, load_yaml_file

ESTATE_FILE = "estate.yaml"


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
    file = estate_file(target)
    shown = display_name(file)
    if not file.exists() and not file.is_symlink():
        raise UserInputError.single(shown, f"no estate catalogue here (expected {ESTATE_FILE})")
    data, smap = load_yaml_file(file, shown)
    return build(data, smap, file)


def build(data: Any, smap: SourceMap, file: Path) -> Catalogue:
    if not isinstance(data, dict):
        raise UserInputError([smap.problem((), "the catalogue must be a mapping (apiVersion, kind, metadata, spec)")])
    try:
        estate = m.Estate.model_validate(data)
    except ValidationError as exc:
        raise UserInputError(translate_errors(exc, data, smap)) from None
    hosts, groups, problems = expand_hosts(estate, smap)
    catalogue = Catalogue(estate=estate, root=file.parent, file=file, source=smap, hosts=hosts, groups=groups)
    problems += check_references(catalogue)
    if problems:
        raise UserInputError(problems)
    return catalogue


def expand_hosts(estate: m.Estate, smap: SourceMap) -> tuple[dict[str, Host], dict[str, list[str]], list[Problem]]:
    defaults = estate.spec.host_defaults
    hosts: dict[str, Host] = {}
    groups: dict[str, list[str]] = {}
    first_seen: dict[str, PathKey] = {}
    problems: list[Problem] = []
    for si, site in enumerate(estate.spec.sites):
        for hi, spec in enumerate(site.hosts):
            path: PathKey = ("spec", "sites", si, "hosts", hi)
            roles = tuple(dict.fromkeys(spec.roles if spec.roles is not None else defaults.roles))
            distribution = spec.os or defaults.os
            if spec.group:
                if spec.group in groups or spec.group in first_seen:
                    problems.append(smap.problem(path + ("group",), f"duplicate host group name {spec.group!r}"))
                    continue
                groups[spec.group] = []
            for index, name in enumerate(spec.host_names(), start=1):
                if name in first_seen:
                    line, _ = smap.locate(first_seen.get(name, path))
                    field = path + ("name" if spec.name else "namePattern",)
                    problems.append(smap.problem(field, f"duplicate host name {name!r} (also declared at line {line})"))
                    continue
                first_seen[name] = path
                hosts[name] = Host(
                    name=name,
                    site=site.name,
                    roles=roles,
                    distribution=distribution,
                    automated=spec.automated,
                    path=path,
                    group=spec.group,
                    index=index if spec.group else None,
                    management_address=spec.management_address,
                    ports=tuple(spec.ports),
                    vars=spec.vars,
                )
                if spec.group:
                    groups[spec.group].append(name)
    clash = set(groups) & set(hosts)
    for name in sorted(clash):
        problems.append(smap.problem(hosts[name].path, f"{name!r} is both a host and a host group"))
    return hosts, groups, problems


# ------------------------------------------------------------------ pydantic errors -> problems


@lru_cache(maxsize=1)
def _known_fields() -> tuple[str, ...]:
    names: set[str] = set()
    for obj in vars(m).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
            for name, info in obj.model_fields.items():
                names.add(info.alias or name)
    return tuple(sorted(names))


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
    return bool(re.fullmatch(r"(int|str|float|bool|none|date|[a-z-]+\[.*\])", part))


def _message(err: dict[str, Any], path: PathKey) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else ""
        close = difflib.get_close_matches(name, _known_fields(), n=1)
        return f"unknown field {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        return f"must be a number {op} {bound} (got {value!r})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {value!r})"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == m.NAME_RE:
            return f"must be a lower-case DNS label: a-z, 0-9 and '-' (got {value!r})"
        return f"must match {ctx.get('pattern')} (got {value!r})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer (got {value!r})"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number (got {value!r})"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false (got {value!r})"
    if kind in ("string_type",):
        return f"must be a string (got {value!r})"
    if kind in ("list_type",):
        return f"must be a list (got {type(value).__name__})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping (got {type(value).__name__})"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"must be a date YYYY-MM-DD (got {value!r})"
    msg = err["msg"]
    msg = re.sub(r"^Value error, ", "", msg)
    msg = re.sub(r"^Input should be", "must be", msg)
    return msg


def translate_errors(exc: ValidationError, data: Any, smap: SourceMap) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        path = _data_path(tuple(err["loc"]), data, err["type"])
        problems.append(smap.problem(path, _message(err, path)))
    return problems
