"""Cross-reference checks: names that must exist, names that must be unique.

These are catalogue *mistakes* (the file contradicts itself), reported with the exact
field. Whether a consistent estate meets the pilot spec is the policy gate's question.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import netaddr

from idcpilot.catalogue import role_variables
from idcpilot.errors import Problem, excerpt
from idcpilot.k8sschema import version_problem
from idcpilot.yamlsource import PathKey

if TYPE_CHECKING:
    from idcpilot.catalogue.estate import Catalogue


class _Checker:
    def __init__(self, cat: "Catalogue", unreadable: frozenset[str] = frozenset()):
        self.cat = cat
        self.problems: list[Problem] = []
        self.unreadable = unreadable  # names defined in entries the model refused: exist, not checkable

    def add(self, path: PathKey, message: str) -> None:
        self.problems.append(self.cat.source.problem(path, message))

    def unique(self, collection: str, items: Iterable[object]) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            name = getattr(item, "name")
            if name in seen:
                line, _ = self.cat.source.locate(("spec", collection, seen[name]))
                self.add(("spec", collection, index, "name"), f"duplicate name {excerpt(name)} (first at line {line})")
            else:
                seen[name] = index

    def exists(self, path: PathKey, name: str, known: Iterable[str] | dict[str, object], what: str) -> bool:
        if name not in known:
            if name not in self.unreadable:
                self.add(path, f"unknown {what} {excerpt(name)}")
            return False
        return True

    def members(self, path: PathKey, names: list[str], role: str, site: str | None) -> None:
        cat = self.cat
        for i, name in enumerate(names):
            if name not in cat.hosts and name not in cat.groups:
                if name not in self.unreadable:
                    self.add(path + (i,), f"unknown host or host group {excerpt(name)}")
                continue
            for host in cat.members([name]):
                if role not in host.roles:
                    self.add(path + (i,), f"host {excerpt(host.name)} lacks role {role!r}")
                    break
                if site is not None and host.site != site:
                    self.add(path + (i,), f"host {excerpt(host.name)} is in site {excerpt(host.site)}, not {excerpt(site)}")
                    break

    def cidr(self, path: PathKey, text: str) -> netaddr.IPNetwork | None:
        try:
            net = netaddr.IPNetwork(text, expand_partial=False)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            self.add(path, f"not a CIDR prefix: {excerpt(text)}")
            return None
        if net.ip != net.network:
            self.add(path, f"{excerpt(text)} has host bits set (did you mean {net.cidr}?)")
            return None
        return net


def check_references(cat: "Catalogue", unreadable: frozenset[str] = frozenset()) -> list[Problem]:
    c = _Checker(cat, unreadable)
    spec = cat.estate.spec
    sites = cat.sites

    for collection in ("sites", "clusters", "gateways", "identities", "apps", "dataStores", "services", "support"):
        c.unique(collection, getattr(spec, _snake(collection)))
    c.unique("threatIntel", spec.threat_intel)

    # data domains and regions
    domain_of_region: dict[str, str] = {}
    for domain, regions in spec.data_domains.items():
        for ri, region in enumerate(regions):
            if region in domain_of_region and domain_of_region[region] != domain:
                c.add(("spec", "dataDomains", domain, ri), f"region {excerpt(region)} is already in data domain {excerpt(domain_of_region[region])}")
            domain_of_region[region] = domain

    # addresses written by people
    for i, text in enumerate(spec.management_cidrs):
        c.cidr(("spec", "managementCidrs", i), text)

    for si, site in enumerate(spec.sites):
        base: PathKey = ("spec", "sites", si)
        if c.exists(base + ("dataDomain",), site.data_domain, spec.data_domains, "data domain"):
            if site.region not in spec.data_domains[site.data_domain]:
                c.add(base + ("region",), f"region {excerpt(site.region)} is not in data domain {excerpt(site.data_domain)} (its regions: {', '.join(spec.data_domains[site.data_domain])})")
        if site.bastion is not None:
            bastion = site.bastion.host
            if c.exists(base + ("bastion", "host"), bastion, cat.hosts, "host"):
                if "bastion" not in cat.hosts[bastion].roles:
                    c.add(base + ("bastion", "host"), f"host {excerpt(bastion)} lacks role 'bastion'")
        for hi, host in enumerate(site.hosts):
            for name, value in host.vars.items():
                problem = role_variables.type_problem(name, value)
                if problem:
                    c.add(base + ("hosts", hi, "vars", name), problem)

    for ci, cluster in enumerate(spec.clusters):
        base = ("spec", "clusters", ci)
        if unsupported := version_problem(cluster.kubernetes_version):  # plan and check validate against it
            c.add(base + ("kubernetesVersion",), unsupported)
        if c.exists(base + ("site",), cluster.site, sites, "site"):
            c.members(base + ("nodes",), cluster.nodes, "k8s_node", cluster.site)
            c.members(base + ("controlPlane",), cluster.control_plane, "k8s_control_plane", cluster.site)

    if spec.sdwan is not None:
        sd = spec.sdwan
        for hi, hub in enumerate(sd.hubs):
            c.exists(("spec", "sdwan", "hubs", hi), hub, sites, "site")
        pairs: dict[frozenset[str], int] = {}
        for li, link in enumerate(sd.links):
            base = ("spec", "sdwan", "links", li)
            ok = c.exists(base + ("a",), link.a, sites, "site") & c.exists(base + ("b",), link.b, sites, "site")
            if ok and link.a == link.b:
                c.add(base + ("b",), "a link joins two different sites")
            pair = frozenset((link.a, link.b))
            if pair in pairs:
                line, _ = cat.source.locate(("spec", "sdwan", "links", pairs[pair]))
                c.add(base, f"duplicate link {excerpt(link.a)} - {excerpt(link.b)} (first at line {line})")
            pairs.setdefault(pair, li)

    for oi, origin in enumerate(spec.cdn.origins):
        if origin.site is not None:
            c.exists(("spec", "cdn", "origins", oi, "site"), origin.site, sites, "site")

    for gi, gw in enumerate(spec.gateways):
        base = ("spec", "gateways", gi)
        if c.exists(base + ("site",), gw.site, sites, "site"):
            c.members(base + ("hosts",), gw.hosts, "zt_gateway", gw.site)

    principals = {i.name for i in spec.identities} | {g for i in spec.identities for g in i.groups}
    for ai, app in enumerate(spec.apps):
        base = ("spec", "apps", ai)
        if app.gateway is not None:
            c.exists(base + ("gateway",), app.gateway, cat.gateways, "gateway")
        for pi, who in enumerate(app.allow):
            c.exists(base + ("allow", pi), who, principals, "identity or group")

    for fi, feed in enumerate(spec.threat_intel):
        for ti, target in enumerate(feed.targets):
            c.exists(("spec", "threatIntel", fi, "targets", ti), target, cat.gateways, "gateway")

    store_names = {d.name for d in spec.data_stores}
    for di, store in enumerate(spec.data_stores):
        base = ("spec", "dataStores", di)
        c.exists(base + ("site",), store.site, sites, "site")
        for key, names in (("replicas", store.replicas), ("backups", store.backups)):
            for ri, name in enumerate(names):
                c.exists(base + (key, ri), name, sites, "site")
        for ei, target in enumerate(store.egress):
            if target != "internet":
                c.exists(base + ("egress", ei), target, sites, "site (or 'internet')")

    service_names = {s.name for s in spec.services}
    for vi, service in enumerate(spec.services):
        base = ("spec", "services", vi)
        for ki, cluster in enumerate(service.clusters):
            c.exists(base + ("clusters", ki), cluster, cat.clusters, "cluster")
        for ki, store in enumerate(service.data_stores):
            c.exists(base + ("dataStores", ki), store, store_names, "data store")
        for ki, other in enumerate(service.talks_to):
            c.exists(base + ("talksTo", ki), other, service_names, "service")

    return c.problems


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)
