"""Thresholds: every number a rule compares against, read from ``policy/thresholds.yaml``.

Rules never hold literals. A value is looked up by a dotted key (``pue.max``); overrides,
matched on a site's region or site class, replace it for the sites they match (later
overrides win), so a user may hold national hub-node sites to PUE <= 1.25.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idcpilot.errors import Problem, UserInputError
from idcpilot.yamlsource import SourceMap, load_yaml_file

MATCH_KEYS = {"region": "region", "siteClass": "site_class", "tier": "tier", "dataDomain": "data_domain", "site": "name"}
_MISSING = object()


@dataclass(frozen=True)
class Override:
    name: str
    match: dict[str, list[str]]
    values: dict[str, Any]

    def applies(self, site: Any) -> bool:
        for key, wanted in self.match.items():
            if getattr(site, MATCH_KEYS[key], None) not in wanted:
                return False
        return True


@dataclass
class Thresholds:
    file: str
    values: dict[str, Any]
    overrides: list[Override] = field(default_factory=list)
    source: SourceMap | None = None

    def get(self, key: str, site: Any = None) -> Any:
        value = _lookup(self.values, key)
        if value is _MISSING:
            raise KeyError(f"{self.file}: no threshold {key!r}")
        if site is not None:
            for override in self.overrides:
                if key in override.values and override.applies(site):
                    value = override.values[key]
        return value

    def section(self, key: str) -> Any:
        return self.get(key)

    def describe_override(self, key: str, site: Any) -> str | None:
        name = None
        for override in self.overrides:
            if key in override.values and override.applies(site):
                name = override.name
        return name


def _lookup(data: Any, key: str) -> Any:
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def load(path: Path) -> Thresholds:
    data, smap = load_yaml_file(path)
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("thresholds"), dict):
        raise UserInputError([smap.problem((), "expected a mapping with 'thresholds:' (and optional 'overrides:')")])
    for key in data:
        if key not in ("thresholds", "overrides"):
            problems.append(smap.problem((key,), "unknown key (expected thresholds, overrides)"))
    overrides: list[Override] = []
    raw = data.get("overrides") or []
    if not isinstance(raw, list):
        problems.append(smap.problem(("overrides",), "must be a list"))
        raw = []
    for i, item in enumerate(raw):
        where = ("overrides", i)
        if not isinstance(item, dict):
            problems.append(smap.problem(where, "each override is a mapping with match: and set:"))
            continue
        unknown = set(item) - {"name", "match", "set"}
        for key in sorted(unknown):
            problems.append(smap.problem(where + (key,), "unknown key (expected name, match, set)"))
        match = item.get("match")
        values = item.get("set")
        if not isinstance(match, dict) or not match:
            problems.append(smap.problem(where + ("match",), f"give match: with one or more of {', '.join(MATCH_KEYS)}"))
            continue
        if not isinstance(values, dict) or not values:
            problems.append(smap.problem(where + ("set",), "give set: with dotted threshold keys, e.g. pue.max: 1.25"))
            continue
        norm: dict[str, list[str]] = {}
        for key, want in match.items():
            if key not in MATCH_KEYS:
                problems.append(smap.problem(where + ("match", key), f"cannot match on {key!r} (use {', '.join(MATCH_KEYS)})"))
                continue
            norm[key] = [str(w) for w in (want if isinstance(want, list) else [want])]
        for key, value in values.items():
            base = _lookup(data["thresholds"], key)
            if base is _MISSING:
                problems.append(smap.problem(where + ("set", key), f"no threshold {key!r} in thresholds:"))
            elif isinstance(base, (int, float)) and not isinstance(base, bool) and not isinstance(value, (int, float)):
                problems.append(smap.problem(where + ("set", key), f"must be a number like the default ({base})"))
        overrides.append(Override(str(item.get("name") or f"override {i + 1}"), norm, dict(values)))
    if problems:
        raise UserInputError(problems)
    return Thresholds(str(path), data["thresholds"], overrides, smap)
