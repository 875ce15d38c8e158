# loopback_host: whether a host name or address is a loopback address of this host (127.0.0.0/8,
# ::1, localhost), for the zt_gateway role's preflight: an app upstream in plain http is only
# allowed on the gateway itself (MLPS3-TLS). The test is the policy gate's own
# (idcpilot.edge_services.urls.is_loopback_host), so the gate and the role cannot disagree.
#
# Enabled by the repository's ansible.cfg (filter_plugins).
from __future__ import annotations

from typing import Any

from idcpilot.edge_services.urls import is_loopback_host


def loopback_host(host: Any) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for anything else, including non-strings."""
    return isinstance(host, str) and is_loopback_host(host)


class FilterModule:
    """The loopback test as a filter."""

    def filters(self) -> dict[str, Any]:
        return {"loopback_host": loopback_host}
