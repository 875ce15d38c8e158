"""Does a role variable weaken a control? Deny by default, classification in ``policy/thresholds.yaml``.

Every role variable (``roles/*/meta/argument_specs.yml``, and ``idcpilot_*``) is classified under
``thresholds.variables``: ``tunable`` (no security effect), or the rule id it can weaken with the
constraints a value other than the role default must keep: ``min``, ``max``, ``equals``, ``oneOf``,
``subsetOf`` (only these items), ``supersetOf`` (these items stay), ``umaskBits`` (these bits stay
masked), ``minDays`` (a systemd time span at least this long), ``minItems``, ``cidrsWithin``
(every CIDR inside the estate's management networks), ``subsetOfEstate`` (items of an estate list),
``urlSchemes`` (a one-line URL with one of these schemes), ``absolutePath`` (a one-line absolute path
without ``..``, or empty), ``allow`` (further literal values that are fine), ``vaulted`` (a secret: only from a
vault), ``retentionSize`` (a systemd size that holds ``audit.journalMiBPerDay`` for ``audit.minRetentionDays``
days). A rule with no constraint keeps its default.

A value that group_vars / host_vars / catalogue host vars set is judged in every layer that reaches a
host. A Jinja template fails unless it is the default or an allowed literal (the gate cannot show
what it renders to). A role variable missing from the classification fails PILOT-MLPS3.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import defaultdict
from typing import Any, Iterator

from idcpilot.errors import excerpt
from idcpilot.hostchecks import size_bytes, timespan_seconds
from idcpilot.policy.model import Location, Outcome
from idcpilot.policy.rolevars import role_vars

#: The rule that unclassified role variables, and templated tunables, fail.
UNCLASSIFIED_RULE = "PILOT-MLPS3"

_TRUE = {True, "yes", "true", "True", "on"}
_FALSE = {False, "no", "false", "False", "off"}
_TEMPLATE = re.compile(r"\{\{|\{%|\{#")


def timespan_days(value: Any) -> float | None:
    """A systemd time span ('6month', '180d', '1y 2w', 15552000) in days, read exactly as the
    host reads it (idcpilot.hostchecks); None if systemd would refuse it."""
    seconds = timespan_seconds(value)
    return None if seconds is None else seconds / 86400


def _hashable_bool(v: Any) -> bool:
    try:
        return v in _TRUE or v in _FALSE
    except TypeError:  # unhashable (a list or mapping)
        return False


def _same(a: Any, b: Any) -> bool:
    if a == b and type(a) is type(b):
        return True
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return a == b
    if _hashable_bool(b) and _hashable_bool(a):  # YAML 1.1 reads an unquoted no as False
        return (a in _TRUE and b in _TRUE) or (a in _FALSE and b in _FALSE)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return str(a) == str(b)


_NUMERAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _number(value: Any) -> float | None:
    """A finite number, or a string that is only a plain numeral (what a config file would get)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value if _NUMERAL.fullmatch(value) else None
    try:
        n = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return n if math.isfinite(n) else None


def templated(value: Any) -> bool:
    """Does a Jinja template appear anywhere in the value (strings, list items, mapping keys and values)?"""
    if isinstance(value, str):
        return bool(_TEMPLATE.search(value))
    if isinstance(value, list):
        return any(templated(v) for v in value)
    if isinstance(value, dict):
        return any(templated(k) or templated(v) for k, v in value.items())
    return False


def _items(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return None


def retention_bytes(thresholds: Any) -> float:
    """The journal size that holds the retention period: audit.journalMiBPerDay x audit.minRetentionDays."""
    return float(thresholds.get("audit.journalMiBPerDay")) * 1024 ** 2 * float(thresholds.get("audit.minRetentionDays"))


def weakness(value: Any, spec: dict[str, Any], default: Any = None, estate: dict[str, list[str]] | None = None,
             retention_size: float | None = None) -> str | None:
    """Why ``value`` (not the role default) breaks ``spec``; None when it keeps the control.
    ``retention_size``: the bytes a ``retentionSize`` variable must reach (retention_bytes)."""
    for extra in spec.get("allow", []):
        if _same(value, extra):
            return None
    if templated(value):
        return "is a Jinja template; the gate cannot show what it renders to (use a literal)"
    constraints = [k for k in spec if k not in ("rule", "tunable", "allow")]  # vaulted counts: judged by the caller
    if not constraints:
        return "may not be set to anything but the role default (policy/thresholds.yaml allows no other value)"
    if "equals" in spec and not _same(value, spec["equals"]):
        return f"must be {spec['equals']!r}"
    if "oneOf" in spec and not any(_same(value, v) for v in spec["oneOf"]):
        return f"must be one of {', '.join(map(str, spec['oneOf']))}"
    if "min" in spec or "max" in spec:
        n = _number(value)
        if n is None:
            return "must be a number"
        if "min" in spec and n < spec["min"]:
            return f"must be >= {spec['min']}"
        if "max" in spec and n > spec["max"]:
            return f"must be <= {spec['max']}"
    if "minDays" in spec:
        days = timespan_days(value)
        if days is None:
            return "is not a time span (e.g. 6month, 180d)"
        if days < spec["minDays"]:
            return f"keeps {days:g} days; must keep >= {spec['minDays']} days"
    if "minItems" in spec:
        if not isinstance(value, list):
            return "must be a list"
        if len(value) < spec["minItems"]:
            return f"must list at least {spec['minItems']} item(s)"
    if "subsetOf" in spec:
        allowed = default if spec["subsetOf"] == "default" else spec["subsetOf"]
        items = _items(value)
        if items is None:
            return "must be a list"
        extra = [i for i in items if not any(_same(i, a) for a in (allowed or []))]
        if extra:
            return f"adds {excerpt(extra)}, not in the allowed list"
        if not items:
            return "must list at least one item"
    if "supersetOf" in spec:
        needed = default if spec["supersetOf"] == "default" else spec["supersetOf"]
        if not isinstance(value, list):
            return "must be a list"
        missing = [i for i in (needed or []) if not any(_same(i, v) for v in value)]
        if missing:
            return f"drops {excerpt(missing)} from the list"
    if "umaskBits" in spec:
        try:
            bits = int(str(value), 8)
        except ValueError:
            return "is not an octal umask"
        need = int(str(spec["umaskBits"]), 8)
        if bits & need != need:
            return f"must mask at least {spec['umaskBits']} (e.g. {spec['umaskBits']})"
    if spec.get("retentionSize"):
        size = size_bytes(value)
        if size is None:
            return "is not a size journald reads (e.g. 12G, 11520M)"
        if retention_size is None:
            return "cannot be judged: no retention size (audit.journalMiBPerDay x audit.minRetentionDays)"
        if size < retention_size:
            return (f"holds {size / 1024 ** 2:g} MiB; the retention period needs >= {retention_size / 1024 ** 2:g} MiB "
                    "(audit.journalMiBPerDay x audit.minRetentionDays)")
    if "cidrsWithin" in spec:
        why = _cidrs_within(value, (estate or {}).get(spec["cidrsWithin"], []), spec["cidrsWithin"])
        if why:
            return why
    if "urlSchemes" in spec:
        why = _url_with_scheme(value, spec["urlSchemes"])
        if why:
            return why
    if spec.get("absolutePath") and value != "":  # empty: not set
        if not isinstance(value, str) or not value.startswith("/") or _CONTROL.search(value) or ".." in value.split("/"):
            return "must be an absolute path on one line, without .. (or empty)"
    if "subsetOfEstate" in spec:
        allowed = (estate or {}).get(spec["subsetOfEstate"], [])
        items = value if isinstance(value, list) else None
        if items is None:
            return "must be a list"
        extra = [i for i in items if str(i) not in allowed]
        if extra:
            return f"lists {excerpt(extra)}, not in the estate's {spec['subsetOfEstate']}"
    return None


_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _url_with_scheme(value: Any, schemes: list[str]) -> str | None:
    """Why ``value`` is not scheme://host[/path] with one of ``schemes`` (no whitespace, no control
    characters, no credentials), or None."""
    wanted = " or ".join(f"{s}://" for s in schemes)
    if not isinstance(value, str) or _CONTROL.search(value):
        return f"must be a {wanted} URL on one line, without spaces"
    scheme, sep, rest = value.partition("://")
    host = rest.split("/", 1)[0]
    if not sep or scheme.lower() not in schemes:
        return f"must be a {wanted} URL (got scheme {excerpt(scheme) if sep else 'none'})"
    if not host or "@" in host:
        return f"must be a {wanted} URL with a host and no credentials"
    return None


def _cidrs_within(value: Any, allowed: list[str], field: str) -> str | None:
    if not isinstance(value, list) or not value:
        return "must be a non-empty list of networks"
    nets = []
    for a in allowed:
        try:
            nets.append(ipaddress.ip_network(str(a), strict=False))
        except ValueError:
            continue
    for item in value:
        try:
            net = ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            return f"{excerpt(item)} is not a network"
        if not any(net.version == n.version and net.subnet_of(n) for n in nets):  # type: ignore[arg-type]
            return f"{net} is not inside the estate's {field} ({', '.join(map(str, nets)) or 'none'})"
    return None


def _summary(spec: dict[str, Any]) -> str:
    """The constraint of a classification, in words that quote only policy/thresholds.yaml."""
    parts = [f"{k} {excerpt(v)}" for k, v in spec.items() if k not in ("rule", "tunable")]
    return "its classification in policy/thresholds.yaml (" + ("; ".join(parts) or "keep the role default") + ")"


def _estate_lists(ctx: Any) -> dict[str, list[str]]:
    spec = ctx.spec
    return {"managementCidrs": [str(c) for c in spec.management_cidrs], "ntpServers": [str(s) for s in spec.ntp_servers]}


def _judge_all(ctx: Any) -> dict[str, list[Outcome]]:
    """rule id -> failing outcomes, over every variable every layer sets (computed once per context)."""
    cached = ctx.__dict__.get("_variable_failures")
    if cached is not None:
        return cached
    classes = ctx.thresholds.get("variables")
    roles = role_vars()
    estate = _estate_lists(ctx)
    retention = retention_bytes(ctx.thresholds)
    bad: dict[tuple[str, str, str, str, Location | None, str], int] = defaultdict(int)
    for name, val, layer in ctx.hostvars.sets():
        spec = classes.get(name)
        if spec is None:
            if not roles.is_role_variable(name):
                continue
            rule, why = UNCLASSIFIED_RULE, ("is not classified in policy/thresholds.yaml (variables:): the gate refuses a "
                                            "role, inventory or connection variable it cannot judge")
        else:
            default = roles.default(name)
            if roles.has_default(name) and _same(val.value, default) and not (val.literal and templated(default)):
                continue  # the default itself (an !unsafe copy of a templated default is a literal, not the default)
            spec = {"tunable": True} if spec == "tunable" else spec
            if spec.get("tunable"):  # any literal; a template could run code or hide what it sets
                if not templated(val.value) or any(_same(val.value, a) for a in spec.get("allow", [])):
                    continue
                rule, why = UNCLASSIFIED_RULE, "is a Jinja template; even a tunable variable takes a literal value"
            else:
                rule = spec["rule"]
                why = weakness(val.value, spec, default, estate, retention)
                if why is None and spec.get("vaulted") and not val.secret:
                    why = "is a secret: keep it in an ansible-vault (an encrypted file or !vault), never in plain text"
                if why is None:
                    continue
        if val.secret:  # the reason may quote part of the value: say which constraint instead
            why = f"breaks {_summary(spec)}" if spec is not None else why
            shown = "(from a vault: value not shown)"
        elif isinstance(spec, dict) and spec.get("vaulted"):
            shown = "(a secret: value not shown)"
        else:
            shown = f"(got {excerpt(val.value)})"
        bad[(rule, name, why, shown, val.location, val.scope)] += layer.reach
    out: dict[str, list[Outcome]] = defaultdict(list)
    for (rule, name, why, shown, location, scope), reach in sorted(bad.items(), key=lambda kv: (kv[0][0], str(kv[0][4]), kv[0][1])):
        target = scope.replace("catalogue ", "")
        out[rule].append(Outcome("fail", target, f"{name} {why} {shown}; reaches {reach} host(s)", location))
    ctx.__dict__["_variable_failures"] = out
    return out


def unreported_failures(ctx: Any, rule_id: str) -> list[Outcome]:
    """Failures of ``rule_id``'s variables when its check did not report them itself (the engine
    adds these to every rule, so no classified variable escapes a rule that forgot to ask)."""
    if rule_id in ctx.__dict__.get("_variables_reported", ()):
        return []
    return list(_judge_all(ctx).get(rule_id, []))


def check_variables(ctx: Any, rule_id: str) -> Iterator[Outcome]:
    """The role variables that rule ``rule_id`` owns: one failure per place a weakening value is
    written (with the hosts it reaches), else one pass for the estate."""
    ctx.__dict__.setdefault("_variables_reported", set()).add(rule_id)
    failures = _judge_all(ctx).get(rule_id, [])
    yield from failures
    if not failures:
        classes = ctx.thresholds.get("variables")
        owned = sorted(n for n, s in classes.items() if isinstance(s, dict) and s.get("rule") == rule_id)
        what = f"{len(owned)} role variable(s)" if owned else "role variables"
        if rule_id == UNCLASSIFIED_RULE:
            what += " and every unclassified one"
        yield Outcome("pass", f"estate/{ctx.cat.name}",
                      f"no group_vars / host_vars / catalogue vars value weakens {what} of {rule_id}", ctx.location(("spec",)))
