"""The pure parts of the Kubernetes cluster verification (idcpilot.verify.suites.k8s_support):
what etcdctl, ss, kubectl and the audit log print, read the way the live suite reads them, and
the separation-of-duties questions built from the estate's identities."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from idcpilot import catalogue
from idcpilot.verify.suites import k8s_support as k8s
from idcpilot.verify.suites.baseline_support import thresholds

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- process flags


def test_flags_read_like_the_kubernetes_flag_parser():
    argv = k8s.argv_of("/usr/local/bin/kube-apiserver\0--bind-address=10.0.0.5\0--secure-port\0006443\0"
                       "--anonymous-auth=true\0--profiling\0--anonymous-auth=false\0")
    f = k8s.flags(argv)
    assert f == {"bind-address": "10.0.0.5", "secure-port": "6443", "anonymous-auth": "false", "profiling": "true"}


def test_flags_of_an_empty_command_line():
    assert k8s.flags(k8s.argv_of("")) == {}


# --------------------------------------------------------------------------- ss


SS = """\
LISTEN 0      4096      10.213.0.5:6443       0.0.0.0:*    users:(("kube-apiserver",pid=811,fd=3))
LISTEN 0      4096      10.213.0.5:2379       0.0.0.0:*    users:(("etcd",pid=700,fd=8))
LISTEN 0      4096       127.0.0.1:2379       0.0.0.0:*    users:(("etcd",pid=700,fd=7))
LISTEN 0      4096      10.213.0.5:2380       0.0.0.0:*    users:(("etcd",pid=700,fd=6))
LISTEN 0      4096       127.0.0.1:6443       0.0.0.0:*    users:(("kube-lb",pid=900,fd=5))
LISTEN 0      4096               *:10257            *:*    users:(("kube-controller",pid=820,fd=3))
LISTEN 0      128    127.0.0.53%lo:53         0.0.0.0:*    users:(("systemd-resolve",pid=90,fd=14))
LISTEN 0      128             [::]:22            [::]:*    users:(("sshd",pid=80,fd=4))
LISTEN 0      128            [::1]:10259         [::]:*    users:(("kube-scheduler",pid=830,fd=3))
"""


def test_ss_listeners_with_processes():
    found = k8s.listeners(SS)
    assert k8s.Listener("10.213.0.5", 6443, ("kube-apiserver",)) in found
    assert k8s.Listener("127.0.0.53", 53, ("systemd-resolve",)) in found
    assert k8s.Listener("::", 22, ("sshd",)) in found
    assert k8s.Listener("::1", 10259, ("kube-scheduler",)) in found
    assert len(found) == 9


def test_stray_listeners_are_wildcards_and_other_addresses_of_control_plane_processes():
    stray = k8s.stray_listeners(k8s.listeners(SS), k8s.CONTROL_PLANE_PROCESSES, {"10.213.0.5"})
    assert [(s.address, s.port) for s in stray] == [("*", 10257)]  # sshd on [::] is not a control-plane process
    clean = SS.replace("               *:10257", "       127.0.0.1:10257")
    assert k8s.stray_listeners(k8s.listeners(clean), k8s.CONTROL_PLANE_PROCESSES, {"10.213.0.5"}) == []
    moved = SS.replace("10.213.0.5:6443", "   0.0.0.0:6443")
    assert ("0.0.0.0", 6443) in [(s.address, s.port) for s in
                                 k8s.stray_listeners(k8s.listeners(moved), k8s.CONTROL_PLANE_PROCESSES, {"10.213.0.5"})]


# --------------------------------------------------------------------------- etcdctl


@pytest.mark.parametrize("text,ms", [("12.345ms", 12.345), ("1.5s", 1500), ("850µs", 0.85), ("850us", 0.85),
                                     ("1m2.5s", 62500), ("3h", 1.08e7), ("", None), ("12", None), ("5ms junk", None)])
def test_go_durations(text, ms):
    got = k8s.go_duration_ms(text)
    assert got == pytest.approx(ms) if ms is not None else got is None


HEALTH = json.dumps([
    {"endpoint": "https://10.213.0.5:2379", "health": True, "took": "9.61ms"},
    {"endpoint": "https://10.213.0.6:2379", "health": False, "took": "5.000873s",
     "error": "context deadline exceeded"},
])


def test_endpoint_health_keeps_unhealthy_members_and_their_error():
    got = k8s.endpoint_health("{\"level\":\"warn\"}\n" + HEALTH)  # a log line before the JSON list
    assert got[0] == k8s.EndpointHealth("https://10.213.0.5:2379", True, pytest.approx(9.61), "")
    assert not got[1].healthy and got[1].error == "context deadline exceeded"


def test_endpoint_health_without_json_is_an_error_not_an_empty_pass():
    with pytest.raises(ValueError):
        k8s.endpoint_health("Error: context deadline exceeded")


MEMBERS = {"header": {"cluster_id": 1}, "members": [
    {"ID": 1, "name": "cp1", "peerURLs": ["https://10.213.0.5:2380"], "clientURLs": ["https://10.213.0.5:2379"]},
    {"ID": 2, "name": "cp2", "peerURLs": ["https://10.213.0.6:2380"], "clientURLs": ["https://10.213.0.6:2379", "https://127.0.0.1:2379"]},
]}


EXPECTED = {"cp1": "10.213.0.5", "cp2": "10.213.0.6"}


def test_members_one_per_control_plane_over_tls():
    members = k8s.member_list(json.dumps(MEMBERS))
    assert k8s.member_problems(members, EXPECTED) == []
    assert k8s.member_problems(members, EXPECTED | {"cp3": "10.213.0.7"}) == [
        "no etcd member serves clients on cp3's management address 10.213.0.7"]


def test_member_problems_name_plain_urls_strangers_and_unstarted_members():
    data = json.loads(json.dumps(MEMBERS))
    data["members"][1]["peerURLs"] = ["http://10.213.0.6:2380"]
    data["members"].append({"ID": 3, "peerURLs": ["https://10.213.0.7:2380"]})
    data["members"].append({"ID": 4, "name": "stray", "peerURLs": ["https://10.9.9.9:2380"], "clientURLs": ["https://10.9.9.9:2379"]})
    problems = k8s.member_problems(k8s.member_list(json.dumps(data)), EXPECTED)
    assert "cp2: URLs without TLS ['http://10.213.0.6:2380']" in problems
    assert any(p.startswith("(unstarted): no peer or client URL") for p in problems)
    assert "stray: a member on no control-plane host (['https://10.9.9.9:2379'])" in problems


@pytest.mark.parametrize("raw,provider", [
    (b"k8s:enc:aescbc:v1:key1:\x8f\x02\x11ciphertext", "aescbc"),
    (b"k8s:enc:secretbox:v1:key1:\x00\x01", "secretbox"),
    (b"k8s:enc:kms:v2:vault:\n\x12", "kms"),
    (b"k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12plaintext", None),  # the identity provider: protobuf in clear
    (b"", None),
])
def test_stored_encryption_reads_the_provider_of_the_raw_etcd_value(raw, provider):
    got, value = k8s.stored_encryption(base64.b64encode(raw).decode() + "\n")
    assert got == provider and value == raw


# --------------------------------------------------------------------------- audit


AUDIT = "\n".join([
    json.dumps({"kind": "Event", "stage": "ResponseComplete", "verb": "get",
                "objectRef": {"resource": "secrets", "namespace": "ns1", "name": "s1"}}),
    json.dumps({"kind": "Event", "stage": "ResponseStarted", "verb": "create",
                "objectRef": {"resource": "secrets", "namespace": "ns1", "name": "s1"}}),
    json.dumps({"kind": "Event", "stage": "ResponseComplete", "verb": "create", "user": {"username": "kubernetes-admin"},
                "objectRef": {"resource": "secrets", "namespace": "ns1", "name": "s1"}}),
    '{"kind":"Event","stage":"ResponseComplete","verb":"create","objectRef":{"reso',  # being written
])


def test_audit_event_of_the_completed_create():
    events = k8s.audit_events(AUDIT)
    assert len(events) == 3
    found = k8s.find_audit_event(events, "create", "secrets", "ns1", "s1")
    assert found and found["user"]["username"] == "kubernetes-admin"
    assert k8s.find_audit_event(events, "create", "secrets", "ns2", "s1") is None
    assert k8s.find_audit_event(events, "delete", "secrets", "ns1", "s1") is None


def test_webhook_server_from_its_kubeconfig():
    text = "apiVersion: v1\nkind: Config\nclusters:\n- name: audit\n  cluster:\n    server: https://10.0.0.9:8443/audit\n"
    assert k8s.webhook_server(text) == "https://10.0.0.9:8443/audit"
    assert k8s.webhook_server("clusters: [") is None
    assert k8s.webhook_server("[]") is None


# --------------------------------------------------------------------------- nodes


def _node(name, ready="True", labels=None, kubelet="v1.37.2"):
    return {"metadata": {"name": name, "labels": labels or {}},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "KubeletNotReady"}],
                       "nodeInfo": {"kubeletVersion": kubelet}}}


def test_node_state_says_simulated_for_kwok_nodes():
    real = k8s.node_state(_node("n1"))
    assert real == {"name": "n1", "ready": True, "reason": "KubeletReady", "simulated": False, "kubelet": "v1.37.2"}
    fake = k8s.node_state(_node("n2", labels={"idcpilot.io/simulated": "kwok", "type": "kwok"}, kubelet="fake"))
    assert fake["simulated"] and fake["ready"]
    assert not k8s.node_state(_node("n3", labels={"idcpilot.io/simulated": "no"}))["simulated"]
    assert k8s.node_state({"metadata": {"name": "n4"}})["ready"] is False


# --------------------------------------------------------------------------- the estate


@pytest.fixture(scope="module")
def lab():
    return catalogue.load(REPO / "inventories" / "lab")


def test_clusters_and_node_cases_from_the_catalogue(lab):
    clusters = k8s.estate_clusters(lab)
    assert [c.name for c in clusters] == [c.name for c in lab.estate.spec.clusters]
    first = clusters[0]
    assert first.control_plane and first.nodes and first.version == lab.estate.spec.clusters[0].kubernetes_version
    assert k8s.clusters_of_node(clusters, first.nodes[0]) == [first]
    assert k8s.clusters_of_control_plane(clusters, first.control_plane[0]) == [first]
    assert k8s.clusters_of_control_plane(clusters, "no-such-host") == []


def test_scratch_names_are_dns_labels_and_unique():
    a, b = k8s.scratch_name("idcpilot-verify", "Lab_SH.k8s01" + "x" * 80), k8s.scratch_name("idcpilot-verify", "lab")
    assert a != k8s.scratch_name("idcpilot-verify", "Lab_SH.k8s01" + "x" * 80)
    for name in (a, b):
        assert len(name) <= 63 and name == name.lower() and all(c.isalnum() or c == "-" for c in name)
        assert not name.startswith("-") and not name.endswith("-")


# --------------------------------------------------------------------------- separation of duties


ROLE_GROUPS = {"administrator": "admins", "auditor": "auditors", "securityOfficer": "security-officers"}


def test_questions_for_the_lab_identities(lab):
    questions, conflicts = k8s.separation_questions(k8s.identities(lab), thresholds().get("mlps3.roleGroups"), "ns")
    assert conflicts == []
    asked = {(q.identity, q.verb, q.resource): q.expected for q in questions}
    admin = next(n for n, g in k8s.identities(lab) if "admins" in g)
    auditor = next(n for n, g in k8s.identities(lab) if "auditors" in g)
    officer = next(n for n, g in k8s.identities(lab) if "security-officers" in g)
    assert asked[(admin, "create", "deployments.apps")] is True
    assert asked[(admin, "create", "clusterrolebindings.rbac.authorization.k8s.io")] is False
    assert asked[(auditor, "list", "pods")] is True and asked[(auditor, "get", "secrets")] is False
    assert asked[(officer, "create", "rolebindings.rbac.authorization.k8s.io")] is True
    assert asked[(officer, "create", "deployments.apps")] is False
    assert (officer, "list", "pods") not in asked  # not judged
    assert all(not expected for (_, verb, _), expected in asked.items() if verb == "impersonate")
    cluster_wide = [q for q in questions if q.resource in ("users", "clusterrolebindings.rbac.authorization.k8s.io")]
    assert cluster_wide and all(q.namespace is None for q in cluster_wide)


def test_an_identity_outside_the_three_roles_may_do_nothing_and_two_roles_conflict():
    questions, conflicts = k8s.separation_questions(
        [("dave", ("finance",)), ("eve", ("admins", "auditors"))], ROLE_GROUPS, "ns")
    assert conflicts == ["eve holds administrator and auditor"]
    assert questions and {q.identity for q in questions} == {"dave"} and not any(q.expected for q in questions)
    assert len(questions) == len(k8s.SEPARATION)


def _run_script(tmp_path, questions, answer="yes"):
    """Run the generated can-i script with a stand-in kubectl that records its arguments and, like
    kubectl 1.37 for a cluster-scoped resource, warns on stderr before answering."""
    fake = tmp_path / "kubectl"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {tmp_path}/argv\n'
                    f'echo "Warning: resource \'x\' is not namespace scoped" >&2\necho "{answer}"\n')
    fake.chmod(0o755)
    script = k8s.can_i_script(str(fake), questions)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    return out.stdout, (tmp_path / "argv").read_text().splitlines()


def test_can_i_script_asks_each_question_with_the_identity_and_its_groups(tmp_path):
    questions, _ = k8s.separation_questions([("alice", ("ops", "admins"))], ROLE_GROUPS, "ns")
    out, argv = _run_script(tmp_path, questions)
    assert argv[:8] == ["auth", "can-i", "create", "deployments.apps", "--as=alice", "--as-group=ops", "--as-group=admins", "-n"]
    i = argv.index("--all-namespaces")  # cluster-wide questions are asked cluster-wide
    assert argv[i - 5:i - 3] == ["create", "clusterrolebindings.rbac.authorization.k8s.io"]
    wrong = k8s.can_i_mismatches(questions, out)
    assert wrong and all(w.endswith("yes, expected no") for w in wrong)
    assert len(wrong) == sum(1 for q in questions if not q.expected)


def test_can_i_script_quotes_identity_names(tmp_path):
    hostile = "x$(touch pwned);`touch pwned2`"
    questions, _ = k8s.separation_questions([(hostile, ("g'; touch pwned3",))], ROLE_GROUPS, "ns")
    _, argv = _run_script(tmp_path, questions, answer="no")
    assert f"--as={hostile}" in argv and "--as-group=g'; touch pwned3" in argv
    assert not list(tmp_path.glob("pwned*"))


@pytest.mark.parametrize("output,problem", [
    ("Q0 no - RBAC: clusterrole not found", None),
    ("Q0 yes", "dave create deployments.apps in ns: yes, expected no"),
    ("Q0 error: You must be logged in to the server (Unauthorized)", "dave create deployments.apps in ns: no answer (error:"),
    ("", "dave create deployments.apps in ns: no answer (nothing)"),
])
def test_can_i_answers(output, problem):
    q = k8s.Question("dave", (), "create", "deployments.apps", "ns", False)
    got = k8s.can_i_mismatches([q], output)
    assert got == [] if problem is None else got[0].startswith(problem)


# --------------------------------------------------------------------------- probes


def test_piped_documents_reach_the_command_intact():
    doc = {"metadata": {"name": "it's \"quoted\" $(not run) %s"}}
    out = subprocess.run(["bash", "-c", k8s.piped(doc, "cat")], capture_output=True, text=True, timeout=10)
    assert json.loads(out.stdout) == doc


def test_probe_manifests():
    assert k8s.probe_pod("ns", "p", "reg:5000/x:1", True)["spec"]["containers"][0]["securityContext"]["privileged"] is True
    assert "securityContext" not in k8s.probe_pod("ns", "p", "reg:5000/x:1", False)["spec"]["containers"][0]
    dep = k8s.noncompliant_deployment("ns", "d", "reg:5000/x:1")
    assert "securityContext" not in dep["spec"]["template"]["spec"]["containers"][0]  # the API must accept it
    assert dep["spec"]["selector"]["matchLabels"] == dep["spec"]["template"]["metadata"]["labels"]


def test_pod_security_refusal_wording():
    refused = ('Error from server (Forbidden): error when creating "STDIN": pods "p" is forbidden: violates PodSecurity '
               '"restricted:latest": privileged (container "probe" must not set securityContext.privileged=true)')
    assert k8s.pod_security_refusal(refused) and k8s.privileged_refusal(refused)
    assert not k8s.pod_security_refusal('Error from server (Forbidden): pods "p" is forbidden: User "x" cannot create')
    # kube-apiserver 1.37.2 with --allow-privileged=false, as read from it
    validation = ('The Pod "p" is invalid: spec.containers[0].securityContext.privileged: Forbidden: disallowed by cluster policy')
    assert k8s.privileged_refusal(validation) and not k8s.pod_security_refusal(validation)


# --------------------------------------------------------------------------- the suite itself


def test_the_suite_collects_per_control_plane_and_per_node_for_the_lab(tmp_path):
    """`idcpilot verify`'s own pytest run, collection only (no host is contacted): cluster checks
    on the control-plane hosts, node lines on the node hosts, nothing on other hosts."""
    import os
    import sys

    from idcpilot.verify.inventory import render, to_yaml_inventory

    env_dir = REPO / "inventories" / "lab"
    hostvars, groups = render(env_dir, REPO / "ansible.cfg")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(to_yaml_inventory(hostvars, groups))
    hosts = ",".join(f"ansible://{h}" for h in sorted(hostvars))
    env = os.environ | {"IDCPILOT_VERIFY_ENV": str(env_dir), "IDCPILOT_VERIFY_INVENTORY": str(inventory),
                        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_INVENTORY_ENABLED": "idcpilot_estate,yaml,host_list,ini",
                        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "pytest", str(REPO / "modules/idcpilot/verify/suites/test_k8s_cluster.py"),
                          "-p", "no:cacheprovider", "-o", "addopts=", "--strict-markers", "-q", "--collect-only",
                          f"--hosts={hosts}", f"--ansible-inventory={inventory}"],
                         capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    items = [l for l in out.stdout.splitlines() if "::" in l]
    control_planes, nodes = groups["role_k8s_control_plane"], groups["role_k8s_node"]
    on = {h: [i.split("::")[1].split("[")[0] for i in items if i.endswith(f"[ansible://{h}]")] for h in hostvars}
    assert all(len(on[h]) >= 9 for h in control_planes), on
    assert all("test_node_registered_and_ready" in on[h] for h in nodes)
    assert not [h for h, tests in on.items() if tests and h not in set(control_planes) | set(nodes)]


def test_namespaces_labelled_below_restricted():
    def ns(name, level=None):
        labels = {"kubernetes.io/metadata.name": name} | ({k8s.PSA_ENFORCE_LABEL: level} if level else {})
        return {"metadata": {"name": name, "labels": labels}}

    listed = {"items": [ns("default"), ns("shop", "restricted"), ns("kube-system", "privileged"),
                        ns("legacy", "baseline"), ns("debug", "privileged"), ns("kube-public", "privileged")]}
    assert k8s.weakened_namespaces(listed) == ["legacy=baseline", "debug=privileged", "kube-public=privileged"]
    assert k8s.weakened_namespaces({"items": []}) == []


@pytest.mark.parametrize("bin_dir", ["/opt/k8s; touch pwned", "/opt/$(touch pwned)", "/opt/`touch pwned`"])
def test_inventory_values_in_host_commands_are_quoted(tmp_path, bin_dir):
    """The binary directory is a role variable a catalogue host may set: data, never shell."""
    cp = k8s.ControlPlane("cp1", "10.0.0.5", bin_dir)
    for command in (cp.kubectl("get nodes", timeout=5), cp.etcdctl("member list", timeout=8)):
        subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30, cwd=tmp_path)
        assert not list(tmp_path.glob("pwned*")), command
