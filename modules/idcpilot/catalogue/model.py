"""The estate catalogue, format ``idcpilot/v1``: typed model of ``inventories/<env>/estate.yaml``.

Field names in YAML are camelCase (``regionsInScope``); Python attributes are snake_case.
The model checks shapes and types only. Cross-references (a link to an unknown site) are
checked in ``catalogue.references``; whether the estate *meets the pilot spec* is the policy
gate's job, so facts that rules judge (a missing classification, a PUE of 1.6) are allowed
here and reported there with their location.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

NAME_RE = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
Name = Annotated[str, Field(pattern=NAME_RE, description="lower-case DNS label: a-z, 0-9 and '-'")]

Tier = Literal["backbone", "edge", "mobile"]
Role = Literal[
    "baseline",
    "monitoring",
    "bastion",
    "k8s_control_plane",
    "k8s_node",
    "sdwan_edge",
    "cdn_node",
    "zt_gateway",
]
Classification = Literal["general", "important", "core"]
Encryption = Literal["wireguard", "ipsec", "none"]
ServiceLevel = Literal["L1", "L2", "L3", "L4", "L5"]
AddressKind = Literal["management", "service", "overlay", "loopback", "pod", "serviceCidr"]

#: Distributions the roles know, and the Ansible os_family each maps to.
DISTRIBUTIONS: dict[str, str] = {
    "debian": "Debian",
    "ubuntu": "Debian",
    "rhel": "RedHat",
    "rocky": "RedHat",
    "almalinux": "RedHat",
    "centos": "RedHat",
    "openeuler": "RedHat",
    "kylin": "RedHat",
    "anolis": "RedHat",
}
Distribution = Literal["debian", "ubuntu", "rhel", "rocky", "almalinux", "centos", "openeuler", "kylin", "anolis"]


class Model(BaseModel):
    """Strict base: unknown fields are errors, YAML uses camelCase."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=False,
        str_strip_whitespace=True,
    )


# --------------------------------------------------------------------------- metadata


class Metadata(Model):
    name: Name = Field(description="estate name, usually the environment (example, lab, prod)")
    organisation: str | None = Field(None, description="the pilot enterprise")
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


# --------------------------------------------------------------------------- estate-wide


class PoolSpec(Model):
    """An address pool and the prefix length carved from it per site (or per cluster)."""

    cidrs: list[str] = Field(min_length=1, description="supernets this pool allocates from")
    prefix_length: int = Field(ge=8, le=32, description="size of the per-site (per-cluster) prefix")


class Supernets(Model):
    management: PoolSpec
    service: PoolSpec
    overlay: PoolSpec
    loopback: PoolSpec
    pod: PoolSpec = Field(description="per-cluster pod CIDRs")
    service_cidr: PoolSpec = Field(description="per-cluster Kubernetes service CIDRs")


class Automation(Model):
    account: Name = Field("idcops", description="the only account with passwordless sudo (key-only)")
    serial: int | str = Field("25%", description="rolling batch size: a count or a percentage")
    max_fail_percentage: int = Field(10, ge=0, le=100)

    @field_validator("serial")
    @classmethod
    def _serial(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            if value < 1:
                raise ValueError("must be >= 1")
            return value
        if not re.fullmatch(r"([1-9][0-9]?|100)%", value):
            raise ValueError("must be a count or a percentage like '25%'")
        return value


class LogStore(Model):
    host: str = Field(description="central log store (host name or address)")
    port: int = Field(6514, ge=1, le=65535)
    tls: bool = Field(True, description="forward over TLS (RFC 5425)")


class Audit(Model):
    retention_days: int = Field(180, ge=1, description="audit record retention on hosts, gateways and clusters")
    log_store: LogStore | None = None


class PackageMirror(Model):
    """Air-gapped IDCs install from their own mirror; roles take these URLs."""

    apt: str | None = Field(None, description="Debian-family mirror or apt proxy URL")
    yum: str | None = Field(None, description="RedHat-family repository base URL")
    artifacts: str | None = Field(None, description="offline artifact repository (kubelet/kubeadm ...)")


class HostDefaults(Model):
    roles: list[Role] = Field(default_factory=lambda: ["baseline", "monitoring"])
    os: Distribution = "debian"


# --------------------------------------------------------------------------- sites and hosts


class Pue(Model):
    design: float = Field(ge=1.0, description="design PUE of the IDC room")
    measured: float | None = Field(None, ge=1.0, description="latest measured PUE")
    measured_on: dt.date | None = None


class FiveG(Model):
    radius_km: float = Field(gt=0, description="5G private-network coverage radius")


class Bastion(Model):
    host: Name = Field(description="the jump host (a host of the estate with role bastion)")
    two_factor: bool = Field(False, description="administrators log in with two factors")


class HostSpec(Model):
    """A single host (``name``) or a host group (``group`` + ``count`` + ``namePattern``)."""

    name: Name | None = None
    group: Name | None = None
    count: int | None = Field(None, ge=1, le=100_000)
    name_pattern: str | None = Field(None, description="e.g. 'bj-cdn-{index:03d}'; index counts from 1")
    roles: list[Role] | None = Field(None, description="host roles; default spec.hostDefaults.roles")
    os: Distribution | None = None
    automated: bool = Field(True, description="false: still run by hand (counts against PILOT-AUTOOPS)")
    management_address: str | None = Field(None, description="pin a brownfield host's management address")
    ports: list[int] = Field(default_factory=list, description="extra TCP ports this host serves")
    vars: dict[str, Any] = Field(default_factory=dict, description="Ansible host vars")

    @model_validator(mode="after")
    def _single_or_group(self) -> "HostSpec":
        if self.name and self.group:
            raise ValueError("give either name (a single host) or group (a host group), not both")
        if not self.name and not self.group:
            raise ValueError("give name (a single host) or group + count + namePattern (a host group)")
        if self.group:
            if self.count is None or self.name_pattern is None:
                raise ValueError("a host group needs count and namePattern")
            if self.management_address:
                raise ValueError("managementAddress pins a single host, not a group")
            if "{index" not in self.name_pattern:
                raise ValueError("namePattern must contain {index} (e.g. 'bj-cdn-{index:03d}')")
            try:
                sample = self.name_pattern.format(index=1)
            except (ValueError, KeyError, IndexError) as exc:
                raise ValueError(f"namePattern is not a valid pattern: {exc}") from None
            if not re.fullmatch(NAME_RE, sample):
                raise ValueError(f"namePattern gives {sample!r}, not a lower-case DNS label")
        elif self.count is not None or self.name_pattern is not None:
            raise ValueError("count and namePattern belong to host groups (use group, not name)")
        return self

    def host_names(self) -> list[str]:
        if self.name:
            return [self.name]
        assert self.name_pattern is not None and self.count is not None
        return [self.name_pattern.format(index=i) for i in range(1, self.count + 1)]


class Site(Model):
    name: Name
    tier: Tier
    region: Name
    data_domain: Name
    site_class: str | None = Field(None, description="threshold class, e.g. 'national-hub' (policy overrides)")
    provider: Name = Field("own-idc", description="who runs the room: own-idc or a cloud provider")
    pue: Pue
    five_g: FiveG | None = None
    bastion: Bastion | None = None
    prefixes: dict[AddressKind, str] = Field(default_factory=dict, description="pin a site's prefixes (brownfield)")
    hosts: list[HostSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- clusters


class AuditLog(Model):
    enabled: bool = True
    retention_days: int | None = Field(None, ge=1, description="default spec.audit.retentionDays")


class Cluster(Model):
    name: Name
    site: Name
    control_plane: list[Name] = Field(default_factory=list, description="hosts or host groups")
    nodes: list[Name] = Field(min_length=1, description="hosts or host groups")
    kubernetes_version: str = Field(pattern=r"^1\.[0-9]{2}\.[0-9]+$")
    provider: Name | None = Field(None, description="default: the site's provider")
    secrets_encryption: bool = Field(True, description="encrypt Secrets at rest (KMS/aescbc)")
    monitoring: bool = True
    audit_log: AuditLog = Field(default_factory=AuditLog)


# --------------------------------------------------------------------------- SD-WAN


class Link(Model):
    a: Name
    b: Name
    latency_budget_ms: float | None = Field(None, gt=0, description="one-way latency budget")
    encryption: Encryption = "wireguard"


class Sdwan(Model):
    topology: Literal["hub-spoke", "full-mesh"]
    hubs: list[Name] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    listen_port: int = Field(51820, ge=1, le=65535)
    asn: int = Field(64512, ge=1, le=4_294_967_295, description="first private ASN; sites take asn+index")

    @model_validator(mode="after")
    def _hubs(self) -> "Sdwan":
        if self.topology == "hub-spoke" and not self.hubs:
            raise ValueError("a hub-spoke topology needs at least one hub")
        return self


# --------------------------------------------------------------------------- CDN, gateways, apps


class Origin(Model):
    name: Name
    url: str = Field(pattern=r"^https?://")
    site: Name | None = None


class CacheRule(Model):
    path_prefix: str = Field(pattern=r"^/")
    ttl_seconds: int = Field(ge=0)


class Cdn(Model):
    origins: list[Origin] = Field(default_factory=list)
    cache_size_gb: int = Field(50, ge=1)
    memory_cache_mb: int = Field(256, ge=16)
    stale_if_error_seconds: int = Field(86400, ge=0)
    rules: list[CacheRule] = Field(default_factory=list)


class Gateway(Model):
    name: Name
    site: Name
    hosts: list[Name] = Field(min_length=1, description="hosts or host groups with role zt_gateway")
    default_deny: bool = True
    listen_port: int = Field(443, ge=1, le=65535)
    min_tls: Literal["1.0", "1.1", "1.2", "1.3"] = "1.2"
    audit_log: AuditLog = Field(default_factory=AuditLog)


class Identity(Model):
    name: Name
    groups: list[Name] = Field(default_factory=list)


class App(Model):
    name: Name
    gateway: Name | None = Field(None, description="the zero-trust gateway in front of it; none = not protected")
    upstream: str = Field(description="host:port or URL of the application")
    exposed: bool = Field(True, description="reachable from outside its site")
    allow: list[Name] = Field(default_factory=list, description="identities or groups allowed; nothing else is")


class ThreatFeed(Model):
    name: Name
    url: str
    sync_minutes: int = Field(ge=1)
    targets: list[Name] = Field(default_factory=list, description="gateways; empty = every gateway")


# --------------------------------------------------------------------------- data


class DataStore(Model):
    name: Name
    site: Name
    engine: str = "postgresql"
    classification: Classification | None = None
    personal_info: bool = False
    sensitive_personal: bool = False
    encrypted_at_rest: bool = False
    encrypted_in_transit: bool = False
    replicas: list[Name] = Field(default_factory=list, description="sites holding replicas")
    backups: list[Name] = Field(default_factory=list, description="sites receiving backups")
    egress: list[str] = Field(default_factory=list, description="declared flows out: site names or 'internet'")


# --------------------------------------------------------------------------- services and operations


class Resources(Model):
    cpu: str = "250m"
    memory: str = "256Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"


class Service(Model):
    name: Name
    level: ServiceLevel | None = None
    clusters: list[Name] = Field(default_factory=list, description="placement")
    image: str | None = Field(None, description="repository/name:tag under the estate registry")
    replicas: int = Field(2, ge=0)
    port: int = Field(8080, ge=1, le=65535)
    data_classification: Classification = "general"
    data_stores: list[Name] = Field(default_factory=list)
    multi_cloud: bool = Field(False, description="must be schedulable on >= 2 sites/providers")
    resources: Resources = Field(default_factory=Resources)
    talks_to: list[Name] = Field(default_factory=list, description="services it calls (NetworkPolicy allows)")


class SupportChannel(Model):
    name: Name
    kind: str = "chat"
    hours: Literal["24x7", "business"]
    response_seconds: int = Field(ge=1)


class EmergencyPlan(Model):
    owner: str
    escalation: list[str] = Field(default_factory=list)
    target_hours: float = Field(gt=0)


class Emergency(Model):
    blue: EmergencyPlan | None = None
    yellow: EmergencyPlan | None = None
    red: EmergencyPlan | None = None


class Drill(Model):
    name: str
    date: dt.date
    kind: str = "live-fire"


# --------------------------------------------------------------------------- the estate


class EstateSpec(Model):
    regions_in_scope: list[Name] = Field(min_length=1)
    data_domains: dict[Name, list[Name]] = Field(description="data domain -> regions")
    ntp_servers: list[str] = Field(min_length=1)
    registry: str = Field(description="approved private container registry, host[:port]")
    management_cidrs: list[str] = Field(min_length=1)
    supernets: Supernets
    automation: Automation = Field(default_factory=Automation)
    audit: Audit = Field(default_factory=Audit)
    package_mirror: PackageMirror = Field(default_factory=PackageMirror)
    host_defaults: HostDefaults = Field(default_factory=HostDefaults)
    sites: list[Site] = Field(min_length=1)
    clusters: list[Cluster] = Field(default_factory=list)
    sdwan: Sdwan | None = None
    cdn: Cdn = Field(default_factory=Cdn)
    gateways: list[Gateway] = Field(default_factory=list)
    identities: list[Identity] = Field(default_factory=list)
    apps: list[App] = Field(default_factory=list)
    threat_intel: list[ThreatFeed] = Field(default_factory=list)
    data_stores: list[DataStore] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    support: list[SupportChannel] = Field(default_factory=list)
    emergency: Emergency = Field(default_factory=Emergency)
    drills: list[Drill] = Field(default_factory=list)


class Estate(Model):
    api_version: Literal["idcpilot/v1"]
    kind: Literal["Estate"]
    metadata: Metadata
    spec: EstateSpec
