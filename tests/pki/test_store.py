"""The estate CA (idcpilot.pki): what it signs, for how long, what it refuses, and that its key
stays encrypted. Every certificate is checked with openssl, the verifier nginx uses."""

from __future__ import annotations

import json
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from idcpilot.pki import ca as pki
from idcpilot.pki.store import CA, lifetimes

PASS = "a passphrase of some length"


@pytest.fixture
def ca(tmp_path, monkeypatch) -> CA:
    monkeypatch.delenv("IDCPILOT_PKI_PASSPHRASE_FILE", raising=False)
    monkeypatch.setenv("IDCPILOT_PKI_PASSPHRASE", PASS)
    c = CA(tmp_path / "ca", lifetimes())
    c.init("lab")
    return c


def csr(key=None, names=("evil.example",)) -> bytes:
    key = key or pki.new_key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "evil")]))
    builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def openssl_verify(ca: CA, cert_pem: str, tmp: Path, purpose: str) -> subprocess.CompletedProcess[str]:
    (tmp / "leaf.pem").write_text(cert_pem)
    return subprocess.run(["openssl", "verify", "-purpose", purpose, "-CAfile", str(ca.dir / "ca.crt"), "-crl_check",
                           "-CRLfile", str(ca.dir / "crl.pem"), str(tmp / "leaf.pem")], capture_output=True, text=True)


def test_thresholds_give_the_lifetimes():
    life = lifetimes()
    assert (life.client_days, life.server_days, life.crl_days, life.crl_alert_days, life.ca_days) == (30, 90, 7, 3, 1826)


def test_the_ca_key_is_encrypted_and_private(ca):
    data = (ca.dir / "ca.p12").read_bytes()
    assert pki.key_is_encrypted(data)
    assert b"PRIVATE KEY" not in data
    for path in [ca.dir, *ca.dir.iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    with pytest.raises(pki.PkiError, match="does not open"):
        pki.decrypt_key(data, b"wrong passphrase!")
    status = ca.status()
    assert status["keyEncrypted"] and not status["lab"] and not (ca.dir / "lab-passphrase").exists()


def test_no_passphrase_no_ca(tmp_path, monkeypatch):
    monkeypatch.delenv("IDCPILOT_PKI_PASSPHRASE", raising=False)
    monkeypatch.delenv("IDCPILOT_PKI_PASSPHRASE_FILE", raising=False)
    c = CA(tmp_path / "ca", lifetimes())
    with pytest.raises(pki.PkiError, match="IDCPILOT_PKI_PASSPHRASE_FILE"):
        c.init("lab")
    assert not c.exists() and not (tmp_path / "ca" / "ca.p12").exists()


def test_a_passphrase_file_readable_by_others_is_refused(tmp_path, monkeypatch, ca):
    monkeypatch.delenv("IDCPILOT_PKI_PASSPHRASE", raising=False)
    secret = tmp_path / "pass"
    secret.write_text(PASS + "\n")
    secret.chmod(0o644)
    monkeypatch.setenv("IDCPILOT_PKI_PASSPHRASE_FILE", str(secret))
    with pytest.raises(pki.PkiError, match="readable by you alone"):
        ca.check_passphrase()
    secret.chmod(0o600)
    ca.check_passphrase()


def test_a_lab_ca_keeps_its_passphrase_beside_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("IDCPILOT_PKI_PASSPHRASE", raising=False)
    monkeypatch.delenv("IDCPILOT_PKI_PASSPHRASE_FILE", raising=False)
    c = CA(tmp_path / "lab", lifetimes())
    c.init("lab", lab=True)
    c.check_passphrase()
    assert c.status()["lab"]


def test_server_certificate_takes_only_the_key_from_the_request(ca, tmp_path):
    key = pki.new_key()
    signed = ca.sign_server(csr(key), estate="lab", service="lab-zt", host="gw1", names=["gw1"], addresses=["10.1.0.5"])
    cert = x509.load_pem_x509_certificate(signed.certificate.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["gw1"]  # not the request's evil.example
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["10.1.0.5"]
    assert cert.subject.rfc4514_string() == "CN=gw1,OU=lab-zt,O=lab"
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=90) <= life <= timedelta(days=90, minutes=6)
    assert openssl_verify(ca, signed.certificate, tmp_path, "sslserver").returncode == 0


def test_server_signing_is_idempotent_and_renews_on_change(ca):
    key = pki.new_key()
    first = ca.sign_server(csr(key), estate="lab", service="z", host="gw1", names=["gw1"], addresses=["10.1.0.5"])
    again = ca.sign_server(csr(key), estate="lab", service="z", host="gw1", names=["gw1"], addresses=["10.1.0.5"])
    assert first.changed and not again.changed and again.serial == first.serial
    assert ca.sign_server(csr(key), estate="lab", service="z", host="gw1", names=["gw1"], addresses=["10.1.0.5"], dry_run=True).changed is False
    moved = ca.sign_server(csr(key), estate="lab", service="z", host="gw1", names=["gw1"], addresses=["10.1.0.6"])
    assert moved.changed and moved.serial != first.serial
    revoked = {r.serial_number for r in ca.crl()}
    assert first.serial in revoked, "the superseded server certificate is revoked"
    new_key = ca.sign_server(csr(), estate="lab", service="z", host="gw1", names=["gw1"], addresses=["10.1.0.6"], dry_run=True)
    assert new_key.changed and new_key.certificate == ""
    other_service = ca.sign_server(csr(), estate="lab", service="node-exporter", host="gw1", names=["gw1"], addresses=["10.1.0.6"])
    assert other_service.changed and other_service.serial != moved.serial
    assert moved.serial not in {r.serial_number for r in ca.crl()}, "another service's certificate superseded the gateway's"
    assert not ca.sign_server(csr(key), estate="lab", service="z", host="gw1", names=["gw1"], addresses=["10.1.0.6"]).changed


def test_client_certificates_are_short_lived_and_subject_from_the_catalogue(ca, tmp_path):
    key = pki.new_key()
    signed = ca.sign_client(pki.public_key_of_csr(csr(key)), estate="lab", identity="alice", groups=["ops", "sre"])
    cert = x509.load_pem_x509_certificate(signed.certificate.encode())
    assert cert.subject.rfc4514_string() == "CN=alice,OU=sre,OU=ops,O=lab"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=30, minutes=6)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert openssl_verify(ca, signed.certificate, tmp_path, "sslclient").returncode == 0
    assert openssl_verify(ca, signed.certificate, tmp_path, "sslserver").returncode != 0


def test_only_probes_choose_their_lifetime(ca):
    at = pki.now()
    with pytest.raises(pki.PkiError, match="probe"):
        ca.sign_client(pki.new_key().public_key(), estate="lab", identity="a", groups=[], not_after=at + timedelta(days=900))


def test_renewal_keeps_the_key_and_revocation_reaches_the_crl(ca, tmp_path):
    key = pki.new_key()
    first = ca.sign_client(key.public_key(), estate="lab", identity="alice", groups=["ops"])
    renewed = ca.renew_client("alice", estate="lab", groups=["ops"])
    cert = x509.load_pem_x509_certificate(renewed.certificate.encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.subject.rfc4514_string() == "CN=alice,OU=ops,O=lab" and renewed.serial != first.serial
    number = ca.crl().extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    ca.revoke([first.serial])
    out = openssl_verify(ca, first.certificate, tmp_path, "sslclient")
    assert out.returncode != 0 and "certificate revoked" in out.stdout + out.stderr
    assert openssl_verify(ca, renewed.certificate, tmp_path, "sslclient").returncode == 0
    assert ca.crl().extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number + 1
    regrouped = x509.load_pem_x509_certificate(ca.renew_client("alice", estate="lab", groups=["auditors"]).certificate.encode())
    assert regrouped.subject.rfc4514_string() == "CN=alice,OU=auditors,O=lab"  # the catalogue's groups now, not the old ones
    with pytest.raises(pki.PkiError, match="no certificate with serial"):
        ca.revoke([12345])
    with pytest.raises(pki.PkiError, match="reason"):
        ca.revoke([renewed.serial], "because")


def test_the_crl_is_resigned_only_when_due(ca):
    life = ca.life
    crl = ca.crl()
    assert crl.next_update_utc - crl.last_update_utc <= timedelta(days=life.crl_days, minutes=6)
    assert not ca.refresh_crl()
    assert ca.refresh_crl(force=True, days=1)
    assert ca.crl_due() and ca.refresh_crl()
    with pytest.raises(pki.PkiError):
        ca.refresh_crl(force=True, days=life.crl_days + 1)


@pytest.mark.parametrize("make, message", [
    (lambda: ec.generate_private_key(ec.SECP521R1()), "only P-256 and P-384"),
    (lambda: rsa.generate_private_key(65537, 1024), "at least 2048"),
])
def test_weak_or_unusual_keys_are_refused(ca, make, message):
    with pytest.raises(pki.PkiError, match=message):
        pki.public_key_of_csr(csr(make()))


def test_a_request_whose_signature_fails_is_refused():
    good = x509.load_pem_x509_csr(csr())
    der = bytearray(good.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0xFF  # inside the signature
    bad = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(pki.PkiError, match="signature"):
        pki.public_key_of_csr(bad)


@pytest.mark.parametrize("data", [b"", b"not pem", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"])
def test_garbage_is_not_a_request(data):
    with pytest.raises(pki.PkiError, match="not a PEM certificate request"):
        pki.public_key_of_csr(data)


@pytest.mark.parametrize("identity", ["x" * 65, "bad\nname", ""])
def test_names_a_certificate_cannot_hold_are_refused(ca, identity):
    with pytest.raises(pki.PkiError, match="certificate name"):
        ca.sign_client(pki.new_key().public_key(), estate="lab", identity=identity, groups=[])


def test_index_records_every_certificate(ca):
    ca.sign_client(pki.new_key().public_key(), estate="lab", identity="alice", groups=[])
    rows = json.loads((ca.dir / "index.json").read_text())
    assert [r["name"] for r in rows] == ["alice"] and rows[0]["revokedAt"] is None
    assert (ca.dir / "certs" / f"{rows[0]['serial']}.pem").is_file()


def test_a_probe_is_a_short_lived_client_of_its_own_key(ca, tmp_path):
    probe = ca.probe(estate="lab", identity="alice", groups=["ops"], hours=1)
    cert = x509.load_pem_x509_certificate(probe.certificate.encode())
    key = serialization.load_pem_private_key(probe.key.encode(), None)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(hours=1, minutes=6)
    assert openssl_verify(ca, probe.certificate, tmp_path, "sslclient").returncode == 0
    assert [r.kind for r in ca.issued()] == ["probe"] and ca.status()["current"] == []  # probes are not listed


def test_expiring_uses_each_kinds_renewal_window(ca):
    at = pki.now()
    soon = ca.sign_client(pki.new_key().public_key(), estate="lab", identity="alice", groups=[])
    ca.sign_server(csr(), estate="lab", service="z", host="gw1", names=["gw1"], addresses=["10.1.0.5"])
    assert ca.expiring(at) == []
    in_21_days = at + timedelta(days=21)  # the client (30 d) has 9 left, under a third; the server (90 d) has 69
    assert [(r.kind, r.serial) for r in ca.expiring(in_21_days)] == [("client", soon.serial)]
    assert [r.kind for r in ca.expiring(at + timedelta(days=61))] == ["server"]  # the client has ended: not current
