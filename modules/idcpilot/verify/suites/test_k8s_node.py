"""Verify roles/k8s_node: containerd from the distribution pulling only through the estate
registry, kernel prerequisites, swap off, and the offline kubelet/kubeadm/kubectl.

What a container cannot show (module loading, the machine's swap) is skipped with the reason."""

from __future__ import annotations

import re

import pytest

from idcpilot.verify.suites.baseline_support import setting

pytestmark = [pytest.mark.group("role_k8s_node")]


@pytest.mark.rule("K8S-REGISTRY")
def test_containerd_from_distribution_running(host):
    assert host.package("containerd").is_installed
    assert host.service("containerd").is_running and host.service("containerd").is_enabled
    out = host.run("ctr --address /run/containerd/containerd.sock version")
    assert out.rc == 0 and "Server:" in out.stdout, out.stderr


@pytest.mark.rule("K8S-REGISTRY")
def test_images_resolve_only_through_the_estate_registry(host, hostvars):
    registry = hostvars["idcpilot_registry"]
    config = host.file("/etc/containerd/config.toml").content_string
    assert 'config_path = "/etc/containerd/certs.d"' in config
    assert re.search(rf'sandbox_image = "{re.escape(registry)}/', config), "pause image not from the estate registry"
    assert "SystemdCgroup = true" in config
    for name in [registry, *setting(hostvars, "k8s_node_mirrored_registries", role="k8s_node")]:
        hosts_toml = host.file(f"/etc/containerd/certs.d/{name}/hosts.toml")
        assert hosts_toml.exists, f"{name} has no mirror configuration"
        servers = re.findall(r'^(?:server = |\[host\.)"([^"]+)"', hosts_toml.content_string, re.M)
        assert servers and all(s.split("://", 1)[1] == registry for s in servers), f"{name} resolves to {servers}"


@pytest.mark.rule("PILOT-MLPS3")
def test_kernel_modules_and_sysctls(host, hostvars, not_in_container):
    loaded_at_boot = host.file("/etc/modules-load.d/idcpilot-k8s.conf").content_string.split()
    for module in ("overlay", "br_netfilter"):
        assert module in loaded_at_boot
    assert host.sysctl("net.ipv4.ip_forward") == 1
    for key in ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"):
        if not host.file("/proc/sys/" + key.replace(".", "/")).exists:
            not_in_container(f"{key} belongs to the machine's br_netfilter")
            pytest.fail(f"{key} missing: br_netfilter not loaded")
        assert host.sysctl(key) == 1, key
    assert "overlay" in host.file("/proc/filesystems").content_string


@pytest.mark.rule("PILOT-MLPS3")
def test_swap_off(host, not_in_container):
    fstab = [l for l in host.file("/etc/fstab").content_string.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert not [l for l in fstab if re.search(r"\sswap\s", l)], "swap still in /etc/fstab"
    not_in_container("the swap a container sees is the machine's")
    assert host.run("swapon --show --noheadings").stdout.strip() == ""


@pytest.mark.rule("PILOT-MLPS3")
def test_offline_binaries_installed_and_kubelet_enabled(host, hostvars):
    bindir = setting(hostvars, "k8s_node_bin_dir", role="k8s_node")
    version = hostvars.get("k8s_node_kubernetes_version", setting(hostvars, "k8s_node_kubernetes_version", role="k8s_node"))
    for name in setting(hostvars, "k8s_node_binaries", role="k8s_node"):
        binary = host.file(f"{bindir}/{name}")
        assert binary.exists and binary.mode & 0o111 and binary.user == "root", name
        # each binary's own version, without asking a server (kubectl would, and fail offline)
        out = host.run(f"{bindir}/{name} " + {"kubelet": "--version", "kubectl": "version --client"}.get(name, "version"))
        assert out.rc == 0 and version in out.stdout, f"{name}: {out.stdout} {out.stderr}"
    assert "ExecStart=" + bindir + "/kubelet" in host.run("systemctl cat kubelet").stdout
    if setting(hostvars, "k8s_node_mode", role="k8s_node") == "kwok":
        # a simulated node: the kubelet is installed but must not run (kwok answers for the Node)
        assert not host.service("kubelet").is_enabled and not host.service("kubelet").is_running
    else:
        assert host.service("kubelet").is_enabled
