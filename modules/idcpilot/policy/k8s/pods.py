"""Finding the pods an object will run, by shape rather than by kind.

A Pod's ``spec``, a Deployment's ``spec.template.spec``, a CronJob's
``spec.jobTemplate.spec.template.spec``, an Argo Rollout's or any other custom resource's pod
template: every mapping that holds a ``containers`` list is a pod spec, wherever it sits in the
object. Kinds the rules were not written for are therefore judged like the built-in ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from idcpilot.yamlsource import PathKey

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class PodSpec:
    spec: dict[str, Any]
    #: where the spec sits in the object (("spec",) for a Pod, ("spec", "template", "spec") ...)
    path: PathKey
    #: the pod's metadata (a Pod's own, a template's), {} when there is none
    metadata: dict[str, Any]

    def containers(self) -> Iterator[tuple[dict[str, Any], PathKey]]:
        """Every container (init, regular, ephemeral) with its path in the object."""
        for key in CONTAINER_LISTS:
            items = self.spec.get(key)
            if isinstance(items, list):
                for i, c in enumerate(items):
                    if isinstance(c, dict):
                        yield c, self.path + (key, i)

    def volumes(self) -> Iterator[tuple[dict[str, Any], PathKey]]:
        items = self.spec.get("volumes")
        if isinstance(items, list):
            for i, v in enumerate(items):
                if isinstance(v, dict):
                    yield v, self.path + ("volumes", i)


def is_pod_spec(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("containers"), list)


def pod_specs(body: dict[str, Any]) -> list[PodSpec]:
    """Every pod spec in the object, outermost first (a pod spec's own fields are not searched)."""
    out: list[PodSpec] = []
    # (node, path, the mapping holding it): iterative, so that deep nesting cannot exhaust the stack
    todo: list[tuple[Any, PathKey, Any]] = [(v, (k,), body) for k, v in body.items() if k != "metadata"]
    todo.reverse()
    while todo:
        node, path, parent = todo.pop()
        if is_pod_spec(node):
            meta = parent.get("metadata") if isinstance(parent, dict) else None
            if parent is body:  # a Pod: the object's own metadata
                meta = body.get("metadata")
            out.append(PodSpec(node, path, meta if isinstance(meta, dict) else {}))
        elif isinstance(node, dict):
            todo.extend(reversed([(v, path + (k,), node) for k, v in node.items()]))
        elif isinstance(node, list):
            todo.extend(reversed([(v, path + (i,), parent) for i, v in enumerate(node)]))
    return out
