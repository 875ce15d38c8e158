"""policy/thresholds.yaml is validated as strictly as an estate: every problem at once, each with
file:line:col and the key path, exit 2 through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from idcpilot.errors import UserInputError
from idcpilot.policy.thresholds import load

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "policy" / "thresholds.yaml").read_text(encoding="utf-8")
#: the hostile edits, as data (tests/policy/thresholds_cases.yaml)
CASES = yaml.safe_load((Path(__file__).with_name("thresholds_cases.yaml")).read_text(encoding="utf-8"))


def problems(tmp_path: Path, *edits: tuple[str, str]) -> list:
    text = TEXT
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    p = tmp_path / "t.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(UserInputError) as exc:
        load(p)
    return exc.value.problems


def line_of(text: str) -> int:
    return TEXT[: TEXT.index(text)].count("\n") + 1


def test_the_repository_file_is_valid():
    t = load(REPO / "policy" / "thresholds.yaml")
    assert t.get("waivers.maxDays") == 180
    assert t.get("waivers.rules")["MLPS3-AUDIT"] == {"waivable": False}


@pytest.mark.parametrize("case", CASES, ids=[c["field"] for c in CASES])
def test_a_bad_value_is_named_with_its_line_and_path(case, tmp_path):
    old, new, field, words = case["old"], case["new"], case["field"], case["words"]
    found = problems(tmp_path, (old, new))
    hits = [p for p in found if p.field == field]
    assert hits, [str(p) for p in found]
    assert words in hits[0].message and hits[0].line == line_of(old.split("\n")[0].strip()) and hits[0].column > 1


def test_every_problem_at_once(tmp_path):
    found = problems(tmp_path, ("    max: 1.35 ", "    maxi: 1.35 "), ("critical: mandatory", "critical: maybe"),
                     ("minNodes: 200", "minNodes: ~"))
    fields = {p.field for p in found}
    assert {"thresholds.pue.maxi", "thresholds.crossguard.enforcement.critical", "thresholds.cdn.minNodes"} <= fields
    assert any(p.field == "thresholds.pue.max" and "missing key 'max'" in p.message and p.line == line_of("pue:") for p in found)


def test_a_missing_section_is_named(tmp_path):
    found = problems(tmp_path, ("  waivers:\n    maxDays: 180", "  waiver:\n    maxDays: 180"))
    assert any(p.field == "thresholds.waivers" and "missing key 'waivers'" in p.message for p in found)
    assert any(p.field == "thresholds.waiver" for p in found)


def test_the_typo_that_once_passed_9999_days_is_exit_2_through_the_cli(tmp_path):
    from tests.adversarial.hostile import copy_estate, idcpilot, output

    env = copy_estate(tmp_path)
    env.write("group_vars/all.yml", "baseline_pass_max_days: 9999\n")
    bad = tmp_path / "t.yaml"
    bad.write_text(TEXT.replace("baseline_pass_max_days: {rule: MLPS3-AUTH-PASSWORD, min: 1, max: 90}",
                                "baseline_pass_max_days: {rule: MLPS3-AUTH-PASSWORD, min: 1, maxi: 90}"))
    proc = idcpilot("check", env.root, "--no-plan", "--thresholds", bad)
    assert proc.returncode == 2
    assert f"t.yaml:{line_of('baseline_pass_max_days: {rule')}:" in output(proc)
    assert "thresholds.variables.baseline_pass_max_days.maxi" in output(proc)
