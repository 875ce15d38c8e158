"""The string types of the catalogue: one regular expression each, shared by the CLI and the schema.

An estate arrives in a pull request, so every string in it is untrusted. Each field gets the
narrowest type that fits what it holds (a DNS label, a host name, a URL with the schemes that
field allows, a path, a CIDR prefix ...). Every type refuses control characters (newline
included) and Jinja markers (``{{``, ``{%``, ``{#``), so no value can add a line to a config
file or become a template when Ansible reads the inventory.

Each type is an ``Annotated[str, ...]`` whose validator matches the same regular expression that
the published JSON Schema carries as ``pattern`` (plus ``maxLength``), so an editor with the
schema and ``idcpilot validate`` accept and refuse the same values. The expressions are written
in the subset that Python's ``re`` and ECMA-262 (editors) read alike, with no look-behind, and
end in ``$(?!\\n)`` because Python's ``$`` also matches before a final newline.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Callable

from pydantic import AfterValidator, BeforeValidator, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

from idcpilot.errors import excerpt

# ----------------------------------------------------------------------------- building blocks

#: Characters no catalogue string may hold: C0 and C1 controls (newline, tab, escape ...), the
#: Unicode line and paragraph separators, byte-order mark and bidirectional overrides (which
#: make a reviewer read something other than what the file says).
CONTROL = r"\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
_CONTROL_RE = re.compile(f"[{CONTROL}]")
_JINJA_RE = re.compile(r"\{[{%#]")

#: Texts Ansible (Jinja) treats as the start of a template expression, statement or comment.
JINJA_MARKERS = ("{{", "{%", "{#")

LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
LABEL_1035 = r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
#: A host name: dot-separated labels whose last label starts with a letter, so that a mistyped
#: address (10.0.0.300) is never read as a name.
HOSTNAME = rf"(?:{LABEL}\.){{0,126}}{LABEL_1035}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
IPV4_CIDR = rf"{IPV4}/(?:3[0-2]|[12]?[0-9])"
PORT_NUMBER = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
HOST = rf"(?:{IPV4}|{HOSTNAME})"
HOST_PORT = rf"{HOST}(?::{PORT_NUMBER})?"

# Path segments: letters, digits and _ ~ + = @ : , - and dots, but never a segment that is
# only "." or ".."; no whitespace, quotes, ; { } $ % \ # ? (nginx, shell and URL syntax).
_PCHAR = "A-Za-z0-9_~+=@:,-"
_SEGMENT = rf"(?:[{_PCHAR}][{_PCHAR}.]*|\.[{_PCHAR}][{_PCHAR}.]*|\.\.[{_PCHAR}.]+)"
URL_PATH = rf"/(?:{_SEGMENT}(?:/{_SEGMENT})*/?)?"

_TEXT_CHAR = rf"[^{CONTROL}{{]"
#: Free text: anything printable on one line, with a "{" never followed by "{", "%" or "#".
FREE_TEXT = rf"(?:{_TEXT_CHAR}|\{{[^{CONTROL}{{%#])*\{{?"

K8S_QUANTITY_CPU = r"[0-9]{1,6}(?:\.[0-9]{1,3})?m?"
K8S_QUANTITY_MEMORY = r"[0-9]{1,9}(?:\.[0-9]{1,3})?(?:k|M|G|T|Ki|Mi|Gi|Ti)?"
_LABEL_TOKEN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
LABEL_KEY = rf"(?:(?:{LABEL}\.)*{LABEL}/)?{_LABEL_TOKEN}"
LABEL_VALUE = rf"(?:{_LABEL_TOKEN})?"
_IMAGE_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE = (
    rf"(?:{HOST_PORT}/)?{_IMAGE_PATH}(?:/{_IMAGE_PATH}){{0,8}}"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)

#: Generated names: literal DNS-label text around exactly one {index} or {index:0Nd}, N <= 6.
NAME_PATTERN = r"[a-z0-9-]{0,62}\{index(?::0[1-6]d)?\}[a-z0-9-]{0,62}"
_NAME_PATTERN_PARTS = re.compile(r"([a-z0-9-]*)\{index(?::0([1-6])d)?\}([a-z0-9-]*)")

#: Host names Ansible reserves or gives to groups the inventory generates (automated / manual;
#: every other generated group has an underscore, which a DNS label cannot hold).
RESERVED_HOST_NAMES = ("all", "ungrouped", "localhost", "automated", "manual")

#: x509 limits a name travels into: a gateway's CA is "<estate> <gateway> zero-trust CA" and a
#: common name holds at most 64 characters, so estate + gateway names fit in 64 - 15 = 49.
X509_COMMON_NAME_MAX = 64
ESTATE_NAME_MAX = 24
CA_COMMON_NAME_OVERHEAD = len(" ") + len(" zero-trust CA")
GATEWAY_NAME_MAX = X509_COMMON_NAME_MAX - CA_COMMON_NAME_OVERHEAD - ESTATE_NAME_MAX  # 25


def anchored(core: str) -> str:
    """A whole-string pattern that Python (re.search / re.fullmatch) and ECMA-262 read alike."""
    return f"^(?:{core})$(?!\\n)"


# ----------------------------------------------------------------------------- checks


def _fail(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, ctx)


def safe_text_problem(value: str) -> str | None:
    """Why a string may not appear in the catalogue at all, or None."""
    bad = _CONTROL_RE.search(value)
    if bad:
        return f"must not contain control characters (found {excerpt(bad.group())} at position {bad.start() + 1})"
    marker = _JINJA_RE.search(value)
    if marker:
        return f"must not contain the template marker {marker.group()!r} ({', '.join(JINJA_MARKERS)} are refused everywhere)"
    return None


@dataclass(frozen=True)
class StringType:
    """One string grammar: its pattern, its length limit and how to describe it to a user."""

    kind: str
    core: str
    max_length: int
    what: str  # "a lower-case DNS label: a-z, 0-9 and '-'"
    min_length: int = 1
    extra: Callable[[str], str | None] | None = None  # further checks the pattern cannot express
    schema_extra: dict[str, Any] | None = None
    length_reason: str = ""  # why max_length is what it is, when it is not the grammar's own limit

    @property
    def pattern(self) -> str:
        return anchored(self.core)

    def check(self, value: str) -> str:
        if len(value) > self.max_length:
            why = f": {self.length_reason}" if self.length_reason else ""
            raise _fail("text_too_long", f"must be at most {self.max_length} characters (got {len(value)}){why}")
        if len(value) < self.min_length:
            raise _fail("text_empty", "must not be empty")
        problem = safe_text_problem(value)
        if problem:
            raise _fail("unsafe_text", problem)
        if not self._re.fullmatch(value):
            raise _fail(self.kind, f"must be {self.what} (got {excerpt(value)})")
        if self.extra is not None:
            extra = self.extra(value)
            if extra:
                raise _fail(self.kind, extra)
        return value

    @property
    def _re(self) -> re.Pattern[str]:
        return _compiled(self.core)

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "pattern": self.pattern, "maxLength": self.max_length}
        if self.min_length:
            out["minLength"] = self.min_length
        out.update(self.schema_extra or {})
        return out

    def annotated(self) -> Any:
        return Annotated[str, Strict(), AfterValidator(self.check), WithJsonSchema(self.json_schema())]


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compiled(core: str) -> re.Pattern[str]:
    pattern = _COMPILED.get(core)
    if pattern is None:
        pattern = _COMPILED[core] = re.compile(core)
    return pattern


def _reserved_host(value: str) -> str | None:
    if value in RESERVED_HOST_NAMES:
        return f"{excerpt(value)} is a name Ansible reserves or gives to a generated group; choose another host name"
    return None


def url_type(kind: str, schemes: tuple[str, ...], path: bool, max_length: int = 512) -> StringType:
    """scheme://host[:port][path] with the schemes a field allows; no user:password@, query or fragment."""
    scheme = "|".join(schemes)
    tail = f"(?:{URL_PATH})?" if path else "/?"
    listed = " or ".join(f"{s}://" for s in schemes)
    where = "host[:port][/path]" if path else "host[:port] (no path)"
    return StringType(
        kind, rf"(?:{scheme})://{HOST_PORT}{tail}", max_length,
        f"a URL {listed}{where} with no credentials, query or fragment, and a path of plain segments",
    )


# ----------------------------------------------------------------------------- the types

DNS_LABEL = StringType("dns_label", LABEL, 63, "a lower-case DNS label: a-z, 0-9 and '-'")
DNS_1035_LABEL = StringType("dns_1035_label", LABEL_1035, 63, "a lower-case DNS label that starts with a letter: a-z, 0-9 and '-'")
HOST_NAME = StringType(
    "host_name", LABEL, 63, "a lower-case DNS label: a-z, 0-9 and '-'", extra=_reserved_host,
    schema_extra={"not": {"enum": list(RESERVED_HOST_NAMES)}},
)
_CA_REASON = (f"'<estate> <gateway> zero-trust CA' is a certificate common name, at most {X509_COMMON_NAME_MAX} "
              f"characters in x509, so estate names get {ESTATE_NAME_MAX} and gateway names {GATEWAY_NAME_MAX}")
ESTATE_NAME = StringType("dns_label", LABEL, ESTATE_NAME_MAX, "a lower-case DNS label: a-z, 0-9 and '-'", length_reason=_CA_REASON)
GATEWAY_NAME = StringType("dns_label", LABEL, GATEWAY_NAME_MAX, "a lower-case DNS label: a-z, 0-9 and '-'", length_reason=_CA_REASON)
HOST_OR_ADDRESS = StringType("host", HOST, 253, "an IPv4 address or a lower-case host name (labels a-z, 0-9, '-'; the last starts with a letter)")
REGISTRY = StringType("host_port", HOST_PORT, 253 + 6, "host[:port]: an IPv4 address or a lower-case host name, optionally ':' and a port 1-65535")
IPV4_ADDRESS = StringType("ipv4", IPV4, 15, "an IPv4 address like 10.0.0.1 (no leading zeros)")
IPV4_PREFIX = StringType("ipv4_cidr", IPV4_CIDR, 18, "an IPv4 prefix like 10.0.0.0/16 (no leading zeros)")
PATH_PREFIX = StringType(
    "url_path", URL_PATH, 256,
    "a URL path starting with '/': segments of letters, digits and _ ~ + = @ : , - . (no '..' segment, "
    "whitespace, quotes, ; { } $ % or \\)",
)
UPSTREAM = StringType(
    "upstream", rf"{HOST_PORT}|(?:http|https)://{HOST_PORT}(?:{URL_PATH})?", 512,
    "host:port or a URL http:// or https://host[:port][/path] with a path of plain segments",
)
LOCAL_FILE = StringType(
    "absolute_path", r"(?:/(?!\.\.?(?:/|$))[A-Za-z0-9_.+=@,-]+)+", 256,
    "an absolute path on the host: '/'-separated segments of letters, digits and _ . + = @ , - (no '.' or '..' segment)",
)
FREE_LINE = StringType("free_text", FREE_TEXT, 200, "text on one line", min_length=0)
DESCRIPTION = StringType("free_text", FREE_TEXT, 1000, "text on one line", min_length=0)
CPU_QUANTITY = StringType("quantity", K8S_QUANTITY_CPU, 12, "a CPU quantity like 250m, 1 or 2.5")
MEMORY_QUANTITY = StringType("quantity", K8S_QUANTITY_MEMORY, 16, "a memory quantity like 256Mi, 4Gi or 512M")
IMAGE_REF = StringType("image", IMAGE, 512, "an image reference registry[:port]/repository/name[:tag][@sha256:digest]")
K8S_LABEL_KEY = StringType("label_key", LABEL_KEY, 317, "a Kubernetes label key: [prefix/]name of letters, digits, '-', '_', '.'")
K8S_LABEL_VALUE = StringType("label_value", LABEL_VALUE, 63, "a Kubernetes label value: letters, digits, '-', '_', '.'", min_length=0)


NAME_PATTERN_TYPE = StringType(
    "name_pattern", NAME_PATTERN, 74,
    "lower-case DNS-label text with exactly one {index} or {index:0Nd} (N from 1 to 6), e.g. 'bj-cdn-{index:03d}'",
)


def expand_name_pattern(pattern: str, index: int) -> str:
    """'bj-cdn-{index:03d}', 7 -> 'bj-cdn-007' (the pattern already matched NAME_PATTERN)."""
    return expand_name_pattern_range(pattern, index, index)[0]


def expand_name_pattern_range(pattern: str, first: int, last: int) -> list[str]:
    """The names of indices first..last, the pattern read once (a host group of thousands)."""
    match = _NAME_PATTERN_PARTS.fullmatch(pattern)
    if match is None:
        raise ValueError(f"not a name pattern: {excerpt(pattern)}")
    prefix, width, suffix = match.groups()
    pad = int(width or 0)
    return [f"{prefix}{str(index).zfill(pad)}{suffix}" for index in range(first, last + 1)]


def _iso_date(value: Any) -> Any:
    """Dates are YAML dates (2026-05-01) or the same text quoted; nothing else."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise _fail("date_text", f"not a calendar date ({exc})") from None
    if isinstance(value, dt.datetime):
        raise _fail("date_type", f"must be a date YYYY-MM-DD without a time (got {excerpt(value)})")
    return value


Date = Annotated[dt.date, BeforeValidator(_iso_date)]

DnsLabel = DNS_LABEL.annotated()
Dns1035Label = DNS_1035_LABEL.annotated()
HostName = HOST_NAME.annotated()
EstateName = ESTATE_NAME.annotated()
GatewayName = GATEWAY_NAME.annotated()
HostOrAddress = HOST_OR_ADDRESS.annotated()
Registry = REGISTRY.annotated()
IPv4Address = IPV4_ADDRESS.annotated()
IPv4Prefix = IPV4_PREFIX.annotated()
PathPrefix = PATH_PREFIX.annotated()
Upstream = UPSTREAM.annotated()
FreeLine = FREE_LINE.annotated()
LocalFile = LOCAL_FILE.annotated()
Description = DESCRIPTION.annotated()
CpuQuantity = CPU_QUANTITY.annotated()
MemoryQuantity = MEMORY_QUANTITY.annotated()
ImageRef = IMAGE_REF.annotated()
LabelKey = K8S_LABEL_KEY.annotated()
LabelValue = K8S_LABEL_VALUE.annotated()
NamePattern = NAME_PATTERN_TYPE.annotated()

#: URLs; each field's description says why it allows the schemes it does.
HTTP_URL = url_type("url", ("http", "https"), path=True)
HTTP_ORIGIN = url_type("url", ("http", "https"), path=False)
HttpUrl = HTTP_URL.annotated()
HttpOrigin = HTTP_ORIGIN.annotated()
