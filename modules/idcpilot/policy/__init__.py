"""The policy gate: every plan-stage rule of the pilot specification, one engine.

Rules live at the repository top in ``policy/rules/`` (one file per rule id); thresholds in
``policy/thresholds.yaml``; waivers in ``policy/waivers.yaml``. Front doors: ``idcpilot check``,
``idcpilot rules``, ``gate(cat)`` for ``idcpilot deploy``, and the CrossGuard pack in ``policy/``.
"""

from idcpilot.policy.context import Context
from idcpilot.policy.engine import GateResult, gate, run
from idcpilot.policy.model import Finding, Location, Outcome, Report, Rule

__all__ = ["Context", "Finding", "GateResult", "Location", "Outcome", "Report", "Rule", "gate", "run"]
