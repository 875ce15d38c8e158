"""Verify the SD-WAN overlay on every edge host (testinfra; run by `idcpilot verify`).

PILOT-SDWAN-ENCRYPT: every tunnel handshakes, every BGP session is Established, every other
site's prefixes answer over the overlay (ICMP and TCP from this site's addresses), and the
route to every other site goes through a WireGuard interface whose counters move.
Every BGP neighbour is signed with a TCP-MD5 password and, on eBGP, held to GTSM (ttl-security
hops 1) in the configuration FRR runs; every tunnel peer has a WireGuard preshared key; the files
holding them are root-only (frr.conf root:frr 0640). Secrets are redacted on the host before
anything reads them here: no password or key reaches verify's output. That the two ends agree on
them is shown by the handshake (a preshared-key mismatch fails it) and by the Established
session (an MD5 mismatch keeps it down).
PILOT-SDWAN-LATENCY: RTT/2 through each tunnel within the link's latencyBudgetMs and the
pilot maximum (policy/thresholds.yaml); the figures are recorded as measurements.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from idcpilot.verify.suites.baseline_support import setting, thresholds
from idcpilot.verify.suites.sdwan_support import REDACTED_RUNNING_CONFIG, neighbour_settings, preshared_key_states

HANDSHAKE_MAX_AGE_S = 180  # WireGuard re-handshakes every 120 s on a live tunnel
PING_COUNT = 10


def _max_latency_ms() -> float:
    return float(thresholds().get("sdwan.maxLatencyMs"))


pytestmark = [pytest.mark.group("role_sdwan_edge")]


def _overlay(hostvars) -> dict:
    overlay = hostvars.get("idcpilot_sdwan")
    if not overlay:
        pytest.skip("not an SD-WAN edge host")
    return overlay


def _all_overlays(inventory) -> dict[str, dict]:
    """idcpilot_sdwan of every automated edge host (for the addresses of non-adjacent sites)."""
    return {name: inventory.hostvars[name]["idcpilot_sdwan"] for name in inventory.with_role("sdwan_edge")
            if inventory.hostvars.get(name, {}).get("idcpilot_sdwan")}


def _run(host, command: str):
    with host.sudo():
        return host.run(command)


def _rtt_ms(text: str) -> float | None:
    m = re.search(r"= [0-9.]+/([0-9.]+)/[0-9.]+/[0-9.]+ ms", text)
    return float(m.group(1)) if m else None


def _targets(inventory, overlay: dict) -> list[tuple[str, str, str]]:
    """(remote site, source address here, destination address there) for every other site."""
    out = []
    for name, other in sorted(_all_overlays(inventory).items()):
        if other["site"] == overlay["site"]:
            continue
        out.append((other["site"], overlay["loopback"], other["loopback"]))
        if overlay.get("service_anchor") and other.get("service_anchor"):
            out.append((other["site"], overlay["service_anchor"], other["service_anchor"]))
    return out


@pytest.mark.rule("PILOT-SDWAN-ENCRYPT")
def test_every_tunnel_has_a_recent_handshake(host, hostvars):
    overlay = _overlay(hostvars)
    now = int(_run(host, "date +%s").stdout)
    stale = []
    for peer in overlay["peers"]:
        out = _run(host, f"wg show {peer['interface']} latest-handshakes")
        stamps = [int(line.split()[1]) for line in out.stdout.splitlines() if len(line.split()) == 2]
        if out.rc != 0 or not stamps or stamps[0] == 0 or now - stamps[0] > HANDSHAKE_MAX_AGE_S:
            stale.append(f"{peer['interface']} -> {peer['name']}: {out.stdout.strip() or out.stderr.strip() or 'no tunnel'}")
    assert not stale, "tunnels without a handshake in the last %ds: %s" % (HANDSHAKE_MAX_AGE_S, "; ".join(stale))


@pytest.mark.rule("PILOT-SDWAN-ENCRYPT")
def test_every_bgp_session_is_established(host, hostvars):
    overlay = _overlay(hostvars)
    out = _run(host, "vtysh -c 'show bgp ipv4 unicast summary json'")
    assert out.rc == 0, out.stderr
    peers = json.loads(out.stdout).get("peers", {})
    down = {p["name"]: peers.get(p["overlay_address"], {}).get("state", "not configured")
            for p in overlay["peers"] if peers.get(p["overlay_address"], {}).get("state") != "Established"}
    assert not down, f"BGP sessions not Established: {down}"


@pytest.mark.rule("PILOT-SDWAN-ENCRYPT")
def test_every_bgp_neighbour_is_signed_and_ttl_secured(host, hostvars):
    """TCP-MD5 on every session; GTSM (ttl-security hops 1) on every eBGP one, as FRR runs them."""
    overlay = _overlay(hostvars)
    out = _run(host, REDACTED_RUNNING_CONFIG)
    assert out.rc == 0, out.stderr
    assert not re.search(r" password (?!<redacted>)", out.stdout), "redaction failed: output withheld"
    running = neighbour_settings(out.stdout)
    unsigned = sorted(p["name"] for p in overlay["peers"] if "password" not in running.get(p["overlay_address"], set()))
    no_gtsm = sorted(p["name"] for p in overlay["peers"]
                     if not p.get("ibgp") and "ttl-security hops 1" not in running.get(p["overlay_address"], set()))
    multihop = sorted(p["name"] for p in overlay["peers"]
                      if any(s.startswith("ebgp-multihop") for s in running.get(p["overlay_address"], set())))
    assert not unsigned, f"BGP neighbours without a TCP-MD5 password: {unsigned}"
    assert not no_gtsm, f"eBGP neighbours without ttl-security hops 1: {no_gtsm}"
    assert not multihop, f"eBGP neighbours still multihop (GTSM off): {multihop}"


@pytest.mark.rule("PILOT-SDWAN-ENCRYPT")
def test_every_tunnel_peer_has_a_preshared_key(host, hostvars):
    """`wg show IF preshared-keys`, reduced on the host to set / none per peer."""
    overlay = _overlay(hostvars)
    bare = []
    for peer in overlay["peers"]:
        out = _run(host, preshared_key_states(peer["interface"]))
        states = out.stdout.split()
        if out.rc != 0 or not states or "none" in states:
            bare.append(f"{peer['interface']} -> {peer['name']}: {' '.join(states) or out.stderr.strip() or 'no tunnel'}")
    assert not bare, f"tunnels without a WireGuard preshared key: {bare}"


@pytest.mark.rule("PILOT-SDWAN-ENCRYPT")
def test_link_secrets_are_readable_only_where_they_must_be(host, hostvars):
    """Preshared keys and BGP passwords: root only (0600); frr.conf, which holds the passwords, root:frr 0640."""
    overlay = _overlay(hostvars)
    key_dir = setting(hostvars, "sdwan_edge_preshared_key_dir", "sdwan_edge")
    wrong = []
    with host.sudo():
        for peer in overlay["peers"]:
            for kind in ("psk", "bgp"):
                f = host.file(f"{key_dir}/{peer['interface']}.{kind}")
                if not f.exists:
                    wrong.append(f"{f.path}: missing")
                elif (f.user, f.group, f.mode) != ("root", "root", 0o600):
                    wrong.append(f"{f.path}: {f.user}:{f.group} {oct(f.mode)}")
        conf = host.file("/etc/frr/frr.conf")
        if (conf.user, conf.group, conf.mode) != ("root", "frr", 0o640):
            wrong.append(f"{conf.path}: {conf.user}:{conf.group} {oct(conf.mode)}")
    assert not wrong, f"link secrets with the wrong owner or mode: {wrong}"


FAST_DETECTION_MS = 3000


@pytest.mark.rule("PILOT-SDWAN-ENCRYPT")
def test_a_dead_tunnel_is_detected_fast(host, hostvars):
    """Every session has BFD up, or a BGP hold time of at most 3 s: the overlay reroutes quickly."""
    overlay = _overlay(hostvars)
    neighbors = json.loads(_run(host, "vtysh -c 'show bgp neighbors json'").stdout or "{}")
    bfd = {p.get("peer"): p.get("status") for p in json.loads(_run(host, "vtysh -c 'show bfd peers json'").stdout or "[]")}
    slow, notes = [], []
    for peer in overlay["peers"]:
        n = neighbors.get(peer["overlay_address"], {})
        hold = n.get("bgpTimerHoldTimeMsecs")
        status = bfd.get(peer["overlay_address"], "none")
        if status != "up":
            notes.append(f"{peer['name']}: BFD {status}")
            if hold is None or hold > FAST_DETECTION_MS:
                slow.append(f"{peer['name']}: BFD {status} and hold time {hold} ms")
    assert not slow, "failure detection slower than %d ms: %s" % (FAST_DETECTION_MS, "; ".join(slow))
    if notes:
        print("BFD not up (BGP hold time of <= 3 s detects failures instead): " + "; ".join(notes))


@pytest.mark.rule("PILOT-SDWAN-ENCRYPT")
def test_every_other_site_answers_over_the_overlay(host, hostvars, inventory):
    """Real ICMP and TCP from this site's addresses to every other site's addresses."""
    overlay = _overlay(hostvars)
    targets = _targets(inventory, overlay)
    assert targets, "no other site in the overlay"
    failed = []
    for site, src, dst in targets:
        ping = _run(host, f"ping -n -q -c 3 -i 0.2 -W 2 -I {src} {dst}")
        if ping.rc != 0:
            failed.append(f"ICMP {src} -> {dst} ({site})")
        tcp = _run(host, "python3 -c \"import socket,sys; s=socket.socket(); s.settimeout(3); "
                         f"s.bind(('{src}', 0)); s.connect(('{dst}', 179)); print('ok')\"")
        if tcp.rc != 0:
            failed.append(f"TCP {src} -> {dst}:179 ({site})")
    assert not failed, "unreachable over the overlay: " + "; ".join(failed)


@pytest.mark.rule("PILOT-SDWAN-ENCRYPT")
def test_traffic_to_other_sites_goes_through_a_tunnel(host, hostvars, inventory):
    """The route to each other site leaves through a wg interface, and its counters move."""
    overlay = _overlay(hostvars)
    tunnels = {p["interface"] for p in overlay["peers"]}
    problems = []
    for site, src, dst in _targets(inventory, overlay):
        route = _run(host, f"ip -4 -j route get {dst} from {src}")
        dev = json.loads(route.stdout)[0].get("dev") if route.rc == 0 and route.stdout.strip() else None
        if dev not in tunnels:
            problems.append(f"{dst} ({site}) routes via {dev}, not a tunnel")
            continue
        before = _run(host, f"wg show {dev} transfer").stdout.split()
        _run(host, f"ping -n -q -c 5 -i 0.2 -W 2 -I {src} {dst}")
        after = _run(host, f"wg show {dev} transfer").stdout.split()
        if len(before) < 3 or len(after) < 3 or not (int(after[1]) > int(before[1]) and int(after[2]) > int(before[2])):
            problems.append(f"{dev} counters did not move for {dst} ({site}): {before} -> {after}")
    # and the firewall refuses any other way out
    table = _run(host, "nft -j list table inet idcpilot_sdwan")
    if table.rc != 0 or "no cleartext path" not in table.stdout:
        problems.append("the overlay firewall table (no cleartext path between sites) is not loaded")
    assert not problems, "; ".join(problems)


@pytest.mark.rule("PILOT-SDWAN-LATENCY")
def test_one_way_latency_within_link_budget(host, hostvars, record_property):
    overlay = _overlay(hostvars)
    ceiling = _max_latency_ms()
    measured, over = {}, []
    for peer in overlay["peers"]:
        out = _run(host, f"ping -n -q -c {PING_COUNT} -i 0.2 -W 2 -I {peer['interface']} {peer['overlay_address']}")
        rtt = _rtt_ms(out.stdout)
        if rtt is None:
            over.append(f"{peer['link']}: no answer from {peer['name']}")
            continue
        one_way = rtt / 2
        budget = min(b for b in (peer.get("latency_budget_ms"), ceiling) if b is not None)
        measured[peer["link"]] = {"from": hostvars.get("inventory_hostname", host.backend.get_hostname()), "to": peer["name"], "rtt_ms": round(rtt, 3),
                                  "one_way_ms": round(one_way, 3), "budget_ms": budget}
        if one_way > budget:
            over.append(f"{peer['link']}: {one_way:.3f} ms one way > {budget} ms")
    record_property("measurements", {"PILOT-SDWAN-LATENCY": measured})
    assert not over, "; ".join(over)


@pytest.mark.rule("PILOT-SDWAN-LATENCY")
def test_latency_probe_feeds_the_textfile_collector(host, hostvars):
    overlay = _overlay(hostvars)
    config = json.loads(_run(host, "cat /etc/idcpilot/sdwan-probe.json").stdout or "{}")
    assert config, "probe configuration /etc/idcpilot/sdwan-probe.json missing"
    assert host.service("idcpilot-sdwan-probe.timer").is_enabled
    assert host.service("idcpilot-sdwan-probe.timer").is_running
    prom = _run(host, f"cat {config['textfile']}")
    assert prom.rc == 0, f"{config['textfile']} not written yet"
    last = re.search(r"^idcpilot_sdwan_probe_last_run_timestamp_seconds (\d+)", prom.stdout, re.M)
    assert last and time.time() - int(last.group(1)) < 600, "probe output older than 10 minutes"
    for peer in overlay["peers"]:
        assert re.search(rf'^idcpilot_sdwan_peer_up{{peer="{re.escape(peer["name"])}".*}} 1$', prom.stdout, re.M), peer["name"]
