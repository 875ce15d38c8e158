"""CdnCache, ZeroTrustGateway and Monitoring under mocks."""

from __future__ import annotations

import json

import pulumi

from idcpilot.components import pki

from idcpilot.components import CdnCache, Monitoring, ZeroTrustGateway
from idcpilot.components import conventions as cv
from idcpilot.components.zero_trust import GATEWAY_PORT, GATEWAY_UID

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
    assert policy["apps"]["billing"]["allow"] == ["chen-jie"]  # identities: the client certificate's subject CN
    assert policy["apps"]["grafana"]["allow"] == ["ci-bot", "li-na", "wang-lei"]
    conf = data["nginx.conf"]
    assert "ssl_verify_client on;" in conf and "ssl_client_certificate /etc/zt/tls/ca.crt;" in conf  # mTLS required
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf  # minTls 1.2 from the catalogue
    assert f"listen {GATEWAY_PORT} ssl default_server;" in conf and conf.count("listen ") == 1  # no plaintext listener
    # nothing allowed by default: the decision table's default is a deny, and only "allow:" reasons allow
    assert "default \"deny: identity not in the app's allow list (default deny)\";" in conf
    assert 'map $zt_reason $zt_decision {\n        default deny;\n        "~^allow:" allow;\n    }' in conf
    assert '"SUCCESS|billing|chen-jie" "allow: billing allows identity chen-jie";' in conf
    assert "access_log /dev/stdout zt_audit;" in conf
    pod = named(r, "Deployment", "zt-gz-zt")["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["name"] == "gateway" and c["image"] == "registry.hy-idc.internal:5000/" + cv.IMAGES["gateway"]
    assert c["command"] == ["nginx", "-e", "stderr", "-c", "/etc/nginx-zt/nginx.conf"]
    assert c["readinessProbe"]["tcpSocket"] == {"port": GATEWAY_PORT}
    assert pod["securityContext"]["runAsUser"] == GATEWAY_UID and c["securityContext"]["readOnlyRootFilesystem"] is True
    # nginx writes only below /tmp (pid file, temporary files), an emptyDir
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert "pid /tmp/nginx.pid;" in conf and "client_body_temp_path /tmp/client_body;" in conf


def test_gateway_app_with_nobody_allowed_admits_nobody(spec_of, run):
    import dataclasses
    spec = spec_of("gz-edge-k8s")
    gw = spec.gateways[0]
    gw = dataclasses.replace(gw, apps=tuple(dataclasses.replace(a, principals=()) for a in gw.apps))
    from idcpilot.components.zero_trust import nginx_config
    conf = nginx_config(gw)
    assert len(gw.apps) > 0 and all(f'"~*^{a.name}(\\.|$)" {a.name};' in conf for a in gw.apps)  # every app is routed
    assert "SUCCESS|" not in conf.replace('"~^SUCCESS\\|-\\|"', "")  # ... and no identity has an allow key
    assert "allow:" not in conf.replace('"~^allow:" allow;', "")


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
    from idcpilot.components.zero_trust import nginx_config
    gw = spec_of("bj-core-k8s").gateways[0]
    conf = nginx_config(gw)
    assert gw.apps
    for i, app in enumerate(gw.apps):
        group = f"zt_app_{i}_{app.name.replace('-', '_')}"
        assert f"upstream {group} {{\n        server {app.upstream_host}:{app.upstream_port};" in conf
        assert f"app:{app.name} {group};" in conf and f"app:{app.name} {app.upstream_host};" in conf  # $zt_upstream, $zt_upstream_name
    for line in ("proxy_pass https://$zt_upstream;", "proxy_ssl_name $zt_upstream_name;", "proxy_ssl_server_name on;",
                 "proxy_ssl_verify on;", "proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;",
                 "proxy_ssl_protocols TLSv1.2 TLSv1.3;"):
        assert f"            {line}\n" in conf, line
