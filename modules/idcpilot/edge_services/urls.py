"""Parsing of the endpoint strings the catalogue accepts (URLs and host:port)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


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
    if "://" not in text:
        text = f"{default_scheme}://{text}"
    parts = urlsplit(text)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"unsupported scheme {parts.scheme!r} in {value!r} (use http or https)")
    if not parts.hostname:
        raise ValueError(f"no host in {value!r}")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:  # port out of range / not a number
        raise ValueError(f"bad port in {value!r}") from exc
    return Endpoint(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))
