"""The sandbox image archive: reproducible bytes, a valid OCI layout, the name containerd imports."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from idcpilot.bundle.pause_image import compile_pause, oci_archive

REF = "registry.example.internal:5000/pause:3.10.2"


def _members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_same_inputs_same_bytes_and_digest():
    a, b = oci_archive(b"\x7fELF-binary", REF), oci_archive(b"\x7fELF-binary", REF)
    assert a.archive == b.archive and a.digest == b.digest
    assert oci_archive(b"\x7fELF-other", REF).digest != a.digest


def test_layout_index_manifest_and_blobs_agree():
    image = oci_archive(b"\x7fELF-binary", REF)
    files = _members(image.archive)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    [entry] = json.loads(files["index.json"])["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == REF and entry["digest"] == image.digest
    for name, blob in files.items():  # every blob is stored under its own digest
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(blob).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(files["blobs/sha256/" + image.digest[7:]])
    config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"][7:]])
    assert config["config"]["Entrypoint"] == ["/pause"] and config["config"]["User"] == "65535:65535"
    layer = files["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        [pause] = tar.getmembers()
        assert pause.name == "pause" and pause.mode == 0o755 and tar.extractfile(pause).read() == b"\x7fELF-binary"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler")
def test_compiles_the_upstream_source_static(tmp_path):
    """pause.c as the Kubernetes module ships it (a copy of its interface: it prints its version)."""
    src = tmp_path / "k8s" / "build" / "pause" / "linux"
    src.mkdir(parents=True)
    (src / "pause.c").write_text('#include <stdio.h>\n#include <string.h>\n#define STR(x) #x\n#define XSTR(x) STR(x)\n'
                                 'int main(int c, char **v) { if (c > 1 && !strcmp(v[1], "-v")) { printf("pause.c %s\\n", XSTR(VERSION)); return 0; } return 1; }\n')
    out = compile_pause(tmp_path / "k8s", "3.10.2", tmp_path / "pause")
    import subprocess

    run = subprocess.run([str(out), "-v"], capture_output=True, text=True)
    assert run.stdout.strip() == "pause.c v3.10.2"
    assert b"GLIBC" not in out.read_bytes()[:64] and subprocess.run(["ldd", str(out)], capture_output=True, text=True).returncode != 0


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no pause source"):
        compile_pause(tmp_path, "3.10.2", tmp_path / "pause")
