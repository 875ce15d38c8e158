"""Static checks particular to roles/sdwan_edge: rule-id tags, packages, and no secret material in
anything the role renders from the controller (the checks every role shares are in
tests/roles/test_roles_static.py)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "sdwan_edge"


def test_task_includes_carry_rule_id_tags():
    main = yaml.safe_load((ROLE / "tasks/main.yml").read_text())
    tags = {t["name"]: set(t.get("tags", [])) for t in main}
    assert all("PILOT-SDWAN-ENCRYPT" in v for k, v in tags.items() if re.search("WireGuard|Firewall|Routing", k))
    assert any("PILOT-SDWAN-LATENCY" in v for v in tags.values())


def test_packages_install_without_recommends():
    text = (ROLE / "tasks/packages.yml").read_text()
    assert "install_recommends" in text and "false" in text
    assert "wireguard-go" in (ROLE / "vars/Debian.yml").read_text()


def test_private_key_tasks_are_no_log_and_templates_never_hold_a_private_key():
    keys = yaml.safe_load((ROLE / "tasks/keys.yml").read_text())
    generate = next(t for t in keys if "genkey" in str(t))
    assert generate.get("no_log") is True
    for template in (ROLE / "templates").glob("*.j2"):
        text = template.read_text()
        # the wg-quick config sets the key from its file; no template ever carries a PrivateKey value
        assert not re.search(r"^PrivateKey\s*=", text, re.M), template.name
        assert "sdwan_edge_private_key }}" not in text
    # every task that reads, generates, combines or writes a link secret (preshared key, BGP
    # password) hides its values; the one that only removes a file by path is the exception
    secrets = yaml.safe_load((ROLE / "tasks/link_secrets.yml").read_text())
    secrets += yaml.safe_load((ROLE / "tasks/link_secret_files.yml").read_text())
    handling = [t for t in secrets if not {"ansible.builtin.file", "ansible.builtin.assert"} & set(t)]
    assert len(handling) == 5 and all(t.get("no_log") is True for t in handling), [t["name"] for t in handling]
    # the checks run without no_log so their reason shows: their loop item and message hold no value
    for check in (t for t in secrets if "ansible.builtin.assert" in t):
        assert "sdwan_edge_link_secrets" not in check["ansible.builtin.assert"]["fail_msg"]
        assert "sdwan_edge_link_secrets" not in check["loop_control"]["label"]
    write = next(t for t in secrets if "ansible.builtin.copy" in t)
    assert write.get("diff") is False and write["ansible.builtin.copy"]["mode"] == "0600"
    # worked out in the key-exchange play (no serial) so every batch sees each link's first end
    exchange = yaml.safe_load((ROLE / "tasks/exchange.yml").read_text())
    assert any(t.get("ansible.builtin.include_tasks") == "link_secrets.yml" for t in exchange)
    wireguard = yaml.safe_load((ROLE / "tasks/wireguard.yml").read_text())
    assert any(t.get("ansible.builtin.include_tasks") == "link_secret_files.yml" for t in wireguard)
    assert any(t.get("ansible.builtin.include_tasks") == "link_secrets.yml" for t in wireguard)
