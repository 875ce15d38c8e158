"""Waivers: valid, expired, unjustified, unapproved, unmatched, scoped, glob, and bad files."""

from __future__ import annotations

import pytest

from policy_helpers import check
from idcpilot.errors import UserInputError

CDN_EDIT = [("count: 48, namePattern: \"bj-core-1-cdn", "count: 10, namePattern: \"bj-core-1-cdn")]
PORT_EDITS = [
    ("- {name: gz-edge-1-bastion, roles: [baseline, monitoring, bastion]}",
     "- {name: gz-edge-1-bastion, roles: [baseline, monitoring, bastion], ports: [23]}"),
    ("- {name: cd-edge-1-bastion, roles: [baseline, monitoring, bastion]}",
     "- {name: cd-edge-1-bastion, roles: [baseline, monitoring, bastion], ports: [21]}"),
]


def waiver(rule="PILOT-CDN-NODES", target="estate/policy-fixture", extra="", justification="CDN build-out in Q2",
           approver="ciso@example", expires="2027-01-31") -> str:
    lines = [f"  - rule: {rule}", f"    target: {target}"]
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


def test_waiver_expiring_today_still_holds(make_env):
    _, report = run(make_env, CDN_EDIT, waiver(expires="2026-11-27"))
    assert by_rule(report, "PILOT-CDN-NODES")[0].status == "waived"


@pytest.mark.parametrize("field", ["justification", "approver"])
def test_unjustified_or_unapproved_waiver_is_a_failure(make_env, field):
    kwargs = {field: None}
    _, report = run(make_env, CDN_EDIT, waiver(**kwargs))
    assert by_rule(report, "PILOT-CDN-NODES")[0].status == "fail"
    [w] = by_rule(report, "POLICY-WAIVER")
    assert w.status == "fail" and f"has no {field}" in w.message


def test_blank_justification_counts_as_missing(make_env):
    _, report = run(make_env, CDN_EDIT, waiver(justification='"  "'))
    assert by_rule(report, "POLICY-WAIVER")[0].status == "fail"


def test_unmatched_waiver_is_a_warning_not_a_failure(make_env):
    _, report = run(make_env, [], waiver())
    assert by_rule(report, "PILOT-CDN-NODES")[0].status == "pass"
    assert not report.failures("low")
    assert len(report.warnings) == 1 and "matches no failing finding" in report.warnings[0]
    assert "waivers.yaml:2:" in report.warnings[0]


def test_waiver_scoped_to_another_estate_does_not_apply(make_env):
    _, report = run(make_env, CDN_EDIT, waiver(extra="    estate: lab"))
    assert by_rule(report, "PILOT-CDN-NODES")[0].status == "fail"
    assert report.warnings == []  # out of scope: neither used nor stale for this estate


def test_glob_target_waives_only_what_it_matches(make_env):
    _, report = run(make_env, CDN_EDIT + PORT_EDITS, waiver(rule="MLPS3-MINIMAL", target="host/gz-*"))
    status = {f.target: f.status for f in by_rule(report, "MLPS3-MINIMAL") if f.status != "pass"}
    assert status == {"host/gz-edge-1-bastion": "waived", "host/cd-edge-1-bastion": "fail"}


@pytest.mark.parametrize("text, line, needle", [
    (waiver(rule="PILOT-NOPE"), 2, "no rule 'PILOT-NOPE'"),
    (waiver(expires="someday"), 6, "expiry date"),
    (waiver(expires=None), 2, "expiry date"),
    (waiver(extra="    colour: red"), 7, "unknown key"),
    ("  - just a string\n", 2, "each waiver is a mapping"),
])
def test_bad_waiver_file_is_a_user_error_with_file_and_line(make_env, text, line, needle):
    with pytest.raises(UserInputError) as exc:
        run(make_env, [], text)
    problems = exc.value.problems
    assert any(p.file.endswith("waivers.yaml") and p.line == line and needle in p.message for p in problems), problems


def test_repo_waivers_are_scoped_justified_approved_and_dated():
    from idcpilot.policy import registry, waivers

    items = waivers.load(registry.policy_dir() / "waivers.yaml", [lr.rule.id for lr in registry.load_rules(registry.policy_dir())])
    assert items, "the lab estate needs its documented waivers"
    for w in items:
        assert w.estate == "lab", "repo waivers are scoped to the lab estate only"
        assert w.justification and w.approver and w.expires
