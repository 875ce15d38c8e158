"""Hostile input to the offline bundle and its gate: ``idcpilot bundle build``, ``validate``,
``plan`` and ``check`` on an estate whose clusters name a release the bundle cannot provide.

Every refusal happens before anything is built or written: the bundle root and cache given to
the command stay absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.hostile import copy_estate, idcpilot, output

MARK = "bundle-pwned"


def _bundle(tmp_path: Path, *args: str):
    proc = idcpilot("bundle", "build", *args, "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists(), "nothing is built for refused input"
    return proc


def _cluster_version(version: object):
    def mutate(data):
        data["spec"]["clusters"][0]["kubernetesVersion"] = version
    return mutate


@pytest.mark.parametrize("version, field, words", [
    ("1.30.4", "spec.clusters[0].kubernetesVersion", ["'1.30.4' is not in the offline bundle", "1.37.2"]),
    ("1.37.3", "spec.clusters[0].kubernetesVersion", ["'1.37.3' is not in the offline bundle"]),
    (f"1.37.2$(touch {MARK})", "spec.clusters[0].kubernetesVersion", []),
    ("1.10.0", "spec.clusters[0].kubernetesVersion", ["no Kubernetes schemas"]),
    ("1.37.2\n../../etc", "spec.clusters[0].kubernetesVersion", []),
], ids=["older-release", "unbuilt-patch", "shell-injection", "no-schemas", "newline-path"])
def test_bundle_build_refuses_a_cluster_release_it_cannot_provide(tmp_path, version, field, words):
    env = copy_estate(tmp_path, "lab").edit(_cluster_version(version))
    proc = _bundle(tmp_path, str(env.root))
    out = output(proc)
    assert proc.returncode == 2, out
    assert f"estate.yaml:" in out and field in out and all(w in out for w in words), out
    assert not (tmp_path / MARK).exists() and not Path(MARK).exists()


@pytest.mark.parametrize("args, words", [
    (["/nonexistent/estate"], ["/nonexistent/estate"]),
    (["/etc/passwd"], ["/etc/passwd"]),
    (["-k", "1.2.3"], ["--kubernetes-version", "'1.2.3' is not in the offline bundle"]),
    (["-k", f"$(touch {MARK})"], ["--kubernetes-version", "not in the offline bundle"]),
    (["-k", "../../../etc/passwd"], ["--kubernetes-version"]),
    (["-k", "x" * 5000], ["--kubernetes-version", "(5000 characters)"]),
    (["inventories/lab", "-k", "1.37.2"], ["not both"]),
    (["--only", "../kubernetes"], ["--only: no component '../kubernetes'"]),
], ids=["missing-env", "not-an-estate", "unknown-version", "injected-version", "path-version", "huge-version",
        "env-and-version", "unknown-component"])
def test_bundle_build_refuses_bad_arguments(tmp_path, args, words):
    proc = _bundle(tmp_path, *args)
    out = output(proc)
    assert proc.returncode == 2, out
    assert all(w in out for w in words), out
    assert len(out) < 2000 and not Path(MARK).exists()


def test_validate_plan_and_the_gate_agree_on_an_unbundled_release(tmp_path):
    env = copy_estate(tmp_path, "lab").edit(_cluster_version("1.30.4"))
    for command in ("validate", "plan"):
        proc = idcpilot(command, str(env.root))
        assert proc.returncode == 2 and "spec.clusters[0].kubernetesVersion" in output(proc), output(proc)
        assert "'1.30.4' is not in the offline bundle" in output(proc)
    proc = idcpilot("check", str(env.root), "--only", "K8S-BUNDLE")
    assert proc.returncode == 1, output(proc)
    assert "K8S-BUNDLE high: cluster/lab-sh-k8s: Kubernetes '1.30.4' is not in the offline bundle" in output(proc)


def test_the_gate_refuses_another_release_set_in_group_vars(tmp_path):
    env = copy_estate(tmp_path, "lab")
    env.write("group_vars/all/k8s.yml", 'k8s_node_kubernetes_version: "1.30.4"\n')
    proc = idcpilot("check", str(env.root), "--only", "K8S-BUNDLE")
    assert proc.returncode == 1, output(proc)
    assert "group_vars/all/k8s.yml:1:" in output(proc) and "K8S-BUNDLE" in output(proc) and "k8s_node_kubernetes_version" in output(proc)
