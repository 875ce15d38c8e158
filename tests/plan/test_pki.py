"""The gateways' key material (components.pki): what the dynamic provider makes, and when it remakes it."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from idcpilot.components import pki

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc)
CA_IN = {"kind": "ca", "common_name": "lab gw CA", "organization": "lab", "validity_hours": 43800, "early_renewal_hours": 720}


def test_a_server_certificate_is_signed_by_its_ca_for_its_names():
    ca = pki.make(CA_IN, NOW)
    server_in = {"kind": "server", "common_name": "zt-gw", "organization": "lab", "validity_hours": 8760, "early_renewal_hours": 720,
                 "dns_names": ["zt-gw.ns.svc", "shop"], "ca_key_pem": ca["private_key_pem"], "ca_cert_pem": ca["cert_pem"]}
    server = pki.make(server_in, NOW)
    ca_cert, cert = x509.load_pem_x509_certificate(ca["cert_pem"].encode()), x509.load_pem_x509_certificate(server["cert_pem"].encode())
    cert.verify_directly_issued_by(ca_cert)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == ["zt-gw.ns.svc", "shop"]
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey) and cert.public_key().curve.name == "secp256r1"
    assert server["not_after"] == (NOW + dt.timedelta(hours=8760)).isoformat()


def test_material_is_remade_only_when_what_it_says_changes_or_its_end_is_near():
    provider = pki.CertificateProvider()
    olds = {**CA_IN, **pki.make(CA_IN, dt.datetime.now(dt.timezone.utc))}
    assert not provider.diff("id", olds, dict(CA_IN)).changes
    changed = provider.diff("id", olds, {**CA_IN, "common_name": "other"})
    assert changed.changes and changed.replaces == ["common_name"]
    near_end = {**olds, "not_after": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=100)).isoformat()}
    renew = provider.diff("id", near_end, dict(CA_IN))
    assert renew.changes and renew.replaces == ["not_after"]
    assert pki.due_for_renewal({"not_after": "garbage"})
