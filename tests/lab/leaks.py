"""Secrets read from lab hosts, looked for in what a deploy keeps on the deploy machine (its run
artifacts, the estate's fact cache). Messages name the file, the host and the secret's kind and
first 6 characters: never the secret itself.

Used by tests/roles/test_roles_lab.py (real secrets of the deployed hosts) and
tests/lab/test_demo_lab.py (secret-shaped strings, the hosts being gone by then).
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

#: Private keys the roles generate or place on a host (role defaults); missing ones are skipped.
KEY_FILES = (
    "/etc/wireguard/idcpilot-private.key",  # sdwan_edge_private_key_file (wg genkey)
    "/etc/wireguard/idcpilot-psk/*.psk",  # sdwan_edge_preshared_key_dir
    "/etc/nginx/idcpilot-zt/server.key",  # zt_gateway_config_dir
    "/etc/nginx/idcpilot-cdn/node.key",  # cdn_node_tls_dir
    "/etc/prometheus/node-exporter-tls/server.key",  # monitoring_tls_dir (Debian)
    "/etc/node_exporter/tls/server.key",  # monitoring_tls_dir (RedHat family)
    "/etc/kubernetes/pki/*.key",  # k8s_control_plane_config_dir
    "/etc/kubernetes/pki/etcd/*.key",
    "/etc/kubernetes/encryption-config.yaml",
)
#: A crypt(3) hash as /etc/shadow holds it ($id$[params$]salt$hash).
HASH_SHAPE = re.compile(rb"\$(?:1|2[abxy]|5|6|7|y|gy)\$[./A-Za-z0-9$=,]{8,}\$[./A-Za-z0-9]{20,}")
PEM_PRIVATE = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")
#: The fact getent shadow set: its name alone in the cache means the hashes were there.
SHADOW_FACT = re.compile(rb"getent_g?shadow")


@dataclass(frozen=True)
class Secret:
    host: str
    kind: str  # "shadow hash of root", "/etc/idcpilot/zt-ca/ca.key" ...
    needle: bytes  # what would appear in a file that holds it

    def __str__(self) -> str:  # never the whole secret
        return f"{self.kind} of {self.host} ({self.needle[:6].decode(errors='replace')}...)"


def shadow_hashes(host: str, shadow: str) -> list[Secret]:
    """Field 2 of every account whose password is a real hash (starts with $); locked (!$...),
    empty and * fields are no secret worth the name and are skipped."""
    out = []
    for line in shadow.splitlines():
        fields = line.split(":")
        if len(fields) > 1 and fields[1].startswith("$") and len(fields[1]) > 12:
            out.append(Secret(host, f"shadow hash of {fields[0]}", fields[1].encode()))
    return out


def _public_der(pem: str) -> bytes:
    """The public key of a PEM private key (SubjectPublicKeyInfo DER), b"" when it is not one."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return b""
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _only_public(line: str, public: bytes) -> bool:
    """A PEM line whose bytes are all public key (the tail of an EC key): its certificate carries
    the same bytes, so finding them proves nothing."""
    try:
        raw = base64.b64decode(line, validate=True)
    except ValueError:
        return False
    return bool(public) and raw in public


def key_secrets(host: str, path: str, content: str) -> list[Secret]:
    """Needles for one key file: every base64 line of a PEM body (40+ characters), the whole
    content of a one-line key (WireGuard), and the start of the file's base64 (what slurp returns)."""
    text = content.strip()
    if not text:
        return []
    public = _public_der(text)
    needles = {line.strip() for line in text.splitlines() if len(line.strip()) >= 40 and not line.startswith("-----")
               and not _only_public(line.strip(), public)}
    if "\n" not in text:
        needles.add(text)
    needles.add(base64.b64encode(content.encode()).decode()[:60])
    return [Secret(host, path, n.encode()) for n in sorted(needles) if len(n) >= 20]


def read_host_secrets(host: str, run: Callable[[str, str], object]) -> list[Secret]:
    """The shadow hashes and the role-generated private keys of one host, over the lab's SSH
    (``run(host, command)`` -> CompletedProcess, as the automation account with sudo)."""
    secrets = []
    shadow = run(host, "sudo -n cat /etc/shadow")
    assert shadow.returncode == 0, f"{host}: cannot read /etc/shadow: {shadow.stderr[-300:]}"
    secrets += shadow_hashes(host, shadow.stdout)
    script = ("for f in " + " ".join(KEY_FILES) + "; do [ -f \"$f\" ] || continue; "
              "printf '%s\\n' \"=== $f\"; base64 -w0 \"$f\"; echo; done")
    listing = run(host, f"sudo -n sh -c {shlex.quote(script)}")
    assert listing.returncode == 0, f"{host}: cannot read key files: {listing.stderr[-300:]}"
    lines = listing.stdout.splitlines()
    for header, body in zip(lines[::2], lines[1::2]):
        assert header.startswith("=== "), header[:80]
        secrets += key_secrets(host, header[4:], base64.b64decode(body).decode(errors="replace"))
    return secrets


def ca_secrets(pki_dir: Path) -> list[Secret]:
    """The estate CA's secrets on the deploy machine (idcpilot.pki.store): the lab CA's passphrase
    and the start of its encrypted key file, as a file or as base64."""
    out = []
    passphrase = pki_dir / "lab-passphrase"
    if passphrase.is_file():
        out.append(Secret("controller", "the lab CA passphrase", passphrase.read_bytes().strip()))
    key = pki_dir / "ca.p12"
    if key.is_file():
        data = key.read_bytes()
        out += [Secret("controller", "the CA key file", data[40:100]),
                Secret("controller", "the CA key file (base64)", base64.b64encode(data)[60:120])]
    return out


def files_under(roots: Iterable[Path]) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())


def leaks(secrets: Iterable[Secret], roots: Iterable[Path]) -> list[str]:
    """'file: kind of host (first 6 chars...)' for every secret found in a file under roots."""
    secrets = list(secrets)
    found = []
    for path in files_under(roots):
        data = path.read_bytes()
        found += [f"{path}: {s}" for s in secrets if s.needle in data]
    return found


def shaped_leaks(roots: Iterable[Path]) -> list[str]:
    """Files holding something shaped like a password hash, a PEM private key or the shadow fact."""
    found = []
    for path in files_under(roots):
        data = path.read_bytes()
        for what, pattern in (("a password hash", HASH_SHAPE), ("a PEM private key", PEM_PRIVATE), ("the getent shadow fact", SHADOW_FACT)):
            match = pattern.search(data)
            if match:
                found.append(f"{path}: {what} ({match.group(0)[:6].decode(errors='replace')}...)")
    return found
