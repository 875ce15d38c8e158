"""Helpers of the SD-WAN verify suite (test_sdwan.py) that read secrets-bearing output: each
command reduces it on the host, so no BGP password or preshared key reaches verify's output,
logs or artifacts. Kept apart from the suite so unit tests run them on sample output."""

from __future__ import annotations

import re
import shlex

#: FRR's running configuration with every neighbour password replaced by a marker on the host.
REDACTED_RUNNING_CONFIG = r"vtysh -c 'show running-config' | sed -E 's/^( *neighbor [^ ]+ password ).*$/\1<redacted>/'"

#: wg's per-peer preshared keys reduced to "set" or "none" per peer on the host.
_PSK_STATES = """awk '{print ($2 == "(none)" || $2 == "") ? "none" : "set"}'"""


def preshared_key_states(interface: str) -> str:
    """The command printing set / none for every peer of ``interface``."""
    return f"wg show {shlex.quote(interface)} preshared-keys | {_PSK_STATES}"


def neighbour_settings(text: str) -> dict[str, set[str]]:
    """neighbour address -> the settings FRR runs for it ('password' for any password,
    'ttl-security hops N', 'ebgp-multihop N', ...), from the redacted running configuration."""
    out: dict[str, set[str]] = {}
    for line in text.splitlines():
        m = re.match(r"^\s+neighbor (\S+) (.+?)\s*$", line)
        if m:
            value = "password" if m.group(2).startswith("password ") else m.group(2)
            out.setdefault(m.group(1), set()).add(value)
    return out
