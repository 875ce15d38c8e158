"""Cache stamps: a component is rebuilt exactly when its inputs or its files changed."""

from __future__ import annotations

from idcpilot.bundle import layout, stamps

ARGV = [["build", "-trimpath", "-ldflags", "-s -w -X a.b/v.Version=v1.37.0", "-o", "crictl", "sigs.k8s.io/cri-tools/cmd/crictl"]]


def _stamp(root, cache, key):
    d = root / "x" / "v1"
    d.mkdir(parents=True)
    (d / "crictl").write_bytes(b"crictl-binary")
    rec = stamps.FileRecord("x/v1/crictl", layout.sha256_file(d / "crictl"), 13, "crictl", "sigs.k8s.io/cri-tools/cmd/crictl")
    stamp = stamps.Stamp("cri-tools", "1.37.0", key, str(root.resolve()), "go1.26.8", {"sigs.k8s.io/cri-tools": "v1.37.0"}, [rec], {"crictl": 1.0})
    stamps.write(cache, stamp)
    return stamp


def test_key_changes_with_every_input():
    base = stamps.build_key("cri-tools", "1.37.0", "go1.26.8", "-buildvcs=false", ARGV)
    assert base == stamps.build_key("cri-tools", "1.37.0", "go1.26.8", "-buildvcs=false", ARGV)
    others = [
        stamps.build_key("cri-tools", "1.37.1", "go1.26.8", "-buildvcs=false", ARGV),
        stamps.build_key("cri-tools", "1.37.0", "go1.26.9", "-buildvcs=false", ARGV),
        stamps.build_key("cri-tools", "1.37.0", "go1.26.8", "", ARGV),
        stamps.build_key("cri-tools", "1.37.0", "go1.26.8", "-buildvcs=false", [ARGV[0][:3] + ["-s"] + ARGV[0][4:]]),
        stamps.build_key("kwok", "1.37.0", "go1.26.8", "-buildvcs=false", ARGV),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_fresh_stamp_is_a_no_op_and_every_change_is_a_reason(tmp_path):
    root, cache = tmp_path / "root", tmp_path / "cache"
    key = stamps.build_key("cri-tools", "1.37.0", "go1.26.8", "", ARGV)
    assert stamps.stale_reason(stamps.read(cache, "cri-tools", "1.37.0"), key, root) == "not built yet"
    _stamp(root, cache, key)
    stamp = stamps.read(cache, "cri-tools", "1.37.0")
    assert stamps.stale_reason(stamp, key, root) is None
    assert "flags changed" in stamps.stale_reason(stamp, "0" * 64, root)
    assert "last built into" in stamps.stale_reason(stamp, key, tmp_path / "elsewhere")
    (root / "x" / "v1" / "crictl").write_bytes(b"crictl-binarY")  # same size, other bytes
    assert stamps.stale_reason(stamp, key, root) == "x/v1/crictl changed since it was built"
    (root / "x" / "v1" / "crictl").unlink()
    assert stamps.stale_reason(stamp, key, root) == "x/v1/crictl is missing"


def test_an_unreadable_stamp_means_build_again(tmp_path):
    file = stamps.stamp_file(tmp_path, "kwok", "0.8.0")
    file.parent.mkdir(parents=True)
    for text in ("", "{", "[]", '{"component": "kwok"}', '{"files": [{"x": 1}]}'):
        file.write_text(text)
        assert stamps.read(tmp_path, "kwok", "0.8.0") is None
