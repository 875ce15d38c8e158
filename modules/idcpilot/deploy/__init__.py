"""``idcpilot deploy``: policy gate first, then playbooks/site.yml through ansible-runner."""

from idcpilot.deploy.options import DeployOptions
from idcpilot.deploy.progress import HostRecap, Tracker
from idcpilot.deploy.run import DeployResult, GateRefused, deploy

__all__ = ["DeployOptions", "DeployResult", "GateRefused", "HostRecap", "Tracker", "deploy"]
