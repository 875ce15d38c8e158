"""Every broken catalogue gets exit 2, file:line:column, the field path, and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idcpilot.cli.main import app

BROKEN = Path(__file__).parent / "broken"

# case -> an expected problem line, without the file name: "line:column: field: message..."
EXPECTED = {
    "app-unknown-principal": "56:83: spec.apps[0].allow[1]: unknown identity or group 'finance'",
    "bad-drill-date": "64:24: spec.drills[0].date: invalid value '2026-13-45': month must be in 1..12",
    "bad-k8s-version": "45:7: spec.clusters[0].kubernetesVersion: must match ^1\\.[0-9]{2}\\.[0-9]+$ (got 'v1.30')",
    "bad-serial": "12:16: spec.automation.serial: must be a count or a percentage like '25%'",
    "bad-site-name": "32:7: spec.sites[1].name: must be a lower-case DNS label: a-z, 0-9 and '-' (got 'South_1')",
    "bastion-unknown-host": "26:17: spec.sites[0].bastion.host: unknown host 'north-1-jump'",
    "cluster-node-unknown": "44:28: spec.clusters[0].nodes[1]: unknown host or host group 'north-1-k8s-09'",
    "clusters-not-a-list": "41:3: spec.clusters: must be a list (got text 'north-k8s')",
    "duplicate-host": "39:12: spec.sites[1].hosts[0].name: duplicate host name 'north-1-wan' (also declared at line 29)",
    "duplicate-key": "12:3: spec.registry: duplicate key 'registry' (first defined at line 11)",
    "duplicate-site": "32:7: spec.sites[1].name: duplicate name 'north-1' (first at line 21)",
    "empty": '1:1: the catalogue must be a mapping (apiVersion, kind, metadata, spec)',
    "exhausted-pool": "32:7: spec.sites[1].name: the management pool (10.20.0.0/26) is exhausted: no free /26 for site 'south-1'",
    "group-missing-count": '31:11: spec.sites[0].hosts[3]: a host group needs count and namePattern',
    "group-name-clash": "31:42: spec.sites[0].hosts[3].namePattern: duplicate host name 'north-1-k8s-01' (also declared at line 30)",
    "host-bits-set": "17:24: spec.supernets.loopback.cidrs[0]: '10.23.0.1/24' has host bits set (did you mean 10.23.0.0/24?)",
    "hub-spoke-without-hubs": '46:3: spec.sdwan: a hub-spoke topology needs at least one hub',
    "invalid-cidr": "16:23: spec.supernets.overlay.cidrs[0]: must be an IPv4 prefix like 10.0.0.0/16 (no leading zeros) (got '10.22.0.300/24')",
    "invalid-tier": "33:7: spec.sites[1].tier: must be one of 'backbone', 'edge' or 'mobile' (got 'core')",
    "link-end-without-edge-host": "50:22: spec.sdwan.links[0].b: site 'south-1' has no host with role sdwan_edge",
    "link-unknown-site": "50:22: spec.sdwan.links[0].b: unknown site 'west-1'",
    "malformed-bad-indent": '12:9: malformed YAML: mapping values are not allowed in this context',
    "malformed-unclosed-flow": "11:11: malformed YAML: did not find expected ',' or ']'",
    "missing-api-version": '1:1: apiVersion: required field is missing',
    "missing-region": '32:7: spec.sites[1].region: required field is missing',
    "name-and-group": '40:11: spec.sites[1].hosts[1]: give either name (a single host) or group (a host group), not both',
    "negative-latency-budget": '50:34: spec.sdwan.links[0].latencyBudgetMs: must be a number > 0.0 (got -2)',
    "node-lacks-role": "44:28: spec.clusters[0].nodes[1]: host 'north-1-wan' lacks role 'k8s_node'",
    "not-utf8": '2:7: not UTF-8 text (invalid start byte)',
    "overlapping-pools": '18:19: spec.supernets.pod.cidrs[0]: 10.20.0.0/14 overlaps loopback pool 10.23.0.0/24 (line 17)',
    "pattern-without-index": "31:42: spec.sites[0].hosts[3].namePattern: must be lower-case DNS-label text with exactly one {index} or {index:0Nd} (N from 1 to 6)",
    "pinned-address-outside-site": "39:31: spec.sites[1].hosts[0].managementAddress: 10.99.0.5 is outside site 'south-1' management prefix 10.20.0",
    "pinned-prefix-outside-pool": '38:18: spec.sites[1].prefixes.management: 10.50.0.0/26 is outside the management pool (10.20.0.0/22)',
    "pue-below-one": '36:13: spec.sites[1].pue.design: must be a number >= 1.0 (got 0.9)',
    "region-outside-domain": "34:7: spec.sites[1].region: region 'cn-north' is not in data domain 'south' (its regions: cn-south)",
    "replica-unknown-site": "60:144: spec.dataStores[0].replicas[0]: unknown site 'east-1'",
    "self-link": '50:22: spec.sdwan.links[0].b: a link joins two different sites',
    "service-unknown-cluster": "62:52: spec.services[0].clusters[1]: unknown cluster 'south-k8s'",
    "site-prefix-exhausted": "27:7: spec.sites[0].hosts: site 'north-1' management prefix 10.20.0.0/26 is exhausted: 12 more host(s) need addresses (53 usable)",
    "sync-minutes-not-int": "58:62: spec.threatIntel[0].syncMinutes: must be an integer (got text 'often')",
    "top-level-list": '1:1: the catalogue must be a mapping (apiVersion, kind, metadata, spec)',
    "unknown-data-domain": "35:7: spec.sites[1].dataDomain: unknown data domain 'west'",
    "unknown-nested-field": "25:13: spec.sites[0].pue.desing: unknown field 'desing' (did you mean 'design'?)",
    "unknown-top-field": "63:3: spec.drils: unknown field 'drils' (did you mean 'drills'?)",
    "wrong-api-version": "1:1: apiVersion: must be one of 'idcpilot/v1' (got 'idcpilot/v2')",
    "wrong-kind": "2:1: kind: must be one of 'Estate' (got 'Cluster')",
    "wrong-type-number": "36:13: spec.sites[1].pue.design: must be a number (got text 'low')",
}


def test_corpus_is_complete() -> None:
    files = {p.stem for p in BROKEN.glob("*.yaml")}
    assert files == set(EXPECTED), "regenerate with tests/catalogue/make_broken.py and update EXPECTED"
    assert len(files) >= 25


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_catalogue_is_reported(case: str) -> None:
    path = f"tests/catalogue/broken/{case}.yaml"
    result = CliRunner().invoke(app, ["validate", path])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    problems = [line for line in result.stderr.splitlines() if line.startswith(path + ":")]
    assert problems, result.stderr
    assert any(line.startswith(f"{path}:{EXPECTED[case]}") for line in problems), "\n".join(problems)
    assert result.stderr.rstrip().endswith("found")


@pytest.mark.parametrize("case", ["malformed-unclosed-flow", "overlapping-pools", "not-utf8"])
def test_real_process_exit_code(case: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "idcpilot.cli.main", "validate", f"tests/catalogue/broken/{case}.yaml"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith(f"tests/catalogue/broken/{case}.yaml:")


def test_base_of_the_corpus_is_valid() -> None:
    result = CliRunner().invoke(app, ["validate", "tests/catalogue/base.yaml"])
    assert result.exit_code == 0, result.output
