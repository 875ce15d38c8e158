"""The estate catalogue, format ``idcpilot/v1``: typed model of ``inventories/<env>/estate.yaml``.

Field names in YAML are camelCase (``regionsInScope``); Python attributes are snake_case.
The model checks shapes and types only. Cross-references (a link to an unknown site) are
checked in ``catalogue.references``; whether the estate *meets the pilot spec* is the policy
gate's job, so facts that rules judge (a missing classification, a PUE of 1.6) are allowed
here and reported there with their location.

An estate is untrusted input: every string has the narrowest type of ``catalogue.types``,
numbers are strict (``false`` is not 0, ``1e30`` is not an integer) and bounded, and a section
written as ``null`` means the same as leaving it out.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Callable, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from idcpilot.catalogue import role_variables
from idcpilot.catalogue.types import (
    ESTATE_NAME_MAX,
    GATEWAY_NAME_MAX,
    HOST_NAME,
    LABEL,
    X509_COMMON_NAME_MAX,
    CpuQuantity,
    Date,
    Description,
    Dns1035Label,
    DnsLabel,
    EstateName,
    FreeLine,
    GatewayName,
    HostName,
    HostOrAddress,
    HttpOrigin,
    HttpUrl,
    ImageRef,
    IPv4Address,
    IPv4Prefix,
    LabelKey,
    LabelValue,
    LocalFile,
    MemoryQuantity,
    NamePattern,
    PathPrefix,
    Registry,
    Upstream,
    anchored,
    expand_name_pattern,
    expand_name_pattern_range,
)
from idcpilot.errors import excerpt

NAME_RE = anchored(LABEL)
Name = DnsLabel

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

Port = Annotated[int, Field(ge=1, le=65535)]

_PERCENT = re.compile(r"(?:[1-9][0-9]?|100)%")

#: Upper bounds for counts and durations: generous for any real estate, small enough that a
#: typo (or 1e30) is caught here and not planned into a manifest.
DAYS_MAX = 3650  # ten years
SECONDS_MAX = 31_536_000  # one year
REPLICAS_MAX = 1000


def _nullable_defaults(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """In the JSON Schema, a field with a default also takes null (null means "not given")."""
    props = schema.get("properties", {})
    for name, info in cls.model_fields.items():
        prop = props.get(info.alias or name)
        if prop is None or info.is_required() or info.default is None:
            continue
        if _allows_null(prop):
            continue
        keep = {k: prop.pop(k) for k in ("default", "description", "title") if k in prop}
        inner = dict(prop)
        prop.clear()
        prop.update({"anyOf": [inner, {"type": "null"}], **keep})


def _schema_with(extra: dict[str, Any]) -> Callable[[dict[str, Any], type[BaseModel]], None]:
    """A model's schema hook: what every model gets, plus the rules its own validator enforces."""

    def hook(schema: dict[str, Any], cls: type[BaseModel]) -> None:
        _nullable_defaults(schema, cls)
        schema.update(extra)

    return hook


def _allows_null(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or any(_allows_null(p) for p in prop.get("anyOf", []))


class Model(BaseModel):
    """Strict base: unknown fields are errors, YAML uses camelCase, no type coercion."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=False,
        strict=True,
        allow_inf_nan=False,
        json_schema_extra=_nullable_defaults,
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        """``cdn: null`` means the same as no ``cdn:`` at all, for every field with a default."""
        if not isinstance(data, dict):
            return data
        drop = []
        for name, info in cls.model_fields.items():
            if info.is_required() or info.default is None:
                continue
            for key in {info.alias or name, name}:
                if key in data and data[key] is None:
                    drop.append(key)
        return {k: v for k, v in data.items() if k not in drop} if drop else data


def _error(message: str, at: tuple[str | int, ...] = ()) -> PydanticCustomError:
    """A problem found by a model validator, ``at`` a field below the model (YAML names)."""
    return PydanticCustomError("catalogue", message, {"at": at})


# --------------------------------------------------------------------------- metadata


class Metadata(Model):
    name: EstateName = Field(
        description=f"estate name, usually the environment (example, lab, prod); at most {ESTATE_NAME_MAX} "
        f"characters because it goes into gateway certificate common names (x509: {X509_COMMON_NAME_MAX})",
    )
    organisation: FreeLine | None = Field(None, description="the pilot enterprise (one line of text)")
    description: Description | None = Field(None, description="one line of text")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, description="Kubernetes-style labels")


# --------------------------------------------------------------------------- estate-wide


class PoolSpec(Model):
    """An address pool and the prefix length carved from it per site (or per cluster)."""

    cidrs: list[IPv4Prefix] = Field(min_length=1, max_length=64, description="supernets this pool allocates from")
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
    serial: int | str = Field(
        "25%", description="rolling batch size: a count (1-100000) or a percentage like '25%'",
        json_schema_extra={"anyOf": [{"type": "integer", "minimum": 1, "maximum": 100_000},
                                     {"type": "string", "pattern": anchored(_PERCENT.pattern)}]},
    )
    max_fail_percentage: int = Field(10, ge=0, le=100)

    @field_validator("serial", mode="before")
    @classmethod
    def _serial(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100_000:
            return value
        if isinstance(value, str) and _PERCENT.fullmatch(value):
            return value
        raise PydanticCustomError("serial", "must be a count or a percentage like '25%' (a count from 1 to 100000; got {got})",
                                  {"got": excerpt(value)})


class LogStore(Model):
    host: HostOrAddress = Field(description="central log store (IPv4 address or host name)")
    port: Port = 6514
    tls: bool = Field(True, description="forward over TLS (RFC 5425)")


class Audit(Model):
    retention_days: int = Field(180, ge=1, le=DAYS_MAX, description="audit record retention on hosts, gateways and clusters")
    log_store: LogStore | None = None


class PackageMirror(Model):
    """Air-gapped IDCs install from their own mirror; roles take these URLs.

    The schema takes http and https: packages are verified by the distribution's signatures (apt,
    dnf gpgcheck) and artifacts against the sha256 committed in idcpilot
    (modules/idcpilot/bundle/checksums.yaml), never the mirror's own. For the artifact repository
    the policy gate then requires https (K8S-ARTIFACTS, policy/thresholds.yaml), so that it can name
    the estate it refuses; the lab's plain-http repository passes only by a waiver.
    """

    apt: HttpUrl | None = Field(None, description="Debian-family mirror or apt proxy URL (http or https; packages are signature-checked)")
    yum: HttpUrl | None = Field(None, description="RedHat-family repository base URL (http or https; packages are gpg-checked)")
    artifacts: HttpUrl | None = Field(None, description="offline artifact repository (kubelet/kubeadm ...; every file checked against the sha256 committed in idcpilot; the gate requires https, K8S-ARTIFACTS)")


class HostDefaults(Model):
    roles: list[Role] = Field(default_factory=lambda: ["baseline", "monitoring"], max_length=8)
    os: Distribution = "debian"


# --------------------------------------------------------------------------- sites and hosts


class Pue(Model):
    design: float = Field(ge=1.0, le=10.0, description="design PUE of the IDC room")
    measured: float | None = Field(None, ge=1.0, le=10.0, description="latest measured PUE")
    measured_on: Date | None = None


class FiveG(Model):
    radius_km: float = Field(gt=0, le=1000, description="5G private-network coverage radius")


class Bastion(Model):
    host: Name = Field(description="the jump host (a host of the estate with role bastion)")
    two_factor: bool = Field(False, description="administrators log in with two factors")


def _role_variable(name: str) -> str:
    problem = role_variables.name_problem(name)
    if problem:
        raise PydanticCustomError("role_variable", problem, {})
    return name


def _plain_value(value: Any) -> Any:
    first = next(role_variables.value_problems(value), None)
    if first is not None:
        at, problem = first
        raise PydanticCustomError("unsafe_text", problem, {"at": at})
    return value


#: Host vars: a documented role variable's name, a value of plain data (no control
#: characters or template markers anywhere inside it).
RoleVariableName = Annotated[str, Strict(), AfterValidator(_role_variable)]
RoleVariableValue = Annotated[Any, AfterValidator(_plain_value)]


_SINGLE_OR_GROUP = {
    "oneOf": [
        {"required": ["name"], "not": {"anyOf": [{"required": ["group"]}, {"required": ["count"]}, {"required": ["namePattern"]}]}},
        {"required": ["group", "count", "namePattern"], "not": {"anyOf": [{"required": ["name"]}, {"required": ["managementAddress"]}]}},
    ],
}


class HostSpec(Model):
    """A single host (``name``) or a host group (``group`` + ``count`` + ``namePattern``)."""

    model_config = ConfigDict(json_schema_extra=_schema_with(_SINGLE_OR_GROUP))

    name: HostName | None = Field(None, description="host name; not one Ansible reserves (all, ungrouped, localhost, automated, manual)")
    group: HostName | None = None
    count: int | None = Field(None, ge=1, le=100_000)
    name_pattern: NamePattern | None = Field(
        None, description="e.g. 'bj-cdn-{index:03d}': DNS-label text and one {index} or {index:0Nd} (N <= 6); index counts from 1",
    )
    roles: list[Role] | None = Field(None, max_length=8, description="host roles; default spec.hostDefaults.roles")
    os: Distribution | None = None
    automated: bool = Field(True, description="false: still run by hand (counts against PILOT-AUTOOPS)")
    management_address: IPv4Address | None = Field(None, description="pin a brownfield host's management address")
    ports: list[Port] = Field(default_factory=list, max_length=1000, description="extra TCP ports this host serves")
    vars: dict[RoleVariableName, RoleVariableValue] = Field(
        default_factory=dict,
        description="Ansible host vars: documented role variables only (roles/*/meta/argument_specs.yml), never ansible_*",
    )

    @model_validator(mode="after")
    def _single_or_group(self) -> "HostSpec":
        if self.name and self.group:
            raise _error("give either name (a single host) or group (a host group), not both")
        if not self.name and not self.group:
            raise _error("give name (a single host) or group + count + namePattern (a host group)")
        if self.group:
            if self.count is None or self.name_pattern is None:
                raise _error("a host group needs count and namePattern")
            if self.management_address:
                raise _error("managementAddress pins a single host, not a group", ("managementAddress",))
            for index in (1, self.count):
                sample = expand_name_pattern(self.name_pattern, index)
                if len(sample) > 63:
                    raise _error(f"namePattern gives host names of up to {len(sample)} characters with count "
                                 f"{self.count}; a host name must be at most 63 characters", ("namePattern",))
                try:
                    HOST_NAME.check(sample)
                except PydanticCustomError as exc:
                    raise _error(f"namePattern gives {excerpt(sample)}, which {exc.message()}", ("namePattern",)) from None
        elif self.count is not None or self.name_pattern is not None:
            raise _error("count and namePattern belong to host groups (use group, not name)")
        return self

    def host_names(self) -> list[str]:
        if self.name:
            return [self.name]
        assert self.name_pattern is not None and self.count is not None
        return expand_name_pattern_range(self.name_pattern, 1, self.count)


class Site(Model):
    name: Name
    tier: Tier
    region: Name
    data_domain: Name
    site_class: Name | None = Field(None, description="threshold class, e.g. 'national-hub' (policy overrides)")
    provider: Name = Field("own-idc", description="who runs the room: own-idc or a cloud provider")
    pue: Pue
    five_g: FiveG | None = None
    bastion: Bastion | None = None
    prefixes: dict[AddressKind, IPv4Prefix] = Field(default_factory=dict, description="pin a site's prefixes (brownfield)")
    hosts: list[HostSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- clusters


class AuditLog(Model):
    enabled: bool = True
    retention_days: int | None = Field(None, ge=1, le=DAYS_MAX, description="default spec.audit.retentionDays")


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
    latency_budget_ms: float | None = Field(None, gt=0, le=10_000, description="one-way latency budget")
    encryption: Encryption = "wireguard"


class Sdwan(Model):
    model_config = ConfigDict(json_schema_extra=_schema_with({
        "if": {"properties": {"topology": {"const": "hub-spoke"}}},
        "then": {"required": ["hubs"], "properties": {"hubs": {"minItems": 1}}},
    }))

    topology: Literal["hub-spoke", "full-mesh"]
    hubs: list[Name] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    listen_port: Port = 51820
    asn: int = Field(64512, ge=1, le=4_294_967_295, description="first private ASN; sites take asn+index")

    @model_validator(mode="after")
    def _hubs(self) -> "Sdwan":
        if self.topology == "hub-spoke" and not self.hubs:
            raise _error("a hub-spoke topology needs at least one hub")
        return self


# --------------------------------------------------------------------------- CDN, gateways, apps


class Origin(Model):
    name: Name
    url: HttpOrigin = Field(
        description="origin as http:// or https://host[:port], no path (requests keep their own path). "
        "http is allowed for origins inside the IDC network; the CDN speaks the origin's scheme",
    )
    site: Name | None = None


class CacheRule(Model):
    path_prefix: PathPrefix = Field(description="URL path the rule caches, e.g. /static/ (plain segments; no '..', spaces, quotes, ; { } $ %)")
    ttl_seconds: int = Field(ge=0, le=SECONDS_MAX)


class Cdn(Model):
    origins: list[Origin] = Field(default_factory=list)
    cache_size_gb: int = Field(50, ge=1, le=1_000_000)
    memory_cache_mb: int = Field(256, ge=16, le=4_194_304)
    stale_if_error_seconds: int = Field(86400, ge=0, le=SECONDS_MAX)
    rules: list[CacheRule] = Field(default_factory=list, max_length=1000)


class Gateway(Model):
    name: GatewayName = Field(
        description=f"gateway name; at most {GATEWAY_NAME_MAX} characters because '<estate> <gateway> zero-trust CA' "
        f"is a certificate common name (x509: {X509_COMMON_NAME_MAX})",
    )
    site: Name
    hosts: list[Name] = Field(min_length=1, description="hosts or host groups with role zt_gateway")
    default_deny: bool = True
    listen_port: Port = 443
    min_tls: Literal["1.0", "1.1", "1.2", "1.3"] = "1.2"
    audit_log: AuditLog = Field(default_factory=AuditLog)


class Identity(Model):
    name: Name
    groups: list[Name] = Field(default_factory=list)


class App(Model):
    name: Name
    gateway: Name | None = Field(None, description="the zero-trust gateway in front of it; none = not protected")
    upstream: Upstream = Field(
        description="https://host[:port][/path] of the application (path of plain segments); the gateway verifies "
        "its certificate and sends it identity headers. host:port or http:// only on the gateway's loopback "
        "(127.0.0.0/8, ::1, localhost): MLPS3-TLS fails plain http to another host",
    )
    exposed: bool = Field(True, description="reachable from outside its site")
    allow: list[Name] = Field(default_factory=list, description="identities or groups allowed; nothing else is")


class ThreatFeed(Model):
    """A feed is fetched from ``url`` or read from ``file`` on the gateway, never both."""

    model_config = ConfigDict(json_schema_extra=_schema_with({
        "oneOf": [{"required": ["url"], "not": {"required": ["file"]}}, {"required": ["file"], "not": {"required": ["url"]}}],
    }))

    name: Name
    url: HttpUrl | None = Field(
        None,
        description="feed URL, https://host[:port][/path], verified against the gateway's CA bundle. The schema takes "
        "http:// too so that the policy gate (PILOT-THREAT-INTEL) can name the feed it refuses; give file for a local copy",
    )
    file: LocalFile | None = Field(
        None,
        description="absolute path of a feed file the operator places on every target gateway (owned by root, "
        "writable by nobody else); instead of url",
    )
    sync_minutes: int = Field(ge=1, le=10_080)
    targets: list[Name] = Field(default_factory=list, description="gateways; empty = every gateway")

    @model_validator(mode="after")
    def _url_or_file(self) -> "ThreatFeed":
        if (self.url is None) == (self.file is None):
            raise _error("give url (https://) or file (an absolute path on the gateway), exactly one")
        return self

    def source(self) -> dict[str, str]:
        """The feed as the sync script and its source rule read it: name and url or file."""
        return {"name": self.name, "url": self.url} if self.url is not None else {"name": self.name, "file": str(self.file)}


# --------------------------------------------------------------------------- data


class DataStore(Model):
    name: Name
    site: Name
    engine: Name = "postgresql"
    classification: Classification | None = None
    personal_info: bool = False
    sensitive_personal: bool = False
    encrypted_at_rest: bool = False
    encrypted_in_transit: bool = False
    replicas: list[Name] = Field(default_factory=list, description="sites holding replicas")
    backups: list[Name] = Field(default_factory=list, description="sites receiving backups")
    egress: list[Name] = Field(default_factory=list, description="declared flows out: site names or 'internet'")


# --------------------------------------------------------------------------- services and operations


class Resources(Model):
    cpu: CpuQuantity = "250m"
    memory: MemoryQuantity = "256Mi"
    cpu_limit: CpuQuantity = "1"
    memory_limit: MemoryQuantity = "512Mi"


class Service(Model):
    name: Dns1035Label = Field(description="service name; also its namespace and Kubernetes Service, so it starts with a letter")
    level: ServiceLevel | None = None
    clusters: list[Name] = Field(default_factory=list, description="placement")
    image: ImageRef | None = Field(None, description="registry[:port]/repository/name:tag under the estate registry")
    replicas: int = Field(2, ge=0, le=REPLICAS_MAX)
    port: Port = 8080
    data_classification: Classification = "general"
    data_stores: list[Name] = Field(default_factory=list)
    multi_cloud: bool = Field(False, description="must be schedulable on >= 2 sites/providers")
    resources: Resources = Field(default_factory=Resources)
    talks_to: list[Name] = Field(default_factory=list, description="services it calls (NetworkPolicy allows)")


class SupportChannel(Model):
    name: Name
    kind: Name = "chat"
    hours: Literal["24x7", "business"]
    response_seconds: int = Field(ge=1, le=604_800)


class EmergencyPlan(Model):
    owner: FreeLine
    escalation: list[FreeLine] = Field(default_factory=list, max_length=50)
    target_hours: float = Field(gt=0, le=8760)


class Emergency(Model):
    blue: EmergencyPlan | None = None
    yellow: EmergencyPlan | None = None
    red: EmergencyPlan | None = None


class Drill(Model):
    name: FreeLine
    date: Date
    kind: Name = "live-fire"


# --------------------------------------------------------------------------- the estate


class EstateSpec(Model):
    regions_in_scope: list[Name] = Field(min_length=1)
    data_domains: dict[Name, list[Name]] = Field(description="data domain -> regions")
    ntp_servers: list[HostOrAddress] = Field(min_length=1, max_length=16, description="IPv4 addresses or host names")
    registry: Registry = Field(description="approved private container registry, host[:port]")
    management_cidrs: list[IPv4Prefix] = Field(min_length=1, max_length=256)
    supernets: Supernets
    automation: Automation = Field(default_factory=Automation)
    audit: Audit = Field(default_factory=Audit)
    package_mirror: PackageMirror = Field(default_factory=PackageMirror)
    host_defaults: HostDefaults = Field(default_factory=HostDefaults)
    sites: list[Site] = Field(min_length=1)
    clusters: list[Cluster] = Field(default_factory=list)
    sdwan: Sdwan | None = Field(None, description="the SD-WAN overlay; absent or null = none")
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
