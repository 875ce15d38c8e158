"""Verify roles/monitoring (PILOT-TRANSPARENCY): every host reports its resource usage, on the
management network only, with the catalogue facts the report needs."""

from __future__ import annotations

import re
import urllib.request

import pytest

from idcpilot.verify.suites.baseline_support import setting

pytestmark = [pytest.mark.group("role_monitoring")]


def _metrics(hostvars) -> str:
    port = setting(hostvars, "monitoring_port", role="monitoring")
    with urllib.request.urlopen(f"http://{hostvars['ansible_host']}:{port}/metrics", timeout=10) as response:  # noqa: S310 lab address
        return response.read().decode()


@pytest.mark.rule("PILOT-TRANSPARENCY")
def test_node_exporter_runs_from_the_distribution(host):
    assert host.package("prometheus-node-exporter").is_installed
    service = host.service("prometheus-node-exporter")
    assert service.is_running and service.is_enabled


@pytest.mark.rule("PILOT-TRANSPARENCY")
def test_listens_on_the_management_address_only(host, hostvars):
    port = setting(hostvars, "monitoring_port", role="monitoring")
    listeners = [s for s in host.socket.get_listening_sockets() if s.startswith("tcp://") and s.endswith(f":{port}")]
    assert listeners == [f"tcp://{hostvars['ansible_host']}:{port}"], listeners


@pytest.mark.rule("PILOT-TRANSPARENCY")
def test_resource_usage_is_served(hostvars, measure):
    text = _metrics(hostvars)
    for family in ("node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_filesystem_avail_bytes", "node_network_receive_bytes_total", "node_load1"):
        assert re.search(rf"^{family}[{{ ]", text, re.M), f"{family} missing"
    load = float(re.search(r"^node_load1 (\S+)", text, re.M).group(1))
    measure("node_load1", load)


@pytest.mark.rule("PILOT-TRANSPARENCY")
def test_catalogue_facts_as_metrics(hostvars):
    text = _metrics(hostvars)
    info = re.search(r"^idcpilot_host_info\{(.*)\} 1$", text, re.M)
    assert info, "idcpilot_host_info missing (textfile collector)"
    labels = dict(re.findall(r'(\w+)="([^"]*)"', info.group(1)))
    assert labels["estate"] == hostvars["idcpilot_estate"]
    assert labels["site"] == hostvars["idcpilot_site"]
    assert labels["tier"] == hostvars["idcpilot_tier"]
    assert labels["host"] == hostvars["inventory_hostname"] if "inventory_hostname" in hostvars else labels["host"]
    roles = set(re.findall(r'^idcpilot_host_role\{[^}]*role="([^"]+)"[^}]*\} 1$', text, re.M))
    assert roles == set(hostvars["idcpilot_roles"]), roles
    assert not re.search(r"^node_textfile_scrape_error 1", text, re.M), "textfile collector reports an error"
