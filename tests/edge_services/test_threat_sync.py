"""roles/zt_gateway/files/idcpilot-zt-threat-sync, run as the timer runs it: a subprocess with
ZT_THREAT_CONFIG pointing at a config whose state dir and blocklist are in tmp_path. Feeds come
from a TLS server on 127.0.0.1 (CA and certificate made here), a plain HTTP server on
127.0.0.1, and operator-placed files (PILOT-THREAT-INTEL)."""

from __future__ import annotations

import datetime
import http.server
import importlib.machinery
import importlib.util
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "roles/zt_gateway/files/idcpilot-zt-threat-sync"
GOOD = b"# test feed\n198.51.100.7  # scanner\n203.0.113.0/24\n2001:db8:1::/48\n"


def load_script():
    loader = importlib.machinery.SourceFileLoader("idcpilot_zt_threat_sync", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


sync = load_script()


# ------------------------------------------------------------------ PKI and servers


def _cert(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool, ip: str | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(directory: Path, label: str) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key) of a fresh CA whose server certificate names 127.0.0.1."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{label} test CA")])
    ca = _cert(f"{label} test CA", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("127.0.0.1", key, ca_name, ca_key, ca=False, ip="127.0.0.1")
    paths = directory / f"{label}-ca.pem", directory / f"{label}-server.pem", directory / f"{label}-server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class FeedServer:
    """One feed body per path, over HTTPS (cert given) or plain HTTP, on 127.0.0.1:<free port>."""

    def __init__(self, cert: tuple[Path, Path] | None = None):
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        routes = self.routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                status, headers, body = routes.get(self.path, (404, {}, b"not found\n"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> str:
        self.routes[path] = (status, headers or {"Content-Type": "text/plain"}, body)
        return self.url(path)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, tuple[Path, Path, Path]]:
    d = tmp_path_factory.mktemp("pki")
    return {"good": make_pki(d, "good"), "rogue": make_pki(d, "rogue")}


@pytest.fixture(scope="module")
def https(pki) -> Iterator[FeedServer]:
    server = FeedServer((pki["good"][1], pki["good"][2]))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rogue_https(pki) -> Iterator[FeedServer]:
    server = FeedServer((pki["rogue"][1], pki["rogue"][2]))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain_http() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.stop()


class Run:
    """One gateway's sync: its config, state dir and blocklist under tmp_path."""

    def __init__(self, tmp: Path, ca_file: Path):
        self.tmp = tmp
        self.state = tmp / "state"
        self.state.mkdir()
        self.blocklist = self.state / "blocklist.conf"
        self.config = tmp / "feeds.json"
        self.base = {"blocklist": str(self.blocklist), "state_dir": str(self.state), "timeout_seconds": 5,
                     "ca_file": str(ca_file), "max_bytes": 4096, "min_prefix": {"ipv4": 8, "ipv6": 32},
                     "file_owner_uids": [0, os.getuid()]}

    def __call__(self, *feeds: dict, **cfg) -> subprocess.CompletedProcess:
        self.config.write_text(json.dumps({**self.base, **cfg, "feeds": list(feeds)}))
        env = {"PATH": "/usr/bin:/bin", "ZT_THREAT_CONFIG": str(self.config)}
        return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)

    def listed(self) -> set[str]:
        return {line.split()[0] for line in self.blocklist.read_text().splitlines() if line and not line.startswith("#")}


@pytest.fixture
def run(tmp_path, pki) -> Run:
    return Run(tmp_path, pki["good"][0])


def _good_first(run: Run, https: FeedServer, name: str = "ti") -> dict:
    feed = {"name": name, "url": https.serve(f"/{name}-good.txt", GOOD), "sync_minutes": 5}
    first = run(feed)
    assert first.returncode == 0, first.stdout + first.stderr
    assert run.listed() == {"198.51.100.7/32", "203.0.113.0/24", "2001:db8:1::/48"}
    return feed


# ------------------------------------------------------------------ the cases


def test_good_https_feed_is_written(run, https):
    _good_first(run, https)
    assert run.blocklist.read_text().startswith(sync.HEADER)
    assert (run.state / "ti.txt").read_bytes() == GOOD
    assert not [p for p in run.state.iterdir() if p.name.startswith(".")], "temporary file left behind"
    again = run({"name": "ti", "url": https.url("/ti-good.txt"), "sync_minutes": 5})
    assert again.returncode == 0 and "blocklist unchanged" in again.stdout


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/ti.txt", "ftp://127.0.0.1/ti.txt", "file:///etc/passwd",
                                 "HTTP://127.0.0.1:{port}/ti.txt", "127.0.0.1/ti.txt"])
def test_non_https_url_is_refused_and_last_good_kept(run, https, plain_http, url):
    _good_first(run, https)
    plain_http.serve("/ti.txt", b"192.0.2.1\n")
    bad = run({"name": "ti", "url": url.format(port=plain_http.httpd.server_address[1]), "sync_minutes": 5})
    assert bad.returncode == 1
    assert "only https:// is allowed" in bad.stdout, bad.stdout
    assert "keeping its last good copy" in bad.stdout
    assert run.listed() == {"198.51.100.7/32", "203.0.113.0/24", "2001:db8:1::/48"}


def test_redirect_to_http_is_refused(run, https, plain_http):
    _good_first(run, https)
    target = plain_http.serve("/moved.txt", b"192.0.2.1\n")
    url = https.serve("/redirect.txt", b"", status=302, headers={"Location": target})
    bad = run({"name": "ti", "url": url, "sync_minutes": 5})
    assert bad.returncode == 1 and "redirect to" in bad.stdout, bad.stdout
    assert "192.0.2.1/32" not in run.listed()


def test_server_certificate_of_another_ca_is_refused(run, https, rogue_https):
    _good_first(run, https)
    bad = run({"name": "ti", "url": rogue_https.serve("/ti.txt", b"192.0.2.1\n"), "sync_minutes": 5})
    assert bad.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in bad.stdout, bad.stdout
    assert "192.0.2.1/32" not in run.listed() and "198.51.100.7/32" in run.listed()


@pytest.mark.parametrize(("line", "refused"), [
    ("0.0.0.0/0", True),
    ("10.0.0.0/7", True),
    ("10.0.0.0/8", False),
    ("::/0", True),
    ("2001:db8::/31", True),
    ("2001:db8::/32", False),
    ("127.0.0.1", True),
    ("::1", True),
])
def test_prefix_threshold_and_loopback(run, https, line, refused):
    _good_first(run, https)
    body = f"# feed\n192.0.2.1\n\n{line}  # the entry under test\n".encode()
    result = run({"name": "ti", "url": https.serve(f"/t-{abs(hash(line))}.txt", body), "sync_minutes": 5})
    net = str(ipaddress.ip_network(line, strict=False))
    if refused:
        assert result.returncode == 1
        assert "line 4:" in result.stdout, result.stdout
        assert "192.0.2.1/32" not in run.listed() and net not in run.listed()
        assert "198.51.100.7/32" in run.listed(), "last good copy lost"
        assert (run.state / "ti.txt").read_bytes() == GOOD
    else:
        assert result.returncode == 0, result.stdout
        assert run.listed() == {"192.0.2.1/32", net}


def test_thresholds_come_from_the_config(run, https):
    url = https.serve("/sixteen.txt", b"10.1.0.0/16\n")
    assert run({"name": "ti", "url": url, "sync_minutes": 5}).returncode == 0
    tighter = run({"name": "ti", "url": url, "sync_minutes": 5}, min_prefix={"ipv4": 24, "ipv6": 48})
    assert tighter.returncode == 1 and "broader than /24" in tighter.stdout
    # the last good copy is held to today's thresholds too
    assert run.listed() == set()


@pytest.mark.parametrize(("body", "why"), [
    (b"192.0.2.1\n" * 500, "more than the limit"),     # 5000 bytes > max_bytes 4096
    (b"192.0.2.1\n\xff\xfe198.51.100.1\n", "not UTF-8"),
    (b"<html><body>login</body></html>\n", "not one address"),
])
def test_oversize_non_utf8_and_error_pages_are_refused(run, https, body, why):
    _good_first(run, https)
    result = run({"name": "ti", "url": https.serve(f"/bad-{abs(hash(body))}.txt", body), "sync_minutes": 5})
    assert result.returncode == 1 and why in result.stdout, result.stdout
    assert "198.51.100.7/32" in run.listed()


def test_unreachable_feed_keeps_last_good_and_other_feeds_still_apply(run, https):
    _good_first(run, https)
    other = {"name": "other", "url": https.serve("/other.txt", b"192.0.2.9\n"), "sync_minutes": 5}
    down = {"name": "ti", "url": "https://127.0.0.1:1/ti.txt", "sync_minutes": 5}
    result = run(down, other)
    assert result.returncode == 1
    assert run.listed() == {"198.51.100.7/32", "203.0.113.0/24", "2001:db8:1::/48", "192.0.2.9/32"}


def test_operator_file_is_accepted(run, tmp_path):
    feed_file = tmp_path / "placed.txt"
    feed_file.write_bytes(b"192.0.2.44\n")
    feed_file.chmod(0o644)
    result = run({"name": "local", "file": str(feed_file), "sync_minutes": 5})
    assert result.returncode == 0, result.stdout
    assert run.listed() == {"192.0.2.44/32"}


def test_operator_file_writable_by_others_or_wrong_owner_or_symlink_is_refused(run, tmp_path):
    feed_file = tmp_path / "placed.txt"
    feed_file.write_bytes(b"192.0.2.44\n")
    feed_file.chmod(0o664)
    assert "writable by group or others" in run({"name": "local", "file": str(feed_file)}).stdout
    feed_file.chmod(0o644)
    link = tmp_path / "link.txt"
    link.symlink_to(feed_file)
    assert "symlink" in run({"name": "local", "file": str(link)}).stdout
    if os.getuid() != 0:  # owned by the user running the sync (as the sync user's own file would be)
        result = run({"name": "local", "file": str(feed_file)}, file_owner_uids=[0])
        assert result.returncode == 1 and f"owned by uid {os.getuid()}" in result.stdout
    relative = run({"name": "local", "file": "placed.txt"})
    assert relative.returncode == 1 and "not an absolute path" in relative.stdout
    assert not run.blocklist.exists() or run.listed() == set()


@pytest.mark.parametrize(("feed", "problem"), [
    ({"name": "a", "url": "https://ti.example/x.txt"}, None),
    ({"name": "a", "file": "/etc/idcpilot/feeds/a.txt"}, None),
    ({"name": "a", "url": "http://ti.example/x.txt"}, "only https://"),
    ({"name": "a", "url": "ftp://ti.example/x.txt"}, "only https://"),
    ({"name": "a", "url": "file:///etc/x.txt"}, "only https://"),
    ({"name": "a", "url": "https:///x.txt"}, "no host"),
    ({"name": "a", "url": "https://u:p@ti.example/x.txt"}, "credentials"),
    ({"name": "a", "url": "https://ti.example/x.txt", "file": "/x"}, "exactly one"),
    ({"name": "a"}, "exactly one"),
    ({"name": "a", "file": "etc/x.txt"}, "absolute"),
    ({"name": "a", "file": "/etc/../x.txt"}, "plain absolute"),
    ({"name": "../a", "url": "https://ti.example/x.txt"}, "plain name"),
])
def test_feed_source_rule(feed, problem):
    got = sync.feed_source_problem(feed)
    assert (got is None) if problem is None else (problem in got), got
