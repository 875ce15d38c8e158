"""Hostile pull requests against the gate's semantics and the waivers, through the real CLI.

A failing pilot clause must fail `check` (exit 1, the rule id named) whatever its severity, and
`deploy` must refuse it; a waiver is untrusted input and out-of-bounds waivers are exit 2 with
the file, line and field named. Waiver expiry dates are computed from today so that the cases
mean the same thing on any day.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.adversarial.hostile import Hostile, idcpilot, output

SOON = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def site(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in data["spec"]["sites"] if s["name"] == name)


def every_host_manual(data: dict[str, Any]) -> None:
    for s in data["spec"]["sites"]:
        for h in s["hosts"]:
            h["automated"] = False


def support_at_60s(data: dict[str, Any]) -> None:
    for channel in data["spec"]["support"]:
        channel["responseSeconds"] = 60


def one_drill(data: dict[str, Any]) -> None:
    data["spec"]["drills"] = data["spec"]["drills"][-1:]


def threat_intel_30min(data: dict[str, Any]) -> None:
    for feed in data["spec"]["threatIntel"]:
        feed["syncMinutes"] = 30


def radius_4_5(data: dict[str, Any]) -> None:
    for s in data["spec"]["sites"]:
        if "fiveG" in s:
            s["fiveG"]["radiusKm"] = 4.5


def no_red_level(data: dict[str, Any]) -> None:
    del data["spec"]["emergency"]["red"]


#: The issue's failing pilot clauses: each passed `check` before (medium, under --fail-on high).
PILOT_CLAUSES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("5g-radius-4.5km", radius_4_5, "PILOT-5G-COVERAGE"),
    ("support-60s", support_at_60s, "PILOT-SUPPORT"),
    ("red-emergency-level-removed", no_red_level, "PILOT-EMERGENCY"),
    ("one-drill-a-year", one_drill, "PILOT-DRILLS"),
    ("threat-intel-30min", threat_intel_30min, "PILOT-THREAT-INTEL"),
    ("every-host-manual", every_host_manual, "PILOT-AUTOOPS"),
]
LINT = re.compile(r"^(?P<file>\S+):(?P<line>\d+):(?P<col>\d+): (?P<rule>[A-Z0-9]+(?:-[A-Z0-9]+)+) (?P<sev>critical|high|medium|low): (?P<msg>.+)$")


def check(env: Hostile, *args: str) -> Any:
    return idcpilot("check", env.root, "--no-plan", *args)


def failed_rules(stdout: str) -> set[str]:
    """Rule ids of the failures in check's CI-log output (one finding per line)."""
    return {m["rule"] for line in stdout.splitlines() if (m := LINT.match(line)) and not m["msg"].startswith("waived: ")}


@pytest.mark.parametrize("mutate, rule", [(m, r) for _, m, r in PILOT_CLAUSES], ids=[i for i, _, _ in PILOT_CLAUSES])
def test_a_failing_pilot_clause_fails_check_whatever_its_severity(example: Hostile, mutate, rule):
    proc = check(example.edit(mutate), "--waivers", "/dev/null")
    assert proc.returncode == 1, output(proc)
    assert rule in failed_rules(proc.stdout), proc.stdout
    verdict = proc.stdout.splitlines()[-1]
    assert verdict.startswith("policy gate FAILED for estate example") and "passed" not in verdict


def test_fail_on_is_a_named_opt_out_never_a_pass(example: Hostile):
    proc = check(example.edit(radius_4_5), "--waivers", "/dev/null", "--fail-on", "high")
    assert proc.returncode == 0, output(proc)
    verdict = proc.stdout.splitlines()[-1]
    assert "PILOT-5G-COVERAGE" in failed_rules(proc.stdout)
    assert verdict.startswith("policy gate FAILED") and "passed" not in verdict
    assert re.search(r"exit 0 ONLY because --fail-on high ignores \d+ medium failures?: NOT the pilot's verdict", verdict), verdict


def test_skipping_the_failing_rule_is_named_a_partial_run(example: Hostile):
    proc = check(example.edit(radius_4_5), "--waivers", "/dev/null", "--skip", "PILOT-5G-COVERAGE", "-f", "json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["rulesNotRun"] == ["PILOT-5G-COVERAGE"]
    assert data["verdict"]["partial"] is True and data["verdict"]["passed"] is False
    text = data["verdict"]["text"]
    assert text.startswith("policy gate PARTIAL run for estate example") and "passed" not in text
    assert "1 rule left out by --only/--skip: NOT the pilot's verdict" in text


@pytest.mark.parametrize("option", ["--fail-on=critical", "--skip=PILOT-5G-COVERAGE", "--only=K8S"])
def test_deploy_cannot_narrow_the_gate(example: Hostile, option):
    proc = idcpilot("deploy", example.root, option)
    assert proc.returncode == 2 and "No such option" in proc.stderr, output(proc)


def test_deploy_refuses_a_medium_failure_and_touches_nothing(example: Hostile, tmp_path: Path):
    """Deploy's gate used the high floor too: a medium pilot failure went on to the playbooks."""
    state = tmp_path / "state"
    proc = idcpilot("deploy", example.edit(radius_4_5).root, env={"IDCPILOT_STATE_DIR": str(state)})
    assert proc.returncode == 1, output(proc)
    assert "deploy refused" in proc.stderr and "PILOT-5G-COVERAGE" in output(proc)
    assert not (state / "runs").exists()


def waiver(**fields: Any) -> str:
    base = {"rule": "PILOT-5G-COVERAGE", "target": "site/sz-mobile-1", "estate": "example",
            "justification": "radio survey pending", "approver": "ciso@example", "expires": SOON}
    base.update(fields)
    lines = ["waivers:"]
    for i, (key, value) in enumerate((k, v) for k, v in base.items() if v is not None):
        lines.append(f"{'  - ' if i == 0 else '    '}{key}: {json.dumps(value) if isinstance(value, str) else value}")
    return "\n".join(lines) + "\n"


def five_g_failures(env: Hostile) -> list[str]:
    proc = check(env, "--waivers", "/dev/null", "--only", "PILOT-5G-COVERAGE", "-f", "json")
    return [f["target"] for f in json.loads(proc.stdout)["findings"] if f["status"] == "fail"]


def test_a_bounded_waiver_still_waives_exactly_its_target(example: Hostile):
    example.edit(radius_4_5)
    targets = five_g_failures(example)
    assert targets
    text = "waivers:\n" + "".join(waiver(target=t).split("\n", 1)[1] for t in targets)
    proc = check(example, "--waivers", example.write("waivers.yaml", text))
    assert proc.returncode == 0, output(proc)
    assert not failed_rules(proc.stdout) and "waived: " in proc.stdout


#: (id, waiver fields, the field named, words of the message). Each passed or was merely a
#: finding before; now each is exit 2 with file:line and the field.
BAD_WAIVERS = [
    ("bare-star-target", {"target": "*"}, "target", "not <kind>/<name>"),
    ("every-site-glob", {"target": "site/*"}, "target", "matches every site"),
    ("glob-covering-every-host", {"rule": "MLPS3-MINIMAL", "target": "host/*-*"}, "target", "matches every host"),
    ("expires-9999", {"expires": "9999-12-31"}, "expires", "more than 180 days away"),
    ("expires-181-days", {"expires": (dt.date.today() + dt.timedelta(days=181)).isoformat()}, "expires", "180 days"),
    ("non-waivable-sdwan-encrypt", {"rule": "PILOT-SDWAN-ENCRYPT", "target": "link/bj-core-1--sh-core-1"}, "rule", "cannot be waived"),
    ("non-waivable-k8s-secrets", {"rule": "K8S-SECRETS", "target": "cluster/bj-core-k8s"}, "rule", "cannot be waived"),
    ("waiving-the-waiver-rule", {"rule": "POLICY-WAIVER", "target": "waiver/x"}, "rule", "cannot be waived"),
    ("no-estate", {"estate": None}, "estate", "missing"),
    ("estate-glob", {"estate": "*"}, "estate", "exact name"),
    ("no-approver", {"approver": None}, "approver", "missing"),
    ("blank-justification", {"justification": "   "}, "justification", "non-blank"),
    ("control-characters", {"justification": "ok\u001b[2Kfine"}, "justification", "control characters"),
]


@pytest.mark.parametrize("fields, field, words", [c[1:] for c in BAD_WAIVERS], ids=[c[0] for c in BAD_WAIVERS])
def test_a_waiver_out_of_bounds_is_exit_2_naming_file_line_and_field(example: Hostile, fields, field, words):
    path = example.write("waivers.yaml", waiver(**fields))
    proc = check(example.edit(radius_4_5), "--waivers", path)
    assert proc.returncode == 2, output(proc)
    m = re.search(rf"waivers\.yaml:(\d+):\d+: (waivers\[0\]\.)?{field}: (.+)", proc.stderr)
    assert m and words in m.group(3), proc.stderr
    lines = path.read_text().splitlines()
    named = lines[int(m.group(1)) - 1]
    if words == "missing":  # the waiver that lacks the field
        assert named.startswith("  - "), (m.group(0), lines)
    elif m.group(2):  # the field's own line
        assert named.lstrip(" -").startswith(f"{field}:"), (m.group(0), lines)


def test_an_expired_waiver_fails_the_gate_itself(example: Hostile):
    example.edit(radius_4_5)
    [target, *_] = five_g_failures(example)
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    proc = check(example, "--waivers", example.write("waivers.yaml", waiver(target=target, expires=past)))
    assert proc.returncode == 1, output(proc)
    assert {"PILOT-5G-COVERAGE", "POLICY-WAIVER"} <= failed_rules(proc.stdout)
