"""The wrapper module's go.mod, from an excerpt of the real k8s.io/kubernetes v1.37.2 go.mod."""

from __future__ import annotations

from pathlib import Path

import pytest

from idcpilot.bundle import wrapper

KUBE_MOD = (Path(__file__).parent / "fixtures" / "kubernetes-v1.37.2.mod").read_text()


def test_reads_the_staging_modules_go_line_and_godebug_of_the_kubernetes_go_mod():
    up = wrapper.read_upstream(KUBE_MOD)
    assert up.go == "1.26.0"
    assert up.godebug == ("godebug default=go1.26",)
    assert len(up.staging) == 33
    assert {"k8s.io/api", "k8s.io/client-go", "k8s.io/kubectl", "k8s.io/streaming"} <= set(up.staging)
    assert "k8s.io/kubernetes" not in up.staging and "sigs.k8s.io/yaml" not in up.staging


def test_wrapper_pins_every_staging_module_to_the_release_and_names_the_main_packages():
    up = wrapper.read_upstream(KUBE_MOD)
    text = wrapper.wrapper_gomod("idcpilot.invalid/bundle/kubernetes", {"k8s.io/kubernetes": "v1.37.2"},
                                 ["k8s.io/kubernetes/cmd/kubectl", "k8s.io/kubernetes/cmd/kubelet"], up,
                                 wrapper.staging_version("1.37.2"))
    lines = text.splitlines()
    assert lines[0] == "module idcpilot.invalid/bundle/kubernetes"
    assert "go 1.26.0" in lines and "godebug default=go1.26" in lines
    assert "\tk8s.io/kubernetes v1.37.2" in lines
    assert "\tk8s.io/client-go => k8s.io/client-go v0.37.2" in lines
    assert sum("=> " in ln for ln in lines) == 33
    assert "./staging" not in text
    assert "\tk8s.io/kubernetes/cmd/kubectl" in lines and "\tk8s.io/kubernetes/cmd/kubelet" in lines


def test_a_module_without_replaces_gets_a_plain_wrapper():
    text = wrapper.wrapper_gomod("idcpilot.invalid/bundle/kwok", {"sigs.k8s.io/kwok": "v0.8.0"}, ["sigs.k8s.io/kwok/cmd/kwok"])
    assert "replace" not in text and "\tsigs.k8s.io/kwok v0.8.0" in text and "tool (\n\tsigs.k8s.io/kwok/cmd/kwok\n)" in text


@pytest.mark.parametrize("text, staging", [
    ("module m\nreplace k8s.io/api => ./staging/src/k8s.io/api\n", ("k8s.io/api",)),
    ("module m\nreplace k8s.io/api v0.0.0 => ./staging/src/k8s.io/api // pinned\n", ("k8s.io/api",)),
    ("module m\nreplace (\n\t// comment\n\tgithub.com/x/y => github.com/z/y v1.0.0\n\tk8s.io/api => ./staging/src/k8s.io/api\n)\n", ("k8s.io/api",)),
    ("module m\nreplace (\n\tk8s.io/api => ../api\n)\n", ()),
    ("module m\nrequire (\n\tk8s.io/api => ./staging/src/k8s.io/api\n)\n", ()),  # not a replace block
], ids=["one-line", "one-line-versioned-commented", "block-with-others", "sibling-path", "require-block"])
def test_only_staging_replaces_are_pinned(text, staging):
    assert wrapper.read_upstream(text).staging == staging


def test_pinning_needs_staging_lines_and_a_kubernetes_release():
    with pytest.raises(wrapper.WrapperError, match="no `=> ./staging"):
        wrapper.wrapper_gomod("m", {"a.b/c": "v1.0.0"}, ["a.b/c"], wrapper.read_upstream("module a.b/c\ngo 1.26\n"), "v0.37.2")
    for bad in ("2.0.0", "1.37", "v1.37.2-rc.0", "1.x.2"):
        with pytest.raises(wrapper.WrapperError):
            wrapper.staging_version(bad)
    assert wrapper.staging_version("v1.37.2") == "v0.37.2"
