"""The one Kubernetes schema module: the compiled validator agrees with jsonschema on the same
schemas, one version policy, and ``plan`` and ``check`` give the same verdicts through it."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import kubernetes_validate.utils as kv
import pytest
import referencing
import yaml

from policy_helpers import BASE_MANIFESTS
from idcpilot import k8sschema

VERSION = "1.30.4"


def reference(kind: str, api_version: str):
    schema_dir = k8sschema.schema_dir(VERSION)
    group = api_version.replace("networking.k8s.io/", "networking-").replace("apps/", "apps-")
    schema = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group}.json", VERSION)
    defs = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", VERSION)
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(defs) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def mutations():
    docs = list(yaml.safe_load_all(BASE_MANIFESTS))
    dep = next(d for d in docs if d["kind"] == "Deployment")
    yield "valid", dep
    bad = copy.deepcopy(dep)
    bad["spec"]["replicas"] = "many"
    yield "wrong type", bad
    bad = copy.deepcopy(dep)
    bad["spec"]["replicas"] = True
    yield "boolean is no integer", bad
    bad = copy.deepcopy(dep)
    bad["spec"]["replicas"] = 2.0
    yield "integral float", bad
    bad = copy.deepcopy(dep)
    bad["spec"]["replicas"] = 2.5
    yield "fractional float", bad
    bad = copy.deepcopy(dep)
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 7
    yield "nested wrong type", bad
    bad = copy.deepcopy(dep)
    bad["spec"]["template"]["spec"]["containers"][0]["resouces"] = {}
    yield "unknown field (strict)", bad
    bad = copy.deepcopy(dep)
    del bad["spec"]["template"]["spec"]["containers"][0]["name"]
    yield "missing required", bad
    bad = copy.deepcopy(dep)
    bad["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "http"}]
    yield "port as string", bad
    bad = copy.deepcopy(dep)
    bad["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}
    yield "int-or-string ok", bad
    bad = copy.deepcopy(dep)
    bad["spec"]["template"]["spec"]["containers"] = [{"name": "a"}, {"name": 5, "bogus": 1}, "x"]
    yield "several errors in a list", bad
    bad = copy.deepcopy(dep)
    bad["apiVersion"] = "apps/v1beta1"
    yield "enum", bad


@pytest.mark.parametrize("name, doc", list(mutations()), ids=[n for n, _ in mutations()])
def test_compiled_validator_agrees_with_jsonschema(name, doc):
    # an unexpected field is reported at the field itself (its line), jsonschema reports its parent
    ours = sorted(tuple(map(str, p[:-1] if m.startswith("Additional properties") else p))
                  for p, m in k8sschema.errors(VERSION, doc))
    theirs = sorted(tuple(map(str, e.absolute_path)) for e in reference("Deployment", "apps/v1").iter_errors(doc))
    assert ours == theirs
    assert (name in ("valid", "int-or-string ok", "integral float")) == (not ours)


def test_custom_resources_are_not_judged_but_unknown_kubernetes_kinds_are():
    assert k8sschema.errors(VERSION, {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "p"}}) is None
    [(path, message)] = k8sschema.errors(VERSION, {"apiVersion": "apps/v2", "kind": "Deployment", "metadata": {"name": "d"}})
    assert path == ("apiVersion",) and "Kubernetes 1.30 has no kind 'Deployment' in 'apps/v2'" in message
    [(path, _)] = k8sschema.errors(VERSION, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert path == ("metadata", "name")


@pytest.mark.parametrize("version, ok", [("1.30.4", True), ("v1.25.0", True), ("1.37.2", True),
                                         ("1.10.0", False), ("1.24.9", False), ("1.38.0", False), ("2.0.0", False)])
def test_one_version_policy_the_minor_release_must_be_bundled(version, ok):
    problem = k8sschema.version_problem(version)
    assert (problem is None) == ok
    if not ok:
        assert "available: 1.25, 1.26" in problem and "1.37" in problem
        with pytest.raises(k8sschema.UnsupportedVersion):
            k8sschema.errors(version, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})


def test_long_hostile_values_are_cut_in_messages():
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"a": "x" * 100_000}}, "spec": 5}
    [(path, message)] = k8sschema.errors(VERSION, doc)
    assert path == ("spec",) and len(message) < 200
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "y" * 100_000: 1}}
    assert all(len(m) < 300 for _, m in k8sschema.errors(VERSION, doc))


def test_plan_and_check_give_the_same_verdicts(tmp_path):
    """The same manifests judged by ``plan``'s validation and by ``check --manifests``'s."""
    from idcpilot.errors import UserInputError
    from idcpilot.plan import schemas
    from idcpilot.policy.k8s import load_manifest_dir, schema_problems

    docs = [d for _, d in mutations()]
    docs.append({"apiVersion": "apps/v2", "kind": "Deployment", "metadata": {"name": "v2"}})
    docs.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"}, "spec": {"x": 1}})
    for i, doc in enumerate(docs):
        doc = copy.deepcopy(doc)
        doc["metadata"]["name"] = f"m{i}"
        (tmp_path / "c1").mkdir(exist_ok=True)
        (tmp_path / "c1" / f"m{i:02d}.yaml").write_text(yaml.safe_dump(doc))
    for i, doc in enumerate(docs):
        ms = load_manifest_dir(tmp_path, clusters=["c1"])
        m = ms.items[i]
        planned = schemas.check("c1", VERSION, m.body)
        problems, notes = schema_problems(type(ms)([m]), {"c1": VERSION})
        if planned is None:
            assert not problems and notes, m.body
            continue
        assert sorted((p.path, p.message) for p in planned) == sorted((p.field, p.message.split(": schema: ", 1)[1]) for p in problems)
    problems, _ = schema_problems(load_manifest_dir(tmp_path, clusters=["c1"]), {"c1": "1.10.0"})
    assert len(problems) == 1 and "no Kubernetes schemas for version '1.10.0'; available: 1.25" in problems[0].message
    with pytest.raises(UserInputError, match="no Kubernetes schemas for version '1.10.0'"):
        from idcpilot import catalogue
        from idcpilot.plan import plan_estate

        cat = catalogue.load(Path(__file__).resolve().parents[2] / "inventories" / "example")
        object.__setattr__(cat.estate.spec.clusters[0], "kubernetes_version", "1.10.0")
        plan_estate(cat, [cat.estate.spec.clusters[0].name])
