"""The Ansible inventory, derived from the catalogue and its address allocation.

One function builds the inventory as Ansible's ``--list`` JSON; the inventory plugin
(``ansible_plugins/inventory/idcpilot_estate.py``) and ``idcpilot inventory`` both use it,
so plain ``ansible-inventory`` and the CLI always agree.
"""

from __future__ import annotations

import re
from typing import Any

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.edge_services import edge_vars
from idcpilot.ipam import Allocation
from idcpilot.ipam.blocks import Block
from idcpilot.sdwan import sdwan_vars


def group_name(prefix: str, name: str) -> str:
    """Ansible group names must be identifiers: 'site', 'bj-core-1' -> 'site_bj_core_1'."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


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
    }


def host_vars(cat: Catalogue, alloc: Allocation, host: Host) -> dict[str, Any]:
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
    out.update(sdwan_vars(cat, alloc, host))
    out.update(host.vars)
    return out


def build(cat: Catalogue, alloc: Allocation) -> dict[str, Any]:
    """The inventory in ``ansible-inventory --list`` form."""
    groups: dict[str, dict[str, Any]] = {"all": {"children": [], "vars": estate_vars(cat)}}

    def member(group: str, host: str) -> None:
        groups.setdefault(group, {"hosts": []}).setdefault("hosts", []).append(host)

    hostvars: dict[str, dict[str, Any]] = {}
    for host in cat.hosts.values():
        site = cat.sites[host.site]
        hostvars[host.name] = host_vars(cat, alloc, host)
        member(group_name("site", site.name), host.name)
        member(group_name("tier", site.tier), host.name)
        member(group_name("region", site.region), host.name)
        member(group_name("domain", site.data_domain), host.name)
        member(group_name("os", host.os_family.lower()), host.name)
        member("automated" if host.automated else "manual", host.name)
        for role in host.roles:
            member(group_name("role", role), host.name)
        if host.group:
            member(group_name("hostgroup", host.group), host.name)
    for cluster in cat.estate.spec.clusters:
        for h in cat.members(cluster.nodes):
            member(group_name("cluster", cluster.name), h.name)
            hostvars[h.name].setdefault("idcpilot_clusters", []).append(cluster.name)
        for h in cat.members(cluster.control_plane):
            member(group_name("cluster_cp", cluster.name), h.name)
    for gateway in cat.estate.spec.gateways:
        for h in cat.members(gateway.hosts):
            member(group_name("gateway", gateway.name), h.name)
            hostvars[h.name]["idcpilot_gateway"] = gateway.name
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
