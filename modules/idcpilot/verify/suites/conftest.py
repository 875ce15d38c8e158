"""testinfra suites run by `idcpilot verify` against real hosts of an estate.

Conventions for every suite in this directory:

* Tag each test with the pilot-spec rule it verifies: ``@pytest.mark.rule("MLPS3-TIME")``.
* Choose hosts by inventory group: ``@pytest.mark.group("role_cdn_node")`` (or module-level
  ``pytestmark = [pytest.mark.group("role_cdn_node")]``); a test that uses testinfra's ``host``
  fixture then runs once per automated host of that group (default group: ``automated``).
* ``hostvars`` is the host's rendered inventory variables; ``inventory`` has every host's
  variables and the groups (``inventory.with_role("cdn_node")``).
* Numbers go into the report's measurements: ``measure("rtt_ms", 3.2)`` (keyed by the test's
  rule and the host), or ``record_property("measurements", {RULE: {...}})``.
* What a container cannot show is skipped, never passed:
  ``not_in_container("auditd needs the audit netlink socket")`` skips with
  "not checkable in a container: <reason>" on lab hosts.

`idcpilot verify` sets IDCPILOT_VERIFY_ENV (the estate dir), IDCPILOT_VERIFY_INVENTORY (the
rendered inventory) and IDCPILOT_VERIFY_RESULTS; without them nothing here is collected, so a
plain `pytest tests/` (make test) never tries to reach hosts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

ENV = os.environ.get("IDCPILOT_VERIFY_ENV")
INVENTORY = os.environ.get("IDCPILOT_VERIFY_INVENTORY")
RESULTS = os.environ.get("IDCPILOT_VERIFY_RESULTS")
CONTAINER_SKIP = "not checkable in a container: "

if not (ENV and INVENTORY):
    # Needs real hosts: run through `idcpilot verify inventories/<env>`.
    collect_ignore_glob = ["*.py"]


@dataclass
class Inventory:
    hostvars: dict[str, dict[str, Any]]
    groups: dict[str, list[str]]

    def with_role(self, role: str) -> list[str]:
        return sorted(set(self.groups.get(f"role_{role}", [])) & set(self.groups.get("automated", [])))


@lru_cache(maxsize=1)
def load_inventory() -> Inventory:
    data = yaml.safe_load(Path(INVENTORY).read_text()) if INVENTORY else {"all": {}}
    root = data.get("all") or {}
    hostvars = {h: (v or {}) for h, v in (root.get("hosts") or {}).items()}
    groups = {g: sorted((spec or {}).get("hosts") or {}) for g, spec in (root.get("children") or {}).items()}
    return Inventory(hostvars, groups)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rule(id): the pilot-spec rule id this test verifies (verify-stage rules)")
    config.addinivalue_line("markers", "group(name, ...): inventory groups whose hosts the test runs on (default: automated)")


def inventory_name(testinfra_host: Any) -> str:
    """The inventory name of a testinfra host (its id is ``ansible://<name>``)."""
    return testinfra_host.backend.get_pytest_id().split("://", 1)[-1]


def _host_name(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    h = callspec.params.get("_testinfra_host")
    if h is not None:
        return inventory_name(h)
    names = load_inventory().hostvars
    for value in callspec.params.values():
        if isinstance(value, str) and value in names:
            return value
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    inv = load_inventory()
    wanted_rules = {r for r in os.environ.get("IDCPILOT_VERIFY_RULES", "").split(",") if r}
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("rule")
        rule = marker.args[0] if marker and marker.args else "UNTAGGED"
        host = _host_name(item)
        groups = [g for m in item.iter_markers("group") for g in m.args] or ["automated"]
        in_scope = host is None or any(host in inv.groups.get(g, []) for g in groups)
        if not in_scope or (wanted_rules and rule not in wanted_rules):
            drop.append(item)
            continue
        item.user_properties.append(("idcpilot.rule", rule))
        item.user_properties.append(("idcpilot.host", host or "*"))
        item.user_properties.append(("idcpilot.test", item.nodeid.split("[", 1)[0]))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# ------------------------------------------------------------------ results (controller side)

_records: dict[str, dict[str, Any]] = {}


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.splitlines()[0][:500] if crash.message else ""
    return str(report.longrepr or "")[-500:]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not RESULTS:
        return
    props = dict((k, v) for k, v in report.user_properties if not k.startswith("measurement"))
    rec = _records.setdefault(report.nodeid, {
        "rule": props.get("idcpilot.rule", "UNTAGGED"),
        "host": props.get("host", props.get("idcpilot.host", "*")),
        "test": props.get("idcpilot.test", report.nodeid),
        "status": "pass", "message": "", "duration": 0.0, "measurements": {},
    })
    rec["duration"] = round(rec["duration"] + report.duration, 3)
    for key, value in report.user_properties:
        if key == "measurements" and isinstance(value, dict):
            for rule, values in value.items():
                rec["measurements"].setdefault(rule, {}).update(values if isinstance(values, dict) else {rec["host"]: values})
        elif key.startswith("measurement:"):
            _, rule, name = key.split(":", 2)
            rec["measurements"].setdefault(rule, {})[name] = value
    if report.failed:
        rec["status"] = "fail"
        rec["message"] = (f"error in {report.when}: " if report.when != "call" else "") + _message(report)
    elif report.skipped and rec["status"] != "fail":
        rec["status"] = "skipped"
        rec["message"] = _message(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if RESULTS and not hasattr(session.config, "workerinput"):
        Path(RESULTS).write_text(json.dumps(list(_records.values()), indent=1, default=str))


# ------------------------------------------------------------------ fixtures for suites


@pytest.fixture(scope="session")
def inventory() -> Inventory:
    return load_inventory()


@pytest.fixture
def host_name(host: Any) -> str:
    """The inventory name of the host under test."""
    return inventory_name(host)


@pytest.fixture
def hostvars(host_name: str, inventory: Inventory) -> dict[str, Any]:
    """The rendered inventory variables of the host under test."""
    return inventory.hostvars[host_name]


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> Callable[..., None]:
    """measure(name, value, rule=None): a number for the report, keyed by rule (default: the test's)."""

    def record(name: str, value: Any, rule: str | None = None) -> None:
        marker = request.node.get_closest_marker("rule")
        rule = rule or (marker.args[0] if marker else "UNTAGGED")
        host = dict(request.node.user_properties).get("idcpilot.host", "*")
        key = name if host == "*" else f"{host}.{name}"
        request.node.user_properties.append((f"measurement:{rule}:{key}", value))

    return record


@pytest.fixture
def in_container(host: Any) -> bool:
    return host.run("systemd-detect-virt --container --quiet").rc == 0


@pytest.fixture
def not_in_container(in_container: bool) -> Callable[[str], None]:
    """not_in_container(reason): skip, saying why, when the host is a container (the lab)."""

    def check(reason: str) -> None:
        if in_container:
            pytest.skip(CONTAINER_SKIP + reason)

    return check
