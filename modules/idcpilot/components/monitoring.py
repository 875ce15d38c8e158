"""Monitoring: node exporter, kube-state-metrics and a resource-usage dashboard (PILOT-TRANSPARENCY)."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from idcpilot.components import conventions as cv
from idcpilot.components import kube
from idcpilot.components import kube_objects as objects
from idcpilot.components.namespace import managed_namespace, netpol, service_account
from idcpilot.components.spec import PLATFORM_CLASSIFICATION, MonitoringArgs, Resources

NOBODY = 65534
NODE_EXPORTER_PORT = 9100
KSM_PORT = 8080
NODE_EXPORTER_RESOURCES = Resources("50m", "64Mi", "250m", "128Mi")
KSM_RESOURCES = Resources("100m", "128Mi", "500m", "512Mi")
KSM_RESOURCES_LIST = [
    {"apiGroups": [""], "resources": ["nodes", "pods", "services", "namespaces", "resourcequotas", "limitranges",
                                      "persistentvolumeclaims", "persistentvolumes", "endpoints", "replicationcontrollers",
                                      "configmaps"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "daemonsets", "statefulsets", "replicasets"]},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies", "ingresses"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"]},
]


def dashboard(args: MonitoringArgs) -> dict[str, Any]:
    """A Grafana dashboard of resource usage for this cluster: nodes, namespaces and services."""
    cluster = args.common.cluster
    panels = [
        ("Node CPU busy %", '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle",cluster="%s"}[5m])))'),
        ("Node memory used %", '100 * (1 - node_memory_MemAvailable_bytes{cluster="%s"} / node_memory_MemTotal_bytes{cluster="%s"})'),
        ("Node network bytes/s", 'sum by (instance) (rate(node_network_receive_bytes_total{cluster="%s"}[5m]) + rate(node_network_transmit_bytes_total{cluster="%s"}[5m]))'),
        ("CPU requested / allocatable", 'sum(kube_pod_container_resource_requests{resource="cpu",cluster="%s"}) / sum(kube_node_status_allocatable{resource="cpu",cluster="%s"})'),
        ("Memory requested / allocatable", 'sum(kube_pod_container_resource_requests{resource="memory",cluster="%s"}) / sum(kube_node_status_allocatable{resource="memory",cluster="%s"})'),
        ("Quota used per namespace", 'kube_resourcequota{type="used",cluster="%s"} / on(namespace,resource) kube_resourcequota{type="hard",cluster="%s"}'),
        ("Service replicas available", 'kube_deployment_status_replicas_available{cluster="%s"}'),
    ]
    out = []
    for i, (title, expr) in enumerate(panels):
        out.append({"id": i + 1, "title": title, "type": "timeseries",
                    "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
                    "targets": [{"expr": expr.replace("%s", cluster), "refId": "A"}]})
    return {
        "title": f"{args.common.estate} / {cluster}: resource usage",
        "uid": f"idcpilot-{cluster}"[:40],
        "tags": ["idcpilot", "PILOT-TRANSPARENCY", args.common.estate],
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "schemaVersion": 39,
        "templating": {"list": [{"name": "namespace", "type": "query", "query": f'label_values(kube_namespace_labels{{cluster="{cluster}"}}, namespace)'}]},
        "panels": out,
    }


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("idcpilot:edge:Monitoring", name, None, opts)
        labels = args.common.labels("monitoring", PLATFORM_CLASSIFICATION)
        ns = managed_namespace(self, cv.NS_MONITORING, labels,
                               [(NODE_EXPORTER_RESOURCES, args.nodes), (KSM_RESOURCES, 1)], NODE_EXPORTER_RESOURCES)
        ne_labels = {**labels, cv.LABEL_NAME: "node-exporter"}
        ksm_labels = {**labels, cv.LABEL_NAME: "kube-state-metrics"}
        netpol(self, ns, "allow-scrape", kube.allow_ingress({}, kube.ip_peers(args.scrape_cidrs), [NODE_EXPORTER_PORT, KSM_PORT]))
        netpol(self, ns, "allow-apiserver",
               kube.allow_egress({cv.LABEL_NAME: "kube-state-metrics"}, kube.ip_peers(args.api_sources), [443, 6443]))

        # node exporter: restricted profile, so no host namespaces or hostPath; /proc and /sys
        # still show node-wide CPU, memory, disk I/O and load. Filesystem usage per mount comes
        # from the hosts' own exporter (the Ansible monitoring role).
        sa = service_account(self, ns, "node-exporter", ne_labels)
        ne = kube.container(
            "node-exporter", cv.image(args.common.registry, "node-exporter"), NODE_EXPORTER_RESOURCES,
            [("metrics", NODE_EXPORTER_PORT)],
            args=[f"--web.listen-address=:{NODE_EXPORTER_PORT}", "--no-collector.filesystem", "--no-collector.wifi",
                  "--collector.netclass.ignored-devices=^(veth.*|cali.*|flannel.*)$"],
            readinessProbe={"httpGet": {"path": "/", "port": NODE_EXPORTER_PORT}, "periodSeconds": 10},
        )
        ds = objects.DaemonSet(
            "node-exporter",
            metadata=kube.metadata("node-exporter", ne_labels, ns.name, args.common.workload_annotations()),
            spec={
                "selector": {"matchLabels": {cv.LABEL_NAME: "node-exporter"}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
                "template": {"metadata": {"labels": ne_labels}, "spec": kube.pod_spec(
                    [ne], NOBODY, "node-exporter", tolerations=[{"operator": "Exists"}], priorityClassName="system-node-critical")},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, sa]),
        )
        objects.Service(
            "node-exporter",
            metadata=kube.metadata("node-exporter", ne_labels, ns.name, args.common.workload_annotations()),
            spec={"clusterIP": "None", "selector": {cv.LABEL_NAME: "node-exporter"},
                  "ports": [{"name": "metrics", "port": NODE_EXPORTER_PORT, "targetPort": NODE_EXPORTER_PORT, "protocol": "TCP"}]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, ds]),
        )

        # kube-state-metrics: read-only view of objects, its own ClusterRole.
        ksm_sa = objects.ServiceAccount(
            "kube-state-metrics",
            metadata=kube.metadata("kube-state-metrics", ksm_labels, ns.name),
            opts=ns.opts(self),
        )
        role = objects.ClusterRole(
            "kube-state-metrics",
            metadata=kube.metadata("idcpilot:kube-state-metrics", ksm_labels),
            rules=[{**r, "verbs": ["list", "watch"]} for r in KSM_RESOURCES_LIST],
            opts=pulumi.ResourceOptions(parent=self),
        )
        objects.ClusterRoleBinding(
            "kube-state-metrics",
            metadata=kube.metadata("idcpilot:kube-state-metrics", ksm_labels),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "idcpilot:kube-state-metrics"},
            subjects=[{"kind": "ServiceAccount", "name": "kube-state-metrics", "namespace": ns.name}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, ksm_sa]),
        )
        ksm = kube.container(
            "kube-state-metrics", cv.image(args.common.registry, "kube-state-metrics"), KSM_RESOURCES, [("metrics", KSM_PORT)],
            args=[f"--port={KSM_PORT}", "--metric-labels-allowlist=namespaces=[*]"],
            readinessProbe={"httpGet": {"path": "/healthz", "port": KSM_PORT}, "periodSeconds": 10},
        )
        deployment = objects.Deployment(
            "kube-state-metrics",
            metadata=kube.metadata("kube-state-metrics", ksm_labels, ns.name, args.common.workload_annotations()),
            spec={
                "replicas": 1,
                "selector": {"matchLabels": {cv.LABEL_NAME: "kube-state-metrics"}},
                "template": {"metadata": {"labels": ksm_labels},
                             "spec": kube.pod_spec([ksm], NOBODY, "kube-state-metrics", automount=True)},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, ksm_sa]),
        )
        objects.Service(
            "kube-state-metrics",
            metadata=kube.metadata("kube-state-metrics", ksm_labels, ns.name, args.common.workload_annotations()),
            spec={"selector": {cv.LABEL_NAME: "kube-state-metrics"},
                  "ports": [{"name": "metrics", "port": KSM_PORT, "targetPort": KSM_PORT, "protocol": "TCP"}]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, deployment]),
        )
        objects.ConfigMap(
            "resource-usage-dashboard",
            metadata=kube.metadata("resource-usage-dashboard", {**labels, "grafana_dashboard": "1"}, ns.name),
            data={"resource-usage.json": json.dumps(dashboard(args), indent=2, sort_keys=True)},
            opts=ns.opts(self),
        )
        self.register_outputs({"namespace": ns.name, "dashboard": "resource-usage-dashboard"})
