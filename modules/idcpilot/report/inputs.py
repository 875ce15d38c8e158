"""Reading what the report is built from: findings JSON, verify JSON, previous reports.

Each file is checked against a JSON Schema shipped beside this module; a mistake is reported
with the file, line and field, never as a traceback. JSON is read through the project's YAML
loader (JSON is YAML) so that every field keeps its line and column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from idcpilot.errors import Problem, UserInputError
from idcpilot.yamlsource import SourceMap, load_yaml_file

HERE = Path(__file__).resolve().parent
REPORT_SCHEMA = HERE / "report.schema.json"


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def schema_problems(data: Any, schema_name: str, smap: SourceMap | None, file: str) -> list[Problem]:
    """Every way ``data`` breaks the schema, located in the file when we know where."""
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    problems = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(err.absolute_path)
        message = _message(err)
        if smap is not None:
            problems.append(smap.problem(path, message))
        else:
            problems.append(Problem(file, 1, 1, ".".join(map(str, path)), message))
    return problems


def _message(err: jsonschema.ValidationError) -> str:
    if err.validator == "enum":
        return f"must be one of {', '.join(map(str, err.validator_value))} (got {err.instance!r})"
    if err.validator == "required":
        return err.message.replace("is a required property", "is required")
    if err.validator == "type":
        return f"must be {err.validator_value} (got {type(err.instance).__name__})"
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        best = jsonschema.exceptions.best_match(err.context) if err.context else None
        return best.message if best else err.message
    return err.message


def read_json(path: Path, schema_name: str, what: str) -> tuple[dict[str, Any], SourceMap]:
    name = shown(path)
    if path.is_dir():
        raise UserInputError.single(name, f"is a directory; expected the {what} JSON file")
    data, smap = load_yaml_file(path, name)
    if not isinstance(data, dict):
        raise UserInputError.single(name, f"expected a JSON object ({what})")
    problems = schema_problems(data, schema_name, smap, name)
    if problems:
        raise UserInputError(problems)
    return data, smap


def shown(path: Path) -> str:
    """A path as users see it: relative to the working directory when it can be."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # elsewhere, or a symlink loop (the loader names it)
        return str(path)


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Findings:
    """Policy findings in the contract's shape, and where they came from."""

    findings: list[dict[str, Any]]
    source: str  # "policy engine" or the file name
    warnings: list[str] = field(default_factory=list)
    estate: str | None = None  # the estate the findings are about, when the file says


def load_findings(path: Path) -> Findings:
    data, smap = read_json(path, "findings.schema.json", "policy findings (idcpilot check --format json)")
    return Findings(list(data["findings"]), shown(path), [str(w) for w in data.get("warnings", []) or []],
                    _estate(data, smap))


def findings_from_document(document: dict[str, Any], source: str) -> Findings:
    """The engine's own dict (same contract) — checked like a file, so both paths agree."""
    problems = schema_problems(document, "findings.schema.json", None, source)
    if problems:  # a bug in the engine, not the user's input: say so plainly
        raise RuntimeError(f"policy engine output breaks the findings contract: {problems[0]}")
    return Findings(list(document["findings"]), source, [str(w) for w in document.get("warnings", []) or []])


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verify:
    results: list[dict[str, Any]]
    measurements: dict[str, Any]
    source: str
    estate: str | None = None


def load_verify(path: Path) -> Verify:
    data, smap = read_json(path, "verify.schema.json", "verification results (idcpilot verify --format json)")
    return Verify(list(data["results"]), dict(data.get("measurements") or {}), shown(path), _estate(data, smap))


def _estate(data: dict[str, Any], smap: SourceMap) -> str | None:
    name = data.get("estate")
    if name is not None and not isinstance(name, str):
        raise UserInputError([smap.problem(("estate",), "must be the estate name (a string)")])
    return name


def check_estate(name: str, findings: Findings | None, verify: Verify | None) -> None:
    """Results of another estate must not pass for this one's evidence."""
    for what, given in (("findings", findings), ("verification results", verify)):
        if given is not None and given.estate is not None and given.estate != name:
            raise UserInputError.single(given.source, f"these {what} are for estate {given.estate!r}, not {name!r}", field="estate")


# --------------------------------------------------------------------------- history


def load_history(directory: Path) -> list[dict[str, Any]]:
    """Previous report.json files in a directory (any *.json that is an idcpilot report).

    Other JSON files are bad input: a wrong directory should not pass unnoticed.
    """
    if not directory.is_dir():
        raise UserInputError.single(shown(directory), "history: not a directory of previous report.json files")
    reports = []
    problems: list[Problem] = []
    for file in sorted(directory.glob("*.json")):
        try:
            data, _ = read_json(file, "report.schema.json", "previous report")
        except UserInputError as exc:
            problems.extend(exc.problems)
            continue
        data["_file"] = shown(file)
        reports.append(data)
    if problems:
        raise UserInputError(problems)
    return reports
