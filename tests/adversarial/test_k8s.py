"""Hostile manifests through the real CLI: ``idcpilot check inventories/example --manifests DIR``.

DIR is what ``idcpilot plan inventories/example --out DIR`` writes (the demo's path), plus one
file a hostile pull request adds. Each case must fail the gate naming the rule it breaks (exit
1), or be refused as unreadable input (exit 2) — never pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.adversarial.hostile import REPO, idcpilot, output

CLUSTER = "bj-core-k8s"

#: Every way a pod spec can leave the restricted profile, all at once.
EVIL_POD = """\
      hostPID: true
      hostNetwork: true
      containers:
        - name: evil
          image: registry.hy-idc.internal:5000/hy/portal:3.4.1
          securityContext: {privileged: true}
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}
          volumeMounts: [{name: root, mountPath: /host}]
      volumes:
        - name: root
          hostPath: {path: /}
"""

LABELS = ("labels: {idcpilot.io/data-classification: general, idcpilot.io/data-domain: domain-north, "
          "app.kubernetes.io/name: portal}")


def _indent(text: str, by: int) -> str:
    return "".join((" " * by + line[max(0, -by):] if by >= 0 else line[-by:]) + "\n" for line in text.splitlines())


def workload(kind: str, api: str, namespace: str | None, pod: str = EVIL_POD, name: str = "evil") -> str:
    """A KIND whose pod spec is POD (written at the indentation of a Deployment's template)."""
    head = f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n"
    head += (f"  namespace: {namespace}\n" if namespace else "") + f"  {LABELS}\nspec:\n"
    template = f"metadata: {{{LABELS}}}\nspec:\n"
    if kind == "Pod":
        return head + _indent(pod, -4)
    if kind == "CronJob":
        return (head + "  schedule: '*/5 * * * *'\n  jobTemplate:\n    spec:\n      template:\n"
                + _indent(template, 8) + _indent(pod, 4) + "          restartPolicy: OnFailure\n")
    return head + "  selector: {matchLabels: {app.kubernetes.io/name: portal}}\n  template:\n" + _indent(template, 4) + pod


def netpol(namespace: str, spec: str, name: str = "open") -> str:
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{spec}"


def with_security(extra_container: str = "", extra_pod: str = "") -> str:
    """A pod that meets the restricted profile, but for the edit."""
    return (
        "      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}" + extra_pod + "}\n"
        "      containers:\n"
        "        - name: app\n"
        "          image: registry.hy-idc.internal:5000/hy/portal:3.4.1\n"
        "          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}\n"
        "          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}" + extra_container + "}\n"
    )


CASES = {
    # namespace-less, default, kube-system, no Namespace manifest: the privileged workload still fails
    "privileged pod without a namespace": (workload("Pod", "v1", None), 1, ["K8S-PSA", "/default/Pod/evil"]),
    "privileged daemonset in default": (workload("DaemonSet", "apps/v1", "default"), 1, ["K8S-PSA", "hostPID"]),
    "privileged daemonset in kube-system": (workload("DaemonSet", "apps/v1", "kube-system"), 1, ["K8S-PSA", "hostPath volume 'root' ('/')"]),
    "privileged pod in a namespace without a Namespace manifest": (workload("Pod", "v1", "rogue"), 1, ["K8S-PSA", "privileged"]),
    "privileged deployment in a restricted estate namespace": (workload("Deployment", "apps/v1", "portal"), 1, ["K8S-PSA", "portal"]),
    # kinds found by shape: a CronJob's job template, an Argo Rollout (a custom resource)
    "cronjob with host namespaces": (workload("CronJob", "batch/v1", "portal"), 1, ["K8S-PSA", "CronJob"]),
    "argo rollout with a privileged pod": (workload("Rollout", "argoproj.io/v1alpha1", "portal"), 1, ["K8S-PSA", "Rollout"]),
    "argo rollout from a public registry": (
        workload("Rollout", "argoproj.io/v1alpha1", "portal", with_security().replace("registry.hy-idc.internal:5000", "docker.io")),
        1, ["K8S-REGISTRY", "docker.io"]),
    # single fields of the restricted profile
    "added capability": (workload("Deployment", "apps/v1", "portal", with_security(", add: [SYS_ADMIN]").replace(
        "capabilities: {drop: [ALL]}, add: [SYS_ADMIN]", "capabilities: {drop: [ALL], add: [SYS_ADMIN]}")), 1, ["K8S-PSA", "SYS_ADMIN"]),
    "container runs as root over the pod's runAsNonRoot": (
        workload("Deployment", "apps/v1", "portal", with_security(", runAsNonRoot: false")), 1, ["K8S-PSA", "runAsNonRoot"]),
    "seccomp unconfined": (workload("Deployment", "apps/v1", "portal", with_security(", seccompProfile: {type: Unconfined}")),
                           1, ["K8S-PSA", "seccompProfile 'Unconfined'"]),
    "privilege escalation left on": (workload("Deployment", "apps/v1", "portal", with_security().replace(
        "allowPrivilegeEscalation: false, ", "")), 1, ["K8S-PSA", "allowPrivilegeEscalation"]),
    "host port": (workload("Deployment", "apps/v1", "portal", with_security().replace(
        "          resources:", "          ports: [{containerPort: 8080, hostPort: 80}]\n          resources:")), 1, ["K8S-PSA", "hostPort 80"]),
    # network policies that reopen what the default-deny closed
    "allow-all ingress beside the default-deny": (netpol("portal", "  podSelector: {}\n  ingress: [{}]\n  policyTypes: [Ingress]\n"),
                                                  1, ["K8S-NETPOL", "reopens all ingress"]),
    "allow-all egress to every namespace": (
        netpol("accounts", "  podSelector: {}\n  egress: [{to: [{namespaceSelector: {}}]}]\n  policyTypes: [Egress]\n"),
        1, ["K8S-NETPOL", "reopens all egress"]),
    "allow every address, every port": (
        netpol("accounts", "  podSelector: {matchLabels: {app.kubernetes.io/name: accounts}}\n"
                           "  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n"),
        1, ["K8S-NETPOL", "ingress[0]"]),
    # documents that must be read, or refused
    "document on the first line after ---": ("--- " + "{apiVersion: v1, kind: Pod, metadata: {name: evil, namespace: portal}, "
                                            "spec: {hostPID: true, containers: [{name: x, image: registry.hy-idc.internal:5000/x:1}]}}\n",
                                            1, ["K8S-PSA", "evil.yaml:1:"]),
    "malformed yaml": ("apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n", 2, ["evil.yaml", "malformed YAML"]),
    "a document that is not a manifest": ("apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n--- 42\n", 2,
                                          ["evil.yaml:4", "not a Kubernetes manifest"]),
    "a List inside a List": ("apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: List\n    items: []\n", 2,
                             ["evil.yaml:4", "a List inside a List"]),
    "a kind the Kubernetes API does not have": (workload("Deployment", "apps/v2", "portal"), 2, ["evil.yaml", "no kind 'Deployment'"]),
}


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("planned") / "m"
    proc = idcpilot("plan", "inventories/example", "--out", out)
    assert proc.returncode == 0, output(proc)
    return out


def manifests_with(planned: Path, tmp_path: Path, text: str | bytes) -> Path:
    mdir = tmp_path / "m"
    shutil.copytree(planned, mdir)
    target = mdir / CLUSTER / "evil.yaml"
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    return mdir


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_manifest_is_refused(planned: Path, tmp_path: Path, case: str) -> None:
    text, code, named = CASES[case]
    mdir = manifests_with(planned, tmp_path, text)
    proc = idcpilot("check", "inventories/example", "--manifests", mdir, "--format", "json" if code == 1 else "table")
    out = output(proc)
    assert proc.returncode == code, out[-3000:]
    if code == 1:  # what the failing findings name: rule, target, message, file:line
        failures = [f for f in json.loads(proc.stdout)["findings"] if f["status"] == "fail"]
        out = "\n".join(f"{f['rule']} {f['target']} {f['message']} "
                        f"{(f['location'] or {}).get('file')}:{(f['location'] or {}).get('line')}:" for f in failures)
    for word in named:
        assert word in out, f"{word!r} not named:\n{out[-3000:]}"


def test_the_demo_manifests_pass(planned: Path) -> None:
    proc = idcpilot("check", "inventories/example", "--manifests", planned)
    assert proc.returncode == 0, output(proc)[-3000:]


def test_bytes_that_are_not_utf8_are_refused(planned: Path, tmp_path: Path) -> None:
    mdir = manifests_with(planned, tmp_path, b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: \"\xff\xfe\"}\n")
    proc = idcpilot("check", "inventories/example", "--manifests", mdir)
    assert proc.returncode == 2 and "evil.yaml" in output(proc), output(proc)


@pytest.mark.parametrize("how", ["empty directory", "no cluster of the estate", "unknown --cluster", "--cluster without --manifests"])
def test_manifests_that_check_nothing_are_refused(tmp_path: Path, how: str) -> None:
    mdir = tmp_path / "m"
    mdir.mkdir()
    args = ["check", "inventories/example", "--manifests", mdir]
    if how == "no cluster of the estate":
        (mdir / "other-k8s").mkdir()
        (mdir / "other-k8s" / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
        named = "other-k8s"
    elif how == "unknown --cluster":
        (mdir / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
        args += ["--cluster", "nope"]
        named = "'nope'"
    elif how == "--cluster without --manifests":
        args = ["check", "inventories/example", "--cluster", CLUSTER, "--no-plan"]
        named = "--manifests"
    else:
        named = "no Kubernetes manifests"
    proc = idcpilot(*args)
    assert proc.returncode == 2, output(proc)
    assert named in output(proc)


@pytest.mark.parametrize("command", ["validate", "plan", "check"])
def test_a_kubernetes_version_without_schemas_is_refused_everywhere(example, command: str) -> None:
    example.edit(lambda d: d["spec"]["clusters"][0].update(kubernetesVersion="1.10.0"))
    proc = idcpilot(command, example.root)
    out = output(proc)
    assert proc.returncode == 2, out
    assert "kubernetesVersion" in out and "1.10.0" in out and "1.30" in out  # names the versions available
