"""Static checks of roles/cdn_node and roles/zt_gateway: ansible-lint production profile,
argument_specs covering every default, per-OS vars, task files tagged with rule ids."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = ["cdn_node", "zt_gateway"]
PLAYBOOKS = ["playbooks/cdn_node.yml", "playbooks/zt_gateway.yml"]
RULE_ID = re.compile(r"^(PILOT|MLPS3|K8S)-[A-Z0-9-]+$")


@pytest.mark.slow
def test_ansible_lint_production_profile_clean():
    lint = Path(sys.executable).with_name("ansible-lint")
    exe = str(lint) if lint.exists() else shutil.which("ansible-lint")
    assert exe, "ansible-lint is not installed in the venv (requirements.txt)"
    proc = subprocess.run(
        [exe, "--profile", "production", "--nocolor", *[f"roles/{r}" for r in ROLES], *PLAYBOOKS],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_cover_every_default(role):
    defaults = yaml.safe_load((REPO / f"roles/{role}/defaults/main.yml").read_text())
    spec = yaml.safe_load((REPO / f"roles/{role}/meta/argument_specs.yml").read_text())["argument_specs"]["main"]
    options = spec["options"]
    assert set(defaults) == set(options), {"undocumented": sorted(set(defaults) - set(options)), "stale": sorted(set(options) - set(defaults))}
    for name, opt in options.items():
        assert opt.get("type") and opt.get("description"), name
        assert opt.get("default") == defaults[name], f"{name}: argument_specs default differs from defaults/main.yml"
        assert name.startswith(f"{role}_"), f"{name}: role variables carry the role prefix"


@pytest.mark.parametrize("role", ROLES)
def test_per_os_vars_define_the_same_keys(role):
    debian = yaml.safe_load((REPO / f"roles/{role}/vars/Debian.yml").read_text())
    redhat = yaml.safe_load((REPO / f"roles/{role}/vars/RedHat.yml").read_text())
    assert set(debian) == set(redhat)


@pytest.mark.parametrize("role", ROLES)
def test_task_files_are_included_with_rule_id_tags(role):
    main = yaml.safe_load((REPO / f"roles/{role}/tasks/main.yml").read_text())
    included = {}
    for task in main:
        target = task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks")
        if target:
            included[target] = task.get("tags", [])
    files = {p.name for p in (REPO / f"roles/{role}/tasks").glob("*.yml")} - {"main.yml"}
    assert files == set(included), f"task files not included from main.yml: {files - set(included)}"
    for name, tags in included.items():
        assert tags, f"{name} is included without tags"
        assert "always" in tags or any(RULE_ID.match(t) for t in tags), f"{name}: no rule-id tag in {tags}"


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbooks_target_role_group_and_automated(playbook):
    (play,) = yaml.safe_load((REPO / playbook).read_text())
    role = Path(playbook).stem
    assert play["hosts"] == f"role_{role}:&automated"
    assert play["become"] is True
    assert [r["role"] for r in play["roles"]] == [role]


def test_threat_sync_limit_matches_policy_thresholds():
    thresholds = yaml.safe_load((REPO / "policy/thresholds.yaml").read_text())["thresholds"]
    defaults = yaml.safe_load((REPO / "roles/zt_gateway/defaults/main.yml").read_text())
    assert defaults["zt_gateway_threat_sync_max_minutes"] == thresholds["threatIntel"]["maxSyncMinutes"]
    assert 0 < float(thresholds["zeroTrust"]["minAccuracy"]) <= 1
