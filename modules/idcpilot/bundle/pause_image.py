"""The pod sandbox ("pause") image, built from the Kubernetes module's own source.

No container registry is reachable from an air-gapped IDC (nor from the machine that builds the
bundle), so the one image every node needs is built here: ``build/pause/linux/pause.c`` from
``k8s.io/kubernetes`` at the bundle's version, compiled static with the machine's C compiler, laid
into an OCI image archive (``oci-layout``, ``index.json``, blobs) that ``ctr images import``
loads under the name the nodes' containerd is configured with. The archive is reproducible: the
same compiler and source give the same bytes (fixed mtimes, owners, order).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = 0  # every mtime in the archive: reproducible bytes


@dataclass(frozen=True)
class Image:
    ref: str       # e.g. registry.example:5000/pause:3.10.2 (what containerd's sandbox_image names)
    digest: str    # sha256:... of the manifest: the image's identity
    archive: bytes


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar(members: list[tuple[str, bytes, int]]) -> bytes:
    """A tar of (name, content, mode), root-owned, mtime EPOCH, in the given order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uid, info.gid = len(content), mode, EPOCH, 0, 0
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=EPOCH) as gz:
        gz.write(data)
    return buf.getvalue()


def oci_archive(binary: bytes, ref: str, arch: str = "amd64") -> Image:
    """The OCI image archive of one static binary run as /pause by the nobody user (65535), as
    the upstream image does. Pure: the same inputs give the same bytes."""
    layer_tar = _tar([("pause", binary, 0o755)])
    layer = _gzip(layer_tar)
    config = json.dumps({
        "architecture": arch, "os": "linux",
        "config": {"Entrypoint": ["/pause"], "User": "65535:65535", "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [_sha(layer_tar)]},
        "history": [{"created_by": "idcpilot bundle: build/pause/linux/pause.c, static", "created": "1970-01-01T00:00:00Z"}],
        "created": "1970-01-01T00:00:00Z",
    }, sort_keys=True, separators=(",", ":")).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _sha(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": _sha(layer), "size": len(layer)}],
    }, sort_keys=True, separators=(",", ":")).encode()
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": _sha(manifest), "size": len(manifest),
                       "platform": {"architecture": arch, "os": "linux"},
                       "annotations": {"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": tag}}],
    }, sort_keys=True, separators=(",", ":")).encode()
    blobs = sorted({_sha(b)[7:]: b for b in (layer, config, manifest)}.items())
    members = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', 0o644), ("index.json", index, 0o644)]
    members += [(f"blobs/sha256/{hexdigest}", blob, 0o644) for hexdigest, blob in blobs]
    return Image(ref=ref, digest=_sha(manifest), archive=_tar(members))


def compile_pause(source_dir: Path, version: str, out: Path, cc: str = "gcc") -> Path:
    """Compile pause.c (and nothing else) static, as the upstream Dockerfile does."""
    src = source_dir / "build" / "pause" / "linux" / "pause.c"
    if not src.is_file():
        raise FileNotFoundError(f"{src}: the Kubernetes module has no pause source")
    subprocess.run([cc, "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{version}", "-o", str(out), str(src)],
                   check=True, capture_output=True, text=True)
    subprocess.run(["strip", str(out)], check=True, capture_output=True)
    return out
