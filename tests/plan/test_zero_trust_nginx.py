"""The in-cluster zero-trust gateway's nginx.conf: hostile catalogue values, nginx -t, and the
decision table of the host gateways (roles/zt_gateway).

The estate arrives in pull requests: no app name, upstream host, identity or gateway name may
add a directive to the gateway's configuration. Each hostile value is either refused by the
escaping filters the host role uses (``UnsafeValue``) or lands in a configuration with exactly
the statements of the benign one; where nginx is installed, ``nginx -t`` (which binds no port)
reads every configuration that renders.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from idcpilot.ansible_plugins.filter.idcpilot_escape import UnsafeValue
from idcpilot.components.spec import GatewayArgs
from idcpilot.components.zero_trust import NONE, RUN_DIR, TLS_DIR, nginx_config

REPO = Path(__file__).resolve().parents[2]
HOST_TEMPLATE = REPO / "roles" / "zt_gateway" / "templates" / "idcpilot-zt.conf.j2"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)

#: Hostile values: each would add a directive, close a block, read a variable or open a file
#: if it reached nginx.conf unquoted.
PAYLOADS = {
    "semicolon": "x; include /etc/passwd;",
    "brace": "x} server { listen 80; } map $a $b {",
    "newline": "x\ninclude /etc/passwd;",
    "dollar": "x$ssl_client_s_dn",
    "double-quote": 'x" ; include "/etc/passwd',
    "single-quote": "x' ; include '/etc/passwd",
    "comment": "x # }",
    "backslash": "x\\",
    "include": "include /etc/passwd",
    "regex": "~.*",
}


def _app(gw: GatewayArgs, **change: object) -> GatewayArgs:
    """``gw`` with its first app changed."""
    first, *rest = gw.apps
    return dataclasses.replace(gw, apps=(dataclasses.replace(first, **change), *rest))


FIELDS = {
    "app name": lambda gw, v: _app(gw, name=v),
    "upstream host": lambda gw, v: _app(gw, upstream_host=v),
    "identity": lambda gw, v: _app(gw, principals=(v,)),
    "gateway name": lambda gw, v: dataclasses.replace(gw, gateway=v),
}


@pytest.fixture
def gw(spec_of) -> GatewayArgs:
    """The example estate's gz-zt gateway, upstreams at addresses nginx -t can resolve offline."""
    (gateway,) = spec_of("gz-edge-k8s").gateways
    assert len(gateway.apps) >= 2
    return dataclasses.replace(gateway, apps=tuple(dataclasses.replace(a, upstream_host="127.0.0.1") for a in gateway.apps))


# ---------------------------------------------------------------------------- reading nginx.conf

_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[{};]|#[^\n]*|[^\s{};"\'#]+')
#: Blocks whose statements are entries (key value), not directives.
_TABLES = ("map", "geo", "types")


def statements(text: str) -> list[tuple[str, ...]]:
    """Every statement as (enclosing blocks..., directive, number of arguments); a table entry
    (inside map) as "<entry>". Quotes and comments are respected as nginx reads them."""
    out: list[tuple[str, ...]] = []
    path: list[str] = []
    words: list[str] = []
    for tok in _TOKEN.findall(text):
        if tok.startswith("#"):
            continue
        if tok in (";", "{"):
            name = "<entry>" if path and path[-1] in _TABLES else (words[0] if words else "")
            out.append((*path, name, str(len(words))))
            if tok == "{":
                path.append(words[0] if words else "?")
            words = []
        elif tok == "}":
            assert not words, f"statement without ';' before '}}': {words}"
            assert path, "'}' closes no block"
            path.pop()
        else:
            words.append(tok)
    assert not words and not path, "unterminated statement or block"
    return out


def test_the_reader_sees_an_injected_directive(gw):
    """The check below would notice: a directive smuggled into a map entry shows as a new statement."""
    text = nginx_config(gw)
    smuggled = text.replace('"allow: billing allows identity chen-jie";', '"allow: billing allows identity chen-jie"; include /etc/passwd;')
    assert smuggled != text and statements(smuggled) != statements(text)
    assert statements(text.replace("billing allows", "billing  allows")) == statements(text)


# ---------------------------------------------------------------------------- nginx -t


def _pki(d: Path) -> None:
    """A throw-away gateway CA and server certificate (tls.crt, tls.key, ca.crt) in ``d``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idcpilot-test zero-trust CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (d / "tls.crt").write_bytes(pem)
    (d / "ca.crt").write_bytes(pem)
    (d / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))


def nginx_t(text: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on the whole rendered nginx.conf, its TLS files and writable directory moved
    into ``tmp`` (nginx -t creates the pid file and temporary directories; it binds no port)."""
    _pki(tmp / "tls")
    (tmp / "run").mkdir(exist_ok=True)
    moved = text.replace(f" {RUN_DIR}/", f" {tmp}/run/").replace(f" {TLS_DIR}/", f" {tmp}/tls/")
    assert RUN_DIR + "/" not in moved.replace(str(tmp), "") and TLS_DIR not in moved
    conf = tmp / "nginx.conf"
    conf.write_text(moved)
    return subprocess.run([NGINX or "nginx", "-t", "-q", "-p", str(tmp), "-c", str(conf)],
                          capture_output=True, text=True, timeout=60)


needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed on this machine")


@needs_nginx
def test_nginx_reads_the_rendered_config(gw, tmp_path):
    proc = nginx_t(nginx_config(gw), tmp_path)
    assert proc.returncode == 0, proc.stderr


@needs_nginx
def test_nginx_reads_a_config_without_apps(gw, tmp_path):
    proc = nginx_t(nginx_config(dataclasses.replace(gw, apps=())), tmp_path)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------- hostile values


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_value_adds_no_directive(gw, field, payload, tmp_path):
    benign = nginx_config(gw)
    hostile = FIELDS[field](gw, PAYLOADS[payload])
    try:
        text = nginx_config(hostile)
    except UnsafeValue as e:  # refused, saying what and why
        assert "refusing" in str(e)
        return
    assert statements(text) == statements(benign), f"{field} {payload!r} changed the statements"
    if NGINX:
        proc = nginx_t(text, tmp_path)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("word", ["default", "include", "hostnames", "volatile", "server", "if"])
def test_names_that_are_nginx_words_stay_names(gw, word, tmp_path):
    """An app or identity named like one of map's own words (or a directive) is still only a key."""
    benign = nginx_config(gw)
    app = gw.apps[0].name
    for args in (_app(gw, name=word), _app(gw, principals=(word,))):
        text = nginx_config(args)
        assert statements(text) == statements(benign)
        if NGINX:
            proc = nginx_t(text, tmp_path)
            assert proc.returncode == 0, proc.stderr
    assert f'"~*^{word}(\\.|$)" {word};' in nginx_config(_app(gw, name=word))
    assert f'"SUCCESS|{app}|{word}" "allow: {app} allows identity {word}";' in nginx_config(_app(gw, principals=(word,)))


def test_no_app_or_identity_named_like_the_no_match_marker(gw):
    """"-" is $zt_app for an unknown host and $zt_cert_cn for a certificate without a CN: an app
    or identity of that name would turn "no such app" or "no CN" into an allow."""
    with pytest.raises(UnsafeValue):
        nginx_config(_app(gw, name=NONE))
    with pytest.raises(UnsafeValue, match="without a CN"):
        nginx_config(_app(gw, principals=(NONE,)))


def test_upstream_port_and_ipv6_address(gw):
    text = nginx_config(_app(gw, upstream_host="fd00::10", upstream_port=8443))
    assert "server [fd00::10]:8443;" in text and "app:billing fd00::10;" in text
    with pytest.raises(UnsafeValue):
        nginx_config(_app(gw, upstream_port=0))


# ---------------------------------------------------------------------------- decisions


def test_default_deny_false_is_refused(gw):
    """As the host role's preflight does (PILOT-ZT): the gateway only ever denies by default."""
    with pytest.raises(ValueError, match="defaultDeny is false"):
        nginx_config(dataclasses.replace(gw, default_deny=False))


def test_min_tls_for_clients_and_upstreams(gw):
    text = nginx_config(dataclasses.replace(gw, min_tls="1.3"))
    assert "        ssl_protocols TLSv1.3;\n" in text and "            proxy_ssl_protocols TLSv1.3;\n" in text
    assert "TLSv1.2" not in text
    with pytest.raises(ValueError, match="minTls"):
        nginx_config(dataclasses.replace(gw, min_tls="1.4"))


def _block(text: str, head: str) -> str:
    """The body of the block that opens with ``head``, up to the line that closes it."""
    found = re.search(re.escape(head) + r"\n(.*?)^\s*\}\s*$", text, re.S | re.M)
    assert found, head
    return found.group(1)


def test_decision_table_is_the_host_roles(gw):
    """Same identity (subject CN), same deny reasons in the same order, same default and same allow
    rule as roles/zt_gateway; the host table's first field (threat-intel blocklist) is dropped."""
    host = HOST_TEMPLATE.read_text()
    text = nginx_config(gw)
    entry = re.compile(r'^\s*"(~[^"]*)" ("[^"]*"|\S+);$', re.M)

    host_cn, ours_cn = _block(host, "map $ssl_client_s_dn $zt_cert_cn {"), _block(text, "map $ssl_client_s_dn $zt_cert_cn {")
    assert entry.findall(host_cn) == entry.findall(ours_cn) == [("~(^|,)CN=(?<zt_cn>[^,]+)", "$zt_cn")]

    host_table = _block(host, 'map "$zt_blocked|$ssl_client_verify|$zt_app|$zt_cert_cn" $zt_reason {')
    ours_table = _block(text, 'map "$ssl_client_verify|$zt_app|$zt_cert_cn" $zt_reason {')
    host_denies = [(k.replace("~^0\\|", "~^"), v) for k, v in entry.findall(host_table) if not k.startswith("~^1\\|")]
    assert len(host_denies) == 4 and entry.findall(ours_table) == host_denies
    default = re.compile(r'^\s*default ("[^"]*");$', re.M)
    assert default.findall(host_table) == default.findall(ours_table) != []
    # the host role allows with "0|SUCCESS|<app>|<identity>" -> "allow: <app> allows identity <i>" (or "group
    # <g>"; this gateway gets the identities its groups resolve to); so does this one
    assert re.search(r"'0\|SUCCESS\|' ~ \(app.name \| config_word\) ~ '\|' ~ \(identity \| config_word\)", host_table)
    assert "'allow: ' ~ app.name ~ ' allows ' ~ why" in host_table
    assert re.findall(r'^\s*"SUCCESS\|billing\|([^"]*)" "allow: billing allows identity \1";$', ours_table, re.M) == ["chen-jie"]

    decision = "map $zt_reason $zt_decision {"
    assert _block(host, decision).split() == _block(text, decision).split()
