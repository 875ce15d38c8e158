"""Waivers: the only way past a failing rule, kept in the repo (``policy/waivers.yaml``).

A waiver arrives in a pull request like an estate does, so it is untrusted input and bounded:

- ``rule``: a rule id that exists and that ``thresholds.waivers.rules`` does not mark
  ``waivable: false`` (POLICY-WAIVER itself is never waivable);
- ``target``: a concrete target, ``<kind>/<name>`` as findings name them (``host/gz-edge-1``).
  ``kind`` is literal. ``name`` is exact or a glob, but a glob must contain at least one literal
  character outside ``*``, ``?`` and ``[...]`` (so ``*``, ``host/*``, ``*/*``, ``host/?*`` are
  refused), and, when the gate runs, it must not match every target of its kind in the estate
  (every ``host/`` of the catalogue, say, or the one ``estate/<name>``): a glob that does waives
  the whole rule;
- ``estate``: the exact name of the estate it is scoped to (no glob);
- ``justification`` and ``approver``: non-blank text;
- ``expires``: a date no further than ``thresholds.waivers.maxDays`` after today.

A waiver that breaks any of these is bad input: exit 2 naming the file, line and field. An
expired waiver is not malformed, time ran out: it waives nothing and fails the gate itself
(rule POLICY-WAIVER). A waiver that matches no failure is a warning, so stale entries get deleted.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from idcpilot.catalogue.load import display_name
from idcpilot.errors import Problem, UserInputError, excerpt
from idcpilot.policy.model import Finding, Location, Rule
from idcpilot.policy.thresholds import Thresholds
from idcpilot.yamlsource import SourceMap, load_yaml_file

WAIVER_RULE = Rule(
    id="POLICY-WAIVER",
    title="Waivers are current",
    severity="high",
    stage=("plan",),
    clause="Policy governance: an exception to the pilot specification is documented, approved and time-boxed",
    remediation="Fix the finding and delete the waiver, or renew it with a new approval and a new expires: date.",
)
REQUIRED = ("rule", "target", "estate", "justification", "approver", "expires")
KEYS = REQUIRED + ("ticket",)
#: ``<kind>/<name>``: the kind is a literal word, the name anything printable.
TARGET = re.compile(r"(?P<kind>[a-z][a-z0-9-]*)/(?P<name>\S+)")
#: An estate name as the catalogue allows it (lower-case DNS label); no glob.
ESTATE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_CLASS = re.compile(r"\[!?\]?[^\]]*\]")


@dataclass(frozen=True)
class WaiverBounds:
    """What ``thresholds.waivers`` allows: the furthest expiry, the rules that cannot be waived."""

    max_days: int
    unwaivable: frozenset[str]

    @classmethod
    def from_thresholds(cls, thresholds: Thresholds) -> "WaiverBounds":
        """``waivers.maxDays`` and the rules marked ``waivable: false`` under ``waivers.rules``
        (``thresholds.load`` has checked both: present, a whole number of days, known rule ids)."""
        rules = thresholds.get("waivers.rules") or {}
        unwaivable = {WAIVER_RULE.id} | {str(rule_id) for rule_id, spec in rules.items() if not spec["waivable"]}
        return cls(thresholds.get("waivers.maxDays"), frozenset(unwaivable))


@dataclass(frozen=True)
class Waiver:
    rule: str
    target: str
    estate: str
    justification: str
    approver: str
    expires: dt.date
    location: Location
    target_location: Location

    @property
    def is_glob(self) -> bool:
        return any(c in self.target for c in "*?[")

    def in_scope(self, estate: str) -> bool:
        return self.estate == estate

    def matches(self, finding: Finding) -> bool:
        return finding.rule.id == self.rule and self.covers(finding.target)

    def covers(self, target: str) -> bool:
        return fnmatch.fnmatchcase(target, self.target) if self.is_glob else target == self.target

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "target": self.target,
            "estate": self.estate,
            "justification": self.justification,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
            "location": self.location.as_dict(),
        }


def _literal_chars(name: str) -> str:
    """What a glob's name part fixes: its characters outside ``*``, ``?`` and ``[...]``."""
    return _CLASS.sub("", name).replace("*", "").replace("?", "")


def _target_problem(target: object) -> str | None:
    if not isinstance(target, str) or not target.strip():
        return "give the target a finding names, <kind>/<name> (host/gz-edge-1, estate/lab)"
    m = TARGET.fullmatch(target)
    if not m:
        return f"{excerpt(target)} is not <kind>/<name> with a literal kind (host/gz-edge-1, estate/lab)"
    if not target.isprintable():
        return f"{excerpt(target)} holds control characters"
    if any(c in m["name"] for c in "*?[") and not _literal_chars(m["name"]):
        return f"{excerpt(target)} matches every {m['kind']}: name the target, or a glob with a literal part (host/gz-*)"
    return None


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _item_problems(item: dict[str, Any], at: tuple[str | int, ...], smap: SourceMap, known: set[str],
                   bounds: WaiverBounds, today: dt.date) -> list[Problem]:
    problems = [smap.problem(at + (key,), f"unknown key (expected {', '.join(KEYS)})") for key in item if key not in KEYS]
    problems += [smap.problem(at + (key,), "missing: every waiver names " + ", ".join(REQUIRED))
                 for key in REQUIRED if item.get(key) is None]
    rule = item.get("rule")
    if rule is not None:
        if not isinstance(rule, str) or rule not in known:
            problems.append(smap.problem(at + ("rule",), f"no rule {excerpt(rule)} (see `idcpilot rules`)"))
        elif rule in bounds.unwaivable:
            problems.append(smap.problem(at + ("rule",), f"{rule} cannot be waived (thresholds waivers.rules: waivable: false); fix the finding"))
    if item.get("target") is not None:
        bad = _target_problem(item["target"])
        if bad:
            problems.append(smap.problem(at + ("target",), bad))
    estate = item.get("estate")
    if estate is not None and (not isinstance(estate, str) or not ESTATE.fullmatch(estate)):
        problems.append(smap.problem(at + ("estate",), f"the exact name of one estate (no glob), not {excerpt(estate)}"))
    for key in ("justification", "approver", "ticket"):
        value = item.get(key)
        if value is None or (key == "ticket" and isinstance(value, int) and not isinstance(value, bool)):
            continue  # a ticket may be a bare number
        if not isinstance(value, str) or not value.strip():
            problems.append(smap.problem(at + (key,), "must be non-blank text"))
        elif not value.replace("\n", " ").isprintable():
            problems.append(smap.problem(at + (key,), f"holds control characters: {excerpt(value)}"))
    if item.get("expires") is not None:
        expires = _date(item["expires"])
        latest = today + dt.timedelta(days=bounds.max_days)
        if expires is None:
            problems.append(smap.problem(at + ("expires",), f"give an expiry date as YYYY-MM-DD, not {excerpt(item['expires'])}"))
        elif expires > latest:
            problems.append(smap.problem(at + ("expires",), f"{expires.isoformat()} is more than {bounds.max_days} days away "
                                                             f"(thresholds waivers.maxDays): expire it by {latest.isoformat()} at the latest"))
    return problems


def load(path: Path, known_rules: Iterable[str], bounds: WaiverBounds, today: dt.date) -> list[Waiver]:
    """Read and check a waivers file; every waiver out of bounds is a file:line problem (exit 2)."""
    if not path.exists() and not path.is_symlink():  # a broken or looping symlink is an error
        return []
    data, smap = load_yaml_file(path, display_name(path))
    known = set(known_rules) | {WAIVER_RULE.id}
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"waivers"}:
        raise UserInputError([smap.problem((), "expected a mapping with one key, waivers: (a list)")])
    items = data.get("waivers") or []
    if not isinstance(items, list):
        raise UserInputError([smap.problem(("waivers",), "must be a list of waivers")])
    problems: list[Problem] = []
    out: list[Waiver] = []
    for i, item in enumerate(items):
        at: tuple[str | int, ...] = ("waivers", i)
        if not isinstance(item, dict):
            problems.append(smap.problem(at, "each waiver is a mapping (" + ", ".join(REQUIRED) + ")"))
            continue
        bad = _item_problems(item, at, smap, known, bounds, today)
        if bad:
            problems += bad
            continue
        line, col = smap.locate(at)
        tline, tcol = smap.locate(at + ("target",))
        out.append(Waiver(rule=item["rule"], target=item["target"], estate=item["estate"],
                          justification=item["justification"].strip(), approver=item["approver"].strip(),
                          expires=_date(item["expires"]),  # type: ignore[arg-type]  (checked above)
                          location=Location(smap.file, line, col), target_location=Location(smap.file, tline, tcol)))
    if problems:
        raise UserInputError(problems)
    return out


def whole_kind_problems(waivers: Iterable[Waiver], targets: Iterable[str]) -> list[Problem]:
    """Glob waivers that match every target of their kind among ``targets`` (what the estate
    declares and what the rules judged): such a glob waives the whole rule, which no waiver may."""
    waivers = [w for w in waivers if w.is_glob]
    if not waivers:
        return []
    by_kind: dict[str, set[str]] = {}
    for t in targets:
        by_kind.setdefault(t.split("/", 1)[0], set()).add(t)
    problems = []
    for w in waivers:
        kind = w.target.split("/", 1)[0]
        universe = by_kind.get(kind, set())
        if universe and all(w.covers(t) for t in universe):
            loc = w.target_location
            problems.append(Problem(loc.file, loc.line, loc.column, "target",
                                    f"{excerpt(w.target)} matches every {kind} of the estate ({len(universe)}): "
                                    "a waiver covers named targets, never the whole rule"))
    return problems


def apply(findings: list[Finding], waivers: list[Waiver], estate: str, today: dt.date, ran: set[str],
          targets: Iterable[str] = ()) -> tuple[list[Finding], list[str]]:
    """Mark waived findings; return the extra POLICY-WAIVER findings and warnings.

    ``targets``: every target the estate declares (hosts, sites, ...) beside those of
    ``findings``, the universe against which a glob must stay narrower than a whole kind."""
    scoped = [w for w in waivers if w.in_scope(estate) and w.rule in ran]
    too_wide = whole_kind_problems(scoped, [*targets, *(f.target for f in findings)])
    if too_wide:
        raise UserInputError(too_wide)
    extra: list[Finding] = []
    warnings: list[str] = []
    usable: list[Waiver] = []
    for w in scoped:
        if w.expired(today):
            extra.append(Finding(WAIVER_RULE, "fail", f"waiver/{w.rule}:{w.target}",
                                 f"waiver for {w.rule} on {w.target} expired on {w.expires.isoformat()}; it waives nothing", w.location))
        else:
            usable.append(w)
    used: set[int] = set()
    for f in findings:
        if f.status != "fail":
            continue
        for i, w in enumerate(usable):
            if w.matches(f):
                f.status = "waived"
                f.waiver = w.as_dict()
                used.add(i)
                break
    for i, w in enumerate(usable):
        if i not in used:
            warnings.append(f"{w.location}: waiver for {w.rule} on {w.target} matches no failing finding (delete it?)")
        else:
            extra.append(Finding(WAIVER_RULE, "pass", f"waiver/{w.rule}:{w.target}",
                                 f"justified, approved by {w.approver}, expires {w.expires.isoformat()}", w.location))
    return extra, warnings
