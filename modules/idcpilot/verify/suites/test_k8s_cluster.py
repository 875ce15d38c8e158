"""Verify the Kubernetes edge clusters the k8s_control_plane role brings up, read back live.

On every control-plane host, through THAT host's API server (each API server has its own
admission, encryption, audit and authentication settings) with the admin kubeconfig on the host:

* MLPS3-TLS: /readyz is "ok" over TLS verified with the cluster CA; the API server refuses TLS 1.0
  and 1.1 from this machine; every etcd member is healthy over TLS with client certificates, one
  member per control-plane host, every peer and client URL https.
* MLPS3-MGMT-ACL: the API server, etcd, controller manager and scheduler listen only on the
  host's management address (inside the management networks) or loopback (`ss -ltnp`), and the
  API port does not answer on the host's other addresses.
* MLPS3-AUTH-REMOTE: a request without credentials is refused as unauthenticated (401).
* K8S-SECRETS: a Secret written through the API is stored encrypted in etcd (`k8s:enc:`).
* K8S-PSA: a privileged Pod is refused by admission in a workload namespace (dry-run), and a
  Deployment with a non-compliant template gets FailedCreate on its ReplicaSet.
* MLPS3-ACCESS-ROLES: administrator, auditor and security officer separated, asked with
  `kubectl auth can-i --as` for every identity of the estate.
* PILOT-TRACEABLE: the create is in the audit log with retention >= the threshold, and the
  Secret's value is not; with an audit webhook the event is "not verified" (skipped) with its URL.

From the first control-plane host of each cluster, one line per estate node (PILOT-MLPS3): the Node
is registered and Ready; a Node labelled idcpilot.io/simulated=kwok is reported "simulated (kwok)"
and skipped, never passed: no kubelet runs there.

Every command is bounded (`timeout` on the host); temporary namespaces are deleted in `finally`.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
import testinfra

from idcpilot import catalogue as catalogue_mod
from idcpilot.verify.suites import k8s_support as k8s
from idcpilot.verify.suites.baseline_support import setting, thresholds
from idcpilot.verify.suites.edge_support import https, in_networks, old_tls_refused, tls_context

CONTROL_PLANE = pytest.mark.group("role_k8s_control_plane")
ENV = os.environ.get("IDCPILOT_VERIFY_ENV")
CATALOGUE = catalogue_mod.load(Path(ENV)) if ENV else None
CLUSTERS = k8s.estate_clusters(CATALOGUE) if CATALOGUE else []
FAILED_CREATE_WAIT = 60  # seconds for the ReplicaSet controller to report FailedCreate


def _control_plane_setting(hostvars, name: str):
    """The k8s_control_plane role's value on this host (None when the role does not document it)."""
    try:
        return setting(hostvars, name, role="k8s_control_plane")
    except (FileNotFoundError, LookupError):
        return None


def _control_plane(name: str, hostvars) -> k8s.ControlPlane:
    """How to reach a control-plane host's tools: kubectl and etcdctl where the roles install them
    (the control plane's bin dir, else the node role's), the role's configuration directory."""
    bin_dir = _control_plane_setting(hostvars, "k8s_control_plane_bin_dir") or setting(hostvars, "k8s_node_bin_dir", role="k8s_node")
    config_dir = _control_plane_setting(hostvars, "k8s_control_plane_config_dir") or k8s.CONFIG_DIR
    return k8s.ControlPlane(name, k8s.management_address(hostvars), bin_dir, config_dir)


@pytest.fixture
def cp(host_name, hostvars) -> k8s.ControlPlane:
    return _control_plane(host_name, hostvars)


@pytest.fixture
def cluster(cp) -> k8s.ClusterView:
    mine = k8s.clusters_of_control_plane(CLUSTERS, cp.name)
    assert len(mine) == 1, f"{cp.name} has role k8s_control_plane but is in the control plane of {[c.name for c in mine]}"
    return mine[0]


def _run(host, command: str, what: str):
    out = host.run(command)
    assert out.rc != 124, f"{what}: timed out"
    return out


def _process_argv(host, unit: str) -> list[str]:
    pid = _run(host, f"systemctl show -p MainPID --value {unit}", unit).stdout.strip()
    assert pid and pid != "0", f"{unit} is not running as a systemd service"
    return k8s.argv_of(_run(host, f"tr '\\0' '\\n' < /proc/{int(pid)}/cmdline", f"{unit} command line").stdout)


@pytest.fixture
def apiserver_flags(host) -> dict[str, str]:
    return k8s.flags(_process_argv(host, "kube-apiserver"))


@pytest.fixture
def scratch_namespace(host, cp):
    """A temporary workload namespace (no Pod Security labels: the cluster default applies)."""
    name = k8s.scratch_name("idcpilot-verify", cp.name)
    created = _run(host, cp.kubectl(f"create namespace {name}"), "create namespace")
    assert created.rc == 0, created.stderr
    try:
        # the controller manager gives a new namespace its default service account a moment later;
        # until then admission refuses every Pod for that reason, not the one a probe is after
        ready = _run(host, cp.kubectl(f"wait --for=create serviceaccount/default -n {name} --timeout=15s"), "default service account")
        assert ready.rc == 0, f"namespace {name} got no default service account: {ready.stderr}"
        yield name
    finally:
        host.run(cp.kubectl(f"delete namespace {name} --wait=false --ignore-not-found"))


@pytest.fixture
def cluster_ca(host, cp) -> str:
    """The cluster CA certificate, copied to this machine for TLS checks from the management network."""
    pem = host.file(cp.ca).content_string
    with tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False) as fh:
        fh.write(pem)
    try:
        yield fh.name
    finally:
        os.unlink(fh.name)


# --------------------------------------------------------------------------- MLPS3-TLS


@pytest.mark.rule("MLPS3-TLS")
@CONTROL_PLANE
def test_apiserver_ready_over_tls_with_the_cluster_ca(host, cp, apiserver_flags, cluster_ca, measure):
    ready = _run(host, cp.kubectl("get --raw /readyz"), "readyz")
    assert ready.rc == 0 and ready.stdout.strip() == "ok", f"/readyz on {cp.server}: {ready.stdout} {ready.stderr}"
    reply = https(cp.address, k8s.API_PORT, "/livez", tls_context(cluster_ca))
    assert not reply.error, f"TLS with the cluster CA from the management network: {reply.error}"
    assert apiserver_flags.get("tls-min-version") in ("VersionTLS12", "VersionTLS13"), apiserver_flags.get("tls-min-version")
    old = old_tls_refused(cp.address, k8s.API_PORT)
    measure("apiserver_old_tls", old)
    assert all(v == "refused" for v in old.values()), old


@pytest.mark.rule("MLPS3-TLS")
@CONTROL_PLANE
def test_every_etcd_member_healthy_over_tls(host, cp, cluster, apiserver_flags, inventory, measure):
    health = _run(host, cp.etcdctl("endpoint health --cluster -w json"), "etcdctl endpoint health")
    endpoints = k8s.endpoint_health(health.stdout)
    for e in endpoints:
        measure(f"etcd_health_ms.{e.endpoint}", e.took_ms)
    sick = [f"{e.endpoint}: {e.error or 'unhealthy'}" for e in endpoints if not e.healthy]
    assert not sick and health.rc == 0, f"etcd members unhealthy: {sick or health.stderr}"
    members = k8s.member_list(_run(host, cp.etcdctl("member list -w json"), "etcdctl member list").stdout)
    assert len(endpoints) == len(cluster.control_plane), f"{len(endpoints)} etcd endpoints for {len(cluster.control_plane)} control planes"
    problems = k8s.member_problems(members, {h: k8s.management_address(inventory.hostvars[h]) for h in cluster.control_plane})
    assert not problems, problems
    servers = apiserver_flags.get("etcd-servers", "").split(",")
    assert servers and all(s.startswith("https://") for s in servers), f"API server reaches etcd at {servers}"
    etcd = k8s.flags(_process_argv(host, "etcd"))
    for flag in ("client-cert-auth", "peer-client-cert-auth"):
        assert etcd.get(flag) == "true", f"etcd --{flag} is {etcd.get(flag)!r}"
    assert etcd.get("tls-min-version", "TLS1.2") in ("TLS1.2", "TLS1.3"), etcd.get("tls-min-version")


# --------------------------------------------------------------------------- MLPS3-MGMT-ACL


@pytest.mark.rule("MLPS3-MGMT-ACL")
@CONTROL_PLANE
def test_control_plane_listens_on_the_management_address_only(host, hostvars, cp, apiserver_flags):
    assert in_networks(cp.address, hostvars["idcpilot_management_cidrs"]), f"{cp.address} outside the management networks"
    assert apiserver_flags.get("bind-address") == cp.address, f"--bind-address={apiserver_flags.get('bind-address')}"
    with host.sudo():
        found = k8s.listeners(_run(host, "timeout 10 ss -Hltnp", "ss").stdout)
    api = [s for s in found if "kube-apiserver" in s.processes]
    assert api and {(s.address, s.port) for s in api} == {(cp.address, k8s.API_PORT)}, f"kube-apiserver listens on {api}"
    stray = k8s.stray_listeners(found, k8s.CONTROL_PLANE_PROCESSES, {cp.address})
    assert not stray, f"listening beyond the management address: {stray}"
    others = sorted({a for k, a in (hostvars.get("idcpilot_addresses") or {}).items() if k != "management" and a != cp.address})
    for address in others:
        probe = host.run(f"timeout 3 bash -c '</dev/tcp/{address}/{k8s.API_PORT}'")
        assert probe.rc != 0, f"the API server answers on {address} (not the management address)"


# --------------------------------------------------------------------------- MLPS3-AUTH-REMOTE


@pytest.mark.rule("MLPS3-AUTH-REMOTE")
@CONTROL_PLANE
def test_anonymous_requests_are_refused(cp, apiserver_flags, cluster_ca):
    assert apiserver_flags.get("anonymous-auth") == "false", f"--anonymous-auth={apiserver_flags.get('anonymous-auth')}"
    modes = apiserver_flags.get("authorization-mode", "").split(",")
    assert "RBAC" in modes and "AlwaysAllow" not in modes, modes
    for path in ("/readyz", "/version", "/api/v1/namespaces/kube-system/secrets"):
        reply = https(cp.address, k8s.API_PORT, path, tls_context(cluster_ca))
        assert reply.status == 401, f"GET {path} without credentials: {reply.status or reply.error}, expected 401"


# --------------------------------------------------------------------------- K8S-SECRETS


@pytest.mark.rule("K8S-SECRETS")
@CONTROL_PLANE
def test_secret_written_through_the_api_is_stored_encrypted(host, cp, apiserver_flags, scratch_namespace, measure):
    assert apiserver_flags.get("encryption-provider-config"), "kube-apiserver has no --encryption-provider-config"
    name, value = k8s.scratch_name("probe", "secret"), k8s.scratch_name("plaintext", "value")
    made = _run(host, cp.kubectl(f"create secret generic {name} -n {scratch_namespace} --from-literal=probe={value}"), "create secret")
    assert made.rc == 0, made.stderr
    try:
        key = f"{apiserver_flags.get('etcd-prefix', '/registry').rstrip('/')}/secrets/{scratch_namespace}/{name}"
        raw = _run(host, cp.etcdctl(f"get {key} --print-value-only") + " | base64 -w0", "etcdctl get")
        assert raw.rc == 0 and raw.stdout.strip(), f"{key} not found in etcd: {raw.stderr}"
        provider, stored = k8s.stored_encryption(raw.stdout)
        measure("secret_encryption_provider", provider or "none (stored in clear)")
        assert provider is not None and provider != "identity", f"{key} is stored in clear: {stored[:40]!r}"
        assert value.encode() not in stored, "the Secret's value appears in etcd in clear"
    finally:
        host.run(cp.kubectl(f"delete secret {name} -n {scratch_namespace} --ignore-not-found"))


# --------------------------------------------------------------------------- K8S-PSA


def _image(hostvars) -> str:
    return f"{hostvars['idcpilot_registry']}/idcpilot/verify-probe:1"  # never pulled: admission refuses first


@pytest.mark.rule("K8S-PSA")
@CONTROL_PLANE
def test_pods_breaking_restricted_refused_in_workload_namespaces(host, hostvars, cp, scratch_namespace):
    """Server-side dry runs: a privileged Pod is refused, and a Pod that breaks only "restricted"
    (no securityContext) is refused by Pod Security itself, in a fresh namespace and in default."""
    for namespace in (scratch_namespace, "default"):
        for privileged in (True, False):
            pod = k8s.probe_pod(namespace, "idcpilot-verify-probe", _image(hostvars), privileged)
            out = _run(host, k8s.piped(pod, cp.kubectl("create --dry-run=server -f -")), "dry-run create")
            refused = k8s.privileged_refusal(out.stderr) if privileged else k8s.pod_security_refusal(out.stderr)
            what = "a privileged Pod" if privileged else 'a Pod breaking Pod Security "restricted"'
            assert out.rc != 0 and refused, f"{what} was not refused in {namespace}: {out.stdout} {out.stderr}"
    listed = _run(host, cp.kubectl("get namespaces -o json"), "get namespaces")
    assert listed.rc == 0, listed.stderr
    weakened = k8s.weakened_namespaces(json.loads(listed.stdout))
    assert not weakened, f"namespaces labelled below restricted ({k8s.PSA_ENFORCE_LABEL}): {weakened}"


@pytest.mark.rule("K8S-PSA")
@CONTROL_PLANE
def test_noncompliant_deployment_gets_failed_create(host, hostvars, cp, scratch_namespace, measure):
    name = "idcpilot-verify-noncompliant"
    made = _run(host, k8s.piped(k8s.noncompliant_deployment(scratch_namespace, name, _image(hostvars)), cp.kubectl("create -f -")), "create deployment")
    assert made.rc == 0, made.stderr
    selector = "reason=FailedCreate,involvedObject.kind=ReplicaSet"
    t0, events = time.monotonic(), []
    while time.monotonic() - t0 < FAILED_CREATE_WAIT:
        got = _run(host, cp.kubectl(f"get events -n {scratch_namespace} --field-selector {selector} -o json"), "get events")
        events = json.loads(got.stdout or "{}").get("items", []) if got.rc == 0 else []
        if events:
            break
        time.sleep(2)
    measure("failed_create_s", round(time.monotonic() - t0, 1))
    assert events, f"no FailedCreate on the ReplicaSet of {name} within {FAILED_CREATE_WAIT}s (is kube-controller-manager running?)"
    assert any(k8s.pod_security_refusal(e.get("message", "")) for e in events), [e.get("message") for e in events][:3]
    pods = _run(host, cp.kubectl(f"get pods -n {scratch_namespace} -o name"), "get pods")
    assert pods.stdout.strip() == "", f"non-compliant Pods exist: {pods.stdout}"


# --------------------------------------------------------------------------- MLPS3-ACCESS-ROLES


@pytest.mark.rule("MLPS3-ACCESS-ROLES")
@CONTROL_PLANE
def test_administrator_auditor_security_officer_separated(host, cp, scratch_namespace, measure):
    role_groups = thresholds().get("mlps3.roleGroups")
    people = k8s.identities(CATALOGUE)
    questions, conflicts = k8s.separation_questions(people, role_groups, scratch_namespace)
    assert not conflicts, f"identities holding more than one separated role: {conflicts}"
    for role, group in role_groups.items():
        assert any(group in groups for _, groups in people), f"no identity of the estate is in {group} ({role}): nothing to verify"
    answers = _run(host, k8s.can_i_script(cp.kubectl("", timeout=15), questions), "kubectl auth can-i")
    wrong = k8s.can_i_mismatches(questions, answers.stdout)
    measure("can_i_questions", len(questions))
    assert not wrong, f"{len(wrong)} of {len(questions)} answers break the separation: {wrong[:8]}"


# --------------------------------------------------------------------------- PILOT-TRACEABLE


@pytest.mark.rule("PILOT-TRACEABLE")
@CONTROL_PLANE
def test_create_is_in_the_audit_log(host, cp, apiserver_flags, scratch_namespace, measure):
    log_path = apiserver_flags.get("audit-log-path")
    webhook = apiserver_flags.get("audit-webhook-config-file")
    assert apiserver_flags.get("audit-policy-file"), "kube-apiserver has no --audit-policy-file"
    if not log_path or log_path == "-":
        assert webhook, "kube-apiserver has neither an audit log nor an audit webhook"
        with host.sudo():
            url = k8s.webhook_server(host.file(webhook).content_string)
        pytest.skip(f"not verified: audit goes to webhook {url or webhook} (not readable from here)")
    minimum = int(thresholds().get("audit.minRetentionDays"))
    maxage = int(apiserver_flags.get("audit-log-maxage", "0") or 0)
    measure("audit_log_maxage_days", maxage)
    assert maxage >= minimum, f"--audit-log-maxage={maxage}, at least {minimum} days"
    name, value = k8s.scratch_name("audited", "secret"), k8s.scratch_name("plaintext", "value")
    made = _run(host, cp.kubectl(f"create secret generic {name} -n {scratch_namespace} --from-literal=probe={value}"), "create secret")
    assert made.rc == 0, made.stderr
    try:
        event = None
        for _ in range(10):  # the audit backend writes in batches
            with host.sudo():
                found = host.run(f"timeout 10 grep -hF {name} {log_path}")
            event = k8s.find_audit_event(k8s.audit_events(found.stdout), "create", "secrets", scratch_namespace, name)
            if event:
                break
            time.sleep(1)
        assert event, f"no audit event for creating secret {scratch_namespace}/{name} in {log_path}"
        assert value not in found.stdout, "the audit log holds the Secret's value (secrets must be logged at Metadata level)"
        measure("audit_user", (event.get("user") or {}).get("username"))
    finally:
        host.run(cp.kubectl(f"delete secret {name} -n {scratch_namespace} --ignore-not-found"))


# --------------------------------------------------------------------------- nodes (first control plane)


@pytest.mark.rule(k8s.NODE_RULE)
@pytest.mark.group("role_k8s_node")
def test_node_registered_and_ready(host, host_name, inventory, measure):
    """Asked on the first control-plane host of each of the node's clusters."""
    node = host_name
    mine = k8s.clusters_of_node(CLUSTERS, node)
    assert mine, f"{node} has role k8s_node but no cluster of the estate lists it in nodes"
    mode = setting(inventory.hostvars[node], "k8s_node_mode", role="k8s_node") or "kubelet"
    simulated = []
    for view in mine:
        assert view.control_plane, f"cluster {view.name} has no control-plane host to ask"
        first = view.control_plane[0]
        cp_host = testinfra.get_host(f"ansible://{first}", ansible_inventory=os.environ.get("IDCPILOT_VERIFY_INVENTORY"))
        cp = _control_plane(first, inventory.hostvars[first])
        got = _run(cp_host, cp.kubectl(f"get node {node} -o json --ignore-not-found"), f"kubectl on {first}")
        assert got.rc == 0, f"asking {first}: {got.stderr}"
        assert got.stdout.strip(), f"{node} is not registered in cluster {view.name} (asked {first})"
        state = k8s.node_state(json.loads(got.stdout))
        if state["simulated"]:
            measure(k8s.node_measurement(view.name), k8s.SIMULATED)
            assert mode == "kwok", f"{node} is {k8s.SIMULATED} in {view.name} but the estate deploys a real kubelet there (k8s_node_mode={mode})"
            simulated.append(f"{view.name} (Ready={state['ready']} as reported by kwok on {first})")
            continue
        measure(k8s.node_measurement(view.name), f"real (kubelet {state['kubelet']})")
        assert mode != "kwok", f"{node} should be {k8s.SIMULATED} (k8s_node_mode=kwok) but a kubelet registered it in {view.name}"
        assert state["ready"], f"{node} is not Ready in {view.name}: {state['reason']}"
        assert state["kubelet"] == f"v{view.version}", f"{node} runs kubelet {state['kubelet']}, cluster {view.name} is v{view.version}"
    if simulated:
        running = host.run("systemctl is-active kubelet").stdout.strip()
        pytest.skip(f"{k8s.SIMULATED}: Node {node} is registered in {', '.join(simulated)}; no kubelet runs on it "
                    f"(kubelet {running or 'unknown'}), so it is not verified as a node")
