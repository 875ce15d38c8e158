"""Finding and loading the rules: one Python file per rule id in ``policy/rules/``.

``PILOT-PUE`` lives in ``policy/rules/pilot_pue.py`` and declares ``RULE = Rule(id="PILOT-PUE", ...)``
and ``check(ctx)``. K8S rules may also declare ``check_manifests(manifests, env)`` so the CrossGuard
pack runs the same code on ``pulumi preview`` resources. The CLI, the tests and the pack all load
the rules from here, so there is one implementation.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable

from idcpilot.errors import UserInputError
from idcpilot.paths import repo_root
from idcpilot.policy.model import Rule


def policy_dir() -> Path:
    """``$IDCPILOT_POLICY_DIR`` (a configured policy directory), else the project's ``policy/``."""
    env = os.environ.get("IDCPILOT_POLICY_DIR")
    return Path(env) if env else repo_root() / "policy"


def rule_file_name(rule_id: str) -> str:
    return rule_id.lower().replace("-", "_") + ".py"


@dataclass(frozen=True)
class LoadedRule:
    rule: Rule
    module: ModuleType
    file: Path

    @property
    def check(self) -> Callable[..., Iterable[Any]]:
        return self.module.check

    @property
    def check_manifests(self) -> Callable[..., Iterable[Any]] | None:
        return getattr(self.module, "check_manifests", None)

    @property
    def per_resource(self) -> bool:
        return bool(getattr(self.module, "PER_RESOURCE", False))


def _rule_files(directory: Path | None) -> list[Path]:
    rules_dir = (directory or policy_dir()) / "rules"
    if not rules_dir.is_dir():
        raise UserInputError.single(str(rules_dir), "no policy rules directory here (set IDCPILOT_POLICY_DIR to the repo's policy/)")
    return [p for p in sorted(rules_dir.glob("*.py")) if not p.name.startswith("_")]


@lru_cache(maxsize=None)
def _load_file(path: Path) -> LoadedRule:
    mod_name = f"idcpilot_policy_rules.{path.stem}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    rule = getattr(module, "RULE", None)
    if not isinstance(rule, Rule) or not callable(getattr(module, "check", None)):
        raise UserInputError.single(str(path), "a rule file declares RULE = Rule(...) and def check(ctx)")
    if path.name != rule_file_name(rule.id):
        raise UserInputError.single(str(path), f"rule {rule.id} must live in {rule_file_name(rule.id)}")
    return LoadedRule(rule, module, path)


@lru_cache(maxsize=4)
def load_rules(directory: Path | None = None) -> tuple[LoadedRule, ...]:
    out: list[LoadedRule] = []
    seen: dict[str, Path] = {}
    for path in _rule_files(directory):
        loaded = _load_file(path)
        rule = loaded.rule
        if rule.id in seen:
            raise UserInputError.single(str(path), f"rule {rule.id} already declared in {seen[rule.id]}")
        seen[rule.id] = path
        out.append(loaded)
    return tuple(out)


def load_selected(directory: Path | None, only: Iterable[str] = (), skip: Iterable[str] = ()) -> tuple[list[str], list[LoadedRule]]:
    """(every rule id, the selected rules), importing only the selected rule files when ``only``
    narrows the choice: a rule file's name is its id (``K8S-LIMITS`` in ``k8s_limits.py``), so
    ``--only K8S`` need not import the MLPS3 rules and the host-variable machinery they use.
    Anything that does not add up (a file not named after its id) falls back to loading all."""
    only, skip = list(only), list(skip)
    if only:
        files = _rule_files(directory)
        ids = [p.stem.upper().replace("_", "-") for p in files]
        if all(rule_file_name(i) == p.name for i, p in zip(ids, files)):
            pats = [o.strip().upper() for o in only + skip if o.strip()]
            wanted = [p for i, p in zip(ids, files) if _hit(i, [o.strip().upper() for o in only if o.strip()])]
            loaded = [_load_file(p) for p in wanted]
            if all(lr.rule.id == p.stem.upper().replace("_", "-") for lr, p in zip(loaded, wanted)) and pats:
                return ids, select(loaded, only, skip)
    everything = load_rules(directory)
    return [lr.rule.id for lr in everything], select(everything, only, skip)


def _hit(rule_id: str, pats: list[str]) -> bool:
    return any(rule_id == p or rule_id.startswith(p.rstrip("-*") + "-") or (p.endswith("*") and rule_id.startswith(p[:-1])) for p in pats)


def select(rules: Iterable[LoadedRule], only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[LoadedRule]:
    """--only / --skip by exact id or prefix (``MLPS3-AUTH`` selects MLPS3-AUTH-*; ``K8S`` all K8S-*)."""
    only = [o.strip().upper() for o in only if o.strip()]
    skip = [s.strip().upper() for s in skip if s.strip()]
    out = [r for r in rules if (not only or _hit(r.rule.id, only)) and not _hit(r.rule.id, skip)]
    return out


def unknown_selectors(rules: Iterable[LoadedRule | str], patterns: Iterable[str]) -> list[str]:
    """Selectors that match no rule (rules given loaded, or by id)."""
    ids = [r if isinstance(r, str) else r.rule.id for r in rules] + ["POLICY-WAIVER"]
    bad = []
    for p in patterns:
        q = p.strip().upper()
        if q and not any(i == q or i.startswith(q.rstrip("-*") + "-") or (q.endswith("*") and i.startswith(q[:-1])) for i in ids):
            bad.append(p)
    return bad
