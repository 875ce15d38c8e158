"""CdnCache: the cluster-hosted cache tier of the CDN, one cache per CDN node."""

from __future__ import annotations

import pulumi

from idcpilot.components import conventions as cv
from idcpilot.components import kube
from idcpilot.components import kube_objects as objects
from idcpilot.components.namespace import managed_namespace, netpol, service_account
from idcpilot.components.spec import PLATFORM_CLASSIFICATION, CdnCacheArgs, Resources

CACHE_UID = 101  # the nginx-unprivileged image's user
CACHE_PORT = 8080


def cache_resources(args: CdnCacheArgs) -> Resources:
    """Memory follows the catalogue's in-memory cache size, plus room for the worker processes."""
    return Resources("500m", f"{args.memory_cache_mb + 256}Mi", "2", f"{args.memory_cache_mb * 2 + 256}Mi")


class CdnCache(pulumi.ComponentResource):
    def __init__(self, name: str, args: CdnCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("idcpilot:edge:CdnCache", name, None, opts)
        labels = args.common.labels("cdn-cache", PLATFORM_CLASSIFICATION)
        labels[cv.LABEL_NAME] = "cdn-cache"
        selector = {cv.LABEL_NAME: "cdn-cache"}
        res = cache_resources(args)
        ns = managed_namespace(self, cv.NS_CDN, labels, [(res, args.cdn_nodes)], res)
        netpol(self, ns, "allow-clients", kube.allow_ingress(selector, kube.ip_peers(args.client_cidrs), [CACHE_PORT]))
        origin_cidrs = sorted({c for o in args.origins for c in o.cidrs})
        if origin_cidrs:
            netpol(self, ns, "allow-origins",
                   kube.allow_egress(selector, kube.ip_peers(origin_cidrs), [o.port for o in args.origins]))
        sa = service_account(self, ns, "cdn-cache", labels)
        config = objects.ConfigMap(
            "cdn-cache-config",
            metadata=kube.metadata("cdn-cache", labels, ns.name),
            data={"default.conf": nginx_config(args)},
            opts=ns.opts(self),
        )
        container = kube.container(
            "cache", cv.image(args.common.registry, "cache"), res, [("http", CACHE_PORT)],
            readinessProbe={"httpGet": {"path": "/healthz", "port": CACHE_PORT}, "periodSeconds": 10},
            volumeMounts=[
                {"name": "config", "mountPath": "/etc/nginx/conf.d", "readOnly": True},
                {"name": "cache", "mountPath": "/var/cache/nginx"},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        )
        self.daemonset = objects.DaemonSet(
            "cdn-cache",
            metadata=kube.metadata("cdn-cache", labels, ns.name, args.common.workload_annotations()),
            spec={
                "selector": {"matchLabels": selector},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": kube.pod_spec(
                        [container], CACHE_UID, "cdn-cache",
                        volumes=[
                            {"name": "config", "configMap": {"name": "cdn-cache"}},
                            {"name": "cache", "emptyDir": {"sizeLimit": f"{args.cache_size_gb}Gi"}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                        ],
                        # Pinned to CDN nodes: the node label and taint the k8s_node role sets on them.
                        nodeSelector={cv.CDN_NODE_LABEL: "true"},
                        affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                            {"matchExpressions": [{"key": cv.CDN_NODE_LABEL, "operator": "In", "values": ["true"]}]}]}}},
                        tolerations=[{"key": cv.CDN_NODE_LABEL, "operator": "Exists", "effect": "NoSchedule"}],
                    ),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, sa, config]),
        )
        objects.Service(
            "cdn-cache",
            metadata=kube.metadata("cdn-cache", labels, ns.name, args.common.workload_annotations()),
            spec={
                "type": "NodePort",
                "externalTrafficPolicy": "Local",  # clients hit the cache on the node they reach
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": CACHE_PORT, "protocol": "TCP"}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, self.daemonset]),
        )
        self.register_outputs({"namespace": ns.name, "origins": [o.name for o in args.origins], "cdnNodes": args.cdn_nodes})


def nginx_config(args: CdnCacheArgs) -> str:
    """nginx proxy cache: one server per origin (by Host), TTLs per path prefix, stale on error."""
    inactive = max([r.ttl_seconds for r in args.rules] + [3600])
    lines = [
        f"proxy_cache_path /var/cache/nginx/edge levels=1:2 keys_zone=edge:{args.memory_cache_mb}m "
        f"max_size={args.cache_size_gb}g inactive={inactive}s use_temp_path=off;",
        "proxy_cache_key $scheme$host$request_uri;",
        "",
        "server {",
        f"    listen {CACHE_PORT} default_server;",
        "    location = /healthz { access_log off; return 200 'ok'; }",
        "    location / { return 404; }",
        "}",
    ]
    for origin in args.origins:
        upstream = f"{origin.scheme}://{origin.host}" + (f":{origin.port}" if origin.port not in (80, 443) else "")
        lines += ["", "server {", f"    listen {CACHE_PORT};", f"    server_name {origin.host};",
                  "    proxy_cache edge;",
                  f"    proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;",
                  "    proxy_cache_background_update on;",
                  "    proxy_cache_lock on;",
                  f"    add_header Cache-Control \"stale-if-error={args.stale_if_error_seconds}\" always;"]
        if origin.scheme == "https":
            lines += ["    proxy_ssl_server_name on;", "    proxy_ssl_verify on;",
                      "    proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;",
                      "    proxy_ssl_protocols TLSv1.2 TLSv1.3;"]
        for rule in sorted(args.rules, key=lambda r: -len(r.path_prefix)):
            lines += [f"    location {rule.path_prefix} {{", f"        proxy_pass {upstream};"]
            lines += ["        proxy_cache off;"] if rule.ttl_seconds == 0 else [f"        proxy_cache_valid 200 301 302 {rule.ttl_seconds}s;"]
            lines += ["    }"]
        lines += ["    location / {", f"        proxy_pass {upstream};", "        proxy_cache_valid 200 60s;", "    }", "}"]
    return "\n".join(lines) + "\n"
