"""Which bundle releases an estate needs: the one answer the CLI and the policy gate share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from idcpilot.bundle import versions as versions_data
from idcpilot.bundle.versions import Release
from idcpilot.errors import excerpt

if TYPE_CHECKING:
    from idcpilot.catalogue.estate import Catalogue
    from idcpilot.errors import Problem


@dataclass(frozen=True)
class ClusterRelease:
    """One cluster of the estate and the bundle release it names (None: the bundle has none)."""

    index: int
    name: str
    version: str
    release: Release | None

    @property
    def path(self) -> tuple[Any, ...]:
        return ("spec", "clusters", self.index, "kubernetesVersion")

    def problem(self) -> str | None:
        if self.release is not None:
            return None
        supported = ", ".join(versions_data.load().supported())
        return f"Kubernetes {excerpt(self.version)} is not in the offline bundle (it provides {supported}; see `idcpilot bundle list`)"


def clusters(cat: "Catalogue") -> list[ClusterRelease]:
    data = versions_data.load()
    return [ClusterRelease(i, c.name, str(c.kubernetes_version), data.release(str(c.kubernetes_version)))
            for i, c in enumerate(cat.estate.spec.clusters)]


def releases(found: list[ClusterRelease]) -> list[Release]:
    """The distinct releases of the clusters that have one, in versions.yaml's order."""
    wanted = {c.release.version for c in found if c.release is not None}
    return [r for r in versions_data.load().kubernetes if r.version in wanted]


def problems(cat: "Catalogue") -> list["Problem"]:
    """One problem (file, line, field) per cluster naming a release the bundle does not provide:
    what ``validate``, ``plan`` and ``bundle build`` refuse (exit 2) and K8S-BUNDLE fails."""
    return [cat.source.problem(c.path, msg) for c in clusters(cat) if (msg := c.problem())]
