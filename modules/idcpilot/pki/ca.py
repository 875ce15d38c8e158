"""The estate CA's certificate work, as pure functions: keys, certificates, CRLs.

Nothing here reads or writes files; ``idcpilot.pki.store`` does, under a lock. Every certificate's
subject, names and lifetime are decided here from the catalogue and ``policy/thresholds.yaml``
(``pki``); a certificate request contributes its public key and nothing else (its signature proves
the requester holds the private key), so a host or an identity cannot ask for names or a lifetime
of its own choosing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.hazmat.primitives.serialization.pkcs12 import PBES
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: PBKDF2 rounds of the CA key's encryption (OWASP's figure for PBKDF2-HMAC-SHA256).
KDF_ROUNDS = 600_000
#: A certificate's notBefore lies this far back, for hosts whose clocks run a little behind.
BACKDATE = timedelta(minutes=5)
#: X.509 bounds a subject's names at 64 characters (RFC 5280 ub-common-name and friends).
NAME_MAX = 64
REASONS = {r.name: r for r in x509.ReasonFlags if r not in (x509.ReasonFlags.unspecified, x509.ReasonFlags.remove_from_crl)}


class PkiError(Exception):
    """A request the CA refuses, or a CA that cannot be used; the message says why."""


@dataclass(frozen=True)
class Lifetimes:
    """Days, from ``policy/thresholds.yaml`` ``pki`` (one place for every number)."""

    ca_days: int
    server_days: int
    server_renew_days: int
    client_days: int
    crl_days: int
    crl_renew_days: int
    crl_alert_days: int

    @classmethod
    def from_thresholds(cls, get: Any) -> "Lifetimes":
        return cls(*(int(get(f"pki.{k}")) for k in ("caDays", "serverDays", "serverRenewDays", "clientDays", "crlDays",
                                                   "crlRenewDays", "crlAlertDays")))


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name_value(field: str, value: str) -> str:
    if not value or len(value) > NAME_MAX or any(not c.isprintable() for c in value):
        raise PkiError(f"{field} {value!r}: a certificate name must be 1-{NAME_MAX} printable characters")
    return value


def ca_subject(estate: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, _name_value("estate", estate)),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "zero-trust"),
                      x509.NameAttribute(NameOID.COMMON_NAME, _name_value("CA name", f"{estate} estate CA"[:NAME_MAX]))])


def client_subject(estate: str, identity: str, groups: Iterable[str]) -> x509.Name:
    """/O=<estate>/OU=<group>.../CN=<identity>: the gateways read the identity from the CN."""
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, _name_value("estate", estate)),
                      *(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _name_value("group", g)) for g in groups),
                      x509.NameAttribute(NameOID.COMMON_NAME, _name_value("identity", identity))])


def server_subject(estate: str, service: str, host: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, _name_value("estate", estate)),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _name_value("service", service)),
                      x509.NameAttribute(NameOID.COMMON_NAME, _name_value("host", host))])


def make_ca(estate: str, days: int, at: datetime | None = None) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    at = at or now()
    key = new_key()
    subject = ca_subject(estate)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(at - BACKDATE).not_valid_after(at + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def encrypt_key(key: Any, cert: x509.Certificate, passphrase: bytes) -> bytes:
    """The CA key and certificate as PKCS#12, encrypted with PBES2: PBKDF2-HMAC-SHA256 (KDF_ROUNDS
    rounds) and AES-256-CBC, MAC SHA-256. (cryptography's PKCS#8 writer allows only 2,048 rounds.)"""
    if len(passphrase) < 12:
        raise PkiError("the CA passphrase must be at least 12 characters")
    enc = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(KDF_ROUNDS)
           .key_cert_algorithm(PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256()).build(passphrase))
    return pkcs12.serialize_key_and_certificates(b"estate CA", key, cert, None, enc)


def key_is_encrypted(data: bytes) -> bool:
    try:
        pkcs12.load_key_and_certificates(data, None)
    except (ValueError, TypeError):
        return True
    return False


def decrypt_key(data: bytes, passphrase: bytes) -> Any:
    if not key_is_encrypted(data):
        raise PkiError("the CA key is stored unencrypted; idcpilot only uses an encrypted CA key")
    try:
        key, _, _ = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError):
        raise PkiError("the CA passphrase does not open the CA key") from None
    if key is None:
        raise PkiError("the CA key file holds no key")
    return key


def public_key_of_csr(pem: bytes) -> Any:
    """The public key of a PEM certificate request whose signature holds (proof of possession);
    EC P-256/P-384 or RSA of at least 2048 bits."""
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError:
        raise PkiError("not a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)") from None
    if not csr.is_signature_valid:
        raise PkiError("the certificate request's signature does not verify: it was not made with its key")
    check_key(csr.public_key())
    return csr.public_key()


def check_key(key: Any) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1"):
            raise PkiError(f"EC key on {key.curve.name}: only P-256 and P-384 are accepted")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise PkiError(f"RSA key of {key.key_size} bits: at least 2048 are required")
    else:
        raise PkiError(f"{type(key).__name__}: only EC (P-256, P-384) and RSA keys are accepted")


def key_id(public_key: Any) -> str:
    """sha256 of the SubjectPublicKeyInfo: which key a certificate is for."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()


def issue(ca_key: Any, ca_cert: x509.Certificate, public_key: Any, subject: x509.Name, kind: str, *,
          not_before: datetime, not_after: datetime, names: Iterable[str] = (), addresses: Iterable[str] = ()) -> x509.Certificate:
    """A leaf certificate: ``kind`` server (serverAuth, names and addresses in the SAN) or client (clientAuth)."""
    check_key(public_key)
    if not_after > ca_cert.not_valid_after_utc:
        raise PkiError(f"a certificate would outlive the CA (ends {ca_cert.not_valid_after_utc:%Y-%m-%d})")
    usage = ExtendedKeyUsageOID.SERVER_AUTH if kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=kind == "server",
                                            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if kind == "server":
        san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
        if not san:
            raise PkiError("a server certificate needs at least one name or address")
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def make_crl(ca_key: Any, ca_cert: x509.Certificate, revoked: Iterable[tuple[int, datetime, str]], number: int,
             days: int, at: datetime | None = None) -> x509.CertificateRevocationList:
    """A CRL listing ``revoked`` (serial, when, reason name), valid ``days`` from ``at``."""
    at = at or now()
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject).last_update(at - BACKDATE)
               .next_update(at + timedelta(days=days))
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    for serial, when, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason in REASONS:
            entry = entry.add_extension(x509.CRLReason(REASONS[reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca_key, hashes.SHA256())


def pem(obj: Any) -> str:
    return obj.public_bytes(serialization.Encoding.PEM).decode()
