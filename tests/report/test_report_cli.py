"""`idcpilot report` on the command line: outputs, bad input (exit 2, file:line), no overwriting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idcpilot.cli.main import app

from .conftest import EXAMPLE

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["report", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def findings_file(example_report, tmp_path_factory) -> Path:
    """The example's findings in the check --format json contract (taken from the engine once)."""
    from idcpilot import catalogue
    from idcpilot.policy import run

    from .conftest import AS_OF

    path = tmp_path_factory.mktemp("findings") / "findings.json"
    path.write_text(json.dumps(run(catalogue.load(EXAMPLE), today=AS_OF, plan=False).as_dict()), encoding="utf-8")
    return path


def test_writes_three_files_and_prints_where(findings_file, tmp_path):
    out = tmp_path / "out"
    result = invoke(str(EXAMPLE), "--findings", str(findings_file), "--out", str(out), "--as-of", "2026-11-27")
    assert result.exit_code == 0, result.output
    assert "report: " in result.output and str((out / "report.html").resolve()) in result.output.replace("\n", "")
    assert {p.name for p in out.iterdir()} == {"report.html", "report.json", "report.md"}
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["inputs"]["findings"].endswith("findings.json") and doc["asOf"] == "2026-11-27"


def test_printed_counts_add_up_to_the_clauses(findings_file, tmp_path):
    """Every clause is in one of the printed counts (not-applicable ones were left out)."""
    import re
    result = invoke(str(EXAMPLE), "--findings", str(findings_file), "--out", str(tmp_path / "out"), "--as-of", "2026-11-27")
    assert result.exit_code == 0, result.output
    line = " ".join(result.output.split()).split("; policy gate")[0]  # the summary sentence
    total = int(re.search(r"(\d+) clauses", line).group(1))
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (failed|waived|not verified|not checked|not applicable|passed)", line)}
    assert set(counts) == {"failed", "waived", "not verified", "not checked", "not applicable", "passed"}, line
    assert sum(counts.values()) == total, line
    doc = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert counts["not applicable"] == doc["summary"]["notApplicable"]
    # each clause not verified has its own line saying why
    unverified = [r["id"] for r in doc["clauses"] if r["status"] == "not-verified"]
    assert counts["not verified"] == len(unverified) >= 7
    for cid in unverified:
        assert f"? {cid} not verified: no verify results (--verify)" in result.output, cid


def test_rerun_keeps_the_previous_report_as_history_and_shows_the_trend(findings_file, tmp_path):
    out = tmp_path / "out"
    assert invoke(str(EXAMPLE), "--findings", str(findings_file), "--out", str(out), "--as-of", "2026-08-31").exit_code == 0
    result = invoke(str(EXAMPLE), "--findings", str(findings_file), "--out", str(out), "--as-of", "2026-11-27")
    assert result.exit_code == 0, result.output
    (archived,) = (out / "history").glob("example-2026-08-31-*.json")  # <estate>-<asOf>-<HHMMSS generated>
    assert json.loads(archived.read_text(encoding="utf-8"))["asOf"] == "2026-08-31"
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["inputs"]["previous"]["asOf"] == "2026-08-31"
    assert {k["id"]: k["change"] for k in doc["kpis"]}["cdn"] == 0


def test_never_overwrites_files_it_did_not_write(findings_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "report.md"
    mine.write_text("# my own notes\n", encoding="utf-8")
    result = invoke(str(EXAMPLE), "--findings", str(findings_file), "--out", str(out))
    assert result.exit_code == 2
    assert "report.md" in result.output and "not overwriting" in result.output
    assert mine.read_text(encoding="utf-8") == "# my own notes\n"
    assert not (out / "report.html").exists()
    assert invoke(str(EXAMPLE), "--findings", str(findings_file), "--out", str(out), "--force").exit_code == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--as-of", "27/11/2026"], "--as-of"),
        (["--source-url", "https://git.example/blob/main"], "{file} and {line}"),
        (["--lang", "fr"], "fr"),
        (["--history", "/nonexistent/history"], "history"),
        (["--waivers", "/nonexistent/waivers.yaml"], "not found"),
    ],
)
def test_bad_options_exit_2(findings_file, tmp_path, args, expected):
    result = invoke(str(EXAMPLE), "--findings", str(findings_file), "--out", str(tmp_path / "o"), *args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output


def test_bad_findings_and_verify_files_name_file_and_line(tmp_path):
    bad = tmp_path / "findings.json"
    bad.write_text('{"findings": [\n  {"rule": "PILOT-PUE", "status": "ok", "target": "site/x"}\n]}\n', encoding="utf-8")
    result = invoke(str(EXAMPLE), "--findings", str(bad), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "findings.json:2:" in result.output and "findings[0].status" in result.output
    broken = tmp_path / "verify.json"
    broken.write_text('{"results": [}', encoding="utf-8")
    result = invoke(str(EXAMPLE), "--findings", str(bad).replace("findings.json", "missing.json"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "missing.json" in result.output
    good = tmp_path / "f.json"
    good.write_text('{"findings": []}', encoding="utf-8")
    result = invoke(str(EXAMPLE), "--findings", str(good), "--verify", str(broken), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "verify.json:1:" in result.output
    assert not (tmp_path / "o").exists()  # nothing written on bad input


def test_strict_exits_1_on_failed_clauses(failing_env, tmp_path):
    result = invoke(str(failing_env), "--no-plan", "--waivers", str(failing_env / "waivers.yaml"), "--out", str(tmp_path / "o"),
                    "--as-of", "2026-11-27", "--strict")
    assert result.exit_code == 1, result.output
    assert "PILOT-PUE" in result.output and "estate.yaml:" in result.output
    assert (tmp_path / "o" / "report.html").exists()  # written all the same


def test_thresholds_file_without_a_needed_value_is_bad_input(findings_file, tmp_path):
    text = (Path(__file__).resolve().parents[2] / "policy" / "thresholds.yaml").read_text(encoding="utf-8")
    assert "    windowDays: 365\n" in text
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(text.replace("    windowDays: 365\n", ""), encoding="utf-8")
    result = invoke(str(EXAMPLE), "--findings", str(findings_file), "--thresholds", str(thresholds), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2, result.output
    assert "thresholds.yaml" in result.output and "drills.windowDays" in result.output


def test_results_of_another_estate_are_refused(findings_file, tmp_path):
    doc = json.loads(findings_file.read_text(encoding="utf-8"))
    assert doc["estate"] == "example"
    result = invoke(str(EXAMPLE.parent / "lab"), "--findings", str(findings_file), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "for estate 'example', not 'lab'" in result.output
    verify = tmp_path / "verify.json"
    verify.write_text(json.dumps({"estate": "lab", "results": [], "measurements": {}}), encoding="utf-8")
    result = invoke(str(EXAMPLE), "--findings", str(findings_file), "--verify", str(verify), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "for estate 'lab', not 'example'" in result.output


def test_reports_of_one_day_each_keep_their_own_history_record(findings_file, tmp_path):
    """Three runs on one day into one --out: the first two are both archived, neither overwritten."""
    out = tmp_path / "out"
    written = []
    for _ in range(3):
        assert invoke(str(EXAMPLE), "--findings", str(findings_file), "--out", str(out), "--as-of", "2026-11-27").exit_code == 0
        written.append((out / "report.json").read_text(encoding="utf-8"))
    records = sorted((out / "history").iterdir())
    assert len(records) == 2, records
    assert sorted(r.read_text(encoding="utf-8") for r in records) == sorted(written[:2])
    # a report archived already is not archived twice (a run that stopped on bad input archived it)
    from idcpilot.report.run import archive_previous

    assert archive_previous(out) is not None and archive_previous(out) is not None
    assert len(list((out / "history").iterdir())) == 3


def test_history_names_never_replace_a_record(tmp_path):
    """Same estate, day and second: the second record gets its own name; same content: kept once."""
    from idcpilot.report.run import _write_new

    first = _write_new(tmp_path, "example-2026-11-27-093000", "one\n")
    second = _write_new(tmp_path, "example-2026-11-27-093000", "two\n")
    again = _write_new(tmp_path, "example-2026-11-27-093000", "two\n")
    assert (first.name, second.name, again.name) == ("example-2026-11-27-093000.json", "example-2026-11-27-093000-2.json",
                                                     "example-2026-11-27-093000-2.json")
    assert first.read_text() == "one\n" and second.read_text() == "two\n"
    assert {p.name for p in tmp_path.iterdir()} == {first.name, second.name}  # no temporary file left
