"""Typed arguments of the edge-cluster components, derived from the estate catalogue.

``cluster_spec(cat, alloc, name)`` is a pure function: catalogue in, frozen dataclasses out.
The stack program passes these to the components; tests build them directly to exercise one
component, including broken inputs the catalogue would never produce.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlparse

from idcpilot.catalogue.estate import Catalogue
from idcpilot.components import conventions as cv
from idcpilot.errors import UserInputError
from idcpilot.ipam import Allocation


@dataclass(frozen=True)
class Resources:
    cpu: str = "250m"
    memory: str = "256Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"


@dataclass(frozen=True)
class Peer:
    """Another service on the same cluster that a service calls (NetworkPolicy allow)."""

    service: str
    namespace: str
    port: int


@dataclass(frozen=True)
class ServiceArgs:
    name: str
    namespace: str
    image: str
    replicas: int
    port: int
    classification: str
    level: str | None
    resources: Resources
    talks_to: tuple[Peer, ...] = ()


@dataclass(frozen=True)
class AuditShippingArgs:
    """Kubernetes API audit events: apiserver webhook -> fluent-bit -> central log store (TLS)."""

    log_host: str
    log_port: int
    tls: bool
    retention_days: int
    sources: tuple[str, ...]  # CIDRs the API servers call the webhook from
    destinations: tuple[str, ...]  # CIDRs the log store lives in


@dataclass(frozen=True)
class Common:
    estate: str
    cluster: str
    site: str
    data_domain: str
    registry: str
    kubernetes_version: str
    #: the cluster's nodes are simulated (kwok: no kubelet, no pod ever runs), as the stack's
    #: ``idcpilot:simulatedNodes`` setting says: workloads are applied without waiting for rollouts
    simulated_nodes: bool = False

    def workload_annotations(self) -> dict[str, str]:
        """What every Deployment, DaemonSet and Service carries: on simulated nodes, the Kubernetes
        provider's skipAwait (the object is applied and read back; no pod will ever be Ready, so
        no rollout completes and no Service gets an endpoint)."""
        return {"pulumi.com/skipAwait": "true"} if self.simulated_nodes else {}

    def labels(self, component: str, classification: str = "internal-platform") -> dict[str, str]:
        return {
            cv.LABEL_ESTATE: self.estate,
            cv.LABEL_CLUSTER: self.cluster,
            cv.LABEL_COMPONENT: component,
            cv.LABEL_DOMAIN: self.data_domain,
            cv.LABEL_CLASSIFICATION: classification,
            cv.LABEL_MANAGED_BY: "idcpilot",
        }


#: Platform namespaces hold operational data only; they are classified "general".
PLATFORM_CLASSIFICATION = "general"


@dataclass(frozen=True)
class EdgeClusterArgs:
    common: Common
    services: tuple[ServiceArgs, ...]
    audit: AuditShippingArgs | None
    api_sources: tuple[str, ...]  # CIDRs of the control-plane nodes (API server endpoints)
    default_resources: Resources = Resources()
    cross_cluster_calls: tuple[str, ...] = ()  # "a->b" calls that leave the cluster (via gateways)


@dataclass(frozen=True)
class Origin:
    name: str
    scheme: str
    host: str
    port: int
    cidrs: tuple[str, ...]  # where egress to it is allowed


@dataclass(frozen=True)
class CacheRule:
    path_prefix: str
    ttl_seconds: int


@dataclass(frozen=True)
class CdnCacheArgs:
    common: Common
    origins: tuple[Origin, ...]
    rules: tuple[CacheRule, ...]
    cache_size_gb: int
    memory_cache_mb: int
    stale_if_error_seconds: int
    cdn_nodes: int  # CDN hosts at the cluster's site (the cache DaemonSet runs on those joined as nodes)
    client_cidrs: tuple[str, ...] = ("0.0.0.0/0",)


@dataclass(frozen=True)
class AppPolicy:
    """One application behind the gateway: who may reach it (everything else is denied)."""

    name: str
    upstream_host: str
    upstream_port: int
    principals: tuple[str, ...]  # identities allowed, resolved from groups


@dataclass(frozen=True)
class GatewayArgs:
    common: Common
    gateway: str
    listen_port: int
    min_tls: str
    default_deny: bool
    apps: tuple[AppPolicy, ...]
    upstream_cidrs: tuple[str, ...]
    replicas: int = 2


@dataclass(frozen=True)
class MonitoringArgs:
    common: Common
    scrape_cidrs: tuple[str, ...]  # central monitoring scrapes from the management networks
    api_sources: tuple[str, ...]
    services: tuple[str, ...] = ()
    nodes: int = 1  # every node runs a node exporter (quota sizing)


@dataclass(frozen=True)
class ClusterSpec:
    edge: EdgeClusterArgs
    cdn: CdnCacheArgs | None
    gateways: tuple[GatewayArgs, ...]
    monitoring: MonitoringArgs | None
    hosts: dict[str, int] = field(default_factory=dict)


def _prefix(alloc: Allocation, site: str, kind: str) -> str | None:
    return alloc.lock.sites.get(site, {}).get(kind)


def _split_host_port(value: str, default_port: int) -> tuple[str, int]:
    if "://" in value:
        url = urlparse(value)
        return url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    host, _, port = value.rpartition(":")
    if host and port.isdigit():
        return host, int(port)
    return value, default_port


def _cidrs_for(host: str, fallback: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return (str(ipaddress.ip_network(host)),)
    except ValueError:
        return fallback


def cluster_spec(cat: Catalogue, alloc: Allocation, name: str, simulated_nodes: bool = False) -> ClusterSpec:
    """Everything the components need to manage cluster ``name``, from the catalogue."""
    spec = cat.estate.spec
    if name not in cat.clusters:
        known = ", ".join(sorted(cat.clusters)) or "none"
        raise UserInputError.single(cat.file, f"no cluster {name!r} in the catalogue (clusters: {known})", "spec.clusters")
    cluster = cat.clusters[name]
    site = cat.sites[cluster.site]
    common = Common(cat.name, cluster.name, site.name, site.data_domain, spec.registry, cluster.kubernetes_version, simulated_nodes)
    problems = []
    reserved = {cv.NS_AUDIT, cv.NS_MONITORING, cv.NS_CDN, cv.NS_GATEWAY}

    placed = {s.name: s for s in spec.services if name in s.clusters}
    services: list[ServiceArgs] = []
    cross: list[str] = []
    for index, svc in enumerate(spec.services):
        if svc.name not in placed:
            continue
        path = ("spec", "services", index)
        if svc.image is None:
            problems.append(cat.source.problem(path, f"service {svc.name!r} runs on cluster {name!r} but has no image"))
            continue
        if svc.name in reserved or svc.name.startswith("kube-"):
            problems.append(cat.source.problem(path + ("name",), f"{svc.name!r} is a reserved namespace name"))
            continue
        peers = []
        for target in svc.talks_to:
            if target in placed:
                peers.append(Peer(target, target, placed[target].port))
            else:
                cross.append(f"{svc.name}->{target}")
        r = svc.resources
        services.append(
            ServiceArgs(
                name=svc.name, namespace=svc.name, image=svc.image, replicas=svc.replicas, port=svc.port,
                classification=svc.data_classification, level=svc.level,
                resources=Resources(r.cpu, r.memory, r.cpu_limit, r.memory_limit), talks_to=tuple(peers),
            )
        )
    if problems:
        raise UserInputError(problems)

    members = cat.members(cluster.control_plane or cluster.nodes)
    site_mgmt = _prefix(alloc, site.name, "management")
    api_sources = tuple(sorted({f"{alloc.host(h.name)['management']}/32" for h in members if alloc.host(h.name).get("management")})) or (
        (site_mgmt,) if site_mgmt else tuple(spec.management_cidrs)
    )
    mgmt = tuple(spec.management_cidrs)

    audit = None
    if cluster.audit_log.enabled and spec.audit.log_store is not None:
        store = spec.audit.log_store
        audit = AuditShippingArgs(
            log_host=store.host, log_port=store.port, tls=store.tls,
            retention_days=cluster.audit_log.retention_days or spec.audit.retention_days,
            sources=api_sources, destinations=_cidrs_for(store.host, mgmt),
        )
    edge = EdgeClusterArgs(common=common, services=tuple(services), audit=audit, api_sources=api_sources, cross_cluster_calls=tuple(cross))

    # CDN: the cluster hosts the cache tier when its site has CDN nodes.
    cdn_hosts = [h for h in cat.hosts_by_site.get(site.name, []) if h.has("cdn_node")]
    cdn = None
    if cdn_hosts:
        origins = []
        for o in spec.cdn.origins:
            host, port = _split_host_port(o.url, 443)
            origin_prefix = _prefix(alloc, o.site, "service") if o.site else None
            cidrs = _cidrs_for(host, (origin_prefix,) if origin_prefix else mgmt)
            origins.append(Origin(o.name, urlparse(o.url).scheme, host, port, cidrs))
        cdn = CdnCacheArgs(
            common=common, origins=tuple(origins),
            rules=tuple(CacheRule(r.path_prefix, r.ttl_seconds) for r in spec.cdn.rules),
            cache_size_gb=spec.cdn.cache_size_gb, memory_cache_mb=spec.cdn.memory_cache_mb,
            stale_if_error_seconds=spec.cdn.stale_if_error_seconds, cdn_nodes=len(cdn_hosts),
        )

    # Zero trust: the gateways of this cluster's site run in-cluster for the apps they front.
    domain_sites = [s.name for s in spec.sites if s.data_domain == site.data_domain]
    domain_service = tuple(p for p in (_prefix(alloc, s, "service") for s in domain_sites) if p)
    gateways = []
    for gw in spec.gateways:
        if gw.site != site.name:
            continue
        apps = []
        for app in spec.apps:
            if app.gateway != gw.name:
                continue
            allowed = set(app.allow)
            principals = tuple(sorted(i.name for i in spec.identities if i.name in allowed or allowed & set(i.groups)))
            host, port = _split_host_port(app.upstream, 443)
            apps.append(AppPolicy(app.name, host, port, principals))
        upstream = sorted({c for a in apps for c in _cidrs_for(a.upstream_host, domain_service or mgmt)})
        gateways.append(
            GatewayArgs(common=common, gateway=gw.name, listen_port=gw.listen_port, min_tls=gw.min_tls,
                        default_deny=gw.default_deny, apps=tuple(apps), upstream_cidrs=tuple(upstream))
        )

    nodes = cat.members(cluster.nodes)
    every_node = {h.name for h in nodes} | {h.name for h in members} | {h.name for h in cdn_hosts}
    monitoring = MonitoringArgs(common=common, scrape_cidrs=mgmt, api_sources=api_sources,
                                services=tuple(s.name for s in services), nodes=len(every_node)) if cluster.monitoring else None
    return ClusterSpec(edge=edge, cdn=cdn, gateways=tuple(gateways), monitoring=monitoring,
                       hosts={"controlPlane": len(members), "nodes": len(nodes), "cdnNodes": len(cdn_hosts)})
