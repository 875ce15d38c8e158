"""Static checks of roles/sdwan_edge: ansible-lint production profile, documented defaults,
rule-id tags, and no secret material in anything the role renders from the controller."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "sdwan_edge"
LINT = Path(sys.executable).with_name("ansible-lint")


@pytest.mark.slow
def test_ansible_lint_production_profile_is_clean():
    if not LINT.exists() and shutil.which("ansible-lint") is None:
        pytest.skip("ansible-lint is not installed in this environment")
    proc = subprocess.run(
        [str(LINT if LINT.exists() else "ansible-lint"), "--profile", "production", "--offline",
         "roles/sdwan_edge", "playbooks/sdwan_edge.yml"],
        cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_argument_specs_document_every_default():
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert set(defaults) == set(specs), set(defaults) ^ set(specs)
    for name, spec in specs.items():
        assert spec.get("description"), name
        assert "type" in spec, name
        assert spec.get("default") == defaults[name], name


def test_os_vars_files_define_the_same_variables():
    debian = yaml.safe_load((ROLE / "vars/Debian.yml").read_text())
    redhat = yaml.safe_load((ROLE / "vars/RedHat.yml").read_text())
    assert set(debian) == set(redhat)


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
    psk = next(t for t in yaml.safe_load((ROLE / "tasks/wireguard.yml").read_text()) if "Preshared keys from" in t["name"])
    assert psk.get("no_log") is True
