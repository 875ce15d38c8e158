"""The Ansible variables a catalogue host may set: the documented role variables, nothing else.

Host ``vars:`` in ``estate.yaml`` reach Ansible as host variables, so they could override
connection settings (``ansible_ssh_common_args``), the inventory's own facts (``idcpilot_*``)
or smuggle a template. They are limited to the variables the roles document in
``roles/*/meta/argument_specs.yml``; their values are plain data (no control characters, no
Jinja markers) of the type the argument spec declares.

The package never reads ``roles/`` at run time (an installed idcpilot has no checkout): the
union of the argument specs is generated into ``role_variables.json`` beside this module by
``scripts/generate-role-variables.py``, and a test fails when the file is stale.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from idcpilot.catalogue.types import FREE_TEXT, anchored, safe_text_problem
from idcpilot.errors import excerpt
from idcpilot.yamlsource import load_yaml_file

ROLE_VARIABLES_FILE = Path(__file__).resolve().parent / "role_variables.json"

#: Variables no estate may set: connection, privilege escalation, interpreter, everything
#: Ansible itself reads, and Mitogen's connection settings (the idcpilot_linear strategy reads
#: mitogen_via and friends). Documented role variables never start like this.
FORBIDDEN_PREFIXES = ("ansible_", "mitogen_")

#: argument_specs type -> (JSON Schema type, Python types accepted, words for a message)
_TYPES: dict[str, tuple[str | None, tuple[type, ...], str]] = {
    "bool": ("boolean", (bool,), "true or false"),
    "int": ("integer", (int,), "an integer"),
    "float": ("number", (int, float), "a number"),
    "str": ("string", (str,), "text"),
    "path": ("string", (str,), "a path"),
    "list": ("array", (list,), "a list"),
    "dict": ("object", (dict,), "a mapping"),
    "raw": (None, (object,), "any value"),
}


def generate(roles_dir: Path) -> dict[str, Any]:
    """Read every roles/*/meta/argument_specs.yml into {variable: {role, type, elements, description}}."""
    variables: dict[str, dict[str, Any]] = {}
    for spec_file in sorted(roles_dir.glob("*/meta/argument_specs.yml")):
        role = spec_file.parent.parent.name
        specs = load_yaml_file(spec_file)[0] or {}
        for entry in (specs.get("argument_specs") or {}).values():
            for name, option in sorted((entry.get("options") or {}).items()):
                description = option.get("description") or ""
                if isinstance(description, list):
                    description = " ".join(description)
                record = {"role": role, "type": option.get("type", "str"), "description": " ".join(str(description).split())}
                if option.get("elements"):
                    record["elements"] = option["elements"]
                variables.setdefault(name, record)
    return {
        "source": "roles/*/meta/argument_specs.yml (regenerate with scripts/generate-role-variables.py)",
        "variables": dict(sorted(variables.items())),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


@lru_cache(maxsize=1)
def documented() -> dict[str, dict[str, Any]]:
    """{variable: {role, type, ...}} from the packaged role_variables.json."""
    return json.loads(ROLE_VARIABLES_FILE.read_text(encoding="utf-8"))["variables"]


# ----------------------------------------------------------------------------- checks


def name_problem(name: str) -> str | None:
    """Why ``name`` may not be set from the catalogue, or None."""
    if name.startswith(FORBIDDEN_PREFIXES):
        return (f"{excerpt(name)} is an Ansible connection/become/interpreter variable; "
                "the catalogue may set documented role variables only")
    if name not in documented():
        close = difflib.get_close_matches(name, list(documented()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{excerpt(name)} is not a documented role variable (roles/*/meta/argument_specs.yml){hint}"
    return None


def value_problems(value: Any, at: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(sub-path, message) for every string in ``value`` that is not plain data."""
    if isinstance(value, str):
        problem = safe_text_problem(value)
        if problem:
            yield at, problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from value_problems(item, at + (index,))
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = safe_text_problem(str(key))
            if problem:
                yield at + (str(key),), f"key {problem}"
            yield from value_problems(item, at + (str(key),))


def type_problem(name: str, value: Any) -> str | None:
    """Whether ``value`` has the type the argument spec documents for ``name``."""
    spec = documented().get(name)
    if spec is None:
        return None
    _, accepted, words = _TYPES.get(spec["type"], _TYPES["raw"])
    ok = isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted)
    if not ok:
        return f"must be {words}: roles/{spec['role']} documents {name} as {spec['type']}"
    if spec["type"] == "list" and spec.get("elements") in _TYPES:
        _, item_types, item_words = _TYPES[spec["elements"]]
        for item in value:
            if not isinstance(item, item_types) or (isinstance(item, bool) and bool not in item_types):
                return f"every item must be {item_words}: roles/{spec['role']} documents {name} as a list of {spec['elements']}"
    return None


# ----------------------------------------------------------------------------- JSON Schema

_SAFE_STRING = {"type": "string", "pattern": anchored(FREE_TEXT)}


def vars_json_schema() -> dict[str, Any]:
    """Host vars in the published schema: the documented variables with their types (editors
    complete them), values free of control characters and template markers."""
    safe_value = {"$ref": "#/$defs/RoleVariableValue"}
    properties: dict[str, Any] = {}
    for name, spec in documented().items():
        json_type = _TYPES.get(spec["type"], _TYPES["raw"])[0]
        prop: dict[str, Any] = {"description": f"roles/{spec['role']}: {spec['description']}"[:300]}
        if json_type == "string":
            prop.update(_SAFE_STRING)
        elif json_type is not None:
            prop["allOf"] = [{"type": json_type}, safe_value]
        else:
            prop.update(safe_value)
        properties[name] = prop
    return {
        "type": "object",
        "description": "Ansible host variables: documented role variables only (never ansible_*); plain data, no templates",
        "properties": properties,
        "additionalProperties": False,
        "default": {},
    }


def value_json_schema() -> dict[str, Any]:
    """$defs/RoleVariableValue: any YAML value whose strings are plain text."""
    ref = {"$ref": "#/$defs/RoleVariableValue"}
    return {
        "anyOf": [
            _SAFE_STRING,
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": ref},
            {"type": "object", "additionalProperties": ref, "propertyNames": _SAFE_STRING},
        ],
    }
