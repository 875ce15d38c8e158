"""Regenerate the broken-catalogue corpus from base.yaml (run by hand, commit the output).

Each case is one mistake applied to the valid base catalogue; test_broken_corpus.py checks
that `idcpilot validate` reports it at the expected file:line:column and field path.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = (HERE / "base.yaml").read_text()

# name -> (old text, new text); old must occur in base.yaml exactly once.
CASES: dict[str, tuple[str, str]] = {
    "malformed-unclosed-flow": ("ntpServers: [10.9.0.1]", "ntpServers: [10.9.0.1"),
    "malformed-bad-indent": ("  registry: registry.mini.internal:5000", "  registry: registry.mini.internal:5000\n    oops: 1\n  - x"),
    "duplicate-key": ("  registry: registry.mini.internal:5000", "  registry: registry.mini.internal:5000\n  registry: other:5000"),
    "unknown-top-field": ("  drills:", "  drils:\n    - {name: h0, date: 2026-01-01}\n  drills:"),
    "unknown-nested-field": ("pue: {design: 1.25, measured: 1.3}", "pue: {desing: 1.25, measured: 1.3}"),
    "wrong-type-number": ("pue: {design: 1.3}", "pue: {design: low}"),
    "pue-below-one": ("pue: {design: 1.3}", "pue: {design: 0.9}"),
    "invalid-tier": ("tier: edge", "tier: core"),
    "missing-region": ("      region: cn-south\n", ""),
    "missing-api-version": ("apiVersion: idcpilot/v1\n", ""),
    "wrong-api-version": ("apiVersion: idcpilot/v1", "apiVersion: idcpilot/v2"),
    "wrong-kind": ("kind: Estate", "kind: Cluster"),
    "bad-site-name": ("- name: south-1\n", "- name: South_1\n"),
    "link-unknown-site": ("{a: north-1, b: south-1,", "{a: north-1, b: west-1,"),
    "cluster-node-unknown": ("nodes: [north-1-k8s]", "nodes: [north-1-k8s, north-1-k8s-09]"),
    "bastion-unknown-host": ("bastion: {host: north-1-bastion,", "bastion: {host: north-1-jump,"),
    "duplicate-site": ("    - name: south-1\n      tier: edge", "    - name: north-1\n      tier: edge"),
    "duplicate-host": ("{name: south-1-wan,", "{name: north-1-wan,"),
    "group-name-clash": ("namePattern: \"north-1-cdn-{index:02d}\"", "namePattern: \"north-1-k8s-{index:02d}\""),
    "group-missing-count": ("{group: north-1-cdn, count: 4,", "{group: north-1-cdn,"),
    "pattern-without-index": ("namePattern: \"north-1-cdn-{index:02d}\"", "namePattern: \"north-1-cdn\""),
    "name-and-group": ("{name: south-1-zt,", "{name: south-1-zt, group: zts,"),
    "overlapping-pools": ("pod: {cidrs: [10.24.0.0/14]", "pod: {cidrs: [10.20.0.0/14]"),
    "exhausted-pool": ("management: {cidrs: [10.20.0.0/22], prefixLength: 26}", "management: {cidrs: [10.20.0.0/26], prefixLength: 26}"),
    "site-prefix-exhausted": ("{group: north-1-cdn, count: 4,", "{group: north-1-cdn, count: 60,"),
    "invalid-cidr": ("overlay: {cidrs: [10.22.0.0/24]", "overlay: {cidrs: [10.22.0.300/24]"),
    "host-bits-set": ("loopback: {cidrs: [10.23.0.0/24]", "loopback: {cidrs: [10.23.0.1/24]"),
    "unknown-data-domain": ("dataDomain: south", "dataDomain: west"),
    "region-outside-domain": ("      region: cn-south\n", "      region: cn-north\n"),
    "node-lacks-role": ("nodes: [north-1-k8s]", "nodes: [north-1-k8s, north-1-wan]"),
    "app-unknown-principal": ("allow: [ops]", "allow: [ops, finance]"),
    "hub-spoke-without-hubs": ("    hubs: [north-1]\n", ""),
    "self-link": ("{a: north-1, b: south-1,", "{a: north-1, b: north-1,"),
    "replica-unknown-site": ("backups: [north-1]}", "backups: [north-1], replicas: [east-1]}"),
    "service-unknown-cluster": ("clusters: [north-k8s]", "clusters: [north-k8s, south-k8s]"),
    "bad-k8s-version": ("kubernetesVersion: 1.37.2", "kubernetesVersion: v1.30"),
    "negative-latency-budget": ("latencyBudgetMs: 8", "latencyBudgetMs: -2"),
    "pinned-address-outside-site": ("{name: south-1-wan,", "{name: south-1-wan, managementAddress: 10.99.0.5,"),
    "link-end-without-edge-host": ("{name: south-1-wan, roles: [baseline, monitoring, sdwan_edge]}", "{name: south-1-wan, roles: [baseline, monitoring]}"),
    "sync-minutes-not-int": ("syncMinutes: 10", "syncMinutes: often"),
    "bad-drill-date": ("date: 2026-05-01", "date: 2026-13-45"),
    "pinned-prefix-outside-pool": ("      fiveG: {radiusKm: 6}\n", "      fiveG: {radiusKm: 6}\n      prefixes: {management: 10.50.0.0/26}\n"),
    "bad-serial": ("  registry: registry.mini.internal:5000", "  registry: registry.mini.internal:5000\n  automation: {serial: lots}"),
    "clusters-not-a-list": ("    - name: north-k8s\n      site: north-1\n      nodes: [north-1-k8s]\n      kubernetesVersion: 1.37.2\n", "    north-k8s\n"),
}


def main() -> None:
    out = HERE / "broken"
    out.mkdir(exist_ok=True)
    for name, (old, new) in CASES.items():
        assert BASE.count(old) == 1, f"{name}: {old!r} occurs {BASE.count(old)} times"
        (out / f"{name}.yaml").write_text(BASE.replace(old, new))
    (out / "empty.yaml").write_text("")
    (out / "top-level-list.yaml").write_text("- apiVersion: idcpilot/v1\n- kind: Estate\n")
    (out / "not-utf8.yaml").write_bytes(b"apiVersion: idcpilot/v1\nkind: \xff\xfe\n")
    print(f"wrote {len(CASES) + 3} cases to {out}")


if __name__ == "__main__":
    main()
