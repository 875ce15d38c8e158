"""The policy engine: select rules, run them on a context, apply waivers, judge the result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from idcpilot.catalogue.estate import Catalogue
from idcpilot.catalogue.load import display_name
from idcpilot.errors import UserInputError
from idcpilot.policy import registry, thresholds as th, waivers as wv
from idcpilot.policy.baseline import unreported_failures
from idcpilot.policy.context import Context
from idcpilot.policy.k8s import ManifestSet, schema_problems
from idcpilot.policy.model import Finding, Report, Verdict, sorted_findings
from idcpilot.policy.vault import Vault, VaultOptions


def planned_manifests(cat: Catalogue) -> ManifestSet:
    """The manifests the estate's Kubernetes stacks would apply, for the K8S rules. The plan
    skips its own schema validation: the engine validates them (exit 2 with file and line)."""
    from idcpilot.plan import plan_estate  # planning imports Pulumi: only when a K8S rule runs

    result = plan_estate(cat, validate=False)
    return ManifestSet.from_plan(result.manifests, result.default_namespaces())


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
    waivers_approved_by: dt.date | None = None,
    vault: VaultOptions | None = None,
    playbook_dir: Path | None = None,
    extra_vars: Iterable[str] = (),
) -> Report:
    """Run every selected rule on the estate and apply the waivers.

    ``today`` is the day the estate is judged on (waiver expiry, drill windows);
    ``waivers_approved_by`` the day from which a waiver may reach at most maxDays ahead, today
    unless a report judges a past day with the waivers approved since."""
    today = today or dt.date.today()
    pdir = registry.policy_dir()
    only, skip = list(only), list(skip)
    rule_ids, selected = registry.load_selected(pdir, only, skip)
    bad = registry.unknown_selectors(rule_ids, only + skip)
    if bad:
        raise UserInputError.single("--only/--skip", f"no rule matches {', '.join(bad)} (see `idcpilot rules`)")
    thresholds = th.load(Path(thresholds_file) if thresholds_file else pdir / "thresholds.yaml", rule_ids)
    waivers = wv.load(Path(waivers_file) if waivers_file else pdir / "waivers.yaml", rule_ids,
                      wv.WaiverBounds.from_thresholds(thresholds), waivers_approved_by or today)

    notes: list[str] = []
    note = "no planned Kubernetes manifests"
    if isinstance(manifests, dict):
        manifests = ManifestSet.from_plan(manifests)
    if manifests is None and plan and any(r.rule.family == "K8S" for r in selected):
        manifests = planned_manifests(cat)
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
    extra: list[Finding] = []
    warnings: list[str] = []
    if not any(s.upper() == wv.WAIVER_RULE.id for s in skip):
        extra, warnings = wv.apply(findings, waivers, cat.name, today, ran, declared_targets(cat))
    warnings += ctx.hostvars.skipped
    rules = [lr.rule for lr in selected] + [wv.WAIVER_RULE]
    not_run = sorted(set(rule_ids) - ran)
    return Report(cat.name, sorted_findings(findings + extra), rules, warnings, notes, not_run, display_name(cat.file))


def declared_targets(cat: Catalogue) -> list[str]:
    """Targets the estate declares, named as findings name them: a glob waiver must stay
    narrower than any of these kinds even where the rules reported only a few of them."""
    return [f"estate/{cat.name}", *(f"host/{h}" for h in cat.hosts), *(f"site/{s}" for s in cat.sites),
            *(f"cluster/{c}" for c in cat.clusters)]


@dataclass
class GateResult:
    """The verdict ``idcpilot deploy`` asks for before it touches any host: the full gate,
    every rule, no severity floor. Any failing rule refuses the deploy."""

    report: Report

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.report)

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    @property
    def blocking(self) -> list[Finding]:
        return self.verdict.blocking

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    def summary(self) -> str:
        lines = [self.verdict.sentence()]
        for f in self.blocking:
            where = f" ({f.location})" if f.location else ""
            lines.append(f"  {f.rule.id} [{f.severity}] {f.target}: {f.message}{where}")
        return "\n".join(lines)

    __str__ = summary


def gate(cat: Catalogue, *, thresholds_file: Path | None = None, waivers_file: Path | None = None,
         today: dt.date | None = None, plan: bool = True, vault: VaultOptions | None = None,
         playbook_dir: Path | None = None, extra_vars: Iterable[str] = ()) -> GateResult:
    """The full policy gate: every rule, planned manifests for the K8S rules, the repo's waivers.
    Nothing here narrows it (no --only/--skip/--fail-on): ``deploy`` runs exactly this, seeing the
    variables its playbook run gets (vault secrets, the playbook's directory, -e extra vars)."""
    return GateResult(run(cat, plan=plan, thresholds_file=thresholds_file, waivers_file=waivers_file, today=today,
                          vault=vault, playbook_dir=playbook_dir, extra_vars=extra_vars))
