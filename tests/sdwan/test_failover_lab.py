"""SD-WAN on real lab hosts: deploy, key secrecy, preshared keys and BGP authentication, failover and recovery.

(A second deploy that changes nothing and `idcpilot verify` of the overlay are `make demo-lab`'s,
tests/lab/test_demo_lab.py, on the whole lab.)

The lab estate is hub-spoke with two hubs (lab-bj, lab-sh) and the spoke lab-gz linked to
both. The test cuts the lab-gz -- lab-bj tunnel while lab-gz pings lab-bj's loopback, prints
how long traffic stopped before BGP (with BFD) moved it through lab-sh, then restores the
tunnel and prints how long the direct path took to come back, with no manual step.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sdwan import overlay_lab as ol

pytestmark = [pytest.mark.lab, pytest.mark.slow]

RECOVERY_BOUND_S = 5.0  # BFD detects in 3 x 300 ms; BGP withdraws and the hub path takes over
RESTORE_BOUND_S = 60.0  # tunnel up, handshake, BGP connect-retry (5 s), BFD up, best path back


@pytest.fixture(scope="module")
def overlay(lab, tmp_path_factory):
    state = tmp_path_factory.mktemp("sdwan-deploy-1")
    first = ol.deploy(lab.env, state)
    assert first.rc == 0 and not first.failed(), f"deploy failed ({first.status}), artifacts in {first.artifacts}\n{first.log}"
    return {"first": first, "state": state, "vars": ol.overlay_vars(lab)}


def test_no_private_key_in_runner_artifacts_or_logs(lab, lab_run, overlay):
    keys = {}
    for host in ol.edges(lab):
        out = lab_run(host, "sudo cat /etc/wireguard/idcpilot-private.key")
        assert out.returncode == 0
        keys[host] = out.stdout.strip()
        assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", keys[host]), f"{host}: no WireGuard private key on the host"
        mode = lab_run(host, "sudo stat -c %a /etc/wireguard/idcpilot-private.key").stdout.strip()
        assert mode == "600", f"{host}: private key mode {mode}"
    state: Path = overlay["state"]  # the deploy's run artifacts, fact cache and its own output
    assert overlay["first"].artifacts.is_relative_to(state) and (overlay["first"].artifacts / "artifacts").is_dir()
    scanned, hits = ol.files_containing(state, keys)
    assert scanned > 0, "no ansible-runner artifacts to scan"
    assert not hits, f"private keys in the deploy's artifacts or logs: {hits}"
    # nor on any host outside its own key file (rendered configs, logs, the journal); the key is
    # read on the host inside the command, so it never appears on a command line sudo would log
    check = ("k=$(cat /etc/wireguard/idcpilot-private.key); "
             "grep -rlF -- \"$k\" /etc /var/log /run 2>/dev/null | grep -v '^/etc/wireguard/idcpilot-private.key$'; "
             "journalctl --no-pager -q | grep -cF -- \"$k\"")
    for host in keys:
        hit = lab_run(host, f"sudo sh -c '{check}'")
        lines = [l for l in hit.stdout.split() if l]
        assert lines == ["0"], f"{host}: private key found outside its key file: {lines}"
    print(f"\nscanned {scanned} artifact files of the deploy for {len(keys)} private keys: none found")


def _bgp_uptime_ms(lab_run, host: str, neighbor: str) -> int:
    import json

    out = lab_run(host, "sudo vtysh -c 'show bgp neighbors json'")
    return int(json.loads(out.stdout)[neighbor].get("bgpTimerUpMsec", 0))


def _psk_state(lab_run, host: str, iface: str) -> str:
    """The tunnel's preshared key reduced to its SHA-256 on the host (the key itself never leaves it)."""
    out = lab_run(host, f"sudo sh -c 'wg show {iface} preshared-keys | cut -f2 | sha256sum'")
    return out.stdout.split()[0] if out.returncode == 0 and out.stdout.strip() else ""


def test_tunnels_have_generated_preshared_keys_and_bgp_is_signed(lab, lab_run, overlay):
    """Out of the box (no vault): every tunnel has a preshared key, the same at both ends (the
    handshake proves it), and FRR runs every session with a password and GTSM."""
    v = overlay["vars"]
    none = "(none)"
    for host, x in v.items():
        for peer in x["peers"]:
            shown = lab_run(host, f"sudo wg show {peer['interface']} preshared-keys | cut -f2").stdout.split()
            assert shown and none not in shown, f"{host}: {peer['interface']} has no preshared key"
        running = lab_run(host, "sudo vtysh -c 'show running-config' | sed -E 's/( password ).*/\\1<redacted>/'").stdout
        for peer in x["peers"]:
            assert f"neighbor {peer['overlay_address']} password <redacted>" in running, f"{host}: {peer['name']} unsigned"
            assert f"neighbor {peer['overlay_address']} ttl-security hops 1" in running, f"{host}: {peer['name']} without GTSM"


def test_vault_preshared_key_replaces_the_generated_one_without_dropping_the_session(lab, lab_run, overlay, tmp_path):
    """A per-pair preshared key from an ansible-vault file reaches both ends through wg syncconf
    and BGP stays up; taking it out of the vault keeps it (a link never falls back to none)."""
    import base64
    import json
    import os

    v = overlay["vars"]
    spoke = next(h for h, x in v.items() if not x["hub"])
    hub = next(p for p in v[spoke]["peers"] if p["site"] == "lab-bj")
    hub_iface = next(p["interface"] for p in v[hub["name"]]["peers"] if p["name"] == spoke)
    generated = _psk_state(lab_run, spoke, hub["interface"])
    before = _bgp_uptime_ms(lab_run, spoke, hub["overlay_address"])
    psk = base64.b64encode(os.urandom(32)).decode()
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    password = secrets / "vault-pass"
    password.write_text(base64.b64encode(os.urandom(24)).decode() + "\n")
    password.chmod(0o600)
    extra = secrets / "psk.vault.yml"
    extra.write_text(json.dumps({"sdwan_edge_preshared_keys": {f"{spoke}:{hub['name']}": psk}}))
    extra.chmod(0o600)
    enc = subprocess.run([str(Path(sys.executable).with_name("ansible-vault")), "encrypt", "--vault-password-file", str(password), str(extra)],
                         capture_output=True, text=True, check=False)
    assert enc.returncode == 0, enc.stderr
    assert psk not in extra.read_text() and extra.read_text().startswith("$ANSIBLE_VAULT;")
    added = ol.deploy(lab.env, tmp_path / "with-psk", extra=["-e", f"@{extra}", "--vault-password-file", str(password)])
    assert added.rc == 0 and not added.failed(), f"{added.status}: {added.failed()}\n{added.log}"
    for host, iface in ((spoke, hub["interface"]), (hub["name"], hub_iface)):
        shown = lab_run(host, f"sudo wg show {iface} preshared-keys").stdout.split()
        assert shown[-1] == psk, f"{host}: preshared key not applied to {iface}"
    assert generated and generated != _psk_state(lab_run, spoke, hub["interface"])
    scanned, hits = ol.files_containing(tmp_path / "with-psk", {"psk": psk})
    assert scanned and not hits, f"preshared key leaked into {hits}"
    kept = ol.deploy(lab.env, tmp_path / "without-psk")
    assert kept.rc == 0 and not kept.failed(), f"{kept.status}: {kept.failed()}\n{kept.log}"
    assert lab_run(spoke, f"sudo wg show {hub['interface']} preshared-keys").stdout.split()[-1] == psk
    after = _bgp_uptime_ms(lab_run, spoke, hub["overlay_address"])
    print(f"\nvault preshared key applied and kept by wg syncconf; BGP session up {before / 1000:.0f} s -> {after / 1000:.0f} s (never reset)")
    assert after > before, "the BGP session over the tunnel was reset by the preshared-key change"


def test_spoke_fails_over_to_the_other_hub_and_back(lab, lab_run, overlay):
    v = overlay["vars"]
    spoke = next(h for h, x in v.items() if not x["hub"])
    bj = next(p for p in v[spoke]["peers"] if p["site"] == "lab-bj")
    sh = next(p for p in v[spoke]["peers"] if p["site"] == "lab-sh")
    src, dst = v[spoke]["loopback"], bj["loopback"]

    assert ol.wait_for(lambda: ol.route_dev(lab_run, spoke, src, dst) == bj["interface"], 60), "no direct route to start with"
    gap, answers, sent = ol.cut_and_measure(lab_run, spoke, bj["interface"], src, dst)
    via = ol.route_dev(lab_run, spoke, src, dst)
    print(f"\nfailover {spoke} -> {bj['name']} loopback: traffic stopped for {gap:.2f} s "
          f"({answers}/{sent} echo replies), now via {via}")
    assert via == sh["interface"], f"after the cut, {dst} routes via {via}, expected the other hub ({sh['interface']})"
    assert gap <= RECOVERY_BOUND_S, f"traffic took {gap:.2f} s to recover (bound {RECOVERY_BOUND_S} s)"
    assert lab_run(spoke, f"sudo ping -n -q -c 3 -W 2 -I {src} {dst}").returncode == 0

    lab_run(spoke, f"sudo systemctl start wg-quick@{bj['interface']}.service")
    back = ol.wait_for(lambda: ol.route_dev(lab_run, spoke, src, dst) == bj["interface"], RESTORE_BOUND_S, step=0.2)
    print(f"restore: direct path back after {back if back is None else round(back, 2)} s (no manual step)")
    assert back is not None, f"direct path did not come back within {RESTORE_BOUND_S} s"
    assert lab_run(spoke, f"sudo ping -n -q -c 3 -W 2 -I {src} {dst}").returncode == 0
