"""``idcpilot_k8s_clusters``: what the k8s roles and the verify read about a host's clusters."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from idcpilot import catalogue, inventory, ipam

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example():
    cat = catalogue.load(REPO / "inventories" / "example")
    alloc = ipam.plan(cat)
    return cat, alloc, inventory.build(cat, alloc)


def test_every_control_plane_and_node_host_gets_its_clusters(example) -> None:
    cat, alloc, inv = example
    hostvars = inv["_meta"]["hostvars"]
    members: dict[str, set[str]] = {}
    for cluster in cat.estate.spec.clusters:
        for host in cat.members(cluster.control_plane) + cat.members(cluster.nodes):
            members.setdefault(host.name, set()).add(cluster.name)
    assert members, "the example estate declares clusters"
    got = {h: {c["name"] for c in v["idcpilot_k8s_clusters"]} for h, v in hostvars.items() if "idcpilot_k8s_clusters" in v}
    assert got == members


def test_shape_addresses_and_cidrs_come_from_the_lock(example) -> None:
    cat, alloc, inv = example
    cluster = cat.estate.spec.clusters[0]
    first = cat.members(cluster.control_plane)[0].name
    entry = next(c for c in inv["_meta"]["hostvars"][first]["idcpilot_k8s_clusters"] if c["name"] == cluster.name)
    assert set(entry) == {"name", "version", "controlPlane", "nodes", "podCidr", "serviceCidr",
                         "apiServiceAddress", "dnsServiceAddress", "auditRetentionDays"}
    assert entry["version"] == cluster.kubernetes_version
    assert entry["controlPlane"] == [{"name": h.name, "address": alloc.host(h.name)["management"]}
                                     for h in cat.members(cluster.control_plane)]
    assert [n["name"] for n in entry["nodes"]] == [h.name for h in cat.members(cluster.nodes)]
    assert all(n["address"] == alloc.host(n["name"])["management"] for n in entry["nodes"])
    assert entry["podCidr"] == alloc.cluster(cluster.name, "pod")
    assert entry["serviceCidr"] == alloc.cluster(cluster.name, "serviceCidr")
    assert entry["auditRetentionDays"] >= 180
    network = ipaddress.ip_network(entry["serviceCidr"])
    assert entry["apiServiceAddress"] == str(network[1]) and entry["dnsServiceAddress"] == str(network[10])


def test_one_host_agrees_with_the_whole_inventory(example) -> None:
    cat, alloc, inv = example
    hostvars = inv["_meta"]["hostvars"]
    k8s = [h for h in hostvars if "idcpilot_k8s_clusters" in hostvars[h]]
    other = next(h for h in hostvars if "idcpilot_k8s_clusters" not in hostvars[h])
    for name in k8s[:3] + k8s[-2:]:
        assert inventory.one_host(cat, alloc, name)["idcpilot_k8s_clusters"] == hostvars[name]["idcpilot_k8s_clusters"]
    assert "idcpilot_k8s_clusters" not in inventory.one_host(cat, alloc, other)


def test_lab_control_plane_is_also_its_node() -> None:
    cat = catalogue.load(REPO / "inventories" / "lab")
    alloc = ipam.plan(cat)
    clusters = inventory.one_host(cat, alloc, "lab-sh-k8s01")["idcpilot_k8s_clusters"]
    assert [c["name"] for c in clusters] == ["lab-sh-k8s"]  # listed once though it is both
    members = [{"name": h, "address": alloc.host(h)["management"]} for h in ("lab-sh-k8s01", "lab-sh-k8s02", "lab-sh-k8s03")]
    assert clusters[0]["controlPlane"] == clusters[0]["nodes"] == members
