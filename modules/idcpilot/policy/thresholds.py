"""Thresholds: every number a rule compares against, read from ``policy/thresholds.yaml``.

Rules never hold literals. A value is looked up by a dotted key (``pue.max``); overrides,
matched on a site's region or site class, replace it for the sites they match (later
overrides win), so a user may hold national hub-node sites to PUE <= 1.25.

The file is validated as strictly as an estate (one typo, ``maxi:`` for ``max:``, once let the
gate pass what it should refuse): every key known, every value of its type, regexes that
compile, rule ids that exist; all problems at once, each with file:line:col and the key path.
A new threshold is added to ``SCHEMA`` below beside the rule that reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from idcpilot.errors import Problem, UserInputError, excerpt
from idcpilot.yamlsource import PathKey, SourceMap, load_yaml_file

MATCH_KEYS = {"region": "region", "siteClass": "site_class", "tier": "tier", "dataDomain": "data_domain", "site": "name"}
_MISSING = object()

#: A validator says what is wrong with a value (None: fine); ``ctx`` carries the known rule ids.
Check = Callable[[Any, "_Ctx"], "str | None"]


@dataclass
class _Ctx:
    rule_ids: frozenset[str] | None


# ------------------------------------------------------------------ value validators


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number(lo: float | None = None, hi: float | None = None, *, integer: bool = False, lo_open: bool = False) -> Check:
    kind = "a whole number" if integer else "a number"

    def check(v: Any, _: _Ctx) -> str | None:
        if not _is_num(v) or (integer and not isinstance(v, int)):
            return f"must be {kind}, not {excerpt(v)}"
        if lo is not None and (v <= lo if lo_open else v < lo):
            return f"must be {'>' if lo_open else '>='} {lo} (got {v})"
        if hi is not None and v > hi:
            return f"must be <= {hi} (got {v})"
        return None

    return check


def text(v: Any, _: _Ctx) -> str | None:
    return None if isinstance(v, str) and v.strip() else f"must be a non-empty string, not {excerpt(v)}"


def boolean(v: Any, _: _Ctx) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, not {excerpt(v)}"


def one_of(*choices: Any) -> Check:
    def check(v: Any, _: _Ctx) -> str | None:
        if isinstance(v, bool) or v not in choices:
            return f"must be one of {', '.join(map(str, choices))}, not {excerpt(v)}"
        return None

    return check


def text_list(v: Any, ctx: _Ctx) -> str | None:
    if not isinstance(v, list) or not v:
        return f"must be a non-empty list of strings, not {excerpt(v)}"
    bad = [i for i in v if text(i, ctx)]
    return f"every item must be a non-empty string ({excerpt(bad[0])} is not)" if bad else None


def regex(v: Any, ctx: _Ctx) -> str | None:
    if text(v, ctx):
        return text(v, ctx)
    try:
        re.compile(v)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None


def rule_id(v: Any, ctx: _Ctx) -> str | None:
    if not isinstance(v, str):
        return f"must be a rule id, not {excerpt(v)}"
    if ctx.rule_ids is not None and v not in ctx.rule_ids:
        return f"no rule {excerpt(v)} (see `idcpilot rules`)"
    return None


def mapping_of(key: Check, value: Check) -> "Mapping":
    return Mapping(key, value)


@dataclass(frozen=True)
class Mapping:
    """A mapping with free keys: every key checked by ``key``, every value by ``value``."""

    key: Check
    value: Any  # a Check or a nested schema dict


# ------------------------------------------------------------------ role variable classification

VARIABLE_KEYS = ("rule", "tunable", "min", "max", "equals", "oneOf", "subsetOf", "supersetOf", "umaskBits",
                 "minDays", "minItems", "cidrsWithin", "subsetOfEstate", "urlSchemes", "absolutePath", "allow", "vaulted",
                 "retentionSize")
ESTATE_LISTS = {"cidrsWithin": ("managementCidrs",), "subsetOfEstate": ("ntpServers",)}


def _variable_problems(name: str, spec: Any, ctx: _Ctx) -> list[tuple[PathKey, str]]:
    """(path below the variable, message) for one ``variables:`` entry."""
    if spec == "tunable":
        return []
    if not isinstance(spec, dict):
        return [((), "must be tunable or a mapping with rule: and constraints")]
    out: list[tuple[PathKey, str]] = []
    for key in spec:
        if key not in VARIABLE_KEYS:
            out.append(((key,), f"unknown constraint {excerpt(key)} (expected {', '.join(VARIABLE_KEYS)})"))
    if spec.get("tunable") is not None and spec.get("tunable") is not True:
        out.append((("tunable",), "must be true (or leave it out)"))
    if "rule" in spec:
        why = rule_id(spec["rule"], ctx)
        if why:
            out.append((("rule",), why))
        if spec.get("tunable"):
            out.append((("tunable",), "a variable is either tunable or belongs to a rule"))
    elif not spec.get("tunable"):
        out.append(((), "name the rule the variable can weaken (rule: ID), or mark it tunable"))
    elif set(spec) - {"tunable", "allow"}:
        out.append(((), "a tunable variable takes no constraint but allow:"))
    for key in ("vaulted", "absolutePath", "retentionSize"):
        if key in spec and spec[key] is not True:
            out.append(((key,), "must be true (or leave it out)"))
    if "urlSchemes" in spec and not (isinstance(spec["urlSchemes"], list) and spec["urlSchemes"]
                                     and all(isinstance(x, str) and re.fullmatch(r"[a-z][a-z0-9+.-]{0,15}", x) for x in spec["urlSchemes"])):
        out.append((("urlSchemes",), "must be a non-empty list of URL schemes such as [https]"))
    for key in ("min", "max", "minDays"):
        if key in spec and not _is_num(spec[key]):
            out.append(((key,), f"must be a number, not {excerpt(spec[key])}"))
    if "minItems" in spec and (not isinstance(spec["minItems"], int) or isinstance(spec["minItems"], bool) or spec["minItems"] < 0):
        out.append((("minItems",), f"must be a whole number >= 0, not {excerpt(spec['minItems'])}"))
    for key in ("oneOf", "allow"):
        if key in spec and not isinstance(spec[key], list):
            out.append(((key,), "must be a list of values"))
    for key in ("subsetOf", "supersetOf"):
        if key in spec and spec[key] != "default" and not isinstance(spec[key], list):
            out.append(((key,), "must be a list, or default (the role's default list)"))
    if "umaskBits" in spec and not (isinstance(spec["umaskBits"], str) and re.fullmatch(r"0?[0-7]{3}", spec["umaskBits"])):
        out.append((("umaskBits",), f"must be a quoted octal umask like \"027\", not {excerpt(spec['umaskBits'])}"))
    for key, allowed in ESTATE_LISTS.items():
        if key in spec and spec[key] not in allowed:
            out.append(((key,), f"must be one of {', '.join(allowed)}, not {excerpt(spec[key])}"))
    if "min" in spec and "max" in spec and _is_num(spec["min"]) and _is_num(spec["max"]) and spec["min"] > spec["max"]:
        out.append((("min",), f"min {spec['min']} is above max {spec['max']}"))
    return out


def _variable_name(v: Any, _: _Ctx) -> str | None:
    from idcpilot.policy.rolevars import CONNECTION_PREFIXES, SHARED_PREFIX, role_vars

    if not isinstance(v, str):
        return "must be a variable name"
    if v in role_vars().owner or v.startswith((SHARED_PREFIX, *CONNECTION_PREFIXES)):
        return None
    return ("no role declares this variable (roles/*/meta/argument_specs.yml); idcpilot_* names are the inventory's, "
            "ansible_* and mitogen_* the connection's")


# ------------------------------------------------------------------ the schema

NUM = number()
POS = number(0, lo_open=True)
RATIO = number(0, 1, lo_open=True)
COUNT = number(0, integer=True)
LEVEL = one_of("mandatory", "advisory", "disabled")

SCHEMA: dict[str, Any] = {
    "pue": {"max": number(1, 3)},
    "autoops": {"minRate": RATIO},
    "multicloud": {"minClusters": number(1, integer=True)},
    "sdwan": {"maxLatencyMs": POS, "encryption": text_list},
    "fiveG": {"minRadiusKm": POS},
    "cdn": {"minNodes": COUNT},
    "support": {"maxResponseSeconds": POS, "hours": text},
    "serviceLevels": text_list,
    "zeroTrust": {"requireAllowList": boolean, "minAccuracy": RATIO},
    "pki": {"caDays": number(1, integer=True), "serverDays": number(1, 397, integer=True),
            "serverRenewDays": number(0, integer=True), "clientDays": number(1, 397, integer=True),
            "crlDays": number(1, 30, integer=True), "crlRenewDays": number(0, integer=True),
            "crlAlertDays": number(0, integer=True)},
    "threatIntel": {"maxSyncMinutes": POS, "minPrefixV4": number(0, 32, integer=True),
                    "minPrefixV6": number(0, 128, integer=True), "maxFeedBytes": number(1, integer=True)},
    "data": {"classifications": text_list, "sensitive": text_list, "backupRequired": text_list},
    "audit": {"minRetentionDays": number(1, integer=True), "journalMiBPerDay": POS},
    "emergency": {"levels": text_list, "maxHandlingHours": POS},
    "drills": {"minPerYear": COUNT, "windowDays": number(1, integer=True), "kinds": text_list},
    "tiers": {"required": text_list, "minRegionCoverage": RATIO},
    "mlps3": {
        "roleGroups": {"administrator": text, "auditor": text, "securityOfficer": text},
        "forbiddenAccounts": text_list,
        "minNtpServers": COUNT,
        "highRiskPorts": mapping_of(number(1, 65535, integer=True), text),
        "minManagementPrefix": number(0, 128, integer=True),
        "minTls": one_of("1.2", "1.3"),
    },
    "k8s": {
        "systemNamespaces": text_list,
        "podSecurityLevel": one_of("privileged", "baseline", "restricted"),
        "labels": {"classification": text, "domain": text},
        "secretKeyPattern": regex,
        "artifactSchemes": text_list,
    },
    "crossguard": {"enforcement": {"critical": LEVEL, "high": LEVEL, "medium": LEVEL, "low": LEVEL}},
    "variables": mapping_of(_variable_name, _variable_problems),
    "waivers": {
        "maxDays": number(1, 3650, integer=True),
        "rules": mapping_of(rule_id, {"waivable": boolean}),
    },
}


def _walk(value: Any, schema: Any, path: PathKey, ctx: _Ctx, smap: SourceMap, out: list[Problem]) -> None:
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            out.append(smap.problem(path, f"must be a mapping with {', '.join(schema)}"))
            return
        for key in value:
            if key not in schema:
                out.append(smap.problem(path + (key,), f"unknown key {excerpt(key)} (expected {', '.join(schema)})"))
        for key, sub in schema.items():
            if key not in value:
                out.append(smap.problem(path + (key,), f"missing key {key!r} (the rules need it)"))
            else:
                _walk(value[key], sub, path + (key,), ctx, smap, out)
    elif isinstance(schema, Mapping):
        if not isinstance(value, dict):
            out.append(smap.problem(path, "must be a mapping"))
            return
        for key, item in value.items():
            k = int(key) if isinstance(key, str) and key.isdigit() else key
            why = schema.key(k, ctx)
            if why:
                out.append(smap.problem(path + (key,), why))
            if schema.value is _variable_problems:
                for sub, msg in _variable_problems(key, item, ctx):
                    out.append(smap.problem(path + (key,) + sub, msg))
            else:
                _walk(item, schema.value, path + (key,), ctx, smap, out)
    else:
        why = schema(value, ctx)
        if why:
            out.append(smap.problem(path, why))


def _schema_at(key: str) -> Any:
    node: Any = SCHEMA
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


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


def _known_rule_ids() -> frozenset[str] | None:
    from idcpilot.policy import registry

    try:
        return frozenset(lr.rule.id for lr in registry.load_rules(registry.policy_dir()))
    except UserInputError:
        return None


def load(path: Path, rule_ids: Iterable[str] | None = None) -> Thresholds:
    """Read and validate a thresholds file; UserInputError lists every problem at once."""
    data, smap = load_yaml_file(path)
    ctx = _Ctx(frozenset(rule_ids) if rule_ids is not None else _known_rule_ids())
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("thresholds"), dict):
        raise UserInputError([smap.problem((), "expected a mapping with 'thresholds:' (and optional 'overrides:')")])
    for key in data:
        if key not in ("thresholds", "overrides"):
            problems.append(smap.problem((key,), "unknown key (expected thresholds, overrides)"))
    _walk(data["thresholds"], SCHEMA, ("thresholds",), ctx, smap, problems)
    overrides: list[Override] = []
    raw = data.get("overrides") or []
    if not isinstance(raw, list):
        problems.append(smap.problem(("overrides",), "must be a list"))
        raw = []
    for i, item in enumerate(raw):
        where: PathKey = ("overrides", i)
        if not isinstance(item, dict):
            problems.append(smap.problem(where, "each override is a mapping with match: and set:"))
            continue
        for key in sorted(set(item) - {"name", "match", "set"}):
            problems.append(smap.problem(where + (key,), "unknown key (expected name, match, set)"))
        if "name" in item and text(item["name"], ctx):
            problems.append(smap.problem(where + ("name",), text(item["name"], ctx) or ""))
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
                problems.append(smap.problem(where + ("match", key), f"cannot match on {excerpt(key)} (use {', '.join(MATCH_KEYS)})"))
                continue
            wanted = want if isinstance(want, list) else [want]
            if not wanted or any(not isinstance(w, str) or not w for w in wanted):
                problems.append(smap.problem(where + ("match", key), "must be a name or a list of names"))
            norm[key] = [str(w) for w in wanted]
        for key, value in values.items():
            base = _lookup(data["thresholds"], key)
            schema = _schema_at(key)
            if base is _MISSING or schema is None:
                problems.append(smap.problem(where + ("set", key), f"no threshold {excerpt(key)} in thresholds:"))
            elif callable(schema) and not isinstance(schema, Mapping):
                why = schema(value, ctx)
                if why:
                    problems.append(smap.problem(where + ("set", key), why))
            else:
                problems.append(smap.problem(where + ("set", key), "an override sets single values (e.g. pue.max), not a section"))
        overrides.append(Override(str(item.get("name") or f"override {i + 1}"), norm, dict(values)))
    if problems:
        raise UserInputError(problems)
    return Thresholds(str(path), data["thresholds"], overrides, smap)
