"""The local lab: one systemd-nspawn Debian host per estate host, on a private bridge.

``idcpilot lab up|down|status|ssh`` (see ``docs/lab.md``). Everything the lab creates is named
from the estate's ``metadata.name`` so labs of different estates can run side by side.
"""

from idcpilot.lab.errors import LabError
from idcpilot.lab.layout import LabLayout, LabPlan, plan_lab
from idcpilot.lab.lifecycle import down, host_status, leftovers, stop_hosts, up

__all__ = ["LabError", "LabLayout", "LabPlan", "down", "host_status", "leftovers", "stop_hosts", "plan_lab", "up"]
