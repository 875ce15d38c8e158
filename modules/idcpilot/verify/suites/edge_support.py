"""Helpers for the edge-service verification suites (test_cdn.py, test_zt.py): real HTTPS
requests from this machine, small local servers on lab addresses (origin, threat feed), the
external TLS scanner, and a lock shared by the xdist workers of one `idcpilot verify` run."""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import ipaddress
import os
import re
import socket
import ssl
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest

from idcpilot.edge_services.threat_feeds import feed_source_problem


def other_host(host: Any, name: str) -> Any:
    """testinfra host for another inventory host, over the same backend as `host`."""
    inventory = os.environ.get("IDCPILOT_VERIFY_INVENTORY")
    return host.get_host(f"ansible://{name}", ansible_inventory=inventory) if inventory else host.get_host(f"ansible://{name}")


@contextlib.contextmanager
def run_lock(name: str):
    """A lock shared by the xdist workers of one verify run (tests that bind one lab address
    or change a CA must not run twice at once)."""
    base = Path(os.environ.get("IDCPILOT_VERIFY_RESULTS", tempfile.gettempdir() + "/idcpilot-verify")).parent
    base.mkdir(parents=True, exist_ok=True)
    with open(base / f".{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield base
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def local_address(address: str) -> bool:
    """True when this machine owns `address` (e.g. the lab bridge), so a test may bind it."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
            s.bind((address, 0))
        return True
    except OSError:
        return False


def in_networks(address: str, cidrs: list[str]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(c, strict=False) for c in cidrs)


def source_address_towards(target: str) -> str:
    """The local address this machine uses to reach `target`."""
    with socket.socket(socket.AF_INET6 if ":" in target else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((target, 9))
        return s.getsockname()[0]


# --------------------------------------------------------------------------- HTTP(S) client


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    error: str = ""


def tls_context(cafile: str | None = None, cert: tuple[str, str] | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.check_hostname = False  # addresses are in the SAN, names may not resolve here
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    return ctx


def https(address: str, port: int, path: str, ctx: ssl.SSLContext, method: str = "GET",
          headers: dict[str, str] | None = None, timeout: float = 10) -> Reply:
    conn = http.client.HTTPSConnection(address, port, context=ctx, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        return Reply(0, {}, "", f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


@dataclass
class TLSExchange:
    """One HTTPS request on its own TLS connection: the reply, the TLS session it ran on, and
    whether the server resumed the session offered."""

    reply: Reply
    session: ssl.SSLSession | None
    resumed: bool
    version: str | None


def https_with_session(address: str, port: int, path: str, ctx: ssl.SSLContext, session: ssl.SSLSession | None = None,
                       timeout: float = 10) -> TLSExchange:
    """GET ``path`` offering ``session`` for resumption (http.client cannot offer one)."""
    try:
        raw = socket.create_connection((address, port), timeout=timeout)
    except OSError as exc:
        return TLSExchange(Reply(0, {}, "", f"{type(exc).__name__}: {exc}"), None, False, None)
    try:
        with ctx.wrap_socket(raw, session=session) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            return TLSExchange(Reply(status, headers, body.decode("utf-8", "replace")), tls.session, tls.session_reused, tls.version())
    except (OSError, ssl.SSLError, ValueError) as exc:
        return TLSExchange(Reply(0, {}, "", f"{type(exc).__name__}: {exc}"), None, False, None)
    finally:
        raw.close()


def plaintext_http(address: str, port: int, path: str = "/", timeout: float = 5) -> Reply:
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException) as exc:
        return Reply(0, {}, "", f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def old_tls_refused(address: str, port: int) -> dict[str, str]:
    """Offer TLS 1.0 and 1.1 only (client security level lowered so they really are offered);
    returns version -> outcome. 'refused' only when the server answered with a protocol alert."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = (("TLSv1.0", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1))
    for name, ver in old:
        ctx = tls_context()
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # offering them is the point
            ctx.minimum_version = ver
            ctx.maximum_version = ver
        try:
            with socket.create_connection((address, port), timeout=5) as raw, ctx.wrap_socket(raw) as tls:
                out[name] = f"accepted ({tls.version()})"
        except ssl.SSLError as exc:
            out[name] = "refused" if "PROTOCOL_VERSION" in (exc.reason or "") or "UNSUPPORTED_PROTOCOL" in (exc.reason or "") else f"error: {exc}"
        except OSError as exc:
            out[name] = f"error: {exc}"
    return out


# --------------------------------------------------------------------------- local servers


@dataclass
class LocalHTTP:
    """A small HTTP server on an address this machine owns (lab bridge): origin or feed."""

    address: str
    port: int
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> "LocalHTTP":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.hits.append(self.path)
                status, headers, body = owner.routes.get(self.path, (404, {}, b"not found\n"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((self.address, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def wait_until(check: Callable[[], bool], timeout: float = 10, step: float = 0.25) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


# --------------------------------------------------------------------------- external scanner


WEAK_CIPHER_MARKERS = ("NULL", "EXP", "RC4", "DES", "MD5", "anon", "ADH", "AECDH", "PSK", "SRP", "IDEA", "SEED", "CAMELLIA")


def sslscan(address: str, port: int) -> dict[str, Any]:
    """Run Debian's sslscan against address:port and summarise protocols and ciphers."""
    import re
    import shutil
    import subprocess

    exe = shutil.which("sslscan")
    if exe is None:
        pytest.fail("sslscan is not installed (scripts/host-packages.txt lists it; run scripts/install-host-deps.sh)")
    proc = subprocess.run([exe, "--no-colour", "--no-heartbleed", f"{address}:{port}"], capture_output=True, text=True, timeout=120)
    text = proc.stdout
    protocols = dict(re.findall(r"^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)", text, re.M))
    ciphers = re.findall(r"^(?:Preferred|Accepted)\s+(\S+)\s+(\d+)\s+bits\s+(\S+)", text, re.M)
    weak = [f"{proto} {name} {bits}" for proto, bits, name in ciphers
            if int(bits) < 128 or any(m in name for m in WEAK_CIPHER_MARKERS) or proto in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")]
    return {"protocols": protocols, "ciphers": ciphers, "weak": weak, "output": text, "rc": proc.returncode}


def assert_tls_scan_clean(address: str, port: int, measure) -> None:
    """sslscan (the external auditor) against a TLS endpoint: only TLS 1.2/1.3, no weak cipher;
    the protocols and the weak-cipher count go into the report's measurements."""
    scan = sslscan(address, port)
    enabled = sorted(p for p, state in scan["protocols"].items() if state == "enabled")
    measure("tls_protocols", ",".join(enabled))
    measure("weak_ciphers", len(scan["weak"]))
    assert scan["protocols"], f"sslscan output not understood:\n{scan['output']}"
    assert set(enabled) <= {"TLSv1.2", "TLSv1.3"}, f"protocols below TLS 1.2 enabled: {enabled}"
    assert scan["ciphers"] and not scan["weak"], f"weak ciphers: {scan['weak']}"


# ------------------------------------------------------------------ threat-intel sync (PILOT-THREAT-INTEL)

THREAT_USER = "idcpilot-zt-intel"  # roles/zt_gateway zt_gateway_threat_user
SYNC_SERVICE = "idcpilot-zt-threat-sync.service"
RELOAD_SERVICE = "idcpilot-zt-blocklist-reload.service"
#: What `systemctl show` must report for the sync service besides User= (PILOT-THREAT-INTEL).
SYNC_HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                  "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6"}


def sync_unit_problems(show: str, user: str) -> list[str]:
    """What is wrong with the sync service, from `systemctl show -p User -p ... <service>`."""
    props = dict(line.split("=", 1) for line in show.splitlines() if "=" in line)
    out = []
    if props.get("User", "") in ("", "root", "0"):
        out.append(f"{SYNC_SERVICE} runs as {props.get('User') or 'root'}, not as the unprivileged {user}")
    elif props["User"] != user:
        out.append(f"{SYNC_SERVICE} runs as {props['User']}, expected {user}")
    for key, want in SYNC_HARDENING.items():
        got = props.get(key)
        if key == "RestrictAddressFamilies" and got is not None:
            got, want = " ".join(sorted(got.split())), " ".join(sorted(want.split()))
        if got != want:
            out.append(f"{SYNC_SERVICE}: {key}={got if got is not None else '(missing)'}, expected {key}={want}")
    return out


def feed_config_problems(cfg: dict) -> list[str]:
    """Feeds of the rendered /etc/idcpilot/zt-threat-feeds.json that are not https URLs or files."""
    return [p for p in (feed_source_problem(f) for f in cfg.get("feeds", [])) if p]
