"""The verify suite's SD-WAN authentication checks read FRR's running configuration and wg's
preshared keys through a redaction that runs on the host: the same shell pipelines, run here on
sample output, keep every secret out and keep what the checks need."""

from __future__ import annotations

import subprocess

from idcpilot.verify.suites import sdwan_support as suite

RUNNING = """frr version 8.4.4
router bgp 65001
 neighbor 10.213.128.17 remote-as 65002
 neighbor 10.213.128.17 password Zm9vYmFy+/=.x_~-
 neighbor 10.213.128.17 ttl-security hops 1
 neighbor 10.213.128.33 remote-as 65003
 neighbor 10.213.128.33 password second-secret
 neighbor 10.213.128.33 ebgp-multihop 2
exit
"""


def _redact(text: str) -> str:
    command = suite.REDACTED_RUNNING_CONFIG.split("|", 1)[1]  # the sed after vtysh
    return subprocess.run(["sh", "-c", command], input=text, capture_output=True, text=True, check=True).stdout


def test_running_config_redaction_removes_every_password_and_keeps_the_settings():
    out = _redact(RUNNING)
    assert "Zm9vYmFy" not in out and "second-secret" not in out
    settings = suite.neighbour_settings(out)
    assert settings["10.213.128.17"] == {"remote-as 65002", "password", "ttl-security hops 1"}
    assert settings["10.213.128.33"] == {"remote-as 65003", "password", "ebgp-multihop 2"}


def test_a_neighbour_without_password_is_seen_as_unsigned():
    out = _redact(RUNNING.replace(" neighbor 10.213.128.33 password second-secret\n", ""))
    assert "password" not in suite.neighbour_settings(out)["10.213.128.33"]


def test_preshared_key_reduction_says_set_or_none_and_never_the_key():
    key = "c2Vjb25kLWtleS1mcm9tLXRoZS12YXVsdC0wMTIzNDU="
    awk = suite.preshared_key_states("wg-lab-gz-gw01").split("|", 1)[1]
    for wg_output, want in ((f"PUBKEY=\t{key}\n", "set"), ("PUBKEY=\t(none)\n", "none")):
        out = subprocess.run(["sh", "-c", awk], input=wg_output, capture_output=True, text=True, check=True).stdout
        assert out.split() == [want] and key not in out
