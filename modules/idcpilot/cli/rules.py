"""``idcpilot rules``: every policy rule with its metadata."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from idcpilot.cli.common import Format, FormatOpt, console, print_json, user_errors
from idcpilot.policy import registry, thresholds
from idcpilot.policy.waivers import WAIVER_RULE, WaiverBounds


def register(app: typer.Typer) -> None:
    @app.command()
    def rules(
        fmt: Format = FormatOpt,
        only: Optional[list[str]] = typer.Option(None, "--only", help="rule ids or prefixes"),
    ) -> None:
        """List every policy rule: id, title, severity, stage, clause, remediation, file."""
        with user_errors():
            loaded = registry.load_rules(registry.policy_dir())
            pats = [v for item in only or [] for v in item.split(",")]
            bad = registry.unknown_selectors(loaded, pats)
            if bad:
                from idcpilot.errors import UserInputError

                raise UserInputError.single("--only", f"no rule matches {', '.join(bad)}")
            chosen = registry.select(loaded, pats)
            # whether a waiver may cover the rule's failures (thresholds waivers.rules)
            unwaivable = WaiverBounds.from_thresholds(thresholds.load(registry.policy_dir() / "thresholds.yaml")).unwaivable
        root = registry.policy_dir().resolve().parent
        data = [{**lr.rule.as_dict(), "file": str(lr.file.relative_to(root)) if lr.file.is_relative_to(root) else str(lr.file),
                 "crossguard": "resource" if lr.per_resource else ("stack" if lr.check_manifests else None),
                 "waivable": lr.rule.id not in unwaivable} for lr in chosen]
        if not pats:
            data.append({**WAIVER_RULE.as_dict(), "file": "modules/idcpilot/policy/waivers.py", "crossguard": None, "waivable": False})
        if fmt is Format.json:
            print_json({"rules": data})
            return
        table = Table(pad_edge=False)
        for col in ("id", "severity", "waivable", "stage", "title", "clause", "file"):
            table.add_column(col, overflow="fold")
        for r in data:
            table.add_row(r["id"], r["severity"], "yes" if r["waivable"] else "no", ",".join(r["stage"]), r["title"], r["clause"], r["file"])
        console.print(table)
        console.print(f"{len(data)} rules")
