# threat_feed_problem: why a threat-intel feed's source is refused ('' when it is fine), for the
# zt_gateway role's preflight (PILOT-THREAT-INTEL). The rule itself is implemented once, in the
# sync script the gateways run (roles/zt_gateway/files/idcpilot-zt-threat-sync); this filter
# loads it from there, as the policy gate does (idcpilot.edge_services.threat_feeds).
#
# Enabled by the repository's ansible.cfg (filter_plugins).
from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
from pathlib import Path
from typing import Any

SYNC_SCRIPT = Path(__file__).resolve().parents[4] / "roles" / "zt_gateway" / "files" / "idcpilot-zt-threat-sync"


@functools.lru_cache(maxsize=None)
def _script() -> Any:
    loader = importlib.machinery.SourceFileLoader("idcpilot_zt_threat_sync", str(SYNC_SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def threat_feed_problem(feed: Any) -> str:
    """'' when the feed's source is allowed, else why not (Ansible passes mappings as dict subclasses)."""
    return _script().feed_source_problem(dict(feed) if hasattr(feed, "items") else feed) or ""


class FilterModule:
    """The threat-feed source rule as a filter."""

    def filters(self) -> dict[str, Any]:
        return {"threat_feed_problem": threat_feed_problem}
