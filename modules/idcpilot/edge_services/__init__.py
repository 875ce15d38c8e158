"""Per-host variables for the edge-service roles (cdn_node, zt_gateway), derived from the catalogue.

Pure functions only: ``edge_vars(cat, host)`` returns ``idcpilot_cdn`` for hosts with the
``cdn_node`` role and ``idcpilot_zt`` for hosts with the ``zt_gateway`` role. The inventory
merges the result into the host's variables, so roles never re-derive catalogue facts.
"""

from __future__ import annotations

from typing import Any

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.edge_services.cdn import cdn_vars
from idcpilot.edge_services.gateway import gateway_vars

__all__ = ["cdn_vars", "edge_vars", "gateway_vars"]


def edge_vars(cat: Catalogue, host: Host) -> dict[str, Any]:
    """Variables the edge-service roles need for ``host`` (empty for other hosts)."""
    out: dict[str, Any] = {}
    if host.has("cdn_node"):
        out["idcpilot_cdn"] = cdn_vars(cat, host)
    if host.has("zt_gateway"):
        zt = gateway_vars(cat, host)
        if zt is not None:
            out["idcpilot_zt"] = zt
    return out
