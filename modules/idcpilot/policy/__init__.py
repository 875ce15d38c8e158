"""The policy gate: every plan-stage rule of the pilot specification, one engine.

Rules live at the repository top in ``policy/rules/`` (one file per rule id); thresholds in
``policy/thresholds.yaml``; waivers in ``policy/waivers.yaml``. Front doors: ``idcpilot check``,
``idcpilot rules``, ``gate(cat)`` for ``idcpilot deploy``, and the CrossGuard pack in ``policy/``.

The names below are imported on first use: a light submodule (``idcpilot.policy.k8s`` reading
manifests) does not drag the engine and the catalogue model in with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idcpilot.policy.context import Context
    from idcpilot.policy.engine import GateResult, gate, run
    from idcpilot.policy.model import Finding, Location, Outcome, Report, Rule

_HOME = {
    "Context": "context",
    "GateResult": "engine",
    "gate": "engine",
    "run": "engine",
    "Finding": "model",
    "Location": "model",
    "Outcome": "model",
    "Report": "model",
    "Rule": "model",
}

__all__ = ["Context", "Finding", "GateResult", "Location", "Outcome", "Report", "Rule", "gate", "run"]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
