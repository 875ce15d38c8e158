"""The manifest's Debian packages (from the roles' variables and apt's data) and images."""

from __future__ import annotations

from idcpilot.bundle import packages, versions

APT = """Package: containerd
Version: 1.6.20~ds1-1+deb12u3
Architecture: amd64
Description: daemon to control runC
 Multi-line: description that says SHA256: 0000
Filename: pool/main/c/containerd/containerd_1.6.20~ds1-1+deb12u3_amd64.deb
Size: 25903404
SHA256: 8669d264eeb0fcdb4a0b1ba436ab88ec5dafde4a66e1278ec279d830db4c2216

Package: runc
Version: 1.1.5+ds1-1+deb12u1
Architecture: arm64
SHA256: a00351f8c0318de0b424ecf5cd0fdb69880a89f3511cae4f6fff7de3e57881c5
"""


def test_apt_stanzas_are_parsed_and_continuation_lines_ignored():
    [containerd, runc] = packages.parse_apt_show(APT)
    assert containerd["sha256"].startswith("8669d264") and containerd["size"] == 25903404
    assert containerd["version"] == "1.6.20~ds1-1+deb12u3" and runc["architecture"] == "arm64"


def test_a_package_apt_cannot_vouch_for_is_not_verified_never_made_up():
    entries = {e["name"]: e for e in packages.debian_packages(["containerd", "runc", "socat"], APT, "amd64")}
    assert entries["containerd"]["sha256"].startswith("8669d264")
    assert entries["runc"]["sha256"] is None and "not verified" in entries["runc"]["note"]  # only an arm64 candidate
    assert entries["socat"]["sha256"] is None and "not verified" in entries["socat"]["note"]


def test_package_names_come_from_the_role_and_images_say_why_they_are_not_bundled(repo):
    data = versions.load()
    names = packages.package_names(data, repo)
    assert {"containerd", "runc", "containernetworking-plugins", "conntrack"} <= set(names)
    [pause] = packages.images(data, repo)
    assert pause["reference"].endswith("/pause:3.9") and pause["bundled"] is False and pause["digest"] is None
    assert pause["note"].startswith("not bundled: no container registry")
