"""The editor and the CLI agree: every fixture is validated with the published JSON Schema
(jsonschema, formats checked) and with `idcpilot validate`.

- a valid estate passes both;
- a "shape" problem (a type, a pattern, a bound, a missing field) is refused by both;
- a "consistency" problem (a dangling reference, a duplicate, an address plan that does not
  fit) needs the whole catalogue: the schema accepts it and the CLI refuses it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from idcpilot.catalogue.schema import SCHEMA_FILE
from idcpilot.cli.main import app
from tests.adversarial.test_catalogue import CASES

REPO = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).parent / "broken"

#: Broken-corpus cases only the whole catalogue can reveal.
CONSISTENCY = {
    "app-unknown-principal", "bastion-unknown-host", "cluster-node-unknown", "duplicate-host", "duplicate-site",
    "exhausted-pool", "group-name-clash", "host-bits-set", "link-end-without-edge-host", "link-unknown-site",
    "node-lacks-role", "overlapping-pools", "pinned-address-outside-site", "pinned-prefix-outside-pool",
    "region-outside-domain", "replica-unknown-site", "self-link", "service-unknown-cluster", "site-prefix-exhausted",
    "unknown-data-domain",
}
#: Files YAML itself cannot read (no JSON document exists to give the schema).
UNREADABLE = {"malformed-bad-indent", "malformed-unclosed-flow", "duplicate-key", "not-utf8", "bad-drill-date"}


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _schema_errors(data: Any) -> list[str]:
    as_json = json.loads(json.dumps(data, default=str))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in _validator().iter_errors(as_json)]


def _cli(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("env", ["example", "lab"])
def test_bundled_estates_pass_both(env: str) -> None:
    path = REPO / "inventories" / env / "estate.yaml"
    assert _schema_errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == []
    assert _cli(path)[0] == 0


def test_base_of_the_broken_corpus_passes_both() -> None:
    path = Path(__file__).parent / "base.yaml"
    assert _schema_errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == []
    assert _cli(path)[0] == 0


@pytest.mark.parametrize("case", sorted(p.stem for p in BROKEN.glob("*.yaml") if p.stem not in UNREADABLE))
def test_broken_corpus_schema_and_cli_agree(case: str) -> None:
    path = BROKEN / f"{case}.yaml"
    code, out = _cli(path)
    assert code == 2, out
    errors = _schema_errors(yaml.safe_load(path.read_text(encoding="utf-8")))
    if case in CONSISTENCY:
        assert errors == [], f"the schema cannot know this, yet refused it: {errors}"
    else:
        assert errors, f"the CLI refuses this shape problem but the published schema accepts it:\n{out}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_cases_schema_and_cli_agree(case, tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "inventories" / case.source / "estate.yaml").read_text(encoding="utf-8"))
    hostile = copy.deepcopy(data)
    case.mutate(hostile, str(tmp_path))
    path = tmp_path / "estate.yaml"
    path.write_text(yaml.safe_dump(hostile, sort_keys=False, allow_unicode=True), encoding="utf-8")
    code, out = _cli(path)
    assert code == 2 and f": {case.field}: " in out, out
    errors = _schema_errors(hostile)
    if case.kind == "shape":
        assert errors, f"the CLI refuses {case.field} but the published schema accepts it"
    else:  # cli-only: a limit that depends on another field (a count), or a value JSON cannot hold (NaN)
        assert errors == [], errors


@pytest.mark.parametrize("section", ["sdwan", "cdn", "clusters", "gateways", "apps", "emergency", "drills", "packageMirror", "audit"])
def test_a_null_section_means_absent_in_both(section: str, tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "inventories" / "lab" / "estate.yaml").read_text(encoding="utf-8"))
    data["spec"][section] = None
    if section in ("clusters",):
        data["spec"]["services"][0]["clusters"] = []
    if section in ("gateways",):
        data["spec"]["apps"] = []
    path = tmp_path / "estate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, out = _cli(path)
    assert code == 0, out
    assert _schema_errors(data) == []


def test_null_host_fields_mean_absent_in_both(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "inventories" / "lab" / "estate.yaml").read_text(encoding="utf-8"))
    data["spec"]["sites"][1]["hosts"][2].update(vars=None, ports=None, os=None)
    data["spec"]["cdn"]["rules"] = None
    path = tmp_path / "estate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, out = _cli(path)
    assert code == 0, out
    assert _schema_errors(data) == []
