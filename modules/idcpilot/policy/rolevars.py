"""The variables the roles declare (``roles/*/meta/argument_specs.yml``) and their defaults.

Reviewed code, not user input: the gate compares what group_vars / host_vars / catalogue vars set
against these defaults, and every declared variable must be classified in policy/thresholds.yaml.
Names with a role's prefix (``baseline_``...), ``idcpilot_`` (the inventory plugin's and the
roles' shared namespace), ``ansible_`` (connection, become and interpreter settings) or ``mitogen_``
(the connection settings of the idcpilot_linear strategy, e.g. ``mitogen_via``) are *role
variables*: the gate judges every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from idcpilot.catalogue.role_variables import FORBIDDEN_PREFIXES
from idcpilot.errors import UserInputError
from idcpilot.yamlsource import load_yaml_file

REPO = Path(__file__).resolve().parents[3]
#: The prefix of the variables the inventory plugin sets and the roles share.
SHARED_PREFIX = "idcpilot_"
#: Ansible's connection, privilege and interpreter variables, and Mitogen's (the idcpilot_linear
#: strategy reads mitogen_via, mitogen_*_path, ...): how (and where) the deploy machine reaches a
#: host and what it runs there, so they are judged like role variables. The same prefixes the
#: catalogue refuses in host vars, from one definition.
CONNECTION_PREFIXES = FORBIDDEN_PREFIXES
_NO_DEFAULT = object()


@dataclass(frozen=True)
class RoleVars:
    #: variable -> role that declares it
    owner: dict[str, str]
    #: variable -> the role's default (defaults/main.yml, else argument_specs default)
    defaults: dict[str, Any]
    prefixes: tuple[str, ...]

    def is_role_variable(self, name: str) -> bool:
        """A variable the roles (or the inventory plugin) read, so the gate must judge it."""
        return name in self.owner or name.startswith(self.prefixes)

    def default(self, name: str) -> Any:
        return self.defaults.get(name, _NO_DEFAULT)

    def has_default(self, name: str) -> bool:
        return name in self.defaults


def _load(path: Path) -> Any:
    try:
        return load_yaml_file(path)[0]
    except UserInputError:
        return None


@lru_cache(maxsize=4)
def role_vars(roles_dir: Path = REPO / "roles") -> RoleVars:
    owner: dict[str, str] = {}
    defaults: dict[str, Any] = {}
    prefixes = [SHARED_PREFIX, *CONNECTION_PREFIXES]
    for role in sorted(p for p in roles_dir.iterdir() if p.is_dir()) if roles_dir.is_dir() else []:
        prefixes.append(f"{role.name}_")
        specs = _load(role / "meta" / "argument_specs.yml") or {}
        for entry in (specs.get("argument_specs") or {}).values():
            for name, opt in ((entry or {}).get("options") or {}).items():
                owner[name] = role.name
                if isinstance(opt, dict) and "default" in opt:
                    defaults.setdefault(name, opt["default"])
        role_defaults = _load(role / "defaults" / "main.yml") or {}
        if isinstance(role_defaults, dict):
            for name, value in role_defaults.items():
                owner.setdefault(name, role.name)
                defaults[name] = value
    return RoleVars(owner, defaults, tuple(prefixes))
