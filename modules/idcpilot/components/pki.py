"""Key material of the in-cluster gateways: a Pulumi dynamic provider of this package.

The stacks used pulumi-tls for the gateway's CA and server certificate. That provider cannot be
built from what the offline machine reaches (the Go module proxy serves no version of it), so
the same four jobs (key, self-signed CA, key, certificate signed by the CA) are done here with
``cryptography``, in a dynamic provider that the engine runs through the bundle's
``pulumi-resource-pulumi-python`` (the repository's own code, in its virtualenv):

- keys and certificates are made once, on create, and kept in the stack's state: the private key
  is a secret output (encrypted by the stack's secrets provider), so runs are stable;
- a certificate is replaced when what it says changes (subject, names, validity, its issuer) or
  when it is within ``early_renewal_hours`` of its end, as pulumi-tls's ``early_renewal_hours``;
- ``make`` is the one function that makes the material: the provider calls it, and the offline
  plan's mocks call it too (idcpilot.plan.mocks), so the plan holds real key material that must
  never leak, as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pulumi
import pulumi.dynamic as dynamic
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: the dynamic resource type the engine and the plan see
TYPE = "pulumi-python:dynamic/idcpilot:Certificate"
#: inputs whose change makes a new certificate (and key)
REPLACE_ON = ("kind", "common_name", "organization", "dns_names", "validity_hours", "ca_cert_pem")


def _name(common: str, org: str) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def make(inputs: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """A fresh P-256 key and its certificate for INPUTS: ``kind`` "ca" (self-signed, may sign
    certificates and CRLs) or "server" (signed by ``ca_key_pem``/``ca_cert_pem``, server auth, its
    ``dns_names`` as SANs). The outputs: private_key_pem, cert_pem, not_after (ISO 8601)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(inputs["common_name"], inputs.get("organization") or "")
    hours = int(inputs["validity_hours"])
    builder = (x509.CertificateBuilder().subject_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=hours)))
    if inputs["kind"] == "ca":
        signer, issuer = key, subject
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True))
    elif inputs["kind"] == "server":
        signer = serialization.load_pem_private_key(inputs["ca_key_pem"].encode(), password=None)
        issuer = x509.load_pem_x509_certificate(inputs["ca_cert_pem"].encode()).subject
        builder = (builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in inputs.get("dns_names") or []]),
                                  critical=False))
    else:
        raise ValueError(f"unknown certificate kind {inputs['kind']!r}")
    cert = builder.issuer_name(issuer).sign(signer, hashes.SHA256())  # type: ignore[arg-type]
    return {"private_key_pem": _pem_key(key), "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
            "not_after": cert.not_valid_after_utc.isoformat()}


def due_for_renewal(outs: dict[str, Any], now: dt.datetime | None = None) -> bool:
    """The certificate ends within its early-renewal window (or its end cannot be read)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        end = dt.datetime.fromisoformat(str(outs["not_after"]))
    except (KeyError, ValueError):
        return True
    return now >= end - dt.timedelta(hours=int(outs.get("early_renewal_hours") or 0))


class CertificateProvider(dynamic.ResourceProvider):
    """Create makes the material; diff replaces on a changed input or in the renewal window."""

    # the provider holds no secret: serialise it in plain text, so plans and previews compare
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        outs = {**props, **make(props)}
        return dynamic.CreateResult(hashlib.sha256(outs["cert_pem"].encode()).hexdigest()[:32], outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = [k for k in REPLACE_ON if olds.get(k) != news.get(k)]
        if not replaces and due_for_renewal(olds):
            replaces = ["not_after"]
        return dynamic.DiffResult(changes=bool(replaces) or olds.get("early_renewal_hours") != news.get("early_renewal_hours"),
                                  replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult({**olds, "early_renewal_hours": news.get("early_renewal_hours")})


_PROVIDER = CertificateProvider()


class Certificate(dynamic.Resource, module="idcpilot", name="Certificate"):
    """A key and its certificate (``kind`` "ca" or "server"); ``private_key_pem`` is a secret."""

    private_key_pem: pulumi.Output[str]
    cert_pem: pulumi.Output[str]
    not_after: pulumi.Output[str]

    def __init__(self, name: str, *, kind: str, common_name: str, organization: str, validity_hours: int,
                 early_renewal_hours: int, dns_names: list[str] | None = None, ca: "Certificate | None" = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "kind": kind, "common_name": common_name, "organization": organization, "validity_hours": validity_hours,
            "early_renewal_hours": early_renewal_hours, "dns_names": list(dns_names or []),
            "ca_key_pem": pulumi.Output.secret(ca.private_key_pem) if ca is not None else None,
            "ca_cert_pem": ca.cert_pem if ca is not None else None,
            "private_key_pem": None, "cert_pem": None, "not_after": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["private_key_pem", "ca_key_pem"])
        super().__init__(_PROVIDER, name, props, pulumi.ResourceOptions.merge(opts, secret))
