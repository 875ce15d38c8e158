"""``idcpilot report``: the quarterly evidence report (report.html, report.json, report.md)."""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path

import typer

from idcpilot import catalogue
from idcpilot.cli.common import EXIT_FAIL, EnvArg, console, user_errors
from idcpilot.errors import UserInputError


class LangOpt(str, enum.Enum):
    both = "both"
    zh = "zh"
    en = "en"


def _date(value: str | None) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.timezone.utc).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserInputError.single("--as-of", f"not a date YYYY-MM-DD: {value!r}") from None


def _why_not_verified(part: dict, verify_file: str | None) -> str:
    if verify_file is None:
        return "no verify results (--verify)"
    if part["status"] == "skipped":
        return "its host checks were skipped"
    if part.get("gaps"):
        return "; ".join(f"verified {g['covered']}/{g['expected']} {g['kind']}" for g in part["gaps"])
    return "no verify result for it"


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        env: Path = EnvArg,
        verify: Path = typer.Option(None, "--verify", help="verification results (idcpilot verify --format json)"),
        findings: Path = typer.Option(None, "--findings", help="policy findings (idcpilot check --format json) instead of running the gate here"),
        out: Path = typer.Option(Path("out"), "--out", "-o", help="directory for report.html, report.json and report.md"),
        history: Path = typer.Option(None, "--history", help="directory of previous report.json files (default: OUT/history if present)"),
        lang: LangOpt = typer.Option(LangOpt.both, "--lang", help="labels in Chinese, English or both (中文 / English)"),
        as_of: str = typer.Option(None, "--as-of", help="assessment date YYYY-MM-DD (default: today, UTC): waiver expiry, 12-month drill window"),
        thresholds: Path = typer.Option(None, "--thresholds", help="thresholds file (default: policy/thresholds.yaml)"),
        waivers: Path = typer.Option(None, "--waivers", help="waivers file (default: policy/waivers.yaml)"),
        source_url: str = typer.Option(None, "--source-url", help="link evidence to source, e.g. 'https://git.example/idc/blob/main/{file}#L{line}'"),
        manifests: Path = typer.Option(None, "--manifests", help="judge these planned manifests (idcpilot plan --out DIR) instead of planning again"),
        no_plan: bool = typer.Option(False, "--no-plan", help="do not plan Kubernetes manifests for the K8S rules (faster; K8S judged on the catalogue)"),
        force: bool = typer.Option(False, "--force", help="overwrite report files in OUT that idcpilot did not write"),
        strict: bool = typer.Option(False, "--strict", help="exit 1 when any clause failed (the report is still written)"),
    ) -> None:
        """Write the evidence report: every clause with plan and verify results, KPIs, pictures, trend."""
        from idcpilot.report.run import Sources, archive_previous, make_report, write_report

        with user_errors():
            day = _date(as_of)
            if source_url is not None and ("{file}" not in source_url or "{line}" not in source_url):
                raise UserInputError.single("--source-url", "must contain {file} and {line}")
            cat = catalogue.load(env)
            for given, what in ((thresholds, "thresholds"), (waivers, "waivers"), (manifests, "manifests")):
                if given is not None and not given.exists():
                    raise UserInputError.single(str(given), f"--{what}: not found")
            sources = Sources(findings, verify, history, thresholds, waivers, plan=not no_plan, manifests_dir=manifests)
            if out.is_dir():
                archive_previous(out)
            doc = make_report(cat, sources, as_of=day, out_dir=out)
            paths = write_report(doc, out, lang.value, force=force, source_url=source_url)
        s = doc["summary"]
        gate = {"pass": "[green]passed[/green]", "fail": "[red]FAILED[/red]", None: "not run"}[s["gate"]]
        console.print(
            f"estate [bold]{doc['estate']['name']}[/bold] as of {doc['asOf']}: {s['clauses']} clauses — "
            f"[red]{s['fail']} failed[/red], {s['waived']} waived, {s['notVerified']} not verified, {s['notChecked']} not checked, "
            f"{s['notApplicable']} not applicable, [green]{s['pass']} passed[/green]; "
            f"policy gate {gate}"
        )
        for row in doc["clauses"]:
            if row["status"] == "fail":
                failed = [e for e in row["evidence"] if e["status"] == "fail"]
                where = next((e["location"] for e in failed if e["kind"] == "finding" and e.get("location")), None)
                test = next((e for e in failed if e["kind"] == "verify"), None)
                at = f" ({where['file']}:{where['line']})" if where else (f" (verify {test['test']})" if test else "")
                console.print(f"  [red]✘[/red] {row['id']}{at}", highlight=False)
            elif row["status"] == "not-verified":
                console.print(f"  ? {row['id']} not verified: {_why_not_verified(row['verify'], doc['inputs']['verify'])}", highlight=False)
        console.print(f"report: [bold]{paths['report.html'].resolve()}[/bold]", highlight=False)
        console.print(f"        {paths['report.json']}  {paths['report.md']}", highlight=False)
        if strict and s["fail"]:
            raise typer.Exit(EXIT_FAIL)
