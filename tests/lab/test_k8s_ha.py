"""The lab cluster's control plane survives losing a host: three control-plane hosts (etcd member,
kube-apiserver, controller-manager, scheduler on each; kube-lb on every node).

Deploys the cluster's playbooks to its hosts, powers the first control-plane host off (the one the
role treats as the first: CA, bootstrap, RBAC), and from another host checks that kubectl keeps
working through its local kube-lb and that writes succeed; powers it on again and waits, bounded,
for its etcd member to rejoin and serve what was written while it was away. Prints the timings.
"""

from __future__ import annotations

import json
import time

import pytest

from idcpilot.lab import lifecycle
from tests.lab.conftest import Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PLAYBOOKS = ["playbooks/bootstrap.yml", "playbooks/k8s_cluster.yml"]
KUBECTL = "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=10s"
ETCDCTL = ("sudo ETCDCTL_API=3 etcdctl --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt"
           " --key /etc/kubernetes/pki/etcd/healthcheck-client.key --command-timeout=5s")
REJOIN_BOUND_S = 180.0  # boot, etcd start, member catches up


def _cluster(lab: Lab) -> tuple[list[str], dict[str, str]]:
    from idcpilot import catalogue

    cat = catalogue.load(lab.env)
    cluster = next(iter(cat.clusters.values()))
    control = [h.name for h in cat.members(cluster.control_plane)]
    return control, {h.name: lab.plan.host(h.name).address for h in cat.members(cluster.control_plane)}


def _wait(what: str, probe, bound: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < bound:
        if probe():
            return time.monotonic() - start
        time.sleep(2)
    pytest.fail(f"{what} not within {bound:.0f}s")


def test_control_plane_keeps_serving_with_one_host_off(lab: Lab) -> None:
    control, addresses = _cluster(lab)
    assert len(control) == 3, f"the lab cluster needs three control-plane hosts for quorum, has {control}"
    limit = ",".join(sorted(set(control)))
    for playbook in PLAYBOOKS:
        out = lab.idcpilot("deploy", "--playbook", playbook, "--limit", limit, "--format", "json", timeout=3600)
        assert out.returncode == 0, (out.stdout[-4000:] or out.stderr[-3000:])

    first, survivor = control[0], control[1]
    endpoints = ",".join(f"https://{addresses[h]}:2379" for h in control)
    health = lab.ssh(survivor, f"{ETCDCTL} --endpoints {endpoints} endpoint health -w json")
    assert health.returncode == 0 and all(e["health"] for e in json.loads(health.stdout)), health.stdout + health.stderr
    lab.ssh(survivor, f"{KUBECTL} delete configmap idcpilot-ha-probe --ignore-not-found")

    t0 = time.monotonic()
    lifecycle.stop_hosts(lab.plan, [first])
    try:
        def api_writes() -> bool:
            out = lab.ssh(survivor, f"{KUBECTL} create configmap idcpilot-ha-probe --from-literal=written=while-{first}-was-off")
            return out.returncode == 0 or "AlreadyExists" in out.stderr
        write_s = _wait("a write through the survivor's kube-lb", api_writes, 60)
        ready = lab.ssh(survivor, f"{KUBECTL} get --raw /readyz")
        assert ready.returncode == 0 and ready.stdout.strip() == "ok", ready.stdout + ready.stderr
        print(f"\n{first} powered off: kubectl on {survivor} wrote after {write_s:.1f}s")
    finally:
        lifecycle.up(lab.plan, only=[first])

    def member_back() -> bool:
        out = lab.ssh(survivor, f"{ETCDCTL} --endpoints https://{addresses[first]}:2379 endpoint health -w json")
        return out.returncode == 0 and all(e["health"] for e in json.loads(out.stdout or "[]"))
    rejoin_s = _wait(f"{first}'s etcd member healthy again", member_back, REJOIN_BOUND_S)

    def serves_the_write() -> bool:  # its own API server, once ready (RBAC caches synced), reads it back
        out = lab.ssh(first, f"{KUBECTL} --server https://{addresses[first]}:6443 get configmap idcpilot-ha-probe -o jsonpath={{.data.written}}")
        return out.stdout.strip() == f"while-{first}-was-off"
    serve_s = _wait(f"{first}'s API server serving the write made while it was off", serves_the_write, 60)
    print(f"{first} powered on: its etcd member healthy {rejoin_s:.1f}s after it answered SSH, its API server served the write "
          f"{serve_s:.1f}s later ({time.monotonic() - t0:.0f}s in all)")
    lab.ssh(survivor, f"{KUBECTL} delete configmap idcpilot-ha-probe --ignore-not-found")
