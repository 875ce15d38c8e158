"""Hostile estates against the lab's services: `spec.ntpServers` and `spec.packageMirror.artifacts`
decide what `idcpilot lab up` serves on the bridge and on which port, so a pull request that edits
them must get a clear refusal naming the field, or a service that runs exactly what is declared
and nothing else. Checked through `idcpilot lab status` (reads the lab plan, boots nothing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.adversarial.hostile import copy_estate, idcpilot, output


def _mirror(url: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["spec"]["packageMirror"]["artifacts"] = url
    return mutate


def _ntp(servers: list[str]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["spec"]["ntpServers"] = servers
    return mutate


def _rename(data: dict[str, Any]) -> None:
    data["metadata"]["name"] = "labsvc-hostile"  # never the shared lab's name: its services are not ours to report


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[dict[str, Any]], None]
    exit: int
    names: str  # the field path (refusals) or "" when accepted
    services: dict[str, str] | None = None  # accepted: {name: url} the lab would run


PWN = "/tmp/idcpilot-labsvc-pwned"
CASES = [
    Case("artifacts-shell-in-path", _mirror(f"http://10.213.0.1:8083/$(touch {PWN})"), 2, "spec.packageMirror.artifacts"),
    Case("artifacts-newline", _mirror("http://10.213.0.1:8083/\n--root /"), 2, "spec.packageMirror.artifacts"),
    Case("artifacts-on-apt-proxy-port", _mirror("http://10.213.0.1:3142"), 1, "spec.packageMirror.artifacts"),
    Case("artifacts-https-not-served", _mirror("https://10.213.0.1:8083"), 0, "", {"ntp": "ntp://10.213.0.1:123"}),
    Case("artifacts-elsewhere-not-served", _mirror("http://10.213.0.7:8083"), 0, "", {"ntp": "ntp://10.213.0.1:123"}),
    Case("artifacts-userinfo", _mirror("http://x@10.213.0.1:8083"), 2, "spec.packageMirror.artifacts"),
    Case("artifacts-path-is-not-the-root", _mirror("http://10.213.0.1:8083/../../etc"), 2, "spec.packageMirror.artifacts"),
    Case("artifacts-under-a-path", _mirror("http://10.213.0.1:8083/files/"), 0, "",
         {"ntp": "ntp://10.213.0.1:123", "artifacts": "http://10.213.0.1:8083/files"}),
    Case("artifacts-default-port", _mirror("http://10.213.0.1"), 0, "", {"ntp": "ntp://10.213.0.1:123", "artifacts": "http://10.213.0.1:80"}),
    Case("ntp-directive-injection", _ntp(["10.213.0.1\nallow all"]), 2, "spec.ntpServers"),
    Case("ntp-elsewhere-not-served", _ntp(["10.213.0.9"]), 0, "", {"artifacts": "http://10.213.0.1:8083"}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lab_services_follow_only_what_the_estate_declares(tmp_path: Path, case: Case) -> None:
    Path(PWN).unlink(missing_ok=True)
    estate = copy_estate(tmp_path, "lab").edit(_rename).edit(case.mutate)
    proc = idcpilot("lab", "status", estate.root, "--format", "json")
    text = output(proc)
    assert not Path(PWN).exists(), "a value from the estate ran a command"
    if case.services is None:
        assert proc.returncode == case.exit, text[-3000:]
        assert case.names in text, text[-3000:]
        return
    assert proc.returncode in (0, 1), text[-3000:]  # 1: the copy's hosts are not up
    status = json.loads(proc.stdout)
    assert {s["name"]: s["url"] for s in status["services"]} == case.services
    assert all(s["pid"] is None and not s["answering"] for s in status["services"]), status["services"]
