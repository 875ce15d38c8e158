"""Names, labels and images every component and the K8S-* policy rules agree on.

The policy rules read planned manifests; they find a namespace's data classification
and data domain under the label keys below. Third-party images are named by repository and tag
here and always pulled through the estate's private registry (K8S-REGISTRY).
"""

from __future__ import annotations

#: Label keys on every namespace and workload (K8S-LABELS).
LABEL_CLASSIFICATION = "idcpilot.io/data-classification"
LABEL_DOMAIN = "idcpilot.io/data-domain"
LABEL_ESTATE = "idcpilot.io/estate"
LABEL_CLUSTER = "idcpilot.io/cluster"
LABEL_COMPONENT = "idcpilot.io/component"
LABEL_SERVICE_LEVEL = "idcpilot.io/service-level"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_PART_OF = "app.kubernetes.io/part-of"

#: Node label and taint that mark CDN nodes joined to a cluster (set by the k8s_node role).
CDN_NODE_LABEL = "idcpilot.io/cdn-node"

#: Pod Security Admission: enforce, audit and warn at "restricted" (K8S-PSA).
PSA_LEVEL = "restricted"
PSA_VERSION = "latest"


def psa_labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = PSA_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = PSA_VERSION
    return labels


#: Namespaces the platform components own (one concept each).
NS_AUDIT = "idcpilot-audit"
NS_MONITORING = "idcpilot-monitoring"
NS_CDN = "idcpilot-cdn"
NS_GATEWAY = "idcpilot-zt"

#: Groups (from the estate's identities) bound to the three separated roles (MLPS3-ACCESS-ROLES).
ROLE_GROUPS: dict[str, str] = {
    "administrator": "admins",
    "auditor": "auditors",
    "security-officer": "security-officers",
}

#: Third-party images: repository path and tag under the estate registry.
IMAGES: dict[str, str] = {
    "fluent-bit": "fluent/fluent-bit:3.1.9",
    "node-exporter": "prometheus/node-exporter:v1.8.2",
    "kube-state-metrics": "kube-state-metrics/kube-state-metrics:v2.13.0",
    "cache": "nginxinc/nginx-unprivileged:1.27.2",
    # The zero-trust gateway: nginx from Debian 12's nginx-light package (1.22.1-9+deb12u*), built
    # offline by the project like every image of an air-gapped estate (Envoy cannot be).
    "gateway": "idcpilot/zt-gateway:nginx-1.22.1-deb12",
}


def image(registry: str, key: str) -> str:
    """A third-party image pulled through the estate registry, never from the internet."""
    return f"{registry.rstrip('/')}/{IMAGES[key]}"
