"""A managed namespace: labels, Pod Security "restricted", default deny, DNS, quota and limits.

Every namespace a component creates goes through ``managed_namespace`` so that K8S-LABELS,
K8S-PSA and K8S-NETPOL hold by construction; workloads then add explicit allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pulumi

from idcpilot.components import conventions as cv
from idcpilot.components import kube
from idcpilot.components import kube_objects as objects
from idcpilot.components.spec import Resources


@dataclass
class ManagedNamespace:
    name: str
    resource: objects.Namespace
    labels: dict[str, str]

    def opts(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a resource inside this namespace: child of ``parent``, after the namespace."""
        return pulumi.ResourceOptions(parent=parent, depends_on=[self.resource])


def managed_namespace(
    parent: pulumi.Resource,
    name: str,
    labels: dict[str, str],
    workloads: Iterable[tuple[Resources, int]],
    defaults: Resources,
    pods_extra: int = 0,
) -> ManagedNamespace:
    workloads = list(workloads)
    ns_labels = {**labels, **cv.psa_labels()}
    ns = objects.Namespace(
        f"{name}",
        metadata=kube.metadata(name, ns_labels),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    managed = ManagedNamespace(name, ns, labels)
    netpol(parent, managed, "default-deny", kube.deny_all())
    netpol(parent, managed, "allow-dns", kube.allow_dns())
    objects.ResourceQuota(
        f"{name}-quota",
        metadata=kube.metadata("quota", labels, name),
        spec={"hard": kube.quota(workloads, pods_extra=pods_extra)},
        opts=managed.opts(parent),
    )
    objects.LimitRange(
        f"{name}-limits",
        metadata=kube.metadata("limits", labels, name),
        spec=kube.limit_range(defaults, kube.largest([defaults] + [r for r, _ in workloads])),
        opts=managed.opts(parent),
    )
    return managed


def netpol(parent: pulumi.Resource, ns: ManagedNamespace, name: str, spec: dict[str, Any]) -> objects.NetworkPolicy:
    return objects.NetworkPolicy(
        f"{ns.name}-{name}",
        metadata=kube.metadata(name, ns.labels, ns.name),
        spec=spec,
        opts=ns.opts(parent),
    )


def service_account(parent: pulumi.Resource, ns: ManagedNamespace, name: str, labels: dict[str, str]) -> objects.ServiceAccount:
    return objects.ServiceAccount(
        f"{ns.name}-{name}-sa",
        metadata=kube.metadata(name, labels, ns.name),
        automount_service_account_token=False,
        opts=ns.opts(parent),
    )
