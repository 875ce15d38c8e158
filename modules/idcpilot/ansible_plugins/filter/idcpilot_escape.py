# Jinja filters that make a value safe for the configuration syntax a role template writes.
#
# Role variables can come from estates, group_vars and host_vars, which arrive in pull requests:
# a value must never add a line, close a block or start a command in the file it lands in.
# Each filter either escapes the value for its target syntax (where that syntax can quote) or
# refuses it with an error that names the syntax and repeats the value in short. Benign values
# come out unchanged wherever the syntax allows it, so rendered files stay as they were.
#
# Enabled by the repository's ansible.cfg (filter_plugins); tests import it as a Python module.
from __future__ import annotations

import ipaddress
import json
import re
import shlex
from typing import Any

try:  # the error Ansible reports as a failed task; plain ValueError where Ansible is absent
    from ansible.errors import AnsibleFilterError as _Error
except ImportError:  # pragma: no cover
    _Error = ValueError  # type: ignore[misc,assignment]


class UnsafeValue(_Error):  # type: ignore[misc,valid-type]
    """A value that cannot be written safely into the target syntax."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
#: Characters no unquoted token of any line-oriented config format needs.
_WORD = re.compile(r"^[A-Za-z0-9_./:@+=,*%^\[\]-]+$")
_SHELL_WORD = re.compile(r"^[A-Za-z0-9_./:@+=,%-]+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
_WG_KEY = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")
#: A TCP-MD5 key FRR reads as one word: base64 and URL-safe characters only (no blank, no '!'
#: that starts an FRR comment, no quote), at most 80 bytes (the kernel's TCP_MD5SIG_MAXKEYLEN).
_TCP_MD5_KEY = re.compile(r"^[A-Za-z0-9+/=._~-]{1,80}$")
_EXCERPT = 60


def _excerpt(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else repr(str(value))
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= _EXCERPT else f"{text[:_EXCERPT - 1]}… ({len(str(value))} characters)"


def _refuse(syntax: str, value: Any, why: str) -> UnsafeValue:
    return UnsafeValue(f"{syntax}: refusing {_excerpt(value)}: {why}")


def _text(syntax: str, value: Any, *, control: bool = False) -> str:
    """The value as text; control characters (a newline would start a new line) refused."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        raise _refuse(syntax, value, "expected a single value")
    text = str(value)
    if not control and _CONTROL.search(text):
        raise _refuse(syntax, value, "control characters (such as a newline) are not allowed")
    return text


# ---------------------------------------------------------------- words and lines (no quoting)


def config_word(value: Any) -> str:
    """One token of a format that cannot quote (sshd_config, chrony, FRR, auditd, sudoers names,
    audit rules, modprobe, logrotate paths, command-line flags): no blank, quote, comment or
    block character, unchanged when it is one."""
    text = _text("config word", value)
    if not _WORD.match(text):
        raise _refuse("config word", value, "only letters, digits and _ . / : @ + = , * % ^ [ ] - are allowed here")
    return text


def config_line(value: Any) -> str:
    """The rest of a line (comments, descriptions, free-text values): a single line, unchanged."""
    text = _text("config line", value)
    if text.endswith("\\"):
        raise _refuse("config line", value, "a trailing backslash would continue the line")
    return text


def hostname(value: Any) -> str:
    """A DNS host name or an IP address, unchanged (chrony servers, certificate names, Host headers)."""
    text = _text("host name", value)
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if not _HOSTNAME.match(text):
        raise _refuse("host name", value, "not a DNS host name or an IP address")
    return text


def ip_cidr(value: Any) -> str:
    """An IP address or network (10.0.0.0/8, fd00::/8), unchanged (firewall sets, allow lists)."""
    text = _text("address", value)
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _refuse("address", value, "not an IP address or CIDR network") from None
    return text


def port(value: Any) -> str:
    """A port (1-65535) or a range of ports ('30000-32767'), as text."""
    text = _text("port", value)
    parts = text.split("-")
    if not (1 <= len(parts) <= 2 and all(p.isdigit() and 1 <= int(p) <= 65535 for p in parts)):
        raise _refuse("port", value, "not a port (1-65535) or a port range")
    return text


def wg_key(value: Any) -> str:
    """A WireGuard public or preshared key (base64 of 32 bytes)."""
    text = _text("WireGuard key", value)
    if not _WG_KEY.match(text):
        raise _refuse("WireGuard key", value, "not a base64 key of 32 bytes")
    return text


def frr_password(value: Any) -> str:
    """A BGP TCP-MD5 password for FRR's `neighbor X password WORD`: refused unless it is one word of
    base64 or URL-safe characters of at most 80 bytes; never escaped (FRR has no quoting), and the
    value is never repeated in the refusal, since it is a secret."""
    try:
        text = _text("FRR password", value)
    except UnsafeValue:
        raise UnsafeValue("FRR password: refusing a value: expected a single line of text") from None
    if not _TCP_MD5_KEY.match(text):
        raise UnsafeValue("FRR password: refusing a value (not shown): only letters, digits and + / = . _ ~ - "
                          "are allowed, at most 80 characters (TCP_MD5SIG_MAXKEYLEN)")
    return text


# ---------------------------------------------------------------- nginx


def nginx_str(value: Any) -> str:
    """The inside of a double-quoted nginx string the template writes: backslash and quote
    escaped; '$' refused (nginx would read a variable), control characters refused."""
    text = _text("nginx", value)
    if "$" in text:
        raise _refuse("nginx", value, "'$' would be read as an nginx variable")
    return text.replace("\\", "\\\\").replace('"', '\\"')


def nginx_arg(value: Any) -> str:
    """One nginx directive argument: unchanged when it is a plain word, else double-quoted, so
    ';', '{', '}', '#', quotes and blanks stay inside it. A leading '~' (regex) is refused."""
    text = _text("nginx", value)
    if text.startswith("~"):
        raise _refuse("nginx", value, "a leading '~' would make it a regular expression")
    if _WORD.match(text) and not text.startswith("^"):
        return text
    return f'"{nginx_str(text)}"'


def nginx_args(value: Any) -> str:
    """Several plain-word nginx arguments from a list or a blank-separated string (ssl_protocols)."""
    if isinstance(value, str):
        _text("nginx", value)
    items = value.split() if isinstance(value, str) else list(value or [])
    return " ".join(config_word(v) for v in items)


# ---------------------------------------------------------------- nftables


def nft_str(value: Any) -> str:
    """A double-quoted nftables string (comments, interface names): nft has no escapes, so a
    double quote or a backslash is refused."""
    text = _text("nftables", value)
    if '"' in text or "\\" in text:
        raise _refuse("nftables", value, "nftables strings cannot hold a double quote or a backslash")
    return f'"{text}"'


def nft_rule(value: Any) -> str:
    """One whole nftables rule of a chain (operator-supplied extra rules): a single line whose
    braces and quotes are balanced and that holds no ';' or '#', so it cannot close the chain
    or start another statement."""
    text = _text("nftables rule", value)
    depth = 0
    quoted = False
    for c in text:
        if c == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif c in ";#":
            raise _refuse("nftables rule", value, f"{c!r} would end the rule")
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                raise _refuse("nftables rule", value, "'}' would close the chain")
    if depth or quoted:
        raise _refuse("nftables rule", value, "unbalanced braces or quotes")
    return text


# ---------------------------------------------------------------- systemd, shell


def systemd_value(value: Any) -> str:
    """A unit-file setting's value (Description=, OnCalendar=, ReadWritePaths=): one line, '%'
    written as '%%' so systemd does not expand it as a specifier."""
    return config_line(value).replace("%", "%%")


def systemd_arg(value: Any) -> str:
    """One word of an Exec*= command line: unchanged when plain, else double-quoted with systemd's
    escapes; '%' and '$' doubled so systemd expands neither."""
    text = _text("systemd", value)
    if _WORD.match(text) and "%" not in text:
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def systemd_command(value: Any) -> str:
    """A whole Exec*= command given as one string: split like a shell would, each word escaped."""
    text = _text("systemd", value)
    try:
        words = shlex.split(text)
    except ValueError:
        raise _refuse("systemd", value, "unbalanced quotes") from None
    if not words:
        raise _refuse("systemd", value, "an empty command")
    return " ".join(systemd_arg(w) for w in words)


def shell_word(value: Any) -> str:
    """One shell word (sh, bash, wg-quick PostUp): unchanged when plain, else single-quoted.
    Control characters are refused too: the word may sit on one line of a line-based file."""
    text = _text("shell", value)
    return text if _SHELL_WORD.match(text) else shlex.quote(text)


# ---------------------------------------------------------------- other formats


def sudoers_command(value: Any) -> str:
    """A command of a sudoers rule: a fully qualified path and its arguments, with sudoers'
    special characters (',' another command, ':' '=' '\\') escaped; '#' and 'ALL' refused, and
    the wildcards '*' '?' '[' ']' (they would widen an exact command to any argument)."""
    text = _text("sudoers", value)
    if not text.startswith("/") or "#" in text:
        raise _refuse("sudoers", value, "a sudoers command is a full path and its arguments, without '#'")
    if re.search(r"[*?\[\]]", text):
        raise _refuse("sudoers", value, "wildcards (* ? [ ]) would match other arguments")
    return re.sub(r"([\\,:=])", r"\\\1", text)


_SUDOERS_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


def sudoers_name(value: Any) -> str:
    """A user or group name in a sudoers rule: a plain account name (lower case, as useradd and
    groupadd make them, at most 32 characters). Refused: ',' (it would add another user to the
    list), '!' (negation), blanks, 'ALL' and upper-case words (sudoers keywords and aliases)."""
    text = _text("sudoers", value)
    if not _SUDOERS_NAME.match(text):
        raise _refuse("sudoers", value, "a user or group name is lower-case letters, digits and _ . - only")
    return text


def apt_uri(value: Any) -> str:
    """A URI of an apt deb822 source: one http(s)/file/mirror URI, no blank (a second URI), no
    newline (a second field such as 'Trusted: yes')."""
    text = _text("apt source", value)
    if not re.match(r"^(https?|file|mirror(\+(https?|file))?)://[^\s#]+$", text):
        raise _refuse("apt source", value, "not a single http(s)/file/mirror URI without blanks")
    return text


def toml_str(value: Any) -> str:
    """A TOML basic string, quotes included (JSON escaping is valid TOML)."""
    return json.dumps(_text("TOML", value, control=True), ensure_ascii=True)


def rsyslog_str(value: Any) -> str:
    """The inside of a double-quoted RainerScript string: backslash and quote escaped."""
    return _text("rsyslog", value).replace("\\", "\\\\").replace('"', '\\"')


def prom_label(value: Any) -> str:
    """A Prometheus text-format label value (inside double quotes)."""
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openssl_value(value: Any) -> str:
    """A value of an OpenSSL config file (certificate subject fields): no '$' (variable), '#'
    (comment), backslash or quote, one line."""
    text = _text("openssl config", value)
    if re.search(r"[$#\\\"']", text) or not text.strip():
        raise _refuse("openssl config", value, "'$', '#', backslashes and quotes are not allowed")
    return text


class FilterModule:
    """Escaping and refusing filters, one per configuration syntax."""

    def filters(self) -> dict[str, Any]:
        return {
            "config_word": config_word,
            "config_line": config_line,
            "hostname": hostname,
            "ip_cidr": ip_cidr,
            "port": port,
            "wg_key": wg_key,
            "frr_password": frr_password,
            "nginx_str": nginx_str,
            "nginx_arg": nginx_arg,
            "nginx_args": nginx_args,
            "nft_str": nft_str,
            "nft_rule": nft_rule,
            "systemd_value": systemd_value,
            "systemd_arg": systemd_arg,
            "systemd_command": systemd_command,
            "shell_word": shell_word,
            "apt_uri": apt_uri,
            "toml_str": toml_str,
            "rsyslog_str": rsyslog_str,
            "prom_label": prom_label,
            "openssl_value": openssl_value,
            "sudoers_command": sudoers_command,
            "sudoers_name": sudoers_name,
        }
