"""Pulumi components for the edge clusters, one ComponentResource per concept.

``idcpilot:edge:Cluster`` (EdgeCluster), ``idcpilot:edge:CdnCache``, ``idcpilot:edge:ZeroTrustGateway``
and ``idcpilot:edge:Monitoring``. Their typed arguments come from ``components.spec.cluster_spec``.
"""

from idcpilot.components.cdn_cache import CdnCache
from idcpilot.components.edge_cluster import EdgeCluster
from idcpilot.components.monitoring import Monitoring
from idcpilot.components.program import build_cluster
from idcpilot.components.spec import ClusterSpec, cluster_spec
from idcpilot.components.zero_trust import ZeroTrustGateway

__all__ = ["CdnCache", "ClusterSpec", "EdgeCluster", "Monitoring", "ZeroTrustGateway", "build_cluster", "cluster_spec"]
