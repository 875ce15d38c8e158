"""EdgeCluster under mocks: namespaces, isolation, quotas, separated roles, audit shipping."""

from __future__ import annotations

import dataclasses
import itertools

import pulumi
import pytest

from idcpilot.components import EdgeCluster
from idcpilot.components import conventions as cv
from idcpilot.components.edge_cluster import ROLE_RULES
from idcpilot.errors import UserInputError

from tests.plan.conftest import by_kind, named


def _edge(spec):
    return lambda provider: EdgeCluster(spec.edge.common.cluster, spec.edge, pulumi.ResourceOptions(provider=provider))


def test_namespace_per_service_with_labels_and_psa(spec_of, run):
    spec = spec_of("bj-core-k8s")
    r = run(_edge(spec))
    namespaces = {m["metadata"]["name"]: m["metadata"]["labels"] for m in by_kind(r, "Namespace")}
    assert set(namespaces) == {"portal", "accounts", cv.NS_AUDIT}
    assert namespaces["accounts"][cv.LABEL_CLASSIFICATION] == "important"
    assert namespaces["portal"][cv.LABEL_CLASSIFICATION] == "general"
    for labels in namespaces.values():
        assert labels[cv.LABEL_DOMAIN] == "domain-north"
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_default_deny_dns_and_talks_to_allows(spec_of, run):
    r = run(_edge(spec_of("bj-core-k8s")))
    pols = {(m["metadata"]["namespace"], m["metadata"]["name"]): m["spec"] for m in by_kind(r, "NetworkPolicy")}
    for ns in ("portal", "accounts", cv.NS_AUDIT):
        assert pols[(ns, "default-deny")] == {"podSelector": {}, "policyTypes": ["Egress", "Ingress"]} or \
            sorted(pols[(ns, "default-deny")]["policyTypes"]) == ["Egress", "Ingress"]
        assert "ingress" not in pols[(ns, "default-deny")] and "egress" not in pols[(ns, "default-deny")]
        assert pols[(ns, "allow-dns")]["egress"][0]["ports"][0]["port"] == 53
    # portal talksTo accounts: egress from portal, ingress at accounts, on accounts' port only
    egress = pols[("portal", "allow-to-accounts")]["egress"][0]
    assert egress["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert egress["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "accounts"}
    ingress = pols[("accounts", "allow-from-portal")]["ingress"][0]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "portal"}
    # accounts calls nobody: no egress allow besides DNS
    assert not [k for k in pols if k[0] == "accounts" and k[1].startswith("allow-to-")]


def test_cross_cluster_calls_are_reported_not_allowed(spec_of):
    spec = spec_of("sh-core-k8s")  # portal runs here, accounts does not
    assert spec.edge.cross_cluster_calls == ("portal->accounts",)
    assert all(not s.talks_to for s in spec.edge.services)


def test_workloads_restricted_with_limits_and_registry_images(spec_of, run):
    spec = spec_of("bj-core-k8s")
    r = run(_edge(spec))
    deploy = named(r, "Deployment", "portal", "portal")
    assert deploy["spec"]["replicas"] == 4 and isinstance(deploy["spec"]["replicas"], int)
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for m in by_kind(r, "Deployment"):
        for c in m["spec"]["template"]["spec"]["containers"]:
            assert c["image"].startswith(spec.edge.common.registry + "/")
            assert set(c["resources"]) == {"requests", "limits"}
            assert set(c["resources"]["limits"]) == {"cpu", "memory"}
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    quota = named(r, "ResourceQuota", "quota", "portal")["spec"]["hard"]
    # 4 replicas x 250m x 2 (rolling-update headroom)
    assert quota["requests.cpu"] == "2" and quota["limits.memory"] == "4Gi"  # canonical, as the API server writes them
    assert named(r, "LimitRange", "limits", "portal")["spec"]["limits"][0]["type"] == "Container"


def test_three_roles_share_no_permission(spec_of, run):
    grants = {}
    for role, rules in ROLE_RULES.items():
        grants[role] = {(g, res, v) for rule in rules for g in rule["apiGroups"] for res in rule["resources"] for v in rule["verbs"]}
    for a, b in itertools.combinations(grants, 2):
        writes = {(g, r_, v) for g, r_, v in grants[a] & grants[b] if v not in ("get", "list", "watch")}
        assert not writes, f"{a} and {b} share {writes}"
    assert not any(v not in ("get", "list", "watch") for _, _, v in grants["auditor"])
    assert not any(res in ("secrets",) for _, res, _ in set().union(*grants.values()))
    r = run(_edge(spec_of("bj-core-k8s")))
    subjects = {(m["metadata"].get("namespace"), m["roleRef"]["name"]): m["subjects"][0]["name"]
                for m in by_kind(r, "RoleBinding") + by_kind(r, "ClusterRoleBinding")}
    # administrators act only in service namespaces; only auditors read the audit shipping namespace
    assert subjects[("portal", "idcpilot:workloads:administrator")] == "admins"
    assert (cv.NS_AUDIT, "idcpilot:workloads:administrator") not in subjects
    assert subjects[(cv.NS_AUDIT, "idcpilot:audit-log-reader")] == "auditors"
    assert subjects[(None, "idcpilot:workloads:security-officer")] == "security-officers"


def test_audit_shipping_to_log_store(spec_of, run):
    spec = spec_of("bj-core-k8s")
    r = run(_edge(spec))
    conf = named(r, "ConfigMap", "audit-shipper", cv.NS_AUDIT)["data"]["fluent-bit.conf"]
    assert "Host          logs.hy-idc.internal" in conf and "Port          6514" in conf and "tls.verify    On" in conf
    assert "call          split_events" in conf
    assert "function split_events" in named(r, "ConfigMap", "audit-shipper", cv.NS_AUDIT)["data"]["audit.lua"]
    pols = {m["metadata"]["name"]: m["spec"] for m in by_kind(r, "NetworkPolicy") if m["metadata"]["namespace"] == cv.NS_AUDIT}
    sources = [p["ipBlock"]["cidr"] for p in pols["allow-apiserver-webhook"]["ingress"][0]["from"]]
    assert sources and all(c.endswith("/32") for c in sources) and len(sources) == 3  # the three control-plane hosts
    assert pols["allow-log-store"]["egress"][0]["ports"] == [{"port": 6514, "protocol": "TCP"}]


def test_component_tree_and_dependencies(spec_of, run):
    r = run(_edge(spec_of("bj-core-k8s")))
    comp = [x for x in r.resources if x.type == "idcpilot:edge:Cluster"]
    assert len(comp) == 1
    children = [x for x in r.resources if x.custom and x.type.startswith("kubernetes:")]
    assert children and all(x.parent == comp[0].urn for x in children)
    ns_urns = {x.inputs["metadata"]["name"]: x.urn for x in children if x.type == "kubernetes:core/v1:Namespace"}
    for x in children:
        ns = x.inputs["metadata"].get("namespace")
        if ns and x.type != "kubernetes:core/v1:Namespace":
            assert ns_urns[ns] in x.dependencies, f"{x.type} {x.name} does not wait for its namespace"
        assert x.provider and x.provider.endswith("::test")
    assert comp[0].outputs["namespaces"] == sorted(["accounts", "portal", cv.NS_AUDIT])


def test_service_without_image_is_an_input_error(example):
    cat, alloc = example
    from idcpilot.components.spec import cluster_spec
    broken = cat.estate.model_copy(deep=True)
    broken.spec.services[0].image = None
    cat2 = dataclasses.replace(cat, estate=broken)
    with pytest.raises(UserInputError) as exc:
        cluster_spec(cat2, alloc, "bj-core-k8s")
    assert "estate.yaml:" in str(exc.value) and "spec.services[0]" in str(exc.value) and "no image" in str(exc.value)
    with pytest.raises(UserInputError, match="no cluster 'nope'"):
        cluster_spec(cat, alloc, "nope")
