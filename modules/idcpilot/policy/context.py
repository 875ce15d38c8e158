"""What rules read: the catalogue, the host variables, planned manifests and thresholds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idcpilot.catalogue.estate import Catalogue
from idcpilot.catalogue.load import display_name
from idcpilot.policy.k8s import Manifest, ManifestSet
from idcpilot.policy.model import Location, Outcome
from idcpilot.policy.thresholds import Thresholds
from idcpilot.policy.vault import Vault
from idcpilot.yamlsource import PathKey

if TYPE_CHECKING:  # the inventory and group_vars machinery, imported by the rules that read host variables
    from idcpilot.policy.hostvars import HostVars


@dataclass
class Context:
    cat: Catalogue
    thresholds: Thresholds
    manifests: ManifestSet | None = None
    #: why there are no manifests (planning skipped / not available)
    manifests_note: str = "no planned Kubernetes manifests"
    today: dt.date = field(default_factory=dt.date.today)
    #: the vault secrets deploy is given, to read encrypted group_vars / host_vars
    vault: Vault = field(default_factory=Vault)
    #: the directory of the playbook deploy runs (its group_vars/ and host_vars/ reach the hosts too)
    playbook_dir: Path | None = None
    #: ansible-playbook -e values deploy passes (the highest precedence)
    extra_vars: tuple[str, ...] = ()

    @property
    def spec(self) -> Any:
        return self.cat.estate.spec

    @cached_property
    def hostvars(self) -> HostVars:
        from idcpilot.policy.hostvars import HostVars

        return HostVars(self.cat, vault=self.vault, playbook_dir=self.playbook_dir, extra_vars=self.extra_vars)

    @cached_property
    def _file(self) -> str:
        return display_name(self.cat.file)

    # ---------------------------------------------------------------- locations

    def location(self, path: PathKey) -> Location:
        line, col = self.cat.source.locate(path)
        return Location(self._file, line, col)

    def named(self, collection: str, name: str, *rest: str | int) -> Location:
        """Location of spec.<collection>[name].<rest...>."""
        return self.location(self.cat.path_of(collection, name) + tuple(rest))

    def manifest_location(self, m: Manifest, path: PathKey = ()) -> Location:
        """Where a manifest field was written; for planned manifests, the catalogue entry behind it."""
        if m.source is not None:
            line, col = m.source.locate(path)
            return Location(m.source.file, line, col)
        labels = m.labels
        for key in ("app.kubernetes.io/name", "idcpilot.io/service", "app"):
            name = labels.get(key)
            if name and any(s.name == name for s in self.spec.services):
                return self.named("services", name)
        if m.namespace and any(s.name == m.namespace for s in self.spec.services):
            return self.named("services", m.namespace)
        if m.cluster in self.cat.clusters:
            return self.named("clusters", m.cluster)
        return self.location(("spec", "clusters"))

    # ---------------------------------------------------------------- outcomes

    def ok(self, target: str, message: str, path: PathKey | Location | None = None) -> Outcome:
        return Outcome("pass", target, message, self._loc(path))

    def fail(self, target: str, message: str, path: PathKey | Location | None = None) -> Outcome:
        return Outcome("fail", target, message, self._loc(path))

    def na(self, target: str, message: str) -> Outcome:
        return Outcome("not-applicable", target, message, None)

    def _loc(self, path: PathKey | Location | None) -> Location | None:
        if path is None:
            return None
        if isinstance(path, Location):
            return path
        return self.location(path)

    @property
    def estate_target(self) -> str:
        return f"estate/{self.cat.name}"
