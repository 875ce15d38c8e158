"""Static checks of the issue-6 roles: ansible-lint production profile, argument specs that
document every default, syntax of the playbooks, and the compliance script's own logic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = ("baseline", "monitoring", "k8s_node")
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_ansible_lint_production_profile() -> None:
    out = subprocess.run(
        [str(BIN / "ansible-lint"), "--profile", "production", "--nocolor", *[f"roles/{r}" for r in ROLES],
         *[f"playbooks/{r}.yml" for r in ROLES]],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "Profile 'production' was required, and it passed" in out.stdout + out.stderr


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_document_every_default(role: str) -> None:
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options), {
        "undocumented": sorted(set(defaults) - set(options)), "documented but no default": sorted(set(options) - set(defaults))}
    for name, value in defaults.items():
        spec = options[name]
        assert spec.get("description"), f"{role}: {name} has no description"
        assert spec.get("type") in {"bool", "int", "str", "list", "dict", "raw", "float", "path"}, f"{role}: {name} type"
        assert spec.get("default") == value, f"{role}: {name} default {spec.get('default')!r} != defaults/main.yml {value!r}"
        if isinstance(value, bool):
            assert spec["type"] == "bool", name
        elif isinstance(value, int):
            assert spec["type"] == "int", name
        elif isinstance(value, list):
            assert spec["type"] == "list" and spec.get("elements"), name


@pytest.mark.parametrize("role", ROLES)
def test_vars_per_os_family(role: str) -> None:
    debian = yaml.safe_load((REPO / "roles" / role / "vars" / "Debian.yml").read_text())
    redhat = yaml.safe_load((REPO / "roles" / role / "vars" / "RedHat.yml").read_text())
    assert sorted(debian) == sorted(redhat), "Debian.yml and RedHat.yml must define the same variables"


def test_every_baseline_task_is_tagged_with_a_rule() -> None:
    for path in sorted((REPO / "roles" / "baseline" / "tasks").glob("*.yml")):
        if path.name in ("main.yml", "preflight.yml", "compliance.yml"):
            continue
        for task in yaml.safe_load(path.read_text()) or []:
            tags = task.get("tags") or []
            assert any(t.startswith(("MLPS3-", "PILOT-")) for t in tags), f"{path.name}: '{task.get('name')}' carries no rule id tag"


def test_playbooks_syntax_and_site_imports(tmp_path: Path) -> None:
    site = yaml.safe_load((REPO / "playbooks" / "site.yml").read_text())
    imported = [p.get("ansible.builtin.import_playbook") for p in site]
    for role in ROLES:
        assert f"{role}.yml" in imported, f"site.yml does not import {role}.yml"
        play = yaml.safe_load((REPO / "playbooks" / f"{role}.yml").read_text())[0]
        assert play["hosts"] == f"role_{role}:&automated"
    out = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "--syntax-check", *[f"playbooks/{r}.yml" for r in ROLES]],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
