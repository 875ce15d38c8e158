"""The setuid/setgid control of roles/baseline (MLPS3-MINIMAL): scan, lists and gate.

The scan (idcpilot.hostchecks.setid_find_argv / setid_scan) is the one the host's compliance
check, tasks/suid.yml and verify run; here it runs over a scratch tree with real setuid/setgid
files, and with hostile paths that must stay single operands of find.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from idcpilot import hostchecks
from idcpilot.catalogue.model import DISTRIBUTIONS

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((REPO / "roles/baseline/defaults/main.yml").read_text())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel, mode in {"bin/suid": 0o4755, "bin/sgid": 0o2755, "bin/plain": 0o755,
                      "images/x/usr/bin/su": 0o4755, "-exec/evil": 0o4755, "sp ace/s": 0o4755}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        os.chmod(path, mode)
    return tmp_path


def _find(root: Path, exclude: list[str]) -> list[str]:
    proc = subprocess.run(hostchecks.setid_find_argv([str(root)], exclude), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return sorted(proc.stdout.splitlines())


def test_find_lists_setuid_and_setgid_files_and_prunes_the_excluded(tree):
    found = _find(tree, [str(tree / "images")])
    assert found == sorted(str(tree / p) for p in ("bin/suid", "bin/sgid", "-exec/evil", "sp ace/s"))


@pytest.mark.parametrize("hostile", ["-exec touch {pwned} ;", "( -o -true )", "$(touch {pwned})", "x\n-delete", "-fprint {pwned}"])
def test_hostile_exclude_paths_stay_operands_of_path(tree, hostile):
    pwned = tree / "pwned"
    found = _find(tree, [hostile.format(pwned=pwned), str(tree / "images")])
    assert not pwned.exists()
    assert str(tree / "bin/suid") in found and str(tree / "images/x/usr/bin/su") not in found
    assert (tree / "bin/suid").exists() and (tree / "bin/plain").exists()


def test_local_mounts_reads_the_types_and_escapes_of_proc_mounts():
    text = ("/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\ntmpfs /run/a\\040b tmpfs rw 0 0\n"
            "server:/x /mnt/nfs nfs4 rw 0 0\noverlay /var/lib/containerd/o overlay rw 0 0\n")
    assert hostchecks.local_mounts(["ext4", "tmpfs"], text) == ["/", "/run/a b"]


def test_scan_through_the_host_entry_point(tree, monkeypatch):
    """`baseline_compliance.py --setid-scan` (tasks/suid.yml), limited to the scratch tree by
    scanning only tmpfs-less roots: / is always a root, so point find at the tree instead."""
    monkeypatch.setattr(hostchecks, "local_mounts", lambda types: [])
    monkeypatch.setattr(hostchecks, "setid_find_argv", lambda roots, exclude: ["find", str(tree), "-xdev", "-type", "f",
                                                                                "-perm", "-4000", "-print"])
    found, incomplete = hostchecks.setid_scan(["ext4"], [], 60)
    assert incomplete is None and str(tree / "bin/suid") in found and str(tree / "bin/sgid") not in found


def test_a_scan_cut_short_is_reported_incomplete(monkeypatch):
    monkeypatch.setattr(hostchecks, "local_mounts", lambda types: [])
    monkeypatch.setattr(hostchecks, "setid_find_argv", lambda roots, exclude: ["sh", "-c", "echo /usr/bin/su; sleep 5"])
    found, incomplete = hostchecks.setid_scan([], [], 1)
    assert incomplete and "did not finish" in incomplete


def test_setid_scan_cli_prints_json(tmp_path):
    settings = base64.b64encode(json.dumps({"filesystem_types": [], "exclude": ["/"], "timeout": 30}).encode()).decode()
    out = subprocess.run([sys.executable, str(REPO / "roles/baseline/files/baseline_compliance.py"), "--setid-scan", settings],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"found": [], "incomplete": None}  # "/" itself excluded: nothing walked


def test_unknown_setid_is_what_the_allow_list_lacks():
    assert hostchecks.unknown_setid(["/usr/bin/su", "/tmp/x", "/usr/bin/at"], ["/usr/bin/su"]) == ["/tmp/x", "/usr/bin/at"]


def test_allow_list_per_family_and_blacklist_are_disjoint_absolute_paths():
    allow = DEFAULTS["baseline_suid_allowlist"]
    assert set(allow) == set(DISTRIBUTIONS.values()), "one allow-list per OS family the catalogue knows"
    black = set(DEFAULTS["baseline_suid_blacklist"])
    for family, paths in allow.items():
        assert paths and all(p.startswith("/") and os.path.normpath(p) == p for p in paths), family
        assert not set(paths) & black, f"{family}: on both lists: {sorted(set(paths) & black)}"
    for path in (*black, *DEFAULTS["baseline_suid_scan_exclude"]):
        assert path.startswith("/") and os.path.normpath(path) == path
