"""The threat-feed source rule (PILOT-THREAT-INTEL): https:// URLs or operator-placed files only.

The rule has one implementation, ``feed_source_problem`` in the sync script the gateways run
(roles/zt_gateway/files/idcpilot-zt-threat-sync): that script must stand alone on a gateway
(no idcpilot there), so the policy gate loads the function from it here, and the role's
preflight through the ``threat_feed_problem`` filter (ansible_plugins/filter/idcpilot_threat.py).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

SYNC_SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "zt_gateway" / "files" / "idcpilot-zt-threat-sync"


@functools.lru_cache(maxsize=None)
def sync_script(path: Path = SYNC_SCRIPT) -> ModuleType:
    """The sync script as a module (its ``main`` does not run on import)."""
    loader = importlib.machinery.SourceFileLoader("idcpilot_zt_threat_sync", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def feed_source_problem(feed: dict[str, Any]) -> str | None:
    """Why the feed's source is refused (a non-https URL, a relative path ...), or None."""
    return sync_script().feed_source_problem(feed)
