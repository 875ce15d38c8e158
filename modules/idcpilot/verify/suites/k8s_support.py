"""Helpers for test_k8s_cluster.py: the estate's clusters and identities, the commands run on a
control-plane host (kubectl with the admin kubeconfig pinned to that host's API server, etcdctl
with the health-check client certificate), and pure parsers of what they print (ss, etcdctl JSON,
process command lines, audit log lines, kubectl auth can-i answers).

Paths are the k8s_control_plane role's layout (kubeadm's) under its configuration directory
(k8s_control_plane_config_dir, /etc/kubernetes by default): admin.conf, pki/ca.crt, pki/etcd/....
Everything here that does not touch a host is pure and unit-tested (tests/verify_k8s/).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import secrets
import shlex
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

from idcpilot.catalogue.estate import Catalogue
from idcpilot.errors import UserInputError
from idcpilot.yamlsource import load_yaml_text

CONFIG_DIR = "/etc/kubernetes"  # the role's default configuration directory
API_PORT = 6443
ETCD_CLIENT_PORT = 2379

#: The label the kwok controller puts on a Node that no kubelet runs (the contract between the
#: k8s_node role's kwok mode and verify); every line about such a node says SIMULATED.
SIMULATED_LABEL = "idcpilot.io/simulated"
SIMULATED_VALUE = "kwok"
SIMULATED = "simulated (kwok)"

#: The node test's measurement (rule PILOT-MLPS3) per cluster: SIMULATED or "real (kubelet vX)";
#: verify keys it "<host>.node.<cluster>", which the report's cluster lines read.
NODE_RULE = "PILOT-MLPS3"
NODE_TEST = "test_node_registered_and_ready"


def node_measurement(cluster: str) -> str:
    return f"node.{cluster}"


#: Process names whose sockets must stay on the management address or loopback (MLPS3-MGMT-ACL).
CONTROL_PLANE_PROCESSES = ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler")

# --------------------------------------------------------------------------- the estate


@dataclass(frozen=True)
class ClusterView:
    name: str
    version: str
    control_plane: tuple[str, ...]
    nodes: tuple[str, ...]


def estate_clusters(cat: Catalogue) -> list[ClusterView]:
    """Every cluster of the catalogue with its hosts (host groups expanded, as the inventory does)."""
    return [
        ClusterView(c.name, c.kubernetes_version,
                    tuple(h.name for h in cat.members(c.control_plane)),
                    tuple(h.name for h in cat.members(c.nodes)))
        for c in cat.estate.spec.clusters
    ]


def clusters_of_control_plane(clusters: Iterable[ClusterView], host: str) -> list[ClusterView]:
    return [c for c in clusters if host in c.control_plane]


def clusters_of_node(clusters: Iterable[ClusterView], host: str) -> list[ClusterView]:
    return [c for c in clusters if host in c.nodes]


def identities(cat: Catalogue) -> list[tuple[str, tuple[str, ...]]]:
    return [(i.name, tuple(i.groups)) for i in cat.estate.spec.identities]


def management_address(hostvars: dict[str, Any]) -> str:
    address = (hostvars.get("idcpilot_addresses") or {}).get("management") or hostvars.get("ansible_host")
    if not address:
        raise LookupError("the inventory gives this host no management address")
    return str(address)


def scratch_name(prefix: str, host: str) -> str:
    """A DNS-1123 name unique to one test run on one host (several xdist workers run at once)."""
    stem = re.sub(r"[^a-z0-9-]", "-", f"{prefix}-{host}".lower()).strip("-")[:50].rstrip("-")
    return f"{stem}-{secrets.token_hex(3)}"


# --------------------------------------------------------------------------- commands on the host


@dataclass(frozen=True)
class ControlPlane:
    """One control-plane host as the suite reaches it."""

    name: str
    address: str
    bin_dir: str
    config_dir: str = CONFIG_DIR

    @property
    def server(self) -> str:
        return f"https://{self.address}:{API_PORT}"

    @property
    def ca(self) -> str:
        return f"{self.config_dir}/pki/ca.crt"

    def kubectl(self, args: str, timeout: int = 20) -> str:
        """kubectl through THIS host's API server (not the local load balancer): every API server
        applies its own admission, encryption and audit configuration, so each one is checked.
        The binary directory and address come from the inventory (estate input): quoted."""
        q = shlex.quote
        return (f"timeout {timeout} {q(self.bin_dir + '/kubectl')} --kubeconfig {q(self.config_dir + '/admin.conf')} --server {q(self.server)} "
                f"--request-timeout={max(timeout - 2, 1)}s {args}")

    def etcdctl(self, args: str, timeout: int = 20) -> str:
        q, pki = shlex.quote, f"{self.config_dir}/pki/etcd"
        return (f"timeout {timeout} env ETCDCTL_API=3 {q(self.bin_dir + '/etcdctl')} "
                f"--endpoints={q(f'https://{self.address}:{ETCD_CLIENT_PORT}')} --cacert={q(pki + '/ca.crt')} "
                f"--cert={q(pki + '/healthcheck-client.crt')} --key={q(pki + '/healthcheck-client.key')} "
                f"--dial-timeout=5s --command-timeout={max(timeout - 5, 1)}s {args}")


def piped(document: dict[str, Any], command: str) -> str:
    """`command` reading a JSON document on stdin (testinfra's run has no stdin of its own)."""
    return f"printf '%s' {shlex.quote(json.dumps(document))} | {command}"


# --------------------------------------------------------------------------- probes (manifests)


def _container(image: str, privileged: bool) -> dict[str, Any]:
    """A container as a careless manifest writes it: no securityContext breaks Pod Security
    "restricted" (allowPrivilegeEscalation, capabilities, runAsNonRoot, seccompProfile) but not
    "baseline"; privileged breaks both (and the API server's own --allow-privileged=false)."""
    container: dict[str, Any] = {"name": "probe", "image": image}
    if privileged:
        container["securityContext"] = {"privileged": True}
    return container


def probe_pod(namespace: str, name: str, image: str, privileged: bool) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [_container(image, privileged)]}}


def noncompliant_deployment(namespace: str, name: str, image: str) -> dict[str, Any]:
    """A Deployment the API accepts (Pod Security does not admit Deployments, and nothing in it is
    privileged) whose Pods break "restricted": the ReplicaSet controller's refusal is FailedCreate."""
    labels = {"app.kubernetes.io/name": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [_container(image, False)]}}}}


def pod_security_refusal(text: str) -> bool:
    """The API server's words when Pod Security admission refuses a Pod."""
    return bool(re.search(r'violates PodSecurity "(restricted|baseline):', text))


PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
SYSTEM_NAMESPACES = frozenset({"kube-system"})  # the exemptions, by name, of the admission configuration


def weakened_namespaces(namespace_list: dict[str, Any]) -> list[str]:
    """Namespaces (`kubectl get namespaces -o json`) whose label lowers Pod Security below
    "restricted": a label overrides the cluster default, so one label undoes K8S-PSA there."""
    out = []
    for ns in namespace_list.get("items") or []:
        meta = ns.get("metadata") or {}
        level = (meta.get("labels") or {}).get(PSA_ENFORCE_LABEL)
        if level is not None and level != "restricted" and meta.get("name") not in SYSTEM_NAMESPACES:
            out.append(f"{meta.get('name')}={level}")
    return out


def privileged_refusal(text: str) -> bool:
    """Pod Security's refusal, or the API server's own (--allow-privileged=false) for a privileged container."""
    return pod_security_refusal(text) or "securityContext.privileged: Forbidden: disallowed by cluster policy" in text


# --------------------------------------------------------------------------- parsers


def argv_of(cmdline: str) -> list[str]:
    """/proc/<pid>/cmdline (NUL-separated) or one argument per line -> argv."""
    return [a for a in re.split(r"[\0\n]", cmdline) if a]


def flags(argv: list[str]) -> dict[str, str]:
    """``--name=value`` / ``--name value`` / ``--name`` (true) -> {name: value}; the last one wins,
    as for the Kubernetes and etcd flag parsers."""
    out: dict[str, str] = {}
    i = 1 if argv and not argv[0].startswith("-") else 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            name, eq, value = arg.lstrip("-").partition("=")
            if not eq:
                if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                    value, i = argv[i + 1], i + 1
                else:
                    value = "true"
            out[name] = value
        i += 1
    return out


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    processes: tuple[str, ...]


def listeners(ss_output: str) -> list[Listener]:
    """`ss -Hltnp` -> listening sockets with their owning process names."""
    out = []
    for line in ss_output.splitlines():
        cols = line.split()
        if len(cols) < 4 or cols[0] != "LISTEN":
            continue
        address, _, port = cols[3].rpartition(":")
        if not port.isdigit():
            continue
        address = address.strip("[]").split("%", 1)[0]
        out.append(Listener(address, int(port), tuple(re.findall(r'\("([^"]+)",pid=', line))))
    return out


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


COMM_LENGTH = 15  # ss shows the kernel's process name (comm): "kube-controller-manager" is "kube-controller"


def stray_listeners(found: Iterable[Listener], processes: Iterable[str], allowed: set[str]) -> list[Listener]:
    """Sockets of `processes` on any address but loopback and `allowed` (a wildcard is stray)."""
    names = {p[:COMM_LENGTH] for p in processes}
    return [s for s in found if names & {p[:COMM_LENGTH] for p in s.processes}
            and not is_loopback(s.address) and s.address not in allowed]


_DURATION = re.compile(r"([0-9.]+)(ns|us|µs|ms|s|m|h)")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}


def go_duration_ms(text: str) -> float | None:
    """A Go time.Duration string ("12.3ms", "1m2.5s", "850µs") in milliseconds."""
    parts = _DURATION.findall(text or "")
    if not parts or "".join(n + u for n, u in parts) != (text or "").strip():
        return None
    return sum(float(n) * _UNIT_MS[u] for n, u in parts)


@dataclass(frozen=True)
class EndpointHealth:
    endpoint: str
    healthy: bool
    took_ms: float | None
    error: str


def endpoint_health(text: str) -> list[EndpointHealth]:
    """`etcdctl endpoint health --cluster -w json` (a JSON list, also printed when one is unhealthy)."""
    start = text.find("[")
    if start < 0:
        raise ValueError(f"no JSON list in etcdctl output: {text[:200]!r}")
    data = json.JSONDecoder().raw_decode(text[start:])[0]
    return [EndpointHealth(str(e.get("endpoint", "")), e.get("health") is True,
                           go_duration_ms(str(e.get("took", ""))), str(e.get("error") or ""))
            for e in data]


@dataclass(frozen=True)
class Member:
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]


def member_list(text: str) -> list[Member]:
    """`etcdctl member list -w json`."""
    data = json.loads(text)
    return [Member(str(m.get("name", "")), tuple(m.get("peerURLs") or ()), tuple(m.get("clientURLs") or ()))
            for m in data.get("members") or []]


def member_problems(members: list[Member], expected: dict[str, str]) -> list[str]:
    """One started member per control-plane host (host -> management address), found by its client
    URL on that address (member names are the role's choice), no other member, every URL https."""
    problems = []
    def on(m: Member, address: str) -> bool:
        return any(urlsplit(u).hostname == address for u in m.client_urls)
    for host, address in sorted(expected.items()):
        if not any(on(m, address) for m in members):
            problems.append(f"no etcd member serves clients on {host}'s management address {address}")
    for m in members:
        if not m.peer_urls or not m.client_urls:
            problems.append(f"{m.name or '(unstarted)'}: no peer or client URL (not started)")
        elif not any(on(m, a) for a in expected.values()):
            problems.append(f"{m.name}: a member on no control-plane host ({list(m.client_urls)})")
        plain = [u for u in (*m.peer_urls, *m.client_urls) if not u.startswith("https://")]
        if plain:
            problems.append(f"{m.name}: URLs without TLS {plain}")
    return problems


def stored_encryption(raw_base64: str) -> tuple[str | None, bytes]:
    """The raw etcd value (base64 of etcdctl's --print-value-only) -> (provider, value).

    Kubernetes writes encrypted values as ``k8s:enc:<provider>:v<n>:<key name>:<ciphertext>``
    (``k8s:enc:kms:v2:...`` for KMS v2); the provider is None when the value is stored in clear.
    """
    value = base64.b64decode(raw_base64.strip() or b"")
    if not value.startswith(b"k8s:enc:"):
        return None, value
    return value.split(b":", 3)[2].decode("ascii", "replace"), value


def audit_events(text: str) -> list[dict[str, Any]]:
    """Audit log lines (one JSON event each) -> events; a partly written last line is ignored."""
    out = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            out.append(event)
    return out


def find_audit_event(events: list[dict[str, Any]], verb: str, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
    for e in events:
        ref = e.get("objectRef") or {}
        if (e.get("verb") == verb and ref.get("resource") == resource and ref.get("name") == name
                and ref.get("namespace") == namespace and e.get("stage") in (None, "ResponseComplete")):
            return e
    return None


def webhook_server(kubeconfig_text: str) -> str | None:
    """The server of an audit webhook's kubeconfig file (first cluster)."""
    try:
        data = load_yaml_text(kubeconfig_text, "audit webhook kubeconfig")[0] or {}
    except UserInputError:
        return None
    clusters = data.get("clusters") if isinstance(data, dict) else None
    if not clusters or not isinstance(clusters, list):
        return None
    return ((clusters[0] or {}).get("cluster") or {}).get("server")


def node_state(node: dict[str, Any]) -> dict[str, Any]:
    """A Node object -> what verify reports: ready, simulated, kubelet version, its reason."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    conditions = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
    ready = conditions.get("Ready") or {}
    return {
        "name": (node.get("metadata") or {}).get("name"),
        "ready": ready.get("status") == "True",
        "reason": ready.get("reason") or ready.get("message") or "no Ready condition",
        "simulated": labels.get(SIMULATED_LABEL) == SIMULATED_VALUE,
        "kubelet": ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion"),
    }


# --------------------------------------------------------------------------- separation of duties

#: What each of the three separated roles may and may not do, asked with `kubectl auth can-i --as`.
#: (verb, resource, namespaced) -> {role: expected}; a role left out is not judged on that question.
#: administrator: workloads and their secrets, never permissions; auditor: reads, never secrets,
#: never writes; security officer: permissions and policies, never workloads or secrets; nobody
#: impersonates (that would undo the separation).
SEPARATION: tuple[tuple[str, str, bool, dict[str, bool]], ...] = (
    ("create", "deployments.apps", True, {"administrator": True, "auditor": False, "securityOfficer": False}),
    ("delete", "pods", True, {"administrator": True, "auditor": False, "securityOfficer": False}),
    ("get", "secrets", True, {"administrator": True, "auditor": False, "securityOfficer": False}),
    ("list", "pods", True, {"administrator": True, "auditor": True}),
    ("list", "events", True, {"auditor": True}),
    ("create", "rolebindings.rbac.authorization.k8s.io", True, {"administrator": False, "auditor": False, "securityOfficer": True}),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", False, {"administrator": False, "auditor": False, "securityOfficer": True}),
    ("create", "networkpolicies.networking.k8s.io", True, {"auditor": False, "securityOfficer": True}),
    ("impersonate", "users", False, {"administrator": False, "auditor": False, "securityOfficer": False}),
)


@dataclass(frozen=True)
class Question:
    identity: str
    groups: tuple[str, ...]
    verb: str
    resource: str
    namespace: str | None
    expected: bool

    def text(self) -> str:
        where = f" in {self.namespace}" if self.namespace else " cluster-wide"
        return f"{self.identity} {self.verb} {self.resource}{where}"


def separation_questions(people: list[tuple[str, tuple[str, ...]]], role_groups: dict[str, str],
                         namespace: str) -> tuple[list[Question], list[str]]:
    """The can-i questions for every identity, and the identities holding more than one role
    (a separation failure by itself). An identity in none of the three groups may do nothing."""
    questions, conflicts = [], []
    for name, groups in people:
        roles = sorted(role for role, group in role_groups.items() if group in groups)
        if len(roles) > 1:
            conflicts.append(f"{name} holds {' and '.join(roles)}")
            continue
        for verb, resource, namespaced, expected in SEPARATION:
            answer = expected.get(roles[0]) if roles else False
            if answer is not None:
                questions.append(Question(name, groups, verb, resource, namespace if namespaced else None, answer))
    return questions, conflicts


def can_i_script(kubectl: str, questions: list[Question]) -> str:
    """One shell script asking every question (one SSH round trip): lines ``Q<i> <answer>``."""
    lines = []
    for i, q in enumerate(questions):
        args = ["auth", "can-i", q.verb, q.resource, f"--as={q.identity}"]
        args += [f"--as-group={g}" for g in q.groups]
        args += ["-n", q.namespace] if q.namespace else ["--all-namespaces"]
        # kubectl's warnings (e.g. about scope) are not answers; its errors are kept to be reported
        lines.append(f"echo Q{i} $({kubectl} {' '.join(shlex.quote(a) for a in args)} 2>&1 | grep -v '^Warning:' | head -n 1)")
    return "\n".join(lines)


def can_i_mismatches(questions: list[Question], output: str) -> list[str]:
    answers = {}
    for line in output.splitlines():
        m = re.match(r"Q(\d+) ?(.*)$", line.strip())
        if m:
            answers[int(m.group(1))] = m.group(2).strip()
    out = []
    for i, q in enumerate(questions):
        answer = answers.get(i, "")
        word = answer.split(" ", 1)[0] if answer else ""
        if word not in ("yes", "no"):
            out.append(f"{q.text()}: no answer ({answer[:120] or 'nothing'})")
        elif (word == "yes") != q.expected:
            out.append(f"{q.text()}: {word}, expected {'yes' if q.expected else 'no'}")
    return out
