"""frr.conf as the role renders it for a lab edge (Ansible's own templating, the repository's
filters, the lab inventory): every neighbour has its link's TCP-MD5 password and, on eBGP, GTSM
(ttl-security hops 1) and no ebgp-multihop (FRR refuses the two together); FRR 8.4's own parser
(vtysh --dryrun) accepts the file; hostile passwords and neighbour names are refused by the
filters, without the password being repeated in the error."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleError

from idcpilot.ansible_plugins.filter.idcpilot_escape import UnsafeValue, frr_password
from ansible.template import trust_as_template
from tests.roles.test_templates_hostile import TASKS, Renderer, plain

FRR_TASK = next(t for t in TASKS if t.role == "sdwan_edge" and t.src == "frr.conf.j2")
PSK = "x" * 42 + "A="


def _peers(renderer: Renderer) -> list[dict]:
    return plain(renderer.templar().template(trust_as_template("{{ sdwan_edge_peers }}")))


def _secrets(renderer: Renderer, bgp: dict[str, str] | None = None) -> dict:
    peers = _peers(renderer)
    return {p["name"]: {"psk": PSK, "bgp": (bgp or {}).get(p["name"], f"pw-{p['name']}")} for p in peers}


def _render(overrides: dict | None = None, bgp: dict[str, str] | None = None) -> tuple[str, list[dict]]:
    renderer = Renderer(FRR_TASK)
    peers = _peers(renderer)
    variables = {"sdwan_edge_link_secrets": _secrets(renderer, bgp), **(overrides or {})}
    if "sdwan_edge_peers" in variables:
        peers = variables["sdwan_edge_peers"]
    (rendering,) = renderer.renderings(variables)
    return rendering.text, peers


def _neighbour_lines(text: str, address: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(f"neighbor {address} ")]


def test_every_neighbour_has_its_links_password_and_gtsm():
    text, peers = _render()
    assert peers, "the lab edge has no peers to check"
    for peer in peers:
        lines = _neighbour_lines(text, peer["overlay_address"])
        assert lines.count(f"neighbor {peer['overlay_address']} password pw-{peer['name']}") == 1, lines
        assert lines.count(f"neighbor {peer['overlay_address']} ttl-security hops 1") == 1, lines
        assert not any(" ebgp-multihop" in line for line in lines), lines
    assert "ebgp-multihop" not in text


def test_ibgp_neighbours_are_signed_but_get_no_gtsm():
    renderer = Renderer(FRR_TASK)
    peers = _peers(renderer)
    peers[0]["ibgp"] = True
    text, _ = _render({"sdwan_edge_peers": peers})
    ibgp = _neighbour_lines(text, peers[0]["overlay_address"])
    assert any(line.endswith(f"password pw-{peers[0]['name']}") for line in ibgp)
    assert not any("ttl-security" in line for line in ibgp), "FRR refuses ttl-security on iBGP"
    assert any("ttl-security hops 1" in line for line in _neighbour_lines(text, peers[1]["overlay_address"]))


@pytest.mark.skipif(shutil.which("vtysh") is None, reason="vtysh (frr) not installed here (scripts/host-packages.txt)")
def test_frr_parses_the_rendered_file(tmp_path: Path):
    text, _ = _render()
    conf = tmp_path / "frr.conf"
    conf.write_text(text)
    proc = subprocess.run(["vtysh", "--dryrun", "--inputfile", str(conf)], capture_output=True, text=True, timeout=60)
    bad = [line for line in (proc.stdout + proc.stderr).splitlines() if re.search(r"unknown|incomplete|ambiguous|error", line, re.I)]
    assert proc.returncode == 0 and not bad, bad or proc.stdout[-1000:]


HOSTILE_PASSWORDS = {
    "newline": "secret\n neighbor 192.0.2.1 remote-as 64512",
    "space": "two words",
    "bang": "bang!comment",
    "hash": "#comment",
    "quote": 'say"hi',
    "carriage-return": "secret\rx",
    "too-long": "q" * 81,
    "empty": "",
    "template": "{{ lookup('pipe', 'id') }}",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PASSWORDS))
def test_hostile_passwords_are_refused_and_not_repeated(case):
    value = HOSTILE_PASSWORDS[case]
    with pytest.raises(UnsafeValue) as err:
        frr_password(value)
    assert "refusing" in str(err.value)
    assert not value or value not in str(err.value)
    peers = _peers(Renderer(FRR_TASK))
    with pytest.raises(AnsibleError) as rendered:
        _render(bgp={peers[0]["name"]: value})
    assert "FRR password: refusing" in str(rendered.value)
    assert not value or value not in str(rendered.value)


def test_benign_passwords_pass_unchanged():
    for value in ("pw", "A+/=._~-z" * 8, "c2VjcmV0LWtleS0wMTIzNDU2Nzg5MDEyMzQ1Njc4OTA="):
        assert frr_password(value) == value


@pytest.mark.parametrize("field", ["name", "interface"])
def test_a_neighbour_name_with_a_newline_is_refused(field):
    renderer = Renderer(FRR_TASK)
    peers = _peers(renderer)
    secrets = _secrets(renderer)
    hostile = peers[0][field] + "\n neighbor 192.0.2.1 password x"
    if field == "name":
        secrets[hostile] = secrets.pop(peers[0]["name"])
    peers[0][field] = hostile
    with pytest.raises(AnsibleError) as err:
        _render({"sdwan_edge_peers": peers, "sdwan_edge_link_secrets": secrets})
    assert "refusing" in str(err.value)
