"""Verify roles/monitoring (PILOT-TRANSPARENCY, MLPS3-TLS): every host reports its resource usage,
on the management network only, over TLS with its own certificate from the estate CA, with the
catalogue facts the report needs."""

from __future__ import annotations

import re
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from idcpilot.pki.store import open_ca
from idcpilot.verify.suites.baseline_support import role_var, setting
from idcpilot.verify.suites.edge_support import https, old_tls_refused, plaintext_http

pytestmark = [pytest.mark.group("role_monitoring")]


def _estate_ca_context(hostvars) -> ssl.SSLContext:
    """Trusts the estate CA alone (the operator's copy, not the host's) and checks that the
    certificate names the address connected to."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=open_ca(hostvars["idcpilot_estate"]).ca_pem())
    return ctx


def _metrics(hostvars) -> str:
    port = setting(hostvars, "monitoring_port", role="monitoring")
    reply = https(hostvars["ansible_host"], port, "/metrics", _estate_ca_context(hostvars))
    assert reply.status == 200, f"https://{hostvars['ansible_host']}:{port}/metrics: {reply.status} {reply.error}"
    return reply.body


@pytest.mark.rule("PILOT-TRANSPARENCY")
def test_node_exporter_runs_from_the_distribution(host):
    assert host.package("prometheus-node-exporter").is_installed
    service = host.service("prometheus-node-exporter")
    assert service.is_running and service.is_enabled


@pytest.mark.rule("PILOT-TRANSPARENCY")
def test_listens_on_the_management_address_only(host, hostvars):
    port = setting(hostvars, "monitoring_port", role="monitoring")
    listeners = [s for s in host.socket.get_listening_sockets() if s.startswith("tcp://") and s.endswith(f":{port}")]
    assert listeners == [f"tcp://{hostvars['ansible_host']}:{port}"], listeners


@pytest.mark.rule("PILOT-TRANSPARENCY")
def test_resource_usage_is_served(hostvars, measure):
    text = _metrics(hostvars)
    for family in ("node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_filesystem_avail_bytes", "node_network_receive_bytes_total", "node_load1"):
        assert re.search(rf"^{family}[{{ ]", text, re.M), f"{family} missing"
    load = float(re.search(r"^node_load1 (\S+)", text, re.M).group(1))
    measure("node_load1", load)


@pytest.mark.rule("PILOT-TRANSPARENCY")
def test_catalogue_facts_as_metrics(hostvars):
    text = _metrics(hostvars)
    info = re.search(r"^idcpilot_host_info\{(.*)\} 1$", text, re.M)
    assert info, "idcpilot_host_info missing (textfile collector)"
    labels = dict(re.findall(r'(\w+)="([^"]*)"', info.group(1)))
    assert labels["estate"] == hostvars["idcpilot_estate"]
    assert labels["site"] == hostvars["idcpilot_site"]
    assert labels["tier"] == hostvars["idcpilot_tier"]
    assert labels["host"] == hostvars["inventory_hostname"] if "inventory_hostname" in hostvars else labels["host"]
    roles = set(re.findall(r'^idcpilot_host_role\{[^}]*role="([^"]+)"[^}]*\} 1$', text, re.M))
    assert roles == set(hostvars["idcpilot_roles"]), roles
    assert not re.search(r"^node_textfile_scrape_error 1", text, re.M), "textfile collector reports an error"


@pytest.mark.rule("MLPS3-TLS")
def test_metrics_only_over_tls_with_the_hosts_estate_certificate(host_name, hostvars):
    """The endpoint's certificate is this host's, from the estate CA (subject names the service and
    the host, verified against the operator's CA copy with the address checked); plain HTTP gets
    no metrics; TLS 1.0 and 1.1 are refused."""
    address, port = hostvars["ansible_host"], setting(hostvars, "monitoring_port", role="monitoring")
    ctx = _estate_ca_context(hostvars)
    with socket.create_connection((address, port), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname=address) as tls:
        cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
        version = tls.version()
    assert version in ("TLSv1.2", "TLSv1.3"), version
    subject = {a.oid: a.value for a in cert.subject}
    assert subject.get(NameOID.ORGANIZATIONAL_UNIT_NAME) == "node-exporter", cert.subject.rfc4514_string()
    assert subject.get(NameOID.COMMON_NAME) == host_name, cert.subject.rfc4514_string()
    plain = plaintext_http(address, port, "/metrics")
    assert "node_cpu_seconds_total" not in plain.body, "metrics served over plain HTTP"
    refused = old_tls_refused(address, port)
    assert all(v == "refused" for v in refused.values()), refused


@pytest.mark.rule("MLPS3-TLS")
def test_metrics_key_stays_on_the_host_readable_by_the_exporter_only(host, hostvars):
    """The key was made on the host: root-owned, readable by the exporter's group and nobody else,
    and it is the key of the certificate the endpoint serves."""
    tls_dir = role_var(hostvars, "monitoring_tls_dir", role="monitoring")
    key = host.file(f"{tls_dir}/server.key")
    assert key.exists and key.user == "root" and key.mode == 0o640, (key.user, oct(key.mode))
    user = role_var(hostvars, "monitoring_user", role="monitoring")
    assert key.group == user, key.group
    served = host.run(f"openssl x509 -noout -pubkey -in {tls_dir}/server.crt").stdout
    held = host.run(f"openssl pkey -pubout -in {tls_dir}/server.key").stdout
    assert served and served == held, "the installed certificate is not for the host's key"
