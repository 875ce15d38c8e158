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
from idcpilot.policy.model import Rule

REPO = Path(__file__).resolve().parents[3]


def policy_dir() -> Path:
    """``$IDCPILOT_POLICY_DIR`` or the repository's ``policy/``."""
    env = os.environ.get("IDCPILOT_POLICY_DIR")
    return Path(env) if env else REPO / "policy"


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


@lru_cache(maxsize=4)
def load_rules(directory: Path | None = None) -> tuple[LoadedRule, ...]:
    rules_dir = (directory or policy_dir()) / "rules"
    if not rules_dir.is_dir():
        raise UserInputError.single(str(rules_dir), "no policy rules directory here (set IDCPILOT_POLICY_DIR to the repo's policy/)")
    out: list[LoadedRule] = []
    seen: dict[str, Path] = {}
    for path in sorted(rules_dir.glob("*.py")):
        if path.name.startswith("_"):
            continue
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
        if rule.id in seen:
            raise UserInputError.single(str(path), f"rule {rule.id} already declared in {seen[rule.id]}")
        seen[rule.id] = path
        out.append(LoadedRule(rule, module, path))
    return tuple(out)


def select(rules: Iterable[LoadedRule], only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[LoadedRule]:
    """--only / --skip by exact id or prefix (``MLPS3-AUTH`` selects MLPS3-AUTH-*; ``K8S`` all K8S-*)."""
    only = [o.strip().upper() for o in only if o.strip()]
    skip = [s.strip().upper() for s in skip if s.strip()]

    def hit(rule_id: str, pats: list[str]) -> bool:
        return any(rule_id == p or rule_id.startswith(p.rstrip("-*") + "-") or (p.endswith("*") and rule_id.startswith(p[:-1])) for p in pats)

    out = [r for r in rules if (not only or hit(r.rule.id, only)) and not hit(r.rule.id, skip)]
    return out


def unknown_selectors(rules: Iterable[LoadedRule], patterns: Iterable[str]) -> list[str]:
    ids = [r.rule.id for r in rules] + ["POLICY-WAIVER"]
    bad = []
    for p in patterns:
        q = p.strip().upper()
        if q and not any(i == q or i.startswith(q.rstrip("-*") + "-") or (q.endswith("*") and i.startswith(q[:-1])) for i in ids):
            bad.append(p)
    return bad
