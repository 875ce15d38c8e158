"""Mocks standing in for the providers: what ``pulumi up`` would return, without a cluster.

Kubernetes resources echo their inputs (as the provider does after apply). The tls provider's
computed outputs are produced for real with ``cryptography`` (fresh keys per plan), so the
program's secret plumbing is exercised with genuine key material that must never leak.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from idcpilot.redaction import PULUMI_SIG_KEY

_SIG = PULUMI_SIG_KEY


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if _SIG in value:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _load_key(pem: str) -> ec.EllipticCurvePrivateKey:
    return serialization.load_pem_private_key(pem.encode(), password=None)  # type: ignore[return-value]


def _name(subject: dict | None) -> x509.Name:
    subject = subject or {}
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, subject.get("commonName") or "idcpilot")]
    if subject.get("organization"):
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject["organization"]))
    return x509.Name(attrs)


def _cert(subject: x509.Name, issuer: x509.Name, public_key, signer, hours: int, ca: bool, dns: list[str]) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(now)
               .not_valid_after(now + dt.timedelta(hours=int(hours or 24)))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


class PlanMocks(Mocks):
    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        kind = args.typ
        if kind.startswith("tls:"):
            return f"{args.name}-id", {**args.inputs, **self._tls(kind, _plain(args.inputs))}
        # An echo: the inputs object itself, untouched, which tells the recording monitor to answer
        # with the request's own serialized inputs instead of serializing them again.
        return f"{args.name}-id", args.inputs

    def call(self, args: MockCallArgs) -> dict:
        # Provider functions have no offline answer: an empty result. (A plain dict: the SDK's
        # MockMonitor.Invoke iterates the failures of a tuple, so the base class's ``({}, None)``
        # made every invoke fail with a TypeError.)
        return {}

    @staticmethod
    def _tls(kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if kind == "tls:index/privateKey:PrivateKey":
            key = ec.generate_private_key(ec.SECP256R1())
            pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            return {"privateKeyPem": _pem_key(key), "privateKeyPemPkcs8": _pem_key(key), "publicKeyPem": pub}
        if kind == "tls:index/selfSignedCert:SelfSignedCert":
            key = _load_key(inputs["privateKeyPem"])
            name = _name(inputs.get("subject"))
            return {"certPem": _cert(name, name, key.public_key(), key, inputs.get("validityPeriodHours", 24), True, inputs.get("dnsNames", []))}
        if kind == "tls:index/certRequest:CertRequest":
            key = _load_key(inputs["privateKeyPem"])
            csr = (x509.CertificateSigningRequestBuilder().subject_name(_name(inputs.get("subject")))
                   .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
            return {"certRequestPem": csr}
        if kind == "tls:index/locallySignedCert:LocallySignedCert":
            csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
            ca_cert = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
            ca_key = _load_key(inputs["caPrivateKeyPem"])
            return {"certPem": _cert(csr.subject, ca_cert.subject, csr.public_key(), ca_key,
                                     inputs.get("validityPeriodHours", 24), False, [])}
        return {}
