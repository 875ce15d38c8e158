"""policy/thresholds.yaml is validated as strictly as an estate: every problem at once, each with
file:line:col and the key path, exit 2 through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from idcpilot.errors import UserInputError
from idcpilot.policy.thresholds import load

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "policy" / "thresholds.yaml").read_text(encoding="utf-8")


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


@pytest.mark.parametrize("old, new, field, words", [
    ("baseline_pass_max_days: {rule: MLPS3-AUTH-PASSWORD, min: 1, max: 90}",
     "baseline_pass_max_days: {rule: MLPS3-AUTH-PASSWORD, min: 1, maxi: 90}",
     "thresholds.variables.baseline_pass_max_days.maxi", "unknown constraint"),
    ("    max: 1.35 ", "    maxi: 1.35 ", "thresholds.pue.maxi", "unknown key"),
    ("minNodes: 200", "minNodes: lots", "thresholds.cdn.minNodes", "whole number"),
    ("minNodes: 200", "minNodes: ~", "thresholds.cdn.minNodes", "whole number"),
    ("maxSyncMinutes: 15", "maxSyncMinutes: '15'", "thresholds.threatIntel.maxSyncMinutes", "number"),
    ("critical: mandatory", "critical: maybe", "thresholds.crossguard.enforcement.critical", "one of"),
    ('secretKeyPattern: "(?i)(', 'secretKeyPattern: "(?i)((', "thresholds.k8s.secretKeyPattern", "regular expression"),
    ("requireAllowList: true", "requireAllowList: 1", "thresholds.zeroTrust.requireAllowList", "true or false"),
    ("minAccuracy: 0.999", "minAccuracy: 99.9", "thresholds.zeroTrust.minAccuracy", "<= 1"),
    ("baseline_tmout: {rule: MLPS3-AUTH-TIMEOUT,", "baseline_tmout: {rule: MLPS3-AUTH-TIMOUT,",
     "thresholds.variables.baseline_tmout.rule", "no rule"),
    ("baseline_tmout: {rule: MLPS3-AUTH-TIMEOUT, min: 1, max: 600}", "baseline_tmout: {min: 1, max: 600}",
     "thresholds.variables.baseline_tmout", "name the rule"),
    ("baseline_tmout: {rule: MLPS3-AUTH-TIMEOUT, min: 1, max: 600}", "baseline_tmout: {rule: MLPS3-AUTH-TIMEOUT, min: '1', max: 600}",
     "thresholds.variables.baseline_tmout.min", "number"),
    ("baseline_tmout: {rule: MLPS3-AUTH-TIMEOUT, min: 1, max: 600}", "baseline_tmout: tuneable",
     "thresholds.variables.baseline_tmout", "tunable or a mapping"),
    ("baseline_umask: {rule: MLPS3-ACCESS-ACCOUNTS, umaskBits: \"027\"}", "baseline_umask: {rule: MLPS3-ACCESS-ACCOUNTS, umaskBits: 27}",
     "thresholds.variables.baseline_umask.umaskBits", "octal"),
    ("    baseline_pwquality_retry: tunable", "    baseline_pwquality_retrys: tunable",
     "thresholds.variables.baseline_pwquality_retrys", "no role declares"),
    ("maxDays: 180", "maxDays: 9999", "thresholds.waivers.maxDays", "<= 3650"),
    ("maxDays: 180", "maxDays: 1.5", "thresholds.waivers.maxDays", "whole number"),
    ("K8S-SECRETS: {waivable: false}", "K8S-SECRET: {waivable: false}", "thresholds.waivers.rules.K8S-SECRET", "no rule"),
    ("K8S-SECRETS: {waivable: false}", "K8S-SECRETS: {waivable: no-way}", "thresholds.waivers.rules.K8S-SECRETS.waivable", "true or false"),
    ("K8S-SECRETS: {waivable: false}", "K8S-SECRETS: {waivable: false, why: x}", "thresholds.waivers.rules.K8S-SECRETS.why", "unknown key"),
    ("set: {pue.max: 1.25}", "set: {pue.max: low}", "overrides[0].set.pue.max", "number"),
    ("set: {pue.max: 1.25}", "set: {pue.maxi: 1.25}", "overrides[0].set.pue.maxi", "no threshold"),
])
def test_a_bad_value_is_named_with_its_line_and_path(old, new, field, words, tmp_path):
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
