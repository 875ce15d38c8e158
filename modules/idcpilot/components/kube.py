"""Pure builders for Kubernetes object fragments (plain dicts in Kubernetes' own field names).

Components pass these to pulumi-kubernetes resources; keeping them pure makes the restricted
security context, resources and NetworkPolicy shapes testable without the Pulumi runtime.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from idcpilot.components import quantity
from idcpilot.components.spec import Resources

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


#: On every object of a stack: the stack owns every field it sets. With server-side apply a field
#: someone changed by hand (``kubectl edit``/``patch``) belongs to that field manager; without this
#: the engine's dry run (``preview``) and ``up`` stop at the conflict, so a refreshed preview cannot
#: list the drift and ``up`` cannot put the control back. With it the preview shows the change and
#: ``up`` restores what the repository says.
PATCH_FORCE = {"pulumi.com/patchForce": "true"}


def metadata(name: str, labels: dict[str, str], namespace: str | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """An object's metadata (every stack object's: see ``PATCH_FORCE``)."""
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["annotations"] = {**(annotations or {}), **PATCH_FORCE}
    return meta


def pod_security_context(uid: int) -> dict[str, Any]:
    """Pod-level settings the Pod Security "restricted" profile requires."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(r: Resources) -> dict[str, Any]:
    return {"requests": {"cpu": r.cpu, "memory": r.memory}, "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit}}


def container(name: str, image: str, r: Resources, ports: Iterable[tuple[str, int]] = (), **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "resources": resources(r),
        "securityContext": container_security_context(),
    }
    port_list = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports]
    if port_list:
        c["ports"] = port_list
    c.update(extra)
    return c


def pod_spec(containers: list[dict[str, Any]], uid: int, service_account: str, automount: bool = False,
             volumes: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": automount,
        "securityContext": pod_security_context(uid),
        "containers": containers,
    }
    if volumes:
        spec["volumes"] = volumes
    spec.update(extra)
    return spec


def quota(workloads: Iterable[tuple[Resources, int]], headroom: int = 2, pods_extra: int = 0) -> dict[str, Any]:
    """ResourceQuota hard limits: the namespace's workloads times ``headroom`` (rolling updates)."""
    req_cpu = req_mem = lim_cpu = lim_mem = Decimal(0)
    pods = 0
    for r, count in workloads:
        req_cpu += quantity.parse(r.cpu) * count
        req_mem += quantity.parse(r.memory) * count
        lim_cpu += quantity.parse(r.cpu_limit) * count
        lim_mem += quantity.parse(r.memory_limit) * count
        pods += count
    return {
        "requests.cpu": quantity.cpu(req_cpu * headroom),
        "requests.memory": quantity.memory(req_mem * headroom),
        "limits.cpu": quantity.cpu(lim_cpu * headroom),
        "limits.memory": quantity.memory(lim_mem * headroom),
        "pods": str(max(pods * headroom + pods_extra, 1)),
    }


def limit_range(defaults: Resources, largest: Resources) -> dict[str, Any]:
    """Defaults for containers that forget theirs, and a ceiling per container."""
    return {
        "limits": [
            {
                "type": "Container",
                "default": {"cpu": defaults.cpu_limit, "memory": defaults.memory_limit},
                "defaultRequest": {"cpu": defaults.cpu, "memory": defaults.memory},
                "max": {"cpu": largest.cpu_limit, "memory": largest.memory_limit},
            }
        ]
    }


def largest(items: Iterable[Resources]) -> Resources:
    items = list(items)
    def top(attr: str) -> str:
        return max((getattr(r, attr) for r in items), key=quantity.parse)
    return Resources(top("cpu"), top("memory"), top("cpu_limit"), top("memory_limit"))


# ---------------------------------------------------------------- NetworkPolicy specs


def deny_all() -> dict[str, Any]:
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def allow_dns() -> dict[str, Any]:
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": DNS_PORTS,
            }
        ],
    }


def tcp(ports: Iterable[int]) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in sorted(set(ports))]


def ip_peers(cidrs: Iterable[str]) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": c}} for c in sorted(set(cidrs))]


def ns_peer(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def allow_ingress(selector: dict[str, str], peers: list[dict[str, Any]], ports: Iterable[int]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": selector} if selector else {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": tcp(ports)}]}


def allow_egress(selector: dict[str, str], peers: list[dict[str, Any]], ports: Iterable[int]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": selector} if selector else {}, "policyTypes": ["Egress"],
            "egress": [{"to": peers, "ports": tcp(ports)}]}
