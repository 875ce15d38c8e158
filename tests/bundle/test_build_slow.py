"""The real thing: ``idcpilot bundle build`` builds crictl from sigs.k8s.io/cri-tools into a
temporary bundle root, the binary runs and reports its release, SHA256SUMS and the manifest
check out, and a second build is a no-op that says so. Needs Go and its module proxy (or a warm
module cache)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.adversarial.hostile import idcpilot, output

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain")]

CRICTL_DIR = "github.com/kubernetes-sigs/cri-tools/releases/download/v1.37.0/linux-amd64"


def test_crictl_is_built_from_source_runs_and_a_second_build_is_a_no_op(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ("bundle", "build", "-k", "1.37.2", "--only", "cri-tools", "--out", str(out), "--cache", str(cache))
    first = idcpilot(*args, timeout=1800)
    assert first.returncode == 0, output(first)
    assert "cri-tools-1.37.0: building (not built yet)" in first.stderr and "crictl built in" in first.stderr
    crictl = out / CRICTL_DIR / "crictl"
    version = subprocess.run([str(crictl), "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == "crictl version v1.37.0", version
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=crictl.parent, capture_output=True, text=True)
    assert sums.returncode == 0 and sums.stdout.strip() == "crictl: OK", sums
    manifest = json.loads((out / "manifest.json").read_text())
    [entry] = manifest["files"]
    assert entry["path"] == f"{CRICTL_DIR}/crictl" and entry["source"] == "sigs.k8s.io/cri-tools/cmd/crictl@v1.37.0"
    assert entry["goVersion"].startswith("go1.") and entry["size"] == crictl.stat().st_size
    assert manifest["complete"] is False and {n["component"] for n in manifest["notBuilt"]} == {"kubernetes", "etcd", "kwok"}
    assert any(p["name"] == "containerd" for p in manifest["debianPackages"])
    assert not list(tmp_path.glob("out/**/go.mod")), "wrapper modules stay in the cache"
    assert (cache / "work" / "cri-tools-1.37.0" / "go.mod").is_file()

    second = idcpilot(*args, timeout=600)
    assert second.returncode == 0, output(second)
    assert "cri-tools-1.37.0: cached, nothing to build (1 file verified)" in second.stderr
    assert "bundle up to date: nothing built" in second.stdout and "(unchanged)" in second.stdout

    assert idcpilot("bundle", "show", "--out", str(out), "--check").returncode == 0
    crictl.write_bytes(b"tampered")
    check = idcpilot("bundle", "show", "--out", str(out), "--check")
    assert check.returncode == 1 and "differ or missing" in check.stdout
    third = idcpilot(*args, timeout=1800)
    assert third.returncode == 0 and "changed since it was built" in third.stderr, output(third)
    assert subprocess.run([str(crictl), "--version"], capture_output=True, text=True).stdout.strip() == "crictl version v1.37.0"


def test_a_failing_go_build_is_exit_1_with_one_line_and_the_log(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = idcpilot("bundle", "build", "-k", "1.37.2", "--only", "cri-tools", "--out", str(out), "--cache", str(cache),
                    env={"GOFLAGS": "-mod=bogus"}, timeout=600)
    assert proc.returncode == 1, output(proc)
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("idcpilot bundle:")]
    log = cache / "logs" / "cri-tools-1.37.0.log"
    assert "failed" in line and line.endswith(f"full log: {log}") and log.is_file()
    assert not (out / "manifest.json").exists()
