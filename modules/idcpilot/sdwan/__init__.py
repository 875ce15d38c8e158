"""SD-WAN overlay: the topology from ``spec.sdwan`` and per-host variables for ``roles/sdwan_edge``."""

from idcpilot.sdwan.topology import Link, Topology, build, interface_name
from idcpilot.sdwan.vars import PREFIX_KINDS, peers, problems, sdwan_vars, service_anchor, site_prefixes, topology

__all__ = [
    "Link",
    "PREFIX_KINDS",
    "Topology",
    "build",
    "interface_name",
    "peers",
    "problems",
    "sdwan_vars",
    "service_anchor",
    "site_prefixes",
    "topology",
]
