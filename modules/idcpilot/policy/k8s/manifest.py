"""The manifest model the K8S-* rules read: one Kubernetes object, the cluster it is for, the
namespace it lands in, and where it was written.

A namespaced object without ``metadata.namespace`` lands in its cluster's default namespace
(``default``, unless the plan's Kubernetes provider sets another), and the rules judge it there:
leaving the namespace out never moves an object out of a rule's sight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterator

from idcpilot.policy.k8s.pods import PodSpec, pod_specs
from idcpilot.redaction import PULUMI_SIG_KEY, REDACTED
from idcpilot.yamlsource import PathKey, SourceMap

#: Where a namespaced object without metadata.namespace lands when nothing says otherwise.
DEFAULT_NAMESPACE = "default"

#: Built-in kinds that belong to no namespace (everything else, custom resources included, is
#: taken as namespaced: a namespace-less one lands in the default namespace).
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment",
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "APIService", "PriorityClass",
    "RuntimeClass", "IngressClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration",
    "ComponentStatus", "PodSecurityPolicy", "TokenReview", "SelfSubjectReview", "SelfSubjectAccessReview",
    "SelfSubjectRulesReview", "SubjectAccessReview", "ClusterTrustBundle", "DeviceClass", "ResourceSlice",
    "IPAddress", "ServiceCIDR", "StorageVersion", "StorageVersionMigration", "VolumeAttributesClass",
})



def _meta(body: dict[str, Any]) -> dict[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, dict) else {}


@dataclass
class Manifest:
    cluster: str
    body: dict[str, Any]
    file: str | None = None
    smap: SourceMap | None = None
    #: reads the positions only when a finding needs them (files are parsed fast without them)
    loader: Callable[[], SourceMap] | None = None
    #: the namespace a namespaced object without metadata.namespace lands in
    default_namespace: str = DEFAULT_NAMESPACE

    @property
    def source(self) -> SourceMap | None:
        if self.smap is None and self.loader is not None:
            self.smap = self.loader()
            self.loader = None
        return self.smap

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(_meta(self.body).get("name", "?"))

    @property
    def cluster_scoped(self) -> bool:
        return self.kind in CLUSTER_SCOPED_KINDS

    @property
    def namespace(self) -> str | None:
        """The namespace the object lands in (a Namespace: itself; cluster-scoped kinds: None)."""
        if self.kind == "Namespace":
            return self.name
        if self.cluster_scoped:
            return None
        written = _meta(self.body).get("namespace")
        return str(written) if written not in (None, "") else self.default_namespace

    @property
    def labels(self) -> dict[str, Any]:
        labels = _meta(self.body).get("labels")
        return labels if isinstance(labels, dict) else {}

    @cached_property
    def pods(self) -> list[PodSpec]:
        """Every pod spec the object carries, found by shape (Pod, templates, custom resources)."""
        return pod_specs(self.body)

    def containers(self) -> Iterator[tuple[dict[str, Any], PathKey]]:
        """Every container of every pod spec, with its path in the object."""
        for pod in self.pods:
            yield from pod.containers()

    @property
    def target(self) -> str:
        ns = self.namespace if self.kind != "Namespace" else None
        return "/".join(p for p in ("k8s", self.cluster, ns, self.kind, self.name) if p)


@dataclass
class ManifestSet:
    """All manifests, by cluster, with where each was written when known."""

    items: list[Manifest] = field(default_factory=list)

    @classmethod
    def from_plan(cls, manifests: dict[str, list[dict[str, Any]]],
                  default_namespaces: dict[str, str] | None = None) -> "ManifestSet":
        """Planned manifests per cluster; ``default_namespaces``: per cluster, the namespace the
        stack's Kubernetes provider puts namespace-less objects in, where it sets one."""
        out = cls()
        for cluster, docs in manifests.items():
            ns = (default_namespaces or {}).get(cluster) or DEFAULT_NAMESPACE
            for doc in docs:
                if isinstance(doc, dict) and doc:
                    out.items.append(Manifest(cluster, doc, default_namespace=ns))
        return out

    def clusters(self) -> dict[str, list[Manifest]]:
        out: dict[str, list[Manifest]] = {}
        for m in self.items:
            out.setdefault(m.cluster, []).append(m)
        return out

    def __len__(self) -> int:
        return len(self.items)


def is_plain_secret(value: Any) -> bool:
    """A literal string (not a Pulumi secret) in a place that should hold a secret."""
    if value is None or value == "" or value == REDACTED:
        return False
    if isinstance(value, dict) and PULUMI_SIG_KEY in value:
        return False
    if type(value).__name__ == "Secret" or getattr(value, "is_pulumi_secret", False):  # CrossGuard pack
        return False
    return isinstance(value, (str, int, float))
