"""The report opened in real headless Chromium, driven over the DevTools protocol (a pipe).

First the detector itself is tested on a page with planted errors, so "no console errors"
below means something. Chromium comes from scripts/host-packages.txt (`make test` as root).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from .cdp import chromium_binary, file_url, visit
from .conftest import REPO, line_of
from .test_report_build import spec_ids

pytestmark = pytest.mark.skipif(chromium_binary() is None, reason="chromium is not installed (scripts/host-packages.txt; `make test` as root installs it)")

PNG = b"\x89PNG\r\n\x1a\n"


def test_detector_catches_planted_errors(tmp_path):
    """console.error, an uncaught exception and a load the page's own policy blocks (no traffic leaves)."""
    page = tmp_path / "planted.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset=utf-8>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">"
        "<title>planted</title></head><body><p>x</p><img src=\"missing.png\">"
        "<script>console.error('planted console error'); undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    seen = visit(file_url(page))
    assert seen.title == "planted"
    assert any("planted console error" in e for e in seen.console_errors), seen.console_errors
    assert any("undefinedFunction" in e for e in seen.console_errors), seen.console_errors
    assert any("Content Security Policy" in e or "missing.png" in e for e in seen.console_errors), seen.console_errors


def test_example_report_in_chromium(example_report):
    html = example_report.paths["report.html"]
    profiles = set(Path(tempfile.gettempdir()).glob("idcpilot-chromium-*"))
    seen = visit(file_url(html), width=1400)
    assert set(Path(tempfile.gettempdir()).glob("idcpilot-chromium-*")) <= profiles  # its profile is removed
    assert seen.console_errors == []
    assert seen.requests == [file_url(html)]  # nothing but the page itself: no fonts, scripts, images
    assert "试点评估证据报告" in seen.title and "Pilot assessment evidence report" in seen.title
    for rid in sorted(spec_ids()):
        assert rid in seen.dom, rid
    assert re.search(r'id="gate"[^>]*>[^<]*(通过 / passed)', seen.dom)
    assert seen.screenshot.startswith(PNG) and len(seen.screenshot) > 50_000
    shot = example_report.out / "report.png"
    shot.write_bytes(seen.screenshot)
    assert shot.stat().st_size > 50_000


def test_failing_report_in_chromium_failed_rows_first(failing_report, failing_env):
    seen = visit(file_url(failing_report.paths["report.html"]), width=1400, full_page=False)
    assert seen.console_errors == []
    rows = re.findall(r'<tr class="row s-([a-z-]+)" id="([A-Z0-9-]+)"', seen.dom)
    statuses = [s for s, _ in rows]
    n_fail = statuses.count("fail")
    assert n_fail >= 2 and statuses[:n_fail] == ["fail"] * n_fail
    first_ids = {i for _, i in rows[:n_fail]}
    assert {"PILOT-PUE", "POLICY-WAIVER"} <= first_ids
    line = line_of(failing_env / "estate.yaml", "measured: 1.41")
    pue_row = seen.dom[seen.dom.index('id="PILOT-PUE"'):]
    pue_row = pue_row[: pue_row.index('<tr class="row ', 1)]  # up to the next clause row
    assert f"estate.yaml:{line}:" in pue_row
    assert "2026-03-31" in pue_row and "expired" in pue_row


def test_docs_screenshot_exists():
    """The screenshot kept in the docs is a real PNG (how to refresh it: docs/report.md)."""
    doc_shot = REPO / "docs" / "report-screenshot.png"
    assert doc_shot.exists() and doc_shot.read_bytes().startswith(PNG)
