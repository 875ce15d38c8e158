"""The published JSON Schema of ``estate.yaml``, generated from the model (never by hand).

pydantic writes the schema of every model and type; two things are finished here: host
``vars`` list the documented role variables (from ``role_variables.json``), and mappings with
typed keys name their key grammar in ``propertyNames`` (pydantic emits ``patternProperties``,
which would let a key that fails the pattern through unchecked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idcpilot.catalogue import role_variables
from idcpilot.catalogue.model import Estate

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "estate.schema.json"
SCHEMA_ID = "https://idcpilot.example/schema/idcpilot-v1/estate.schema.json"


def estate_schema() -> dict[str, Any]:
    schema = Estate.model_json_schema(by_alias=True, mode="validation")
    defs = schema.setdefault("$defs", {})
    host_vars = defs["HostSpec"]["properties"]["vars"]
    keep = {k: host_vars[k] for k in ("description", "title") if k in host_vars}
    host_vars.clear()
    host_vars.update({"anyOf": [role_variables.vars_json_schema(), {"type": "null"}], **keep})
    defs["RoleVariableValue"] = role_variables.value_json_schema()
    _typed_keys(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "idcpilot estate catalogue (idcpilot/v1)",
        **schema,
    }


def _typed_keys(node: Any) -> None:
    """{patternProperties: {P: V}} -> {propertyNames: {pattern: P, ...}, additionalProperties: V}."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
            (pattern, value), = patterns.items()
            names = dict(node.get("propertyNames") or {})
            names.update({"type": "string", "pattern": pattern})
            node.pop("patternProperties")
            node["propertyNames"] = names
            node["additionalProperties"] = value
        for child in list(node.values()):
            _typed_keys(child)
    elif isinstance(node, list):
        for child in node:
            _typed_keys(child)
