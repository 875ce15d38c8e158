"""Reading --manifests DIR with a forked worker gives what one process gives, whatever happens to the worker."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import pytest

from idcpilot.errors import UserInputError
from idcpilot.policy import k8s

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{i}, namespace: team-{i}}}
spec:
  selector: {{matchLabels: {{app: a{i}}}}}
  template:
    metadata: {{labels: {{app: a{i}}}}}
    spec:
      containers:
        - name: app
          image: registry.example:5000/app:{i}
"""


def write_dir(root, n=40, broken=False):
    for cluster in ("c1", "c2"):
        (root / cluster / "sub").mkdir(parents=True)
        for i in range(n):
            (root / cluster / ("sub" if i % 3 else "") / f"app-{i:03d}.yaml").write_text(DEPLOYMENT.format(i=i))
    (root / "c1" / "list.yaml").write_text("apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: x}}\n")
    (root / "c1" / "two.yml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: y}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: z}\n")
    (root / "c2" / "anchors.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: &n cm}\ndata: {a: *n}\n")
    if broken:
        (root / "c2" / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  x: 2026-13-45\n")
        (root / "loose.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: loose}\n")


def snapshot(ms):
    return [(m.cluster, m.file, m.body, m.source.file, m.source.positions) for m in ms.items]


def read(directory, parallel, monkeypatch):
    monkeypatch.setattr(k8s, "PARALLEL_MIN_FILES", 1 if parallel else 10**9)
    monkeypatch.setattr(k8s, "_second_cpu", lambda: parallel)
    k8s._sources.cache_clear()
    return k8s.load_manifest_dir(directory)


def test_two_processes_read_what_one_reads(tmp_path, monkeypatch):
    write_dir(tmp_path)
    one = snapshot(read(tmp_path, False, monkeypatch))
    assert len(one) == 2 * 40 + 1 + 2 + 1
    assert snapshot(read(tmp_path, True, monkeypatch)) == one


def test_problems_are_the_same_with_a_worker(tmp_path, monkeypatch):
    write_dir(tmp_path, broken=True)
    with pytest.raises(UserInputError) as one:
        read(tmp_path, False, monkeypatch)
    with pytest.raises(UserInputError) as two:
        read(tmp_path, True, monkeypatch)
    assert [str(p) for p in two.value.problems] == [str(p) for p in one.value.problems]
    assert any(":5:6: data.x: invalid value '2026-13-45'" in str(p) for p in one.value.problems)


@pytest.mark.parametrize("how", ["dies", "raises"])
def test_a_failing_worker_leaves_its_share_to_the_caller(tmp_path, monkeypatch, how):
    write_dir(tmp_path)
    one = snapshot(read(tmp_path, False, monkeypatch))

    def broken(self, out):
        if how == "dies":
            os._exit(3)
        raise RuntimeError("worker trouble")

    monkeypatch.setattr(k8s._Worker, "_work", broken)
    assert snapshot(read(tmp_path, True, monkeypatch)) == one


def test_a_reader_closed_early_leaves_no_process_behind(tmp_path, monkeypatch):
    write_dir(tmp_path)
    monkeypatch.setattr(k8s, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(k8s, "_second_cpu", lambda: True)
    with k8s.ManifestReader(tmp_path) as reader:
        pid = reader.worker.pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_a_missing_directory_is_reported_when_the_result_is_asked_for(tmp_path):
    reader = k8s.ManifestReader(tmp_path / "nope")
    with pytest.raises(UserInputError, match="no such directory of manifests"):
        reader.result()


# --------------------------------------------------------------------------- the check command


def test_prefetch_reads_the_manifests_and_cluster_from_the_raw_command_line(monkeypatch, tmp_path):
    from idcpilot.cli import check

    started = []

    class Recorder:
        def __init__(self, directory, cluster=None, estate=None):
            started.append((directory, cluster, estate))

        def close(self):
            pass

    monkeypatch.setattr(k8s, "ManifestReader", Recorder)
    monkeypatch.setattr(check, "_prefetched", {})
    check.prefetch(["--only", "K8S", "env", "--manifests", "m", "-v", "--cluster=c1", "-f", "json"])
    check.prefetch(["--manifests=m2", "--no-plan"])
    check.prefetch(["-vf", "json", "env", "--manifests", "m3"])  # combined short options: no estate guess
    for unusual in (["env"], ["env", "--manifests", "a", "--manifests", "b"], ["env", "--", "--manifests", "m"]):
        check.prefetch(unusual)
    assert started == [(Path("m"), "c1", Path("env")), (Path("m2"), None, Path("inventories/example")), (Path("m3"), None, None)]
    assert set(check._prefetched) == {(Path("m"), "c1"), (Path("m2"), None), (Path("m3"), None)}


def test_check_with_many_manifest_files_reports_what_the_in_process_check_reports(make_env, tmp_path):
    """The command line forks a reader before typer parses (prefetch); the in-process run does not."""
    import json
    import subprocess
    import sys

    from typer.testing import CliRunner

    from idcpilot.cli.main import app
    from policy_helpers import BASE_MANIFESTS

    env = make_env()
    mdir = tmp_path / "many"
    mdir.mkdir()
    docs = BASE_MANIFESTS.split("\n---\n")
    for i in range(k8s.PARALLEL_MIN_FILES + 10):
        text = docs[i % len(docs)]
        if i % 7 == 0:
            text = text.replace("registry.hy-idc.internal:5000/", "docker.io/")  # some failures, with locations
        (mdir / f"m-{i:04d}.yaml").write_text(text)
    args = ["check", str(env.root), "--manifests", str(mdir), "--cluster", "bj-core-k8s", "--only", "K8S",
            "--format", "json", "--waivers", "/dev/null"]
    proc = subprocess.run([sys.executable, "-m", "idcpilot.cli.main", *args], capture_output=True, text=True)
    inproc = CliRunner().invoke(app, args)
    assert proc.returncode == inproc.exit_code == 1, proc.stderr
    ours = json.loads(proc.stdout)
    assert ours == json.loads(inproc.stdout)
    assert any(f["status"] == "fail" and f["location"]["file"].endswith(".yaml") for f in ours["findings"])


@pytest.mark.parametrize("estate_version", ["1.30.4", "1.29.1"])
def test_schema_verdicts_of_the_worker_are_used_only_for_the_right_version(tmp_path, monkeypatch, estate_version):
    write_dir(tmp_path / "m")
    bad = tmp_path / "m" / "c1" / "bad.yaml"
    bad.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec:\n  replicas: many\n  bogus: 1\n")
    (tmp_path / "m" / "c2" / "crd.yaml").write_text("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\n")
    estate = tmp_path / "estate.yaml"
    estate.write_text(f"spec:\n  clusters:\n    - {{name: c1, kubernetesVersion: ' {estate_version}'}}\n")
    monkeypatch.setattr(k8s, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(k8s, "_second_cpu", lambda: True)
    with k8s.ManifestReader(tmp_path / "m", None, estate) as reader:
        deadline = time.monotonic() + 20
        while struct.unpack_from("q", reader.worker.shared, 8)[0] > 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # let the worker claim every file, so that it checks them all
        ms = reader.result()
    assert ms.items and all(m.prechecked is not None for m in ms.items)
    assert {m.prechecked[0] for m in ms.items if m.cluster == "c1"} == {estate_version}
    versions = {"c1": "1.30.4"}
    worker = k8s.schema_problems(ms, versions)
    for m in ms.items:
        m.prechecked = None
    here = k8s.schema_problems(ms, versions)
    assert [str(p) for p in worker[0]] == [str(p) for p in here[0]] and worker[1] == here[1]
    assert any("bad.yaml:5:" in str(p) for p in here[0]) and here[1]


@pytest.mark.parametrize("items, where", [("\n  - 1\n", (4, 5)), (" {a: 1}\n", (3, 1))])
def test_a_list_of_things_that_are_not_manifests_is_reported_with_its_line(tmp_path, items, where):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "l.yaml").write_text("apiVersion: v1\nkind: List\nitems:" + items)
    with pytest.raises(UserInputError) as exc:
        k8s.load_manifest_dir(tmp_path)
    [p] = exc.value.problems
    assert (p.line, p.column) == where and p.file.endswith("l.yaml")
