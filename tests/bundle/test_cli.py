"""``idcpilot bundle list`` and ``show`` on a bundle root (no build needed)."""

from __future__ import annotations

import json

from idcpilot.bundle import layout
from tests.adversarial.hostile import idcpilot, output


def _bundle(root):
    d = root / "x" / "v1"
    d.mkdir(parents=True)
    (d / "tool").write_bytes(b"tool")
    files = [{"path": "x/v1/tool", "sha256": layout.sha256_file(d / "tool"), "size": 4, "source": "a.b/cmd/tool@v1.0.0", "goVersion": "go1.26.8"}]
    layout.write_manifest(root, layout.manifest(files, [{"name": "runc", "version": "1", "sha256": "0" * 64}],
                                                [{"name": "pause", "reference": "r/pause:3.9", "note": "not bundled: none"}],
                                                ["1.37.2"], "2026-01-01T00:00:00Z"))


def test_list_names_the_supported_releases_and_whether_the_root_holds_them(tmp_path):
    proc = idcpilot("bundle", "list", "--out", str(tmp_path), "-f", "json")
    assert proc.returncode == 0, output(proc)
    assert json.loads(proc.stdout)["releases"] == [{"kubernetes": "1.37.2", "etcd": "3.7.3", "cri-tools": "1.37.0", "kwok": "0.8.0", "built": False}]
    _bundle(tmp_path)
    assert json.loads(idcpilot("bundle", "list", "--out", str(tmp_path), "-f", "json").stdout)["releases"][0]["built"] is True


def test_show_prints_the_manifest_and_check_finds_a_changed_file(tmp_path):
    proc = idcpilot("bundle", "show", "--out", str(tmp_path))
    assert proc.returncode == 1 and "no bundle manifest" in proc.stderr and "idcpilot bundle build" in proc.stderr
    _bundle(tmp_path)
    proc = idcpilot("bundle", "show", "--out", str(tmp_path), "--check")
    assert proc.returncode == 0, output(proc)
    assert "x/v1/tool" in proc.stdout and "deb runc 1" in proc.stdout and "not bundled: none" in proc.stdout
    assert "check: 1 of 1 files match" in proc.stdout
    (tmp_path / "x" / "v1" / "tool").write_bytes(b"evil")
    proc = idcpilot("bundle", "show", "--out", str(tmp_path), "--check", "-f", "json")
    assert proc.returncode == 1 and json.loads(proc.stdout)["check"] == {"failed": ["x/v1/tool"]}


def test_check_never_reads_outside_the_bundle(tmp_path):
    _bundle(tmp_path)
    data = json.loads((tmp_path / "manifest.json").read_text())
    data["files"].append({**data["files"][0], "path": "../../../../etc/hostname"})
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    proc = idcpilot("bundle", "show", "--out", str(tmp_path), "--check")
    assert proc.returncode == 1 and "differ or missing: ../../../../etc/hostname" in proc.stdout
