"""Report fixtures: the example estate's report (built once), and a failing copy of it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from idcpilot import catalogue
from idcpilot.report.run import Sources, make_report, write_report

AS_OF = dt.date(2026, 11, 27)
GENERATED = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.timezone.utc)
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example"

#: A copy of the example estate breaks PILOT-PUE here (gz-edge-1's measured PUE)...
PUE_LINE_OLD = "pue: {design: 1.3, measured: 1.32, measuredOn: 2026-10-31}"
PUE_LINE_NEW = "pue: {design: 1.3, measured: 1.41, measuredOn: 2026-10-31}"
#: ... and carries an expired waiver (for that very finding).
EXPIRED_WAIVER = """\
waivers:
  - rule: PILOT-PUE
    target: site/gz-edge-1
    estate: example
    justification: chiller replacement in Q1
    approver: ops director
    expires: 2026-03-31
"""


def verify_document() -> dict[str, Any]:
    """Verification results in the verify results contract (idcpilot.verify.report), with measurements keyed by rule id."""
    return {
        "summary": {"total": 6, "pass": 3, "fail": 2, "skipped": 1},
        "results": [
            {"rule": "PILOT-SDWAN-LATENCY", "host": "bj-core-1-wan-01", "test": "tests/verify/test_sdwan.py::test_latency[bj-core-1-wan-01]",
             "status": "pass", "message": "max one-way 4.1 ms", "duration": 2.5},
            {"rule": "PILOT-ZT", "host": "bj-core-1-zt-01", "test": "tests/verify/test_zt.py::test_matrix[bj-core-1-zt-01]",
             "status": "pass", "message": "1000/1000 decided correctly", "duration": 4.0},
            {"rule": "MLPS3-AUDIT", "host": "bj-core-1-cp-01", "test": "tests/verify/test_baseline.py::test_auditd[bj-core-1-cp-01]",
             "status": "skipped", "message": "auditd cannot run in a container (no audit netlink)", "duration": 0.1},
            {"rule": "MLPS3-AUTH-REMOTE", "host": "bj-core-1-cp-01", "test": "tests/verify/test_baseline.py::test_sshd[bj-core-1-cp-01]",
             "status": "fail", "message": "PasswordAuthentication yes", "duration": 0.3},
            {"rule": "PILOT-THREAT-INTEL", "host": "bj-core-1-zt-01", "test": "tests/verify/test_zt.py::test_feed_synced[bj-core-1-zt-01]",
             "status": "fail", "message": "blocklist older than 15 min", "duration": 0.2},
            {"rule": "PILOT-TRANSPARENCY", "host": "bj-core-1-cp-01", "test": "tests/verify/test_monitoring.py::test_exporter[bj-core-1-cp-01]",
             "status": "pass", "message": "node_exporter answers", "duration": 0.2},
        ],
        "measurements": {
            "PILOT-SDWAN-LATENCY": {"links": [
                {"a": "bj-core-1", "b": "sh-core-1", "rttMs": 8.2},
                {"a": "bj-core-1-wan-01", "b": "gz-edge-1-wan-01", "oneWayMs": 4.1},
            ]},
            "PILOT-ZT": {"correct": 999, "total": 1000},
        },
    }


@dataclass
class Built:
    doc: dict[str, Any]
    out: Path
    paths: dict[str, Path]


@pytest.fixture(scope="session")
def example_report(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The example estate's report as `make demo` makes it: the policy gate runs here, plan included."""
    out = tmp_path_factory.mktemp("example-report")
    cat = catalogue.load(EXAMPLE)
    doc = make_report(cat, Sources(), as_of=AS_OF, generated_at=GENERATED)
    return Built(doc, out, write_report(doc, out))


@pytest.fixture(scope="session")
def failing_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("failing") / "failing"
    shutil.copytree(EXAMPLE, root)
    estate = root / "estate.yaml"
    text = estate.read_text(encoding="utf-8")
    assert text.count(PUE_LINE_OLD) == 1
    estate.write_text(text.replace(PUE_LINE_OLD, PUE_LINE_NEW), encoding="utf-8")
    (root / "waivers.yaml").write_text(EXPIRED_WAIVER, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def failing_report(failing_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("failing-report")
    verify = out.parent / "verify.json"
    verify.write_text(json.dumps(verify_document()), encoding="utf-8")
    cat = catalogue.load(failing_env)
    sources = Sources(verify_file=verify, waivers_file=failing_env / "waivers.yaml", plan=False)
    doc = make_report(cat, sources, as_of=AS_OF, generated_at=GENERATED)
    return Built(doc, out, write_report(doc, out))


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
