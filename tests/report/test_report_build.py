"""The report document: every clause, failed rows first with file and line, schema, renderers."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from idcpilot import catalogue
from idcpilot.report import inputs as inp
from idcpilot.report.build import clause_catalogue
from idcpilot.report.html import render_html
from idcpilot.report.markdown import render_markdown
from idcpilot.report.run import Sources, check_document, make_report

from .conftest import AS_OF, EXAMPLE, GENERATED, REPO, line_of

#: The pilot specification, kept beside the repository (../shared/pilot-spec.md); IDCPILOT_PILOT_SPEC
#: names another copy. The shared location of this machine is tried last.
SPEC_CANDIDATES = [Path(p) for p in filter(None, [os.environ.get("IDCPILOT_PILOT_SPEC")])] + [
    REPO.parent / "shared" / "pilot-spec.md", Path("/work/shared/pilot-spec.md")]
SPEC_ID = re.compile(r"^\| ((?:PILOT|MLPS3|K8S)-[A-Z0-9-]+) \|", re.M)


def spec_ids(candidates: list[Path] | None = None) -> set[str]:
    """Every rule id of the pilot specification. Without the spec the coverage tests FAIL: the
    rules cannot stand in for the document they are checked against."""
    candidates = SPEC_CANDIDATES if candidates is None else candidates
    spec = next((p for p in candidates if p.is_file()), None)
    if spec is None:
        pytest.fail(f"pilot specification not found (looked at {', '.join(map(str, candidates))}; set IDCPILOT_PILOT_SPEC)")
    ids = set(SPEC_ID.findall(spec.read_text(encoding="utf-8")))
    if not ids:
        pytest.fail(f"{spec}: no rule id in its tables (| PILOT-… |): not the pilot specification")
    return ids


def test_spec_coverage_fails_without_the_spec(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="pilot specification not found"):
        spec_ids([tmp_path / "missing.md"])
    empty = tmp_path / "empty.md"
    empty.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="no rule id"):
        spec_ids([empty])
    assert len(spec_ids()) >= 40  # the real one: 21 PILOT, 16 MLPS3, 6 K8S


def report_schema() -> dict:
    return json.loads((REPO / "modules/idcpilot/report/report.schema.json").read_text(encoding="utf-8"))


def test_clause_catalogue_covers_every_rule_of_the_spec_and_the_gate():
    ids = set()
    for clause in clause_catalogue()["clauses"]:
        ids.add(clause["id"])
        if clause.get("group"):
            ids.update(m["id"] for m in clause_catalogue()["groups"][clause["group"]]["members"])
    assert spec_ids() <= ids
    from idcpilot.policy.registry import load_rules

    assert {r.rule.id for r in load_rules()} <= ids | {"POLICY-WAIVER"}


def test_example_report_has_every_pilot_clause_and_passes(example_report):
    doc = example_report.doc
    rows = {r["id"]: r for r in doc["clauses"]}
    pilot = {i for i in spec_ids() if i.startswith("PILOT-")}
    assert pilot <= set(rows)
    assert {m["id"] for m in rows["PILOT-MLPS3"]["members"]} == {i for i in spec_ids() if i.startswith("MLPS3-")}
    # the spec's K8S rules, and the product's own: K8S-BUNDLE (clusters name releases its offline bundle
    # builds) and K8S-ARTIFACTS (hosts install those files only against the committed pins, over https)
    assert {m["id"] for m in rows["K8S"]["members"]} == {i for i in spec_ids() if i.startswith("K8S-")} | {"K8S-BUNDLE", "K8S-ARTIFACTS"}
    assert doc["summary"]["gate"] == "pass" and doc["summary"]["fail"] == 0
    assert all(rows[i]["plan"]["status"] == "pass" for i in pilot), {i: rows[i]["plan"] for i in pilot}
    # verify-stage clauses say they were not verified (no --verify), plan-only ones say not applicable
    assert rows["PILOT-ZT"]["verify"]["status"] == "not-run"
    assert rows["PILOT-CDN-NODES"]["verify"]["status"] == "not-applicable"
    # K8S rules were judged on planned manifests (the gate planned them)
    assert rows["K8S"]["plan"]["counts"]["pass"] > 0


def test_report_json_validates_against_the_shipped_schema(example_report, failing_report):
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for built in (example_report, failing_report):
        on_disk = json.loads(built.paths["report.json"].read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator(schema).validate(on_disk)
    broken = copy.deepcopy(example_report.doc)
    broken["clauses"][0]["status"] = "fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    with pytest.raises(RuntimeError, match="report.schema.json"):
        check_document(broken)


def test_failing_estate_rows_first_with_file_and_line(failing_report, failing_env):
    doc = failing_report.doc
    statuses = [r["status"] for r in doc["clauses"]]
    n_fail = statuses.count("fail")
    assert statuses[:n_fail] == ["fail"] * n_fail and "fail" not in statuses[n_fail:]
    failed = {r["id"]: r for r in doc["clauses"][:n_fail]}
    assert {"PILOT-PUE", "POLICY-WAIVER", "PILOT-MLPS3", "PILOT-THREAT-INTEL"} <= set(failed)
    # a host check that fails counts even for a clause the spec checks at plan stage only
    assert failed["PILOT-THREAT-INTEL"]["plan"]["status"] == "pass" and failed["PILOT-THREAT-INTEL"]["verify"]["status"] == "fail"
    estate_line = line_of(failing_env / "estate.yaml", "measured: 1.41")
    waiver_line = line_of(failing_env / "waivers.yaml", "rule: PILOT-PUE")
    pue = failed["PILOT-PUE"]
    pue_fail = [e for e in pue["evidence"] if e["status"] == "fail" and e["rule"] == "PILOT-PUE"]
    assert pue_fail and pue_fail[0]["location"]["file"].endswith("estate.yaml")
    assert pue_fail[0]["location"]["line"] == estate_line
    assert "1.41" in pue_fail[0]["message"]
    # the expired waiver is shown on the PUE row (with its expiry) and fails as POLICY-WAIVER at its line
    assert pue["waivers"] == [{"rule": "PILOT-PUE", "target": "site/gz-edge-1", "justification": "chiller replacement in Q1",
                               "approver": "ops director", "expires": "2026-03-31", "expired": True,
                               "location": pue["waivers"][0]["location"]}]
    assert pue["waivers"][0]["location"]["line"] == waiver_line
    expired = [e for e in failed["POLICY-WAIVER"]["evidence"] if e["status"] == "fail"]
    assert expired[0]["location"]["line"] == waiver_line and "expired" in expired[0]["message"]
    # the verify failure makes the MLPS3 row fail, with the test id as evidence
    mlps = failed["PILOT-MLPS3"]
    assert mlps["plan"]["status"] == "pass" and mlps["verify"]["status"] == "fail"
    assert any(e["kind"] == "verify" and e["status"] == "fail" and "test_sshd" in e["test"] for e in mlps["evidence"])
    assert next(m for m in mlps["members"] if m["id"] == "MLPS3-AUTH-REMOTE")["status"] == "fail"
    assert next(m for m in mlps["members"] if m["id"] == "MLPS3-AUDIT")["verify"]["status"] == "skipped"
    # the site's own value is marked failed
    assert next(v for v in pue["values"] if v["target"] == "site/gz-edge-1")["status"] == "fail"
    assert doc["summary"]["gate"] == "fail"


def test_verify_measurements_reach_kpis_and_links(failing_report):
    doc = failing_report.doc
    kpis = {k["id"]: k for k in doc["kpis"]}
    assert kpis["sdwan-measured"]["value"] == 4.1 and kpis["sdwan-measured"]["status"] == "pass"
    assert kpis["zt"]["value"] == pytest.approx(0.999)
    links = {(l["a"], l["b"]): l for l in doc["sdwan"]["links"]}
    assert links[("bj-core-1", "sh-core-1")]["measuredMs"] == 4.1  # RTT 8.2 / 2
    assert links[("bj-core-1", "gz-edge-1")]["measuredMs"] == 4.1  # measured between the sites' WAN hosts
    assert links[("sh-core-1", "hz-edge-1")]["measuredMs"] is None
    assert kpis["pue"]["value"] == 1.41 and kpis["pue"]["status"] == "fail"
    assert doc["summary"]["verify"] == {"pass": 3, "fail": 2, "skipped": 1}


def test_findings_file_gives_the_same_rows_as_the_engine(failing_report, failing_env, tmp_path):
    findings = tmp_path / "findings.json"
    from idcpilot.policy import run

    report = run(catalogue.load(failing_env), today=AS_OF, plan=False, waivers_file=failing_env / "waivers.yaml")
    findings.write_text(json.dumps(report.as_dict()), encoding="utf-8")
    verify = failing_report.out.parent / "verify.json"
    doc = make_report(catalogue.load(failing_env), Sources(findings_file=findings, verify_file=verify,
                                                            waivers_file=failing_env / "waivers.yaml"),
                      as_of=AS_OF, generated_at=GENERATED)
    simple = lambda d: [(r["id"], r["status"], r["plan"], r["verify"]) for r in d["clauses"]]  # noqa: E731
    assert simple(doc) == simple(failing_report.doc)
    assert doc["inputs"]["findings"].endswith("findings.json")


def test_unknown_rule_in_findings_gets_its_own_row(tmp_path):
    findings = tmp_path / "findings.json"
    findings.write_text(json.dumps({"findings": [
        {"rule": "PILOT-NEW-CLAUSE", "title": "A clause from a revised guidance", "status": "fail", "severity": "high",
         "target": "estate/example", "message": "not met", "location": {"file": "x.yaml", "line": 3, "column": 1}, "waiver": None},
    ]}), encoding="utf-8")
    doc = make_report(catalogue.load(EXAMPLE), Sources(findings_file=findings, waivers_file=tmp_path / "none.yaml"),
                      as_of=AS_OF, generated_at=GENERATED)
    assert doc["clauses"][0]["id"] == "PILOT-NEW-CLAUSE" and doc["clauses"][0]["status"] == "fail"
    # without findings for them, the known clauses are "not checked", never "pass"
    assert {r["status"] for r in doc["clauses"][1:]} <= {"not-checked", "not-applicable"}


def test_history_gives_change_since_last_quarter(example_report, tmp_path):
    history = tmp_path / "history"
    history.mkdir()
    old = copy.deepcopy(example_report.doc)
    old["asOf"], old["generatedAt"] = "2026-08-31", "2026-08-31T10:00:00+00:00"
    for k in old["kpis"]:
        if k["id"] == "automation":
            k["value"] = 0.9
        if k["id"] == "cdn":
            k["value"] = 180.0
    (history / "example-2026-08-31.json").write_text(json.dumps(old), encoding="utf-8")
    older = copy.deepcopy(old)
    older["asOf"], older["generatedAt"] = "2026-05-31", "2026-05-31T10:00:00+00:00"
    (history / "example-2026-05-31.json").write_text(json.dumps(older), encoding="utf-8")
    later = copy.deepcopy(old)  # a report dated after this one is not "last quarter"
    later["asOf"] = "2027-02-28"
    (history / "example-2027-02-28.json").write_text(json.dumps(later), encoding="utf-8")
    doc = make_report(catalogue.load(EXAMPLE), Sources(history_dir=history, plan=False), as_of=AS_OF, generated_at=GENERATED)
    kpis = {k["id"]: k for k in doc["kpis"]}
    assert kpis["cdn"]["previous"] == 180 and kpis["cdn"]["change"] == 36
    assert kpis["automation"]["change"] == pytest.approx(304 / 305 - 0.9)
    assert [p["asOf"] for p in kpis["cdn"]["series"]] == ["2026-05-31", "2026-08-31", "2026-11-27"]
    assert doc["inputs"]["previous"]["asOf"] == "2026-08-31"
    html = render_html(doc)
    assert "▲ +36" in html and "class=\"spark\"" in html


def test_history_rejects_files_that_are_not_reports(tmp_path):
    (tmp_path / "notes.json").write_text('{"hello": "world"}\n', encoding="utf-8")
    with pytest.raises(inp.UserInputError) as exc:
        inp.load_history(tmp_path)
    assert any(p.file.endswith("notes.json") for p in exc.value.problems)


def test_bad_verify_file_names_file_line_and_field(tmp_path):
    bad = tmp_path / "verify.json"
    bad.write_text('{\n  "results": [\n    {"rule": "PILOT-ZT", "status": "passed"}\n  ]\n}\n', encoding="utf-8")
    with pytest.raises(inp.UserInputError) as exc:
        inp.load_verify(bad)
    (problem,) = exc.value.problems
    assert (problem.line, problem.field) == (3, "results[0].status")
    assert "pass, fail, skipped" in problem.message


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_languages(example_report, lang):
    html = render_html(example_report.doc, lang)
    md = render_markdown(example_report.doc, lang)
    for text in (html, md):
        has_zh, has_en = "试点评估证据报告" in text, "Pilot assessment evidence report" in text
        assert (has_zh, has_en) == {"zh": (True, False), "en": (False, True), "both": (True, True)}[lang]
    assert ("建设标准化IDC机房" in html) == (lang != "en")


def test_html_is_self_contained(example_report):
    html = example_report.paths["report.html"].read_text(encoding="utf-8")
    assert "<script" not in html and "@import" not in html and "@font-face" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'none'" in html  # the page itself forbids any load
    assert html.count("<svg") >= 4
    for rid in spec_ids():
        assert rid in html


def test_source_url_links_evidence_to_the_line(failing_report, failing_env):
    html = render_html(failing_report.doc, "en", "https://git.example/idc/blob/main/{file}#L{line}")
    line = line_of(failing_env / "estate.yaml", "measured: 1.41")
    assert re.search(rf'<a class="loc" href="https://git.example/idc/blob/main/[^"]*estate.yaml#L{line}">', html)


def test_markdown_lists_failures_first_with_location(failing_report, failing_env):
    md = failing_report.paths["report.md"].read_text(encoding="utf-8")
    table = [line for line in md.splitlines() if line.startswith("| **")]
    assert "PILOT-PUE" in table[0] or "PILOT-PUE" in table[1]
    line = line_of(failing_env / "estate.yaml", "measured: 1.41")
    assert f"estate.yaml:{line}`" in md
    assert "2026-03-31 **" in md  # the expired waiver, flagged


def test_as_of_drives_waiver_expiry(failing_env):
    doc = make_report(catalogue.load(failing_env), Sources(waivers_file=failing_env / "waivers.yaml", plan=False),
                      as_of=dt.date(2026, 3, 1), generated_at=GENERATED)
    pue = next(r for r in doc["clauses"] if r["id"] == "PILOT-PUE")
    assert pue["status"] == "waived" and pue["waivers"][0]["expired"] is False


def test_verify_output_of_idcpilot_verify_feeds_the_report(tmp_path):
    """The JSON `idcpilot verify --format json` writes (built by its own code) is what the report reads."""
    from idcpilot.verify.report import build_report as verify_report

    records = [
        {"rule": "PILOT-SDWAN-LATENCY", "host": "lab-bj-gw01", "test": "tests/verify/test_sdwan.py::test_one_way_latency_within_link_budget",
         "status": "pass", "message": "", "duration": 3.1,
         "measurements": {"PILOT-SDWAN-LATENCY": {"lab-bj--lab-sh": {"from": "lab-bj-gw01", "to": "lab-sh-gw01", "rtt_ms": 1.2,
                                                                   "one_way_ms": 0.6, "budget_ms": 5}}}},
        {"rule": "PILOT-ZT", "host": "lab-bj-zt01", "test": "tests/verify/test_zt.py::test_access_matrix",
         "status": "pass", "message": "", "duration": 2.0,
         "measurements": {"PILOT-ZT": {"lab-zt.accuracy": 1.0, "lab-zt.requests": 12, "lab-zt.wrong_allows": 0}}},
        {"rule": "MLPS3-AUDIT", "host": "lab-sh-k8s01", "test": "tests/verify/test_baseline.py::test_auditd",
         "status": "skipped", "message": "not checkable in a container: auditd needs the audit netlink socket", "duration": 0.1,
         "measurements": {}},
    ]
    path = tmp_path / "verify.json"
    path.write_text(json.dumps(verify_report("lab", records).as_dict()), encoding="utf-8")
    doc = make_report(catalogue.load(REPO / "inventories" / "lab"), Sources(verify_file=path, plan=False),
                      as_of=AS_OF, generated_at=GENERATED)
    kpis = {k["id"]: k for k in doc["kpis"]}
    assert kpis["sdwan-measured"]["value"] == 0.6 and kpis["zt"]["value"] == 1.0
    assert kpis["zt"]["detail"] == {"correct": 12, "total": 12}
    rows = {r["id"]: r for r in doc["clauses"]}
    # one of the lab's three links was measured: the verify part is partial and says which were not
    latency = rows["PILOT-SDWAN-LATENCY"]
    assert latency["verify"]["status"] == "partial" and latency["status"] == "not-verified"
    assert latency["verify"]["gaps"] == [{"kind": "links", "expected": 3, "covered": 1, "missing": ["lab-bj~lab-gz", "lab-sh~lab-gz"]}]
    skipped = [e for e in rows["PILOT-MLPS3"]["evidence"] if e["kind"] == "verify"]
    assert skipped[0]["status"] == "skipped" and "container" in skipped[0]["message"]
    # a skip is shown, never counted as a failure or as a pass: MLPS3 was not verified
    # (the clause as a whole is "waived": the lab's worker nodes are kwok under a PILOT-MLPS3 waiver)
    assert rows["PILOT-MLPS3"]["verify"]["status"] == "skipped" and rows["PILOT-MLPS3"]["status"] == "waived"
