"""Hostile variables for the Kubernetes control plane and node join, through the real gate
(`idcpilot check`): each weakening value fails the rule it weakens at its file and line, a simulated
(kwok) node is a finding outside a waiver, and the Secrets key is judged without ever being shown."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.adversarial.hostile import Hostile
from tests.adversarial.test_variables import PASSWORD, assert_weakens, gate, inline

KEY = base64.b64encode(b"\x17" * 32).decode()

WEAKENING = [
    # (id, file below the estate, text, rule, variable, line)
    ("kwok-node-outside-the-lab", "group_vars/role_k8s_node.yml", "k8s_node_mode: kwok\n", "PILOT-MLPS3", "k8s_node_mode", 1),
    ("kwok-node-one-host", "host_vars/bj-core-1-k8s-01.yml", "---\nk8s_node_mode: kwok\n", "PILOT-MLPS3", "k8s_node_mode", 2),
    ("psa-privileged", "group_vars/all.yml", "k8s_control_plane_pod_security_level: privileged\n",
     "K8S-PSA", "k8s_control_plane_pod_security_level", 1),
    ("psa-exempts-default", "group_vars/all.yml", "x: 1\nk8s_control_plane_pod_security_exempt_namespaces: [kube-system, default]\n",
     "K8S-PSA", "k8s_control_plane_pod_security_exempt_namespaces", 2),
    ("anonymous-api", "group_vars/role_k8s_control_plane.yml", "k8s_control_plane_anonymous_auth: true\n",
     "MLPS3-ACCESS-ACCOUNTS", "k8s_control_plane_anonymous_auth", 1),
    ("api-tls-1.0", "group_vars/all.yml", "k8s_control_plane_tls_min_version: VersionTLS10\n",
     "MLPS3-TLS", "k8s_control_plane_tls_min_version", 1),
    ("kubelet-tls-1.1", "group_vars/all.yml", "k8s_node_kubelet_tls_min_version: VersionTLS11\n",
     "MLPS3-TLS", "k8s_node_kubelet_tls_min_version", 1),
    ("audit-30-days", "group_vars/all.yml", "k8s_control_plane_audit_log_maxage: 30\n",
     "PILOT-TRACEABLE", "k8s_control_plane_audit_log_maxage", 1),
    ("audit-rotated-away", "group_vars/all.yml", "k8s_control_plane_audit_log_maxbackup: 3\n",
     "PILOT-TRACEABLE", "k8s_control_plane_audit_log_maxbackup", 1),
    ("secrets-not-encrypted", "group_vars/all.yml", "k8s_control_plane_encryption_provider: identity\n",
     "K8S-SECRETS", "k8s_control_plane_encryption_provider", 1),
    ("bundle-unverified-tls", "group_vars/all.yml", "k8s_control_plane_validate_certs: false\n",
     "K8S-ARTIFACTS", "k8s_control_plane_validate_certs", 1),
    ("bundle-unpinned", "group_vars/role_k8s_control_plane.yml", "---\nk8s_control_plane_artifacts_unpinned: true\n",
     "K8S-ARTIFACTS", "k8s_control_plane_artifacts_unpinned", 2),
    ("bundle-over-http", "group_vars/all.yml", "k8s_node_files_repo: http://artifacts.hy-idc.internal/k8s\n",
     "K8S-ARTIFACTS", "k8s_node_files_repo", 1),
    ("bundle-binaries-dropped", "group_vars/all.yml", "k8s_control_plane_etcd_binaries: [etcd]\n",
     "MLPS3-INTEGRITY", "k8s_control_plane_etcd_binaries", 1),
    ("long-lived-join-token", "group_vars/all.yml", "k8s_control_plane_bootstrap_token_ttl: 0s\n",
     "MLPS3-ACCESS-ACCOUNTS", "k8s_control_plane_bootstrap_token_ttl", 1),
    ("api-on-any-address", "host_vars/bj-core-1-cp-01.yml", "k8s_control_plane_address: 0.0.0.0\n",
     "MLPS3-MGMT-ACL", "k8s_control_plane_address", 1),
    ("templated-mode", "group_vars/all.yml", "k8s_node_mode: \"{{ 'kw' + 'ok' }}\"\n", "PILOT-MLPS3", "k8s_node_mode", 1),
]


@pytest.mark.parametrize("rel, text, rule, variable, line", [w[1:] for w in WEAKENING], ids=[w[0] for w in WEAKENING])
def test_a_weakening_k8s_variable_fails_its_rule_at_its_line(example: Hostile, rel, text, rule, variable, line):
    example.write(rel, text)
    assert_weakens(example, rel, rule, variable, line)


def test_the_secrets_key_in_plain_text_fails_without_being_shown(example: Hostile):
    example.write("group_vars/role_k8s_control_plane.yml", f"k8s_control_plane_encryption_key: {KEY}\n")
    code, fails, out = gate(example)
    assert code == 1, out
    hits = [f for f in fails if f["rule"] == "K8S-SECRETS" and "k8s_control_plane_encryption_key" in f["message"]]
    assert hits and "ansible-vault" in hits[0]["message"], fails
    assert KEY not in out and KEY[:12] not in out


def test_the_secrets_key_from_a_vault_passes_and_stays_hidden(example: Hostile, tmp_path: Path):
    (tmp_path / "pass").write_text(PASSWORD + "\n")
    example.write("group_vars/role_k8s_control_plane.yml",
                  f"k8s_control_plane_encryption_key: {inline(KEY)}\n"
                  f"k8s_control_plane_admin_kubeconfig_vault_secret: {inline('kubeconfig-vault-pass')}\n")
    code, fails, out = gate(example, "--vault-password-file", tmp_path / "pass")
    assert not [f for f in fails if "k8s_control_plane_" in f["message"]], fails
    assert KEY not in out and "kubeconfig-vault-pass" not in out


def test_the_admin_kubeconfig_vault_secret_in_plain_text_fails(example: Hostile):
    example.write("group_vars/all.yml", "k8s_control_plane_admin_kubeconfig_vault_secret: hunter2-kubeconfig\n")
    code, fails, out = gate(example)
    assert code == 1 and any(f["rule"] == "K8S-SECRETS" for f in fails), out
    assert "hunter2-kubeconfig" not in out


@pytest.mark.parametrize("text", [
    "k8s_node_mode: kubelet\n",
    "k8s_control_plane_tls_min_version: VersionTLS13\n",
    "k8s_control_plane_audit_log_maxage: 365\n",
    "k8s_control_plane_encryption_provider: secretbox\n",
], ids=["kubelet", "tls-1.3", "audit-a-year", "secretbox"])
def test_stricter_values_pass(example: Hostile, text: str):
    example.write("group_vars/all.yml", text)
    code, fails, out = gate(example)
    variable = text.split(":")[0]
    assert not [f for f in fails if variable in f["message"]], fails
