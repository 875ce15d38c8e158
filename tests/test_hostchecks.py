"""One implementation of the MLPS3 host checks (idcpilot.hostchecks) for the gate, the role's
on-host self-check and verify: the role ships the package's own file, and the three paths read
every time span alike (they once disagreed: "6M" was 182.6 days to the gate and 6 seconds to the
host and verify; "26weeks" 182 days, 0 and a KeyError; "1.5d" 1.5 days, 5 days and 5 days)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

import idcpilot.hostchecks as source
from idcpilot.policy.baseline import timespan_days
from idcpilot.verify.suites.baseline_support import kv, systemd_seconds

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "roles" / "baseline" / "files" / "baseline_compliance.py"
DAY, MONTH, YEAR = 86400, 2629800, 31557600

#: (span as written in a variable or a host's config, seconds as systemd reads it; None: refused)
SPANS = [
    ("6M", 6 * MONTH),
    ("6month", 6 * MONTH),
    ("6months", 6 * MONTH),
    ("26weeks", 26 * 7 * DAY),
    ("26w", 26 * 7 * DAY),
    ("1.5d", 1.5 * DAY),
    (".5d", 0.5 * DAY),
    ("180d", 180 * DAY),
    ("180 days", 180 * DAY),
    ("1y 2w", YEAR + 14 * DAY),
    ("1y2w", YEAR + 14 * DAY),
    ("0.5y", 0.5 * YEAR),
    ("1h30min", 5400),
    ("2 weeks", 14 * DAY),
    ("3m", 180),
    ("3M", 3 * MONTH),
    ("90", 90),
    ("15552000", 15552000),
    (15552000, 15552000),
    ("500ms", 0.5),
    ("", None),
    ("soon", None),
    ("-5d", None),
    ("6MONTHS", None),
    ("5 fortnights", None),
    ("1d 2", 86402),
    (True, None),
]


def _shipped_module():
    spec = importlib.util.spec_from_file_location("shipped_baseline_compliance", SHIPPED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_role_ships_the_package_source():
    assert SHIPPED.is_symlink(), "roles/baseline/files/baseline_compliance.py must be the package's file, not a copy"
    assert os.path.realpath(SHIPPED) == os.path.realpath(source.__file__)
    assert SHIPPED.read_bytes() == Path(source.__file__).read_bytes()


def test_the_table_is_long_enough():
    assert len(SPANS) >= 20


@pytest.mark.parametrize(("span", "seconds"), SPANS, ids=[repr(s) for s, _ in SPANS])
def test_gate_host_and_verify_read_a_span_alike(span, seconds):
    shipped = _shipped_module()
    on_host = shipped.timespan_seconds(span)
    gate = timespan_days(span)
    verify = systemd_seconds(span) if isinstance(span, str) else None
    if seconds is None:
        assert on_host is None and gate is None
        assert verify in (None, 0)  # verify reads a refused span as no retention at all
    else:
        assert on_host == pytest.approx(seconds)
        assert gate * DAY == pytest.approx(seconds)
        if verify is not None:
            assert verify == pytest.approx(seconds)


def test_key_value_files_are_read_alike_on_the_host_and_in_verify():
    text = "# comment\nminlen = 12\nminclass=3\n\nPASS_MAX_DAYS\t90\nminlen = 14\n"
    assert kv(text) == source.parse_kv(text) == {"minlen": "14", "minclass": "3", "PASS_MAX_DAYS": "90"}
    assert kv("PASS_MAX_DAYS 90\nUMASK 027", sep=" ") == {"PASS_MAX_DAYS": "90", "UMASK": "027"}
    assert kv("Reference ID    : C0A80001 (10.0.0.1)\nLeap status     : Normal", sep=":")["Leap status"] == "Normal"
