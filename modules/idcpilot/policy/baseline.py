"""Does a variable weaken an MLPS3 default? Constraints come from ``policy/thresholds.yaml``.

Each entry under ``mlps3.variables`` names a baseline role variable, its default and the
constraint a value must keep: ``min``, ``max``, ``equals``, ``oneOf``, ``subsetOf`` (only these
items allowed), ``supersetOf`` (these items must stay), ``umaskBits`` (these bits stay masked),
``minDays`` (a systemd time span at least this long), ``allow`` (extra values that are fine).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Iterable, Iterator

from idcpilot.policy.model import Location, Outcome

_SPAN = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)")
_UNITS = {
    "": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "M": 2629800, "month": 2629800, "months": 2629800,
    "y": 31557600, "year": 31557600, "years": 31557600,
}
_TRUE = {True, "yes", "true", "True", "on"}
_FALSE = {False, "no", "false", "False", "off"}


def timespan_days(value: Any) -> float | None:
    """systemd time span ('6month', '180d', '1y 2w', 15552000) -> days; None if unparsable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value / 86400
    text = str(value).strip()
    if not text:
        return None
    total, pos = 0.0, 0
    while pos < len(text):
        m = _SPAN.match(text, pos)
        if not m or m.end() == pos:
            return None
        unit = m.group(2)
        if unit not in _UNITS:
            unit = unit.lower()
            if unit not in _UNITS:
                return None
        total += float(m.group(1)) * _UNITS[unit]
        pos = m.end()
    return total / 86400


def _same(a: Any, b: Any) -> bool:
    if a == b and type(a) is type(b):
        return True
    if b in _TRUE or b in _FALSE:  # YAML 1.1 reads an unquoted no as False
        return (a in _TRUE and b in _TRUE) or (a in _FALSE and b in _FALSE)
    return str(a) == str(b)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def weakness(value: Any, spec: dict[str, Any]) -> str | None:
    """Why ``value`` weakens the default described by ``spec``; None when it does not."""
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return "is a Jinja template; the plan cannot show it keeps the MLPS3 default (use a literal)"
    for extra in spec.get("allow", []):
        if _same(value, extra):
            return None
    if "equals" in spec and not _same(value, spec["equals"]):
        return f"must be {spec['equals']!r}"
    if "oneOf" in spec and not any(_same(value, v) for v in spec["oneOf"]):
        return f"must be one of {spec['oneOf']}"
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
    if "subsetOf" in spec:
        items = value if isinstance(value, list) else str(value).split(",")
        extra = [i for i in items if str(i).strip() not in spec["subsetOf"]]
        if extra:
            return f"allows weak algorithms {extra}"
        if not items:
            return "must list at least one algorithm"
    if "supersetOf" in spec:
        if not isinstance(value, list):
            return "must be a list"
        missing = [i for i in spec["supersetOf"] if i not in value]
        if missing:
            return f"drops {missing} from the list"
    if "umaskBits" in spec:
        try:
            bits = int(str(value), 8)
        except ValueError:
            return "is not an octal umask"
        need = int(str(spec["umaskBits"]), 8)
        if bits & need != need:
            return f"must mask at least {spec['umaskBits']} (e.g. {spec['umaskBits']})"
    return None


def check_variables(ctx: Any, names: Iterable[str], scope_role: str = "baseline") -> Iterator[Outcome]:
    """Every host in scope: does any variable that reaches it weaken an MLPS3 default?

    One failing outcome per place a weakening value is written (with the hosts it reaches),
    and one passing outcome for the estate when nothing weakens the defaults.
    """
    names = tuple(names)
    specs = {n: ctx.thresholds.get(f"mlps3.variables.{n}") for n in names}
    parts = ctx.hostvars.partitions(scope_role)
    count = sum(len(p) for p in parts)
    if not count:
        yield Outcome("not-applicable", f"estate/{ctx.cat.name}", "no host in scope (role baseline)")
        return
    if not ctx.hostvars.defines_any(names):
        yield Outcome("pass", f"estate/{ctx.cat.name}",
                      f"{count} host(s) keep the MLPS3 defaults of {', '.join(names)}", ctx.location(("spec",)))
        return
    bad: dict[tuple[str, Location | None, str, str], list[str]] = defaultdict(list)
    for members, values in ctx.hostvars.by_source(names, scope_role):
        for name, val in values.items():
            why = weakness(val.value, specs[name])
            if why:
                bad[(name, val.location, val.scope, why + f" (got {val.value!r})")].extend(h.name for h in members)
    for (name, location, scope, why), members in sorted(bad.items(), key=lambda kv: (str(kv[0][1]), kv[0][0])):
        shown = ", ".join(members[:5]) + (f" and {len(members) - 5} more" if len(members) > 5 else "")
        target = scope.replace("catalogue ", "")
        yield Outcome("fail", target, f"{name} {why}; reaches {len(members)} host(s): {shown}", location)
    if not bad:
        yield Outcome("pass", f"estate/{ctx.cat.name}",
                      f"{count} host(s): no variable weakens {', '.join(names)}", ctx.location(("spec",)))
