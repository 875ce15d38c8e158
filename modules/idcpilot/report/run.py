"""The report's edges: gather inputs (policy engine or files), build, check, write the three files."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from idcpilot.catalogue.estate import Catalogue
from idcpilot.errors import UserInputError
from idcpilot.report import inputs as inp
from idcpilot.report.build import SCHEMA_VERSION, Inputs, build_report
from idcpilot.report.html import render_html
from idcpilot.report.i18n import Lang
from idcpilot.report.markdown import render_markdown

FILES = ("report.html", "report.json", "report.md")
MD_MARK = f"<!-- {SCHEMA_VERSION} -->"
HISTORY_DIR = "history"


@dataclass
class Sources:
    findings_file: Path | None = None
    verify_file: Path | None = None
    history_dir: Path | None = None
    thresholds_file: Path | None = None
    waivers_file: Path | None = None
    plan: bool = True  # let the gate plan Kubernetes manifests (idcpilot.plan) for the K8S rules
    manifests_dir: Path | None = None  # or judge manifests already planned (idcpilot plan --out DIR)


def _policy_paths(sources: Sources) -> tuple[Path, Path]:
    from idcpilot.policy import registry

    pdir = registry.policy_dir()
    return sources.thresholds_file or pdir / "thresholds.yaml", sources.waivers_file or pdir / "waivers.yaml"


def gather(cat: Catalogue, sources: Sources, as_of: dt.date, out_dir: Path | None = None) -> tuple[Any, Inputs]:
    """Thresholds and inputs. Without --findings the policy gate runs here, on this estate."""
    from idcpilot.policy import run as run_policy
    from idcpilot.policy import thresholds as th_mod
    from idcpilot.policy import waivers as wv

    thresholds_path, waivers_path = _policy_paths(sources)
    thresholds = th_mod.load(thresholds_path)
    # waivers reach at most maxDays past the day they are read, not past a report's --as-of day
    approved_by = max(as_of, dt.date.today())
    notes: list[str] = []
    if sources.findings_file is not None:
        findings = inp.load_findings(sources.findings_file)
    else:
        from idcpilot.policy.k8s import load_manifest_dir

        planned = load_manifest_dir(sources.manifests_dir) if sources.manifests_dir is not None else None
        report = run_policy(cat, today=as_of, plan=sources.plan, manifests=planned, waivers_approved_by=approved_by,
                            thresholds_file=sources.thresholds_file, waivers_file=sources.waivers_file)
        findings = inp.findings_from_document(report.as_dict(), "policy engine (idcpilot check)")
        notes += list(report.notes)
    waivers: list[dict[str, Any]] = []
    if waivers_path.exists():
        from idcpilot.policy.registry import load_rules

        known = [r.rule.id for r in load_rules()]
        bounds = wv.WaiverBounds.from_thresholds(thresholds)
        waivers = [w.as_dict() for w in wv.load(waivers_path, known, bounds, approved_by) if w.in_scope(cat.name)]
    verify = inp.load_verify(sources.verify_file) if sources.verify_file is not None else None
    inp.check_estate(cat.name, findings, verify)
    history_dir = sources.history_dir
    if history_dir is None and out_dir is not None and (out_dir / HISTORY_DIR).is_dir():
        history_dir = out_dir / HISTORY_DIR  # reports archived by earlier runs into the same --out
    history = inp.load_history(history_dir) if history_dir is not None else []
    return thresholds, Inputs(findings, verify, history, waivers, notes, inp.shown(thresholds_path), provenance(cat.file))


NOT_A_CHECKOUT = "not a git checkout"


def provenance(estate_file: Path) -> dict[str, Any]:
    """What ties the report to its inputs: the estate file's sha256 and the commit of the
    repository holding it (with whether the file differs from that commit)."""
    digest = hashlib.sha256(estate_file.read_bytes()).hexdigest()
    commit, modified = _git_commit(estate_file)
    return {"estateSha256": digest, "commit": commit, "estateModified": modified}


def _git(where: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None  # no git on this machine, or it hung
    return done.stdout.strip() if done.returncode == 0 else None


def _git_commit(estate_file: Path) -> tuple[str, bool | None]:
    """HEAD of the checkout the estate lives in, or NOT_A_CHECKOUT (then nothing to compare)."""
    where = estate_file.resolve().parent
    head = _git(where, "rev-parse", "--verify", "-q", "HEAD")
    if not head or len(head) != 40:
        return NOT_A_CHECKOUT, None
    status = _git(where, "status", "--porcelain", "--", estate_file.resolve().name)
    return head, (None if status is None else bool(status))


def make_report(cat: Catalogue, sources: Sources, *, as_of: dt.date, out_dir: Path | None = None,
                generated_at: dt.datetime | None = None) -> dict[str, Any]:
    thresholds, inputs = gather(cat, sources, as_of, out_dir)
    doc = build_report(cat, thresholds, inputs, as_of=as_of,
                       generated_at=generated_at or dt.datetime.now(dt.timezone.utc))
    check_document(doc)
    return doc


def check_document(doc: dict[str, Any]) -> None:
    """The report we write always validates against the schema we ship (a bug otherwise)."""
    validator = jsonschema.Draft202012Validator(inp.schema("report.schema.json"))
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "/".join(map(str, error.absolute_path))
        raise RuntimeError(f"report.json would break report.schema.json at {where or '(top)'}: {error.message}")


# --------------------------------------------------------------------------- writing


def _ours(path: Path) -> bool:
    """Was this file written by `idcpilot report`? Anything else is the user's and is kept."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    if path.suffix == ".json":
        return f'"schemaVersion": "{SCHEMA_VERSION}"' in head
    if path.suffix == ".md":
        return head.startswith(MD_MARK)
    return '<meta name="generator" content="idcpilot' in head


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(doc: dict[str, Any], out_dir: Path, lang: Lang = "both", *, force: bool = False,
                 source_url: str | None = None) -> dict[str, Path]:
    """Write report.html, report.json and report.md; keep the previous report.json in history/."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserInputError.single(str(out_dir), "--out: exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in FILES}
    foreign = [p for p in paths.values() if p.exists() and not _ours(p)]
    if foreign and not force:
        raise UserInputError([
            UserInputError.single(str(p), "exists and was not written by `idcpilot report`; not overwriting it "
                                          "(choose another --out, or --force)").problems[0]
            for p in foreign
        ])
    _atomic_write(paths["report.json"], json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    _atomic_write(paths["report.html"], render_html(doc, lang, source_url))
    _atomic_write(paths["report.md"], MD_MARK + "\n" + render_markdown(doc, lang))
    return paths


def archive_previous(out_dir: Path) -> Path | None:
    """Copy last run's OUT/report.json to OUT/history/<estate>-<asOf>-<HHMMSS>.json (a copy: nothing is lost).

    Run before building, so this report's trend compares against the last one. Only a valid
    report of ours is archived; anything else is left alone.
    """
    previous = out_dir / "report.json"
    if not previous.is_file() or not _ours(previous):
        return None
    text = previous.read_text(encoding="utf-8")
    try:
        old = json.loads(text)
    except ValueError:
        return None
    if not isinstance(old, dict) or inp.schema_problems(old, "report.schema.json", None, str(previous)):
        return None
    history = out_dir / HISTORY_DIR
    history.mkdir(exist_ok=True)
    return _write_new(history, _history_stem(old), text)


def _history_stem(doc: dict[str, Any]) -> str:
    """<estate>-<asOf>-<generatedAt as HHMMSS>: a day's reports sort by time and keep their own names."""
    stamp = "".join(ch for ch in str(doc.get("generatedAt", ""))[11:19] if ch.isdigit())
    return f"{doc['estate']['name']}-{doc['asOf']}" + (f"-{stamp}" if stamp else "")


def _write_new(directory: Path, stem: str, text: str) -> Path:
    """Write ``stem.json`` (or ``stem-2.json``, …) without ever replacing a file already there."""
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        n = 1
        while True:
            target = directory / (f"{stem}.json" if n == 1 else f"{stem}-{n}.json")
            try:
                os.link(tmp, target)  # fails if the name is taken: a history record is never overwritten
                return target
            except FileExistsError:
                if target.read_text(encoding="utf-8", errors="replace") == text:
                    return target  # this very report was archived already (an earlier run stopped on bad input)
                n += 1
    finally:
        Path(tmp).unlink(missing_ok=True)
