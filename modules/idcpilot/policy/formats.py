"""Reports for machines and pull requests: JSON, SARIF 2.1.0, JUnit XML, Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idcpilot import __version__
from idcpilot.policy.model import Finding, Report, Rule, Verdict, sorted_findings

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
#: GitHub code scanning ranks security results by this property (CVSS-like, 0-10).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def to_json(report: Report, fail_on: str | None = None) -> str:
    """The report, with the verdict CI reads: ``passed`` is the pilot's (no rule fails);
    ``exitFailed`` what this run's exit code says (--fail-on may have ignored some failures)."""
    v = Verdict(report, fail_on)
    verdict = {"passed": v.passed, "exitFailed": v.exit_failed, "failOn": fail_on, "failures": len(v.failures),
               "ignoredByFailOn": len(v.ignored), "partial": v.partial, "text": v.sentence()}
    return json.dumps({**report.as_dict(), "verdict": verdict}, indent=2, ensure_ascii=False) + "\n"


def _uri(file: str) -> str:
    p = Path(file)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            return p.as_uri()
    return p.as_posix()


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.id.replace("-", " ").split()),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.clause},
        "help": {"text": rule.remediation, "markdown": f"**{rule.title}**\n\n{rule.clause}\n\nRemediation: {rule.remediation}"},
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {
            "severity": rule.severity,
            "stage": list(rule.stage),
            "tags": ["security", "compliance", rule.family.lower()],
            "security-severity": SECURITY_SEVERITY[rule.severity],
        },
    }


def to_sarif(report: Report) -> str:
    """SARIF 2.1.0: failures (and waived failures, as suppressed results) with exact regions."""
    rules = sorted(report.rules, key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    results = []
    for f in sorted_findings(report.findings):
        if f.status not in ("fail", "waived"):
            continue
        result: dict[str, Any] = {
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": SARIF_LEVEL[f.severity],
            "kind": "fail",
            "message": {"text": f"{f.target}: {f.message}"},
            "partialFingerprints": {"idcpilotTarget/v1": f"{f.rule.id}:{f.target}"},
            "properties": {"target": f.target, "severity": f.severity, "status": f.status},
        }
        loc: dict[str, Any] = {"logicalLocations": [{"fullyQualifiedName": f.target, "kind": "resource"}]}
        if f.location:
            loc["physicalLocation"] = {
                "artifactLocation": {"uri": _uri(f.location.file), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": max(1, f.location.line), "startColumn": max(1, f.location.column)},
            }
        result["locations"] = [loc]
        if f.status == "waived" and f.waiver:
            result["suppressions"] = [{
                "kind": "external",
                "status": "accepted",
                "justification": f"{f.waiver['justification']} (approved by {f.waiver['approver']}, expires {f.waiver['expires']})",
            }]
        results.append(result)
    notifications = [{"level": "warning", "message": {"text": w}} for w in report.warnings]
    notifications += [{"level": "note", "message": {"text": n}} for n in report.notes]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "idcpilot",
                "version": __version__,
                "rules": [_rule_descriptor(r) for r in rules],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}},
            "automationDetails": {"id": f"idcpilot-check/{report.estate}/"},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": results,
            "properties": {"estate": report.estate, "summary": report.summary()},
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def to_junit(report: Report) -> str:
    """One test suite per rule, one test case per finding: fail -> failure, waived/n.a. -> skipped."""
    from xml.etree import ElementTree as ET  # only JUnit output needs it

    root = ET.Element("testsuites", name=f"idcpilot policy ({report.estate})")
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule.id, []).append(f)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for rule_id in sorted(by_rule):
        items = by_rule[rule_id]
        fails = sum(f.status == "fail" for f in items)
        skipped = sum(f.status in ("waived", "not-applicable") for f in items)
        suite = ET.SubElement(root, "testsuite", name=rule_id, tests=str(len(items)), failures=str(fails),
                              errors="0", skipped=str(skipped))
        totals["tests"] += len(items)
        totals["failures"] += fails
        totals["skipped"] += skipped
        for f in items:
            case = ET.SubElement(suite, "testcase", classname=rule_id, name=f.target)
            if f.location:
                case.set("file", f.location.file)
                case.set("line", str(f.location.line))
            if f.status == "fail":
                el = ET.SubElement(case, "failure", message=f.message, type=f.severity)
                el.text = f"{f.rule.id} [{f.severity}] {f.target}: {f.message}" + (f"\nat {f.location}" if f.location else "") + \
                    f"\nremediation: {f.rule.remediation}"
            elif f.status == "waived":
                ET.SubElement(case, "skipped", message=f"waived: {f.message}")
            elif f.status == "not-applicable":
                ET.SubElement(case, "skipped", message=f"not applicable: {f.message}")
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report, fail_on: str | None = None) -> str:
    """A pull-request comment: verdict and summary, failures first, then waivers, passes folded."""
    s = report.summary()
    v = Verdict(report, fail_on)
    mark = "✅ **Policy gate passed**" if v.passed else "❌ **Policy gate failed**" if v.failures else "⚠️ **Partial policy run**"
    out = [f"## idcpilot policy check — estate `{report.estate}`", "",
           f"{mark}: {_md(v.sentence())}", "",
           "| pass | fail | waived | not applicable |", "|---:|---:|---:|---:|",
           f"| {s['pass']} | {s['fail']} | {s['waived']} | {s['not-applicable']} |", ""]
    fails = [f for f in sorted_findings(report.findings) if f.status == "fail"]
    if fails:
        out += ["### Failures", "", "| rule | severity | target | message | location |", "|---|---|---|---|---|"]
        for f in fails:
            out.append(f"| `{f.rule.id}` | {f.severity} | `{_md(f.target)}` | {_md(f.message)} | {'`' + str(f.location) + '`' if f.location else ''} |")
        out.append("")
    waived = [f for f in report.findings if f.status == "waived"]
    if waived:
        out += ["### Waived", "", "| rule | target | approver | expires | justification |", "|---|---|---|---|---|"]
        for f in waived:
            w = f.waiver or {}
            out.append(f"| `{f.rule.id}` | `{_md(f.target)}` | {_md(w.get('approver', ''))} | {w.get('expires', '')} | {_md(w.get('justification', ''))} |")
        out.append("")
    if report.warnings:
        out += ["### Warnings", ""] + [f"- {_md(w)}" for w in report.warnings] + [""]
    passes = [f for f in sorted_findings(report.findings) if f.status in ("pass", "not-applicable")]
    if passes:
        out += ["<details><summary>Passing and not-applicable checks</summary>", "",
                "| rule | status | target | message |", "|---|---|---|---|"]
        out += [f"| `{f.rule.id}` | {f.status} | `{_md(f.target)}` | {_md(f.message)} |" for f in passes]
        out += ["", "</details>", ""]
    return "\n".join(out)


__all__ = ["to_json", "to_sarif", "to_junit", "to_markdown"]
