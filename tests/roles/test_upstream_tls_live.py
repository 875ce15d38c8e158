"""Real nginx, real TLS: the zero-trust gateway and the CDN node verify their https upstream.

The roles' own templates (roles/zt_gateway/templates/idcpilot-zt.conf.j2, roles/cdn_node's
idcpilot-cdn.conf.j2 and proxy.inc.j2) are rendered by Ansible's templating engine with the
repository's filters, moved onto 127.0.0.1 high ports (the only edit: the listen lines), and run
by the machine's nginx under a private prefix. Behind them a Python https server plays the app
upstream / the CDN origin with one certificate per case:

- from the trusted CA for the expected name (localhost): the request goes through (200);
- self-signed for CN=attacker.example (the security review's reproduction),
- self-signed for the right name (untrusted chain),
- from the trusted CA for another name (proxy_ssl_name is checked):
  nginx answers 502, the upstream never receives a request (no identity header leaves the
  gateway) and the CDN caches nothing.

Skipped where nginx or its cache-purge module is missing. nginx is always stopped (fixture
teardown), and every wait is bounded.
"""

from __future__ import annotations

import datetime
import http.client
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))

from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import filter_loader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from idcpilot.edge_services.urls import parse_endpoint  # noqa: E402

filter_loader.add_directory(str(REPO / "modules" / "idcpilot" / "ansible_plugins" / "filter"))

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
OPENSSL = shutil.which("openssl")
PURGE_MODULE = Path("/usr/lib/nginx/modules/ngx_http_cache_purge_module.so")
#: The name the upstream's certificate must carry: the upstream URL's host. localhost resolves
#: to 127.0.0.1 without DNS, so nginx (which resolves upstream names when it starts) finds it.
UPSTREAM_NAME = "localhost"
BODY = b"from the upstream\n"

pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed on this machine"),
    pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed on this machine"),
]


# ---------------------------------------------------------------------------- certificates


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    return path.with_suffix(".crt"), path.with_suffix(".key")


@dataclass
class ThrowawayCA:
    """A throw-away CA (the estate CA of the test) issuing leaf certificates."""

    directory: Path
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name("idcpilot test CA")).issuer_name(_name("idcpilot test CA"))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                                  key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.pem = self.directory / "ca.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        crl = (x509.CertificateRevocationListBuilder().issuer_name(self.cert.subject).last_update(now)
               .next_update(now + datetime.timedelta(days=1)).sign(self.key, hashes.SHA256()))
        self.crl = self.directory / "crl.pem"
        self.crl.write_bytes(crl.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem: str, cn: str, dns: str | None, client: bool = False) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                                         else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        if dns:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
        return _write(self.directory / stem, builder.sign(self.key, hashes.SHA256()), key)


def self_signed(directory: Path, stem: str, cn: str) -> tuple[Path, Path]:
    """A self-signed server certificate made by the openssl CLI, as the review's attacker did."""
    crt, key = directory / f"{stem}.crt", directory / f"{stem}.key"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "1", "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName=DNS:{cn}"], check=True, capture_output=True, timeout=30)
    return crt, key


@dataclass
class Pki:
    ca: ThrowawayCA
    upstreams: dict[str, tuple[Path, Path]]   # case -> (certificate, key) the upstream serves
    server: tuple[Path, Path]                 # what the gateway / the CDN node serves to clients
    client: tuple[Path, Path]                 # alice's client certificate for the gateway


#: case -> whether nginx must accept the upstream's certificate
CASES = {
    "trusted CA, expected name": True,
    "self-signed attacker.example": False,
    "self-signed, expected name": False,
    "trusted CA, other name": False,
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca = ThrowawayCA(d)
    upstreams = {
        "trusted CA, expected name": ca.issue("good", UPSTREAM_NAME, UPSTREAM_NAME),
        "self-signed attacker.example": self_signed(d, "attacker", "attacker.example"),
        "self-signed, expected name": self_signed(d, "impostor", UPSTREAM_NAME),
        "trusted CA, other name": ca.issue("other", "other.test.internal", "other.test.internal"),
    }
    return Pki(ca, upstreams, ca.issue("server", "edge.test.internal", "edge.test.internal"), ca.issue("alice", "alice", None, client=True))


# ---------------------------------------------------------------------------- the upstream


class Upstream:
    """An https server on 127.0.0.1 that records every request it receives."""

    def __init__(self, cert: tuple[Path, Path]):
        self.requests: list[dict[str, str]] = []
        recorded = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                recorded.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Cache-Control", "public, max-age=300")
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.handle_error = lambda request, address: None  # a refused handshake is expected here
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------------------- rendering and nginx


def render(role: str, templates: list[str], overrides: dict[str, Any]) -> list[str]:
    """The role's templates as Ansible renders them for a Debian host: defaults, vars/Debian.yml, overrides."""
    loader = DataLoader()
    variables: dict[str, Any] = {}
    variables.update(loader.load_from_file(str(REPO / "roles" / role / "defaults" / "main.yml"), trusted_as_template=True))
    variables.update(loader.load_from_file(str(REPO / "roles" / role / "vars" / "Debian.yml"), trusted_as_template=True))
    variables.update({"ansible_managed": "Ansible managed", "os_family_name": "Debian", **overrides})
    templar = Templar(loader=loader, variables=variables)
    return [str(templar.template(trust_as_template((REPO / "roles" / role / "templates" / t).read_text()))) for t in templates]


def on_loopback(site: str, port: int) -> str:
    """The site with its listeners on 127.0.0.1:<port> instead of every address (nothing else changes)."""
    v4, v6 = f"    listen {port} ssl default_server;\n", f"    listen [::]:{port} ssl default_server;\n"
    assert site.count(v4) == 1 and site.count(v6) == 1, "the template's listen lines changed: update this test"
    return site.replace(v4, f"    listen 127.0.0.1:{port} ssl default_server;\n").replace(v6, "")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Nginx:
    port: int
    process: subprocess.Popen[bytes]
    error_log: Path


def start_nginx(prefix: Path, site: str, port: int) -> Nginx:
    """nginx in the foreground under ``prefix``, reading ``site`` inside its http block."""
    (prefix / "site.conf").write_text(site)
    for sub in ("body", "proxy"):
        (prefix / sub).mkdir(exist_ok=True)
    main = prefix / "nginx.conf"
    main.write_text(
        (f"load_module {PURGE_MODULE};\n" if PURGE_MODULE.exists() else "")
        + ("user root root;\n" if os.geteuid() == 0 else "")  # workers read the test's private files
        + f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log info;\nworker_processes 1;\n"
        + "events { worker_connections 64; }\n"
        + f"http {{\n client_body_temp_path {prefix}/body;\n proxy_temp_path {prefix}/proxy;\n"
        + f" access_log {prefix}/access.log;\n include {prefix}/site.conf;\n}}\n")
    check = subprocess.run([NGINX, "-t", "-q", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(main)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"nginx -t refused the rendered configuration:\n{check.stderr}\n{site}"
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(main),
                                "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return Nginx(port, process, prefix / "error.log")
        except OSError:
            time.sleep(0.1)
    stop_nginx(process)
    raise AssertionError(f"nginx did not start:\n{(prefix / 'error.log').read_text(errors='replace')}")


def stop_nginx(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def get(port: int, path: str, ca: Path, client: tuple[Path, Path] | None = None) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False  # the listener is 127.0.0.1; the chain is still verified
    if client:
        context.load_cert_chain(str(client[0]), str(client[1]))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=15)
    connection.request("GET", path, headers={"Host": "edge.test.internal"})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


@pytest.fixture
def nginx_runs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every nginx a test starts is stopped, whatever happens in the test."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop_nginx(process)


# ---------------------------------------------------------------------------- zero-trust gateway


def gateway_config(prefix: Path, pki: Pki, port: int, upstream_port: int) -> str:
    upstream = f"https://{UPSTREAM_NAME}:{upstream_port}"
    endpoint = parse_endpoint(upstream)
    app = {"name": "grafana", "upstream": upstream, "upstream_scheme": endpoint.scheme, "upstream_host": endpoint.host,
           "upstream_hostport": endpoint.hostport, "upstream_path": endpoint.path, "exposed": True,
           "allow": ["ops"], "allowed": {"alice": "group ops"}}
    config_dir, intel = prefix / "zt", prefix / "intel"
    config_dir.mkdir()
    intel.mkdir()
    shutil.copy(pki.server[0], config_dir / "server.crt")
    shutil.copy(pki.server[1], config_dir / "server.key")
    shutil.copy(pki.ca.pem, config_dir / "ca.pem")  # the estate CA bundle: zt_gateway_upstream_ca_file's default
    shutil.copy(pki.ca.crl, config_dir / "crl.pem")
    (intel / "blocklist.conf").write_text("")
    (site,) = render("zt_gateway", ["idcpilot-zt.conf.j2"], {
        "idcpilot_zt": {"gateway": "test-zt", "apps": [app], "identities": [{"name": "alice", "groups": ["ops"]}],
                        "listen_port": port, "min_tls": "1.2", "default_deny": True, "threat_feeds": [],
                        "audit": {"retention_days": 180, "enabled": False}},
        "idcpilot_estate": "test", "inventory_hostname": "edge.test.internal", "idcpilot_management_cidrs": [],
        "zt_gateway_config_dir": str(config_dir), "zt_gateway_threat_state_dir": str(intel),
        "zt_gateway_audit_log_dir": str(prefix),
    })
    assert f"proxy_ssl_trusted_certificate {config_dir}/ca.pem;" in site  # the default trust bundle
    return on_loopback(site, port)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gateway_sends_identity_only_to_a_verified_upstream(case: str, pki: Pki, tmp_path: Path,
                                                           nginx_runs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    with Upstream(pki.upstreams[case]) as upstream:
        nginx = start_nginx(tmp_path, gateway_config(tmp_path, pki, port, upstream.port), port)
        nginx_runs.append(nginx.process)
        response = get(port, "/grafana/dashboard", pki.ca.pem, client=pki.client)
        log = nginx.error_log.read_text(errors="replace")
        if CASES[case]:
            assert (response.status, response.body) == (200, BODY), log
            assert [(r["path"], r["x-idcpilot-identity"]) for r in upstream.requests] == [("/dashboard", "alice")]
        else:
            assert response.status == 502, (response.status, response.body)
            assert upstream.requests == [], "the gateway sent the request (and its identity headers) to an unverified upstream"
            assert "upstream SSL certificate" in log, log  # refused by verification, not by another failure


def test_gateway_upstream_in_http_has_no_tls_directives(tmp_path: Path, pki: Pki) -> None:
    """The https branch is the app's: a loopback http upstream (the lab's) gets no proxy_ssl_* at all."""
    site = gateway_config(tmp_path, pki, 1443, 9301)
    assert "proxy_ssl_verify on;" in site and "proxy_ssl_name localhost;" in site
    (plain,) = render("zt_gateway", ["idcpilot-zt.conf.j2"], {
        "idcpilot_zt": {"gateway": "test-zt", "identities": [], "listen_port": 1443, "min_tls": "1.2", "default_deny": True,
                        "threat_feeds": [], "audit": {"retention_days": 180, "enabled": False},
                        "apps": [{"name": "grafana", "upstream": "127.0.0.1:9301", "upstream_scheme": "http",
                                  "upstream_host": "127.0.0.1", "upstream_hostport": "127.0.0.1:9301", "upstream_path": "",
                                  "allowed": {}}]},
        "idcpilot_estate": "test", "inventory_hostname": "edge.test.internal", "idcpilot_management_cidrs": [],
    })
    assert "proxy_pass http://zt_app_grafana/;" in plain and "proxy_ssl_" not in plain


# ---------------------------------------------------------------------------- CDN node


def cdn_config(prefix: Path, pki: Pki, port: int, origin_port: int) -> str:
    url = f"https://{UPSTREAM_NAME}:{origin_port}"
    origin = {"name": "test-origin", "url": url, "site": None, **parse_endpoint(url).as_dict(), "backup": False}
    tls_dir, cache = prefix / "cdn", prefix / "cache"
    tls_dir.mkdir()
    cache.mkdir()
    shutil.copy(pki.server[0], tls_dir / "node.crt")
    shutil.copy(pki.server[1], tls_dir / "node.key")
    overrides = {
        "idcpilot_cdn": {"origins": [origin], "origin_scheme": "https", "cache_size_gb": 1, "memory_cache_mb": 1,
                         "stale_if_error_seconds": 60, "rules": [{"path_prefix": "/static/", "ttl_seconds": 300}]},
        "idcpilot_estate": "test", "inventory_hostname": "edge.test.internal", "idcpilot_management_cidrs": ["10.0.0.0/8"],
        "cdn_node_tls_dir": str(tls_dir), "cdn_node_cache_dir": str(cache), "cdn_node_access_log": str(prefix / "cdn.json"),
        "cdn_node_access_log_syslog": False, "cdn_node_listen_port": port,
        "cdn_node_origin_ca_file": str(pki.ca.pem),  # an operator pointing the node at the IDC's own CA bundle
    }
    site, include = render("cdn_node", ["idcpilot-cdn.conf.j2", "proxy.inc.j2"], overrides)
    (tls_dir / "proxy.inc").write_text(include)
    assert f"proxy_ssl_trusted_certificate {pki.ca.pem};" in include
    return on_loopback(site, port)


def cached_files(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()]


@pytest.mark.parametrize("case", sorted(CASES))
def test_cdn_caches_only_from_a_verified_origin(case: str, pki: Pki, tmp_path: Path,
                                               nginx_runs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    with Upstream(pki.upstreams[case]) as origin:
        nginx = start_nginx(tmp_path, cdn_config(tmp_path, pki, port, origin.port), port)
        nginx_runs.append(nginx.process)
        first = get(port, "/static/app.js", pki.ca.pem)
        log = nginx.error_log.read_text(errors="replace")
        if CASES[case]:
            assert (first.status, first.body, first.getheader("X-Cache-Status")) == (200, BODY, "MISS"), log
            again = get(port, "/static/app.js", pki.ca.pem)
            assert (again.status, again.getheader("X-Cache-Status")) == (200, "HIT")  # the cache works in this setup
            assert len(origin.requests) == 1 and cached_files(tmp_path / "cache")
        else:
            assert first.status == 502, (first.status, first.body)
            assert origin.requests == [] and cached_files(tmp_path / "cache") == [], "a response from an unverified origin"
            assert "upstream SSL certificate" in log, log


def test_cdn_origin_ca_file_defaults_to_the_families_system_bundle() -> None:
    """Without an operator's bundle, the node trusts its OS family's system CA bundle."""
    import yaml

    defaults = yaml.safe_load((REPO / "roles/cdn_node/defaults/main.yml").read_text())
    assert defaults["cdn_node_origin_ca_file"] == ""  # argument validation runs before vars/ load: no reference here
    template = (REPO / "roles/cdn_node/templates/proxy.inc.j2").read_text()
    assert "(cdn_node_origin_ca_file or cdn_node_system_ca_file)" in template
    bundles = {family: yaml.safe_load((REPO / f"roles/cdn_node/vars/{family}.yml").read_text())["cdn_node_system_ca_file"]
               for family in ("Debian", "RedHat")}
    assert bundles == {"Debian": "/etc/ssl/certs/ca-certificates.crt", "RedHat": "/etc/pki/tls/certs/ca-bundle.crt"}
