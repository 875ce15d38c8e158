"""Pulumi program: everything idcpilot manages on ONE edge cluster (one stack per cluster).

Stack config (stacks/config/Pulumi.<estate>.<cluster>.yaml):
  idcpilot:estate      estate name (metadata.name of the catalogue)
  idcpilot:catalogue   inventories/<env>, relative to the project root
  idcpilot:cluster     the cluster's name in the catalogue
  idcpilot:kubeconfig  SECRET: `pulumi config set --secret kubeconfig < admin.conf`
  idcpilot:context     optional kubeconfig context
  idcpilot:simulatedNodes  optional, "true" where the cluster's nodes are simulated (the lab's kwok
                       nodes): workloads are applied without waiting for pods that will never run
"""

from pathlib import Path

import pulumi

from idcpilot.components.program import build_cluster, kubernetes_provider, load_cluster_spec

PROJECT_ROOT = Path(__file__).resolve().parent.parent

config = pulumi.Config()
spec = load_cluster_spec(PROJECT_ROOT, config.require("catalogue"), config.require("estate"), config.require("cluster"),
                         simulated_nodes=config.get_bool("simulatedNodes") or False)
provider = kubernetes_provider(spec.edge.common.cluster, config.require_secret("kubeconfig"), config.get("context"))
parts = build_cluster(spec, provider)

pulumi.export("estate", spec.edge.common.estate)
pulumi.export("cluster", spec.edge.common.cluster)
pulumi.export("kubernetesVersion", spec.edge.common.kubernetes_version)
# where the nodes are simulated no pod runs: say so rather than let a rollout look awaited
pulumi.export("workloadRollouts", "not awaited: the nodes are simulated (kwok), no pod runs" if spec.edge.common.simulated_nodes
              else "awaited: every Deployment and DaemonSet was ready")
for key, value in parts.outputs().items():
    pulumi.export(key, value)
