"""What the stack program does, as functions: find the cluster in the catalogue, build its parts.

The catalogue and its address plan are loaded once per process and file version, so planning
many stacks in one process (``idcpilot plan --all``) reads the estate once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from idcpilot import catalogue, ipam
from idcpilot.catalogue.estate import Catalogue
from idcpilot.components.cdn_cache import CdnCache
from idcpilot.components.edge_cluster import EdgeCluster
from idcpilot.components.monitoring import Monitoring
from idcpilot.components.spec import ClusterSpec, cluster_spec
from idcpilot.components.zero_trust import ZeroTrustGateway
from idcpilot.errors import UserInputError

_CACHE: dict[tuple[str, int, int], tuple[Catalogue, ipam.Allocation]] = {}


def load_estate(path: str | Path) -> tuple[Catalogue, ipam.Allocation]:
    file = catalogue.estate_file(Path(path))
    try:
        st = file.stat()
    except OSError:
        raise UserInputError.single(file, "estate catalogue not found") from None
    lock = file.with_name(ipam.LOCK_FILE)
    lock_mtime = lock.stat().st_mtime_ns if lock.exists() else 0
    key = (str(file.resolve()), st.st_mtime_ns + lock_mtime, st.st_size)
    if key not in _CACHE:
        cat = catalogue.load(file)
        _CACHE.clear()
        _CACHE[key] = (cat, ipam.plan(cat))
    return _CACHE[key]


def remember(cat: Catalogue, alloc: ipam.Allocation) -> None:
    """Let a caller that already holds the catalogue (the planner) hand it to the program."""
    file = Path(cat.file)
    st = file.stat()
    lock = file.with_name(ipam.LOCK_FILE)
    lock_mtime = lock.stat().st_mtime_ns if lock.exists() else 0
    _CACHE.clear()
    _CACHE[(str(file.resolve()), st.st_mtime_ns + lock_mtime, st.st_size)] = (cat, alloc)


def load_cluster_spec(project_root: Path, catalogue_path: str, estate: str, cluster: str, simulated_nodes: bool = False) -> ClusterSpec:
    path = Path(catalogue_path)
    if not path.is_absolute():
        path = project_root / path
    cat, alloc = load_estate(path)
    if cat.name != estate:
        raise UserInputError.single(cat.file, f"stack config names estate {estate!r} but the catalogue is {cat.name!r}", "metadata.name")
    return cluster_spec(cat, alloc, cluster, simulated_nodes)


@dataclass
class ClusterParts:
    edge: EdgeCluster
    cdn: CdnCache | None
    gateways: list[ZeroTrustGateway]
    monitoring: Monitoring | None

    def outputs(self) -> dict[str, Any]:
        return {
            "namespaces": sorted(self.edge.namespaces),
            "auditWebhook": self.edge.audit_webhook,
            "cdnCache": self.cdn is not None,
            "gateways": {g._name: g.ca_cert_pem for g in self.gateways},
            "monitoring": self.monitoring is not None,
        }


def build_cluster(spec: ClusterSpec, provider: pulumi.ProviderResource) -> ClusterParts:
    """Instantiate every component for one cluster, all through ``provider``."""
    name = spec.edge.common.cluster
    opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
    edge = EdgeCluster(name, spec.edge, opts)
    after = pulumi.ResourceOptions(providers={"kubernetes": provider})  # independent of each other
    cdn = CdnCache(f"{name}-cdn", spec.cdn, after) if spec.cdn else None
    gateways = [ZeroTrustGateway(g.gateway, g, after) for g in spec.gateways]
    monitoring = Monitoring(f"{name}-monitoring", spec.monitoring, after) if spec.monitoring else None
    return ClusterParts(edge, cdn, gateways, monitoring)


def kubernetes_provider(name: str, kubeconfig: pulumi.Input[str], context: str | None = None) -> k8s.Provider:
    """The cluster's provider, from the stack's secret kubeconfig; never the ambient ~/.kube/config."""
    return k8s.Provider(
        name,
        kubeconfig=kubeconfig,
        context=context,
        enable_server_side_apply=True,
        delete_unreachable=False,
    )
