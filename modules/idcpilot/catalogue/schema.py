"""The published JSON Schema of ``estate.yaml``, generated from the model (never by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idcpilot.catalogue.model import Estate

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "estate.schema.json"
SCHEMA_ID = "https://idcpilot.example/schema/idcpilot-v1/estate.schema.json"


def estate_schema() -> dict[str, Any]:
    schema = Estate.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "idcpilot estate catalogue (idcpilot/v1)",
        **schema,
    }
