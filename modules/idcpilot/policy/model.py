"""What the policy engine talks about: rules (metadata), outcomes of one check, findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "low"]
Status = Literal["pass", "fail", "waived", "not-applicable"]

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
STATUSES: tuple[Status, ...] = ("pass", "fail", "waived", "not-applicable")
#: Higher is worse. Severity orders the output and gives ``check --fail-on`` its floor; it never
#: decides on its own whether the gate passes: every failing rule fails the gate. The one table of
#: ranks in the project (the report and the formats import it).
SEVERITY_RANK: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True)
class Rule:
    """Metadata of one rule; lives next to its code in ``policy/rules/<id>.py``."""

    id: str
    title: str
    severity: Severity
    stage: tuple[str, ...]
    clause: str
    remediation: str
    description: str = ""
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.id}: severity must be one of {SEVERITIES}, not {self.severity!r}")
        if "plan" not in self.stage:
            raise ValueError(f"{self.id}: a policy rule runs at the plan stage")

    @property
    def family(self) -> str:
        return self.id.split("-", 1)[0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "stage": list(self.stage),
            "clause": self.clause,
            "remediation": self.remediation,
            "description": self.description,
        }


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Outcome:
    """What a rule's check yields: one verdict about one target (no metadata yet)."""

    status: Literal["pass", "fail", "not-applicable"]
    target: str
    message: str
    location: Location | None = None


@dataclass
class Finding:
    """An outcome joined with its rule's metadata, after waivers are applied."""

    rule: Rule
    status: Status
    target: str
    message: str
    location: Location | None = None
    waiver: dict[str, Any] | None = None

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "status": self.status,
            "severity": self.rule.severity,
            "target": self.target,
            "message": self.message,
            "location": self.location.as_dict() if self.location else None,
            "waiver": self.waiver,
        }


@dataclass
class Report:
    """Everything one run of the gate found."""

    estate: str
    findings: list[Finding]
    rules: list[Rule]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: rules of the pack that --only/--skip left out: a partial run is not the pilot's verdict
    not_run: list[str] = field(default_factory=list)
    #: the estate file, where a finding without a location of its own points
    estate_file: str = ""

    def failures(self, at_least: str | None = None) -> list[Finding]:
        """Failing findings, every severity; ``at_least`` keeps those at or above a severity."""
        if at_least is not None and at_least not in SEVERITY_RANK:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {at_least!r}")
        floor = SEVERITY_RANK[at_least] if at_least else 0
        return [f for f in self.findings if f.status == "fail" and SEVERITY_RANK[f.severity] >= floor]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"total": len(self.findings)}
        for status in STATUSES:
            out[status] = sum(f.status == status for f in self.findings)
        by_sev: dict[str, dict[str, int]] = {}
        for sev in SEVERITIES:
            by_sev[sev] = {s: sum(f.status == s and f.severity == sev for f in self.findings) for s in STATUSES}
        out["bySeverity"] = by_sev
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "estate": self.estate,
            "summary": self.summary(),
            "findings": [f.as_dict() for f in sorted_findings(self.findings)],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "rulesNotRun": list(self.not_run),
        }


STATUS_ORDER = {"fail": 0, "waived": 1, "pass": 2, "not-applicable": 3}


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Failures first, worst severity first, then by rule and target."""
    return sorted(findings, key=lambda f: (STATUS_ORDER[f.status], -SEVERITY_RANK[f.severity], f.rule.id, f.target))


@dataclass(frozen=True)
class Verdict:
    """The gate's verdict on a report, and the one sentence every output format prints for it.

    Every failing rule fails the gate whatever its severity. ``fail_on`` is the local opt-out
    of ``check --fail-on``: failures below it stop counting for the exit code, and the sentence
    says so, so that a log never reads as the pilot's verdict when it is not one. The sentence
    never contains "passed" while a rule fails.
    """

    report: Report
    fail_on: str | None = None

    def __post_init__(self) -> None:
        if self.fail_on is not None and self.fail_on not in SEVERITY_RANK:
            raise ValueError(f"fail_on must be one of {', '.join(SEVERITIES)}, not {self.fail_on!r}")

    @property
    def failures(self) -> list[Finding]:
        return self.report.failures()

    @property
    def blocking(self) -> list[Finding]:
        """The failures that decide the exit code."""
        return self.report.failures(self.fail_on)

    @property
    def ignored(self) -> list[Finding]:
        """Failures that only the --fail-on opt-out keeps from failing the run."""
        floor = SEVERITY_RANK[self.fail_on] if self.fail_on else 0
        return [f for f in self.failures if SEVERITY_RANK[f.severity] < floor]

    @property
    def partial(self) -> bool:
        """--only/--skip left rules out: whatever they would say is unknown."""
        return bool(self.report.not_run)

    @property
    def passed(self) -> bool:
        """The pilot's verdict: every rule ran and none fails (waived findings do not fail)."""
        return not self.failures and not self.partial

    @property
    def exit_failed(self) -> bool:
        """Whether the run exits 1: a blocking failure remains (every failure unless --fail-on)."""
        return bool(self.blocking)

    def counts(self) -> str:
        s = self.report.summary()
        return f"{s['pass']} pass, {s['fail']} fail, {s['waived']} waived, {s['not-applicable']} not applicable"

    def _ignored_words(self) -> str:
        by_sev: dict[str, int] = {}
        for f in self.ignored:
            by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
        parts = [f"{n} {sev}" for sev, n in sorted(by_sev.items(), key=lambda kv: -SEVERITY_RANK[kv[0]])]
        total = len(self.ignored)
        return f"{' and '.join(parts)} failure{'s' if total != 1 else ''}"

    def sentence(self) -> str:
        """One line: passed / FAILED / PARTIAL, the counts, and every reason the run is not the
        full gate. "passed" only when every rule ran and none fails."""
        r = self.report
        n = len(r.not_run)
        left_out = f"{n} rule{'s' if n != 1 else ''} left out by --only/--skip"
        if self.passed:
            return f"policy gate passed for estate {r.estate}: {self.counts()}"
        if not self.failures:
            return (f"policy gate PARTIAL run for estate {r.estate}: {self.counts()}; no failure among the rules run, "
                    f"{left_out}: NOT the pilot's verdict")
        head = f"policy gate FAILED for estate {r.estate}: {self.counts()}"
        if self.ignored and not self.blocking:
            head += f"; exit 0 ONLY because --fail-on {self.fail_on} ignores {self._ignored_words()}: NOT the pilot's verdict"
        elif self.ignored:
            head += f"; --fail-on {self.fail_on} also ignores {self._ignored_words()}"
        if n:
            head += f"; PARTIAL run: {left_out}"
        return head
