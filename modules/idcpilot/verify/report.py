"""Verify results: pytest records -> the contract JSON, per-rule and per-host tables (pure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("pass", "fail", "skipped")


@dataclass
class VerifyReport:
    estate: str
    results: list[dict[str, Any]]
    measurements: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, int]:
        out = {"total": len(self.results)} | {s: 0 for s in STATUSES}
        for r in self.results:
            out[r["status"]] += 1
        return out

    @property
    def passed(self) -> bool:
        return self.summary["fail"] == 0

    def as_dict(self) -> dict[str, Any]:
        return {"estate": self.estate, "summary": self.summary, "results": self.results, "measurements": self.measurements}

    def by(self, key: str) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = defaultdict(lambda: {s: 0 for s in STATUSES})
        for r in self.results:
            table[r[key]][r["status"]] += 1
        return dict(sorted(table.items()))


def build_report(estate: str, records: list[dict[str, Any]]) -> VerifyReport:
    """Records written by idcpilot/verify/suites/conftest.py (one per test x host) -> the report."""
    results = []
    measurements: dict[str, Any] = {}
    for rec in records:
        results.append({k: rec.get(k) for k in ("rule", "host", "test", "status", "message", "duration")})
        for rule, values in (rec.get("measurements") or {}).items():
            bucket = measurements.setdefault(rule, {})
            if isinstance(values, dict):
                bucket.update(values)
            else:
                bucket[rec.get("host") or "*"] = values
    results.sort(key=lambda r: (r["rule"] or "", r["host"] or "", r["test"] or ""))
    return VerifyReport(estate, results, measurements)
