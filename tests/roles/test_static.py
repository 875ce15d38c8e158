"""Static checks particular to roles/baseline (the checks every role shares are in
test_roles_static.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_every_baseline_task_is_tagged_with_a_rule() -> None:
    for path in sorted((REPO / "roles" / "baseline" / "tasks").glob("*.yml")):
        if path.name in ("main.yml", "preflight.yml", "compliance.yml"):
            continue
        for task in yaml.safe_load(path.read_text()) or []:
            tags = task.get("tags") or []
            assert any(t.startswith(("MLPS3-", "PILOT-")) for t in tags), f"{path.name}: '{task.get('name')}' carries no rule id tag"


