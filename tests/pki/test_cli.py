"""``idcpilot pki`` through the real executable: enrolment from a CSR, renewal, revocation, the
CRL, and the deploy's ``sign-host``; bad input exits 2 naming what is wrong, never a traceback,
and never overwrites a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from idcpilot.pki import ca as pki

REPO = Path(__file__).resolve().parents[2]
IDCPILOT = str(Path(sys.executable).with_name("idcpilot"))
EXAMPLE = "inventories/example"
ESTATE = "example"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    secret = tmp_path / "passphrase"
    secret.write_text("operators keep this one offline\n")
    secret.chmod(0o600)
    out = {k: v for k, v in os.environ.items() if not k.startswith("IDCPILOT_PKI")}
    return out | {"IDCPILOT_PKI_DIR": str(tmp_path / "ca"), "IDCPILOT_PKI_PASSPHRASE_FILE": str(secret)}


def cli(env: dict[str, str], *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([IDCPILOT, "pki", *args], cwd=REPO, env=env, input=stdin, capture_output=True, timeout=120)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc


def make_csr(tmp: Path, name: str = "owner") -> tuple[Path, object]:
    key = pki.new_key()
    req = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "root")]))
    path = tmp / f"{name}.csr"
    path.write_bytes(req.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return path, key


def test_enrol_renew_revoke_and_status(env, tmp_path):
    assert cli(env, "init", EXAMPLE).returncode == 0
    csr, key = make_csr(tmp_path)
    out = tmp_path / "wang-lei.crt"
    signed = cli(env, "sign", EXAMPLE, "--identity", "wang-lei", "--csr", str(csr), "--out", str(out))
    assert signed.returncode == 0, signed.stderr
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    assert cert.subject.rfc4514_string() == f"CN=wang-lei,OU=admins,OU=ops,O={ESTATE}"  # the catalogue's, not the request's
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[attr-defined]

    again = cli(env, "sign", EXAMPLE, "--identity", "wang-lei", "--csr", str(csr), "--out", str(out))
    assert again.returncode == 2 and b"does not overwrite" in again.stderr
    assert x509.load_pem_x509_certificate(out.read_bytes()).serial_number == cert.serial_number

    due = cli(env, "renew", EXAMPLE, "--due")  # a fresh 30-day certificate is not in its renewal window
    assert due.returncode == 0 and b"no client certificate is due" in due.stdout, due.stdout
    renewed = cli(env, "renew", EXAMPLE, "--identity", "wang-lei")
    assert renewed.returncode == 0, renewed.stderr
    assert x509.load_pem_x509_certificate(renewed.stdout).public_key().public_numbers() == cert.public_key().public_numbers()

    revoked = cli(env, "revoke", EXAMPLE, "--identity", "wang-lei", "--reason", "key_compromise")
    assert revoked.returncode == 0 and revoked.stdout.count(b"revoked ") == 2, revoked.stdout
    crl = x509.load_pem_x509_crl((Path(env["IDCPILOT_PKI_DIR"]) / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None

    status = cli(env, "status", EXAMPLE, "--format", "json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["keyEncrypted"] and data["revoked"] == 2 and data["current"] == []
    assert cli(env, "ca", EXAMPLE).stdout.startswith(b"-----BEGIN CERTIFICATE-----")


def test_sign_host_uses_catalogue_names_and_is_idempotent(env, tmp_path):
    assert cli(env, "init", EXAMPLE).returncode == 0
    csr, _ = make_csr(tmp_path)
    first = cli(env, "sign-host", EXAMPLE, "--host", "bj-core-1-zt-01", "--csr", "-", stdin=csr.read_bytes())
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["changed"] and data["ca"].startswith("-----BEGIN CERTIFICATE") and "X509 CRL" in data["crl"]
    cert = x509.load_pem_x509_certificate(data["certificate"].encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["bj-core-1-zt-01"] and san.get_values_for_type(x509.IPAddress)
    second = json.loads(cli(env, "sign-host", EXAMPLE, "--host", "bj-core-1-zt-01", "--csr", "-", stdin=csr.read_bytes()).stdout)
    assert not second["changed"] and second["certificate"] == data["certificate"]
    other, _ = make_csr(tmp_path, "other")
    check = json.loads(cli(env, "sign-host", EXAMPLE, "--host", "bj-core-1-zt-01", "--check", stdin=other.read_bytes()).stdout)
    assert check["changed"] and check["certificate"] == ""


def test_a_hosts_services_have_certificates_of_their_own(env, tmp_path):
    """The gateway and the node exporter of one host: each its own key and certificate (the
    subject names the service), and signing one never supersedes (revokes) the other."""
    assert cli(env, "init", EXAMPLE).returncode == 0
    gateway_csr, _ = make_csr(tmp_path, "gateway")
    metrics_csr, _ = make_csr(tmp_path, "metrics")
    host = ["--host", "bj-core-1-zt-01"]
    gateway = json.loads(cli(env, "sign-host", EXAMPLE, *host, stdin=gateway_csr.read_bytes()).stdout)
    metrics = json.loads(cli(env, "sign-host", EXAMPLE, *host, "--service", "node-exporter", stdin=metrics_csr.read_bytes()).stdout)
    subjects = [x509.load_pem_x509_certificate(d["certificate"].encode()).subject.rfc4514_string() for d in (gateway, metrics)]
    assert subjects[0].startswith("CN=bj-core-1-zt-01,OU=") and subjects[1] == f"CN=bj-core-1-zt-01,OU=node-exporter,O={ESTATE}"
    assert subjects[0] != subjects[1]
    again = json.loads(cli(env, "sign-host", EXAMPLE, *host, stdin=gateway_csr.read_bytes()).stdout)
    assert not again["changed"] and again["certificate"] == gateway["certificate"], "the node exporter's certificate superseded the gateway's"
    crl = x509.load_pem_x509_crl((Path(env["IDCPILOT_PKI_DIR"]) / "crl.pem").read_bytes())
    assert len(list(crl)) == 0, "a service's certificate was revoked by another service's signing"
    cp = json.loads(cli(env, "sign-host", EXAMPLE, "--host", "bj-core-1-cp-01", "--service", "node-exporter",
                        stdin=metrics_csr.read_bytes()).stdout)
    assert cp["changed"] and "OU=node-exporter" in x509.load_pem_x509_certificate(cp["certificate"].encode()).subject.rfc4514_string()


@pytest.mark.parametrize("args, stdin, message", [
    (["sign-host", EXAMPLE, "--host", "nope"], b"", b"no host"),
    (["sign-host", EXAMPLE, "--host", "bj-core-1-cp-01"], b"", b"does not have the role zt_gateway"),
    (["sign-host", EXAMPLE, "--host", "bj-core-1-cp-01", "--service", "ssh"], b"", b"not one of gateway, node-exporter"),
    (["sign-host", EXAMPLE, "--host", "bj-core-1-zt-01"], b"garbage", b"not a PEM certificate request"),
    (["sign-host", EXAMPLE, "--host", "bj-core-1-zt-01"], b"A" * 70_000, b"larger than"),
    (["sign", EXAMPLE, "--identity", "mallory", "--csr", "-"], b"", b"no identity"),
    (["revoke", EXAMPLE, "--serial", "xyz"], None, b"not a hexadecimal serial"),
    (["revoke", EXAMPLE, "--serial", "abc"], None, b"no certificate with serial"),
    (["revoke", EXAMPLE, "--identity", "wang-lei", "--reason", "because"], None, b"nothing to revoke"),
    (["renew", EXAMPLE], None, b"--identity NAME or --due"),
    (["renew", EXAMPLE, "--identity", "li-na"], None, b"no unrevoked certificate"),
    (["renew", EXAMPLE, "--identity", "mallory"], None, b"no identity"),
])
def test_bad_input_exits_2_with_a_reason(env, args, stdin, message):
    assert cli(env, "init", EXAMPLE).returncode == 0
    proc = cli(env, *args, stdin=stdin)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert message in proc.stderr, proc.stderr


def test_without_a_ca_or_passphrase(env):
    proc = cli(env, "status", EXAMPLE)
    assert proc.returncode == 2 and b"idcpilot pki init" in proc.stderr
    bare = {k: v for k, v in env.items() if k != "IDCPILOT_PKI_PASSPHRASE_FILE"}
    proc = cli(bare, "init", EXAMPLE)
    assert proc.returncode == 2 and b"IDCPILOT_PKI_PASSPHRASE_FILE" in proc.stderr
    assert not (Path(env["IDCPILOT_PKI_DIR"]) / "ca.p12").exists()
    assert cli(env, "init", EXAMPLE).returncode == 0
    wrong = dict(bare, IDCPILOT_PKI_PASSPHRASE="not the right one at all")
    proc = cli(wrong, "crl", EXAMPLE, "--force")
    assert proc.returncode == 2 and b"does not open the CA key" in proc.stderr
    assert cli(env, "init", EXAMPLE).returncode == 2  # never over an existing CA


def test_deploy_needs_the_ca_and_never_a_passphrase_in_its_environment(env, tmp_path):
    """Checked after the gate and before any host is touched: no run directory is made."""
    state = tmp_path / "state"
    base = dict(env, IDCPILOT_STATE_DIR=str(state))
    proc = subprocess.run([IDCPILOT, "deploy", EXAMPLE], cwd=REPO, env=base, capture_output=True, timeout=600)
    assert proc.returncode == 2 and b"need its CA on this machine" in proc.stderr and b"idcpilot pki init" in proc.stderr, proc.stderr
    assert not (state / "runs").exists()
    leaky = dict(base, IDCPILOT_PKI_PASSPHRASE="operators keep this one offline")
    proc = subprocess.run([IDCPILOT, "deploy", EXAMPLE], cwd=REPO, env=leaky, capture_output=True, timeout=600)
    assert proc.returncode == 2 and b"records its environment" in proc.stderr, proc.stderr
    assert b"Traceback" not in proc.stderr and not (state / "runs").exists()
