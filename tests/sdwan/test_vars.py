"""Unit tests for idcpilot.sdwan: catalogue + IPAM -> the overlay each edge host builds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from idcpilot import catalogue, ipam
from idcpilot.errors import UserInputError
from idcpilot.inventory import build as build_inventory
from idcpilot.ipam.blocks import Block, parse_address
from idcpilot.sdwan import interface_name, problems, sdwan_vars, topology

REPO = Path(__file__).resolve().parents[2]


def _estate(tmp_path: Path, edit=None) -> tuple[catalogue.Catalogue, ipam.Allocation]:
    data = yaml.safe_load((REPO / "inventories/lab/estate.yaml").read_text())
    if edit:
        edit(data["spec"])
    (tmp_path / "estate.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    cat = catalogue.load(tmp_path)
    return cat, ipam.allocate(cat)


@pytest.fixture(scope="module")
def lab() -> tuple[catalogue.Catalogue, ipam.Allocation]:
    cat = catalogue.load(REPO / "inventories/lab")
    return cat, ipam.plan(cat)


def _vars(cat, alloc, name):
    return sdwan_vars(cat, alloc, cat.hosts[name])["idcpilot_sdwan"]


def test_only_edge_hosts_get_overlay_vars(lab):
    cat, alloc = lab
    for name, host in cat.hosts.items():
        out = sdwan_vars(cat, alloc, host)
        assert bool(out) == ("sdwan_edge" in host.roles), name


def test_lab_is_hub_spoke_with_two_hubs_and_a_dual_homed_spoke(lab):
    cat, alloc = lab
    gz = _vars(cat, alloc, "lab-gz-gw01")
    assert gz["topology"] == "hub-spoke" and not gz["hub"] and not gz["transit"]
    assert sorted(p["name"] for p in gz["peers"]) == ["lab-bj-gw01", "lab-sh-gw01"]
    bj = _vars(cat, alloc, "lab-bj-gw01")
    assert bj["hub"] and bj["transit"]
    assert sorted(p["name"] for p in bj["peers"]) == ["lab-gz-gw01", "lab-sh-gw01"]


def test_asn_is_base_plus_site_index(lab):
    cat, alloc = lab
    base = cat.estate.spec.sdwan.asn
    for name in ("lab-bj-gw01", "lab-sh-gw01", "lab-gz-gw01"):
        v = _vars(cat, alloc, name)
        assert v["asn"] == base + cat.site_index[v["site"]]
        for peer in v["peers"]:
            assert peer["asn"] == base + cat.site_index[peer["site"]]


def test_addresses_come_from_ipam(lab):
    cat, alloc = lab
    for name in ("lab-bj-gw01", "lab-sh-gw01", "lab-gz-gw01"):
        v = _vars(cat, alloc, name)
        mine = alloc.host(name)
        assert v["overlay_address"] == mine["overlay"] and v["loopback"] == mine["loopback"]
        assert v["router_id"] == mine["loopback"]
        overlay = Block.parse(alloc.lock.sites[v["site"]]["overlay"])
        assert overlay.first <= parse_address(v["overlay_address"]) <= overlay.last
        assert v["prefixes"] == {k: alloc.lock.sites[v["site"]][k] for k in ("service", "loopback", "management")}
        for peer in v["peers"]:
            theirs = alloc.host(peer["name"])
            assert peer["endpoint"] == theirs["management"]
            assert peer["overlay_address"] == theirs["overlay"]


def test_ports_pair_up_and_are_unique_per_host(lab):
    """A's tunnel to B listens where B sends, and no host listens twice on a port."""
    cat, alloc = lab
    edges = ("lab-bj-gw01", "lab-sh-gw01", "lab-gz-gw01")
    by_host = {n: {p["name"]: p for p in _vars(cat, alloc, n)["peers"]} for n in edges}
    for a in edges:
        ports = [p["listen_port"] for p in by_host[a].values()]
        assert len(ports) == len(set(ports))
        for b, peer in by_host[a].items():
            assert by_host[b][a]["endpoint_port"] == peer["listen_port"]
            assert peer["interface"] == interface_name(b)


def test_link_budgets_and_encryption_reach_the_peers(lab):
    cat, alloc = lab
    budgets = {frozenset((l.a, l.b)): l.latency_budget_ms for l in cat.estate.spec.sdwan.links}
    for name in ("lab-bj-gw01", "lab-gz-gw01"):
        v = _vars(cat, alloc, name)
        for peer in v["peers"]:
            assert peer["latency_budget_ms"] == budgets[frozenset((v["site"], peer["site"]))]
            assert peer["encryption"] == "wireguard"


def test_management_prefixes_hold_the_endpoints(lab):
    """The role refuses to announce these: the tunnels would route into themselves."""
    cat, alloc = lab
    assert _vars(cat, alloc, "lab-gz-gw01")["endpoint_prefix_kinds"] == ["management"]


def test_service_anchor_is_the_first_service_address_on_the_first_edge(lab):
    cat, alloc = lab
    v = _vars(cat, alloc, "lab-sh-gw01")
    assert v["service_anchor"] == "10.213.66.1"


def test_interface_names_fit_ifnamsiz_and_stay_stable():
    assert interface_name("lab-bj-gw01") == "wg-lab-bj-gw01"
    long = interface_name("shanghai-core-edge-gateway-01")
    assert len(long) <= 15 and long == interface_name("shanghai-core-edge-gateway-01")
    assert long != interface_name("shanghai-core-edge-gateway-02")


def test_hub_spoke_without_links_links_every_spoke_to_every_hub(tmp_path):
    cat, alloc = _estate(tmp_path, lambda s: s["sdwan"].update(links=[]))
    topo = topology(cat, alloc)
    pairs = {frozenset((l.a, l.b)) for l in topo.links}
    assert pairs == {frozenset(p) for p in (("lab-bj", "lab-sh"), ("lab-bj", "lab-gz"), ("lab-sh", "lab-gz"))}
    assert all(l.latency_budget_ms is None for l in topo.links)


def test_single_hub_star_reaches_spokes_through_the_hub(tmp_path):
    def edit(spec):
        spec["sdwan"].update(hubs=["lab-bj"], links=[{"a": "lab-bj", "b": "lab-sh"}, {"a": "lab-bj", "b": "lab-gz"}])
    cat, alloc = _estate(tmp_path, edit)
    topo = topology(cat, alloc)
    assert topo.transit == frozenset({"lab-bj"}) and topo.connected()
    sh = _vars(cat, alloc, "lab-sh-gw01")
    assert [p["name"] for p in sh["peers"]] == ["lab-bj-gw01"] and sh["peers"][0]["transit"]
    assert problems(cat, alloc) == []


def test_spokes_do_not_transit(tmp_path):
    """Two spokes linked only through a third spoke have no path: spokes never re-announce."""
    def edit(spec):
        spec["sdwan"].update(hubs=["lab-bj"], links=[{"a": "lab-bj", "b": "lab-sh"}, {"a": "lab-sh", "b": "lab-gz"}])
    cat, alloc = _estate(tmp_path, edit)
    assert topology(cat, alloc).unreachable() == [("lab-bj", "lab-gz")]
    found = problems(cat, alloc)
    assert any("no overlay path between 'lab-bj' and 'lab-gz'" in p.message for p in found)
    assert all(p.file.endswith("estate.yaml") and p.line > 1 for p in found)


def test_full_mesh_links_every_pair_and_everyone_is_transit(tmp_path):
    def edit(spec):
        spec["sdwan"] = {"topology": "full-mesh", "links": [{"a": "lab-sh", "b": "lab-gz", "latencyBudgetMs": 4}]}
    cat, alloc = _estate(tmp_path, edit)
    topo = topology(cat, alloc)
    assert len(topo.links) == 3 and topo.transit == frozenset(topo.sites)
    gz = {p["site"]: p for p in _vars(cat, alloc, "lab-gz-gw01")["peers"]}
    assert gz["lab-sh"]["latency_budget_ms"] == 4 and gz["lab-bj"]["latency_budget_ms"] is None


def test_two_edges_in_a_site_peer_with_each_other_over_ibgp(tmp_path):
    def edit(spec):
        spec["sites"][0]["hosts"].append({"name": "lab-bj-gw02", "roles": ["baseline", "sdwan_edge"]})
    cat, alloc = _estate(tmp_path, edit)
    v = {p["name"]: p for p in _vars(cat, alloc, "lab-bj-gw02")["peers"]}
    assert v["lab-bj-gw01"]["ibgp"] and v["lab-bj-gw01"]["asn"] == _vars(cat, alloc, "lab-bj-gw02")["asn"]
    assert not v["lab-sh-gw01"]["ibgp"]
    # only the site's first edge carries the service anchor
    assert _vars(cat, alloc, "lab-bj-gw02")["service_anchor"] is None
    assert _vars(cat, alloc, "lab-bj-gw01")["service_anchor"] is not None


def test_link_to_a_site_without_an_edge_is_reported_at_the_link(tmp_path):
    def edit(spec):
        spec["sites"][2]["hosts"][0]["roles"] = ["baseline", "monitoring"]  # lab-gz-gw01 loses sdwan_edge
    cat, alloc = _estate(tmp_path, edit)
    found = problems(cat, alloc)
    assert any("'lab-gz' has no host with role sdwan_edge" in p.message and p.field.startswith("spec.sdwan.links") for p in found)


def test_listen_ports_beyond_65535_are_reported(tmp_path):
    cat, alloc = _estate(tmp_path, lambda s: s["sdwan"].update(listenPort=65534))
    assert any("listenPort" in p.field for p in problems(cat, alloc))


def test_overlay_pool_overlapping_service_pool_is_refused(tmp_path):
    """Address plans must not collide: IPAM refuses overlapping pools with both locations."""
    def edit(spec):
        spec["supernets"]["overlay"]["cidrs"] = ["10.213.64.0/24"]
    with pytest.raises(UserInputError) as err:
        _estate(tmp_path, edit)
    assert "overlaps service pool" in str(err.value)


def test_inventory_carries_the_overlay(lab):
    cat, alloc = lab
    inv = build_inventory(cat, alloc)
    hv = inv["_meta"]["hostvars"]
    assert {h for h, v in hv.items() if "idcpilot_sdwan" in v} == set(inv["role_sdwan_edge"]["hosts"])


def test_example_estate_overlay_is_connected_and_keeps_link_encryption():
    cat = catalogue.load(REPO / "inventories/example")
    alloc = ipam.plan(cat)
    assert problems(cat, alloc) == []
    topo = topology(cat, alloc)
    assert topo.connected()
    assert {l.encryption for l in topo.links} == {"wireguard", "ipsec"}


def test_secret_scanner_finds_a_planted_key(tmp_path):
    """The lab secrecy test's scanner is proven on a planted key (and stays quiet without one)."""
    from tests.sdwan.overlay_lab import files_containing

    key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
    (tmp_path / "artifacts" / "job").mkdir(parents=True)
    (tmp_path / "artifacts" / "job" / "stdout").write_text("TASK [Derive the public key] ok\n")
    assert files_containing(tmp_path, {"h1": key}) == (1, [])
    (tmp_path / "artifacts" / "job" / "job_events.json").write_text(f'{{"stdout": "{key}"}}')
    scanned, hits = files_containing(tmp_path, {"h1": key})
    assert scanned == 2 and [h for h, _ in hits] == ["h1"]


def test_firewall_ports_name_every_tunnel_port_and_bgp_bfd(lab):
    cat, alloc = lab
    v = _vars(cat, alloc, "lab-bj-gw01")
    assert v["firewall"]["udp"] == sorted(str(p["listen_port"]) for p in v["peers"]) + ["3784", "3785", "4784"]
    assert v["firewall"]["tcp"] == ["179"]
    assert v["firewall"]["bound"] == [{"port": "49152-65535", "proto": "udp", "process": "bfdd"}]  # bfdd's source ports
