"""Kubernetes manifests for the K8S-* rules, one job per module:

- ``manifest``: the model (a manifest, its cluster, the namespace it lands in; a set by cluster);
- ``pods``: the pod specs an object carries, found by shape;
- ``files``: reading ``--manifests DIR`` (every document, or exit 2);
- ``schema``: strict schema checks against the cluster's Kubernetes version (``idcpilot.k8sschema``).

Manifests come as ``dict[cluster, list[manifest]]`` (``idcpilot.plan.plan_estate(cat).manifests``)
or from YAML files (``idcpilot check --manifests DIR``).
"""

from idcpilot.policy.k8s.files import load_documents, load_manifest_dir
from idcpilot.policy.k8s.manifest import (
    DEFAULT_NAMESPACE,
    Manifest,
    ManifestSet,
    is_plain_secret,
)
from idcpilot.policy.k8s.pods import PodSpec, pod_specs
from idcpilot.policy.k8s.schema import schema_problems

__all__ = [
    "DEFAULT_NAMESPACE", "Manifest", "ManifestSet", "PodSpec",
    "is_plain_secret", "load_documents", "load_manifest_dir", "pod_specs", "schema_problems",
]
