"""Verify roles/bootstrap: hosts are reachable by automation, install from the estate mirror,
and know their estate peers.

PILOT-AUTOOPS: the automation account works (key, sudo without a password), Python is there
for modules, apt uses only the estate mirror, every estate host resolves by name.
MLPS3-ACCESS-ACCOUNTS: the automation account is the only NOPASSWD sudo rule.
"""

from __future__ import annotations

import re

import pytest


@pytest.mark.rule("PILOT-AUTOOPS")
def test_automation_account_runs_sudo_without_password(host, hostvars):
    account = hostvars["idcpilot_automation_account"]
    assert host.user().name == "root"  # testinfra runs every command through sudo
    assert host.user(account).exists
    out = host.run(f"sudo -n -u {account} sudo -n true")
    assert out.rc == 0, out.stderr


@pytest.mark.rule("PILOT-AUTOOPS")
def test_python_and_apt_bindings_present(host):
    assert host.file("/usr/bin/python3").exists
    if host.system_info.distribution in ("debian", "ubuntu"):
        assert host.package("python3-apt").is_installed


@pytest.mark.rule("PILOT-AUTOOPS")
def test_apt_uses_only_the_estate_mirror(host, hostvars):
    mirror = ((hostvars.get("idcpilot_package_mirror") or {}).get("apt") or "").rstrip("/")
    if not mirror:
        pytest.skip("the estate declares no apt mirror (spec.packageMirror.apt): distribution sources are kept")
    if host.system_info.distribution not in ("debian", "ubuntu"):
        pytest.skip("not a Debian-family host")
    listing = host.run("cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null").stdout
    uris = re.findall(r"^\s*URIs:\s*(.+)$", listing, re.M) + re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", listing, re.M)
    uris = [u for line in uris for u in line.split()]
    assert uris, "no apt source configured"
    outside = [u for u in uris if not u.rstrip("/").startswith(mirror.rsplit("/", 1)[0])]
    assert not outside, f"apt sources outside the estate mirror {mirror}: {outside}"
    assert host.file("/etc/apt/sources.list.d/idcpilot.sources").contains(mirror)


@pytest.mark.rule("PILOT-AUTOOPS")
def test_estate_peers_resolve(host, inventory):
    hosts_file = host.file("/etc/hosts").content_string
    missing = [
        f"{name} {v['ansible_host']}"
        for name, v in sorted(inventory.hostvars.items())
        if v.get("ansible_host") and not re.search(rf"^{re.escape(v['ansible_host'])}\s+{re.escape(name)}\b", hosts_file, re.M)
    ]
    assert not missing, f"estate peers missing from /etc/hosts: {missing}"


@pytest.mark.rule("MLPS3-ACCESS-ACCOUNTS")
def test_only_the_automation_account_has_nopasswd(host, hostvars):
    account = hostvars["idcpilot_automation_account"]
    rules = host.run(r"grep -rhE '^[^#].*NOPASSWD' /etc/sudoers /etc/sudoers.d/ 2>/dev/null").stdout.splitlines()
    holders = {line.split()[0] for line in rules if line.strip()}
    assert holders <= {account}, f"NOPASSWD sudo for {sorted(holders - {account})}"
