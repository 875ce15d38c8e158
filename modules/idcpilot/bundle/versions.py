"""The bundle's versions data (versions.yaml beside this module), typed: what releases idcpilot
builds and how. The one place the policy gate, the CLI and the builder learn which Kubernetes
releases the offline bundle provides."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from idcpilot.yamlsource import load_yaml_file

VERSIONS_FILE = Path(__file__).with_name("versions.yaml")

#: A release as the data writes it: major.minor.patch, no leading "v".
_RELEASE = re.compile(r"^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$")
#: A Go import path (module or package) as versions.yaml may name it.
_GO_PATH = re.compile(r"^[a-z0-9.-]+(/[A-Za-z0-9._~-]+)+$")
_FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def parse_release(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of "1.37.2" or "v1.37.2"; None for anything else."""
    m = _RELEASE.match(version[1:] if version.startswith("v") else version)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


class Release(_Strict):
    """One supported Kubernetes release and the versions of the components built beside it."""

    version: str
    etcd: str
    cri_tools: str = Field(alias="cri-tools")
    kwok: str

    @field_validator("version", "etcd", "cri_tools", "kwok")
    @classmethod
    def _release(cls, value: str) -> str:
        if parse_release(value) is None or value.startswith("v"):
            raise ValueError(f"{value!r} is not major.minor.patch")
        return value

    def component_versions(self) -> dict[str, str]:
        """component name (as in ``components``) -> its version for this release."""
        return {"kubernetes": self.version, "etcd": self.etcd, "cri-tools": self.cri_tools, "kwok": self.kwok}


class Component(_Strict):
    """How one component is built (see versions.yaml)."""

    modules: list[str] = Field(min_length=1)
    staging_pins: bool = Field(False, alias="stagingPins")
    binaries: dict[str, str] = Field(min_length=1)
    ldflags: list[str] = []
    layout: str

    @field_validator("modules")
    @classmethod
    def _modules(cls, value: list[str]) -> list[str]:
        for v in value:
            if not _GO_PATH.match(v):
                raise ValueError(f"{v!r} is not a Go module path")
        return value

    @field_validator("binaries")
    @classmethod
    def _binaries(cls, value: dict[str, str]) -> dict[str, str]:
        for name, package in value.items():
            if not _FILE_NAME.match(name) or not _GO_PATH.match(package):
                raise ValueError(f"{name!r}: {package!r} is not a file name and a Go package")
        return value


#: A module version as go.mod writes it: v1.2.3, v1.2.3-rc.1, or a pseudo-version.
_MODULE_VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")
#: A main package inside the wrapper module itself (``./cmd/<name>``).
_LOCAL_PACKAGE = re.compile(r"^\./cmd/[a-z0-9][a-z0-9._-]{0,62}$")


class PluginName(_Strict):
    """How a built binary is registered with ``pulumi plugin install <kind> <name> <version> --file``."""

    kind: str = Field(pattern=r"^(resource|analyzer|language)$")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")


class EngineComponent(_Strict):
    """One part of the Pulumi engine (versions.yaml ``pulumi:``), built into the bundle cache."""

    version: str
    modules: dict[str, str] = Field(min_length=1)
    upstream: Optional[str] = None
    replaces: dict[str, str] = {}
    source: str = Field(pattern=r"^(module|langhost|kubernetes-provider)$")
    binaries: dict[str, str] = Field(min_length=1)
    ldflags: list[str] = []
    scripts: dict[str, str] = {}
    plugin: Optional[PluginName] = None

    @field_validator("version")
    @classmethod
    def _release(cls, value: str) -> str:
        if parse_release(value) is None or value.startswith("v"):
            raise ValueError(f"{value!r} is not major.minor.patch")
        return value

    @field_validator("modules", "replaces")
    @classmethod
    def _modules(cls, value: dict[str, str]) -> dict[str, str]:
        for module, version in value.items():
            if not _GO_PATH.match(module) or not _MODULE_VERSION.match(version):
                raise ValueError(f"{module!r}: {version!r} is not a Go module path and version")
        return value

    @property
    def upstream_module(self) -> str:
        """The module whose go.mod gives the wrapper its go line, godebug and replaces by
        published modules (``upstream``, else the first of ``modules``)."""
        return self.upstream or next(iter(self.modules))

    @field_validator("binaries")
    @classmethod
    def _binaries(cls, value: dict[str, str]) -> dict[str, str]:
        for name, package in value.items():
            remote = _GO_PATH.match(package) and not package.startswith(".")
            if not _FILE_NAME.match(name) or not (remote or _LOCAL_PACKAGE.match(package)):
                raise ValueError(f"{name!r}: {package!r} is not a file name and a Go package")
        return value

    @field_validator("scripts")
    @classmethod
    def _scripts(cls, value: dict[str, str]) -> dict[str, str]:
        for name, origin in value.items():
            module, _, path = origin.partition(":")
            ok = origin.startswith("generated:") or (_GO_PATH.match(module) and path and ".." not in path.split("/"))
            if not _FILE_NAME.match(name) or not ok:
                raise ValueError(f"{name!r}: {origin!r} is not `<module>:<path in its zip>` or `generated:<what>`")
        return value


class RoleVar(_Strict):
    """A variable read from a role's own file (the roles stay the one source of what they install)."""

    file: str
    variable: str


class Debian(_Strict):
    from_role_vars: list[RoleVar] = Field([], alias="fromRoleVars")
    packages: list[str] = []


class Image(_Strict):
    name: str
    from_role_vars: RoleVar = Field(alias="fromRoleVars")
    bundled: bool
    reason: Optional[str] = None


class Versions(_Strict):
    build_date: str = Field(alias="buildDate", pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    arch: str = Field(pattern=r"^(amd64|arm64)$")
    go_flags: list[str] = Field(alias="goFlags")
    go_ldflags: list[str] = Field(alias="goLdflags")
    kubernetes: list[Release] = Field(min_length=1)
    components: dict[str, Component]
    debian: Debian
    images: list[Image] = []
    pulumi: dict[str, EngineComponent] = {}

    def release(self, version: str) -> Release | None:
        """The supported release a cluster's kubernetesVersion names ("1.37.2" or "v1.37.2")."""
        wanted = version[1:] if version.startswith("v") else version
        return next((r for r in self.kubernetes if r.version == wanted), None)

    def supported(self) -> list[str]:
        return [r.version for r in self.kubernetes]


@lru_cache(maxsize=4)
def load(file: Path = VERSIONS_FILE) -> Versions:
    """versions.yaml, validated (a broken data file is a bug in idcpilot, not the user's input)."""
    data, _ = load_yaml_file(file)
    versions = Versions.model_validate(data)
    for release in versions.kubernetes:
        missing = set(release.component_versions()) - set(versions.components)
        if missing:
            raise ValueError(f"{file}: release {release.version} names components without a build recipe: {sorted(missing)}")
    return versions


def provides(version: str) -> bool:
    """Whether the offline bundle provides this Kubernetes release (the gate's question)."""
    return load().release(str(version)) is not None
