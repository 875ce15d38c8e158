"""versions.yaml: the one source of the releases the bundle, the gate and the roles name."""

from __future__ import annotations

import yaml

from idcpilot.bundle import build, versions


def test_versions_load_and_every_release_has_a_recipe_per_component():
    data = versions.load()
    assert data.supported()[0] == "1.37.2"
    release = data.release("v1.37.2")
    assert release is not None and release.component_versions() == {"kubernetes": "1.37.2", "etcd": "3.7.3", "cri-tools": "1.37.0", "kwok": "0.8.0"}
    assert data.release("1.30.4") is None and not versions.provides("1.37.3") and versions.provides("1.37.2")
    assert set(data.components["kubernetes"].binaries) == {"kubeadm", "kubelet", "kubectl", "kube-apiserver",
                                                           "kube-controller-manager", "kube-scheduler", "kube-proxy"}


def test_kubernetes_is_linked_with_its_real_version_and_a_fixed_build_date():
    data = versions.load()
    [job] = [j for j in build.jobs(data, data.kubernetes[:1]) if j.component == "kubernetes"]
    flags = build.ldflags(data, job)
    assert flags.startswith("-s -w ")
    for x in ("k8s.io/component-base/version.gitVersion=v1.37.2", "k8s.io/component-base/version.gitMajor=1",
              "k8s.io/component-base/version.gitMinor=37", "k8s.io/component-base/version.gitTreeState=clean",
              "k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z", "k8s.io/client-go/pkg/version.gitVersion=v1.37.2"):
        assert f"-X {x}" in flags
    assert all(cmd[1] == "-trimpath" for cmd in build.argv(data, job))


def test_roles_and_bundled_estates_name_a_release_the_bundle_provides(repo):
    newest = versions.load().supported()[0]
    defaults = yaml.safe_load((repo / "roles/k8s_node/defaults/main.yml").read_text())
    specs = yaml.safe_load((repo / "roles/k8s_node/meta/argument_specs.yml").read_text())
    assert defaults["k8s_node_kubernetes_version"] == newest
    assert str(specs["argument_specs"]["main"]["options"]["k8s_node_kubernetes_version"]["default"]) == newest
    for env in ("example", "lab"):
        clusters = yaml.safe_load((repo / "inventories" / env / "estate.yaml").read_text())["spec"]["clusters"]
        assert clusters and all(versions.provides(str(c["kubernetesVersion"])) for c in clusters), env
