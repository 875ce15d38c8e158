"""EdgeCluster: namespaces, isolation, quotas, separated roles and audit shipping for one cluster."""

from __future__ import annotations

from typing import Any

import pulumi

from idcpilot.components import conventions as cv
from idcpilot.components import kube
from idcpilot.components import kube_objects as objects
from idcpilot.components.namespace import ManagedNamespace, managed_namespace, netpol, service_account
from idcpilot.components.spec import PLATFORM_CLASSIFICATION, EdgeClusterArgs, Resources, ServiceArgs

SERVICE_UID = 10001
FLUENT_BIT_UID = 65534
AUDIT_PORT = 9880
FLUENT_BIT_RESOURCES = Resources("100m", "128Mi", "500m", "256Mi")

#: The three separated roles (MLPS3-ACCESS-ROLES). No rule appears in two of them.
WORKLOAD_RESOURCES = [
    {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "serviceaccounts", "persistentvolumeclaims"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"]},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"]},
]
ROLE_RULES: dict[str, list[dict[str, Any]]] = {
    # Runs the services: workloads in the service namespaces only; no RBAC, policy, secrets or audit logs.
    "administrator": [
        {**r, "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]} for r in WORKLOAD_RESOURCES
    ]
    + [{"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["create"]}],
    # Reads the audit trail and the cluster's configuration; changes nothing.
    "auditor": [
        {"apiGroups": ["", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "policy"],
         "resources": ["namespaces", "nodes", "networkpolicies", "roles", "rolebindings", "clusterroles",
                       "clusterrolebindings", "resourcequotas", "limitranges", "events"],
         "verbs": ["get", "list", "watch"]},
    ],
    # Owns access control and isolation: RBAC, NetworkPolicies, quotas, namespace labels (PSA).
    "security-officer": [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "bind", "escalate"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["resourcequotas", "limitranges"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch", "patch"]},
    ],
}
def workload_role(role: str) -> str:
    """The name of a duty's ClusterRole over the stack's workloads. The cluster-wide duties of the
    same groups (nodes, storage, admission, ...) are the k8s_control_plane role's ClusterRoles
    ``idcpilot:<role>``, laid down with the cluster: a stack that wrote the same objects would
    fight that role over them (the API server refuses the second field manager's apply)."""
    return f"idcpilot:workloads:{role}"


#: Only auditors read the audit shipping namespace's logs (MLPS3-ACCESS-ROLES).
AUDIT_LOG_READER = [
    {"apiGroups": [""], "resources": ["pods", "pods/log", "configmaps"], "verbs": ["get", "list", "watch"]},
]


class EdgeCluster(pulumi.ComponentResource):
    """The tenant side of an edge cluster: one namespace per service, locked down by default."""

    namespaces: dict[str, ManagedNamespace]

    def __init__(self, name: str, args: EdgeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("idcpilot:edge:Cluster", name, None, opts)
        self.args = args
        self.namespaces = {}
        self.cluster_roles = self._roles()
        for svc in args.services:
            self._service_namespace(svc)
        for svc in args.services:
            self._service(svc)
        self.audit_webhook: str | None = None
        if args.audit is not None:
            self._audit_shipping()
        self.register_outputs({
            "namespaces": sorted(self.namespaces),
            "auditWebhook": self.audit_webhook,
            "crossClusterCalls": list(args.cross_cluster_calls),
        })

    # ------------------------------------------------------------ roles

    def _roles(self) -> dict[str, objects.ClusterRole]:
        labels = self.args.common.labels("rbac", PLATFORM_CLASSIFICATION)
        roles = {}
        for role, rules in ROLE_RULES.items():
            roles[role] = objects.ClusterRole(
                f"idcpilot-{role}",
                metadata=kube.metadata(workload_role(role), labels),
                rules=rules,
                opts=pulumi.ResourceOptions(parent=self),
            )
        # Auditors and security officers act cluster-wide; administrators only where services run.
        for role in ("auditor", "security-officer"):
            objects.ClusterRoleBinding(
                f"idcpilot-{role}",
                metadata=kube.metadata(workload_role(role), labels),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": workload_role(role)},
                subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": cv.ROLE_GROUPS[role]}],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[roles[role]]),
            )
        return roles

    # ------------------------------------------------------------ services

    def _service_labels(self, svc: ServiceArgs) -> dict[str, str]:
        labels = self.args.common.labels("service", svc.classification)
        labels[cv.LABEL_NAME] = svc.name
        if svc.level:
            labels[cv.LABEL_SERVICE_LEVEL] = svc.level
        return labels

    def _service_namespace(self, svc: ServiceArgs) -> None:
        ns = managed_namespace(self, svc.namespace, self._service_labels(svc), [(svc.resources, svc.replicas)],
                               self.args.default_resources, pods_extra=1)
        self.namespaces[svc.namespace] = ns
        objects.RoleBinding(
            f"{svc.namespace}-administrator",
            metadata=kube.metadata(workload_role("administrator"), ns.labels, ns.name),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": workload_role("administrator")},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": cv.ROLE_GROUPS["administrator"]}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, self.cluster_roles["administrator"]]),
        )

    def _service(self, svc: ServiceArgs) -> None:
        ns = self.namespaces[svc.namespace]
        labels = self._service_labels(svc)
        selector = {cv.LABEL_NAME: svc.name}
        sa = service_account(self, ns, svc.name, labels)
        # Explicit allows from services[].talksTo: egress here, ingress at the callee.
        for peer in svc.talks_to:
            netpol(self, ns, f"allow-to-{peer.service}",
                   kube.allow_egress(selector, [{**kube.ns_peer(peer.namespace), "podSelector": {"matchLabels": {cv.LABEL_NAME: peer.service}}}], [peer.port]))
            netpol(self, self.namespaces[peer.namespace], f"allow-from-{svc.name}",
                   kube.allow_ingress({cv.LABEL_NAME: peer.service}, [{**kube.ns_peer(svc.namespace), "podSelector": {"matchLabels": selector}}], [peer.port]))
        container = kube.container(
            svc.name, svc.image, svc.resources, [("http", svc.port)],
            readinessProbe={"tcpSocket": {"port": svc.port}, "periodSeconds": 10},
            livenessProbe={"tcpSocket": {"port": svc.port}, "initialDelaySeconds": 15, "periodSeconds": 20},
            volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}],
        )
        deployment = objects.Deployment(
            f"{svc.namespace}-{svc.name}",
            metadata=kube.metadata(svc.name, labels, ns.name, self.args.common.workload_annotations()),
            spec={
                "replicas": svc.replicas,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": kube.pod_spec([container], SERVICE_UID, svc.name,
                                          volumes=[{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, sa]),
        )
        objects.Service(
            f"{svc.namespace}-{svc.name}",
            metadata=kube.metadata(svc.name, labels, ns.name, self.args.common.workload_annotations()),
            spec={"selector": selector, "ports": [{"name": "http", "port": svc.port, "targetPort": svc.port, "protocol": "TCP"}]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, deployment]),
        )

    # ------------------------------------------------------------ audit shipping

    def _audit_shipping(self) -> None:
        audit = self.args.audit
        assert audit is not None
        labels = self.args.common.labels("audit", PLATFORM_CLASSIFICATION)
        labels[cv.LABEL_NAME] = "audit-shipper"
        selector = {cv.LABEL_NAME: "audit-shipper"}
        replicas = 2
        ns = managed_namespace(self, cv.NS_AUDIT, labels, [(FLUENT_BIT_RESOURCES, replicas)], FLUENT_BIT_RESOURCES)
        self.namespaces[cv.NS_AUDIT] = ns
        netpol(self, ns, "allow-apiserver-webhook", kube.allow_ingress(selector, kube.ip_peers(audit.sources), [AUDIT_PORT]))
        netpol(self, ns, "allow-log-store", kube.allow_egress(selector, kube.ip_peers(audit.destinations), [audit.log_port]))
        reader = objects.Role(
            "audit-log-reader",
            metadata=kube.metadata("idcpilot:audit-log-reader", labels, ns.name),
            rules=AUDIT_LOG_READER,
            opts=ns.opts(self),
        )
        objects.RoleBinding(
            "audit-log-reader",
            metadata=kube.metadata("idcpilot:audit-log-reader", labels, ns.name),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "idcpilot:audit-log-reader"},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": cv.ROLE_GROUPS["auditor"]}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, reader]),
        )
        sa = service_account(self, ns, "audit-shipper", labels)
        config = objects.ConfigMap(
            "audit-shipper-config",
            metadata=kube.metadata("audit-shipper", labels, ns.name),
            data={"fluent-bit.conf": fluent_bit_config(self.args.common.cluster, audit.log_host, audit.log_port, audit.tls),
                  "audit.lua": AUDIT_LUA},
            opts=ns.opts(self),
        )
        container = kube.container(
            "fluent-bit", cv.image(self.args.common.registry, "fluent-bit"), FLUENT_BIT_RESOURCES,
            [("webhook", AUDIT_PORT), ("metrics", 2020)],
            args=["--config=/fluent-bit/etc/fluent-bit.conf"],
            readinessProbe={"httpGet": {"path": "/api/v1/health", "port": 2020}, "periodSeconds": 10},
            volumeMounts=[{"name": "config", "mountPath": "/fluent-bit/etc", "readOnly": True},
                          {"name": "buffer", "mountPath": "/buffer"}],
        )
        deployment = objects.Deployment(
            "audit-shipper",
            metadata=kube.metadata("audit-shipper", labels, ns.name, self.args.common.workload_annotations()),
            spec={
                "replicas": replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": kube.pod_spec([container], FLUENT_BIT_UID, "audit-shipper", volumes=[
                        {"name": "config", "configMap": {"name": "audit-shipper"}},
                        {"name": "buffer", "emptyDir": {"sizeLimit": "1Gi"}},
                    ]),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, sa, config]),
        )
        objects.Service(
            "audit-shipper",
            metadata=kube.metadata("audit-shipper", labels, ns.name, self.args.common.workload_annotations()),
            spec={"selector": selector, "ports": [{"name": "webhook", "port": AUDIT_PORT, "targetPort": AUDIT_PORT, "protocol": "TCP"}]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns.resource, deployment]),
        )
        self.audit_webhook = f"http://audit-shipper.{cv.NS_AUDIT}.svc:{AUDIT_PORT}/"


#: The apiserver posts an audit.k8s.io EventList; emit one record per event with a one-line
#: message (who, what, on which object, result, audit id) for the syslog store.
AUDIT_LUA = """\
local function get(t, ...)
  for _, k in ipairs({...}) do
    if type(t) ~= "table" then return "-" end
    t = t[k]
  end
  if t == nil then return "-" end
  return tostring(t)
end

function split_events(tag, ts, record)
  local events = record["items"]
  if type(events) ~= "table" then return 0, ts, record end
  local out = {}
  for _, e in ipairs(events) do
    local object = get(e, "objectRef", "resource") .. "/" .. get(e, "objectRef", "namespace") .. "/" .. get(e, "objectRef", "name")
    e["message"] = string.format("stage=%s user=%s verb=%s object=%s code=%s source=%s auditID=%s",
      get(e, "stage"), get(e, "user", "username"), get(e, "verb"), object,
      get(e, "responseStatus", "code"), get(e, "sourceIPs", 1), get(e, "auditID"))
    table.insert(out, e)
  end
  return 2, ts, out
end
"""


def fluent_bit_config(cluster: str, host: str, port: int, tls: bool) -> str:
    """Kubernetes audit events (apiserver webhook backend) to the central log store (RFC 5425)."""
    tls_lines = "    tls           On\n    tls.verify    On\n" if tls else "    tls           Off\n"
    return (
        "[SERVICE]\n"
        "    Flush         1\n"
        "    Log_Level     info\n"
        "    HTTP_Server   On\n"
        "    HTTP_Listen   0.0.0.0\n"
        "    HTTP_Port     2020\n"
        "    Health_Check  On\n"
        "    storage.path  /buffer\n"
        "    storage.sync  normal\n"
        "\n[INPUT]\n"
        "    Name          http\n"
        "    Listen        0.0.0.0\n"
        f"    Port          {AUDIT_PORT}\n"
        "    Tag           kube.audit\n"
        "    storage.type  filesystem\n"
        "\n[FILTER]\n"
        "    Name          lua\n"
        "    Match         kube.audit\n"
        "    script        /fluent-bit/etc/audit.lua\n"
        "    call          split_events\n"
        "\n[FILTER]\n"
        "    Name          record_modifier\n"
        "    Match         kube.audit\n"
        f"    Record        cluster {cluster}\n"
        "\n[OUTPUT]\n"
        "    Name          syslog\n"
        "    Match         kube.audit\n"
        f"    Host          {host}\n"
        f"    Port          {port}\n"
        f"    Mode          {'tls' if tls else 'tcp'}\n"
        + tls_lines
        + "    Syslog_Format rfc5424\n"
        "    Syslog_Appname kube-apiserver-audit\n"
        "    Syslog_Message_Key message\n"
        "    Syslog_Hostname_Key cluster\n"
        "    Retry_Limit   False\n"
    )
