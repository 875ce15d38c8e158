"""Reading --manifests DIR: every document of every file, with its position, or exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from idcpilot.errors import UserInputError
from idcpilot.policy.k8s import files, load_documents, load_manifest_dir

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


def write_dir(root: Path, n: int = 5, broken: bool = False) -> None:
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


def test_every_document_is_read_with_its_position(tmp_path):
    write_dir(tmp_path)
    ms = load_manifest_dir(tmp_path)
    assert len(ms) == 2 * 5 + 1 + 2 + 1
    names = {m.name for m in ms.items}
    assert {"x", "y", "z", "cm", "app-0", "app-4"} <= names
    z = next(m for m in ms.items if m.name == "z")
    assert z.source.locate(("metadata", "name")) == (7, 12) and z.source.file.endswith("two.yml")


def test_every_problem_is_reported_with_file_and_line(tmp_path):
    write_dir(tmp_path, broken=True)
    with pytest.raises(UserInputError) as exc:
        load_manifest_dir(tmp_path)
    shown = [str(p) for p in exc.value.problems]
    assert any("bad.yaml:5:6: data.x: invalid value '2026-13-45'" in p for p in shown), shown
    assert any("loose.yaml" in p and "--cluster" in p for p in shown), shown


@pytest.mark.parametrize("text, names", [
    ("--- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n", ["a"]),
    ("--- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n--- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n", ["a", "b"]),
    ("# header\n---\n--- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n...\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n", ["a", "b"]),
    ("%YAML 1.1\n--- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n", ["a"]),
    ("  apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n", ["a"]),
])
def test_no_document_is_dropped_and_positions_agree(tmp_path, text, names):
    """The fast reader and the position-keeping one see the same documents (a ``--- {...}`` line included)."""
    f = tmp_path / "c" / "x.yaml"
    f.parent.mkdir()
    f.write_text(text)
    ms = load_manifest_dir(tmp_path)
    assert [m.name for m in ms.items] == names
    slow = load_documents(f)
    assert [d["metadata"]["name"] for d, _ in slow] == names
    for m, (_, smap) in zip(ms.items, slow):
        line, _ = m.source.locate(("metadata", "name"))
        assert text.splitlines()[line - 1].count(f"name: {m.name}") == 1
        assert smap.positions == m.source.positions


@pytest.mark.parametrize("text, where", [
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n--- 42\n", (4, 5)),
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- a\n", (5, 1)),
    ("apiVersion: v1\nkind: 5\nmetadata: {name: a}\n", (2, 1)),  # at the kind itself
    ("a: [1\n", (2, 1)),
    ("apiVersion: v1\nkind: List\nitems:\n  - 1\n", (4, 5)),
    ("apiVersion: v1\nkind: List\nitems: {a: 1}\n", (3, 1)),
])
def test_a_document_that_cannot_be_read_is_an_input_error(tmp_path, text, where):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "l.yaml").write_text(text)
    with pytest.raises(UserInputError) as exc:
        load_manifest_dir(tmp_path)
    [p] = exc.value.problems
    assert (p.line, p.column) == where and p.file.endswith("l.yaml"), str(p)


def test_a_missing_or_empty_directory_is_an_input_error(tmp_path):
    with pytest.raises(UserInputError, match="no such directory of manifests"):
        load_manifest_dir(tmp_path / "nope")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "empty.yaml").write_text("# nothing\n---\n")
    with pytest.raises(UserInputError, match="no Kubernetes manifests"):
        load_manifest_dir(tmp_path)


def test_clusters_the_estate_does_not_have_are_input_errors(tmp_path):
    write_dir(tmp_path)
    assert len(load_manifest_dir(tmp_path, clusters=["c1", "c2", "c3"])) == 14
    with pytest.raises(UserInputError) as exc:
        load_manifest_dir(tmp_path, clusters=["c1"])
    [p] = exc.value.problems
    assert "'c2'" in p.message and "clusters: c1" in p.message
    with pytest.raises(UserInputError, match="no cluster 'nope'"):
        load_manifest_dir(tmp_path / "c1" / "sub", "nope", clusters=["c1", "c2"])


def test_a_file_that_changes_under_the_reader_is_an_input_error_not_a_crash(tmp_path):
    (tmp_path / "c").mkdir()
    f = tmp_path / "c" / "x.yaml"
    f.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n")
    ms = load_manifest_dir(tmp_path)
    f.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    files._sources.cache_clear()
    with pytest.raises(UserInputError, match="changed while it was being read"):
        ms.items[1].source
