"""The report shows only what was checked: verify-stage clauses, unmeasured links, where each
figure came from, what ties the report to its inputs, and finding messages in Chinese."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from idcpilot import catalogue
from idcpilot.report.build import clause_catalogue
from idcpilot.report.html import render_html
from idcpilot.report.i18n import message_zh
from idcpilot.report.markdown import render_markdown
from idcpilot.report.run import NOT_A_CHECKOUT, Sources, make_report
from idcpilot.report.svg import COLOURS

from .conftest import AS_OF, EXAMPLE, GENERATED, REPO

VERIFY_STAGE = sorted(c["id"] for c in clause_catalogue()["clauses"] if "verify" in c["stage"])
SVG_NS = "{http://www.w3.org/2000/svg}"


def rows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc["clauses"]}


def schema() -> dict[str, Any]:
    return json.loads((REPO / "modules/idcpilot/report/report.schema.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- not verified


def test_verify_stage_clauses_without_verify_results_are_not_verified(example_report):
    doc = example_report.doc
    by_id = rows(doc)
    assert {"PILOT-ZT", "PILOT-SDWAN-LATENCY", "PILOT-MLPS3"} <= set(VERIFY_STAGE)
    for cid in VERIFY_STAGE:
        assert by_id[cid]["plan"]["status"] == "pass", cid
        assert by_id[cid]["verify"]["status"] == "not-run" and by_id[cid]["status"] == "not-verified", cid
    mlps = {m["id"]: m for m in by_id["PILOT-MLPS3"]["members"]}
    assert mlps["MLPS3-AUTH-REMOTE"]["status"] == "not-verified" and mlps["MLPS3-BACKUP"]["status"] == "pass"  # plan-only member
    assert by_id["PILOT-PUE"]["status"] == "pass"  # a plan-only clause passes on its plan part
    s = doc["summary"]
    assert s["notVerified"] == len(VERIFY_STAGE) and s["pass"] == sum(1 for r in doc["clauses"] if r["status"] == "pass")
    assert s["clauses"] == s["pass"] + s["fail"] + s["waived"] + s["notVerified"] + s["notChecked"] + s["notApplicable"]
    # the same in HTML (rows and the summary pill) and Markdown
    html = example_report.paths["report.html"].read_text(encoding="utf-8")
    for cid in VERIFY_STAGE:
        assert f'id="{cid}" data-status="not-verified"' in html, cid
    assert f"未验证 / not verified: {len(VERIFY_STAGE)}</span>" in html
    md = example_report.paths["report.md"].read_text(encoding="utf-8")
    zt_line = next(line for line in md.splitlines() if line.startswith("| **PILOT-ZT**"))
    assert "**未验证 / not verified**" in zt_line
    assert f"未验证 / not verified {len(VERIFY_STAGE)}" in md


def _zt_verify(cat, *, hosts: list[str], accuracy: float | None) -> dict[str, Any]:
    results = [{"rule": "PILOT-ZT", "host": h, "test": f"tests/verify/test_zt.py::test_access_matrix[{h}]", "status": "pass",
                "message": "", "duration": 1.0} for h in hosts]
    measurements = {"PILOT-ZT": {"correct": round(accuracy * 1000), "total": 1000}} if accuracy is not None else {}
    return {"estate": cat.name, "summary": {"total": len(results), "pass": len(results), "fail": 0, "skipped": 0},
            "results": results, "measurements": measurements}


def _report_with(tmp_path: Path, document: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "verify.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return make_report(catalogue.load(EXAMPLE), Sources(verify_file=path, plan=False), as_of=AS_OF, generated_at=GENERATED)


def test_with_verify_a_clause_passes_only_when_read_back_everywhere(tmp_path):
    cat = catalogue.load(EXAMPLE)
    gateways = sorted(h.name for h in cat.hosts_with("zt_gateway") if h.automated)
    assert len(gateways) >= 2
    full = rows(_report_with(tmp_path, _zt_verify(cat, hosts=gateways, accuracy=0.9995)))["PILOT-ZT"]
    assert (full["verify"]["status"], full["status"]) == ("pass", "pass") and "gaps" not in full["verify"]
    # one gateway host not verified: partial, named, and the clause is not verified
    some = rows(_report_with(tmp_path, _zt_verify(cat, hosts=gateways[:-1], accuracy=0.9995)))["PILOT-ZT"]
    assert (some["verify"]["status"], some["status"]) == ("partial", "not-verified")
    assert some["verify"]["gaps"] == [{"kind": "hosts", "expected": len(gateways), "covered": len(gateways) - 1,
                                       "missing": [gateways[-1]]}]
    # tests passed but the accuracy the threshold applies to was never measured
    unmeasured = rows(_report_with(tmp_path, _zt_verify(cat, hosts=gateways, accuracy=None)))["PILOT-ZT"]
    assert unmeasured["status"] == "not-verified" and unmeasured["verify"]["gaps"][0]["kind"] == "measurements"
    # measured below 99.9 %: the verify part fails, whatever the tests said
    low = rows(_report_with(tmp_path, _zt_verify(cat, hosts=gateways, accuracy=0.99)))["PILOT-ZT"]
    assert (low["verify"]["status"], low["status"]) == ("fail", "fail")


def test_partial_verification_is_shown_in_html_and_markdown(failing_report):
    doc = failing_report.doc
    latency = rows(doc)["PILOT-SDWAN-LATENCY"]
    assert latency["verify"]["status"] == "partial" and latency["status"] == "not-verified"
    (gap,) = latency["verify"]["gaps"]
    assert gap["kind"] == "links" and (gap["expected"], gap["covered"]) == (len(doc["sdwan"]["links"]), 2)
    html = render_html(doc, "en")
    row = html[html.index('id="PILOT-SDWAN-LATENCY"'):]
    row = row[: row.index('<tr class="row ', 1)]
    assert f"verified 2/{gap['expected']} links" in row and gap["missing"][0] in row
    md = render_markdown(doc, "en")
    assert f"verified 2/{gap['expected']} links" in next(l for l in md.splitlines() if l.startswith("| **PILOT-SDWAN-LATENCY**"))
    # MLPS3: one member failed on a host, so the row fails; a skip alone never passes a member
    mlps = {m["id"]: m for m in rows(doc)["PILOT-MLPS3"]["members"]}
    assert mlps["MLPS3-AUDIT"]["status"] == "not-verified"


def test_rule_the_report_does_not_know_is_judged_on_what_was_reported(tmp_path):
    """Verify results for a rule of a newer rule set: its own row, passed by the read-back checks alone."""
    document = {"estate": "example", "measurements": {}, "results": [
        {"rule": "PILOT-NEW-HOSTCHECK", "host": "bj-core-1-cp-01", "test": "t::x", "status": "pass", "message": "", "duration": 0.1}]}
    row = rows(_report_with(tmp_path, document))["PILOT-NEW-HOSTCHECK"]
    assert (row["stage"], row["verify"]["status"], row["status"]) == (["verify"], "pass", "pass")
    document["results"][0]["status"] = "skipped"
    row = rows(_report_with(tmp_path, document))["PILOT-NEW-HOSTCHECK"]
    assert (row["verify"]["status"], row["status"]) == ("skipped", "not-verified")


# --------------------------------------------------------------------------- pictures


def _links(html: str) -> dict[str, str]:
    """The topology SVG parsed as XML: link name -> stroke colour."""
    svg = re.search(r'<svg[^>]*class="chart sdwan-topology".*?</svg>', html, re.S).group(0)
    root = ET.fromstring(svg)
    return {line.get("data-link"): line.get("stroke") for line in root.iter(f"{SVG_NS}line") if line.get("data-link")}


def test_unmeasured_links_are_grey(example_report, failing_report):
    links = _links(example_report.paths["report.html"].read_text(encoding="utf-8"))
    assert len(links) == len(example_report.doc["sdwan"]["links"]) >= 9
    assert set(links.values()) == {COLOURS["unknown"]}  # nothing was measured: every link grey, none green
    measured = _links(failing_report.paths["report.html"].read_text(encoding="utf-8"))
    assert measured.pop("bj-core-1~sh-core-1") == COLOURS["pass"] and measured.pop("bj-core-1~gz-edge-1") == COLOURS["pass"]
    assert set(measured.values()) == {COLOURS["unknown"]}


def test_a_link_measured_over_the_limit_fails_and_is_red(tmp_path):
    document = {"estate": "example", "results": [
        {"rule": "PILOT-SDWAN-LATENCY", "host": "bj-core-1-wan-01", "test": "t::latency", "status": "pass", "message": "", "duration": 1.0}],
        "measurements": {"PILOT-SDWAN-LATENCY": {"links": [{"a": "bj-core-1", "b": "sh-core-1", "rttMs": 30}]}}}
    doc = _report_with(tmp_path, document)
    latency = rows(doc)["PILOT-SDWAN-LATENCY"]
    assert (latency["verify"]["status"], latency["status"]) == ("fail", "fail")  # the test passed; the figure did not
    links = _links(render_html(doc, "en"))
    assert links.pop("bj-core-1~sh-core-1") == COLOURS["fail"] and set(links.values()) == {COLOURS["unknown"]}


def test_every_figure_says_where_it_came_from(failing_report):
    doc = failing_report.doc
    assert {k["id"]: k["source"] for k in doc["kpis"] if k["source"] == "verify"} == {"sdwan-measured": "verify", "zt": "verify"}
    assert {k["source"] for k in doc["kpis"]} == {"catalogue", "verify"}
    for row in doc["clauses"]:
        for v in row["values"]:
            assert v["source"] in ("catalogue", "verify"), (row["id"], v)
        if row["threshold"] and row["threshold"]["value"] is not None:
            assert row["threshold"]["source"].startswith(("policy/thresholds.yaml: ", "pilot specification")), row["threshold"]
    lat = rows(doc)["PILOT-SDWAN-LATENCY"]["values"]
    assert {v["term"]: v["source"] for v in lat} == {"v-link-budget": "catalogue", "v-link-measured": "verify"}
    html = render_html(doc, "en")
    figures = html.count("<figure>")
    assert figures == 4 and html.count("<figcaption>") == figures
    assert "measured: verify measurement (" in html and "threshold: policy/thresholds.yaml: pue.max" in html
    assert html.count('class="src src-verify"') >= 2 and 'class="src src-catalogue"' in html


# --------------------------------------------------------------------------- provenance


def test_report_carries_estate_digest_commit_and_tool_version(example_report):
    p = example_report.doc["provenance"]
    estate = EXAMPLE / "estate.yaml"
    assert p["estateSha256"] == hashlib.sha256(estate.read_bytes()).hexdigest()
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert p["commit"] == head
    from idcpilot import __version__

    assert p["tool"] == f"idcpilot {__version__}"
    html = example_report.paths["report.html"].read_text(encoding="utf-8")
    md = example_report.paths["report.md"].read_text(encoding="utf-8")
    for text in (html, md):
        assert p["estateSha256"] in text and head in text and p["tool"] in text
    on_disk = json.loads(example_report.paths["report.json"].read_text(encoding="utf-8"))
    assert on_disk["provenance"] == p
    broken = copy.deepcopy(on_disk)
    broken["provenance"]["estateSha256"] = "abc"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema())


def test_estate_outside_a_checkout_says_so(failing_report, failing_env):
    p = failing_report.doc["provenance"]  # the failing estate is a copy in a temporary directory
    assert p["commit"] == NOT_A_CHECKOUT == "not a git checkout" and p["estateModified"] is None
    assert p["estateSha256"] == hashlib.sha256((failing_env / "estate.yaml").read_bytes()).hexdigest()
    assert "not a git checkout" in render_html(failing_report.doc, "en")
    assert "非 git 检出目录" in render_markdown(failing_report.doc, "zh")


# --------------------------------------------------------------------------- language and layout


def test_lang_zh_translates_finding_messages(failing_report):
    html = render_html(failing_report.doc, "zh")
    pue = html[html.index('id="PILOT-PUE"'):]
    pue = pue[: pue.index('<tr class="row ', 1)]
    assert "实测 PUE 1.41 超过上限 1.35(试点默认值)" in pue
    assert "exceeds" not in pue and "waives nothing" not in pue
    assert "PILOT-PUE 在 site/gz-edge-1 上的豁免已过期于 2026-03-31;不豁免任何结果" in pue
    md = render_markdown(failing_report.doc, "zh")
    assert "实测 PUE 1.41 超过上限 1.35" in md and "exceeds 1.35" not in md
    assert "measured PUE 1.41 exceeds 1.35" in render_html(failing_report.doc, "en")
    both = render_html(failing_report.doc, "both")
    assert "实测 PUE 1.41 超过上限 1.35(试点默认值) / measured PUE 1.41 exceeds 1.35 (pilot default)" in both


@pytest.mark.parametrize("env", ["example", "lab"])
def test_every_message_the_gate_writes_has_a_chinese_wording(env, failing_report):
    from idcpilot.policy import run

    messages = {f["message"] for f in run(catalogue.load(REPO / "inventories" / env), today=AS_OF, plan=False).as_dict()["findings"]}
    messages |= {e["message"] for r in failing_report.doc["clauses"] for e in r["evidence"] if e["kind"] == "finding"}
    assert len(messages) > 30
    assert sorted(m for m in messages if message_zh(m) is None) == []


def test_untranslated_message_is_shown_in_english_and_marked():
    from idcpilot.report.i18n import message

    e = {"kind": "finding", "message": "a wording from a newer rule set"}
    assert message(e, "zh") == "a wording from a newer rule set(英文原文)"
    assert message(e, "both") == message(e, "en") == "a wording from a newer rule set"
    assert message({"kind": "verify", "message": "PasswordAuthentication yes"}, "zh") == "PasswordAuthentication yes"


def test_threshold_column_lists_each_override_on_its_own(example_report):
    html = example_report.paths["report.html"].read_text(encoding="utf-8")
    row = html[html.index('id="PILOT-PUE"'):]
    cell = re.search(r'<td class="th">(.*?)</td>', row, re.S).group(1)
    overrides = rows(example_report.doc)["PILOT-PUE"]["threshold"]["overrides"]
    assert len(overrides) >= 2
    assert cell.count("<li>") == len(overrides)
    for o in overrides:
        assert re.search(rf'<li><span class="ov-value">≤ {o["value"]:.2f}</span> [^<]*<span class="ov-sites">', cell), o
    assert "table.clauses td.th { min-width: 170px" in html


def test_verify_stage_semantics_are_documented():
    doc = (REPO / "docs" / "report.md").read_text(encoding="utf-8")
    for phrase in ("not verified", "partly verified", "verifyScope", "estateSha256", "not a git checkout", "messages.zh.yaml"):
        assert phrase in doc, phrase
