"""The fast manifest loader gives exactly what PyYAML's safe loader gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from idcpilot import fastyaml

FIXTURES = Path(__file__).resolve().parent / "policy" / "fixtures"
BASE_ESTATE = (FIXTURES / "estate.yaml").read_text(encoding="utf-8")
BASE_MANIFESTS = (FIXTURES / "manifests.yaml").read_text(encoding="utf-8")

CASES = {
    "manifests": BASE_MANIFESTS,
    "estate": BASE_ESTATE,
    "yaml 1.1 scalars": "a: yes\nb: 010\nc: '010'\nd: 1e3\ne: 2026-01-01\nf: ~\ng: [1, {x: null}]\nk: 0x1F\nl: .inf\nm: \"q\"\nn: off\n",
    "tags, anchors and aliases": "h: !!str 5\n---\n- &a {x: 1}\n- *a\n",
    "empty documents": "---\n# only a comment\n---\na: 1\n",
    "block scalars": "s: |\n  line one\n  line two\nt: >-\n  folded\n  text\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_values_as_pyyaml(name):
    text = CASES[name]
    assert fastyaml.load_all(text.encode()) == list(yaml.load_all(text, Loader=yaml.SafeLoader))


@pytest.mark.parametrize("text", ["base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n", "a: !!binary aGk=\n", "a: !!set {x}\n",
                                  "a: !!bool maybe\n", "a: !!python/name:os.system\n"],
                         ids=["merge key", "binary", "set", "bad bool", "python name"])
def test_what_the_position_keeping_loader_refuses_fastyaml_refuses_too(text):
    from idcpilot.errors import UserInputError
    from idcpilot.yamlsource import load_yaml_text

    with pytest.raises(UserInputError):
        load_yaml_text(text, "f.yaml")
    with pytest.raises(yaml.YAMLError):
        fastyaml.load_all(text.encode())


def test_malformed_yaml_raises():
    with pytest.raises(yaml.YAMLError):
        fastyaml.load_all(b"a: [1, 2\n")


def test_duplicate_keys_are_refused():
    with pytest.raises(fastyaml.DuplicateKeyError):
        fastyaml.load_all(b"a: 1\na: 2\n")


def test_duplicate_key_in_a_manifest_file_is_reported_with_its_line(tmp_path):
    from idcpilot.errors import UserInputError
    from idcpilot.policy.k8s import load_manifest_dir

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nkind: Pod\n")
    with pytest.raises(UserInputError) as exc:
        load_manifest_dir(tmp_path)
    assert exc.value.problems[0].line == 4 and "duplicate key" in exc.value.problems[0].message


POSITIONED = {
    **{name: text for name, text in CASES.items() if name not in ("manifests", "tags, anchors and aliases", "empty documents")},
    "first manifest": BASE_MANIFESTS.split("\n---\n")[0],
    "keys of several types": "true: 1\n1.5: x\n0x10: y\nlist:\n  - {a: [1, {b: c}]}\n  - - x\n    - y\n",
}


@pytest.mark.parametrize("name", sorted(POSITIONED))
def test_positions_are_those_of_the_position_keeping_loader(name):
    from idcpilot.yamlsource import load_yaml_text

    text = POSITIONED[name]
    data, smap = load_yaml_text(text, "f.yaml")
    quick = fastyaml.load_positioned(text)
    assert quick is not None
    assert quick[1] == smap.positions

    def str_keys(v):
        if isinstance(v, dict):
            return {str(k): str_keys(x) for k, x in v.items()}
        return [str_keys(x) for x in v] if isinstance(v, list) else v

    assert str_keys(quick[0]) == data


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "1: a\n'1': b\n", "~: 1\n", "? [a]\n: 1\n", "a: 2026-13-45\n",
                                  "a: &x 1\nb: *x\n", "a: !!str 5\n", "a: [1, 2\n", "a: 1\n---\nb: 2\n"])
def test_positions_left_to_the_slow_loader_when_it_has_something_to_say(text):
    assert fastyaml.load_positioned(text) is None


def test_invalid_date_in_a_manifest_is_reported_with_its_line(tmp_path):
    from idcpilot.errors import UserInputError
    from idcpilot.policy.k8s import load_manifest_dir

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: 2026-13-45\n")
    with pytest.raises(UserInputError) as exc:
        load_manifest_dir(tmp_path)
    assert (exc.value.problems[0].line, exc.value.problems[0].column) == (5, 6) and "2026-13-45" in exc.value.problems[0].message


# --------------------------------------------------------------------------- the estate loader's fast path

REPO = Path(__file__).resolve().parents[1]
#: Every YAML file the catalogue loader reads in the repository: estates, locks, vars, thresholds.
READ_FILES = sorted(p for pattern in ("inventories/**/*.yaml", "inventories/**/*.yml", "policy/*.yaml", "tests/policy/fixtures/*.yaml")
                    for p in REPO.glob(pattern) if "---" not in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", READ_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_load_yaml_text_gives_what_the_composer_gives_for_every_file_of_the_repo(path):
    from idcpilot.yamlsource import composed, load_yaml_text

    text = path.read_text(encoding="utf-8")
    assert fastyaml.load_positioned(text, str_keys=True) is not None, "plain files take the fast path"
    data, smap = load_yaml_text(text, "f.yaml")
    slow_data, slow_smap = composed(text, "f.yaml")
    assert data == slow_data and smap.positions == slow_smap.positions
    assert [type(k) for k in data] == [type(k) for k in slow_data]


@pytest.mark.parametrize("name", sorted(POSITIONED))
def test_load_yaml_text_makes_every_key_text_as_the_composer_does(name):
    from idcpilot.yamlsource import composed, load_yaml_text

    text = POSITIONED[name]
    data, smap = load_yaml_text(text, "f.yaml")
    assert (data, smap.positions) == (lambda d, s: (d, s.positions))(*composed(text, "f.yaml"))

    def keys(v):
        if isinstance(v, dict):
            return [type(k) for k in v] + [t for x in v.values() for t in keys(x)]
        return [t for x in v for t in keys(x)] if isinstance(v, list) else []

    assert set(keys(data)) <= {str}


def test_a_long_plain_document_breaking_a_limit_is_left_to_the_loader_that_names_it(monkeypatch):
    from idcpilot import yamlsource
    from idcpilot.errors import UserInputError
    from idcpilot.yamlsource import MAX_STRING_CHARS, load_yaml_text

    MAX_NODES = 1_000  # the limit on values, lowered for both loaders (2,000,000 takes 10 s to reach)
    monkeypatch.setattr(fastyaml, "MAX_NODES", MAX_NODES)
    monkeypatch.setattr(yamlsource, "MAX_NODES", MAX_NODES)

    long_string = "a: x\nb: " + "y" * (MAX_STRING_CHARS + 1) + "\n"
    assert fastyaml.load_positioned(long_string, str_keys=True) is None
    with pytest.raises(UserInputError) as exc:
        load_yaml_text(long_string, "f.yaml")
    assert exc.value.problems[0].line == 2 and "string length limit" in exc.value.problems[0].message
    many = "[" + "0," * MAX_NODES + "0]\n"  # MAX_NODES + 2 values
    assert fastyaml.load_positioned(many, str_keys=True) is None
    with pytest.raises(UserInputError) as exc:
        load_yaml_text(many, "f.yaml")
    assert "limit" in exc.value.problems[0].message
