"""Every YAML file is read within the loader's limits; each breach names file:line:col and the
limit, before anything is built (bounded time and memory), in both loaders."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from idcpilot import fastyaml
from idcpilot import yamlsource as ys
from idcpilot.errors import UserInputError
from idcpilot.yamlsource import load_yaml_documents, load_yaml_file, load_yaml_text
from tests.fuzz.hostile_yaml import (LONG_STRING, PYTHON_NAME, PYTHON_OBJECT, RECURSIVE, alias_tower, billion_laughs,
                                     deep_block, deep_flow)

REPO = Path(__file__).resolve().parents[1]


#: Seconds a refusal may take, on a loaded 2-core machine (each case took minutes, or for ever, before).
BUDGET = 10


def refused(text: str, limit: str) -> tuple[int, int]:
    """TEXT is refused by the position-keeping loader in bounded time, naming LIMIT; (line, col)."""
    start = time.perf_counter()
    with pytest.raises(UserInputError) as exc:
        load_yaml_text(text, "f.yaml")
    assert time.perf_counter() - start < BUDGET
    (problem,) = exc.value.problems
    assert problem.file == "f.yaml" and limit in problem.message, problem
    assert "malformed" not in problem.message
    return problem.line, problem.column


# --------------------------------------------------------------------------- the limits


def test_nesting_at_the_limit_is_read_and_one_more_level_is_refused():
    data, _ = load_yaml_text(deep_flow(ys.MAX_DEPTH), "f.yaml")
    assert data is not None
    assert refused(deep_flow(ys.MAX_DEPTH + 1), f"nesting limit exceeded: mappings and lists nested more than {ys.MAX_DEPTH}") == (1, ys.MAX_DEPTH + 1)


@pytest.mark.parametrize("depth", [1_000, 100_000], ids=["1000-deep (was RecursionError)", "100000-deep (was a segfault)"])
def test_deep_flow_nesting_is_refused_where_it_goes_too_deep(depth):
    assert refused(deep_flow(depth), "nesting limit") == (1, ys.MAX_DEPTH + 1)


def test_deep_block_nesting_is_refused_on_its_line():
    assert refused(deep_block(ys.MAX_DEPTH + 5), "nesting limit")[0] == ys.MAX_DEPTH + 1


def test_aliases_that_stack_beyond_the_depth_limit_are_refused():
    text = alias_tower(3)
    yaml.compose(text, Loader=yaml.CSafeLoader)  # each anchor alone is within the limit
    refused(text, "nesting limit")


def test_billion_laughs_is_refused_quickly_at_the_alias_that_breaks_the_limit():
    text = f"labels: {billion_laughs()}\n"
    assert len(text) < 12_000
    line, col = refused(text, f"size limit exceeded: more than {ys.MAX_NODES:,} values")
    assert line == 1 and text[col - 1] == "*"


def test_too_many_aliases_are_refused():
    text = "a: &a x\nb: [" + ", ".join(["*a"] * (ys.MAX_ALIASES + 1)) + "]\n"
    refused(text, f"alias limit exceeded: more than {ys.MAX_ALIASES:,} aliases")


def test_an_alias_inside_its_own_anchor_is_refused():
    # PyYAML composes this into a node that contains itself; converting it never ended
    assert refused(RECURSIVE, "inside its own anchor") == (1, 12)


def test_a_string_over_the_limit_is_refused_and_one_at_the_limit_is_read():
    data, _ = load_yaml_text('"' + "x" * ys.MAX_STRING_CHARS + '"', "f.yaml")
    assert len(data) == ys.MAX_STRING_CHARS
    refused(f"a: 1\nb: {LONG_STRING}\n", f"string length limit exceeded: {ys.MAX_STRING_CHARS + 10:,} characters")


def test_shared_anchors_within_the_limits_are_read_as_before():
    text = "a: &r [baseline, monitoring]\nb: *r\nc: [*r, *r]\n"
    data, smap = load_yaml_text(text, "f.yaml")
    assert data == yaml.safe_load(text)
    assert smap.locate(("c", 1)) == (1, 4)  # an alias's values were written at its anchor


# --------------------------------------------------------------------------- files


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "estate.yaml"
    with big.open("wb") as fh:  # sparse: no disk used, and nothing may read it whole
        fh.truncate(ys.MAX_FILE_BYTES * 64)
    with pytest.raises(UserInputError) as exc:
        load_yaml_file(big, "estate.yaml")
    assert re.fullmatch(rf"estate.yaml:1:1: file size limit exceeded: {ys.MAX_FILE_BYTES * 64:,} bytes, over the limit "
                        rf"of {ys.MAX_FILE_BYTES:,} bytes \(32 MiB\) for a YAML file", str(exc.value.problems[0]))


def test_a_file_at_the_size_limit_is_read(tmp_path):
    f = tmp_path / "f.yaml"
    f.write_bytes(b"a: 1\n" + b"#" * (ys.MAX_FILE_BYTES - 6) + b"\n")
    assert load_yaml_file(f)[0] == {"a": 1}


def _fifo(tmp_path: Path) -> Path:
    p = tmp_path / "fifo.yaml"
    os.mkfifo(p)
    return p


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    return tmp_path / "a.yaml"


def _broken(tmp_path: Path) -> Path:
    (tmp_path / "l.yaml").symlink_to(tmp_path / "missing.yaml")
    return tmp_path / "l.yaml"


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "d.yaml").mkdir()
    return tmp_path / "d.yaml"


def _socket(tmp_path: Path) -> Path:
    import socket

    p = tmp_path / "s.yaml"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    s.close()
    return p


@pytest.mark.parametrize("make, message", [
    (_fifo, "not a regular file (a FIFO)"),  # opening it used to wait for a writer for ever
    (_loop, "symlink loop"),
    (_broken, "broken symlink"),
    (_directory, "not a regular file (a directory)"),
    (_socket, "not a regular file (a socket)"),
    (lambda tmp: Path("/dev/zero"), "not a regular file (a device)"),
], ids=["fifo", "symlink-loop", "broken-symlink", "directory", "socket", "device"])
def test_files_that_are_not_plain_files_are_refused_without_blocking(tmp_path, make, message):
    path = make(tmp_path)
    start = time.perf_counter()
    with pytest.raises(UserInputError) as exc:
        load_yaml_file(path, "x.yaml")
    assert time.perf_counter() - start < BUDGET
    assert str(exc.value.problems[0]).startswith(f"x.yaml:1:1: {message}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused(tmp_path):
    f = tmp_path / "f.yaml"
    f.write_text("a: 1\n")
    f.chmod(0)
    with pytest.raises(UserInputError, match="cannot read file: Permission denied"):
        load_yaml_file(f)


def test_dev_null_reads_as_an_empty_file():
    assert load_yaml_file(Path(os.devnull))[0] is None


def test_bytes_that_are_not_utf8_are_named_by_line_and_column(tmp_path):
    f = tmp_path / "f.yaml"
    f.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(UserInputError) as exc:
        load_yaml_file(f, "f.yaml")
    assert str(exc.value.problems[0]) == "f.yaml:2:4: not UTF-8 text (invalid start byte)"


# --------------------------------------------------------------------------- tags never build objects


@pytest.mark.parametrize("value", [PYTHON_OBJECT, PYTHON_NAME, "!!python/object:os.Popen {args: [touch, m]}",
                                   "!!python/object/new:subprocess.Popen [[touch, m]]"],
                         ids=["object-apply", "name", "object", "object-new"])
def test_python_tags_are_refused_and_never_construct_anything(tmp_path, value):
    marker = Path("/tmp/idcpilot-yaml-marker")
    marker.unlink(missing_ok=True)
    text = f"a: 1\nb: {value}\n"
    with pytest.raises(UserInputError) as exc:
        load_yaml_text(text, "f.yaml")
    assert exc.value.problems[0].line == 2 and "python" in exc.value.problems[0].message
    with pytest.raises(yaml.YAMLError):
        fastyaml.load_all(text)
    assert not marker.exists()


# --------------------------------------------------------------------------- every document


FIRST_LINE_DOC = "--- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n"


@pytest.mark.parametrize("fast", [False, True], ids=["yamlsource", "fastyaml"])
def test_a_document_written_on_the_first_line_is_read_with_its_positions(fast):
    docs = load_yaml_documents(FIRST_LINE_DOC, "m.yaml", fast=fast)
    assert [d["metadata"]["name"] for d, _ in docs] == ["a", "b"]
    assert docs[0][1].locate(("metadata", "name")) == (1, 44)
    assert docs[1][1].locate(("metadata", "name")) == (6, 3)


def test_both_loaders_give_the_same_documents_and_positions():
    slow = load_yaml_documents(FIRST_LINE_DOC, "m.yaml")
    quick = fastyaml.load_positioned_all(FIRST_LINE_DOC)
    assert quick is not None
    assert [(d, s.positions) for d, s in slow] == quick


def test_the_manifest_reader_reads_a_first_line_document(tmp_path):
    from idcpilot.policy.k8s import load_documents, load_manifest_dir

    (tmp_path / "c").mkdir()
    f = tmp_path / "c" / "m.yaml"
    f.write_text(FIRST_LINE_DOC)
    assert [m.name for m in load_manifest_dir(tmp_path).items] == ["a", "b"]
    assert [d["metadata"]["name"] for d, _ in load_documents(f)] == ["a", "b"]
    # the positions of a finding in the first document (they once were the second's)
    first = load_manifest_dir(tmp_path).items[0]
    assert first.source.locate(("metadata", "name")) == (1, 44)


def test_a_document_that_cannot_be_read_is_exit_2_naming_its_line(tmp_path):
    from idcpilot.policy.k8s import load_manifest_dir

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "m.yaml").write_text(FIRST_LINE_DOC + "---\nkind: @x\n")
    with pytest.raises(UserInputError) as exc:
        load_manifest_dir(tmp_path)
    assert (exc.value.problems[0].line, exc.value.problems[0].column) == (8, 7)
    assert "malformed YAML" in exc.value.problems[0].message


def test_a_limit_broken_in_a_later_document_is_named(tmp_path):
    from idcpilot.policy.k8s import load_manifest_dir

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "m.yaml").write_text(FIRST_LINE_DOC + "---\n" + f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x, labels: {billion_laughs()}}}\n")
    start = time.perf_counter()
    with pytest.raises(UserInputError) as exc:
        load_manifest_dir(tmp_path)
    assert time.perf_counter() - start < BUDGET
    assert exc.value.problems[0].line == 10 and "size limit exceeded" in exc.value.problems[0].message


# --------------------------------------------------------------------------- fastyaml counts depth itself


def test_fastyaml_refuses_nesting_beyond_the_limit():
    assert fastyaml.load_all(deep_flow(ys.MAX_DEPTH)) == [yaml.safe_load(deep_flow(ys.MAX_DEPTH))]
    with pytest.raises(ys.LimitError):
        fastyaml.load_all(deep_flow(100_000))
    assert fastyaml.load_positioned_all(deep_flow(ys.MAX_DEPTH + 1)) is None


def test_fastyaml_checks_the_limits_before_falling_back_to_pyyaml():
    start = time.perf_counter()
    with pytest.raises(ys.LimitError):
        fastyaml.load_all(billion_laughs())  # aliases: PyYAML's loader would share, its readers expand
    with pytest.raises(ys.LimitError):
        fastyaml.load_all(RECURSIVE)
    assert time.perf_counter() - start < BUDGET


def test_fastyaml_checks_long_input_for_long_strings():
    with pytest.raises(ys.LimitError, match="string length limit"):
        fastyaml.load_all(f"a: {LONG_STRING}\n")


# --------------------------------------------------------------------------- real files fit


def test_the_bundled_estates_and_fixtures_are_within_the_limits():
    for f in [*REPO.glob("inventories/*/*.yaml"), *REPO.glob("tests/policy/fixtures/*.yaml"), REPO / "policy/thresholds.yaml"]:
        ys.check_limits(f.read_bytes())


def test_the_bench_estate_of_10000_listed_hosts_loads(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import synthetic
    finally:
        sys.path.remove(str(REPO / "bench"))
    from idcpilot import catalogue

    synthetic.write(tmp_path, sites=100, hosts=10_000, clusters=1_000, listed=True)
    assert len(catalogue.load(tmp_path).hosts) == 10_000


@pytest.mark.slow
def test_the_bench_estate_of_100000_listed_hosts_is_within_the_limits(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import synthetic
    finally:
        sys.path.remove(str(REPO / "bench"))
    path = synthetic.write(tmp_path, sites=100, hosts=100_000, clusters=1_000, listed=True)
    ys.check_limits(path.read_bytes())


def test_the_100000_deep_file_does_not_crash_the_process(tmp_path):
    """Run apart: before the limits, libyaml's composer overflowed the C stack (rc 139)."""
    f = tmp_path / "deep.yaml"
    f.write_text(deep_flow(100_000))
    code = "import sys; from pathlib import Path; from idcpilot.yamlsource import load_yaml_file\n" \
           "try:\n    load_yaml_file(Path(sys.argv[1]))\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    proc = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "UserInputError" in proc.stdout and "nesting limit" in proc.stdout, proc


# --------------------------------------------------------------------------- no other way in


def test_no_product_code_reads_yaml_but_through_the_limited_loaders():
    allowed = {"modules/idcpilot/yamlsource.py", "modules/idcpilot/fastyaml.py",
               # run by `idcpilot verify` under pytest: reviewed role defaults, and the inventory idcpilot wrote
               "modules/idcpilot/verify/suites/baseline_support.py", "modules/idcpilot/verify/suites/conftest.py",
               # the roles' own task files (they use merge keys), read by drift for the tags of a task
               "modules/idcpilot/stack/drift.py"}
    pattern = re.compile(r"(?<![\w.])yaml\.(safe_load|load|full_load|unsafe_load|compose|parse|scan)\w*\(|CSafeLoader|CParser")
    found = []
    for f in [*REPO.glob("modules/**/*.py"), *REPO.glob("policy/**/*.py")]:
        rel = str(f.relative_to(REPO))
        if rel not in allowed and pattern.search(f.read_text(encoding="utf-8")):
            found.append(rel)
    assert not found


def test_the_readme_states_the_limits_the_loader_applies():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for stated in (f"| file size | {ys.MAX_FILE_BYTES >> 20} MiB |", f"| nesting | {ys.MAX_DEPTH} levels",
                   f"| one string | {ys.MAX_STRING_CHARS >> 20} MiB characters |", f"| aliases (`*name`) | {ys.MAX_ALIASES:,} per file |",
                   f"| values with aliases expanded | {ys.MAX_NODES:,} per file |"):
        assert stated in readme
