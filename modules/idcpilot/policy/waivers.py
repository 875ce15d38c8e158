"""Waivers: the only way past a failing rule, kept in the repo (``policy/waivers.yaml``).

A waiver names a rule id, a target (exact or glob), optionally the estate it is scoped to,
a justification, an approver and an expiry date. A matching failure is reported ``waived``.
An expired waiver, or one without justification or approver, waives nothing and is itself a
failure (rule POLICY-WAIVER). A waiver that matches no failure is a warning.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from idcpilot.catalogue.load import display_name
from idcpilot.errors import Problem, UserInputError
from idcpilot.policy.model import Finding, Location, Rule
from idcpilot.yamlsource import load_yaml_file

WAIVER_RULE = Rule(
    id="POLICY-WAIVER",
    title="Waivers are justified, approved and current",
    severity="high",
    stage=("plan",),
    clause="Policy governance: an exception to the pilot specification is documented, approved and time-boxed",
    remediation="Give the waiver a justification, an approver and a future expires: date, or fix the finding and delete the waiver.",
)
KEYS = ("rule", "target", "estate", "justification", "approver", "expires", "ticket")


@dataclass(frozen=True)
class Waiver:
    rule: str
    target: str
    estate: str | None
    justification: str
    approver: str
    expires: dt.date
    location: Location

    def in_scope(self, estate: str) -> bool:
        return self.estate is None or fnmatch.fnmatchcase(estate, self.estate)

    def matches(self, finding: Finding) -> bool:
        return finding.rule.id == self.rule and fnmatch.fnmatchcase(finding.target, self.target)

    def problems(self, today: dt.date) -> list[str]:
        out = []
        if not self.justification:
            out.append("has no justification")
        if not self.approver:
            out.append("has no approver")
        if self.expires < today:
            out.append(f"expired on {self.expires.isoformat()}")
        return out

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


def load(path: Path, known_rules: Iterable[str]) -> list[Waiver]:
    """Read and check a waivers file; every mistake is a file:line problem (exit 2)."""
    if not path.exists() and not path.is_symlink():  # a broken or looping symlink is an error
        return []
    data, smap = load_yaml_file(path, display_name(path))
    shown = smap.file
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
        path_i = ("waivers", i)
        if not isinstance(item, dict):
            problems.append(smap.problem(path_i, "each waiver is a mapping (rule, target, justification, approver, expires)"))
            continue
        bad = False
        for key in item:
            if key not in KEYS:
                problems.append(smap.problem(path_i + (key,), f"unknown key (expected {', '.join(KEYS)})"))
                bad = True
        rule = item.get("rule")
        if not isinstance(rule, str) or not rule:
            problems.append(smap.problem(path_i + ("rule",), "give the rule id this waiver is for"))
            bad = True
        elif rule not in known:
            problems.append(smap.problem(path_i + ("rule",), f"no rule {rule!r} (see `idcpilot rules`)"))
            bad = True
        target = item.get("target")
        if not isinstance(target, str) or not target:
            problems.append(smap.problem(path_i + ("target",), "give the target (exact, or a glob like host/bj-*)"))
            bad = True
        estate = item.get("estate")
        if estate is not None and not isinstance(estate, str):
            problems.append(smap.problem(path_i + ("estate",), "must be an estate name"))
            bad = True
        expires = item.get("expires")
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                expires = None
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if not isinstance(expires, dt.date):
            problems.append(smap.problem(path_i + ("expires",), "give an expiry date as YYYY-MM-DD"))
            bad = True
        for key in ("justification", "approver"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                problems.append(smap.problem(path_i + (key,), "must be text"))
                bad = True
        if bad:
            continue
        line, col = smap.locate(path_i)
        out.append(
            Waiver(
                rule=rule,
                target=target,
                estate=estate,
                justification=(item.get("justification") or "").strip(),
                approver=(item.get("approver") or "").strip(),
                expires=expires,
                location=Location(shown, line, col),
            )
        )
    if problems:
        raise UserInputError(problems)
    return out


def apply(findings: list[Finding], waivers: list[Waiver], estate: str, today: dt.date, ran: set[str]) -> tuple[list[Finding], list[str]]:
    """Mark waived findings; return the extra POLICY-WAIVER findings and warnings."""
    extra: list[Finding] = []
    warnings: list[str] = []
    usable: list[Waiver] = []
    for w in waivers:
        if not w.in_scope(estate) or w.rule not in ran:
            continue
        issues = w.problems(today)
        if issues:
            extra.append(Finding(WAIVER_RULE, "fail", f"waiver/{w.rule}:{w.target}",
                                 f"waiver for {w.rule} on {w.target} {' and '.join(issues)}; it waives nothing", w.location))
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
