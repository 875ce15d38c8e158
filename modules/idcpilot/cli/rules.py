"""``idcpilot rules``: every policy rule with its metadata."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from idcpilot.cli.common import Format, FormatOpt, console, print_json, user_errors
from idcpilot.policy import registry
from idcpilot.policy.waivers import WAIVER_RULE


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
        data = [{**lr.rule.as_dict(), "file": str(lr.file.relative_to(registry.REPO)) if lr.file.is_relative_to(registry.REPO) else str(lr.file),
                 "crossguard": "resource" if lr.per_resource else ("stack" if lr.check_manifests else None)} for lr in chosen]
        if not pats:
            data.append({**WAIVER_RULE.as_dict(), "file": "modules/idcpilot/policy/waivers.py", "crossguard": None})
        if fmt is Format.json:
            print_json({"rules": data})
            return
        table = Table(pad_edge=False)
        for col in ("id", "severity", "stage", "title", "clause", "file"):
            table.add_column(col, overflow="fold")
        for r in data:
            table.add_row(r["id"], r["severity"], ",".join(r["stage"]), r["title"], r["clause"], r["file"])
        console.print(table)
        console.print(f"{len(data)} rules")
