"""Hostile YAML through the real CLI: every file idcpilot reads is read within the loader's limits.

Each case runs ``idcpilot`` as a subprocess under an address-space limit of 1 GiB (``prlimit``;
an alias bomb once took 3.3 GB), asserting: exit 2, the file and line named, the limit named in
plain words, no traceback, bounded time; and for tags that name Python objects, that nothing ran.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from idcpilot.yamlsource import MAX_DEPTH, MAX_FILE_BYTES, MAX_STRING_CHARS
from tests.adversarial.hostile import IDCPILOT, REPO, Hostile, output, run
from tests.fuzz.hostile_yaml import RECURSIVE, billion_laughs, deep_flow, splice

#: Address space of each CLI run (the bomb ran to 3.3 GB before the limits).
ADDRESS_SPACE = 1 << 30
#: Wall-clock bound of one refusal (each case took minutes, for ever, or crashed before).
SECONDS = 60
MARKER = Path("/tmp/idcpilot-loader-marker")


def idcpilot_limited(*args: str) -> tuple[int, str]:
    """The real CLI under RLIMIT_AS; (exit code, output). ``run`` asserts no traceback and a timeout."""
    start = time.perf_counter()
    proc = run(["prlimit", f"--as={ADDRESS_SPACE}", IDCPILOT, *map(str, args)], timeout=SECONDS)
    assert time.perf_counter() - start < SECONDS
    assert proc.returncode != -11 and proc.returncode != 139, "segfault"
    return proc.returncode, output(proc)


def refused(out: str, where: str, limit: str) -> None:
    lines = [line for line in out.splitlines() if line.startswith(where)]
    assert lines, out[-2000:]
    assert any(limit in line for line in lines), out[-2000:]
    assert "MemoryError" not in out and "RecursionError" not in out


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    """Manifests as users produce them: ``idcpilot plan inventories/example --out DIR``."""
    out = tmp_path_factory.mktemp("planned") / "manifests"
    proc = run([IDCPILOT, "plan", "inventories/example", "--out", str(out)])
    assert proc.returncode == 0, output(proc)[-2000:]
    return out


def manifests_with(planned: Path, tmp_path: Path, text: str) -> tuple[Path, str]:
    """A copy of the planned manifests plus one hostile file in the first cluster's directory."""
    root = tmp_path / "manifests"
    shutil.copytree(planned, root)
    cluster = sorted(p.name for p in root.iterdir())[0]
    f = root / cluster / "hostile.yaml"
    f.write_text(text, encoding="utf-8")
    return root, str(f)


def in_estate(example: Hostile, key: str, value: str) -> str:
    example.estate_file.write_text(splice(example.estate_file.read_text(encoding="utf-8"), key, value), encoding="utf-8")
    return str(example.estate_file)


# --------------------------------------------------------------------------- the estate


def test_billion_laughs_in_metadata_labels_is_refused_by_validate(example):
    shown = in_estate(example, "labels", billion_laughs())
    code, out = idcpilot_limited("validate", example.root)
    assert code == 2
    refused(out, f"{shown}:12:", "size limit exceeded")


@pytest.mark.slow
def test_an_alias_bomb_just_within_the_limits_is_read_within_the_memory_limit(example):
    """Six aliases to a 12**5 anchor: 1.99 million values, just under MAX_NODES; building them takes
    about 5 CPU seconds and 500 MB, and the catalogue refuses lists where text belongs."""
    shown = in_estate(example, "labels", billion_laughs(5, 12)[:-1] + ", m: [*l5, *l5, *l5, *l5, *l5, *l5]}")
    start = time.perf_counter()
    proc = run(["prlimit", f"--as={ADDRESS_SPACE}", IDCPILOT, "validate", str(example.root)], timeout=600)
    assert time.perf_counter() - start < 600
    assert proc.returncode == 2
    refused(output(proc), f"{shown}:12:", "metadata.labels")


@pytest.mark.parametrize("depth", [1_000, 100_000], ids=["1000-deep", "100000-deep"])
def test_deep_nesting_in_the_estate_is_refused_not_a_crash(example, depth):
    shown = in_estate(example, "labels", deep_flow(depth))
    code, out = idcpilot_limited("validate", example.root)
    assert code == 2
    # metadata.labels is two levels down already: the limit breaks at its value's (MAX_DEPTH - 1)th bracket
    refused(out, f"{shown}:12:{len('  labels: ') + MAX_DEPTH - 1}:", f"nested more than {MAX_DEPTH} levels deep")


def test_an_estate_that_is_a_fifo_is_refused_without_waiting(example):
    example.estate_file.unlink()
    os.mkfifo(example.estate_file)
    code, out = idcpilot_limited("validate", example.root)
    assert code == 2
    refused(out, str(example.estate_file) + ":1:1:", "not a regular file (a FIFO)")


def test_an_ipam_lock_symlink_loop_is_refused_not_read_as_no_lock(example):
    lock = example.root / "ipam.lock.yaml"
    lock.unlink()
    lock.symlink_to("ipam.lock.yaml")
    code, out = idcpilot_limited("validate", example.root)
    assert code == 2
    refused(out, str(lock) + ":1:1:", "symlink loop")


# --------------------------------------------------------------------------- variables, thresholds, waivers


def test_a_recursive_alias_in_group_vars_is_refused_by_check(example):
    f = example.write("group_vars/all.yml", f"baseline_ntp_servers: {RECURSIVE}\n")
    code, out = idcpilot_limited("check", example.root, "--no-plan")
    assert code == 2
    refused(out, str(f) + ":1:", "inside its own anchor")


def test_an_over_long_string_in_host_vars_is_refused_by_check(example):
    f = example.write("host_vars/bj-core-1-bastion.yml", "a: 1\nbaseline_motd: " + "x" * (MAX_STRING_CHARS + 1) + "\n")
    code, out = idcpilot_limited("check", example.root, "--no-plan")
    assert code == 2
    refused(out, str(f) + ":2:", "string length limit exceeded")
    assert len(out) < 5_000  # the string is not echoed


def test_an_oversized_waivers_file_is_refused_before_it_is_read(example):
    f = example.root / "waivers.yaml"
    with f.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES * 100)  # sparse: 3.2 GB that nothing may read
    code, out = idcpilot_limited("check", example.root, "--no-plan", "--waivers", f)
    assert code == 2
    refused(out, str(f) + ":1:1:", "file size limit exceeded")


def test_a_python_object_tag_in_thresholds_is_refused_and_runs_nothing(example):
    MARKER.unlink(missing_ok=True)
    text = (REPO / "policy/thresholds.yaml").read_text(encoding="utf-8")
    f = example.write("thresholds.yaml", text + f"extra: !!python/object/apply:os.system ['touch {MARKER}']\n")
    line = text.count("\n") + 1
    code, out = idcpilot_limited("check", example.root, "--no-plan", "--thresholds", f)
    assert code == 2
    refused(out, f"{str(f)}:{line}:", "python/object/apply:os.system")
    assert not MARKER.exists()


# --------------------------------------------------------------------------- manifests


@pytest.mark.parametrize("text, line, limit", [
    (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  labels: {billion_laughs()}\n", 5, "size limit exceeded"),
    (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata: {deep_flow(100_000)}\n", 4, "nesting limit exceeded"),
], ids=["billion-laughs-in-labels", "100000-deep-data"])
def test_a_manifest_beyond_a_limit_is_refused_by_check_manifests(example, planned, tmp_path, text, line, limit):
    root, shown = manifests_with(planned, tmp_path, text)
    code, out = idcpilot_limited("check", example.root, "--manifests", root)
    assert code == 2
    refused(out, f"{shown}:{line}:", limit)


PRIVILEGED = ("--- {apiVersion: v1, kind: Pod, metadata: {name: evil, namespace: edge}, spec: {hostPID: true, "
              "containers: [{name: c, image: 'registry.hy-idc.internal:5000/x:1', securityContext: {privileged: true}}]}}\n")


def test_a_document_on_the_first_line_of_a_manifest_is_judged(example, planned, tmp_path):
    root, shown = manifests_with(planned, tmp_path, PRIVILEGED)
    code, out = idcpilot_limited("check", example.root, "--manifests", root, "--format", "json")
    assert code == 1, out[-2000:]
    assert f'"file": "{shown}"' in out or shown in out
    assert "evil" in out


def test_an_unreadable_document_after_a_first_line_document_is_exit_2_naming_its_line(example, planned, tmp_path):
    root, shown = manifests_with(planned, tmp_path, PRIVILEGED + "---\napiVersion: v1\nkind: @bad\n")
    code, out = idcpilot_limited("check", example.root, "--manifests", root)
    assert code == 2
    refused(out, f"{shown}:4:7:", "malformed YAML")


def test_a_manifest_kind_that_is_a_list_is_refused_where_it_is_read(example, planned, tmp_path):
    root, shown = manifests_with(planned, tmp_path, "apiVersion: v1\nkind: [Pod]\nmetadata: {name: x}\n")
    code, out = idcpilot_limited("check", example.root, "--manifests", root)
    assert code == 2
    refused(out, f"{shown}:2:", "not a Kubernetes kind")


# --------------------------------------------------------------------------- results read by report


def test_a_verify_results_bomb_is_refused_by_report(example, tmp_path):
    f = tmp_path / "verify.json"
    f.write_text(f'{{"estate": "example", "results": {billion_laughs()}}}\n', encoding="utf-8")
    code, out = idcpilot_limited("report", example.root, "--no-plan", "--verify", f, "--out", tmp_path / "out")
    assert code == 2
    refused(out, f"{str(f)}:1:", "size limit exceeded")
