"""The estate CA on the operator side: one directory per estate, never on a managed host.

Layout (the directory and every file in it: owner only, 0700/0600)::

    ca.p12       the CA key (and certificate), PKCS#12 encrypted with the operator's passphrase (pki.ca.encrypt_key)
    ca.crt       the CA certificate (what gateways and clients trust)
    crl.pem      the current CRL
    index.json   every certificate issued: serial, kind, name, subject, key, lifetime, revocation
    certs/       every certificate issued, <serial>.pem
    meta.json    the estate, the CRL number, and whether this is a lab CA
    .lock        flock: one writer at a time (a deploy signs for several gateways at once)

Where: ``$IDCPILOT_PKI_DIR``, else ``<state>/pki/<estate>`` (``idcpilot.paths.state_root``).

The passphrase: ``$IDCPILOT_PKI_PASSPHRASE_FILE`` (a file only its owner can read), else
``$IDCPILOT_PKI_PASSPHRASE``. A lab CA (made by ``idcpilot lab up``, marked in meta.json) keeps a
random passphrase beside its key, so that ``make demo-lab`` runs unattended; ``status`` says so,
and a CA made by ``idcpilot pki init`` never has one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idcpilot.paths import state_root
from idcpilot.pki import ca as pki
from idcpilot.pki.ca import Lifetimes, PkiError

DIR_ENV, PASS_FILE_ENV, PASS_ENV = "IDCPILOT_PKI_DIR", "IDCPILOT_PKI_PASSPHRASE_FILE", "IDCPILOT_PKI_PASSPHRASE"
LAB_PASSPHRASE = "lab-passphrase"


def pki_dir(estate: str) -> Path:
    explicit = os.environ.get(DIR_ENV)
    return Path(explicit) if explicit else state_root() / "pki" / estate


def _private_file(path: Path, what: str) -> bytes:
    st = path.stat()
    if stat.S_IMODE(st.st_mode) & 0o077 or st.st_uid != os.geteuid():
        raise PkiError(f"{what} {path}: must belong to you and be readable by you alone (chmod 600)")
    return path.read_bytes()


def _write_private(path: Path, data: bytes | str) -> None:
    """Write ``path`` (0600) through a temporary file: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


@dataclass
class Issued:
    """One certificate the CA issued (a row of index.json)."""

    serial: int
    kind: str  # server | client | probe
    name: str
    subject: str
    key: str  # pki.key_id of its public key
    not_before: datetime
    not_after: datetime
    names: list[str]
    addresses: list[str]
    revoked_at: datetime | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"serial": format(self.serial, "x"), "kind": self.kind, "name": self.name, "subject": self.subject, "key": self.key,
                "notBefore": self.not_before.isoformat(), "notAfter": self.not_after.isoformat(), "names": self.names,
                "addresses": self.addresses, "revokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
                "reason": self.reason}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Issued":
        return cls(int(d["serial"], 16), d["kind"], d["name"], d["subject"], d["key"], datetime.fromisoformat(d["notBefore"]),
                   datetime.fromisoformat(d["notAfter"]), list(d["names"]), list(d["addresses"]),
                   datetime.fromisoformat(d["revokedAt"]) if d.get("revokedAt") else None, d.get("reason"))

    def current(self, at: datetime) -> bool:
        return self.revoked_at is None and self.not_before <= at + pki.BACKDATE and at < self.not_after


@dataclass
class Probe:
    """A throwaway client identity for verify and the benchmarks: key (PEM, unencrypted) and certificate."""

    certificate: str
    key: str
    serial: int


@dataclass
class Signed:
    """What a signing call hands back: the certificate, and whether the CA changed."""

    certificate: str
    serial: int
    changed: bool


class CA:
    """An estate CA directory. Reading (``ca_pem``, ``crl_pem``, ``issued``) needs no passphrase;
    signing, revoking and re-signing the CRL do, and take the directory's lock."""

    def __init__(self, directory: Path, lifetimes: Lifetimes):
        self.dir, self.life = directory, lifetimes

    # -------------------------------------------------------------- reading
    def exists(self) -> bool:
        return (self.dir / "ca.crt").is_file() and (self.dir / "ca.p12").is_file()

    def require(self) -> None:
        if not self.exists():
            raise PkiError(f"no estate CA in {self.dir}: create it with `idcpilot pki init <env>` (docs/edge-services.md)")

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.dir / "meta.json").read_text())

    def ca_pem(self) -> str:
        self.require()
        return (self.dir / "ca.crt").read_text()

    def ca_cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.ca_pem().encode())

    def crl_pem(self) -> str:
        self.require()
        return (self.dir / "crl.pem").read_text()

    def crl(self) -> x509.CertificateRevocationList:
        return x509.load_pem_x509_crl(self.crl_pem().encode())

    def issued(self) -> list[Issued]:
        path = self.dir / "index.json"
        return [Issued.from_json(d) for d in json.loads(path.read_text())] if path.is_file() else []

    # -------------------------------------------------------------- the passphrase
    def passphrase(self) -> bytes:
        if os.environ.get(PASS_FILE_ENV):
            value = _private_file(Path(os.environ[PASS_FILE_ENV]), f"${PASS_FILE_ENV}").rstrip(b"\r\n")
        elif os.environ.get(PASS_ENV):
            value = os.environ[PASS_ENV].encode()
        elif (self.dir / "meta.json").is_file() and self.meta.get("lab") and (self.dir / LAB_PASSPHRASE).is_file():
            value = _private_file(self.dir / LAB_PASSPHRASE, "lab CA passphrase")
        else:
            raise PkiError(f"the estate CA key is encrypted: set ${PASS_FILE_ENV} (a file readable by you alone) "
                           f"or ${PASS_ENV} to its passphrase")
        if not value:
            raise PkiError("the CA passphrase is empty")
        return value

    # -------------------------------------------------------------- writing
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def init(self, estate: str, *, lab: bool = False) -> None:
        """Create the CA: a new key (encrypted), a self-signed certificate, an empty CRL."""
        with self.locked():
            if self.exists():
                raise PkiError(f"{self.dir} already holds an estate CA")
            os.chmod(self.dir, 0o700)
            if lab:
                _write_private(self.dir / LAB_PASSPHRASE, secrets.token_urlsafe(32))
            (self.dir / "certs").mkdir(mode=0o700, exist_ok=True)
            _write_private(self.dir / "meta.json", json.dumps({"estate": estate, "crlNumber": 0, "lab": lab}, indent=2) + "\n")
            if not lab:
                self.passphrase()  # no passphrase: stop before a key exists that nobody can open
            key, cert = pki.make_ca(estate, self.life.ca_days)
            _write_private(self.dir / "index.json", "[]\n")
            _write_private(self.dir / "ca.crt", pki.pem(cert))
            self._write_crl(key, cert, self.issued())
            _write_private(self.dir / "ca.p12", pki.encrypt_key(key, cert, self.passphrase()))

    def _key(self) -> Any:
        self.require()
        return pki.decrypt_key(_private_file(self.dir / "ca.p12", "CA key"), self.passphrase())

    def check_passphrase(self) -> None:
        """PkiError unless the CA exists and the passphrase given opens its key."""
        self._key()

    def _save(self, rows: list[Issued]) -> None:
        _write_private(self.dir / "index.json", json.dumps([r.as_json() for r in rows], indent=1) + "\n")

    def _write_crl(self, key: Any, cert: x509.Certificate, rows: list[Issued], days: int | None = None) -> None:
        meta = self.meta
        meta["crlNumber"] = int(meta.get("crlNumber", 0)) + 1
        revoked = [(r.serial, r.revoked_at, r.reason or "") for r in rows if r.revoked_at and r.not_after > pki.now()]
        crl = pki.make_crl(key, cert, revoked, meta["crlNumber"], days or self.life.crl_days)
        _write_private(self.dir / "crl.pem", pki.pem(crl))
        _write_private(self.dir / "meta.json", json.dumps(meta, indent=2) + "\n")

    def _record(self, rows: list[Issued], cert: x509.Certificate, kind: str, name: str, names: list[str], addresses: list[str]) -> None:
        rows.append(Issued(cert.serial_number, kind, name, cert.subject.rfc4514_string(), pki.key_id(cert.public_key()),
                           cert.not_valid_before_utc, cert.not_valid_after_utc, names, addresses))
        _write_private(self.dir / "certs" / f"{cert.serial_number:x}.pem", pki.pem(cert))
        self._save(rows)

    def certificate(self, serial: int) -> str:
        return (self.dir / "certs" / f"{serial:x}.pem").read_text()

    def sign_server(self, csr_pem: bytes, *, estate: str, service: str, host: str, names: list[str], addresses: list[str],
                    dry_run: bool = False) -> Signed:
        """The server certificate of ``host`` for the key in ``csr_pem``: the current one when it is for
        the same key and names and has more than serverRenewDays left, else a new one (serverDays;
        the one it replaces is revoked as superseded). A host's services (a gateway, its node
        exporter) each have their own key and certificate: the subject, which names the service,
        tells them apart."""
        public = pki.public_key_of_csr(csr_pem)
        kid, names, addresses = pki.key_id(public), sorted(set(names)), sorted(set(addresses))
        subject = pki.server_subject(estate, service, host)
        with self.locked():
            rows, at = self.issued(), pki.now()
            mine = [r for r in rows if r.kind == "server" and r.name == host and r.subject == subject.rfc4514_string()
                    and r.current(at)]
            for r in mine:
                if r.key == kid and r.names == names and r.addresses == addresses \
                        and r.not_after - at > timedelta(days=self.life.server_renew_days):
                    return Signed(self.certificate(r.serial), r.serial, False)
            if dry_run:
                return Signed("", 0, True)
            key, ca_cert = self._key(), self.ca_cert()
            cert = pki.issue(key, ca_cert, public, subject, "server", not_before=at - pki.BACKDATE,
                             not_after=min(at + timedelta(days=self.life.server_days), ca_cert.not_valid_after_utc),
                             names=names, addresses=addresses)
            for r in mine:
                r.revoked_at, r.reason = at, "superseded"
            self._record(rows, cert, "server", host, names, addresses)
            if mine:
                self._write_crl(key, ca_cert, rows)
            return Signed(pki.pem(cert), cert.serial_number, True)

    def sign_client(self, public: Any, *, estate: str, identity: str, groups: list[str], kind: str = "client",
                    not_before: datetime | None = None, not_after: datetime | None = None) -> Signed:
        """A client certificate of ``identity`` for ``public`` (always a new one): clientDays from now,
        unless a probe (``kind="probe"``, verify's) asks for its own window."""
        if kind != "probe" and (not_before or not_after):
            raise PkiError("only verify's probe certificates choose their own lifetime")
        with self.locked():
            rows, at = self.issued(), pki.now()
            key, ca_cert = self._key(), self.ca_cert()
            cert = pki.issue(key, ca_cert, public, pki.client_subject(estate, identity, groups), "client",
                             not_before=not_before or at - pki.BACKDATE,
                             not_after=not_after or min(at + timedelta(days=self.life.client_days), ca_cert.not_valid_after_utc))
            self._record(rows, cert, kind, identity, [], [])
            return Signed(pki.pem(cert), cert.serial_number, True)

    def probe(self, *, estate: str, identity: str, groups: list[str], not_before: datetime | None = None,
              not_after: datetime | None = None, hours: int = 2) -> Probe:
        """A client certificate of ``identity`` as its owner would get one, for verify and the
        benchmarks: a key made here (never by the CA), its public half signed as a probe, valid
        ``hours`` from now unless a window is given."""
        key, at = pki.new_key(), pki.now()
        signed = self.sign_client(key.public_key(), estate=estate, identity=identity, groups=groups, kind="probe",
                                  not_before=not_before or at - pki.BACKDATE, not_after=not_after or at + timedelta(hours=hours))
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return Probe(signed.certificate, key_pem.decode(), signed.serial)

    def renew_client(self, identity: str, *, estate: str, groups: list[str]) -> Signed:
        """A new certificate for the key of ``identity``'s newest unrevoked certificate: the owner's
        key stays where it is; the CA needs no new request. The subject is the catalogue's now
        (``groups``), not the old certificate's: a group the identity left is not renewed with it."""
        newest = [r for r in self.issued() if r.kind == "client" and r.name == identity and r.revoked_at is None]
        if not newest:
            raise PkiError(f"identity {identity!r} has no unrevoked certificate to renew: enrol it with `idcpilot pki sign`")
        last = max(newest, key=lambda r: r.not_after)
        cert = x509.load_pem_x509_certificate(self.certificate(last.serial).encode())
        return self.sign_client(cert.public_key(), estate=estate, identity=identity, groups=groups)

    def revoke(self, serials: list[int], reason: str = "key_compromise") -> list[Issued]:
        """Revoke ``serials`` (unknown serials are an error) and re-sign the CRL at once."""
        if reason not in pki.REASONS:
            raise PkiError(f"reason {reason!r}: one of {', '.join(sorted(pki.REASONS))}")
        with self.locked():
            rows, at = self.issued(), pki.now()
            known = {r.serial: r for r in rows}
            missing = [f"{s:x}" for s in serials if s not in known]
            if missing:
                raise PkiError(f"this CA issued no certificate with serial {', '.join(missing)}")
            done = [known[s] for s in serials if known[s].revoked_at is None]
            for r in done:
                r.revoked_at, r.reason = at, reason
            if done:
                self._save(rows)
                self._write_crl(self._key(), self.ca_cert(), rows)
            return done

    def crl_due(self, at: datetime | None = None) -> bool:
        return self.crl().next_update_utc - (at or pki.now()) < timedelta(days=self.life.crl_renew_days)

    def refresh_crl(self, *, force: bool = False, dry_run: bool = False, days: int | None = None) -> bool:
        """Re-sign the CRL when fewer than crlRenewDays remain (or ``force``); True when it did (or would).
        ``days``: a shorter validity than crlDays (verify's test of the gateways' alert)."""
        if days is not None and not 0 < days <= self.life.crl_days:
            raise PkiError(f"a CRL may be valid for 1 to {self.life.crl_days} days (pki.crlDays)")
        with self.locked():
            if not (force or self.crl_due()):
                return False
            if not dry_run:
                self._write_crl(self._key(), self.ca_cert(), self.issued(), days)
            return True

    def _current(self, at: datetime) -> list[Issued]:
        """Certificates in force (not revoked, not ended), verify's probes left out."""
        return [r for r in self.issued() if r.current(at) and r.kind != "probe"]

    def expiring(self, at: datetime | None = None) -> list[Issued]:
        """Current certificates within their renewal window: serverRenewDays for a server, a third of
        clientDays (at least one day) for a client."""
        at = at or pki.now()
        window = {"server": self.life.server_renew_days, "client": max(1, self.life.client_days // 3)}
        return [r for r in self._current(at) if r.not_after - at < timedelta(days=window[r.kind])]

    def status(self) -> dict[str, Any]:
        at, cert, crl = pki.now(), self.ca_cert(), self.crl()
        rows, current = self.issued(), self._current(at)
        return {
            "directory": str(self.dir),
            "estate": self.meta.get("estate"),
            "lab": bool(self.meta.get("lab")),
            "caSubject": cert.subject.rfc4514_string(),
            "caNotAfter": cert.not_valid_after_utc.isoformat(),
            "keyEncrypted": pki.key_is_encrypted((self.dir / "ca.p12").read_bytes()),
            "crlNextUpdate": crl.next_update_utc.isoformat(),
            "crlDue": self.crl_due(at),
            "crlRevoked": len(list(crl)),
            "current": [{"serial": format(r.serial, "x"), "kind": r.kind, "name": r.name, "notAfter": r.not_after.isoformat()}
                        for r in sorted(current, key=lambda r: (r.kind, r.name, r.not_after))],
            "expiringSoon": [format(r.serial, "x") for r in self.expiring(at)],
            "revoked": sum(1 for r in rows if r.revoked_at),
        }


def lifetimes() -> Lifetimes:
    from idcpilot.policy.registry import policy_dir
    from idcpilot.policy.thresholds import load

    return Lifetimes.from_thresholds(load(policy_dir() / "thresholds.yaml").get)


def open_ca(estate: str) -> CA:
    return CA(pki_dir(estate), lifetimes())
