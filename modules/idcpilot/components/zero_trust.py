"""ZeroTrustGateway: the in-cluster mTLS gateway for the apps a catalogue gateway fronts.

The gateway is nginx with mutual TLS, the same technology and the same decision table as the
host gateways of ``roles/zt_gateway`` (``templates/idcpilot-zt.conf.j2``): in an air-gapped IDC
every image has to be built offline, and nginx comes from Debian's packages where Envoy cannot
be built at all; one technology also means one set of decisions to review and to audit.

Identity: the **subject CN** of a client certificate that verified against the gateway's CA,
read from ``$ssl_client_s_dn`` exactly like the host role (nginx cannot read a URI SAN into a
variable, so the SPIFFE URI SAN the Envoy gateway matched is no longer used). A client
certificate signed by the gateway CA carries the catalogue identity name as CN, as
``idcpilot pki sign`` issues them for host gateways (``/O=<estate>/OU=<group>.../CN=<identity>``);
this component makes the CA and the server certificate, no client certificates.

Which app: the request's Host, ``<app>`` or ``<app>.<anything>`` (the Envoy gateway's virtual
host domains ``app`` and ``app.*``), not the host role's ``/<app>/`` path prefix: clients of the
in-cluster gateway already address apps by name, and the apps keep their own URL space.

Each app admits only the identities the catalogue allows it; everything else is denied, and
every request is logged as one JSON line on stdout with its identity, app, decision and reason.
Key material comes from ``components.pki`` (a dynamic provider of this package), so it lives in
Pulumi state as secrets and is stable across runs.

Every catalogue value that reaches ``nginx.conf`` goes through the escaping filters the host
role's template uses (``idcpilot.ansible_plugins.filter.idcpilot_escape``): a value is written
quoted or plain where nginx can hold it, and refused (``UnsafeValue``) where it cannot.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pulumi

from idcpilot.ansible_plugins.filter.idcpilot_escape import UnsafeValue, config_word, hostname, nginx_arg, nginx_str, port
from idcpilot.components import conventions as cv
from idcpilot.components import pki
from idcpilot.components import kube
from idcpilot.components import kube_objects as objects
from idcpilot.components.namespace import managed_namespace, netpol, service_account
from idcpilot.components.spec import PLATFORM_CLASSIFICATION, AppPolicy, GatewayArgs, Resources

GATEWAY_UID = 101
GATEWAY_PORT = 8443
GATEWAY_RESOURCES = Resources("250m", "256Mi", "2", "512Mi")
#: nginx ``ssl_protocols`` for each catalogue ``minTls``: that version and every later one.
SSL_PROTOCOLS = {"1.0": "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "1.1": "TLSv1.1 TLSv1.2 TLSv1.3",
                 "1.2": "TLSv1.2 TLSv1.3", "1.3": "TLSv1.3"}
#: Where the pod mounts the ConfigMap, the TLS Secret and its one writable directory (an emptyDir;
#: the root filesystem is read-only): pid file and nginx's temporary files live there.
CONFIG_DIR = "/etc/nginx-zt"
TLS_DIR = "/etc/zt/tls"
RUN_DIR = "/tmp"
#: The system CA bundle of the image (the IDC CA installed in it): upstreams are verified against it.
UPSTREAM_CA = "/etc/ssl/certs/ca-certificates.crt"
#: What $zt_app and $zt_cert_cn hold when there is no app or no CN; no app or identity may be named so.
NONE = "-"
#: X.509 bounds a subject's common and organisation names at 64 characters (RFC 5280 ub-common-name).
SUBJECT_MAX = 64


def subject_name(text: str) -> str:
    """``text`` when it fits a certificate subject; longer, its first 55 characters, "-" and the
    first 8 hex digits of its sha256 (64 in all): recognisable, and distinct names stay distinct."""
    if len(text) <= SUBJECT_MAX:
        return text
    return f"{text[:SUBJECT_MAX - 9]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def access_policy(args: GatewayArgs) -> dict[str, Any]:
    """The machine-readable access policy: default deny, then one allow list per app (identities:
    the subject CN of a client certificate the gateway CA issued)."""
    return {
        "gateway": args.gateway,
        "defaultAction": "deny" if args.default_deny else "allow",
        "identity": "subject CN of a client certificate issued by the gateway CA",
        "apps": {a.name: {"hosts": [a.name, f"{a.name}.*"], "upstream": f"{a.upstream_host}:{a.upstream_port}",
                          "allow": list(a.principals)} for a in args.apps},
    }


def _app_name(app: AppPolicy) -> str:
    """An app's name: a DNS name (it is matched against the request's Host) and one config word."""
    return config_word(hostname(app.name))


def _identity(name: str) -> str:
    """An identity of an allow list: one config word, never the "no CN" marker (that would admit
    a verified certificate without a CN)."""
    word = config_word(name)
    if word == NONE:
        raise UnsafeValue(f"nginx: refusing {name!r}: {NONE!r} is what the gateway logs for a certificate without a CN")
    return word


def _upstream(app: AppPolicy) -> tuple[str, str]:
    """(server address, TLS name) of an app's upstream: a DNS name or an IP address, and a port."""
    host = hostname(app.upstream_host)
    address = f"[{host}]" if ":" in host else host
    return nginx_arg(f"{address}:{port(app.upstream_port)}"), nginx_arg(host)


def _ssl_protocols(args: GatewayArgs) -> str:
    if args.min_tls not in SSL_PROTOCOLS:
        raise ValueError(f"gateway {args.gateway}: minTls {args.min_tls!r} is not one of {', '.join(SSL_PROTOCOLS)}")
    return SSL_PROTOCOLS[args.min_tls]


def nginx_config(args: GatewayArgs) -> str:
    """The gateway's whole ``nginx.conf`` (main context included), from the catalogue's gateway.

    The decision table is the host role's (``roles/zt_gateway/templates/idcpilot-zt.conf.j2``)
    without its threat-intelligence field (the blocklist is synced to host gateways only): its
    exact keys ``SUCCESS|<app>|<identity>`` are the only allows; a missing client certificate, a
    rejected one, an unknown app and an identity not in the app's allow list are denied, each
    with its reason. Refuses (``UnsafeValue``) any catalogue value nginx could read as more than
    one value, and a gateway whose ``defaultDeny`` is false (PILOT-ZT), as the host role does.

    Upstreams are ``upstream`` groups whose names nginx resolves when it starts (nginx 1.22 does
    not re-resolve them as Envoy's STRICT_DNS clusters did): a new pod whose upstream name does not
    resolve fails to start and the rollout waits, and a changed address needs a pod restart.
    """
    if not args.default_deny:
        raise ValueError(f"gateway {args.gateway}: defaultDeny is false; a zero-trust gateway denies by default (PILOT-ZT)")
    gateway = config_word(args.gateway)
    protocols = _ssl_protocols(args)
    apps = [(_app_name(a), a) for a in args.apps]
    upstreams = {name: _upstream(a) for name, a in apps}
    groups = {name: f"zt_app_{i}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}" for i, (name, _) in enumerate(apps)}

    out = [
        f"# Zero-trust gateway {gateway} in the cluster (idcpilot:edge:ZeroTrustGateway); rendered by idcpilot.",
        "# Every request is decided here from the client certificate (gateway CA) and the app's allow",
        "# list from the catalogue, with the decision table of the host gateways (roles/zt_gateway).",
        "# Anything not explicitly allowed is denied (PILOT-ZT); every decision is logged with its",
        "# identity, app and reason (PILOT-TRACEABLE). There is no plaintext listener (MLPS3-TLS).",
        "",
        f"# Non-root, read-only root filesystem: nginx writes only to {RUN_DIR} (an emptyDir), logs to stderr/stdout.",
        "daemon off;",
        "worker_processes 2;",
        f"pid {RUN_DIR}/nginx.pid;",
        "error_log stderr notice;",
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
        "http {",
        f"    client_body_temp_path {RUN_DIR}/client_body;",
        f"    proxy_temp_path {RUN_DIR}/proxy;",
        f"    fastcgi_temp_path {RUN_DIR}/fastcgi;",
        f"    uwsgi_temp_path {RUN_DIR}/uwsgi;",
        f"    scgi_temp_path {RUN_DIR}/scgi;",
        "    server_tokens off;",
        "    default_type text/plain;",
        "",
        "    # Which app a request is for: Host <app> or <app>.<anything> (longest name first, so the",
        "    # most specific app wins, as Envoy's virtual hosts did).",
        "    map $host $zt_app {",
        f'        default "{NONE}";',
    ]
    for name, _ in sorted(apps, key=lambda x: (-len(x[0]), x[0])):
        out.append(f'        "~*^{nginx_str(re.escape(name))}(\\.|$)" {nginx_arg(name)};')
    out += [
        "    }",
        "",
        "    # The identity is the certificate's CN; it only counts when the certificate verified.",
        "    map $ssl_client_s_dn $zt_cert_cn {",
        f'        default "{NONE}";',
        '        "~(^|,)CN=(?<zt_cn>[^,]+)" $zt_cn;',
        "    }",
        "",
        "    # Each app's upstream group and the name its certificate must carry. Keys carry an 'app:'",
        "    # prefix so no app name can be one of map's own words (default, include, hostnames, ~regex).",
        "    map app:$zt_app $zt_upstream {",
        '        default "";',
        *(f"        {nginx_arg('app:' + name)} {groups[name]};" for name, _ in apps),
        "    }",
        "",
        "    map app:$zt_app $zt_upstream_name {",
        '        default "";',
        *(f"        {nginx_arg('app:' + name)} {upstreams[name][1]};" for name, _ in apps),
        "    }",
        "",
        "    # The decision table. Exact keys (checked first) are the only allows:",
        "    #   SUCCESS = certificate verified | app | identity",
        '    map "$ssl_client_verify|$zt_app|$zt_cert_cn" $zt_reason {',
        "        default \"deny: identity not in the app's allow list (default deny)\";",
    ]
    for name, app in apps:
        for identity in sorted({_identity(p) for p in app.principals}):
            out.append(f"        {nginx_arg(f'SUCCESS|{name}|{identity}')} {nginx_arg(f'allow: {name} allows identity {identity}')};")
    out += [
        '        "~^\\|" "deny: plaintext request on the TLS port";',
        '        "~^NONE\\|" "deny: no client certificate";',
        '        "~^FAILED:(?<zt_why>[^|]*)\\|" "deny: client certificate rejected: $zt_why";',
        f'        "~^SUCCESS\\|{NONE}\\|" "deny: no such application";',
        "    }",
        "",
        "    map $zt_reason $zt_decision {",
        "        default deny;",
        '        "~^allow:" allow;',
        "    }",
        "",
        f"    log_format zt_audit escape=json '{{\"time\":\"$time_iso8601\",\"gateway\":\"{gateway}\",\"host\":\"$hostname\",'",
        "        '\"request_id\":\"$request_id\",\"client\":\"$remote_addr\",\"identity\":\"$zt_cert_cn\",'",
        "        '\"cert_verify\":\"$ssl_client_verify\",\"cert_serial\":\"$ssl_client_serial\",\"app\":\"$zt_app\",'",
        "        '\"decision\":\"$zt_decision\",\"reason\":\"$zt_reason\",\"method\":\"$request_method\",\"uri\":\"$request_uri\",'",
        "        '\"status\":\"$status\",\"tls\":\"$ssl_protocol\",\"upstream_status\":\"$upstream_status\",\"request_time\":\"$request_time\"}';",
        "",
    ]
    for name, _ in apps:
        out += [f"    upstream {groups[name]} {{", f"        server {upstreams[name][0]};", "        keepalive 16;", "    }", ""]
    out += [
        "    server {",
        f"        listen {GATEWAY_PORT} ssl default_server;",
        "",
        f"        ssl_certificate {TLS_DIR}/tls.crt;",
        f"        ssl_certificate_key {TLS_DIR}/tls.key;",
        f"        ssl_protocols {protocols};",
        "        ssl_session_cache shared:zt_tls:10m;",
        "        ssl_session_timeout 1h;",
        "        ssl_session_tickets off;",
        "",
        "        # Client certificates from the gateway CA, required: nginx answers a missing or rejected",
        "        # certificate with 496/495 before any location, which @zt_deny turns into a 403 with the",
        "        # decision table's reason (the host role's \"optional\" reaches the same decisions).",
        f"        ssl_client_certificate {TLS_DIR}/ca.crt;",
        "        ssl_verify_client on;",
        "        ssl_verify_depth 2;",
        "",
        "        # One JSON line per decision on stdout, for the cluster's log collection.",
        "        access_log /dev/stdout zt_audit;",
        "        # Bodies stream to the app as they did through Envoy: no size limit, nothing spooled to disk.",
        "        client_max_body_size 0;",
        '        add_header Strict-Transport-Security "max-age=31536000" always;',
        "        add_header X-Request-Id $request_id always;",
        "",
        "        error_page 495 496 497 = @zt_deny;   # certificate rejected, no certificate, plaintext on the TLS port",
        "",
        "        location @zt_deny {",
        '            return 403 "$zt_reason\\n";',
        "        }",
        "",
        "        location / {",
        "            if ($zt_decision != allow) {",
        '                return 403 "$zt_reason\\n";',
        "            }",
        "            proxy_pass https://$zt_upstream;",
        "            # The upstream's certificate must verify against the system CA bundle and name the upstream host.",
        "            proxy_ssl_name $zt_upstream_name;",
        "            proxy_ssl_server_name on;",
        "            proxy_ssl_verify on;",
        "            proxy_ssl_verify_depth 3;",
        f"            proxy_ssl_trusted_certificate {UPSTREAM_CA};",
        f"            proxy_ssl_protocols {protocols};",
        "            proxy_ssl_session_reuse on;",
        "            proxy_http_version 1.1;",
        '            proxy_set_header Connection "";',
        "            proxy_set_header Host $host;",
        "            proxy_set_header X-Forwarded-For $remote_addr;",
        "            proxy_set_header X-Forwarded-Proto https;",
        "            proxy_set_header X-Request-Id $request_id;",
        "            # The identity headers the host gateways send, from the verified certificate only; a",
        "            # client's own headers of these names never reach the app (set or cleared here).",
        "            proxy_set_header X-Idcpilot-Identity $zt_cert_cn;",
        "            proxy_set_header X-Idcpilot-Cert-Serial $ssl_client_serial;",
        '            proxy_set_header X-Idcpilot-Groups "";',
        '            proxy_set_header X-Forwarded-Client-Cert "";',
        "            proxy_connect_timeout 5s;",
        "            proxy_request_buffering off;",
        "            proxy_max_temp_file_size 0;",
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(out) + "\n"


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
                "nginx.conf": nginx_config(args),
                "access-policy.json": json.dumps(access_policy(args), indent=2, sort_keys=True),
            },
            opts=ns.opts(self),
        )
        sa = service_account(self, ns, f"zt-{gw}", labels)
        container = kube.container(
            "gateway", cv.image(args.common.registry, "gateway"), GATEWAY_RESOURCES, [("mtls", GATEWAY_PORT)],
            # errors to stderr from the first line on (before nginx.conf is read); daemon off is in nginx.conf
            command=["nginx", "-e", "stderr", "-c", f"{CONFIG_DIR}/nginx.conf"],
            readinessProbe={"tcpSocket": {"port": GATEWAY_PORT}, "periodSeconds": 10},
            volumeMounts=[
                {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                {"name": "tmp", "mountPath": RUN_DIR},
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
