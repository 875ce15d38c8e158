"""The pure parts of drift and of the plan-against-engine comparison.

The engine itself is exercised on the lab (tests/lab/test_pulumi_lab.py); here: the rule ids a
task carries come from the roles' own task files, and the comparison finds every kind of
disagreement it claims to (a plan compared with itself has none; each planted change is named).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from idcpilot import catalogue, ipam
from idcpilot.plan import plan_estate
from idcpilot.stack import compare, drift

REPO = Path(__file__).resolve().parents[2]


def test_a_task_names_its_rule_ids_from_its_own_tags():
    ssh = REPO / "roles" / "baseline" / "tasks" / "ssh.yml"
    lines = ssh.read_text().splitlines()
    first = next(i for i, line in enumerate(lines, start=1) if line.startswith("- name:"))
    assert drift.task_rules(f"{ssh}:{first}") == ("MLPS3-MGMT-ACL",)
    assert drift.task_rules(f"{ssh}:99999") == (drift.UNTAGGED,)
    assert drift.task_rules("/no/such/file.yml:3") == (drift.UNTAGGED,)
    assert drift.task_rules("no line number") == (drift.UNTAGGED,)


def test_a_task_without_tags_of_its_own_gets_those_its_include_applies():
    sdwan = REPO / "roles" / "sdwan_edge" / "tasks" / "wireguard.yml"
    first = next(i for i, line in enumerate(sdwan.read_text().splitlines(), start=1) if line.startswith("- name:"))
    assert "PILOT-SDWAN-ENCRYPT" in drift.task_rules(f"{sdwan}:{first}")  # from main.yml's include apply
    kernel = REPO / "roles" / "k8s_node" / "tasks" / "kernel.yml"
    assert drift.task_rules(f"{kernel}:2") == ("UNTAGGED (k8s_kernel)",)  # a concern tag, no rule id: said so


def test_every_rule_id_a_drift_can_name_is_a_rule_of_the_spec():
    """A tag that looks like a rule id but names no rule would summarise drift under nothing."""
    from idcpilot.policy import registry

    known = {loaded.rule.id for loaded in registry.load_rules()}
    tags = {t for f in (REPO / "roles").glob("*/tasks/*.yml") for tags in drift._tags_by_line(str(f)).values()
            for t in tags if drift.is_rule_id(t)}
    tags |= {r for rules in drift.KIND_RULES.values() for r in rules}
    assert tags and tags <= known, sorted(tags - known)


def event(host: str, task: str, path: str, changed: bool, uuid: str = "t") -> dict:
    return {"event": "runner_on_ok", "event_data": {"host": host, "task": task, "task_path": path, "task_uuid": uuid,
                                                    "res": {"changed": changed}}}


def handler_start(uuid: str) -> dict:
    """What ansible-runner sends before a handler runs (its v1 way of marking one)."""
    return {"event": "playbook_on_task_start", "event_data": {"task_uuid": uuid, "is_conditional": True}}


def test_host_drift_lists_the_changed_tasks_under_their_rule_ids():
    ssh = REPO / "roles" / "baseline" / "tasks" / "ssh.yml"
    line = next(i for i, text in enumerate(ssh.read_text().splitlines(), start=1) if "SSH host keys" in text)
    events = [event("h1", "SSH host keys", f"{ssh}:{line}", True), event("h1", "SSH host keys", f"{ssh}:{line}", True),
              event("h2", "SSH host keys", f"{ssh}:{line}", False), {"event": "runner_on_failed", "event_data": {}},
              handler_start("h-uuid"), event("h1", "Restart sshd", f"{REPO}/roles/baseline/handlers/main.yml:3", True, "h-uuid")]
    found = drift.host_drifts(events, REPO)
    assert found == [drift.Drift("MLPS3-AUTH-REMOTE", "host h1", f"SSH host keys (roles/baseline/tasks/ssh.yml:{line})")]


def test_stack_drift_names_the_object_and_the_rules_its_kind_serves():
    preview = {"steps": [
        {"op": "same", "urn": "u1", "newState": {"type": "kubernetes:core/v1:Namespace", "inputs": {}}},
        {"op": "update", "urn": "u2", "diffReasons": ["spec"],
         "newState": {"type": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                      "inputs": {"metadata": {"namespace": "shop", "name": "default-deny"}}}},
        {"op": "create", "urn": "urn:x::kubernetes:core/v1:ConfigMap::dash",
         "newState": {"type": "kubernetes:core/v1:ConfigMap", "inputs": {"metadata": {"name": "dash"}}}},
        {"op": "update", "urn": "u4", "newState": {"type": "kubernetes:example.com/v1:Widget", "inputs": {}}},
    ]}
    found = drift.stack_drifts("lab.c", preview)
    assert [(d.rule, d.what) for d in found] == [
        ("K8S-NETPOL", "NetworkPolicy shop/default-deny: update (spec)"),
        ("K8S-SECRETS", "ConfigMap dash: create"),
        ("K8S-OTHER", "Widget u4: update"),
    ]
    report = drift.Report(found, ["stack lab.c"])
    assert list(report.as_dict()["rules"]) == ["K8S-NETPOL", "K8S-OTHER", "K8S-SECRETS"]


def test_stack_drift_names_the_fields_the_engine_would_put_back():
    """The engine's JSON of a refreshed preview gives detailedDiff (field paths and what `up` would
    do to each), not diffReasons: those paths are named."""
    preview = {"steps": [{
        "op": "update", "urn": "u", "detailedDiff": {"spec.policyTypes[1]": {"kind": "add", "inputDiff": False}},
        "newState": {"type": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                     "inputs": {"metadata": {"namespace": "cdn", "name": "default-deny"}}}}]}
    assert [(d.rule, d.what) for d in drift.stack_drifts("lab.c", preview)] == [
        ("K8S-NETPOL", "NetworkPolicy cdn/default-deny: update (spec.policyTypes[1] add)")]


def test_a_failed_preview_is_named_by_its_errors_and_their_objects():
    out = json.dumps({"steps": [], "diagnostics": [
        {"urn": "urn:pulumi:s::p::x$kubernetes:networking.k8s.io/v1:NetworkPolicy::cdn-default-deny", "severity": "error",
         "message": "error: Preview failed: 1 error occurred:\n\t* field conflict detected\nconflict with \"kubectl-patch\": .spec.policyTypes"},
        {"message": "error: preview failed\n", "severity": "error"},
        {"urn": "urn:x::y", "severity": "warning", "message": "not this"}]})
    why = drift.preview_failure(out, "")
    assert why == 'cdn-default-deny: field conflict detected conflict with "kubectl-patch": .spec.policyTypes'
    assert drift.preview_failure("not json\nline two\nlast words", "") == "not json line two last words"
    assert len(drift.preview_failure("", "x" * 5000)) == 600


def test_every_stack_object_is_applied_with_patch_force(lab_plan):
    """Hand edits (another field manager) are taken back by `up` and shown by a refreshed preview
    instead of stopping both at a server-side apply conflict."""
    objects = [r for r in lab_plan if r["type"].startswith("kubernetes:") and not r["type"].startswith("pulumi:")]
    assert objects and all(r["inputs"]["metadata"]["annotations"]["pulumi.com/patchForce"] == "true" for r in objects)


@pytest.fixture(scope="module")
def lab_plan():
    cat = catalogue.load(REPO / "inventories" / "lab")
    result = plan_estate(cat, validate=False, alloc=ipam.plan(cat))
    return result.stacks[0].to_json()["resources"]


def preview_of(resources: list[dict]) -> dict:
    """What the engine's JSON holds for these resources, made from the plan (secrets as [secret])."""
    steps = [{"op": "create", "urn": "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s", "newState": {"type": "pulumi:pulumi:Stack"}}]
    for r in resources:
        inputs = compare._mask(r["inputs"], r["secretInputs"])
        steps.append({"op": "create", "urn": r["urn"], "newState": {"urn": r["urn"], "type": r["type"], "parent": r["parent"],
                                                                   "inputs": inputs}})
    steps.append({"op": "create", "urn": "urn:pulumi:s::p::pulumi:providers:tls::default_5_6_2",
                  "newState": {"type": "pulumi:providers:tls", "inputs": {}}})
    return {"steps": steps}


def test_a_plan_agrees_with_the_same_resources_seen_by_the_engine(lab_plan):
    assert compare.differences(lab_plan, preview_of(lab_plan)) == []


def test_every_kind_of_disagreement_is_named(lab_plan):
    theirs = copy.deepcopy(lab_plan)
    secret = next(r for r in theirs if r["secretInputs"])
    deployment = next(r for r in theirs if r["type"] == "kubernetes:apps/v1:Deployment")
    gone = theirs.pop(next(i for i, r in enumerate(theirs) if r["type"] == "kubernetes:core/v1:Service"))
    deployment["inputs"]["spec"]["replicas"] = 7
    deployment["parent"] = None
    extra = copy.deepcopy(deployment) | {"urn": deployment["urn"] + "-extra"}
    theirs.append(extra)
    preview = preview_of(theirs)
    path = compare._path_parts(secret["secretInputs"][0])
    for step in preview["steps"]:
        if step["urn"] == secret["urn"]:
            node = step["newState"]["inputs"]
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = "apiVersion: v1"  # the engine would show it in plain text
    found = compare.differences(lab_plan, preview)
    text = "\n".join(found)
    assert f"{gone['urn']}: in the plan only" in found
    assert f"{extra['urn']}: in the engine's preview only" in found
    assert f"{deployment['urn']}: inputs.spec.replicas: plan" in text and "engine 7" in text
    assert f"{deployment['urn']}: parent: plan" in text
    assert f"{secret['urn']}: inputs." in text and "secret in the plan only" in text
    assert json.dumps(found)  # one line each, printable
