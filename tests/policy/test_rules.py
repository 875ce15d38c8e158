"""Every rule: one passing fixture and one failing fixture that points at the right file and line.

The passing fixture is ``fixtures/estate.yaml`` (+ ``fixtures/manifests.yaml`` for K8S-*). Each
failing fixture is one small edit of it; the line the finding must point at carries ``# FAIL``.
"""

from __future__ import annotations

import pytest

from policy_helpers import MARK, check
from idcpilot.policy import registry

F = f"  {MARK}"

# rule id -> (estate edits, extra files {relative path: text}, manifest edits or None)
CASES: dict[str, tuple[list[tuple[str, str]], dict[str, str], list[tuple[str, str]] | None]] = {
    "PILOT-PUE": ([("pue: {design: 1.25, measured: 1.29, measuredOn: 2026-10-31}\n      bastion: {host: bj-core-1-bastion",
                    f"pue: {{design: 1.25, measured: 1.4, measuredOn: 2026-10-31}}{F}\n      bastion: {{host: bj-core-1-bastion")], {}, None),
    "PILOT-AUTOOPS": ([('namePattern: "bj-core-1-cdn-{index:03d}", roles: [baseline, monitoring, cdn_node]}',
                        f'namePattern: "bj-core-1-cdn-{{index:03d}}", roles: [baseline, monitoring, cdn_node], automated: false}}{F}')], {}, None),
    "PILOT-MULTICLOUD": ([("- {name: portal, level: L5, clusters: [bj-core-k8s, sh-core-k8s],",
                           f"- {{name: portal, level: L5, clusters: [bj-core-k8s], {F}\n      ")], {}, None),
    "PILOT-SDWAN-LATENCY": ([("{a: bj-core-1, b: gz-edge-1, latencyBudgetMs: 9, encryption: wireguard}",
                              f"{{a: bj-core-1, b: gz-edge-1, latencyBudgetMs: 12, encryption: wireguard}}{F}")], {}, None),
    "PILOT-SDWAN-ENCRYPT": ([("{a: bj-core-1, b: cd-edge-1, latencyBudgetMs: 9.5, encryption: ipsec}",
                              f"{{a: bj-core-1, b: cd-edge-1, latencyBudgetMs: 9.5, encryption: none}}{F}")], {}, None),
    "PILOT-5G-COVERAGE": ([("fiveG: {radiusKm: 5.2}", f"fiveG: {{radiusKm: 4.5}}{F}")], {}, None),
    "PILOT-CDN-NODES": ([("count: 48, namePattern: \"bj-core-1-cdn", "count: 10, namePattern: \"bj-core-1-cdn"),
                         ("  cdn:\n    origins:", f"  cdn:{F}\n    origins:")], {}, None),
    "PILOT-SUPPORT": ([("hours: 24x7, responseSeconds: 15}", f"hours: 24x7, responseSeconds: 45}}{F}"),
                       ("hours: 24x7, responseSeconds: 30}", f"hours: business, responseSeconds: 30}}{F}")], {}, None),
    "PILOT-SERVICE-LEVEL": ([("- {name: status-page, level: L1, ", f"- {{name: status-page, {F}\n      ")], {}, None),
    "PILOT-TRANSPARENCY": ([("- {name: bj-core-1-bastion, roles: [baseline, monitoring, bastion]}",
                             f"- {{name: bj-core-1-bastion, roles: [baseline, bastion]}}{F}")], {}, None),
    "PILOT-ZT": ([("- {name: billing, gateway: gz-zt, upstream:", f"- {{name: billing, {F}\n       upstream:")], {}, None),
    "PILOT-THREAT-INTEL": ([("isac/blocklist.txt\", syncMinutes: 15}", f"isac/blocklist.txt\", syncMinutes: 30}}{F}")], {}, None),
    "PILOT-DATA-CLASS": ([("- {name: portal-content, site: bj-core-1, engine: object-store, classification: general,",
                           f"- {{name: portal-content, site: bj-core-1, engine: object-store, {F}\n      ")], {}, None),
    "PILOT-DATA-ENCRYPT": ([("       encryptedAtRest: true, encryptedInTransit: true, replicas: [cd-edge-1], backups: [cd-edge-1]}",
                             f"       encryptedAtRest: false, encryptedInTransit: true, replicas: [cd-edge-1], backups: [cd-edge-1]}}{F}")], {}, None),
    "PILOT-DATA-DOMAIN": ([("encryptedAtRest: true, encryptedInTransit: true, replicas: [sh-core-1], backups: [sh-core-1]}",
                            f"encryptedAtRest: true, encryptedInTransit: true, replicas: [gz-edge-1], backups: [sh-core-1]}}{F}")], {}, None),
    "PILOT-TRACEABLE": ([("  audit:\n    retentionDays: 180", f"  audit:\n    retentionDays: 90{F}")], {}, None),
    "PILOT-EMERGENCY": ([("escalation: [ops-director], targetHours: 1.5}", f"escalation: [ops-director], targetHours: 3}}{F}")], {}, None),
    "PILOT-DRILLS": ([("{name: 2026-h1-red-blue, date: 2026-05-18", "{name: 2026-h1-red-blue, date: 2025-05-18"),
                      ("  drills:\n", f"  drills:{F}\n")], {}, None),
    "PILOT-TIERS": ([("regionsInScope: [cn-north, cn-east, cn-south, cn-west]",
                      f"regionsInScope: [cn-north, cn-east, cn-south, cn-west, cn-central]{F}")], {}, None),
    "PILOT-MLPS3": ([('- {group: cd-edge-1-db, count: 2, namePattern: "cd-edge-1-db-{index:02d}"}',
                      f'- {{group: cd-edge-1-db, count: 2, namePattern: "cd-edge-1-db-{{index:02d}}", roles: [monitoring]}}{F}')], {}, None),
    # MLPS3: variables that reach hosts, from every place Ansible reads them
    "MLPS3-AUTH-PASSWORD": ([], {"group_vars/all.yml": f"---\nbaseline_pass_max_days: 180{F}\nbaseline_pwquality_minlen: 14\n"}, None),
    "MLPS3-AUTH-LOCKOUT": ([], {"group_vars/role_cdn_node.yml": f"baseline_faillock_deny: 10{F}\n"}, None),
    "MLPS3-AUTH-TIMEOUT": ([], {"host_vars/bj-core-1-bastion.yml": f"baseline_tmout: 3600{F}\n"}, None),
    "MLPS3-AUTH-REMOTE": ([], {"group_vars/site_bj_core_1/ssh.yml": f"baseline_ssh_password_authentication: true{F}\n"}, None),
    "MLPS3-AUTH-MFA": ([("bastion: {host: sh-core-1-bastion, twoFactor: true}\n      hosts:\n        - {name: sh-core-1-bastion",
                         f"bastion: {{host: sh-core-1-bastion, twoFactor: false}}{F}\n      hosts:\n        - {{name: sh-core-1-bastion")], {}, None),
    "MLPS3-ACCESS-ACCOUNTS": ([("    account: idcops", f"    account: root{F}")], {}, None),
    "MLPS3-ACCESS-ROLES": ([("- {name: li-na, groups: [auditors]}", f"- {{name: li-na, groups: [auditors, admins]}}{F}")], {}, None),
    "MLPS3-AUDIT": ([], {"group_vars/tier_edge.yaml": f"baseline_audit_immutable: false{F}\n"}, None),
    "MLPS3-AUDIT-RETENTION": ([], {"group_vars/all/logs.yml": f"baseline_journald_max_retention: 1month{F}\n"}, None),
    "MLPS3-TIME": ([], {"group_vars/region_cn_west.yml": f"idcpilot_ntp_servers: []{F}\n"}, None),
    "MLPS3-MINIMAL": ([("- {name: gz-edge-1-bastion, roles: [baseline, monitoring, bastion]}",
                        f"- {{name: gz-edge-1-bastion, roles: [baseline, monitoring, bastion], ports: [22, 23]}}{F}")], {}, None),
    "MLPS3-MGMT-ACL": ([("managementCidrs: [10.10.0.0/16]", f"managementCidrs: [10.10.0.0/16, 0.0.0.0/0]{F}")], {}, None),
    "MLPS3-INTEGRITY": ([('- {name: gz-edge-1-legacy-01, roles: [baseline, monitoring], automated: false}',
                          f'- {{name: gz-edge-1-legacy-01, roles: [baseline, monitoring], automated: false,\n'
                          f'           vars: {{baseline_aide_enabled: false}}}}{F}')], {}, None),
    "MLPS3-TLS": ([("- {name: bj-zt, site: bj-core-1, hosts: [bj-core-1-zt]}", f"- {{name: bj-zt, site: bj-core-1, hosts: [bj-core-1-zt], minTls: \"1.0\"}}{F}")], {}, None),
    "MLPS3-BACKUP": ([("- {name: access-logs, site: sh-core-1, engine: clickhouse, classification: important,\n"
                       "       encryptedAtRest: true, encryptedInTransit: true, backups: [bj-core-1]}",
                       f"- {{name: access-logs, site: sh-core-1, engine: clickhouse, classification: important,{F}\n"
                       "       encryptedAtRest: true, encryptedInTransit: true}")], {}, None),
    "MLPS3-BANNER": ([], {"host_vars/sh-core-1-bastion/main.yml": f"---\nbaseline_banner_enabled: no{F}\n"}, None),
    # K8S: the offline bundle's releases (the catalogue)
    "K8S-BUNDLE": ([("nodes: [hz-edge-1-k8s]\n      kubernetesVersion: 1.37.2", f"nodes: [hz-edge-1-k8s]\n      kubernetesVersion: 1.36.0{F}")], {}, None),
    # K8S: where the hosts' Kubernetes binaries come from (the catalogue)
    "K8S-ARTIFACTS": ([("    artifacts: https://artifacts.hy-idc.internal/k8s", f"    artifacts: http://artifacts.hy-idc.internal/k8s{F}")], {}, None),
    # K8S: planned manifests
    "K8S-PSA": ([], {}, [("pod-security.kubernetes.io/enforce: restricted", f"pod-security.kubernetes.io/enforce: baseline{F}")]),
    "K8S-NETPOL": ([], {}, [("apiVersion: v1\nkind: Namespace", f"apiVersion: v1{F}\nkind: Namespace"),
                            ("policyTypes: [Ingress, Egress]", "policyTypes: [Ingress]")]),
    "K8S-REGISTRY": ([], {}, [("image: registry.hy-idc.internal:5000/hy/portal:3.4.1", f"image: docker.io/library/nginx:1.27{F}")]),
    "K8S-LIMITS": ([], {}, [("          resources:\n            requests: {cpu: 250m, memory: 256Mi}\n            limits: {cpu: \"1\", memory: 512Mi}",
                             f"          resources:{F}\n            requests: {{cpu: 250m, memory: 256Mi}}\n            limits: {{cpu: \"1\"}}")]),
    "K8S-SECRETS": ([], {}, [('  password: "[secret]"', f"  password: hunter2{F}")]),
    "K8S-LABELS": ([], {}, [("  namespace: portal\n  labels:\n    app.kubernetes.io/name: portal\n    idcpilot.io/data-classification: general\n"
                             "    idcpilot.io/data-domain: domain-north",
                             f"  namespace: portal\n  labels:{F}\n    app.kubernetes.io/name: portal\n    idcpilot.io/data-classification: general")]),
}


# Ways around the K8S rules that a hostile pull request tried: each is the passing manifests plus
# one document (or one edit), and must fail the rule at the marked line.
APPEND = '  password: "[secret]"'
EVIL_POD = """      hostPID: true{F}
      containers:
        - name: evil
          image: registry.hy-idc.internal:5000/hy/portal:3.4.1
          securityContext: {{privileged: true}}
          resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{cpu: 100m, memory: 64Mi}}}}
      volumes: [{{name: root, hostPath: {{path: /}}}}]"""
LABELS = "labels: {idcpilot.io/data-classification: general, idcpilot.io/data-domain: domain-north}"


def _workload(kind: str, api: str, namespace: str) -> str:
    meta = f"metadata:\n  name: evil\n{namespace}  {LABELS}\n"
    head = f"{APPEND}\n---\napiVersion: {api}\nkind: {kind}\n{meta}spec:\n"
    if kind == "Pod":
        return head + "\n".join(line[4:] for line in EVIL_POD.format(F=F).splitlines())
    if kind == "CronJob":
        return (head + "  schedule: '@hourly'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
                + "\n".join("    " + line for line in EVIL_POD.format(F=F).splitlines()))
    return head + f"  selector: {{matchLabels: {{a: b}}}}\n  template:\n    metadata: {{labels: {{a: b}}}}\n    spec:\n" + EVIL_POD.format(F=F)


K8S_BYPASSES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "no namespace": ("K8S-PSA", [(APPEND, _workload("Pod", "v1", ""))]),
    "in default": ("K8S-PSA", [(APPEND, _workload("DaemonSet", "apps/v1", "  namespace: default\n"))]),
    "in kube-system": ("K8S-PSA", [(APPEND, _workload("Deployment", "apps/v1", "  namespace: kube-system\n"))]),
    "namespace without a Namespace manifest": ("K8S-PSA", [(APPEND, _workload("Pod", "v1", "  namespace: rogue\n"))]),
    "privileged pod in the restricted namespace": ("K8S-PSA", [(APPEND, _workload("Pod", "v1", "  namespace: portal\n"))]),
    "cronjob": ("K8S-PSA", [(APPEND, _workload("CronJob", "batch/v1", "  namespace: portal\n"))]),
    "argo rollout": ("K8S-PSA", [(APPEND, _workload("Rollout", "argoproj.io/v1alpha1", "  namespace: portal\n"))]),
    "argo rollout's image": ("K8S-REGISTRY", [(APPEND, _workload("Rollout", "argoproj.io/v1alpha1", "  namespace: portal\n").replace(
        f"hostPID: true{F}", "hostPID: true").replace("image: registry.hy-idc.internal:5000/hy/portal:3.4.1", f"image: docker.io/x:1{F}"))]),
    "pods in default without default-deny": ("K8S-NETPOL", [(APPEND, _workload("Pod", "v1", "  namespace: default\n").replace(
        f"hostPID: true{F}", "hostPID: true").replace("apiVersion: v1\nkind: Pod", f"apiVersion: v1{F}\nkind: Pod"))]),
    "allow-all beside the default-deny": ("K8S-NETPOL", [(APPEND, f"{APPEND}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                                                   f"metadata: {{name: open, namespace: portal}}\nspec:\n  podSelector: {{}}\n"
                                                                   f"  ingress:\n    - {{}}{F}\n")]),
    "allow-all egress through an empty peer": ("K8S-NETPOL", [(APPEND, f"{APPEND}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                                                        f"metadata: {{name: open, namespace: portal}}\nspec:\n  podSelector: {{}}\n"
                                                                        f"  policyTypes: [Egress]\n  egress:\n    - to: [{{namespaceSelector: {{}}}}]{F}\n")]),
    "document on the first line": ("K8S-PSA", [("# Planned manifests", f"--- {{apiVersion: v1, kind: Pod, metadata: {{name: evil, namespace: portal}}, "
                                                                      f"spec: {{hostIPC: true, containers: [{{name: x, image: r}}]}}}}{F}\n---\n# Planned manifests")]),
}


@pytest.mark.parametrize("case", sorted(K8S_BYPASSES))
def test_k8s_bypass_fails_at_the_marked_line(case, make_env):
    rule_id, medits = K8S_BYPASSES[case]
    env = make_env(manifest_edits=medits)
    report = check(env, only=[rule_id], schema_check=False)  # custom resources and bare fixtures: the rules' verdict
    fails = [f for f in report.findings if f.rule.id == rule_id and f.status == "fail"]
    where = {(f.location.file.rsplit("/", 1)[-1], f.location.line) for f in fails if f.location}
    marked = {(rel.rsplit("/", 1)[-1], line) for rel, line in env.marked()}
    assert marked and marked <= where, f"expected findings at {sorted(marked)}, got {sorted(where)}: {[f.message for f in fails]}"


# PILOT-THREAT-INTEL's other half: where a feed comes from. The schema already refuses ftp:// and
# file:// URLs; http:// passes the schema so that the gate can name the feed it refuses.
CNCERT = 'url: "https://ti.hy-idc.internal/cncert/blocklist.txt", syncMinutes: 10}'
THREAT_FEED_SOURCES: dict[str, tuple[list[tuple[str, str]], bool]] = {
    "http url fails": ([(CNCERT, f'url: "http://ti.hy-idc.internal/cncert/blocklist.txt", syncMinutes: 10}}{F}')], False),
    "operator-placed file passes": ([(CNCERT, 'file: /etc/idcpilot/threat-feeds/cncert.txt, syncMinutes: 10}')], True),
}


@pytest.mark.parametrize("case", sorted(THREAT_FEED_SOURCES))
def test_threat_feed_source(case, make_env):
    edits, passes = THREAT_FEED_SOURCES[case]
    env = make_env(estate_edits=edits)
    report = check(env, only=["PILOT-THREAT-INTEL"])
    mine = [f for f in report.findings if f.rule.id == "PILOT-THREAT-INTEL"]
    fails = [f for f in mine if f.status == "fail"]
    if passes:
        assert fails == [] and any("read from /etc/idcpilot/threat-feeds/cncert.txt" in f.message for f in mine), \
            [(f.status, f.message) for f in mine]
        return
    where = {(f.location.file.rsplit("/", 1)[-1], f.location.line) for f in fails if f.location}
    marked = {(rel.rsplit("/", 1)[-1], line) for rel, line in env.marked()}
    assert marked and marked <= where, f"expected findings at {sorted(marked)}, got {sorted(where)}: {[f.message for f in fails]}"
    assert any("only https:// is allowed" in f.message for f in fails), [f.message for f in fails]


# MLPS3-TLS's other half: what a zero-trust gateway sends identity headers to. An app's upstream
# is https (verified by the gateway), or plain http only on the gateway's own loopback. (The
# catalogue refuses IPv6 literals in upstreams; tests/edge_services covers ::1 in the loopback test.)
GRAFANA = 'upstream: "https://grafana.hy-idc.internal:3000", allow: [ops, auditors]}'
APP_UPSTREAMS: dict[str, tuple[str, bool]] = {
    "http to a site address fails": ("http://10.0.0.5:80", False),
    "http to a name that starts with localhost fails": ("http://localhost.evil.example:80", False),
    "no scheme to another host is http and fails": ("grafana.hy-idc.internal:3000", False),
    "http to an address beside loopback fails": ("http://128.0.0.1:9301", False),
    "loopback without a scheme passes": ("127.0.0.1:9301", True),
    "loopback anywhere in 127/8 passes": ("http://127.8.9.10:9301", True),
    "localhost passes": ("http://localhost:9301/grafana", True),
    "https to another host passes": ("https://10.0.0.5:3000", True),
}


@pytest.mark.parametrize("case", sorted(APP_UPSTREAMS))
def test_app_upstream_in_clear_only_on_the_gateways_loopback(case, make_env):
    upstream, passes = APP_UPSTREAMS[case]
    env = make_env(estate_edits=[(GRAFANA, f'upstream: "{upstream}", allow: [ops, auditors]}}' + ("" if passes else F))])
    report = check(env, only=["MLPS3-TLS"])
    mine = [f for f in report.findings if f.rule.id == "MLPS3-TLS" and f.target == "app/grafana"]
    fails = [f for f in mine if f.status == "fail"]
    if passes:
        assert mine and fails == [], [(f.status, f.message) for f in mine]
        return
    where = {(f.location.file.rsplit("/", 1)[-1], f.location.line) for f in fails if f.location}
    marked = {(rel.rsplit("/", 1)[-1], line) for rel, line in env.marked()}
    assert marked and marked <= where, f"expected findings at {sorted(marked)}, got {sorted(where)}: {[f.message for f in fails]}"
    assert any("identity headers in clear" in f.message for f in fails), [f.message for f in fails]


# K8S-ARTIFACTS's other half: the pins and the repository set outside the catalogue. Each fails the
# rule at the marked line of the vars file; the opt-out from pinning is visible to the gate.
ARTIFACT_VARIABLES: dict[str, str] = {
    "opt out of pinning": f"k8s_node_artifacts_unpinned: true{F}\n",
    "control plane opts out": f"k8s_control_plane_artifacts_unpinned: yes{F}\n",
    "plain http repository": f"k8s_node_files_repo: http://artifacts.hy-idc.internal/k8s{F}\n",
    "file url": f"k8s_control_plane_files_repo: file:///srv/artifacts{F}\n",
    "newline in the url": f'k8s_node_files_repo: "https://a.hy-idc.internal/k8s\\n--insecure"{F}\n',
    "templated url": f'k8s_node_files_repo: "https://{{{{ lookup(\'env\', \'X\') }}}}/k8s"{F}\n',
    "relative directory": f"k8s_node_files_dir: ../../tmp/evil{F}\n",
    "pins replaced": f"idcpilot_artifact_checksums: {{}}{F}\n",
    "own checksums": f"k8s_node_checksums: {{kubelet: {'0' * 64}}}{F}\n",
    "no certificate check": f"k8s_control_plane_validate_certs: false{F}\n",
}


@pytest.mark.parametrize("case", sorted(ARTIFACT_VARIABLES))
def test_artifact_variables_that_weaken_pinning_fail_k8s_artifacts(case, make_env):
    env = make_env(files={"group_vars/role_k8s_node.yml": ARTIFACT_VARIABLES[case]})
    report = check(env, only=["K8S-ARTIFACTS"])
    fails = [f for f in report.findings if f.rule.id == "K8S-ARTIFACTS" and f.status == "fail"]
    where = {(f.location.file.rsplit("/", 1)[-1], f.location.line) for f in fails if f.location}
    marked = {(rel.rsplit("/", 1)[-1], line) for rel, line in env.marked()}
    assert marked and marked == where, f"expected findings at {sorted(marked)}, got {sorted(where)}: {[f.message for f in fails]}"


@pytest.mark.parametrize("text", ["k8s_node_files_repo: https://artifacts.hy-idc.internal/k8s",
                                  "k8s_control_plane_files_dir: /srv/idcpilot/bundle/files"])
def test_an_https_repository_or_a_local_directory_passes_k8s_artifacts(text, make_env):
    report = check(make_env(files={"group_vars/all.yml": text + "\n"}), only=["K8S-ARTIFACTS"])
    assert [f.message for f in report.findings if f.rule.id == "K8S-ARTIFACTS" and f.status == "fail"] == []


def all_rule_ids() -> list[str]:
    return [lr.rule.id for lr in registry.load_rules(registry.policy_dir())]


def test_every_rule_has_a_case():
    assert sorted(CASES) == sorted(all_rule_ids())


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes_on_the_passing_fixture(rule_id, make_env):
    _, _, medits = CASES[rule_id]
    env = make_env(manifest_edits=[] if medits is not None else None)
    report = check(env, only=[rule_id])
    mine = [f for f in report.findings if f.rule.id == rule_id]
    assert mine, "the rule produced no finding"
    assert [f for f in mine if f.status == "fail"] == []
    assert any(f.status == "pass" for f in mine), [(f.status, f.message) for f in mine]


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fails_on_the_failing_fixture_at_the_marked_line(rule_id, make_env):
    edits, files, medits = CASES[rule_id]
    env = make_env(estate_edits=edits, files=files, manifest_edits=medits)
    report = check(env, only=[rule_id])
    fails = [f for f in report.findings if f.rule.id == rule_id and f.status == "fail"]
    assert fails, f"{rule_id} did not fail"
    where = {(f.location.file.rsplit("/", 1)[-1] if f.location else None, f.location.line if f.location else None) for f in fails}
    marked = {(rel.rsplit("/", 1)[-1], line) for rel, line in env.marked()}
    assert marked, "the failing fixture marks no line"
    assert marked <= where, f"expected findings at {sorted(marked)}, got {sorted(where, key=str)}: {[f.message for f in fails]}"
    for f in fails:
        assert f.location is not None and f.location.file.endswith(tuple(env.files)), f.location
        assert f.message and f.target


def test_namespace_less_objects_land_where_the_cluster_puts_them():
    from idcpilot.policy.k8s import ManifestSet

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    ms = ManifestSet.from_plan({"c1": [pod, role], "c2": [pod]}, {"c2": "team"})
    assert [(m.cluster, m.namespace) for m in ms.items] == [("c1", "default"), ("c1", None), ("c2", "team")]
    assert ms.items[0].target == "k8s/c1/default/Pod/p"


@pytest.mark.parametrize("body, paths", [
    ({"kind": "Pod", "spec": {"containers": []}}, [("spec",)]),
    ({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}},
     [("spec", "jobTemplate", "spec", "template", "spec")]),
    ({"kind": "Rollout", "spec": {"template": {"metadata": {"annotations": {"a": "b"}}, "spec": {"containers": []}}}},
     [("spec", "template", "spec")]),
    ({"kind": "Workflow", "spec": {"templates": [{"name": "a", "podSpecPatch": "x"}, {"name": "b", "spec": {"containers": [{}]}}]}},
     [("spec", "templates", 1, "spec")]),
    ({"kind": "ConfigMap", "data": {"containers": "not a pod"}}, []),
])
def test_pod_specs_are_found_by_shape(body, paths):
    from idcpilot.policy.k8s import pod_specs

    found = pod_specs(body)
    assert [p.path for p in found] == paths
    if body["kind"] == "Rollout":
        assert found[0].metadata == {"annotations": {"a": "b"}}


def test_deep_nesting_does_not_exhaust_the_stack():
    from idcpilot.policy.k8s import pod_specs

    body: dict = {"kind": "X"}
    node = body
    for _ in range(50_000):
        node["n"] = {}
        node = node["n"]
    node["containers"] = [{"name": "c"}]
    assert len(pod_specs(body)) == 1


def _rule_module(rule_id: str):
    return next(lr.module for lr in registry.load_rules(registry.policy_dir()) if lr.rule.id == rule_id)


@pytest.mark.parametrize("spec, opened", [
    ({"podSelector": {}, "ingress": [{}]}, [("ingress", 0)]),
    ({"podSelector": {}, "ingress": [{"from": []}]}, [("ingress", 0)]),
    ({"podSelector": {}, "ingress": [{"from": [{}], "ports": [{"protocol": "TCP"}]}]}, [("ingress", 0)]),
    ({"podSelector": {}, "ingress": [{"ports": [{"port": 1, "endPort": 65535}]}]}, [("ingress", 0)]),
    ({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}]}]}, [("egress", 0)]),
    ({"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {}}]}]}, [("egress", 0)]),
    # narrower than everything: a port, a namespace, the namespace's own pods, addresses with exceptions
    ({"podSelector": {}, "ingress": [{"ports": [{"port": 8080}]}]}, []),
    ({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}, []),
    ({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"a": "b"}}}]}]}, []),
    ({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}]}, []),
    # rules of a direction the policy does not govern are ignored by Kubernetes
    ({"podSelector": {}, "policyTypes": ["Egress"], "ingress": [{}], "egress": [{"ports": [{"port": 53}]}]}, []),
])
def test_policies_that_reopen_everything(spec, opened):
    netpol = _rule_module("K8S-NETPOL")
    assert list(netpol.reopened({"spec": spec})) == opened


RESTRICTED_CONTAINER = {"name": "c", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
RESTRICTED_POD = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                  "containers": [RESTRICTED_CONTAINER]}


def _pod(pod_edit=None, container_edit=None, extra=None):
    import copy

    spec = copy.deepcopy(RESTRICTED_POD)
    spec.update(pod_edit or {})
    spec["containers"][0]["securityContext"].update(container_edit or {})
    spec.update(extra or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize("body, problem", [
    (_pod(), None),
    (_pod(container_edit={"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}), None),
    (_pod(pod_edit={"securityContext": {}}, container_edit={"runAsNonRoot": True, "seccompProfile": {"type": "Localhost"}}), None),
    (_pod(pod_edit={"volumes": [{"name": "v", "emptyDir": {}}, {"name": "s", "projected": {"sources": []}}]}), None),
    (_pod(pod_edit={"hostIPC": True}), "hostIPC: true"),
    (_pod(pod_edit={"volumes": [{"name": "v", "hostPath": {"path": "/etc"}}]}), "hostPath volume 'v' ('/etc')"),
    (_pod(pod_edit={"volumes": [{"name": "n", "nfs": {"server": "x", "path": "/"}}]}), "volume 'n' of type 'nfs'"),
    (_pod(container_edit={"capabilities": {"drop": ["ALL"], "add": ["NET_RAW"]}}), "adds capabilities 'NET_RAW'"),
    (_pod(container_edit={"capabilities": {"drop": ["NET_RAW"]}}), "does not drop ALL"),
    (_pod(pod_edit={"securityContext": {"runAsNonRoot": True}}), "seccompProfile unset"),
    (_pod(container_edit={"runAsUser": 0}), "runAsUser: 0"),
    (_pod(container_edit={"procMount": "Unmasked"}), "procMount 'Unmasked'"),
    (_pod(pod_edit={"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                                        "sysctls": [{"name": "kernel.msgmax", "value": "1"}]}}), "unsafe sysctl 'kernel.msgmax'"),
    (_pod(container_edit={"seLinuxOptions": {"type": "spc_t"}}), "seLinuxOptions"),
    (_pod(container_edit={"windowsOptions": {"hostProcess": True}}), "hostProcess"),
    (_pod(extra={"initContainers": [{"name": "init", "securityContext": {"privileged": True}}]}), "container 'init' privileged"),
    (_pod(extra={"ephemeralContainers": [{"name": "dbg"}]}), "container 'dbg' does not set allowPrivilegeEscalation"),
    ({**_pod(), "metadata": {"name": "p", "annotations": {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}}},
     "AppArmor unconfined for 'c'"),
])
def test_the_restricted_profile_per_pod(body, problem):
    from idcpilot.policy.k8s import Manifest

    psa = _rule_module("K8S-PSA")
    [pod] = Manifest("c", body).pods
    found = [p for p, _ in psa.pod_problems(pod)]
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


# MLPS3-TLS over the node exporter every host runs: TLS with the host's estate certificate unless a
# variable turns it off, and turning it off from any place Ansible reads variables fails the rule
# at the line that does it.
NODE_EXPORTER_PLAIN = {
    "group_vars file": ([], {"group_vars/all.yml": f"---\nmonitoring_tls_enabled: false{F}\n"}),
    "host_vars file": ([], {"host_vars/bj-core-1-bastion.yml": f"monitoring_tls_enabled: no{F}\n"}),
    "catalogue host vars": ([('- {name: gz-edge-1-legacy-01, roles: [baseline, monitoring], automated: false}',
                              f'- {{name: gz-edge-1-legacy-01, roles: [baseline, monitoring], automated: false,\n'
                              f'           vars: {{monitoring_tls_enabled: false}}}}{F}')], {}),
    "a template is not a literal true": ([], {"group_vars/role_cdn_node.yml": f"monitoring_tls_enabled: \"{{{{ 0 }}}}\"{F}\n"}),
    # the shared certificate role's variables are the importing role's to set, never an estate's
    "certificate directory redirected": ([], {"group_vars/all.yml": f"---\nestate_certificate_dir: /tmp/certs{F}\n"}),
    "certificate service renamed": ([], {"host_vars/bj-core-1-bastion.yml": f"estate_certificate_service: gateway{F}\n"}),
}


@pytest.mark.parametrize("case", sorted(NODE_EXPORTER_PLAIN))
def test_node_exporter_in_clear_fails_mlps3_tls(case, make_env):
    estate_edits, files = NODE_EXPORTER_PLAIN[case]
    env = make_env(estate_edits=estate_edits, files=files)
    fails = [f for f in check(env, only=["MLPS3-TLS"]).findings if f.rule.id == "MLPS3-TLS" and f.status == "fail"]
    where = {(f.location.file.rsplit("/", 1)[-1], f.location.line) for f in fails if f.location}
    marked = {(rel.rsplit("/", 1)[-1], line) for rel, line in env.marked()}
    assert marked and marked <= where, f"expected findings at {sorted(marked)}, got {sorted(where)}: {[f.message for f in fails]}"
    variable = next(v for v in ("monitoring_tls_enabled", "estate_certificate_dir", "estate_certificate_service")
                    if v in str(NODE_EXPORTER_PLAIN[case]))
    assert any(variable in f.message for f in fails), [f.message for f in fails]
