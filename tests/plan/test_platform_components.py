"""CdnCache, ZeroTrustGateway and Monitoring under mocks."""

from __future__ import annotations

import json

import pulumi

from idcpilot.components import pki
import yaml

from idcpilot.components import CdnCache, Monitoring, ZeroTrustGateway
from idcpilot.components import conventions as cv

from tests.plan.conftest import by_kind, named


def test_cdn_cache_pinned_to_cdn_nodes_with_catalogue_config(spec_of, run):
    spec = spec_of("bj-core-k8s")
    assert spec.cdn is not None and spec.cdn.cdn_nodes == 48
    r = run(lambda p: CdnCache("cdn", spec.cdn, pulumi.ResourceOptions(provider=p)))
    assert [x.type for x in r.resources if not x.custom] == ["idcpilot:edge:CdnCache"]
    ds = named(r, "DaemonSet", "cdn-cache", cv.NS_CDN)
    pod = ds["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {cv.CDN_NODE_LABEL: "true"}
    assert pod["tolerations"][0]["key"] == cv.CDN_NODE_LABEL
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"][0]["key"] == cv.CDN_NODE_LABEL
    c = pod["containers"][0]
    assert c["image"].startswith("registry.hy-idc.internal:5000/")
    assert c["resources"]["requests"]["memory"] == f"{8192 + 256}Mi"  # memoryCacheMb from the catalogue
    conf = named(r, "ConfigMap", "cdn-cache", cv.NS_CDN)["data"]["default.conf"]
    assert "max_size=800g" in conf and "keys_zone=edge:8192m" in conf
    assert "server_name portal.hy-idc.internal;" in conf and "server_name media.hy-idc.internal;" in conf
    assert "proxy_cache_valid 200 301 302 604800s;" in conf  # /media/ TTL
    assert "location /api/ {\n        proxy_pass https://portal.hy-idc.internal;\n        proxy_cache off;" in conf
    egress = named(r, "NetworkPolicy", "allow-origins", cv.NS_CDN)["spec"]["egress"][0]
    # origins live at bj-core-1 and sh-core-1: egress only to those sites' service prefixes, on 443
    assert {p["ipBlock"]["cidr"] for p in egress["to"]} == {"10.80.0.0/23", "10.80.8.0/23"}
    assert egress["ports"] == [{"port": 443, "protocol": "TCP"}]
    svc = named(r, "Service", "cdn-cache", cv.NS_CDN)
    assert svc["spec"]["externalTrafficPolicy"] == "Local"


def test_cluster_without_cdn_nodes_gets_no_cache(lab):
    from idcpilot.components.spec import cluster_spec
    cat, alloc = lab
    spec = cluster_spec(cat, alloc, "lab-sh-k8s")
    assert spec.cdn is not None and spec.cdn.cdn_nodes == 1  # lab-sh-cdn01
    assert spec.gateways == ()  # the lab's gateway sits at lab-bj, not at the cluster's site


def test_zero_trust_gateway_default_deny_and_secret_tls(spec_of, run):
    spec = spec_of("gz-edge-k8s")
    (gw,) = spec.gateways
    r = run(lambda p: ZeroTrustGateway("gz-zt", gw, pulumi.ResourceOptions(provider=p)))
    types = [x.type for x in r.resources]
    assert types.count(pki.TYPE) == 2  # the gateway's CA and its server certificate, no tls provider
    certs = [x for x in r.resources if x.type == pki.TYPE]
    assert all("private_key_pem" not in str(x.inputs) or x.inputs.get("private_key_pem") in (None, "[secret]") for x in certs)
    server = next(x for x in certs if x.inputs["kind"] == "server")
    assert "ca_key_pem" in server.secret_paths and server.inputs["ca_key_pem"] == "[secret]"
    secret_rec = next(x for x in r.resources if x.type == "kubernetes:core/v1:Secret")
    assert "stringData" in secret_rec.secret_paths
    secret = named(r, "Secret", "zt-gz-zt-tls")
    assert "stringData" not in secret and "data" not in secret
    assert secret["metadata"]["annotations"]["idcpilot.io/pulumi-secret-fields"] == "stringData.ca.crt,stringData.tls.crt,stringData.tls.key"
    assert r.resources
    for rec in r.resources:  # generated keys never reach the record
        assert "PRIVATE KEY" not in json.dumps(rec.to_json())
    data = named(r, "ConfigMap", "zt-gz-zt")["data"]
    policy = json.loads(data["access-policy.json"])
    assert policy["defaultAction"] == "deny"
    assert policy["apps"]["billing"]["allow"] == ["spiffe://example/identity/chen-jie"]
    assert policy["apps"]["grafana"]["allow"] == ["spiffe://example/identity/ci-bot", "spiffe://example/identity/li-na",
                                                   "spiffe://example/identity/wang-lei"]
    envoy = yaml.safe_load(data["envoy.yaml"])
    tls_ctx = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["transport_socket"]["typed_config"]
    assert tls_ctx["require_client_certificate"] is True
    assert tls_ctx["common_tls_context"]["tls_params"]["tls_minimum_protocol_version"] == "TLSv1_2"
    http_filters = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
    assert http_filters[0]["typed_config"]["rules"] == {"action": "ALLOW", "policies": {}}  # nothing allowed by default


def test_gateway_app_with_nobody_allowed_admits_nobody(spec_of, run):
    import dataclasses
    spec = spec_of("gz-edge-k8s")
    gw = spec.gateways[0]
    gw = dataclasses.replace(gw, apps=tuple(dataclasses.replace(a, principals=()) for a in gw.apps))
    from idcpilot.components.zero_trust import envoy_config
    vhosts = envoy_config(gw)["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"]
    assert len(vhosts) == len(gw.apps) > 0  # the loop below judges every app, and at least one
    for vhost in vhosts:
        rbac = vhost["routes"][0]["typed_per_filter_config"]["envoy.filters.http.rbac"]["rbac"]["rules"]
        assert rbac == {"action": "ALLOW", "policies": {}}


def test_monitoring_exporters_and_dashboard(spec_of, run):
    spec = spec_of("gz-edge-k8s")
    r = run(lambda p: Monitoring("mon", spec.monitoring, pulumi.ResourceOptions(provider=p)))
    ds = named(r, "DaemonSet", "node-exporter", cv.NS_MONITORING)
    pod = ds["spec"]["template"]["spec"]
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert "hostNetwork" not in pod and "hostPID" not in pod  # restricted profile
    ksm = named(r, "Deployment", "kube-state-metrics", cv.NS_MONITORING)
    assert ksm["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    role = named(r, "ClusterRole", "idcpilot:kube-state-metrics")
    assert role["rules"] and all(rule["verbs"] == ["list", "watch"] for rule in role["rules"])
    board = json.loads(named(r, "ConfigMap", "resource-usage-dashboard", cv.NS_MONITORING)["data"]["resource-usage.json"])
    assert "PILOT-TRANSPARENCY" in board["tags"]
    exprs = " ".join(p["targets"][0]["expr"] for p in board["panels"])
    assert "node_cpu_seconds_total" in exprs and "kube_pod_container_resource_requests" in exprs and 'cluster="gz-edge-k8s"' in exprs
    quota = named(r, "ResourceQuota", "quota", cv.NS_MONITORING)["spec"]["hard"]
    assert int(quota["pods"]) >= 2 * (spec.monitoring.nodes + 1)


def test_gateway_verifies_upstreams(spec_of):
    from idcpilot.components.zero_trust import envoy_config
    gw = spec_of("bj-core-k8s").gateways[0]
    for cluster in envoy_config(gw)["static_resources"]["clusters"]:
        ctx = cluster["transport_socket"]["typed_config"]
        host = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["address"]
        assert ctx["sni"] == host
        assert ctx["common_tls_context"]["validation_context"]["match_typed_subject_alt_names"][0]["matcher"] == {"exact": host}
