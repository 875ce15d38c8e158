"""Structural fuzzing of what users write: the example estate and the policy fixture's manifests,
mutated (alias bombs, anchors, nesting, sizes, types, unicode, control characters, duplicate and
complex keys, tags such as !!python/object), read by the real loaders and judged by the real
catalogue and policy entry points.

Whatever the input, the contract holds: the only exception is UserInputError (exit 2), whose
problems name the file and a line in it; every example ends within
``EXAMPLE_SECONDS`` of CPU time; the process does not grow by more than ``RSS_GROWTH_MB``; the two loaders
(fastyaml's event loop and yamlsource's position-keeping one) read the same values whenever both
accept a file. Nothing a tag names is ever constructed (a marker file stays absent).

The examples are derandomised, so ``make test`` runs the same corpus each time, within about a
minute on the 2-core machine. ``IDCPILOT_FUZZ_EXAMPLES=2000`` runs a longer, random campaign.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idcpilot import catalogue, fastyaml
from idcpilot.errors import UserInputError
from idcpilot.policy import engine
from idcpilot.policy.k8s import load_manifest_dir
from idcpilot.yamlsource import MAX_STRING_CHARS, load_yaml_documents
from tests.fuzz.hostile_yaml import RECURSIVE, alias_tower, billion_laughs, deep_flow

REPO = Path(__file__).resolve().parents[2]
ESTATE = (REPO / "inventories/example/estate.yaml").read_text(encoding="utf-8")
FIXTURES = REPO / "tests/policy/fixtures"
MANIFESTS = (FIXTURES / "manifests.yaml").read_text(encoding="utf-8")
TODAY = dt.date(2026, 11, 27)
MARKER = Path("/tmp/idcpilot-fuzz-marker")

#: CPU seconds one example may take (load, validate, every rule): a file within the limits can
#: stand for 2,000,000 values, which takes a few seconds to build; CPU time, not wall-clock, so
#: that other work on the machine does not count.
EXAMPLE_SECONDS = 15
#: Growth of the test process's peak memory over a whole fuzz run.
RSS_GROWTH_MB = 400

_CAMPAIGN = int(os.environ.get("IDCPILOT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_CAMPAIGN or 100,
    derandomize=not _CAMPAIGN,
    deadline=None,  # timed by the test itself, with a bound that fits a loaded machine
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

# --------------------------------------------------------------------------- what is written

HOSTILE_SCALARS = [
    "1e30", "-.inf", ".nan", "0x1F", "0o17", "017", "1_000", "1:2:3", "190:20:30.15", "~", "null", "yes", "off",
    "2026-13-45", "2026-01-01T25:61:00Z", "9" * 5000, "1:" * 3000 + "1", "-" + "9" * 4400, "''", '""',
    "!!binary aGVsbG8=", "!!binary '!!!'", "!!set {a, b}", "!!omap [a: 1, b: 2]", "!!pairs [a: 1]",
    "!!timestamp 2026-13-45", "!!int x", "!!float y", "!!bool maybe", "!!null x", "!!str 5", "!custom x",
    "!vault |\n  $ANSIBLE_VAULT;1.1;AES256", "*undefined", "&a", "!!merge x", "<<", "? x", "- x", "%TAG ! x",
    "{{ lookup('pipe', 'touch /tmp/idcpilot-fuzz-marker') }}", "'{{ 7*7 }}'",
]
PYTHON_TAGS = [
    f"!!python/object/apply:os.system ['touch {MARKER}']",
    f"!!python/object/new:subprocess.Popen [[touch, {MARKER}]]",
    f"!!python/object:subprocess.Popen {{args: [touch, {MARKER}]}}",
    "!!python/name:os.system", "!!python/module:os", "!!python/tuple [1, 2]", "!!python/bytes aGk=",
    f"!<tag:yaml.org,2002:python/object/apply:os.system> ['touch {MARKER}']",
]
SHAPES = ["[]", "{}", "[[], {}]", "[1, [2, {x: y}]]", "{a: [b, {c: d}]}", "true", "null", "1.5", '"x"', "-1",
          "{a: 1, a: 2}", "{1: a, '1': b}", "{<<: {a: 1}, b: 2}", "{a: &q [x, y], b: *q, c: *q}", "{[a]: 1}",
          "{{a: 1}: 2}", "[*undefined]", "[a, &x b, *x]"]


def _unicode() -> st.SearchStrategy[str]:
    chars = st.characters(blacklist_categories=("Cs",))
    return st.one_of(
        st.text(chars, max_size=40).map(json.dumps),  # escaped, valid: JSON strings are YAML
        st.text(chars, min_size=1, max_size=20),  # raw: control and odd characters where they land
        st.sampled_from(["\u202e", "\ufeff", "\u0000", "\x1b[31m", "\u2028", "é", "华云", "\U0001f4a5", "\t", "\r"]),
    )


def fragments() -> st.SearchStrategy[str]:
    """One YAML value in flow style (or something that fails to be one)."""
    return st.one_of(
        st.builds(billion_laughs, st.integers(1, 12), st.integers(1, 12)),
        st.builds(deep_flow, st.sampled_from([2, 50, 99, 100, 101, 1_000, 20_000])),
        st.integers(1, 300).map(lambda n: "{k: " * n + "v" + "}" * n),
        st.just(RECURSIVE),
        st.integers(2, 4).map(alias_tower),
        st.sampled_from([100, 70_000, MAX_STRING_CHARS + 1]).map(lambda n: '"' + "x" * n + '"'),
        st.sampled_from(HOSTILE_SCALARS),
        st.sampled_from(PYTHON_TAGS),
        st.sampled_from(SHAPES),
        _unicode(),
        st.lists(st.sampled_from(["a", "b", "*a", "&a a", "[", "]", "{", "}", ",", ":", " ", "-", "!", "'", '"']),
                 max_size=12).map("".join),
    )


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, path + (i,))
    return out


def _set(root: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        root = root[part]
    root[path[-1]] = value


def _containers(paths: list[tuple], root: Any) -> list[tuple]:
    def at(p: tuple) -> Any:
        node = root
        for part in p:
            node = node[part]
        return node

    return [p for p in [(), *paths] if isinstance(at(p), dict)]


class Mutated(bytes):
    """A mutated file; its repr (what hypothesis prints for a failing example) says how it was made."""

    how: str = ""

    def __repr__(self) -> str:
        return f"<{len(self):,} bytes: {self.how}>"


def _short(text: str) -> str:
    return text if len(text) <= 80 else f"{text[:60]!r}... ({len(text):,} characters)"


@st.composite
def mutated(draw: Any, base: list[Any]) -> Mutated:
    """BASE (documents) with 1-3 values or keys replaced by fragments, then perhaps a few bytes
    inserted, removed or repeated."""
    docs = json.loads(json.dumps(base, default=str))
    frags = []
    path_of: dict[str, str] = {}
    for n in range(draw(st.integers(1, 3))):
        token = f"__FUZZ_{n}__"
        paths = [(i,) + p for i, d in enumerate(docs) for p in _paths(d)]  # as the last mutation left them
        dicts = [(i,) + p for i, d in enumerate(docs) for p in _containers(_paths(d), d)]
        if draw(st.booleans()) or not dicts:
            path = draw(st.sampled_from(paths))
            _set(docs, path, token)
            path_of[token] = "/".join(map(str, path))
        else:  # a key
            path = draw(st.sampled_from(dicts))
            target = docs
            for part in path:
                target = target[part]
            target[token] = "v"
            path_of[token] = "/".join(map(str, path)) + " (a key)"
        frags.append((token, draw(fragments())))
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=1 << 30)
    for token, frag in frags:
        text = text.replace(token, frag, 1)
    data = text.encode("utf-8", "surrogatepass")
    edit = draw(st.sampled_from(["none", "none", "insert", "delete", "repeat"]))
    if edit != "none":
        at = draw(st.integers(0, len(data)))
        if edit == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif edit == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)):]
        else:
            line_start = data.rfind(b"\n", 0, at) + 1
            line_end = data.find(b"\n", at)
            line = data[line_start:line_end + 1 if line_end >= 0 else len(data)]
            data = data[:line_start] + line * draw(st.integers(2, 5)) + data[line_start:]
    out = Mutated(data)
    out.how = "; ".join(f"{token} at {path_of[token]} = {_short(frag)}" for token, frag in frags) + f"; bytes: {edit}"
    return out


# --------------------------------------------------------------------------- the contract


class Budget:
    """Time per example and the process's memory growth over the run."""

    def __init__(self) -> None:
        self.start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        self.slowest = 0.0
        self.refused = self.accepted = 0

    def check_memory(self) -> None:
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - self.start_rss
        assert grown < RSS_GROWTH_MB, f"peak memory grew by {grown} MB"


def judged(run: Any, budget: Budget) -> None:
    MARKER.unlink(missing_ok=True)
    start = time.process_time()
    try:
        run()
        budget.accepted += 1
    except UserInputError as exc:
        budget.refused += 1
        assert exc.problems
        for p in exc.problems:
            assert p.file and p.line >= 1 and p.column >= 1, str(p)[:300]
    elapsed = time.process_time() - start
    budget.slowest = max(budget.slowest, elapsed)
    assert elapsed < EXAMPLE_SECONDS, f"{elapsed:.1f} CPU seconds for one example"
    assert not MARKER.exists(), "a tag or template in the input ran code"


def same_values(data: bytes) -> None:
    """Both loaders read the same documents where both accept the text."""
    try:
        text = data.decode("utf-8")
        slow = [d for d, _ in load_yaml_documents(text, "f.yaml")]
        quick = fastyaml.load_all(data)
    except (UserInputError, yaml.YAMLError, UnicodeDecodeError, ValueError):
        return

    def str_keys(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): str_keys(x) for k, x in v.items()}
        return [str_keys(x) for x in v] if isinstance(v, list) else v

    assert str_keys(quick) == slow


# --------------------------------------------------------------------------- estates


def gate_on_estate(env: Path, data: bytes) -> Any:
    (env / "estate.yaml").write_bytes(data)
    shutil.copy(REPO / "inventories/example/ipam.lock.yaml", env / "ipam.lock.yaml")

    def run() -> None:
        cat = catalogue.load(env)
        engine.run(cat, plan=False, today=TODAY, waivers_file=env / "no-waivers.yaml")

    return run


@pytest.fixture(scope="module")
def estate_budget(tmp_path_factory) -> Budget:
    budget = Budget()
    gate_on_estate(tmp_path_factory.mktemp("estate"), ESTATE.encode())()  # the harness reads the unmutated file
    yield budget
    budget.check_memory()
    assert budget.refused, "the corpus should hold refused estates"


@FUZZ
@given(data=mutated(list(yaml.safe_load_all(ESTATE))))
def test_mutated_estates_are_read_or_refused_cleanly(tmp_path_factory, estate_budget, data):
    judged(gate_on_estate(tmp_path_factory.mktemp("estate"), bytes(data)), estate_budget)
    same_values(bytes(data))


# --------------------------------------------------------------------------- manifests


class Loaded:
    """The policy fixture's catalogue (a short repr in hypothesis's reports)."""

    def __init__(self, cat: Any) -> None:
        self.cat = cat

    def __repr__(self) -> str:
        return f"<catalogue {self.cat.name}>"


@pytest.fixture(scope="module")
def fixture_catalogue(tmp_path_factory) -> Loaded:
    env = tmp_path_factory.mktemp("fixture-estate")
    shutil.copy(FIXTURES / "estate.yaml", env / "estate.yaml")
    return Loaded(catalogue.load(env))


def gate_on_manifests(root: Path, data: bytes, loaded: Loaded) -> Any:
    (root / "bj-core-k8s").mkdir()
    (root / "bj-core-k8s" / "portal.yaml").write_bytes(data)

    def run() -> None:
        manifests = load_manifest_dir(root)
        report = engine.run(loaded.cat, manifests=manifests, plan=False, only=["K8S"], today=TODAY,
                            waivers_file=root / "no-waivers.yaml")
        for finding in report.findings:  # locating a finding reads the file again, with positions
            str(finding)

    return run


@pytest.fixture(scope="module")
def manifest_budget(tmp_path_factory, fixture_catalogue) -> Budget:
    budget = Budget()
    gate_on_manifests(tmp_path_factory.mktemp("manifests"), MANIFESTS.encode(), fixture_catalogue)()
    yield budget
    budget.check_memory()
    assert budget.accepted and budget.refused, "the corpus should hold both readable and refused manifests"


@FUZZ
@given(data=mutated(list(yaml.safe_load_all(MANIFESTS))))
def test_mutated_manifests_are_read_or_refused_cleanly(tmp_path_factory, fixture_catalogue, manifest_budget, data):
    judged(gate_on_manifests(tmp_path_factory.mktemp("manifests"), bytes(data), fixture_catalogue), manifest_budget)
    same_values(bytes(data))
