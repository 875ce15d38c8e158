"""What the K8S-* rules share: their settings, their result type, and running them on a context.

A K8S rule declares ``check_manifests(manifests, env)`` yielding ``K8sResult`` for a list of
manifests of one cluster. The CLI (``check(ctx)`` via ``run``) and the CrossGuard pack
(``idcpilot.policy.crossguard``) both call it, so ``pulumi preview`` and ``idcpilot check`` agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from idcpilot.policy.k8s import Manifest
from idcpilot.policy.model import Outcome
from idcpilot.yamlsource import PathKey


@dataclass(frozen=True)
class K8sEnv:
    registry: str | None
    system_namespaces: frozenset[str]
    psa_level: str
    label_classification: str
    label_domain: str
    classifications: tuple[str, ...]
    domains: frozenset[str] = field(default_factory=frozenset)
    secret_key: re.Pattern[str] = re.compile(r"(?i)password|secret|token")

    @classmethod
    def from_thresholds(cls, thresholds: Any, registry: str | None, domains: Iterable[str] = ()) -> "K8sEnv":
        return cls(
            registry=registry,
            system_namespaces=frozenset(thresholds.get("k8s.systemNamespaces")),
            psa_level=thresholds.get("k8s.podSecurityLevel"),
            label_classification=thresholds.get("k8s.labels.classification"),
            label_domain=thresholds.get("k8s.labels.domain"),
            classifications=tuple(thresholds.get("data.classifications")),
            domains=frozenset(domains),
            secret_key=re.compile(thresholds.get("k8s.secretKeyPattern")),
        )

    @classmethod
    def from_context(cls, ctx: Any) -> "K8sEnv":
        return cls.from_thresholds(ctx.thresholds, ctx.spec.registry, ctx.spec.data_domains.keys())


@dataclass(frozen=True)
class K8sResult:
    manifest: Manifest
    ok: bool
    message: str
    path: PathKey = ()


CheckManifests = Callable[[list[Manifest], K8sEnv], Iterable[K8sResult]]


def run(ctx: Any, check_manifests: CheckManifests, what: str) -> Iterator[Outcome]:
    """Outcomes of a K8S rule over every cluster's planned manifests."""
    if ctx.manifests is None:
        yield ctx.na(ctx.estate_target, ctx.manifests_note)
        return
    env = K8sEnv.from_context(ctx)
    clusters = ctx.manifests.clusters()
    if not clusters:
        yield ctx.na(ctx.estate_target, "no planned Kubernetes manifests")
        return
    for cluster in sorted(set(ctx.cat.clusters) - set(clusters)):  # --manifests DIR for some clusters only
        yield ctx.na(f"cluster/{cluster}", f"no manifests given for this cluster; its {what} were not checked")
    for cluster, items in sorted(clusters.items()):
        checked = failed = 0
        for r in check_manifests(items, env):
            checked += 1
            if not r.ok:
                failed += 1
                yield ctx.fail(r.manifest.target, r.message, ctx.manifest_location(r.manifest, r.path))
        if checked == 0:
            yield ctx.na(f"cluster/{cluster}", f"no {what} in the planned manifests")
        elif not failed:
            loc = ctx.named("clusters", cluster) if cluster in ctx.cat.clusters else None
            yield ctx.ok(f"cluster/{cluster}", f"{checked} {what} checked, all compliant", loc)
