"""The Ansible inventory, derived from the catalogue and its address allocation.

One function builds the inventory as Ansible's ``--list`` JSON; the inventory plugin
(``ansible_plugins/inventory/idcpilot_estate.py``) and ``idcpilot inventory`` both use it,
so plain ``ansible-inventory`` and the CLI always agree.

The catalogue is untrusted input: its strings are data, never templates (the plugin hands them
to Ansible as unsafe values), and a catalogue host's ``vars:`` may set only the variables the
roles document in ``meta/argument_specs.yml`` — never Ansible's own ``ansible_*`` connection,
become or interpreter variables, nor the ``idcpilot_*`` facts computed here.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path
from typing import Any

import idcpilot
from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.edge_services import edge_vars
from idcpilot.errors import Problem, UserInputError, excerpt
from idcpilot.ipam import Allocation
from idcpilot.ipam.blocks import Block
from idcpilot.sdwan import sdwan_vars
from idcpilot.sdwan.vars import Overlay, overlay
from idcpilot.yamlsource import load_yaml_file

#: The roles whose documented variables a catalogue host may set.
ROLES_DIR = Path(idcpilot.__file__).resolve().parents[2] / "roles"


@functools.lru_cache(maxsize=4)
def role_variables(roles_dir: Path = ROLES_DIR) -> frozenset[str]:
    """Every variable a role documents in ``meta/argument_specs.yml`` (any entry point)."""
    names: set[str] = set()
    for spec_file in sorted(roles_dir.glob("*/meta/argument_specs.yml")):
        specs = (load_yaml_file(spec_file)[0] or {}).get("argument_specs") or {}
        for entry in specs.values():
            names.update((entry or {}).get("options") or {})
    return frozenset(n for n in names if not n.startswith(("ansible_", "idcpilot_")))


def host_var_problems(cat: Catalogue, hosts: list[Host] | None = None) -> list[Problem]:
    """Catalogue host ``vars:`` that are not documented role variables, at their place in estate.yaml."""
    allowed = role_variables()
    out: list[Problem] = []
    seen: set[tuple] = set()
    for host in cat.hosts.values() if hosts is None else hosts:
        for key in host.vars:
            where = (*host.path, "vars", key)
            if key in allowed or where in seen:  # a host group's hosts share one vars: mapping
                continue
            seen.add(where)
            why = ("Ansible connection, become and interpreter variables cannot be set from the catalogue"
                   if str(key).startswith("ansible_") else
                   "only the variables documented in roles/*/meta/argument_specs.yml can be set here")
            out.append(cat.source.problem(where, f"{excerpt(key)} is not a role variable: {why}"))
    return out


def group_name(prefix: str, name: str) -> str:
    """Ansible group names must be identifiers: 'site', 'bj-core-1' -> 'site_bj_core_1'."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def artifact_checksums() -> dict[str, str]:
    """files_repo path -> sha256 committed in modules/idcpilot/bundle/checksums.yaml: what the k8s
    roles check every download against (never the artifact repository's own SHA256SUMS)."""
    from idcpilot.bundle import checksums, versions

    return checksums.role_map(versions.load(), checksums.load())


def estate_vars(cat: Catalogue) -> dict[str, Any]:
    """Variables every host gets (the 'all' group)."""
    spec = cat.estate.spec
    log_store = spec.audit.log_store
    return {
        "idcpilot_estate": cat.name,
        "idcpilot_ntp_servers": list(spec.ntp_servers),
        "idcpilot_registry": spec.registry,
        "idcpilot_management_cidrs": list(spec.management_cidrs),
        "idcpilot_automation_account": spec.automation.account,
        "idcpilot_serial": spec.automation.serial,
        "idcpilot_max_fail_percentage": spec.automation.max_fail_percentage,
        "idcpilot_audit_retention_days": spec.audit.retention_days,
        "idcpilot_log_store": log_store.model_dump() if log_store else None,
        "idcpilot_package_mirror": spec.package_mirror.model_dump(),
        "idcpilot_artifact_checksums": artifact_checksums(),
    }


def host_vars(cat: Catalogue, alloc: Allocation, host: Host, shared: Overlay | None = None) -> dict[str, Any]:
    """The variables of ``host``; ``shared`` is the SD-WAN overlay when the caller computed it once."""
    problems = host_var_problems(cat, [host])
    if problems:
        raise UserInputError(problems)
    site = cat.sites[host.site]
    addresses = alloc.host(host.name)
    prefixes = alloc.lock.sites.get(host.site, {})
    out: dict[str, Any] = {
        "idcpilot_site": host.site,
        "idcpilot_tier": site.tier,
        "idcpilot_region": site.region,
        "idcpilot_data_domain": site.data_domain,
        "idcpilot_roles": list(host.roles),
        "idcpilot_distribution": host.distribution,
        "idcpilot_os_family": host.os_family,
        "idcpilot_automated": host.automated,
        "idcpilot_addresses": dict(addresses),
        "idcpilot_site_prefixes": dict(prefixes),
        "idcpilot_declared_ports": sorted(set(host.ports)),
    }
    if "management" in addresses and "management" in prefixes:
        out["ansible_host"] = addresses["management"]
        out["idcpilot_management_interface_cidr"] = f"{addresses['management']}/{Block.parse(prefixes['management']).prefixlen}"
    if site.bastion is not None:
        out["idcpilot_bastion"] = site.bastion.host
    out.update(edge_vars(cat, host))
    out.update(sdwan_vars(cat, alloc, host, shared))
    out.update(host.vars)
    return out


def memberships(cat: Catalogue) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Which clusters each host is a node of, and the gateway it serves (the last one listing it)."""
    clusters: dict[str, list[str]] = {}
    gateways: dict[str, str] = {}
    for cluster in cat.estate.spec.clusters:
        for h in cat.members(cluster.nodes):
            clusters.setdefault(h.name, []).append(cluster.name)
    for gateway in cat.estate.spec.gateways:
        for h in cat.members(gateway.hosts):
            gateways[h.name] = gateway.name
    return clusters, gateways


def _service_address(cidr: str | None, index: int) -> str | None:
    return None if cidr is None else str(ipaddress.ip_network(cidr, strict=False)[index])


def k8s_clusters(cat: Catalogue, alloc: Allocation, only: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """host -> ``idcpilot_k8s_clusters``: every cluster the host is a node or control plane of, with
    its members' management addresses, its pod and service CIDRs from the lock and the service
    addresses of the API server and DNS within it (the roles
    k8s_control_plane and k8s_node and the verify read this one shape). ``only``: that host alone."""
    out: dict[str, list[dict[str, Any]]] = {}
    spec = cat.estate.spec
    for cluster in spec.clusters:
        control_plane = cat.members(cluster.control_plane)
        nodes = cat.members(cluster.nodes)
        names = [h.name for h in control_plane] + [h.name for h in nodes]
        if only is not None and only not in names:
            continue
        prefixes = alloc.lock.clusters.get(cluster.name, {})
        entry = {
            "name": cluster.name,
            "version": cluster.kubernetes_version,
            "controlPlane": [{"name": h.name, "address": alloc.host(h.name).get("management")} for h in control_plane],
            "nodes": [{"name": h.name, "address": alloc.host(h.name).get("management")} for h in nodes],
            "podCidr": prefixes.get("pod"),
            "serviceCidr": prefixes.get("serviceCidr"),
            # the first service address is the API server's (kubernetes.default), the tenth the DNS service's
            "apiServiceAddress": _service_address(prefixes.get("serviceCidr"), 1),
            "dnsServiceAddress": _service_address(prefixes.get("serviceCidr"), 10),
            "auditRetentionDays": cluster.audit_log.retention_days or spec.audit.retention_days,
        }
        for host in dict.fromkeys(names):
            if only is None or host == only:
                out.setdefault(host, []).append(entry)
    return out


def one_host(cat: Catalogue, alloc: Allocation, name: str) -> dict[str, Any]:
    """Every variable of one host (estate-wide ones included), as ``ansible-inventory --host`` shows
    them, computed for that host alone. KeyError when the estate has no such host."""
    host = cat.hosts[name]
    clusters, gateways = memberships(cat)
    out = {**estate_vars(cat), **host_vars(cat, alloc, host)}
    if name in clusters:
        out["idcpilot_clusters"] = clusters[name]
    if name in gateways:
        out["idcpilot_gateway"] = gateways[name]
    k8s = k8s_clusters(cat, alloc, name)
    if name in k8s:
        out["idcpilot_k8s_clusters"] = k8s[name]
    return out


def host_groups(cat: Catalogue) -> dict[str, list[str]]:
    """Every host's inventory groups (site, tier, region, domain, os, automated/manual, role,
    host group, cluster, cluster control plane, gateway): the one place membership is decided."""
    names: dict[tuple[str, str], str] = {}

    def g(prefix: str, name: str) -> str:
        key = (prefix, name)
        out = names.get(key)
        if out is None:
            out = names[key] = group_name(prefix, name)
        return out

    site_groups = {
        s.name: [g("site", s.name), g("tier", s.tier), g("region", s.region), g("domain", s.data_domain)]
        for s in cat.estate.spec.sites
    }
    out: dict[str, list[str]] = {}
    for host in cat.hosts.values():
        groups = site_groups[host.site] + [g("os", host.os_family.lower()), "automated" if host.automated else "manual"]
        groups += [g("role", r) for r in host.roles]
        if host.group:
            groups.append(g("hostgroup", host.group))
        out[host.name] = groups
    for cluster in cat.estate.spec.clusters:
        for h in cat.members(cluster.nodes):
            out[h.name].append(g("cluster", cluster.name))
        for h in cat.members(cluster.control_plane):
            out[h.name].append(g("cluster_cp", cluster.name))
    for gateway in cat.estate.spec.gateways:
        for h in cat.members(gateway.hosts):
            out[h.name].append(g("gateway", gateway.name))
    return out


def build(cat: Catalogue, alloc: Allocation) -> dict[str, Any]:
    """The inventory in ``ansible-inventory --list`` form."""
    groups: dict[str, dict[str, Any]] = {"all": {"children": [], "vars": estate_vars(cat)}}

    def member(group: str, host: str) -> None:
        groups.setdefault(group, {"hosts": []}).setdefault("hosts", []).append(host)

    problems = host_var_problems(cat)
    if problems:
        raise UserInputError(problems)
    shared = overlay(cat, alloc)
    clusters, gateways = memberships(cat)
    k8s = k8s_clusters(cat, alloc)
    hostvars: dict[str, dict[str, Any]] = {}
    for host in cat.hosts.values():
        hostvars[host.name] = host_vars(cat, alloc, host, shared)
        if host.name in clusters:
            hostvars[host.name]["idcpilot_clusters"] = clusters[host.name]
        if host.name in gateways:
            hostvars[host.name]["idcpilot_gateway"] = gateways[host.name]
        if host.name in k8s:
            hostvars[host.name]["idcpilot_k8s_clusters"] = k8s[host.name]
    for host, names in host_groups(cat).items():
        for group in names:
            member(group, host)
    groups["all"]["children"] = sorted(g for g in groups if g != "all")
    return {**groups, "_meta": {"hostvars": hostvars}}


def graph(inventory: dict[str, Any]) -> str:
    """Text like ``ansible-inventory --graph``."""
    lines = ["@all:"]
    for name in inventory["all"]["children"]:
        lines.append(f"  |--@{name}:")
        for host in inventory[name].get("hosts", []):
            lines.append(f"  |  |--{host}")
    return "\n".join(lines)
