"""The offline bundle: Kubernetes, etcd, crictl and kwok built from their published Go modules,
laid out like kubespray's files_repo with SHA256SUMS and a manifest (``idcpilot bundle build``).

- ``versions`` (versions.yaml): the releases the bundle provides and how each component is built;
  the policy gate (K8S-BUNDLE) reads it too.
- ``select``: which releases an estate's clusters need.
- ``wrapper``: the wrapper module's go.mod (pure).
- ``gobuild``: the Go toolchain runner (I/O edge).
- ``layout``, ``stamps``, ``packages``: files, SHA256SUMS and manifest; cache stamps; Debian
  packages and images of the manifest.
- ``build``: the whole build, cached per component.

Where things go: the bundle root is ``files_root()`` ($IDCPILOT_BUNDLE_DIR, else
/var/cache/idcpilot/bundle/files; the lab serves it at the estate's packageMirror.artifacts), the
cache (wrapper modules, build logs, stamps) is ``cache_root()`` ($IDCPILOT_BUNDLE_CACHE, else
/var/cache/idcpilot/bundle). Go's own build and module caches are Go's (``go env``).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CACHE = Path("/var/cache/idcpilot/bundle")


def cache_root() -> Path:
    """Wrapper modules (work/), build logs (logs/) and stamps (stamps/) of bundle builds."""
    return Path(os.environ.get("IDCPILOT_BUNDLE_CACHE") or DEFAULT_CACHE)


def files_root() -> Path:
    """The bundle root the lab serves: $IDCPILOT_BUNDLE_DIR, else <default cache>/files."""
    return Path(os.environ.get("IDCPILOT_BUNDLE_DIR") or DEFAULT_CACHE / "files")
