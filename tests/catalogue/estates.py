"""Build small catalogues in memory for property tests and benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idcpilot.catalogue import Catalogue
from idcpilot.catalogue.load import build
from idcpilot.yamlsource import SourceMap

SUPERNETS = {
    "management": {"cidrs": ["10.64.0.0/12"], "prefixLength": 24},
    "service": {"cidrs": ["10.80.0.0/12"], "prefixLength": 24},
    "overlay": {"cidrs": ["10.96.0.0/16"], "prefixLength": 28},
    "loopback": {"cidrs": ["10.97.0.0/16"], "prefixLength": 28},
    "pod": {"cidrs": ["10.128.0.0/9"], "prefixLength": 20},
    "serviceCidr": {"cidrs": ["10.112.0.0/12"], "prefixLength": 24},
}


def site(name: str, hosts: int, wan: bool = True, k8s: int = 0) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    if hosts:
        entries.append({"group": f"{name}-h", "count": hosts, "namePattern": f"{name}-h-{{index:03d}}"})
    if wan:
        entries.append({"name": f"{name}-wan", "roles": ["baseline", "sdwan_edge"]})
    if k8s:
        entries.append({"group": f"{name}-k8s", "count": k8s, "namePattern": f"{name}-k8s-{{index:02d}}", "roles": ["baseline", "k8s_node"]})
    return {"name": name, "tier": "edge", "region": "r1", "dataDomain": "d1", "pue": {"design": 1.3}, "hosts": entries}


def estate(sites: list[dict[str, Any]], clusters: list[dict[str, Any]] | None = None, supernets: dict | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "idcpilot/v1",
        "kind": "Estate",
        "metadata": {"name": "prop"},
        "spec": {
            "regionsInScope": ["r1"],
            "dataDomains": {"d1": ["r1"]},
            "ntpServers": ["10.0.0.1"],
            "registry": "reg:5000",
            "managementCidrs": ["10.0.0.0/24"],
            "supernets": supernets or SUPERNETS,
            "sites": sites,
            "clusters": clusters or [],
        },
    }


def catalogue(data: dict[str, Any], root: Path = Path("mem")) -> Catalogue:
    return build(data, SourceMap(str(root / "estate.yaml")), root / "estate.yaml")
