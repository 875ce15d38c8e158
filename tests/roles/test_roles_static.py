"""One static suite over every role in roles/: ansible-lint production profile (required, never
skipped), argument_specs that document every default, one OS-family idiom, task files included
with tags, playbooks that target the role's group, and READMEs generated from meta/.

Role-specific static checks (the baseline's compliance logic, the SD-WAN key handling, the
gateway's thresholds) stay beside their roles' other tests."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from idcpilot.catalogue.model import DISTRIBUTIONS

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").exists())
#: The shared roles (OS family, estate certificate); every other role is deployed by a playbook of its own.
SHARED = {"os_family", "estate_certificate"}
DEPLOYED = [r for r in ROLES if r not in SHARED]
RULE_ID = re.compile(r"^(PILOT|MLPS3|K8S)-[A-Z0-9-]+$")
INCLUDES = ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks")

sys.path.insert(0, str(REPO / "scripts"))
import role_readmes  # noqa: E402


def _yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _tasks(items):
    """Every task of a task list, blocks flattened."""
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def test_every_role_is_covered():
    assert {"baseline", "bootstrap", "cdn_node", "k8s_control_plane", "k8s_node", "monitoring", "os_family", "sdwan_edge",
            "zt_gateway"} <= set(ROLES)


@pytest.mark.slow
def test_ansible_lint_production_profile_over_every_role_and_playbook():
    lint = BIN / "ansible-lint"
    assert lint.exists(), "ansible-lint is pinned in requirements.txt; `make venv` installs it"
    proc = subprocess.run(
        [str(lint), "--profile", "production", "--offline", "--nocolor", "roles/", "playbooks/"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "Profile 'production' was required, and it passed" in out


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_document_every_default(role):
    defaults_file = REPO / "roles" / role / "defaults" / "main.yml"
    defaults = (_yaml(defaults_file) or {}) if defaults_file.exists() else {}
    options = _yaml(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"].get("options") or {}
    # An option without a default is one the importing role must pass (required), never one left unset.
    optional = {name for name, opt in options.items() if not opt.get("required")}
    assert set(defaults) == optional, {"undocumented": sorted(set(defaults) - optional), "stale": sorted(optional - set(defaults))}
    for name, opt in options.items():
        assert name.startswith(f"{role}_"), f"{role}: {name} does not carry the role prefix"
        assert opt.get("description"), f"{role}: {name} has no description"
        assert opt.get("type") in {"bool", "int", "str", "list", "dict", "raw", "float", "path"}, f"{role}: {name} type"
        if opt.get("required"):
            assert "default" not in opt, f"{role}: {name} is required and has a default"
            continue
        assert opt.get("default") == defaults[name], f"{role}: {name} default differs from defaults/main.yml"
        value = defaults[name]
        if isinstance(value, bool):
            assert opt["type"] == "bool", name
        elif isinstance(value, int):
            assert opt["type"] == "int", name
        elif isinstance(value, list):
            assert opt["type"] == "list" and opt.get("elements"), name


@pytest.mark.parametrize("role", DEPLOYED)
def test_per_family_vars_define_the_same_variables(role):
    debian = _yaml(REPO / "roles" / role / "vars" / "Debian.yml")
    redhat = _yaml(REPO / "roles" / role / "vars" / "RedHat.yml")
    assert set(debian) == set(redhat)


@pytest.mark.parametrize("role", DEPLOYED)
def test_one_os_family_idiom(role):
    """Every role takes the family from the shared os_family role, and only from there."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "roles" / role).rglob("*.yml")))
    for raw in ("ansible_os_family", "ansible_facts['os_family']", 'ansible_facts["os_family"]', "ansible_facts.os_family",
                "first_found", "_distributions"):
        assert raw not in text, f"{role} picks the OS family itself ({raw!r}); use the os_family role"
    includes = [t for p in (REPO / "roles" / role / "tasks").glob("*.yml") for t in _tasks(_yaml(p))
                if (t.get("ansible.builtin.import_role") or {}).get("name") == "os_family"]
    # imported (static) and tagged always: a dynamic include_role would not pass its tags on to
    # the role's tasks, and a deploy limited with --tags would run without the family
    assert len(includes) == 1 and "always" in includes[0].get("tags", []), f"{role} must import the os_family role once, tagged always"
    loads = [t for p in (REPO / "roles" / role / "tasks").glob("*.yml") for t in _tasks(_yaml(p))
             if t.get("ansible.builtin.include_vars") == "{{ os_family_name }}.yml"]
    assert len(loads) == 1, f"{role} must load vars/{{{{ os_family_name }}}}.yml once"


def test_os_family_map_covers_the_catalogue_distributions():
    family = _yaml(REPO / "roles" / "os_family" / "vars" / "main.yml")["os_family_map"]
    assert set(family.values()) == {"Debian", "RedHat"}
    for distribution, fam in DISTRIBUTIONS.items():
        assert family.get(distribution) == fam, f"catalogue distribution {distribution} is {fam}, os_family_map says {family.get(distribution)}"


@pytest.mark.parametrize(("declared", "expect"), [
    (None, "os_family_name: Debian"),
    ("debian", "os_family_name: Debian"),
    ("rocky", "the catalogue declares distribution 'rocky' (RedHat family) but the host runs 'debian'"),
    ("plan9", "distribution 'plan9' is not supported by the idcpilot roles"),
])
def test_os_family_role_on_this_debian_machine(tmp_path, declared, expect):
    """The shared role, run for real against this (Debian) controller with a local connection."""
    play = tmp_path / "os_family.yml"
    play.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"ansible.builtin.import_role": {"name": "os_family"}},
                  {"ansible.builtin.debug": {"msg": "os_family_name: {{ os_family_name }}"}}],
    }]))
    cmd = [str(BIN / "ansible-playbook"), "-i", "localhost,", str(play), "-e", "ansible_python_interpreter=/usr/bin/python3"]
    if declared:
        cmd += ["-e", f"idcpilot_distribution={declared}"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"ANSIBLE_ROLES_PATH": str(REPO / "roles"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert expect in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (proc.returncode == 0) == expect.startswith("os_family_name"), proc.stdout[-2000:]


@pytest.mark.parametrize("role", DEPLOYED)
def test_task_files_are_included_with_tags(role):
    tasks_dir = REPO / "roles" / role / "tasks"
    files = {p.name for p in tasks_dir.glob("*.yml")} - {"main.yml"}
    included: set[str] = set()
    for path in tasks_dir.glob("*.yml"):
        for task in _tasks(_yaml(path)):
            for key in INCLUDES:
                target = task.get(key)
                if target is None:
                    continue
                name = target["file"] if isinstance(target, dict) else target
                pattern = re.sub(r"\{\{.*?\}\}", "*", name)
                included |= set(fnmatch.filter(files, pattern))
                if path.name == "main.yml":
                    assert task.get("tags"), f"{role}: {name} is included from main.yml without tags"
    # entry points a playbook runs with tasks_from (k8s_node's join.yml: playbooks/k8s_node_join.yml)
    for play in (p for path in sorted((REPO / "playbooks").glob("*.yml")) for p in _yaml(path)):
        for task in _tasks(play.get("tasks")):
            ref = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role") or {}
            if ref.get("name") == role and ref.get("tasks_from"):
                included.add(ref["tasks_from"])
    assert files <= included, f"{role}: task files nothing includes: {sorted(files - included)}"


@pytest.mark.parametrize("role", DEPLOYED)
def test_role_tags_name_rule_ids(role):
    ids = role_readmes._rule_ids(REPO / "roles" / role)
    assert ids, f"{role}: no task carries a PILOT/MLPS3/K8S rule id tag"
    assert all(RULE_ID.match(i) for i in ids)


@pytest.mark.parametrize("role", DEPLOYED)
def test_playbook_targets_the_role_group_and_automated_hosts(role):
    play = _yaml(REPO / "playbooks" / f"{role}.yml")[-1]  # the play that applies the role
    assert play["hosts"] == ("all:&automated" if role == "bootstrap" else f"role_{role}:&automated")
    assert play["become"] is True
    assert [r["role"] for r in play["roles"]] == [role]
    site = _imported(REPO / "playbooks" / "site.yml")
    assert f"{role}.yml" in site


def _imported(playbook: Path) -> list[str]:
    """Every playbook a playbook imports, through nested imports (site.yml -> k8s_cluster.yml -> ...)."""
    out = []
    for play in _yaml(playbook):
        name = play.get("ansible.builtin.import_playbook")
        if name:
            out += [name, *_imported(playbook.parent / name)]
    return out


def test_playbooks_syntax():
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "--syntax-check", "playbooks/site.yml"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("role", ROLES)
def test_readme_is_generated_from_meta(role):
    path = REPO / "roles" / role / "README.md"
    assert path.exists(), f"roles/{role}/README.md missing: run scripts/role_readmes.py"
    assert path.read_text(encoding="utf-8") == role_readmes.render(REPO / "roles" / role), \
        f"roles/{role}/README.md is out of date: run scripts/role_readmes.py"
