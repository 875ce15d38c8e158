"""The Debian packages and container images of the bundle's manifest.

Packages: the names the k8s roles install, read from the roles' own variable files (one source),
plus versions.yaml's extra names; version and SHA256 of the .deb from apt's data on this machine
(``apt-cache show``: the same index the estate's apt mirror serves). A package apt does not know
is listed with the reason, never with a made-up checksum. Images: the reference the role uses and
whether it is bundled (with its digest) or why not.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from idcpilot.bundle.versions import RoleVar, Versions
from idcpilot.yamlsource import load_yaml_file

_FIELDS = {"Package": "name", "Version": "version", "Architecture": "architecture", "SHA256": "sha256",
           "Size": "size", "Filename": "filename"}


def parse_apt_show(text: str) -> list[dict[str, Any]]:
    """The stanzas of ``apt-cache show`` output: name, version, architecture, sha256, size, filename."""
    out: list[dict[str, Any]] = []
    for stanza in text.split("\n\n"):
        entry: dict[str, Any] = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(": ")
            if sep and not line.startswith(" ") and key in _FIELDS:
                entry[_FIELDS[key]] = int(value) if key == "Size" and value.strip().isdigit() else value.strip()
        if "name" in entry:
            out.append(entry)
    return out


def role_value(repo: Path, ref: RoleVar) -> Any:
    """A variable's value from a role's vars or defaults file."""
    data = load_yaml_file(repo / ref.file)[0] or {}
    if not isinstance(data, dict) or ref.variable not in data:
        raise ValueError(f"{ref.file} does not define {ref.variable}")
    return data[ref.variable]


def package_names(versions: Versions, repo: Path) -> list[str]:
    names: list[str] = []
    for ref in versions.debian.from_role_vars:
        value = role_value(repo, ref)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{ref.file}: {ref.variable} is not a list of package names")
        names += value
    names += versions.debian.packages
    return sorted(set(names))


def apt_show(names: list[str]) -> str:
    """``apt-cache show`` of the candidate versions (I/O edge); empty when apt is not there."""
    if not names or shutil.which("apt-cache") is None:
        return ""
    done = subprocess.run(["apt-cache", "show", "--no-all-versions", "--", *names], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL": "C"})
    return done.stdout


def debian_packages(names: list[str], apt_text: str, arch: str) -> list[dict[str, Any]]:
    """One manifest entry per package name: apt's version and SHA256, or why there is none."""
    known: dict[str, dict[str, Any]] = {}
    for entry in parse_apt_show(apt_text):
        if entry.get("architecture") in (arch, "all") and entry["name"] not in known:
            known[entry["name"]] = entry
    out = []
    for name in names:
        entry = known.get(name)
        if entry and entry.get("sha256"):
            out.append({"name": name, "version": entry.get("version"), "architecture": entry.get("architecture"),
                        "sha256": entry["sha256"], "size": entry.get("size"), "filename": entry.get("filename"),
                        "source": "apt-cache on the build machine"})
        else:
            out.append({"name": name, "version": None, "sha256": None,
                        "note": f"not verified: apt on the build machine has no {arch} candidate for it"})
    return out


def images(versions: Versions, repo: Path) -> list[dict[str, Any]]:
    """One manifest entry per image: its reference as the role writes it, bundled or why not."""
    out = []
    for image in versions.images:
        reference = role_value(repo, image.from_role_vars)
        entry: dict[str, Any] = {"name": image.name, "reference": str(reference),
                                 "usedBy": f"{image.from_role_vars.variable} ({image.from_role_vars.file})"}
        if image.bundled:
            raise ValueError(f"image {image.name}: bundling images is not implemented; set bundled: false with a reason")
        entry.update({"bundled": False, "digest": None, "note": f"not bundled: {image.reason or 'no reason given'}"})
        out.append(entry)
    return out
