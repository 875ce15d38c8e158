"""Parsing of the endpoint strings the catalogue accepts (URLs and host:port).

What comes out is written into nginx and other configuration files, so every part is checked
against a narrow grammar here (defence in depth behind the catalogue's own types): a DNS host
name or an IP address, a path of URL path characters only, no query or fragment, no blank or
control character anywhere.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from idcpilot.errors import excerpt

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
#: URL path characters that no configuration syntax the roles write treats specially.
_PATH = re.compile(r"^(?:/[A-Za-z0-9._~%+,=@:-]*)*$")


def check_path(value: str) -> str:
    """A URL path ('/static/'): '/'-separated letters, digits and ``. _ ~ % + , = @ : -`` only."""
    if not value.startswith("/") or not _PATH.match(value):
        raise ValueError(f"{excerpt(value)} is not a plain URL path (letters, digits, '/' and . _ ~ % + , = @ : - only)")
    return value


#: Names that always mean this host (not 'localhost.<anything>': that is an ordinary DNS name).
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str) -> bool:
    """True only for a loopback address of this host: 127.0.0.0/8, ::1 or the name localhost.

    Used where cleartext is allowed only when it never leaves the host (a zero-trust gateway's
    http upstream, MLPS3-TLS). An IPv4-mapped IPv6 address is not accepted: the loopback check
    stays as narrow as the documented forms.
    """
    name = host.lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int
    path: str = ""

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def as_dict(self) -> dict[str, str | int]:
        return {"scheme": self.scheme, "host": self.host, "port": self.port, "hostport": self.hostport, "path": self.path}


def parse_endpoint(value: str, default_scheme: str = "http") -> Endpoint:
    """'http://10.0.0.1:8081/x' or '127.0.0.1:9301' -> Endpoint. Raises ValueError on junk."""
    text = value.strip()
    if any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError(f"blank or control character in {excerpt(value)}")
    if "://" not in text:
        text = f"{default_scheme}://{text}"
    parts = urlsplit(text)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"unsupported scheme {excerpt(parts.scheme)} in {excerpt(value)} (use http or https)")
    if not parts.hostname:
        raise ValueError(f"no host in {excerpt(value)}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"credentials in {excerpt(value)}: endpoints carry no user or password")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError(f"query or fragment in {excerpt(value)}: give a host, port and path only")
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.match(host):
            raise ValueError(f"{excerpt(host)} in {excerpt(value)} is not a DNS host name or an IP address") from None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:  # port out of range / not a number
        raise ValueError(f"bad port in {excerpt(value)}") from exc
    path = parts.path.rstrip("/")
    if path:
        check_path(path)
    return Endpoint(parts.scheme, host, port, path)
