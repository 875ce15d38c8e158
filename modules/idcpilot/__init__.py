"""idcpilot: infrastructure as code for the industry cloud-service pilot.

Data flows one way: catalogue -> model -> (IPAM, inventory, plan) -> policy -> report.
"""

__version__ = "0.1.0"
