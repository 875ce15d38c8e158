#!/usr/bin/env python3
"""Regenerate modules/idcpilot/catalogue/role_variables.json from roles/*/meta/argument_specs.yml.

Run after changing a role's argument specs (tests/catalogue/test_role_variables.py fails until
you do), then `idcpilot schema --write`: the estate schema lists the same variables.
    .venv/bin/python scripts/generate-role-variables.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "modules"))

from idcpilot.catalogue.role_variables import ROLE_VARIABLES_FILE, generate, render  # noqa: E402


def main() -> int:
    text = render(generate(REPO / "roles"))
    current = ROLE_VARIABLES_FILE.read_text(encoding="utf-8") if ROLE_VARIABLES_FILE.exists() else ""
    if "--check" in sys.argv[1:]:
        if current != text:
            print(f"{ROLE_VARIABLES_FILE} is out of date: run scripts/generate-role-variables.py", file=sys.stderr)
            return 1
        print(f"{ROLE_VARIABLES_FILE} is up to date")
        return 0
    ROLE_VARIABLES_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {ROLE_VARIABLES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
