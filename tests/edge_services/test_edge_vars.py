"""Unit tests for idcpilot.edge_services: catalogue -> per-host vars for cdn_node / zt_gateway."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from idcpilot import catalogue
from idcpilot.edge_services import edge_vars
from idcpilot.edge_services.gateway import access_matrix, allow_reasons
from idcpilot.edge_services.urls import is_loopback_host, parse_endpoint
from idcpilot.errors import UserInputError

REPO = Path(__file__).resolve().parents[2]


def _estate(tmp_path: Path, edit=None) -> catalogue.Catalogue:
    data = yaml.safe_load((REPO / "inventories/lab/estate.yaml").read_text())
    if edit:
        edit(data["spec"])
    (tmp_path / "estate.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return catalogue.load(tmp_path)


@pytest.fixture(scope="module")
def lab() -> catalogue.Catalogue:
    return catalogue.load(REPO / "inventories/lab")


def test_only_edge_hosts_get_edge_vars(lab):
    for name, host in lab.hosts.items():
        out = edge_vars(lab, host)
        assert ("idcpilot_cdn" in out) == host.has("cdn_node"), name
        assert ("idcpilot_zt" in out) == host.has("zt_gateway"), name


def test_cdn_vars_come_from_the_catalogue(lab):
    out = edge_vars(lab, lab.hosts["lab-sh-cdn01"])["idcpilot_cdn"]
    assert out["cache_size_gb"] == 1 and out["memory_cache_mb"] == 64
    assert out["stale_if_error_seconds"] == 86400
    assert out["rules"] == [{"path_prefix": "/static/", "ttl_seconds": 3600}]
    (origin,) = out["origins"]
    assert origin["hostport"] == "10.213.0.1:8081" and origin["scheme"] == "http" and origin["backup"] is False


def test_origins_nearest_first_and_mixed_schemes_skipped(tmp_path):
    def edit(spec):
        spec["cdn"]["origins"] = [
            {"name": "far", "url": "http://10.213.0.1:8081", "site": "lab-gz"},
            {"name": "domain", "url": "http://10.213.0.2:8081", "site": "lab-bj"},
            {"name": "local", "url": "http://10.213.0.3:8081", "site": "lab-sh"},
            {"name": "tls", "url": "https://10.213.0.4", "site": "lab-bj"},
        ]
        spec["cdn"]["rules"] = [{"pathPrefix": "/a/", "ttlSeconds": 1}, {"pathPrefix": "/a/b/", "ttlSeconds": 2}]

    cat = _estate(tmp_path, edit)
    out = edge_vars(cat, cat.hosts["lab-sh-cdn01"])["idcpilot_cdn"]
    assert [o["name"] for o in out["origins"]] == ["local", "domain", "far"]
    assert [o["backup"] for o in out["origins"]] == [False, True, True]
    assert out["skipped_origins"][0]["name"] == "tls"
    assert [r["path_prefix"] for r in out["rules"]] == ["/a/b/", "/a/"]  # most specific first
    gz = edge_vars(cat, cat.hosts["lab-gz-cdn01"])["idcpilot_cdn"]
    assert gz["origins"][0]["name"] == "far"


def test_gateway_vars_expand_groups_default_deny(lab):
    zt = edge_vars(lab, lab.hosts["lab-bj-zt01"])["idcpilot_zt"]
    assert zt["gateway"] == "lab-zt" and "ca_host" not in zt  # the estate CA is on the operator side (idcpilot pki)
    assert zt["listen_port"] == 443 and zt["min_tls"] == "1.2" and zt["default_deny"] is True
    apps = {a["name"]: a for a in zt["apps"]}
    assert apps["grafana"]["allowed"] == {"alice": "group ops", "carol": "group auditors"}
    assert apps["billing"]["allowed"] == {"bob": "group finance"}
    assert apps["grafana"]["upstream_hostport"] == "127.0.0.1:9301"
    # the name an https upstream's certificate is checked against (proxy_ssl_name)
    assert apps["grafana"]["upstream_host"] == "127.0.0.1" and apps["grafana"]["upstream_scheme"] == "http"
    assert zt["threat_feeds"] == [{"name": "lab-feed", "file": "/etc/idcpilot/threat-feeds/lab-feed.txt", "sync_minutes": 5}]
    assert zt["audit"]["retention_days"] == 180


def test_access_matrix_is_default_deny(lab):
    matrix = access_matrix(lab, "lab-zt")
    assert len(matrix) == 6
    assert {pair for pair, ok in matrix.items() if ok} == {("alice", "grafana"), ("carol", "grafana"), ("bob", "billing")}


def test_identity_named_directly_and_unknown_names(tmp_path):
    def edit(spec):
        spec["apps"][1]["allow"] = ["finance", "alice"]
        spec["gateways"].append({"name": "other-zt", "site": "lab-bj", "hosts": ["lab-bj-zt01"]})
        spec["threatIntel"].append({"name": "other", "url": "http://10.213.0.1:8083/x", "syncMinutes": 10, "targets": ["other-zt"]})
        spec["threatIntel"].append({"name": "mine", "url": "http://10.213.0.1:8084/x", "syncMinutes": 15, "targets": ["lab-zt"]})

    cat = _estate(tmp_path, edit)
    billing = cat.estate.spec.apps[1]
    assert allow_reasons(cat, billing) == {"alice": "identity alice", "bob": "group finance"}
    zt = edge_vars(cat, cat.hosts["lab-bj-zt01"])["idcpilot_zt"]
    assert zt["apps"][1]["allowed"] == {"alice": "identity alice", "bob": "group finance"}
    assert [f["name"] for f in zt["threat_feeds"]] == ["lab-feed", "mine"]  # feed targeted elsewhere excluded


def test_bad_upstream_is_a_located_user_error(tmp_path):
    def edit(spec):
        spec["apps"][0]["upstream"] = "ftp://127.0.0.1:21"

    with pytest.raises(UserInputError) as err:  # the catalogue refuses the scheme before any role sees it
        cat = _estate(tmp_path, edit)
        edge_vars(cat, cat.hosts["lab-bj-zt01"])
    assert "spec.apps[0].upstream" in str(err.value)
    assert "estate.yaml:" in str(err.value)


@pytest.mark.parametrize(
    ("text", "hostport", "scheme"),
    [("127.0.0.1:9301", "127.0.0.1:9301", "http"), ("https://origin.example", "origin.example:443", "https"),
     ("http://[fd00::1]:81/p/", "[fd00::1]:81", "http")],
)
def test_parse_endpoint(text, hostport, scheme):
    e = parse_endpoint(text)
    assert e.hostport == hostport and e.scheme == scheme


@pytest.mark.parametrize("text", ["gopher://x", "http://", "http://h:99999"])
def test_parse_endpoint_rejects(text):
    with pytest.raises(ValueError):
        parse_endpoint(text)


def test_inventory_carries_edge_vars(lab):
    from idcpilot import inventory, ipam

    inv = inventory.build(lab, ipam.plan(lab))
    hv = inv["_meta"]["hostvars"]
    assert "idcpilot_zt" in hv["lab-bj-zt01"] and "idcpilot_cdn" in hv["lab-gz-cdn01"]
    assert "idcpilot_zt" not in hv["lab-sh-gw01"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.255.0.9", True), ("::1", True), ("localhost", True), ("LOCALHOST", True),
     ("128.0.0.1", False), ("10.0.0.5", False), ("0.0.0.0", False), ("::", False), ("::ffff:127.0.0.1", False),
     ("localhost.evil.example", False), ("evil-localhost", False), ("127.0.0.1.evil.example", False), ("", False)],
)
def test_is_loopback_host(host, loopback):
    """Where the gateway may talk plain http: only its own loopback (MLPS3-TLS, the zt_gateway preflight)."""
    assert is_loopback_host(host) is loopback
