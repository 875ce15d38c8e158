"""PILOT-SDWAN-ENCRYPT per link: a tunnel without a WireGuard preshared key fails the link (an end
with sdwan_edge_preshared_keys_enabled false, the pair not in the vault's sdwan_edge_preshared_keys);
the default (keys generated per link by roles/sdwan_edge) passes; vault values are never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_helpers import check
from idcpilot import catalogue
from idcpilot.policy.vault import VaultOptions
from idcpilot.sdwan.topology import build

PASSWORD = "correct horse battery staple"
PSK = "c2Vjb25kLWtleS1mcm9tLXRoZS12YXVsdC0wMTIzNDU="


def encrypt(text: str) -> str:
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([("default", VaultSecret(PASSWORD.encode()))]).encrypt(text).decode()


def psk_findings(report, status=None):
    return [f for f in report.findings if f.rule.id == "PILOT-SDWAN-ENCRYPT" and f.target.endswith("/preshared-key")
            and (status is None or f.status == status)]


def topology(env):
    return build(catalogue.load(env.root))


def test_the_default_gives_every_link_a_preshared_key(make_env):
    env = make_env()
    report = check(env)
    found = psk_findings(report)
    assert len(found) == len(topology(env).links) > 0
    assert psk_findings(report, "fail") == []


def test_switched_off_everywhere_fails_every_link(make_env):
    env = make_env(files={"group_vars/all.yml": "sdwan_edge_preshared_keys_enabled: false\n"})
    report = check(env)
    failed = psk_findings(report, "fail")
    assert len(failed) == len(topology(env).links)
    assert all("without a WireGuard preshared key" in f.message for f in failed)


def test_switched_off_on_one_edge_fails_only_its_links(make_env):
    env0 = make_env()
    topo = topology(env0)
    site = next(s for s in topo.sites if len(topo.links_of(s)) == 1 and len(topo.edges[s]) == 1)
    host = topo.edges[site][0].name
    (env0.root / "host_vars").mkdir()
    (env0.root / "host_vars" / f"{host}.yml").write_text("sdwan_edge_preshared_keys_enabled: 'no'\n")
    failed = psk_findings(check(env0), "fail")
    assert len(failed) == 1 and site in failed[0].target and host in failed[0].message


def test_a_vault_key_for_every_pair_of_a_link_keeps_it_passing(make_env, tmp_path: Path):
    env0 = make_env()
    topo = topology(env0)
    site = next(s for s in topo.sites if len(topo.links_of(s)) == 1 and len(topo.edges[s]) == 1)
    (link,) = topo.links_of(site)
    pairs = {f"{a.name}:{b.name}": PSK for a in topo.edges[link.a] for b in topo.edges[link.b]}
    vault_text = "sdwan_edge_preshared_keys_enabled: false\nsdwan_edge_preshared_keys:\n" + "".join(
        f"  '{k}': {v}\n" for k, v in pairs.items())
    (env0.root / "group_vars" / "all").mkdir(parents=True)
    (env0.root / "group_vars" / "all" / "vault.yml").write_text(encrypt(vault_text))
    secret = tmp_path / "vault-pass"
    secret.write_text(PASSWORD + "\n")
    report = check(env0, vault=VaultOptions((), (str(secret),)))
    failed = psk_findings(report, "fail")
    assert len(failed) == len(topo.links) - 1
    assert not any(site in f.target for f in failed)
    assert PSK not in str(report.as_dict())


def test_the_lab_estate_passes(repo):
    from idcpilot.policy import engine

    report = engine.run(catalogue.load(repo / "inventories" / "lab"), plan=False)
    found = psk_findings(report)
    assert found and all(f.status == "pass" for f in found)
