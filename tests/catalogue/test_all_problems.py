"""``validate`` reports every problem at once: where the catalogue can still be read (a type
problem confined to some entries), the address plan and the lock are checked too, and their
problems are printed beside the type problems, as README's validate example shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from tests.adversarial.hostile import Hostile, copy_estate, idcpilot, output

LOCK = "ipam.lock.yaml"


def replace_text(path: Path, old: str, new: str) -> int:
    """Replace the one occurrence of ``old`` in the file; the 1-based line it was on."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def lock_entry(env: Hostile, owner: str, kind: str, value: str) -> int:
    """Set ``owner``'s ``kind`` in the lock to ``value``; the line edited."""
    lines = (env.root / LOCK).read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(f"  {owner}:\n")
    for i in range(start + 1, len(lines)):
        if lines[i].startswith(f"    {kind}: "):
            lines[i] = f"    {kind}: {value}\n"
            (env.root / LOCK).write_text("".join(lines), encoding="utf-8")
            return i + 1
    raise AssertionError(f"{owner} has no {kind} in the lock")


# a type problem in the estate: (edit, field path, message) -> the line it is on
def pue_below_one(env: Hostile) -> tuple[int, str, str]:
    line = replace_text(env.estate_file, "pue: {design: 1.22,", "pue: {design: 0.9,")
    return line, "spec.sites[1].pue.design", "must be a number >= 1.0 (got 0.9)"


def port_out_of_range(env: Hostile) -> tuple[int, str, str]:
    line = replace_text(env.estate_file, "{name: gz-edge-1-wan-01, roles: [baseline, monitoring, sdwan_edge]}",
                        "{name: gz-edge-1-wan-01, roles: [baseline, monitoring, sdwan_edge], ports: [70000]}")
    return line, "spec.sites[2].hosts[1].ports[0]", "65535"


# a problem of the lock or the address plan: (edit) -> (line in the lock or estate, words it must say)
def duplicate_address(env: Hostile) -> tuple[str, str]:
    line = lock_entry(env, "bj-core-1-cdn-002", "management", "10.64.0.11")
    return f"{LOCK}:{line}:", "is also the management address of host bj-core-1-cdn-001"


def network_address(env: Hostile) -> tuple[str, str]:
    line = lock_entry(env, "bj-core-1-bastion", "management", "10.64.0.0")
    return f"{LOCK}:{line}:", "is the network address of 10.64.0.0/23"


def pool_shrunk(env: Hostile) -> tuple[str, str]:
    replace_text(env.estate_file, "management: {cidrs: [10.64.0.0/14], prefixLength: 23}",
                 "management: {cidrs: [10.64.0.0/16], prefixLength: 23}")
    line = lock_entry(env, "bj-core-1", "management", "10.65.0.0/23")  # inside the old pool, outside the shrunk one
    return f"{LOCK}:{line}:", "the pools were moved or shrunk below what the lock holds"


def unreadable_lock(env: Hostile) -> tuple[str, str]:
    (env.root / LOCK).write_text("apiVersion: idcpilot/v1\nkind: IpamLock\nhosts: [\n", encoding="utf-8")
    return f"{LOCK}:", "malformed YAML"


TYPE_PROBLEMS = {"pue-below-one": pue_below_one, "port-out-of-range": port_out_of_range}
LOCK_PROBLEMS: dict[str, Callable[[Hostile], tuple[str, str]]] = {
    "duplicate-address": duplicate_address,
    "network-address": network_address,
    "pool-shrunk": pool_shrunk,
    "unreadable-lock": unreadable_lock,
}


@pytest.mark.parametrize("lock_case", LOCK_PROBLEMS)
@pytest.mark.parametrize("type_case", TYPE_PROBLEMS)
def test_type_and_lock_problems_are_reported_in_one_run(tmp_path: Path, type_case: str, lock_case: str) -> None:
    env = copy_estate(tmp_path)
    line, field, words = TYPE_PROBLEMS[type_case](env)
    where, lock_words = LOCK_PROBLEMS[lock_case](env)
    proc = idcpilot("validate", env.root)
    text = output(proc)
    assert proc.returncode == 2, text
    assert re.search(rf"estate\.yaml:{line}:\d+: {re.escape(field)}: .*{re.escape(words)}", text), text
    assert any(where in problem and lock_words in problem for problem in text.splitlines()), text
    assert re.search(r"\b[2-9]\d* problems found", text), text


@pytest.mark.parametrize("type_case", TYPE_PROBLEMS)
def test_a_type_problem_with_a_sound_lock_is_the_only_problem(tmp_path: Path, type_case: str) -> None:
    """Checking the readable part of the catalogue adds no problem of its own: the entries set
    aside keep their addresses (reserved, not reported)."""
    env = copy_estate(tmp_path)
    line, field, words = TYPE_PROBLEMS[type_case](env)
    proc = idcpilot("validate", env.root)
    text = output(proc)
    assert proc.returncode == 2, text
    problems = [p for p in text.splitlines() if re.match(r".+:\d+:\d+: ", p)]
    assert len(problems) == 1 and f"estate.yaml:{line}:" in problems[0] and field in problems[0], text


def test_a_catalogue_too_broken_to_read_still_reports_its_problems(tmp_path: Path) -> None:
    env = copy_estate(tmp_path)
    replace_text(env.estate_file, "  supernets:\n", "  supernets: nope\n  old_supernets:\n")
    lock_entry(env, "bj-core-1-cdn-002", "management", "10.64.0.11")
    proc = idcpilot("validate", env.root)
    assert proc.returncode == 2, output(proc)
    assert "spec.supernets" in output(proc)
