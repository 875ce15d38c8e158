"""`pulumi up` for real: the bundle's engine applies the lab cluster's stack, as an ops team runs it.

On the lab's control plane (three hosts; workers simulated by kwok): `idcpilot stack init
--from-lab` (file backend, passphrase secrets provider, the admin kubeconfig as the stack's
secret), then

- `idcpilot stack preview --json` with the CrossGuard pack in the engine, compared resource by
  resource with `idcpilot plan` of the same stack (they must agree: the offline plan is what pull
  requests see);
- a planted violation (a workload image outside the estate's registry) stops the preview, naming
  K8S-REGISTRY;
- `idcpilot stack up`: every object of the plan is on the API server afterwards (read back with
  kubectl); a second preview has no changes;
- drift (its own test): a NetworkPolicy edited with kubectl and a host file edited by hand are
  both reported by `idcpilot drift`, under their rule ids, and nothing else is; `stack up` then
  takes the NetworkPolicy edit back;
- `idcpilot stack destroy` leaves the cluster's object list as it was before `up`;
- neither the kubeconfig's key, nor the passphrase, nor the gateway's private key is anywhere in
  plain text: state, stack config, logs of every command.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from idcpilot import catalogue
from idcpilot.stack import compare
from tests.lab.conftest import REPO, Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CLUSTER = "lab-sh-k8s"
PLAYBOOKS = ["playbooks/bootstrap.yml", "playbooks/k8s_cluster.yml"]
KUBECTL = "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=20s"
#: the kinds the stack makes, as kubectl names them
KINDS = ("namespaces,networkpolicies,resourcequotas,limitranges,deployments,daemonsets,services,configmaps,secrets,"
         "serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings")


def engine_or_skip() -> None:
    from idcpilot.bundle import pulumi_engine

    if pulumi_engine.find() is None:
        pytest.fail("the Pulumi engine is not in the bundle cache: `make bundle` builds it (make test runs it first)")


def objects(lab: Lab, host: str) -> set[str]:
    """Every object of the stack's kinds on the API server, as kind/namespace/name."""
    done = lab.ssh(host, f"{KUBECTL} get {KINDS} -A -o json", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return {f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in json.loads(done.stdout)["items"]}


def planned_objects(resources: list[dict]) -> set[str]:
    out = set()
    for r in resources:
        if not r["type"].startswith("kubernetes:") or r["type"].startswith("pulumi:providers"):
            continue
        meta = r["inputs"].get("metadata") or {}
        out.add(f"{r['type'].rsplit(':', 1)[-1]}/{meta.get('namespace', '')}/{meta['name']}")
    return out


def run(lab: Lab, *args: str, env: Path | None = None, timeout: float = 1800):
    """`idcpilot ARGS ENV` (the lab's estate unless ENV); every command's output is kept for the
    secrets search at the end."""
    import subprocess

    from tests.lab.conftest import IDCPILOT

    done = subprocess.run([IDCPILOT, *args, str(env or lab.env)], capture_output=True, text=True, timeout=timeout, cwd=REPO)
    LOGS.append(done.stdout + done.stderr)
    return done


LOGS: list[str] = []


@pytest.fixture(scope="module")
def cluster(lab: Lab) -> dict[str, str]:
    engine_or_skip()
    cat = catalogue.load(lab.env)
    control = [h.name for h in cat.members(cat.clusters[CLUSTER].control_plane)]
    for playbook in PLAYBOOKS:
        out = lab.idcpilot("deploy", "--playbook", playbook, "--limit", ",".join(control), "--format", "json", timeout=3600)
        assert out.returncode == 0, (out.stdout[-4000:] or out.stderr[-3000:])
    return {"first": control[0], "other": control[1], "control": ",".join(control)}


def test_the_stack_is_applied_for_real_and_agrees_with_the_plan(lab: Lab, cluster: dict[str, str], tmp_path: Path) -> None:
    init = run(lab, "stack", "init", "--cluster", CLUSTER, "--from-lab")
    assert init.returncode == 0, init.stderr[-3000:]
    # what an interrupted earlier run left (lab hosts keep their disks across `lab down`) goes first
    cleanup = run(lab, "stack", "destroy", "--cluster", CLUSTER)
    assert cleanup.returncode == 0, cleanup.stdout[-3000:] + cleanup.stderr[-3000:]
    before = objects(lab, cluster["first"])

    # the offline plan and the engine's preview, resource by resource
    plan = run(lab, "plan", "--stack", CLUSTER, "--format", "json")
    assert plan.returncode == 0, plan.stderr[-3000:]
    resources = json.loads(plan.stdout)["stacks"][0]["resources"]
    preview = run(lab, "stack", "preview", "--cluster", CLUSTER, "--json")
    assert preview.returncode == 0, preview.stdout[-3000:] + preview.stderr[-3000:]
    found = compare.differences(resources, json.loads(preview.stdout))
    assert found == [], "the offline plan and the engine's preview disagree:\n" + "\n".join(found)

    # a planted violation stops the preview inside the engine, naming the rule
    bad = tmp_path / "lab"
    shutil.copytree(lab.env, bad)
    estate = (bad / "estate.yaml").read_text()
    registry = re.search(r"^\s*registry:\s*(\S+)", estate, re.M).group(1)
    planted = estate.replace(f"image: {registry}/", "image: docker.io/", 1)
    assert planted != estate, "the lab estate names a workload image in its registry"
    (bad / "estate.yaml").write_text(planted)
    refused = run(lab, "stack", "preview", "--cluster", CLUSTER, env=bad)
    assert refused.returncode == 1 and "K8S-REGISTRY" in refused.stdout + refused.stderr, refused.stdout[-3000:]

    # up: every object of the plan is on the API server
    up = run(lab, "stack", "up", "--cluster", CLUSTER)
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-3000:]
    after = objects(lab, cluster["first"])
    missing = planned_objects(resources) - after
    assert not missing, f"not on the API server after up: {sorted(missing)}"

    again = run(lab, "stack", "preview", "--cluster", CLUSTER, "--expect-no-changes")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]

    # destroy: the cluster as it was
    gone = run(lab, "stack", "destroy", "--cluster", CLUSTER)
    assert gone.returncode == 0, gone.stdout[-3000:] + gone.stderr[-3000:]
    assert objects(lab, cluster["first"]) - before == set(), "left on the API server after destroy"

    # no secret in plain text: the kubeconfig's key, the passphrase
    kubeconfig = lab.ssh(cluster["first"], "sudo cat /etc/kubernetes/admin.conf").stdout
    key = re.search(r"client-key-data:\s*(\S+)", kubeconfig).group(1)
    from idcpilot.stack.workspace import workspace_root

    ws = workspace_root("lab")
    passphrase = (ws / "passphrase").read_text().strip()
    texts = {str(p): p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file() and p.name != "passphrase"
             and p.stat().st_size < 50_000_000 and "plugins" not in p.parts}
    texts |= {f"log {i}": text for i, text in enumerate(LOGS)}
    for label, secret in (("kubeconfig key", key), ("passphrase", passphrase)):
        leaked = [where for where, text in texts.items() if secret in text]
        assert not leaked, f"the {label} is in plain text in {leaked}"


def test_drift_names_a_hand_edited_network_policy_and_host_file(lab: Lab, cluster: dict[str, str]) -> None:
    init = run(lab, "stack", "init", "--cluster", CLUSTER, "--from-lab")
    assert init.returncode == 0, init.stderr[-3000:]
    up = run(lab, "stack", "up", "--cluster", CLUSTER)
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-3000:]
    plan = run(lab, "plan", "--stack", CLUSTER, "--format", "json")
    resources = json.loads(plan.stdout)["stacks"][0]["resources"]
    try:
        # drift: a NetworkPolicy edited with kubectl, a host file edited by hand
        # a namespace's default-deny loses its egress half: a real weakening, and a real change
        # (a patch that sets what is already there is no drift)
        netpol = next(o for o in sorted(planned_objects(resources)) if o.startswith("NetworkPolicy/") and o.endswith("/default-deny"))
        _, ns, name = netpol.split("/")
        patched = lab.ssh(cluster["first"], f"{KUBECTL} -n {ns} patch networkpolicy {name} --type merge "
                                            "-p '{\"spec\":{\"policyTypes\":[\"Ingress\"]}}'")
        assert patched.returncode == 0, patched.stderr
        audit_file = "/etc/kubernetes/audit-policy.yaml"
        saved = lab.ssh(cluster["other"], f"sudo cat {audit_file}").stdout
        assert lab.ssh(cluster["other"], f"echo '# edited by hand' | sudo tee -a {audit_file} >/dev/null").returncode == 0
        try:
            # every control plane host: the role refuses a batch that splits a cluster's control plane
            drift = run(lab, "drift", "--cluster", CLUSTER, "--playbook", "playbooks/k8s_cluster.yml",
                        "--limit", cluster["control"], "--format", "json", timeout=3600)
        finally:
            lab.ssh(cluster["other"], f"sudo tee {audit_file} >/dev/null <<'EOF'\n{saved}EOF")
        assert drift.returncode == 3, drift.stdout[-3000:] + drift.stderr[-3000:]
        report = json.loads(drift.stdout)
        assert report["notRead"] == [], report["notRead"]
        assert len(report["checked"]) == 1 + len(cluster["control"].split(",")), report["checked"]
        found = [(rule, d["source"], d["what"]) for rule, items in report["rules"].items() for d in items]
        # exactly the two edits, each under its rules, and nothing else (a report of everything
        # would pass a weaker test)
        on_stack = [f for f in found if f[1].startswith("stack ")]
        assert on_stack == [("K8S-NETPOL", f"stack lab.{CLUSTER}", f"NetworkPolicy {ns}/{name}: update (spec.policyTypes[1] add)")], found
        on_hosts = [f for f in found if f[1].startswith("host ")]
        assert on_hosts and all(f[1] == f"host {cluster['other']}" and "Audit policy" in f[2] for f in on_hosts), found
        assert {f[0] for f in on_hosts} >= {"MLPS3-AUDIT"}, found

        # `up` takes the hand edit back (the stack owns its fields: patchForce)
        restored = run(lab, "stack", "up", "--cluster", CLUSTER)
        assert restored.returncode == 0, restored.stdout[-4000:] + restored.stderr[-3000:]
        types = lab.ssh(cluster["first"], f"{KUBECTL} -n {ns} get networkpolicy {name} -o jsonpath='{{.spec.policyTypes}}'")
        assert json.loads(types.stdout) == ["Ingress", "Egress"], types.stdout + types.stderr
    finally:
        run(lab, "stack", "destroy", "--cluster", CLUSTER)
