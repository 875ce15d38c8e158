"""Hostile estates through `idcpilot report`: every estate `validate` accepts gives a report (or a
clean exit 2), never a traceback; names that end up in certificates are shortened by rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.adversarial.hostile import Hostile, idcpilot, output


def _rename(h: Hostile, pattern: str, new: str) -> None:
    text = h.estate_file.read_text(encoding="utf-8")
    edited, n = re.subn(pattern, new, text)
    assert n > 0, pattern
    h.estate_file.write_text(edited, encoding="utf-8")


ESTATE = r"(?m)^(  name: )example$"
GATEWAY = r"(?<![a-z0-9-])()bj-zt(?![a-z0-9-])"


@pytest.mark.parametrize(
    ("what", "pattern", "length"),
    [
        pytest.param("estate", ESTATE, 24, id="estate-name-at-the-bound"),
        pytest.param("gateway", GATEWAY, 25, id="gateway-name-at-the-bound"),
    ],
)
def test_the_longest_names_validate_accepts_give_a_report(example: Hostile, tmp_path: Path, what: str, pattern: str, length: int):
    name = ("x" * length)[: length - 2] + "-1"
    _rename(example, pattern, r"\g<1>" + name)
    validated = idcpilot("validate", example.root)
    assert validated.returncode == 0, output(validated)
    out = tmp_path / "out"
    proc = idcpilot("report", example.root, "--out", out)  # plans the stacks (the gateway's certificates) too
    assert proc.returncode == 0, output(proc)
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["summary"]["gate"] == "pass"
    k8s = next(r for r in doc["clauses"] if r["id"] == "K8S")
    assert k8s["plan"]["counts"]["pass"] > 0  # the K8S rules judged the planned manifests


@pytest.mark.parametrize(
    ("what", "pattern", "length"),
    [
        pytest.param("estate", ESTATE, 25, id="estate-name-past-the-bound"),
        pytest.param("estate", ESTATE, 63, id="estate-name-63"),
        pytest.param("gateway", GATEWAY, 26, id="gateway-name-past-the-bound"),
        pytest.param("gateway", GATEWAY, 60, id="gateway-name-60"),
    ],
)
def test_names_too_long_for_a_certificate_are_refused_cleanly(example: Hostile, what: str, pattern: str, length: int):
    """Names that end up in an x509 common name are bounded by the catalogue (exit 2 naming the
    limit) before `check` or `report` could fail on them."""
    name = ("x" * length)[: length - 2] + "-1"
    _rename(example, pattern, r"\g<1>" + name)
    for command in ("validate", "report"):
        proc = idcpilot(command, example.root, *(["--no-plan", "--out", str(example.root / "out")] if command == "report" else []))
        assert proc.returncode == 2, output(proc)
        assert "at most" in output(proc) and "name" in output(proc), output(proc)


def test_subject_names_are_shortened_by_rule():
    from idcpilot.components.zero_trust import SUBJECT_MAX, subject_name

    assert subject_name("zt-bj-zt") == "zt-bj-zt"
    long_a, long_b = "e" * 60 + " bj-zt zero-trust CA", "e" * 60 + " gz-zt zero-trust CA"
    short_a, short_b = subject_name(long_a), subject_name(long_b)
    assert len(short_a) == len(short_b) == SUBJECT_MAX == 64
    assert short_a.startswith("e" * 55 + "-") and short_a != short_b  # distinct names stay distinct
    assert subject_name("x" * 64) == "x" * 64
