"""The committed checksums (checksums.yaml): they cover every file versions.yaml builds, a build
that differs from them fails, `bundle lock` re-pins from a built bundle, and a broken file is
exit 2 with its line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idcpilot.bundle import build as bundle_build, checksums, layout, packages, stamps, versions
from idcpilot.bundle.gobuild import Toolchain
from idcpilot.cli.main import app
from idcpilot.errors import UserInputError
from idcpilot.paths import repo_root

runner = CliRunner()
REPO = repo_root()
KUBELET = "dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubelet"


def test_the_committed_pins_cover_every_file_of_every_supported_release_and_nothing_else():
    data = versions.load()
    pins = checksums.load()
    assert checksums.coverage_problems(data, pins) == []
    want = checksums.expected(data, pins)
    # every component of every release, every binary of its recipe
    assert {(e.component, e.version) for e in want} == {(c, v) for r in data.kubernetes for c, v in r.component_versions().items()}
    assert all(e.sha256 and len(e.sha256) == 64 for e in want)
    assert len(want) == sum(len(data.components[c].binaries) for c, _ in {(e.component, e.version) for e in want})


def test_coverage_names_a_version_without_pins_and_a_pin_for_nothing():
    data = versions.load()
    pins = checksums.Checksums.model_validate({"schema": checksums.SCHEMA, "components": {
        "etcd": {"3.7.3": {"goVersion": "go1.26.8", "files": {"amd64": {"etcd": "a" * 64, "etcd-evil": "b" * 64}}}}}})
    problems = checksums.coverage_problems(data, pins)
    assert "kubernetes 1.37.2 amd64 kubelet: no pinned sha256" in problems
    assert "etcd 3.7.3 amd64 etcdctl: no pinned sha256" in problems
    assert "etcd 3.7.3 amd64 etcd-evil: pinned, but versions.yaml does not build it" in problems


def test_the_role_map_is_keyed_by_the_path_the_roles_fetch():
    pins = checksums.role_map(versions.load(), checksums.load())
    assert pins[KUBELET] == checksums.load().pin("kubernetes", "1.37.2", "amd64", "kubelet")
    assert "github.com/etcd-io/etcd/releases/download/v3.7.3/linux-amd64/etcd" in pins
    assert len(pins) == len(checksums.expected(versions.load(), None))


@pytest.mark.parametrize("text, field, line", [
    ("schema: idcpilot/bundle-checksums/v1\ncomponents:\n  etcd:\n    3.7.3:\n      goVersion: go1.26.8\n"
     "      files: {amd64: {etcd: ABCDEF}}\n", "components.etcd.3.7.3.files", 6),
    ("schema: idcpilot/bundle-checksums/v1\ncomponents:\n  etcd:\n    3.7.3:\n      goVersion: 'go1.26.8; rm -rf /'\n"
     "      files: {amd64: {etcd: " + "a" * 64 + "}}\n", "components.etcd.3.7.3.goVersion", 5),
    ("schema: idcpilot/bundle-checksums/v2\ncomponents: {}\n", "schema", 1),
    ("schema: idcpilot/bundle-checksums/v1\ncomponents: {}\nextra: 1\n", "extra", 3),
])
def test_a_broken_checksums_file_names_its_line_and_field(tmp_path, text, field, line):
    file = tmp_path / "checksums.yaml"
    file.write_text(text)
    with pytest.raises(UserInputError) as err:
        checksums.load(file)
    problem = err.value.problems[0]
    assert (problem.file, problem.line, problem.field) == (str(file), line, field), problem


def _fake_build(monkeypatch, tmp_path: Path, content: dict[str, bytes]):
    """build() without Go: every component "built" from ``content`` (bundle path -> bytes)."""
    monkeypatch.setattr(bundle_build, "toolchain", lambda arch: Toolchain(Path("/nonexistent/go"), "go1.26.8", ""))
    monkeypatch.setattr(packages, "apt_show", lambda names: "")

    def build_job(vers, tool, job, key, root, cache, say, timeout):
        rel = layout.component_dir(job.recipe.layout, job.version, vers.arch)
        records = []
        for name, package in sorted(job.recipe.binaries.items()):
            path = f"{rel}/{name}"
            data = content.get(path, b"reproducible " + path.encode())
            (root / rel).mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
            records.append(stamps.FileRecord(path, layout.sha256_file(root / path), len(data), name, package))
        return stamps.Stamp(job.component, job.version, key, str(root.resolve()), tool.version, {}, records, {})

    monkeypatch.setattr(bundle_build, "build_job", build_job)


def _pins_of(root: Path) -> checksums.Checksums:
    pins, problems = checksums.lock(versions.load(), root)
    assert problems == []
    return checksums.Checksums.model_validate({"schema": checksums.SCHEMA, "components": pins})


def test_a_build_that_differs_from_the_pins_is_listed_and_one_that_matches_is_not(monkeypatch, tmp_path):
    data = versions.load()
    root, cache = tmp_path / "files", tmp_path / "cache"
    _fake_build(monkeypatch, tmp_path, {})
    first = bundle_build.build(data, list(data.kubernetes), root, cache, REPO, lambda _: None,
                               pins=checksums.Checksums.model_validate({"schema": checksums.SCHEMA, "components": {}}))
    assert len(first.unpinned) == 12 and all("has no pin" in line for line in first.unpinned)
    pins = _pins_of(root)
    again = bundle_build.build(data, list(data.kubernetes), root, cache, REPO, lambda _: None, force=True, pins=pins)
    assert again.unpinned == []
    _fake_build(monkeypatch, tmp_path, {KUBELET: b"a kubelet someone changed"})
    tampered = bundle_build.build(data, list(data.kubernetes), root, cache, REPO, lambda _: None, force=True, pins=pins)
    assert tampered.unpinned == [f"{KUBELET}: built sha256 {layout.sha256_file(root / KUBELET)}, "
                                 f"pinned {pins.pin('kubernetes', '1.37.2', 'amd64', 'kubelet')}"]


def test_bundle_build_exits_1_on_a_difference_and_names_bundle_lock(monkeypatch, tmp_path):
    root, cache = tmp_path / "files", tmp_path / "cache"
    _fake_build(monkeypatch, tmp_path, {})
    args = ["bundle", "build", "--out", str(root), "--cache", str(cache)]
    proc = runner.invoke(app, args)  # the fake bytes are not what checksums.yaml pins
    assert proc.exit_code == 1, proc.output
    assert f"{KUBELET}: built sha256" in proc.output and "idcpilot bundle lock" in proc.output
    assert "12 file(s) differ from the committed checksums" in proc.output
    proc = runner.invoke(app, [*args, "-f", "json"])
    assert proc.exit_code == 1 and len(json.loads(proc.stdout)["differFromPins"]) == 12


def test_bundle_lock_pins_a_built_bundle_shows_the_diff_and_refuses_a_changed_file(monkeypatch, tmp_path):
    data = versions.load()
    root, cache, target = tmp_path / "files", tmp_path / "cache", tmp_path / "checksums.yaml"
    _fake_build(monkeypatch, tmp_path, {})
    bundle_build.build(data, list(data.kubernetes), root, cache, REPO, lambda _: None,
                       pins=checksums.Checksums.model_validate({"schema": checksums.SCHEMA, "components": {}}))
    proc = runner.invoke(app, ["bundle", "lock", "--out", str(root), "--checksums", str(target)])
    assert proc.exit_code == 0, proc.output
    assert f"+ kubernetes 1.37.2 amd64 kubelet: {layout.sha256_file(root / KUBELET)} (go1.26.8)" in proc.output
    assert checksums.coverage_problems(data, checksums.load(target)) == []
    assert runner.invoke(app, ["bundle", "lock", "--out", str(root), "--checksums", str(target), "--check"]).exit_code == 0
    # a file changed after its build (the manifest says otherwise) is never pinned
    (root / KUBELET).write_bytes(b"swapped under the bundle")
    before = target.read_text()
    proc = runner.invoke(app, ["bundle", "lock", "--out", str(root), "--checksums", str(target)])
    assert proc.exit_code == 1 and f"{KUBELET}: sha256" in proc.output and "manifest.json" in proc.output
    assert target.read_text() == before


def test_the_committed_pins_are_what_the_bundle_on_this_machine_holds():
    """The pins were taken from the bundle built on the project machine (same Go, same flags);
    where that bundle exists, it must still agree (a reproducible build gives the same bytes)."""
    root = Path("/var/cache/idcpilot/bundle/files")
    if not (root / layout.MANIFEST).is_file():
        pytest.skip("no bundle built on this machine (`make bundle`)")
    pins, problems = checksums.lock(versions.load(), root)
    assert problems == [] and checksums.diff(checksums.load(), pins) == []
