"""The policy engine: select rules, run them on a context, apply waivers, judge the result."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from idcpilot.catalogue.estate import Catalogue
from idcpilot.policy import registry, thresholds as th, waivers as wv
from idcpilot.policy.baseline import unreported_failures
from idcpilot.policy.context import Context
from idcpilot.policy.k8s import ManifestSet, schema_problems
from idcpilot.policy.model import SEVERITY_RANK, Finding, Report, sorted_findings
from idcpilot.policy.vault import Vault, VaultOptions
from idcpilot.errors import UserInputError


def planned_manifests(cat: Catalogue) -> tuple[ManifestSet | None, str]:
    """Manifests from ``idcpilot.plan.plan_estate`` (issue 4), or None and the reason."""
    try:
        plan_mod = importlib.import_module("idcpilot.plan")
    except ImportError:
        return None, "planning is not available in this installation (idcpilot.plan missing); K8S rules not run"
    plan_estate = getattr(plan_mod, "plan_estate", None)
    if plan_estate is None:
        return None, "idcpilot.plan.plan_estate is not available yet; K8S rules not run"
    try:
        result = plan_estate(cat, validate=False)  # the gate validates the schema itself
    except TypeError:
        result = plan_estate(cat)
    return ManifestSet.from_plan(result.manifests), ""


def run(
    cat: Catalogue,
    *,
    manifests: ManifestSet | dict[str, list[dict[str, Any]]] | None = None,
    plan: bool = True,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    thresholds_file: Path | None = None,
    waivers_file: Path | None = None,
    today: dt.date | None = None,
    schema_check: bool = True,
    vault: VaultOptions | None = None,
    playbook_dir: Path | None = None,
    extra_vars: Iterable[str] = (),
) -> Report:
    """Run every selected rule on the estate and apply the waivers."""
    today = today or dt.date.today()
    pdir = registry.policy_dir()
    only, skip = list(only), list(skip)
    rule_ids, selected = registry.load_selected(pdir, only, skip)
    bad = registry.unknown_selectors(rule_ids, only + skip)
    if bad:
        raise UserInputError.single("--only/--skip", f"no rule matches {', '.join(bad)} (see `idcpilot rules`)")
    thresholds = th.load(Path(thresholds_file) if thresholds_file else pdir / "thresholds.yaml", rule_ids)
    waivers = wv.load(Path(waivers_file) if waivers_file else pdir / "waivers.yaml", rule_ids)

    notes: list[str] = []
    note = "no planned Kubernetes manifests"
    if isinstance(manifests, dict):
        manifests = ManifestSet.from_plan(manifests)
    if manifests is None and plan and any(r.rule.family == "K8S" for r in selected):
        manifests, note = planned_manifests(cat)
        if note:
            notes.append(note)
    elif manifests is None:
        note = "planning skipped (--no-plan); K8S rules judged on the catalogue only"
        if any(r.rule.family == "K8S" for r in selected):
            notes.append(note)
    if manifests is not None and schema_check:
        versions = {c.name: c.kubernetes_version for c in cat.estate.spec.clusters}
        problems, schema_notes = schema_problems(manifests, versions)
        notes += schema_notes
        if problems:
            raise UserInputError(problems)

    ctx = Context(cat, thresholds, manifests, note, today, Vault(vault), playbook_dir, tuple(extra_vars))
    ctx.hostvars  # every variable file read (and every vault opened) before any rule: unreadable is exit 2
    findings: list[Finding] = []
    for lr in selected:
        for outcome in [*lr.check(ctx), *unreported_failures(ctx, lr.rule.id)]:
            findings.append(Finding(lr.rule, outcome.status, outcome.target, outcome.message, outcome.location))
    ran = {lr.rule.id for lr in selected}
    extra, warnings = ([], [])
    if not any(s.upper() == wv.WAIVER_RULE.id for s in skip):
        extra, warnings = wv.apply(findings, waivers, cat.name, today, ran)
    hv = ctx.__dict__.get("hostvars")
    if hv is not None:
        warnings += hv.skipped
    rules = [lr.rule for lr in selected] + [wv.WAIVER_RULE]
    return Report(cat.name, sorted_findings(findings + extra), rules, warnings, notes)


@dataclass
class GateResult:
    """The verdict ``idcpilot deploy`` asks for before it touches any host."""

    report: Report
    fail_on: str = "high"

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    @property
    def blocking(self) -> list[Finding]:
        return self.report.failures(self.fail_on)

    @property
    def passed(self) -> bool:
        return not self.blocking

    def summary(self) -> str:
        s = self.report.summary()
        head = (
            f"policy gate {'PASSED' if self.passed else 'FAILED'} for estate {self.report.estate}: "
            f"{s['pass']} pass, {s['fail']} fail, {s['waived']} waived, {s['not-applicable']} not applicable "
            f"(blocking: failures at or above {self.fail_on})"
        )
        lines = [head]
        for f in self.blocking:
            where = f" ({f.location})" if f.location else ""
            lines.append(f"  {f.rule.id} [{f.severity}] {f.target}: {f.message}{where}")
        return "\n".join(lines)

    __str__ = summary


def gate(cat: Catalogue, *, fail_on: str = "high", **kwargs: Any) -> GateResult:
    """Run the policy gate; ``.passed`` is False when a failure at or above ``fail_on`` remains."""
    if fail_on not in SEVERITY_RANK:
        raise ValueError(f"fail_on must be one of {sorted(SEVERITY_RANK)}")
    return GateResult(run(cat, **kwargs), fail_on)
