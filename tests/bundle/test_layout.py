"""SHA256SUMS and manifest.json: sha256sum's format, atomic and idempotent writes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from idcpilot.bundle import layout


def test_sha256sums_is_what_sha256sum_checks(tmp_path):
    (tmp_path / "kubectl").write_bytes(b"k" * 3000)
    (tmp_path / "kubelet").write_bytes(b"")
    digests = {n: layout.sha256_file(tmp_path / n) for n in ("kubectl", "kubelet")}
    assert digests["kubelet"] == hashlib.sha256(b"").hexdigest()
    assert layout.write_sums(tmp_path, digests) is True
    assert layout.write_sums(tmp_path, digests) is False  # unchanged: not rewritten
    text = (tmp_path / "SHA256SUMS").read_text()
    assert text.splitlines() == [f"{digests['kubectl']}  kubectl", f"{digests['kubelet']}  kubelet"]
    assert layout.parse_sums(text) == digests
    if shutil.which("sha256sum"):
        done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "kubectl").write_bytes(b"tampered")
    if shutil.which("sha256sum"):
        assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=tmp_path, capture_output=True).returncode == 1


def test_layout_is_kubespray_files_repo_and_never_leaves_the_root():
    assert layout.component_dir("dl.k8s.io/release/v{version}/bin/linux/{arch}", "1.37.2", "amd64") == "dl.k8s.io/release/v1.37.2/bin/linux/amd64"
    for bad in ("/etc/{version}", "a/../{version}", "a//b", "{version}/."):
        with pytest.raises(ValueError):
            layout.component_dir(bad, "1", "amd64")


def test_install_file_is_atomic_keeps_same_content_and_sets_the_mode(tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"binary")
    dest = tmp_path / "root" / "d" / "kubectl"
    layout.install_file(src, dest)
    assert dest.read_bytes() == b"binary" and dest.stat().st_mode & 0o777 == 0o755
    inode = dest.stat().st_ino
    layout.install_file(src, dest)
    assert dest.stat().st_ino == inode  # same content: not replaced
    src.write_bytes(b"binary2")
    layout.install_file(src, dest)
    assert dest.read_bytes() == b"binary2"
    assert [p.name for p in dest.parent.iterdir()] == ["kubectl"]  # no temporary file left


def test_manifest_lists_files_packages_images_and_what_is_missing(tmp_path):
    files = [{"path": "b/x", "sha256": "1" * 64, "size": 1, "source": "m/cmd/x@v1.0.0", "goVersion": "go1.26.8"},
             {"path": "a/y", "sha256": "2" * 64, "size": 2, "source": "m/cmd/y@v1.0.0", "goVersion": "go1.26.8"}]
    data = layout.manifest(files, [{"name": "runc", "sha256": "3" * 64}], [{"name": "pause", "note": "not bundled: x"}],
                           ["1.37.2"], "2026-01-01T00:00:00Z", [{"component": "kwok", "version": "0.8.0", "reason": "not built: x"}])
    assert [f["path"] for f in data["files"]] == ["a/y", "b/x"]
    assert data["complete"] is False and data["notBuilt"][0]["component"] == "kwok"
    assert layout.write_manifest(tmp_path, data) is True and layout.write_manifest(tmp_path, data) is False
    assert layout.read_manifest(tmp_path) == json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text('{"schema": "other"}')
    assert layout.read_manifest(tmp_path) is None
