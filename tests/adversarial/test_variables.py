"""Hostile variables through the real CLI: every place Ansible reads variables from, vaults, files
an inventory plugin would parse, and role variables that weaken a control.

Each case: exit 1 naming the rule id and the variable's file:line, or exit 2 naming the file the
gate refuses to guess about; never a traceback (hostile.run), never a secret in the output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.adversarial.hostile import REPO, Hostile, ansible, idcpilot, output

PASSWORD = "s3cret-vault-password"


def encrypt(text: str, password: str = PASSWORD) -> str:
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([("default", VaultSecret(password.encode()))]).encrypt(text).decode()


def inline(text: str) -> str:
    return "!vault |\n" + "\n".join("  " + line for line in encrypt(text).splitlines())


def gate(env: Hostile, *args: object) -> tuple[int, list[dict], str]:
    proc = idcpilot("check", env.root, "--no-plan", "-f", "json", *args)
    text = output(proc)
    findings = json.loads(proc.stdout)["findings"] if proc.returncode in (0, 1) else []
    return proc.returncode, [f for f in findings if f["status"] == "fail"], text


# ------------------------------------------------------------------ exit 1: the rule the value weakens, at file:line

WEAKENING = [
    # (id, file below the estate, text, rule, variable, line)
    ("firewall-off", "group_vars/all.yml", "---\nbaseline_firewall_enabled: false\n", "MLPS3-MINIMAL", "baseline_firewall_enabled", 2),
    ("auditd-off", "group_vars/all/audit.yml", "baseline_auditd_enabled: false\n", "MLPS3-AUDIT", "baseline_auditd_enabled", 1),
    ("password-policy-off", "group_vars/role_baseline.yaml", "x: 1\nbaseline_password_policy_enabled: false\n",
     "MLPS3-AUTH-PASSWORD", "baseline_password_policy_enabled", 2),
    ("management-from-anywhere", "group_vars/site_bj_core_1.yml", "baseline_management_cidrs: [0.0.0.0/0]\n",
     "MLPS3-MGMT-ACL", "baseline_management_cidrs", 1),
    ("firewall-accept-all", "host_vars/bj-core-1-bastion.yml", "baseline_firewall_extra_rules: [accept]\n",
     "MLPS3-MINIMAL", "baseline_firewall_extra_rules", 1),
    ("audit-never", "host_vars/bj-core-1-bastion/main.yml", 'baseline_audit_extra_rules: ["-a never,task"]\n',
     "MLPS3-AUDIT", "baseline_audit_extra_rules", 1),
    ("log-forward-anonymous", "group_vars/all", "baseline_log_forward_auth_mode: anon\n",
     "MLPS3-AUDIT-RETENTION", "baseline_log_forward_auth_mode", 1),
    ("ssh-passwords", "group_vars/tier_edge.json", '{"baseline_ssh_password_authentication": true}\n',
     "MLPS3-AUTH-REMOTE", "baseline_ssh_password_authentication", 1),
    ("zero-trust-open", "group_vars/all.yml", "idcpilot_zt: {default_deny: false, apps: []}\n", "PILOT-ZT", "idcpilot_zt", 1),
    ("typo-knob", "group_vars/all.yml", "baseline_firewall_enable: false\n", "PILOT-MLPS3", "baseline_firewall_enable", 1),
    ("nan-days", "group_vars/all.yml", "baseline_pass_max_days: .nan\n", "MLPS3-AUTH-PASSWORD", "baseline_pass_max_days", 1),
    ("priority-trick", "group_vars/site_bj_core_1.yml", "baseline_logrotate_days: 7\n",
     "MLPS3-AUDIT-RETENTION", "baseline_logrotate_days", 1),
]


@pytest.mark.parametrize("rel, text, rule, variable, line", [w[1:] for w in WEAKENING], ids=[w[0] for w in WEAKENING])
def test_a_weakening_variable_fails_its_rule_at_its_line(example: Hostile, rel, text, rule, variable, line):
    example.write(rel, text)
    if rel == "group_vars/site_bj_core_1.yml":  # a group claiming priority in group_vars (Ansible ignores it there)
        example.write("group_vars/role_baseline.yml", "ansible_group_priority: 99\nbaseline_logrotate_days: 365\n")
    assert_weakens(example, rel, rule, variable, line)


def assert_weakens(example: Hostile, rel: str, rule: str, variable: str, line: int) -> None:
    """The gate fails (exit 1) with RULE naming VARIABLE, located at REL:LINE."""
    code, fails, text_out = gate(example)
    assert code == 1, text_out
    hits = [f for f in fails if f["rule"] == rule and variable in f["message"]]
    assert hits, [(f["rule"], f["message"]) for f in fails]
    assert hits[0]["location"]["file"].endswith(rel) and hits[0]["location"]["line"] == line


def test_playbook_group_vars_are_read(example: Hostile, tmp_path: Path):
    pb = tmp_path / "playbooks"
    shutil.copytree(REPO / "playbooks", pb, ignore=shutil.ignore_patterns("group_vars", "host_vars"))
    (pb / "group_vars").mkdir()
    (pb / "group_vars" / "all.yml").write_text("baseline_pass_max_days: 9999\n")
    code, fails, text = gate(example, "--playbook", pb / "site.yml")
    assert code == 1 and [f["rule"] for f in fails] == ["MLPS3-AUTH-PASSWORD"], text
    assert fails[0]["location"]["file"].endswith("playbooks/group_vars/all.yml") and fails[0]["location"]["line"] == 1


def test_a_template_in_a_tunable_variable_fails_and_runs_nothing(example: Hostile, tmp_path: Path):
    marker = tmp_path / "marker"
    example.write("group_vars/all.yml", f"cdn_node_worker_connections: \"{{{{ lookup('pipe', 'touch {marker}') }}}}\"\n")
    code, fails, text = gate(example)
    assert code == 1 and [f["rule"] for f in fails] == ["PILOT-MLPS3"] and "Jinja" in fails[0]["message"], text
    assert not marker.exists()


# ------------------------------------------------------------------ vaults: decrypted with deploy's secret, or exit 2


def test_a_vault_file_with_the_secret_holding_a_weakening_value(example: Hostile, tmp_path: Path):
    (tmp_path / "pass").write_text(PASSWORD + "\n")
    example.write("group_vars/all/vault.yml", encrypt("db_password: hunter2-xyzzy\nbaseline_ssh_permit_root_login: yes-really\n"))
    code, fails, text = gate(example, "--vault-password-file", tmp_path / "pass")
    assert code == 1 and [f["rule"] for f in fails] == ["MLPS3-AUTH-REMOTE"], text
    assert fails[0]["location"]["file"].endswith("group_vars/all/vault.yml") and fails[0]["location"]["line"] == 2
    assert "yes-really" not in text and "hunter2" not in text and "not shown" in fails[0]["message"]


def test_an_inline_vault_value_with_a_labelled_vault_id(example: Hostile, tmp_path: Path):
    (tmp_path / "pass").write_text(PASSWORD + "\n")
    text = f"ok: 1\nbaseline_tmout: {inline('86400')}\nbaseline_faillock_deny: {inline('50')}\n"
    example.write("group_vars/all.yml", text)
    lines = {i for i, line in enumerate(text.splitlines(), 1) if line.startswith("baseline_")}
    code, fails, text = gate(example, "--vault-id", f"prod@{tmp_path / 'pass'}")
    assert code == 1 and sorted(f["rule"] for f in fails) == ["MLPS3-AUTH-LOCKOUT", "MLPS3-AUTH-TIMEOUT"], text
    assert {f["location"]["line"] for f in fails} == lines and "86400" not in text


@pytest.mark.parametrize("case", ["no-secret", "wrong-secret", "inline-no-secret", "garbled", "untagged-ciphertext"])
def test_a_vault_the_gate_cannot_read_is_exit_2_naming_the_file(example: Hostile, tmp_path: Path, case):
    (tmp_path / "wrong").write_text("not-the-password\n")
    args: list[object] = []
    if case == "no-secret":
        p = example.write("host_vars/bj-core-1-bastion.yml", encrypt("baseline_tmout: 99999\n"))
        where = f"{p.name}:1:"
    elif case == "wrong-secret":
        p = example.write("group_vars/all.yml", encrypt("baseline_tmout: 99999\n"))
        args = ["--vault-password-file", tmp_path / "wrong"]
        where = f"{p.name}:1:"
    elif case == "inline-no-secret":
        p = example.write("group_vars/all.yml", f"a: 1\nb: 2\nbaseline_tmout: {inline('99999')}\n")
        where = f"{p.name}:3:"
    elif case == "garbled":
        p = example.write("group_vars/all.yml", "$ANSIBLE_VAULT;1.1;AES256\nzz-not-hex\n")
        (tmp_path / "pass").write_text(PASSWORD + "\n")
        args = ["--vault-password-file", tmp_path / "pass"]
        where = f"{p.name}:1:"
    else:
        cipher = encrypt("99999").replace("\n", "\\n")
        p = example.write("group_vars/all.yml", f'baseline_tmout: "{cipher}"\n')
        (tmp_path / "pass").write_text(PASSWORD + "\n")
        args = ["--vault-password-file", tmp_path / "pass"]
        where = f"{p.name}:1:"
    code, _, text = gate(example, *args)
    assert code == 2 and where in text, text
    assert "99999" not in text


def test_deploy_fails_closed_on_a_vault_it_cannot_read(example: Hostile, tmp_path: Path):
    example.write("group_vars/all/vault.yml", encrypt("baseline_firewall_enabled: false\n"))
    proc = idcpilot("deploy", example.root, "--check")
    assert proc.returncode == 2 and "group_vars/all/vault.yml:1:" in output(proc) and "no host was touched" in output(proc)


# ------------------------------------------------------------------ files an inventory plugin would parse


def test_an_extra_ini_file_in_the_inventory_directory_is_refused(example: Hostile, tmp_path: Path):
    marker = tmp_path / "marker"
    example.write("hosts", f"[all:vars]\nbaseline_firewall_enabled=false\nx=\"{{{{ lookup('pipe', 'touch {marker}') }}}}\"\n"
                           "[evil]\nevil-host ansible_host=192.0.2.1\n")
    code, _, text = gate(example)
    assert code == 2 and "hosts:1:1" in text and "inventory source" in text
    # and Ansible itself no longer parses it (the ini plugin is off in ansible.cfg)
    proc = ansible("ansible-inventory", "-i", example.root, "--list")
    assert "evil-host" not in proc.stdout and "baseline_firewall_enabled" not in proc.stdout
    assert not marker.exists()


@pytest.mark.parametrize("rel", ["more/estate.yaml", "inventory.yaml", "group_vars.yml"])
def test_other_inventory_sources_in_the_inventory_directory_are_refused(example: Hostile, rel):
    example.write(rel, (REPO / "inventories" / "example" / "estate.yaml").read_text())
    code, _, text = gate(example)
    assert code == 2 and rel.split("/")[0] in text and "inventory source" in text


def test_thresholds_typo_cannot_let_9999_days_through(example: Hostile, tmp_path: Path):
    bad = tmp_path / "thresholds.yaml"
    bad.write_text((REPO / "policy" / "thresholds.yaml").read_text().replace(
        "baseline_pass_max_days: {rule: MLPS3-AUTH-PASSWORD, min: 1, max: 90}",
        "baseline_pass_max_days: {rule: MLPS3-AUTH-PASSWORD, min: 1, maxi: 90}"))
    example.write("group_vars/all.yml", "baseline_pass_max_days: 9999\n")
    code, _, text = gate(example, "--thresholds", bad)
    assert code == 2 and "thresholds.variables.baseline_pass_max_days.maxi" in text and "thresholds.yaml:" in text


@pytest.mark.parametrize("case", ["device", "symlink-loop", "huge", "not-utf8", "not-a-mapping"])
def test_a_variables_file_the_gate_cannot_read_is_exit_2_in_bounded_time(example: Hostile, case):
    gv = example.root / "group_vars" / "all"
    gv.mkdir(parents=True)
    if case == "device":
        (gv / "zero.yml").symlink_to("/dev/zero")
        where = "zero.yml:1:1"
    elif case == "symlink-loop":
        (gv / "loop").symlink_to("..")
        where = "symlink loop"
    elif case == "huge":
        (gv / "big.yml").write_text("baseline_banner_text: '" + "x" * (5 * 1024 * 1024) + "'\n")
        where = "big.yml:1:1"
    elif case == "not-utf8":
        (gv / "latin.yml").write_bytes(b"baseline_banner_text: \xe9\xe9\n")
        where = "latin.yml:1:1"
    else:
        (gv / "list.yml").write_text("- baseline_firewall_enabled: false\n")
        where = "list.yml:1:1"
    code, _, text = gate(example)
    assert code == 2 and where in text, text


@pytest.mark.parametrize("target", ["/etc/hostname", "/proc/self/environ", "/etc"])
def test_a_symlink_out_of_the_estate_is_refused_not_read(example: Hostile, target):
    (example.root / "group_vars").mkdir()
    (example.root / "group_vars" / "all.yml" if target != "/etc" else example.root / "group_vars" / "all").symlink_to(target)
    code, _, text = gate(example)
    assert code == 2 and "symlink out of" in text and "group_vars/all" in text, text


@pytest.mark.parametrize("extra", ["baseline_firewall_enabled=false", '{"baseline_firewall_enabled": false}', "@FILE"])
def test_deploy_extra_vars_are_judged_before_any_host_is_touched(example: Hostile, tmp_path: Path, extra):
    if extra == "@FILE":
        (tmp_path / "extra.yml").write_text("baseline_firewall_enabled: false\n")
        extra = f"@{tmp_path / 'extra.yml'}"
    state = tmp_path / "state"
    proc = idcpilot("deploy", example.root, "--check", "-e", extra, env={"IDCPILOT_STATE_DIR": str(state)})
    assert proc.returncode == 1 and "deploy refused" in output(proc) and "MLPS3-MINIMAL" in output(proc), output(proc)
    assert not (state / "runs").exists()
    code, fails, _ = gate(example, "-e", extra)
    assert code == 1 and [f["rule"] for f in fails] == ["MLPS3-MINIMAL"]


def test_a_vaulted_extra_vars_file_is_opened_with_the_secret(example: Hostile, tmp_path: Path):
    (tmp_path / "pass").write_text(PASSWORD + "\n")
    (tmp_path / "psk.yml").write_text(encrypt('{"sdwan_edge_preshared_keys": {"a:b": "c2VjcmV0"}}\n'))
    code, fails, text = gate(example, "-e", f"@{tmp_path / 'psk.yml'}", "--vault-password-file", tmp_path / "pass")
    assert code == 0 and fails == [], text
    code, _, text = gate(example, "-e", f"@{tmp_path / 'psk.yml'}")
    assert code == 2 and "psk.yml:1:1" in text
    (tmp_path / "plain.yml").write_text('{"sdwan_edge_preshared_keys": {"a:b": "c2VjcmV0"}}\n')
    code, fails, text = gate(example, "-e", f"@{tmp_path / 'plain.yml'}")
    assert code == 1 and [f["rule"] for f in fails] == ["PILOT-SDWAN-ENCRYPT"] and "vault" in fails[0]["message"]
    assert "c2VjcmV0" not in text


@pytest.mark.parametrize("rel", ["group_vars/all.yml", "host_vars/bj-core-1-bastion.yml"])
def test_a_proxycommand_in_connection_variables_fails_and_runs_nothing(example: Hostile, tmp_path: Path, rel):
    marker = tmp_path / "marker"
    example.write(rel, f"ansible_ssh_common_args: \"-o ProxyCommand='touch {marker}'\"\n")
    code, fails, text = gate(example)
    assert code == 1 and [f["rule"] for f in fails] == ["MLPS3-AUTH-REMOTE"], text
    assert "ansible_ssh_common_args" in fails[0]["message"] and fails[0]["location"]["file"].endswith(rel)
    proc = ansible("ansible-inventory", "-i", example.root, "--host", "bj-core-1-bastion")
    assert proc.returncode == 0 and not marker.exists()


@pytest.mark.parametrize("args, named", [
    (["--vault-id", "prod@prompt"], "--vault-id"),
    (["--vault-password-file", "/nonexistent/pass"], "/nonexistent/pass"),
    (["-e", "@/nonexistent/extra.yml"], "/nonexistent/extra.yml"),
    (["--playbook", "playbooks/nope.yml"], "playbooks/nope.yml"),
])
def test_bad_vault_extra_vars_and_playbook_options_are_exit_2(example: Hostile, args, named):
    code, _, text = gate(example, *args)
    assert code == 2 and named in text, text
