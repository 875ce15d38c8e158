"""Synthetic estates for benchmarks: N sites, M hosts, K clusters, written as real estate.yaml.

    python bench/synthetic.py OUT_DIR --sites 100 --hosts 10000 --clusters 1000 [--listed]

Hosts are spread evenly over the sites: a few single hosts per site (WAN edge, gateway,
bastion) and the rest in host groups (CDN nodes, Kubernetes nodes), or, with --listed, every
host written out on its own (the worst case for the YAML parser).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

TIERS = ("backbone", "edge", "mobile")
REGIONS = ("cn-north", "cn-east", "cn-south", "cn-west")


def estate(sites: int = 100, hosts: int = 10_000, clusters: int = 1_000, listed: bool = False) -> dict[str, Any]:
    per_site = max(8, hosts // sites)
    per_site_clusters = max(1, -(-clusters // sites)) if clusters else 0
    k8s_per_cluster = 2
    site_list, cluster_list, links, services = [], [], [], []
    made_clusters = 0
    for s in range(sites):
        name = f"s{s:03d}"
        region = REGIONS[s % len(REGIONS)]
        n_clusters = min(per_site_clusters, clusters - made_clusters)
        k8s = n_clusters * k8s_per_cluster
        singles = [
            {"name": f"{name}-bastion", "roles": ["baseline", "monitoring", "bastion"]},
            {"name": f"{name}-wan", "roles": ["baseline", "monitoring", "sdwan_edge"]},
            {"name": f"{name}-zt", "roles": ["baseline", "monitoring", "zt_gateway"]},
        ]
        cdn = per_site - len(singles) - k8s
        groups = []
        if k8s:
            groups.append({"group": f"{name}-k8s", "count": k8s, "namePattern": f"{name}-k8s-{{index:03d}}",
                           "roles": ["baseline", "monitoring", "k8s_node"]})
        if cdn > 0:
            groups.append({"group": f"{name}-cdn", "count": cdn, "namePattern": f"{name}-cdn-{{index:04d}}",
                           "roles": ["baseline", "monitoring", "cdn_node"]})
        host_entries: list[dict[str, Any]] = list(singles)
        if listed:
            for g in groups:
                for i in range(1, g["count"] + 1):
                    host_entries.append({"name": g["namePattern"].format(index=i), "roles": g["roles"]})
        else:
            host_entries += groups
        site_list.append({
            "name": name, "tier": TIERS[s % 3], "region": region,
            "dataDomain": "north" if region in ("cn-north", "cn-east") else "south",
            "pue": {"design": 1.25, "measured": 1.3},
            **({"fiveG": {"radiusKm": 6}} if TIERS[s % 3] == "mobile" else {}),
            "bastion": {"host": f"{name}-bastion", "twoFactor": True},
            "hosts": host_entries,
        })
        for c in range(n_clusters):
            cname = f"{name}-c{c:02d}"
            nodes = [f"{name}-k8s-{c * k8s_per_cluster + i + 1:03d}" for i in range(k8s_per_cluster)]
            cluster_list.append({"name": cname, "site": name, "nodes": nodes, "kubernetesVersion": "1.37.2"})
            services.append({"name": f"svc-{cname}", "level": "L3", "clusters": [cname],
                             "image": f"registry.synthetic.internal:5000/app/{cname}:1.0.0", "dataClassification": "general"})
        made_clusters += n_clusters
        if s:
            links.append({"a": "s000", "b": name, "latencyBudgetMs": 8, "encryption": "wireguard"})
    return {
        "apiVersion": "idcpilot/v1",
        "kind": "Estate",
        "metadata": {"name": "synthetic"},
        "spec": {
            "regionsInScope": list(REGIONS),
            "dataDomains": {"north": ["cn-north", "cn-east"], "south": ["cn-south", "cn-west"]},
            "ntpServers": ["10.10.0.11"],
            "registry": "registry.synthetic.internal:5000",
            "managementCidrs": ["10.10.0.0/16"],
            "supernets": {
                "management": {"cidrs": ["10.64.0.0/12"], "prefixLength": 24},
                "service": {"cidrs": ["10.80.0.0/12"], "prefixLength": 24},
                "overlay": {"cidrs": ["10.96.0.0/16"], "prefixLength": 28},
                "loopback": {"cidrs": ["10.97.0.0/16"], "prefixLength": 28},
                "pod": {"cidrs": ["10.128.0.0/9"], "prefixLength": 20},
                "serviceCidr": {"cidrs": ["10.112.0.0/12"], "prefixLength": 24},
            },
            "sites": site_list,
            "clusters": cluster_list,
            "sdwan": {"topology": "hub-spoke", "hubs": ["s000"], "links": links},
            "services": services,
            "support": [{"name": "desk", "hours": "24x7", "responseSeconds": 20}],
            "emergency": {lvl: {"owner": "noc", "escalation": ["lead"], "targetHours": 1} for lvl in ("blue", "yellow", "red")},
            "drills": [{"name": "h1", "date": "2026-05-01"}, {"name": "h2", "date": "2026-10-01"}],
        },
    }


def write(out: Path, **kwargs: Any) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "estate.yaml"
    path.write_text(yaml.safe_dump(estate(**kwargs), sort_keys=False, width=200))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--listed", action="store_true", help="write every host out instead of host groups")
    args = parser.parse_args()
    print(write(args.out, sites=args.sites, hosts=args.hosts, clusters=args.clusters, listed=args.listed))


if __name__ == "__main__":
    main()
