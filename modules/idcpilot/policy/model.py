"""What the policy engine talks about: rules (metadata), outcomes of one check, findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "low"]
Status = Literal["pass", "fail", "waived", "not-applicable"]

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
STATUSES: tuple[Status, ...] = ("pass", "fail", "waived", "not-applicable")
#: Higher is worse; used for --fail-on and for sorting.
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

    def failures(self, at_least: str = "low") -> list[Finding]:
        floor = SEVERITY_RANK.get(at_least, 99)
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
        }


STATUS_ORDER = {"fail": 0, "waived": 1, "pass": 2, "not-applicable": 3}


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Failures first, worst severity first, then by rule and target."""
    return sorted(findings, key=lambda f: (STATUS_ORDER[f.status], -SEVERITY_RANK[f.severity], f.rule.id, f.target))
