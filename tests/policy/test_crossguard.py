"""The CrossGuard pack, driven the way the Pulumi CLI drives it.

The CLI starts ``python -u -m pulumi.policy <engine> <pack dir>``, reads the gRPC port the pack
prints on stdout, and calls the Analyzer service: GetAnalyzerInfo, Analyze per resource,
AnalyzeStack on the whole stack. We do the same, with resources that pass and fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
REGISTRY = "registry.hy-idc.internal:5000"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


@pytest.fixture(scope="module")
def analyzer():
    env = {**os.environ, "IDCPILOT_ESTATE": str(REPO / "inventories" / "example"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(REPO / "policy")],
                            cwd=REPO / "policy", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.strip().isdigit():
            proc.kill()
            pytest.fail(f"pack did not print its port: {line!r} {proc.stderr.read()[-3000:]}")
        channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def struct(data: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    json_format.ParseDict(data, s)
    return s


def deployment(image: str, limits: bool = True, labels: bool = True, privileged: bool = False) -> dict:
    res = {"requests": {"cpu": "100m", "memory": "128Mi"}}
    if limits:
        res["limits"] = {"cpu": "1", "memory": "256Mi"}
    meta = {"name": "web", "namespace": "shop"}
    if labels:
        meta["labels"] = {"idcpilot.io/data-classification": "general", "idcpilot.io/data-domain": "domain-north"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                                           "hostPID": privileged,
                                           "containers": [{"name": "web", "image": image, "resources": res, "securityContext": {
                                               "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                               "privileged": privileged}}]}}}}


def namespace(enforce: str | None = "restricted") -> dict:
    labels = {"idcpilot.io/data-classification": "general", "idcpilot.io/data-domain": "domain-north"}
    if enforce:
        labels["pod-security.kubernetes.io/enforce"] = enforce
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": labels}}


def analyze(stub, type_: str, props: dict, name: str = "r"):
    req = analyzer_pb2.AnalyzeRequest(type=type_, properties=struct(props), urn=f"urn:pulumi:s::p::{type_}::{name}", name=name)
    return {(d.policyName, d.message) for d in stub.Analyze(req, timeout=30).diagnostics}


def test_pack_describes_every_k8s_rule(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    names = {p.name: p for p in info.policies}
    assert set(names) == {"k8s-psa", "k8s-netpol", "k8s-registry", "k8s-limits", "k8s-secrets", "k8s-labels"}
    mandatory = analyzer_pb2.EnforcementLevel.Value("MANDATORY")
    advisory = analyzer_pb2.EnforcementLevel.Value("ADVISORY")
    assert names["k8s-secrets"].enforcementLevel == mandatory  # critical
    assert names["k8s-registry"].enforcementLevel == mandatory  # high
    assert names["k8s-limits"].enforcementLevel == advisory  # medium


def test_analyze_passes_a_compliant_deployment(analyzer):
    assert analyze(analyzer, "kubernetes:apps/v1:Deployment", deployment(f"{REGISTRY}/hy/web:1.0")) == set()
    assert analyze(analyzer, "kubernetes:core/v1:Namespace", namespace()) == set()


def test_analyze_reports_k8s_violations(analyzer):
    diags = analyze(analyzer, "kubernetes:apps/v1:Deployment", deployment("docker.io/library/nginx:1.27", limits=False, labels=False))
    policies = {p for p, _ in diags}
    assert policies == {"k8s-registry", "k8s-limits", "k8s-labels"}
    assert any("[K8S-REGISTRY]" in m and "docker.io/library/nginx" in m for _, m in diags)
    assert {p for p, _ in analyze(analyzer, "kubernetes:core/v1:Namespace", namespace("baseline"))} == {"k8s-psa"}
    evil = deployment(f"{REGISTRY}/hy/web:1.0", privileged=True)
    del evil["metadata"]["namespace"]  # lands in default: judged there, by its own pod spec
    diags = analyze(analyzer, "kubernetes:apps/v1:Deployment", evil)
    assert {p for p, _ in diags} == {"k8s-psa"}
    assert any("namespace default" in m and "hostPID" in m and "privileged" in m for _, m in diags), diags


def test_analyze_tells_pulumi_secrets_from_plaintext(analyzer):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
              "stringData": {"password": {**SECRET_SIG, "value": "s3cr3t"}}}
    assert analyze(analyzer, "kubernetes:core/v1:Secret", secret) == set()
    secret["stringData"]["password"] = "hunter2"
    assert {p for p, _ in analyze(analyzer, "kubernetes:core/v1:Secret", secret)} == {"k8s-secrets"}


def test_non_kubernetes_resources_are_ignored(analyzer):
    assert analyze(analyzer, "random:index/randomPet:RandomPet", {"length": 2}) == set()


def test_analyze_stack_reports_a_namespace_without_default_deny(analyzer):
    def res(type_, props, name):
        return analyzer_pb2.AnalyzerResource(type=type_, properties=struct(props), urn=f"urn:pulumi:s::p::{type_}::{name}", name=name)

    ns = res("kubernetes:core/v1:Namespace", namespace(), "shop")
    deny = res("kubernetes:networking.k8s.io/v1:NetworkPolicy",
               {"metadata": {"name": "default-deny", "namespace": "shop"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}, "deny")
    bad = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[ns]), timeout=30).diagnostics
    assert [(d.policyName, d.urn) for d in bad] == [("k8s-netpol", ns.urn)]
    assert "no default-deny NetworkPolicy for ingress and egress" in bad[0].message
    good = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[ns, deny]), timeout=30).diagnostics
    assert list(good) == []


def test_namespace_less_resources_land_in_the_provider_namespace():
    from types import SimpleNamespace

    from idcpilot.policy.crossguard import manifest_of, provider_namespace

    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    assert provider_namespace(None) == "default"
    assert provider_namespace(SimpleNamespace(props={"namespace": "team"})) == "team"
    m = manifest_of("kubernetes:core/v1:Pod", pod, "c1", provider_namespace(SimpleNamespace(props={})))
    assert m.namespace == "default" and m.target == "k8s/c1/default/Pod/p"
