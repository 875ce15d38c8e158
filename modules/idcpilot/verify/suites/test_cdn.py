"""CDN cache nodes, verified with real HTTPS requests (PILOT-CDN-NODES, MLPS3-TLS, PILOT-TRACEABLE).

For every CDN node: the first request for a new object is a MISS and the second a HIT served
from cache (the origin saw one request); with the origin stopped, a cached object is still
served (fresh: HIT; expired: STALE — serve-stale-on-error); PURGE from outside the management
networks is refused and leaves the object cached, PURGE from the management network removes
it; /healthz answers; TLS below 1.2 and plaintext are refused and sslscan finds no weak
protocol or cipher; access-log lines are JSON and reach journald.

The origin is the catalogue's first origin. The suite serves it from this machine when the
origin address is one of ours (the lab bridge); otherwise the origin-dependent tests skip
with that reason, because stopping a production origin is not a verification step.
"""

from __future__ import annotations

import json
import shlex
import time
import uuid
from urllib.parse import urlsplit

import pytest

from idcpilot.verify.suites import edge_support as es


pytestmark = [pytest.mark.group("role_cdn_node")]
PORT = 443


class Node:
    def __init__(self, host, hostvars: dict):
        self.vars = hostvars
        self.cdn = self.vars["idcpilot_cdn"]
        self.address = self.vars["ansible_host"]
        self.host = host
        self.ctx = es.tls_context()  # per-host certificate: the node's identity is not under test here

    def get(self, path: str, method: str = "GET") -> "es.Reply":
        return es.https(self.address, PORT, path, self.ctx, method=method)

    def from_node(self, path: str, method: str) -> int:
        """Status of a request the node makes to itself on 127.0.0.1 (a non-management source)."""
        script = (
            "import ssl,http.client\n"
            "c=ssl.create_default_context();c.check_hostname=False;c.verify_mode=ssl.CERT_NONE\n"
            f"h=http.client.HTTPSConnection('127.0.0.1',{PORT},context=c,timeout=10)\n"
            f"h.request({method!r},{path!r});print(h.getresponse().status)\n"
        )
        return int(self.host.check_output(f"python3 -c {shlex.quote(script)}"))


@pytest.fixture
def node(host, hostvars):
    if "idcpilot_cdn" not in hostvars:
        pytest.fail("cdn_node host without idcpilot_cdn in its inventory variables")
    return Node(host, hostvars)


@pytest.fixture
def origin(node):
    """The catalogue's primary origin, served from this machine for one test at a time (the
    xdist workers of a verify run share the address, so they take turns)."""
    primary = node.cdn["origins"][0]
    url = urlsplit(primary["url"])
    if url.scheme != "http" or not es.local_address(primary["host"]):
        pytest.skip(f"origin {primary['url']} is not served from this machine (only the lab's origin can be stopped by a test)")
    with es.run_lock(f"origin-{primary['hostport']}"):
        server = es.LocalHTTP(primary["host"], int(primary["port"])).start()
        try:
            yield server
        finally:
            server.stop()


def _static_prefix(node) -> str:
    rules = [r for r in node.cdn["rules"] if r["ttl_seconds"] > 60]
    return rules[0]["path_prefix"] if rules else "/"


def _object(origin, path: str, cache_control: str = "") -> bytes:
    body = f"idcpilot verify {path} {uuid.uuid4().hex}\n".encode()
    headers = {"Content-Type": "text/plain"}
    if cache_control:
        headers["Cache-Control"] = cache_control
    origin.routes[path] = (200, headers, body)
    return body


@pytest.mark.rule("PILOT-CDN-NODES")
def test_first_request_misses_second_hits(node, origin, request):
    path = f"{_static_prefix(node)}verify-{uuid.uuid4().hex}.txt"
    body = _object(origin, path, "" if path.startswith(_static_prefix(node)) and _static_prefix(node) != "/" else "max-age=300")
    first, second = node.get(path), node.get(path)
    assert first.status == 200 and first.body == body.decode(), first
    assert first.headers.get("x-cache-status") == "MISS", first.headers
    assert second.status == 200 and second.body == body.decode()
    assert second.headers.get("x-cache-status") == "HIT", second.headers
    assert origin.hits.count(path) == 1, f"origin saw {origin.hits.count(path)} requests for {path}"


@pytest.mark.rule("PILOT-CDN-NODES")
def test_cached_objects_served_with_origin_stopped(node, origin):
    fresh = f"{_static_prefix(node)}verify-fresh-{uuid.uuid4().hex}.txt"
    expiring = f"/verify-expiring-{uuid.uuid4().hex}.txt"
    fresh_body = _object(origin, fresh, "" if _static_prefix(node) != "/" else "max-age=3600")
    expiring_body = _object(origin, expiring, "max-age=1")
    assert node.get(fresh).status == 200 and node.get(expiring).status == 200
    origin.stop()
    try:
        time.sleep(2.5)  # the max-age=1 object is now expired
        hit, stale = node.get(fresh), node.get(expiring)
        assert hit.status == 200 and hit.body == fresh_body.decode() and hit.headers.get("x-cache-status") == "HIT", hit
        assert stale.status == 200 and stale.body == expiring_body.decode(), f"expired object not served stale: {stale}"
        assert stale.headers.get("x-cache-status") in ("STALE", "UPDATING"), stale.headers
        missing = node.get(f"/verify-never-cached-{uuid.uuid4().hex}")
        assert missing.status in (502, 504), f"uncached object with origin down: {missing.status}"
    finally:
        origin.start()


@pytest.mark.rule("PILOT-CDN-NODES")
def test_purge_only_from_management_networks(node, origin):
    cidrs = node.vars["idcpilot_management_cidrs"]
    path = f"{_static_prefix(node)}verify-purge-{uuid.uuid4().hex}.txt"
    _object(origin, path, "" if _static_prefix(node) != "/" else "max-age=3600")
    assert node.get(path).headers.get("x-cache-status") == "MISS"
    assert node.get(path).headers.get("x-cache-status") == "HIT"
    # From outside the management networks: the node's loopback (127.0.0.1 is in none of them).
    assert not es.in_networks("127.0.0.1", cidrs)
    assert node.from_node(path, "PURGE") == 403
    assert node.get(path).headers.get("x-cache-status") == "HIT", "a refused PURGE must leave the object cached"
    # From the management network (this machine, when it is in one of them): accepted.
    me = es.source_address_towards(node.address)
    if not es.in_networks(me, cidrs):
        pytest.skip(f"this machine ({me}) is outside the management networks {cidrs}; refused purge checked only")
    purge = node.get(path, method="PURGE")
    assert purge.status == 200, purge
    assert node.get(path).headers.get("x-cache-status") == "MISS", "PURGE from the management network did not remove the object"


@pytest.mark.rule("PILOT-CDN-NODES")
def test_health_endpoint(node):
    reply = node.get("/healthz")
    assert reply.status == 200 and reply.body.strip() == "ok", reply


@pytest.mark.rule("PILOT-TRACEABLE")
def test_access_log_is_json_and_reaches_journald(node):
    reply = node.get("/healthz-not-a-path-" + uuid.uuid4().hex)
    rid = None
    lines = node.host.check_output("tail -n 200 /var/log/nginx/idcpilot-cdn-access.json").splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    assert entries, "empty access log"
    last = entries[-1]
    for key in ("time", "node", "client", "uri", "status", "cache", "request_id", "tls"):
        assert key in last, f"access log entry lacks {key}: {last}"
    rid = last["request_id"]
    assert es.wait_until(lambda: rid in node.host.run(f"journalctl -t idcpilot_cdn --since=-10min --no-pager -q -g {rid}").stdout, 10), \
        "access log line not in journald (the baseline forwards journald to the log store)"
    assert reply.status in (200, 404, 502, 504)


@pytest.mark.rule("MLPS3-TLS")
def test_old_tls_and_plaintext_refused(node):
    outcome = es.old_tls_refused(node.address, PORT)
    assert outcome == {"TLSv1.0": "refused", "TLSv1.1": "refused"}, outcome
    plain = es.plaintext_http(node.address, PORT, "/healthz")
    assert plain.status in (0, 400), f"plaintext request on the TLS port answered {plain.status}"
    port80 = es.plaintext_http(node.address, 80, "/healthz", timeout=3)
    assert port80.status == 0, f"plaintext listener on port 80 answered {port80.status}"


@pytest.mark.rule("MLPS3-TLS")
def test_external_scanner_finds_nothing_weak(node, measure):
    scan = es.sslscan(node.address, PORT)
    enabled = sorted(p for p, state in scan["protocols"].items() if state == "enabled")
    measure("tls_protocols", ",".join(enabled))
    measure("weak_ciphers", len(scan["weak"]))
    assert scan["protocols"], f"sslscan output not understood:\n{scan['output']}"
    assert set(enabled) <= {"TLSv1.2", "TLSv1.3"}, f"protocols below TLS 1.2 enabled: {enabled}"
    assert scan["ciphers"] and not scan["weak"], f"weak ciphers: {scan['weak']}"
