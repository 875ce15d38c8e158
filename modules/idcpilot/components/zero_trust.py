"""ZeroTrustGateway: the in-cluster mTLS gateway for the apps a catalogue gateway fronts.

Clients present a certificate whose URI SAN names their identity
(``spiffe://<estate>/identity/<name>``); each app admits only the identities the catalogue
allows it, and everything else is denied. Key material comes from ``components.pki`` (a dynamic
provider of this package), so it lives in Pulumi state as secrets and is stable across runs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import yaml

from idcpilot.components import conventions as cv
from idcpilot.components import pki
from idcpilot.components import kube
from idcpilot.components import kube_objects as objects
from idcpilot.components.namespace import managed_namespace, netpol, service_account
from idcpilot.components.spec import PLATFORM_CLASSIFICATION, GatewayArgs, Resources

GATEWAY_UID = 101
GATEWAY_PORT = 8443
ADMIN_PORT = 9901
GATEWAY_RESOURCES = Resources("250m", "256Mi", "2", "512Mi")
TLS_VERSION = {"1.0": "TLSv1_0", "1.1": "TLSv1_1", "1.2": "TLSv1_2", "1.3": "TLSv1_3"}
#: X.509 bounds a subject's common and organisation names at 64 characters (RFC 5280 ub-common-name).
SUBJECT_MAX = 64


def subject_name(text: str) -> str:
    """``text`` when it fits a certificate subject; longer, its first 55 characters, "-" and the
    first 8 hex digits of its sha256 (64 in all): recognisable, and distinct names stay distinct."""
    if len(text) <= SUBJECT_MAX:
        return text
    return f"{text[:SUBJECT_MAX - 9]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def spiffe(estate: str, identity: str) -> str:
    return f"spiffe://{estate}/identity/{identity}"


def access_policy(args: GatewayArgs) -> dict[str, Any]:
    """The machine-readable access policy: default deny, then one allow list per app."""
    return {
        "gateway": args.gateway,
        "defaultAction": "deny" if args.default_deny else "allow",
        "apps": {a.name: {"upstream": f"{a.upstream_host}:{a.upstream_port}",
                          "allow": [spiffe(args.common.estate, p) for p in a.principals]} for a in args.apps},
    }


def envoy_config(args: GatewayArgs) -> dict[str, Any]:
    estate = args.common.estate
    vhosts = []
    clusters = []
    for app in args.apps:
        principals = [{"authenticated": {"principal_name": {"exact": spiffe(estate, p)}}} for p in app.principals]
        per_route = {"envoy.filters.http.rbac": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute",
            "rbac": {"rules": {"action": "ALLOW", "policies": {f"{app.name}-allowed": {
                "permissions": [{"any": True}], "principals": principals}} if principals else {}}},
        }}
        vhosts.append({
            "name": app.name,
            "domains": [app.name, f"{app.name}.*"],
            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": f"app-{app.name}"}, "typed_per_filter_config": per_route}],
        })
        clusters.append({
            "name": f"app-{app.name}", "type": "STRICT_DNS", "connect_timeout": "5s",
            "load_assignment": {"cluster_name": f"app-{app.name}", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": app.upstream_host, "port_value": app.upstream_port}}}}]}]},
            "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": app.upstream_host,
                "common_tls_context": {
                    "tls_params": {"tls_minimum_protocol_version": TLS_VERSION[args.min_tls]},
                    # upstreams are verified against the system CA bundle (the IDC CA installed in the image)
                    "validation_context": {"trusted_ca": {"filename": "/etc/ssl/certs/ca-certificates.crt"},
                                           "match_typed_subject_alt_names": [{"san_type": "DNS", "matcher": {"exact": app.upstream_host}}]},
                }}},
        })
    # No route matches an unknown host; the top-level RBAC denies whatever a route does not allow.
    default_rbac = {"action": "ALLOW", "policies": {}} if args.default_deny else {"action": "DENY", "policies": {}}
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": ADMIN_PORT}}},
        "static_resources": {
            "listeners": [{
                "name": "mtls",
                "address": {"socket_address": {"address": "0.0.0.0", "port_value": GATEWAY_PORT}},
                "filter_chains": [{
                    "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                        "require_client_certificate": True,
                        "common_tls_context": {
                            "tls_params": {"tls_minimum_protocol_version": TLS_VERSION[args.min_tls]},
                            "tls_certificates": [{"certificate_chain": {"filename": "/etc/zt/tls/tls.crt"},
                                                  "private_key": {"filename": "/etc/zt/tls/tls.key"}}],
                            "validation_context": {"trusted_ca": {"filename": "/etc/zt/tls/ca.crt"}},
                        },
                    }},
                    "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "zt",
                        "forward_client_cert_details": "SANITIZE_SET",
                        "set_current_client_cert_details": {"uri": True},
                        "access_log": [{"name": "envoy.access_loggers.stdout", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"}}],
                        "route_config": {"name": "apps", "virtual_hosts": vhosts},
                        "http_filters": [
                            {"name": "envoy.filters.http.rbac", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC", "rules": default_rbac}},
                            {"name": "envoy.filters.http.router", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                        ],
                    }}],
                }],
            }],
            "clusters": clusters,
        },
    }


class ZeroTrustGateway(pulumi.ComponentResource):
    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("idcpilot:edge:ZeroTrustGateway", name, None, opts)
        gw = args.gateway
        labels = args.common.labels("zero-trust-gateway", PLATFORM_CLASSIFICATION)
        labels[cv.LABEL_NAME] = f"zt-{gw}"
        selector = {cv.LABEL_NAME: f"zt-{gw}"}
        ns = managed_namespace(self, f"{cv.NS_GATEWAY}-{gw}", labels, [(GATEWAY_RESOURCES, args.replicas)], GATEWAY_RESOURCES)
        netpol(self, ns, "allow-clients", kube.allow_ingress(selector, kube.ip_peers(["0.0.0.0/0"]), [GATEWAY_PORT]))
        if args.apps:
            netpol(self, ns, "allow-upstreams",
                   kube.allow_egress(selector, kube.ip_peers(args.upstream_cidrs), [a.upstream_port for a in args.apps]))

        # mTLS material: a gateway CA, and the gateway's server certificate signed by it.
        child = pulumi.ResourceOptions(parent=self)
        ca = pki.Certificate(
            f"{gw}-ca", kind="ca", common_name=subject_name(f"{args.common.estate} {gw} zero-trust CA"),
            organization=subject_name(args.common.estate), validity_hours=5 * 8760, early_renewal_hours=30 * 24, opts=child,
        )
        dns = [f"zt-{gw}.{ns.name}.svc", f"zt-{gw}.{ns.name}.svc.cluster.local"] + sorted(a.name for a in args.apps)
        cert = pki.Certificate(
            f"{gw}-server-cert", kind="server", common_name=subject_name(f"zt-{gw}"), organization=subject_name(args.common.estate),
            dns_names=dns, validity_hours=8760, early_renewal_hours=30 * 24, ca=ca, opts=child,
        )
        secret = objects.Secret(
            f"{gw}-tls",
            metadata=kube.metadata(f"zt-{gw}-tls", labels, ns.name),
            type="kubernetes.io/tls",
            string_data={
                "tls.crt": cert.cert_pem,
                "tls.key": pulumi.Output.secret(cert.private_key_pem),
                "ca.crt": ca.cert_pem,
            },
            opts=ns.opts(self),
        )
        config = objects.ConfigMap(
            f"{gw}-config",
            metadata=kube.metadata(f"zt-{gw}", labels, ns.name),
            data={
                "envoy.yaml": yaml.safe_dump(envoy_config(args), sort_keys=False),
                "access-policy.json": json.dumps(access_policy(args), indent=2, sort_keys=True),
            },
            opts=ns.opts(self),
        )
        sa = service_account(self, ns, f"zt-{gw}", labels)
        container = kube.container(
            "envoy", cv.image(args.common.registry, "gateway"), GATEWAY_RESOURCES, [("mtls", GATEWAY_PORT)],
            args=["--config-path", "/etc/envoy/envoy.yaml", "--log-level", "info"],
            readinessProbe={"tcpSocket": {"port": GATEWAY_PORT}, "periodSeconds": 10},
            volumeMounts=[
                {"name": "config", "mountPath": "/etc/envoy", "readOnly": True},
                {"name": "tls", "mountPath": "/etc/zt/tls", "readOnly": True},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        )
        deployment = objects.Deployment(
            f"{gw}-gateway",
            metadata=kube.metadata(f"zt-{gw}", labels, ns.name, args.common.workload_annotations()),
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": labels}, "spec": kube.pod_spec([container], GATEWAY_UID, f"zt-{gw}", volumes=[
                    {"name": "config", "configMap": {"name": f"zt-{gw}"}},
                    {"name": "tls", "secret": {"secretName": f"zt-{gw}-tls"}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                ])},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, sa, secret, config]),
        )
        objects.Service(
            f"{gw}-gateway",
            metadata=kube.metadata(f"zt-{gw}", labels, ns.name, args.common.workload_annotations()),
            spec={"type": "NodePort", "selector": selector,
                  "ports": [{"name": "mtls", "port": 443, "targetPort": GATEWAY_PORT, "protocol": "TCP"}]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, deployment]),
        )
        self.ca_cert_pem = ca.cert_pem
        self.register_outputs({"namespace": ns.name, "apps": [a.name for a in args.apps], "caCertPem": ca.cert_pem})
