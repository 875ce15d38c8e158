"""SD-WAN key rotation on real lab hosts (playbooks/sdwan_rotate.yml): every edge's private key
and every link's preshared key change, both ends agree (the tunnels handshake and carry BGP),
and no BGP session or BFD session is reset across the rotation: FRR's per-neighbour count of
dropped connections stays the same and every session's uptime runs on. Afterwards the regular
play changes nothing (the written configuration is what runs) and no new key is in anything the
deploy kept. Key material is compared through SHA-256 digests taken on the hosts.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.sdwan import overlay_lab as ol

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _digest(lab_run, host: str, command: str) -> str:
    out = lab_run(host, f"sudo sh -c '{command} | sha256sum'")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[0]


def _sessions(lab_run, host: str) -> dict[str, tuple[int, int, str]]:
    """neighbour -> (connections dropped, uptime ms, state) as FRR reports them."""
    out = lab_run(host, "sudo vtysh -c 'show bgp neighbors json'")
    assert out.returncode == 0, out.stderr
    return {addr: (int(n.get("connectionsDropped", 0)), int(n.get("bgpTimerUpMsec", 0)), n.get("bgpState", ""))
            for addr, n in json.loads(out.stdout).items()}


def _bfd_up(lab_run, host: str) -> dict[str, int]:
    out = lab_run(host, "sudo vtysh -c 'show bfd peers json'")
    return {p.get("peer"): int(p.get("uptime", 0)) for p in json.loads(out.stdout or "[]") if p.get("status") == "up"}


def _swap_skew(artifacts) -> str:
    """The play's own report of how far apart the edges swapped, from the run's stdout."""
    for out in sorted(artifacts.rglob("stdout")):
        m = re.search(r"edges swapped within [0-9.]+ ms of each other,\s+the last [0-9.]+ ms after the instant", out.read_text(errors="replace"))
        if m:
            return " ".join(m.group(0).split())
    return "the play reported no swap times"


def test_rotation_changes_every_key_without_resetting_bgp(lab, lab_run, tmp_path):
    first = ol.deploy(lab.env, tmp_path / "deploy")
    assert first.rc == 0 and not first.failed(), f"{first.status}: {first.failed()}\n{first.log}"
    v = ol.overlay_vars(lab)
    hosts = sorted(v)
    key = "/etc/wireguard/idcpilot-private.key"
    before_pub = {h: lab_run(h, f"sudo sh -c 'wg pubkey < {key}'").stdout.strip() for h in hosts}
    before_psk = {(h, p["interface"]): _digest(lab_run, h, f"wg show {p['interface']} preshared-keys | cut -f2")
                  for h in hosts for p in v[h]["peers"]}
    before_bgp = {h: _sessions(lab_run, h) for h in hosts}
    before_bfd = {h: _bfd_up(lab_run, h) for h in hosts}
    for h in hosts:
        for p in v[h]["peers"]:
            assert before_bgp[h][p["overlay_address"]][2] == "Established", f"{h}: {p['name']} not up before the rotation"
    started = time.monotonic()

    rotated = ol.deploy(lab.env, tmp_path / "rotate", tags="all", playbook="playbooks/sdwan_rotate.yml")
    assert rotated.rc == 0 and not rotated.failed(), f"{rotated.status}: {rotated.failed()}\n{rotated.log}"
    elapsed_ms = (time.monotonic() - started) * 1000

    after_pub = {h: lab_run(h, f"sudo sh -c 'wg pubkey < {key}'").stdout.strip() for h in hosts}
    assert all(after_pub[h] != before_pub[h] for h in hosts), "a private key was not rotated"
    for h in hosts:
        for p in v[h]["peers"]:
            live = lab_run(h, f"sudo wg show {p['interface']} peers").stdout.split()
            assert live == [after_pub[p["name"]]], f"{h}: {p['interface']} runs with {live}, not {p['name']}'s new key"
            conf = lab_run(h, f"sudo grep -c -- '{after_pub[p['name']]}' /etc/wireguard/{p['interface']}.conf").stdout.strip()
            assert conf != "0", f"{h}: {p['interface']}.conf does not hold {p['name']}'s new key"
            mine = _digest(lab_run, h, f"wg show {p['interface']} preshared-keys | cut -f2")
            theirs = _digest(lab_run, p["name"], "wg show {} preshared-keys | cut -f2".format(
                next(q["interface"] for q in v[p["name"]]["peers"] if q["name"] == h)))
            assert mine != before_psk[(h, p["interface"])], f"{h}: {p['interface']} preshared key not rotated"
            assert mine == theirs, f"{h} and {p['name']} disagree on the new preshared key"

    after_bgp = {h: _sessions(lab_run, h) for h in hosts}
    after_bfd = {h: _bfd_up(lab_run, h) for h in hosts}
    reset = []
    for h in hosts:
        for p in v[h]["peers"]:
            addr = p["overlay_address"]
            dropped0, up0, _ = before_bgp[h][addr]
            dropped1, up1, state = after_bgp[h][addr]
            if state != "Established" or dropped1 != dropped0 or up1 < up0 + elapsed_ms * 0.9:
                reset.append(f"{h} -> {p['name']}: {state}, dropped {dropped0} -> {dropped1}, up {up0 / 1000:.0f} -> {up1 / 1000:.0f} s")
            if addr in before_bfd[h] and after_bfd[h].get(addr, 0) < before_bfd[h][addr]:
                reset.append(f"{h} -> {p['name']}: BFD went down (up {before_bfd[h][addr]} -> {after_bfd[h].get(addr)} s)")
    skew = _swap_skew(rotated.artifacts)
    print(f"\nrotated {len(hosts)} private keys and every link's preshared key in {elapsed_ms / 1000:.0f} s; "
          f"{skew}; sessions reset: {len(reset)}")
    assert not reset, f"BGP or BFD sessions reset by the rotation ({skew}): " + "; ".join(reset)

    again = ol.deploy(lab.env, tmp_path / "again")
    assert again.rc == 0 and not again.failed(), f"{again.status}: {again.failed()}"
    assert sum(again.changed().values()) == 0, f"the play after the rotation still changed {again.changed()}"

    secrets = {f"private key of {h}": lab_run(h, f"sudo cat {key}").stdout.strip() for h in hosts}
    secrets |= {f"psk {h}/{p['interface']}": lab_run(h, f"sudo cat /etc/wireguard/idcpilot-psk/{p['interface']}.psk").stdout.strip()
                for h in hosts for p in v[h]["peers"]}
    scanned, hits = ol.files_containing(tmp_path / "rotate", secrets)
    assert scanned and not hits, f"new keys in what the rotation's deploy kept: {[name for name, _ in hits]}"
