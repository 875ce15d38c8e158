"""Every port a role opens is declared by the one source the firewall, the on-host self-check and
verify read (MLPS3-MINIMAL), for the lab estate's hosts.

The SD-WAN edges' ports are read back from what the sdwan_edge role renders (each tunnel's
``ListenPort``) and from the FRR daemons it enables (bgpd: 179/tcp; bfdd: 3784, 3785 (echo) and 4784/udp and
one socket per session bound to a port of RFC 5881's source range 49152-65535): each one must
be declared by ``idcpilot.hostchecks.host_ports`` as verify reads it, as the baseline's self-check
gets it from roles/baseline/tasks/compliance.yml, and the baseline firewall must open it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from idcpilot.hostchecks import host_ports, undeclared_listeners
from idcpilot.verify.suites.baseline_support import declared_ports
from tests.roles.test_templates_hostile import REPO, TASKS, Renderer, lab_inventory

#: What FRR's daemons listen on (FRR's own constants, not the product's declaration).
FRR_SOCKETS = {
    "bgpd": [("tcp", "0.0.0.0", 179), ("tcp", "[::]", 179)],
    "bfdd": [("udp", "0.0.0.0", 3784), ("udp", "0.0.0.0", 4784), ("udp", "[::]", 3784), ("udp", "[::]", 3785), ("udp", "[::]", 4784)],
}
BFD_SOURCE_LOW, BFD_SOURCE_HIGH = 49152, 65535


def _hostvars(host: str) -> dict[str, Any]:
    inv = lab_inventory()
    return {**inv["all"]["vars"], **inv["_meta"]["hostvars"][host]}


def _edges() -> list[str]:
    return sorted(lab_inventory()["role_sdwan_edge"]["hosts"])


def _renderer(template: str, host: str) -> Renderer:
    task = next(t for t in TASKS if t.id == template)
    r = Renderer(task)
    r.vars.update(_hostvars(host))
    r.vars["inventory_hostname"] = host
    return r


def _ss(sockets: list[tuple[str, str, int, str | None]]) -> str:
    """``ss -Hltnup`` lines for (proto, address, port, process)."""
    lines = []
    for proto, address, port, process in sockets:
        state = "LISTEN" if proto == "tcp" else "UNCONN"
        users = f' users:(("{process}",pid=4242,fd=7))' if process else ""
        lines.append(f"{proto}   {state} 0      0      {address}:{port}      0.0.0.0:*{users}")
    return "\n".join(lines) + "\n"


def _edge_sockets(host: str) -> list[tuple[str, str, int, str | None]]:
    """What an SD-WAN edge of the lab listens on once the sdwan_edge role ran."""
    tunnels = _renderer("sdwan_edge/wg-tunnel.conf.j2", host).renderings()
    ports = [int(m) for t in tunnels for m in re.findall(r"^ListenPort = (\d+)$", t.text, re.M)]
    assert len(ports) == len(tunnels) >= 2, [t.text for t in tunnels]
    defaults = yaml.safe_load((REPO / "roles/sdwan_edge/defaults/main.yml").read_text())
    assert defaults["sdwan_edge_bfd_enabled"] and "bfdd" in defaults["sdwan_edge_frr_daemons"]
    overlay = _hostvars(host)["idcpilot_sdwan"]["overlay_address"]
    sockets = [("udp", "0.0.0.0", p, None) for p in ports] + [("udp", "[::]", p, None) for p in ports]  # kernel WireGuard: no process
    for daemon in defaults["sdwan_edge_frr_daemons"]:
        sockets += [(proto, addr, port, daemon) for proto, addr, port in FRR_SOCKETS.get(daemon, [])]
    # one source socket per BFD session, counting up from the range's start (re-created sessions go on counting)
    sockets += [("udp", f"{overlay}%wg-peer{i}", BFD_SOURCE_LOW + i, "bfdd") for i in range(len(tunnels) + 3)]
    sockets += [("udp", overlay, BFD_SOURCE_HIGH, "bfdd"), ("tcp", "[::]", 22, "sshd"), ("tcp", "0.0.0.0", 9100, "prometheus-node")]
    return sockets


@pytest.mark.parametrize("host", _edges())
def test_every_sdwan_edge_port_is_declared_where_verify_reads_it(host: str) -> None:
    hostvars = _hostvars(host)
    assert "sdwan_edge" in hostvars["idcpilot_roles"]
    assert undeclared_listeners(_ss(_edge_sockets(host)), declared_ports(hostvars)) == []


@pytest.mark.parametrize("host", _edges())
def test_undeclared_sockets_on_an_edge_are_still_found(host: str) -> None:
    allowed = declared_ports(_hostvars(host))
    rogue = _ss([("udp", "0.0.0.0", 50000, "nc"), ("tcp", "0.0.0.0", 51999, "python3"), ("udp", "10.213.0.9", 3786, "bfdd"),
                 ("udp", "127.0.0.1", 50001, "nc")])
    assert undeclared_listeners(rogue, allowed) == ["udp 0.0.0.0:50000 (nc)", "tcp 0.0.0.0:51999 (python3)", "udp 10.213.0.9:3786 (bfdd)"]


@pytest.mark.parametrize("host", _edges())
def test_the_self_check_gets_the_declaration_verify_reads(host: str) -> None:
    """roles/baseline/tasks/compliance.yml hands the host the same inputs verify reads."""
    loader = DataLoader()
    tasks = loader.load_from_file(str(REPO / "roles/baseline/tasks/compliance.yml"), trusted_as_template=True)
    settings = next(t for t in tasks if "ansible.builtin.set_fact" in t)["ansible.builtin.set_fact"]["baseline_compliance_settings"]
    variables = {**loader.load_from_file(str(REPO / "roles/baseline/defaults/main.yml"), trusted_as_template=True), **_hostvars(host)}
    ports = Templar(loader=loader, variables=variables).template(settings["ports"])
    on_host = host_ports(ports["ssh"], ports["roles_table"], ports["roles"], ports["declared"], ports["overlay"])
    assert sorted(on_host, key=str) == sorted(declared_ports(_hostvars(host)), key=str)


@pytest.mark.parametrize("host", _edges())
def test_the_baseline_firewall_opens_every_declared_edge_port(host: str) -> None:
    (rendering,) = _renderer("baseline/nftables.conf.j2", host).renderings()
    opened = {"tcp": set(), "udp": set()}
    for proto, ports in re.findall(r"\b(tcp|udp) dport \{ ([^}]*) \} accept", rendering.text):
        opened[proto] |= {p.strip() for p in ports.split(",")}
    firewall = _hostvars(host)["idcpilot_sdwan"]["firewall"]
    for proto in ("tcp", "udp"):
        assert set(firewall[proto]) <= opened[proto], (proto, rendering.text)
    assert not any(str(BFD_SOURCE_LOW) in line for line in rendering.text.splitlines() if "accept" in line), "bound ports stay closed"


def test_kubernetes_ports_of_the_contract_are_declared() -> None:
    """API server and etcd on the management address, the kubelet, and the loopback-only ones."""
    host = sorted(lab_inventory()["role_k8s_control_plane"]["hosts"])[0]
    hostvars = _hostvars(host)
    mgmt = hostvars["ansible_host"]
    sockets = [("tcp", mgmt, 6443, "kube-apiserver"), ("tcp", mgmt, 2379, "etcd"), ("tcp", "127.0.0.1", 2379, "etcd"),
               ("tcp", mgmt, 2380, "etcd"), ("tcp", "[::]", 10250, "kubelet"), ("tcp", "127.0.0.1", 10257, "kube-controller"),
               ("tcp", "127.0.0.1", 10259, "kube-scheduler"), ("tcp", "127.0.0.1", 10248, "kubelet")]
    assert undeclared_listeners(_ss(sockets), declared_ports(hostvars)) == []
    loud = _ss([("tcp", "0.0.0.0", 10257, "kube-controller"), ("tcp", "0.0.0.0", 10259, "kube-scheduler")])
    assert len(undeclared_listeners(loud, declared_ports(hostvars))) == 2  # not on loopback: refused
