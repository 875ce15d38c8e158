"""The compiled Kubernetes schema validator agrees with jsonschema on the same schemas."""

from __future__ import annotations

import copy

import jsonschema
import kubernetes_validate.utils as kv
import pytest
import referencing
import yaml

from policy_helpers import BASE_MANIFESTS
from idcpilot.policy.k8sschema import _schema_dir, validator

VERSION = "1.30.4"


def reference(kind: str, api_version: str):
    schema_dir = _schema_dir(VERSION)
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
    bad["apiVersion"] = "apps/v1beta1"
    yield "enum", bad


@pytest.mark.parametrize("name, doc", list(mutations()), ids=[n for n, _ in mutations()])
def test_compiled_validator_agrees_with_jsonschema(name, doc):
    # an unexpected field is reported at the field itself (its line), jsonschema reports its parent
    ours = sorted((tuple(map(str, p[:-1] if m.startswith("Additional properties") else p)),)
                  for p, m in validator(VERSION, "Deployment", "apps/v1")(doc, ()))
    theirs = sorted((tuple(map(str, e.absolute_path)),) for e in reference("Deployment", "apps/v1").iter_errors(doc))
    assert ours == theirs


def test_unknown_kinds_have_no_validator():
    assert validator(VERSION, "CiliumNetworkPolicy", "cilium.io/v2") is None
