"""Hostile ipam.lock.yaml files and supernet edits, through the real CLI.

A lock is committed through pull requests like the estate. Every case here is an edit such a
request could carry; each must end in exit 2 with the entry's file:line and field, the other
owner (or the pool) it collides with, and no traceback — never in addresses handed to Ansible.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from tests.adversarial.hostile import Hostile, ansible, idcpilot, output

LOCK = "ipam.lock.yaml"


def lock_line(env: Hostile, pattern: str) -> int:
    """1-based line of the first lock line matching ``pattern`` (a regular expression)."""
    for number, line in enumerate((env.root / LOCK).read_text().splitlines(), start=1):
        if re.search(pattern, line):
            return number
    raise AssertionError(f"{pattern!r} not in the lock")


def replace_in_lock(env: Hostile, owner: str, kind: str, value: str) -> int:
    """Set ``owner``'s ``kind`` to ``value`` in the lock text; the line edited."""
    lines = (env.root / LOCK).read_text().splitlines(keepends=True)
    start = lock_line(env, rf"^  {re.escape(owner)}:$")
    for i in range(start, len(lines)):
        if lines[i].startswith(f"    {kind}: "):
            lines[i] = f"    {kind}: {value}\n"
            (env.root / LOCK).write_text("".join(lines))
            return i + 1
        if not lines[i].startswith("    "):
            break
    raise AssertionError(f"{owner} has no {kind} in the lock")


def entry_line(env: Hostile, owner: str, kind: str) -> int:
    lines = (env.root / LOCK).read_text().splitlines()
    start = lock_line(env, rf"^  {re.escape(owner)}:$")
    return next(i + 1 for i in range(start, len(lines)) if lines[i].startswith(f"    {kind}: "))


# ---------------------------------------------------------------- edits: (env) -> (line, owner, other)


Edit = Callable[[Hostile], tuple[int, str, str]]


def replaced(owner: str, kind: str, value: str, other: str) -> Edit:
    """The lock's ``owner``/``kind`` entry set to ``value``; ``other`` is what the error must name too."""
    def edit(env: Hostile) -> tuple[int, str, str]:
        return replace_in_lock(env, owner, kind, value), owner, other
    return edit


def rewritten(old: str, new: str, at: str, offset: int, owner: str, other: str) -> Edit:
    """The first ``old`` in the lock replaced by ``new``; the error must name the line of the regex
    ``at`` (plus ``offset``), ``owner`` and ``other``."""
    def edit(env: Hostile) -> tuple[int, str, str]:
        (env.root / LOCK).write_text((env.root / LOCK).read_text().replace(old, new, 1))
        return lock_line(env, at) + offset, owner, other
    return edit


def cluster_prefix_covers_another(env: Hostile) -> tuple[int, str, str]:
    replace_in_lock(env, "bj-core-k8s", "pod", "10.128.0.0/15")
    return entry_line(env, "cd-edge-k8s", "pod"), "cd-edge-k8s", "bj-core-k8s"


duplicate_management = replaced("bj-core-1-cdn-002", "management", "10.64.0.11", "bj-core-1-cdn-001")

LOCK_EDITS: dict[str, Edit] = {
    "duplicate-management-address": duplicate_management,
    # an address of another site's prefix: outside the host's own site
    "address-of-another-site": replaced("sh-core-1-cdn-001", "management", "10.64.0.11", "sh-core-1"),
    "garbage-value": replaced("bj-core-1-cdn-001", "management", "banana", "banana"),
    "broadcast-address": replaced("bj-core-1-cdn-001", "management", "10.64.1.255", "bj-core-1"),
    "network-address": replaced("bj-core-1-cdn-001", "service", "10.80.0.0", "bj-core-1"),
    "site-prefix-equals-another-site": replaced("cd-edge-1", "management", "10.64.0.0/23", "bj-core-1"),
    "cluster-prefix-covers-another": cluster_prefix_covers_another,
    # a site's management prefix placed in the service pool, on top of a service prefix
    "management-prefix-in-service-pool": replaced("tj-mobile-1", "management", "10.80.0.0/23", "service pool"),
    "orphan-holds-a-live-address": rewritten("  bj-core-1-cdn-001:\n", "  bj-core-1-cdn-000:\n    management: 10.64.0.11\n  bj-core-1-cdn-001:\n",
                                             r"^  bj-core-1-cdn-001:$", 1, "bj-core-1-cdn-001", "bj-core-1-cdn-000"),
    "unknown-address-kind": rewritten("  bj-core-1:\n", "  bj-core-1:\n    storage: 10.99.0.0/24\n",
                                      r"^    storage:", 0, "bj-core-1", "storage"),
    "duplicate-owner-key": rewritten("  bj-core-1-cdn-002:\n", "  bj-core-1-cdn-001:\n    management: 10.64.0.99\n  bj-core-1-cdn-002:\n",
                                     r"10\.64\.0\.99", -1, "bj-core-1-cdn-001", "duplicate key"),
    "number-not-text": replaced("bj-core-1-cdn-001", "management", "167772161", "167772161"),
    # inet_aton would read 010.64.0.11 as octal: refused, not reinterpreted
    "octal-looking-address": replaced("bj-core-1-cdn-001", "management", "010.64.0.11", "010.64.0.11"),
}


@pytest.mark.parametrize("command", ["validate", "ipam plan", "ipam apply", "inventory", "check --no-plan"])
@pytest.mark.parametrize("case", sorted(LOCK_EDITS))
def test_hostile_lock_is_refused_naming_both_owners_and_the_line(example: Hostile, case: str, command: str) -> None:
    line, owner, other = LOCK_EDITS[case](example)
    before = (example.root / LOCK).read_bytes()
    proc = idcpilot(*command.split(), example.root)
    out = output(proc)
    assert proc.returncode == 2, out
    assert re.search(rf"{LOCK}:{line}:\d+: ", out), f"no {LOCK}:{line} in\n{out}"
    assert owner in out and other in out, out
    assert (example.root / LOCK).read_bytes() == before, "a refused lock must not be rewritten"
    assert "ansible_host" not in proc.stdout


def move_supernets(data: dict) -> None:
    """Management moved, service moved onto the old management range, one site added."""
    nets = data["spec"]["supernets"]
    nets["management"]["cidrs"] = ["10.72.0.0/14"]
    nets["service"]["cidrs"] = ["10.64.0.0/14"]
    site = dict(data["spec"]["sites"][-1])
    site.update(name="aa-new-1", hosts=[{"name": "aa-new-1-h1"}])
    site.pop("bastion", None)
    site.pop("fiveG", None)
    data["spec"]["sites"].append(site)


def shrink_management(data: dict) -> None:
    data["spec"]["supernets"]["management"]["cidrs"] = ["10.64.0.0/21"]  # the lock holds seven /23s


def shrink_pod(data: dict) -> None:
    data["spec"]["supernets"]["pod"]["cidrs"] = ["10.128.0.0/15"]  # five /16s locked


SUPERNET_EDITS = {
    "moved-service-onto-old-management": (move_supernets, "sites.bj-core-1.management", "service pool"),
    "management-pool-shrunk": (shrink_management, "sites.sh-core-1.management", "management pool"),
    "pod-pool-shrunk": (shrink_pod, "clusters.gz-edge-k8s.pod", "pod pool"),
}


@pytest.mark.parametrize("command", ["ipam plan", "ipam apply", "validate"])
@pytest.mark.parametrize("case", sorted(SUPERNET_EDITS))
def test_supernet_changes_never_hand_out_an_overlap(example: Hostile, case: str, command: str) -> None:
    mutate, field, pool = SUPERNET_EDITS[case]
    example.edit(mutate)
    before = (example.root / LOCK).read_bytes()
    proc = idcpilot(*command.split(), example.root)
    out = output(proc)
    assert proc.returncode == 2, out
    assert re.search(rf"{LOCK}:\d+:\d+: {re.escape(field)}: ", out), out
    assert pool in out and "estate.yaml:" in out, out  # the pool, and where it is written
    assert "up to date" not in out
    assert (example.root / LOCK).read_bytes() == before


def test_moved_pools_that_keep_the_old_ranges_allocate_around_every_locked_prefix(example: Hostile) -> None:
    """Growth: new ranges listed beside the old ones; the new site's prefixes avoid all of them."""
    def grow(data: dict) -> None:
        move_supernets(data)
        nets = data["spec"]["supernets"]
        nets["management"]["cidrs"] = ["10.72.0.0/14", "10.64.0.0/16"]
        nets["service"]["cidrs"] = ["10.65.0.0/16", "10.80.0.0/14"]
    example.edit(grow)
    plan = idcpilot("ipam", "plan", example.root, "--detailed-exitcode")
    assert plan.returncode == 3, output(plan)
    assert "+ site/aa-new-1 service 10.65.0.0/23" in plan.stdout, plan.stdout
    assert idcpilot("ipam", "apply", example.root).returncode == 0
    assert idcpilot("ipam", "plan", example.root, "--detailed-exitcode").returncode == 0
    assert idcpilot("validate", example.root).returncode == 0


def test_pin_on_an_existing_host_is_planned_and_applied(example: Hostile) -> None:
    def pin(data: dict) -> None:
        data["spec"]["sites"][0]["hosts"][0]["managementAddress"] = "10.64.1.200"
    example.edit(pin)
    plan = idcpilot("ipam", "plan", example.root, "--detailed-exitcode")
    assert plan.returncode == 3, output(plan)
    assert "* host/bj-core-1-bastion management 10.64.0.10 -> 10.64.1.200" in plan.stdout
    assert idcpilot("ipam", "apply", example.root).returncode == 0
    assert "    management: 10.64.1.200\n" in (example.root / LOCK).read_text()
    inventory = idcpilot("inventory", example.root, "--host", "bj-core-1-bastion")
    assert '"ansible_host": "10.64.1.200"' in inventory.stdout
    assert idcpilot("ipam", "plan", example.root, "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize("address,reason", [
    ("10.64.0.11", "already the management address of host bj-core-1-cdn-001"),
    ("10.64.1.255", "broadcast address"),
    ("10.64.2.20", "outside site 'bj-core-1' management prefix 10.64.0.0/23"),
    ("10.64.01.2", "must be an IPv4 address like 10.0.0.1 (no leading zeros)"),  # the catalogue refuses it first
])
def test_pin_on_an_existing_host_that_cannot_be_applied_is_refused_with_why(example: Hostile, address: str, reason: str) -> None:
    def pin(data: dict) -> None:
        data["spec"]["sites"][0]["hosts"][0]["managementAddress"] = address
    example.edit(pin)
    before = (example.root / LOCK).read_bytes()
    for command in (("ipam", "plan"), ("ipam", "apply"), ("validate",)):
        proc = idcpilot(*command, example.root)
        out = output(proc)
        assert proc.returncode == 2, out
        assert re.search(r"estate\.yaml:\d+:\d+: spec\.sites\[0\]\.hosts\[0\]\.managementAddress: ", out), out
        assert reason in out, out
    assert (example.root / LOCK).read_bytes() == before


def test_bundled_locks_are_valid_and_up_to_date() -> None:
    for env in ("inventories/example", "inventories/lab"):
        proc = idcpilot("ipam", "plan", env, "--detailed-exitcode")
        assert proc.returncode == 0 and "up to date" in proc.stdout, output(proc)


def test_lock_path_is_named_as_given(example: Hostile, tmp_path: Path) -> None:
    line, _, _ = duplicate_management(example)
    proc = idcpilot("validate", "example", cwd=example.root.parent)
    assert proc.returncode == 2
    assert f"example/{LOCK}:{line}:" in output(proc)


def test_pending_move_is_not_reported_as_up_to_date_by_validate(example: Hostile) -> None:
    def pin(data: dict) -> None:
        data["spec"]["sites"][0]["hosts"][0]["managementAddress"] = "10.64.1.200"
    example.edit(pin)
    proc = idcpilot("validate", example.root, "--format", "json")
    assert proc.returncode == 0, output(proc)
    assert '"pending": 1' in proc.stdout


def test_plain_ansible_refuses_a_colliding_lock(example: Hostile) -> None:
    line, owner, other = duplicate_management(example)
    proc = ansible("ansible-inventory", "-i", example.estate_file, "--host", owner)
    out = output(proc)
    assert proc.returncode != 0, out
    assert f"{LOCK}:{line}:" in out and other in out
    assert "10.64.0.11" not in proc.stdout
