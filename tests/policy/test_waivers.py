"""Waivers: valid, expired, unmatched, scoped, glob, bounded (target, estate, justification,
approver, expiry, non-waivable rules), and bad files."""

from __future__ import annotations

import pytest

from policy_helpers import REPO_WAIVERS_DAY, TODAY, check
from idcpilot.errors import UserInputError

CDN_EDIT = [("count: 48, namePattern: \"bj-core-1-cdn", "count: 10, namePattern: \"bj-core-1-cdn")]
PORT_EDITS = [
    ("- {name: gz-edge-1-bastion, roles: [baseline, monitoring, bastion]}",
     "- {name: gz-edge-1-bastion, roles: [baseline, monitoring, bastion], ports: [23]}"),
    ("- {name: cd-edge-1-bastion, roles: [baseline, monitoring, bastion]}",
     "- {name: cd-edge-1-bastion, roles: [baseline, monitoring, bastion], ports: [21]}"),
]


def waiver(rule="PILOT-CDN-NODES", target="estate/policy-fixture", extra="", justification="CDN build-out in Q2",
           approver="ciso@example", expires="2027-01-31", estate="policy-fixture") -> str:
    lines = [f"  - rule: {rule}", f"    target: {target}"]
    if estate is not None:
        lines.append(f"    estate: {estate}")
    if justification is not None:
        lines.append(f"    justification: {justification}")
    if approver is not None:
        lines.append(f"    approver: {approver}")
    if expires is not None:
        lines.append(f"    expires: {expires}")
    return "\n".join(lines) + ("\n" + extra if extra else "") + "\n"


def run(make_env, edits, waivers_text):
    env = make_env(estate_edits=edits, files={"waivers.yaml": "waivers:\n" + waivers_text})
    return env, check(env, waivers_file=env.root / "waivers.yaml", only=["PILOT-CDN-NODES", "MLPS3-MINIMAL"])


def by_rule(report, rule):
    return [f for f in report.findings if f.rule.id == rule]


def test_valid_waiver_waives_the_failure(make_env):
    _, report = run(make_env, CDN_EDIT, waiver())
    [f] = by_rule(report, "PILOT-CDN-NODES")
    assert f.status == "waived"
    assert f.waiver["approver"] == "ciso@example" and f.waiver["justification"] == "CDN build-out in Q2"
    assert f.waiver["expires"] == "2027-01-31"
    assert not report.failures("low")
    assert [w.status for w in by_rule(report, "POLICY-WAIVER")] == ["pass"]
    assert report.warnings == []


def test_expired_waiver_waives_nothing_and_fails_itself(make_env):
    env, report = run(make_env, CDN_EDIT, waiver(expires="2026-11-26"))
    [f] = by_rule(report, "PILOT-CDN-NODES")
    assert f.status == "fail"
    [w] = by_rule(report, "POLICY-WAIVER")
    assert w.status == "fail" and "expired on 2026-11-26" in w.message
    assert w.location.file.endswith("waivers.yaml") and w.location.line == 2
    assert report.failures()  # an expired waiver fails the gate (exit 1), it is not bad input


def test_waiver_expiring_today_still_holds(make_env):
    _, report = run(make_env, CDN_EDIT, waiver(expires="2026-11-27"))
    assert by_rule(report, "PILOT-CDN-NODES")[0].status == "waived"


def bad_waiver(make_env, text) -> list:
    with pytest.raises(UserInputError) as exc:
        run(make_env, CDN_EDIT, text)
    return exc.value.problems


@pytest.mark.parametrize("field", ["justification", "approver", "estate", "expires", "target", "rule"])
def test_a_waiver_missing_a_field_is_bad_input(make_env, field):
    """Before, a waiver without justification or approver was a finding, and one without an
    estate applied to every estate."""
    text = waiver(**{field: None}) if field not in ("target", "rule") else \
        "\n".join(line for line in waiver().splitlines() if not line.strip().startswith(f"{field}:") and
                   not line.startswith(f"  - {field}:")).replace("    target:", "  - target:", 1 if field == "rule" else 0) + "\n"
    problems = bad_waiver(make_env, text)
    assert any(p.field.endswith(field) and p.file.endswith("waivers.yaml") and "missing" in p.message for p in problems), problems


def test_blank_justification_counts_as_missing(make_env):
    [p] = bad_waiver(make_env, waiver(justification='"  "'))
    assert p.field == "waivers[0].justification" and p.line == 5 and "non-blank" in p.message


@pytest.mark.parametrize("target", ["'*'", "'**'", "'*/*'", "'host/*'", "'estate/?*'", "'host/[a-z]*'", "gz-edge-1", "'*/gz-edge-1'",
                                    "'host*/x'"])
def test_a_target_that_is_not_concrete_is_bad_input(make_env, target):
    [p] = bad_waiver(make_env, waiver(target=target))
    assert p.field == "waivers[0].target" and p.line == 3, p


def test_a_glob_matching_every_target_of_its_kind_in_the_estate_is_bad_input(make_env):
    """estate/policy-f* has a literal part but covers the only estate target: the whole rule."""
    problems = bad_waiver(make_env, waiver(target="estate/policy-f*"))
    assert [(p.field, p.line) for p in problems] == [("target", 3)] and "matches every estate" in problems[0].message


@pytest.mark.parametrize("estate", ["'*'", "'lab*'", "'[a-z]*'"])
def test_the_estate_is_an_exact_name(make_env, estate):
    [p] = bad_waiver(make_env, waiver(estate=estate))
    assert p.field == "waivers[0].estate" and p.line == 4


@pytest.mark.parametrize("expires, ok", [("2027-05-26", True), ("2027-05-27", False), ("9999-12-31", False)])
def test_expiry_is_at_most_max_days_ahead(make_env, expires, ok):
    """TODAY is 2026-11-27; maxDays 180 puts the last allowed day on 2027-05-26."""
    if ok:
        _, report = run(make_env, CDN_EDIT, waiver(expires=expires))
        assert by_rule(report, "PILOT-CDN-NODES")[0].status == "waived"
    else:
        [p] = bad_waiver(make_env, waiver(expires=expires))
        assert p.field == "waivers[0].expires" and p.line == 7 and "2027-05-26" in p.message and "180 days" in p.message


@pytest.mark.parametrize("rule", ["K8S-SECRETS", "PILOT-SDWAN-ENCRYPT", "PILOT-DATA-ENCRYPT", "MLPS3-AUTH-REMOTE", "MLPS3-AUDIT",
                                  "POLICY-WAIVER"])
def test_non_waivable_rules_cannot_be_waived(make_env, rule):
    [p] = bad_waiver(make_env, waiver(rule=rule))
    assert p.field == "waivers[0].rule" and p.line == 2 and "cannot be waived" in p.message


def test_the_bounds_come_from_the_thresholds_file(make_env, repo):
    text = (repo / "policy" / "thresholds.yaml").read_text().replace("maxDays: 180", "maxDays: 30")
    text = text.replace("      MLPS3-AUDIT: {waivable: false}\n", "      MLPS3-AUDIT: {waivable: false}\n      PILOT-CDN-NODES: {waivable: false}\n")
    env = make_env(estate_edits=CDN_EDIT, files={"waivers.yaml": "waivers:\n" + waiver()})
    (env.root.parent / "t.yaml").write_text(text)  # beside the estate: inside it Ansible would read it as inventory
    with pytest.raises(UserInputError) as exc:
        check(env, waivers_file=env.root / "waivers.yaml", thresholds_file=env.root.parent / "t.yaml", only=["PILOT-CDN-NODES"])
    fields = {p.field for p in exc.value.problems}
    assert fields == {"waivers[0].rule", "waivers[0].expires"}, exc.value.problems


def test_a_thresholds_file_without_waiver_bounds_is_bad_input(make_env, repo):
    text = "thresholds: {cdn: {minNodes: 200}}\n"
    env = make_env()
    (env.root.parent / "t.yaml").write_text(text)
    with pytest.raises(UserInputError) as exc:
        check(env, thresholds_file=env.root.parent / "t.yaml", only=["PILOT-CDN-NODES"])
    assert any(p.field == "thresholds.waivers" and "missing" in p.message for p in exc.value.problems), exc.value.problems


def test_unmatched_waiver_is_a_warning_not_a_failure(make_env):
    _, report = run(make_env, [], waiver())
    assert by_rule(report, "PILOT-CDN-NODES")[0].status == "pass"
    assert not report.failures("low")
    assert len(report.warnings) == 1 and "matches no failing finding" in report.warnings[0]
    assert "waivers.yaml:2:" in report.warnings[0]


def test_waiver_scoped_to_another_estate_does_not_apply(make_env):
    _, report = run(make_env, CDN_EDIT, waiver(estate="lab"))
    assert by_rule(report, "PILOT-CDN-NODES")[0].status == "fail"
    assert report.warnings == []  # out of scope: neither used nor stale for this estate


def test_glob_target_waives_only_what_it_matches(make_env):
    _, report = run(make_env, CDN_EDIT + PORT_EDITS, waiver(rule="MLPS3-MINIMAL", target="host/gz-*"))
    status = {f.target: f.status for f in by_rule(report, "MLPS3-MINIMAL") if f.status != "pass"}
    assert status == {"host/gz-edge-1-bastion": "waived", "host/cd-edge-1-bastion": "fail"}


@pytest.mark.parametrize("text, line, needle", [
    (waiver(rule="PILOT-NOPE"), 2, "no rule 'PILOT-NOPE'"),
    (waiver(expires="someday"), 7, "expiry date"),
    (waiver(expires=None), 2, "missing"),
    (waiver(extra="    colour: red"), 8, "unknown key"),
    ("  - just a string\n", 2, "each waiver is a mapping"),
])
def test_bad_waiver_file_is_a_user_error_with_file_and_line(make_env, text, line, needle):
    with pytest.raises(UserInputError) as exc:
        run(make_env, [], text)
    problems = exc.value.problems
    assert any(p.file.endswith("waivers.yaml") and p.line == line and needle in p.message for p in problems), problems


def test_repo_waivers_are_scoped_justified_approved_and_dated():
    from idcpilot.policy import registry, waivers

    from idcpilot.policy import thresholds

    pdir = registry.policy_dir()
    bounds = waivers.WaiverBounds.from_thresholds(thresholds.load(pdir / "thresholds.yaml"))
    assert bounds.max_days == 180 and {"K8S-SECRETS", "PILOT-SDWAN-ENCRYPT", "PILOT-DATA-ENCRYPT", "MLPS3-AUTH-REMOTE",
                                       "MLPS3-AUDIT"} <= bounds.unwaivable
    items = waivers.load(pdir / "waivers.yaml", [lr.rule.id for lr in registry.load_rules(pdir)], bounds, REPO_WAIVERS_DAY)
    assert items, "the lab estate needs its documented waivers"
    for w in items:
        assert w.estate == "lab", "repo waivers are scoped to the lab estate only"
        assert w.justification and w.approver and w.expires
