"""The Ansible variables that reach each host, merged the way Ansible merges them.

Precedence, lowest first (Ansible's documented order for an inventory source):
the inventory plugin's ``all`` vars (from the catalogue), ``group_vars/all``, ``group_vars/<group>``
(by ``ansible_group_priority``, then name), the plugin's host vars (the catalogue host ``vars:``),
``host_vars/<host>``. Top-level keys replace (``hash_behaviour = replace``). Every value keeps the
file, line and column it came from, so a weakening variable is reported where it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.catalogue.load import display_name
from idcpilot.errors import UserInputError
from idcpilot.inventory import estate_vars, group_name
from idcpilot.policy.model import Location
from idcpilot.yamlsource import load_yaml_text, read_yaml_text

VAR_EXTENSIONS = ("", ".yml", ".yaml", ".json")
_VAULT_TAG = re.compile(r"!(vault|unsafe)\b")

#: Where in the catalogue each estate-wide variable comes from.
ESTATE_VAR_PATHS: dict[str, tuple[str, ...]] = {
    "idcpilot_ntp_servers": ("spec", "ntpServers"),
    "idcpilot_registry": ("spec", "registry"),
    "idcpilot_management_cidrs": ("spec", "managementCidrs"),
    "idcpilot_automation_account": ("spec", "automation", "account"),
    "idcpilot_audit_retention_days": ("spec", "audit", "retentionDays"),
    "idcpilot_log_store": ("spec", "audit", "logStore"),
    "idcpilot_package_mirror": ("spec", "packageMirror"),
}


@dataclass(frozen=True)
class Value:
    value: Any
    location: Location | None
    scope: str  # who set it: estate, group/<name>, host/<name>


@dataclass
class Layer:
    scope: str
    values: dict[str, Value] = field(default_factory=dict)


def host_groups(cat: Catalogue) -> dict[str, list[str]]:
    """Inventory groups of every host, as ``idcpilot.inventory.build`` names them."""
    names: dict[tuple[str, str], str] = {}

    def g(prefix: str, name: str) -> str:
        key = (prefix, name)
        out = names.get(key)
        if out is None:
            out = names[key] = group_name(prefix, name)
        return out

    site_groups = {
        s.name: [g("site", s.name), g("tier", s.tier), g("region", s.region), g("domain", s.data_domain)]
        for s in cat.estate.spec.sites
    }
    out: dict[str, list[str]] = {}
    for host in cat.hosts.values():
        groups = site_groups[host.site] + [g("os", host.os_family.lower()), "automated" if host.automated else "manual"]
        groups += [g("role", r) for r in host.roles]
        if host.group:
            groups.append(g("hostgroup", host.group))
        out[host.name] = groups
    for cluster in cat.estate.spec.clusters:
        for h in cat.members(cluster.nodes):
            out[h.name].append(g("cluster", cluster.name))
        for h in cat.members(cluster.control_plane):
            out[h.name].append(g("cluster_cp", cluster.name))
    for gateway in cat.estate.spec.gateways:
        for h in cat.members(gateway.hosts):
            out[h.name].append(g("gateway", gateway.name))
    return out


def _var_files(base: Path, name: str) -> list[Path]:
    """group_vars/<name>{,.yml,.yaml,.json} and every file in group_vars/<name>/ (sorted)."""
    files: list[Path] = []
    for ext in VAR_EXTENSIONS:
        p = base / f"{name}{ext}"
        if p.is_symlink() or (p.exists() and not p.is_dir()):  # the loader refuses loops, FIFOs, ...
            files.append(p)
    d = base / name
    if d.is_dir():
        files += sorted(p for p in d.rglob("*") if not p.is_dir() and p.suffix in VAR_EXTENSIONS and not p.name.startswith("."))
    return files


def _load_vars_file(path: Path, scope: str, layer: Layer, skipped: list[str]) -> None:
    shown = display_name(path)
    try:
        text = read_yaml_text(path, shown)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError.single(shown, f"cannot read variables file: {exc}") from None
    if text.lstrip().startswith("$ANSIBLE_VAULT"):
        skipped.append(f"{shown}: ansible-vault encrypted, not read (keep baseline_* variables out of vaults)")
        return
    data, smap = load_yaml_text(_VAULT_TAG.sub("!!str", text), shown)
    if data is None:
        return
    if not isinstance(data, dict):
        raise UserInputError([smap.problem((), "a variables file must be a mapping of variable names to values")])
    for key, value in data.items():
        line, col = smap.locate((key,))
        layer.values[key] = Value(value, Location(shown, line, col), scope)


class HostVars:
    """Effective variables per host for the variables the rules ask about."""

    def __init__(self, cat: Catalogue, env_dir: Path | None = None):
        self.cat = cat
        self.env_dir = env_dir or cat.root
        self.skipped: list[str] = []
        self.groups = host_groups(cat)
        cat_file = display_name(cat.file)
        self.estate = Layer("estate")
        for key, value in estate_vars(cat).items():
            line, col = cat.source.locate(ESTATE_VAR_PATHS.get(key, ("spec",)))
            self.estate.values[key] = Value(value, Location(cat_file, line, col), "estate")
        self.group_layers = self._layers(self.env_dir / "group_vars", "group")
        self.host_layers = self._layers(self.env_dir / "host_vars", "host")
        known_groups = {g for gs in self.groups.values() for g in gs} | {"all"}
        for name in self.group_layers:
            if name not in known_groups:
                self.skipped.append(f"{self.env_dir / 'group_vars' / name}: no inventory group {name!r} in this estate; not applied")
        for name in self.host_layers:
            if name not in cat.hosts:
                self.skipped.append(f"{self.env_dir / 'host_vars' / name}: no host {name!r} in this estate; not applied")
        self._cat_file = cat_file
        self._cache: dict[tuple[str, ...], list[Layer]] = {}
        self._keys: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self._parts: dict[str | None, list[list[Host]]] = {}


    def _layers(self, folder: Path, kind: str) -> dict[str, Layer]:
        """One layer per group (host) from folder/<name>.yml or folder/<name>/*, as Ansible reads them."""
        layers: dict[str, Layer] = {}
        if not folder.is_dir():
            return layers
        names = {p.name.split(".")[0] if p.is_file() else p.name for p in folder.iterdir() if not p.name.startswith(".")}
        for name in sorted(names):
            layer = Layer(f"{kind}/{name}")
            for f in _var_files(folder, name):
                _load_vars_file(f, layer.scope, layer, self.skipped)
            if layer.values:
                layers[name] = layer
        return layers
    def _priority(self, name: str) -> tuple[int, str]:
        layer = self.group_layers[name]
        prio = layer.values.get("ansible_group_priority")
        try:
            p = int(prio.value) if prio else 1
        except (TypeError, ValueError):
            p = 1
        return (p, name)

    def _key(self, host: Host) -> tuple[tuple[str, ...], str | None]:
        """Hosts with the same key see the same variables."""
        key = self._keys.get(host.name)
        if key is None:
            groups = tuple(g for g in self.groups.get(host.name, []) if g in self.group_layers)
            own = host.name if (host.vars or host.name in self.host_layers) else None
            key = self._keys[host.name] = (groups, own)
        return key

    def layers(self, host: Host) -> list[Layer]:
        """The host's variable layers, lowest precedence first."""
        groups, _ = self._key(host)
        chain = self._cache.get(groups)
        if chain is None:
            chain = [self.estate]
            if "all" in self.group_layers:
                chain.append(self.group_layers["all"])
            chain += [self.group_layers[g] for g in sorted(groups, key=self._priority)]
            self._cache[groups] = chain
        out = list(chain)
        if host.vars:
            layer = Layer(f"host/{host.name}")
            for key, value in host.vars.items():
                line, col = self.cat.source.locate(host.path + ("vars", key))
                layer.values[key] = Value(value, Location(self._cat_file, line, col), f"catalogue host/{host.name}")
            out.append(layer)
        if host.name in self.host_layers:
            out.append(self.host_layers[host.name])
        return out

    def effective(self, host: Host, names: Iterable[str]) -> dict[str, Value]:
        """name -> Value for each variable some layer sets (absent: the role default applies)."""
        out: dict[str, Value] = {}
        for layer in self.layers(host):
            for name in names:
                if name in layer.values:
                    out[name] = layer.values[name]
        return out

    def partitions(self, role: str | None = None) -> list[list[Host]]:
        """Hosts (with ``role``, or all) grouped so that each group sees the same variables.

        Hosts of the same inventory groups with no variables of their own share one merge,
        so 10,000 hosts cost a handful of merges, not 10,000.
        """
        cached = self._parts.get(role)
        if cached is None:
            parts: dict[tuple[tuple[str, ...], str | None], list[Host]] = {}
            for h in self.cat.hosts.values():
                if role is None or role in h.roles:
                    parts.setdefault(self._key(h), []).append(h)
            cached = self._parts[role] = list(parts.values())
        return cached

    def by_source(self, names: Iterable[str], role: str | None = None) -> list[tuple[list[Host], dict[str, Value]]]:
        """(hosts, effective values of ``names``) for every partition of the hosts."""
        names = tuple(names)
        return [(members, self.effective(members[0], names)) for members in self.partitions(role)]

    def defines_any(self, names: Iterable[str]) -> bool:
        wanted = set(names)
        if any(wanted & layer.values.keys() for layer in (*self.group_layers.values(), *self.host_layers.values())):
            return True
        if wanted & self.estate.values.keys():
            return True
        return any(wanted & h.vars.keys() for h in self.cat.hosts.values() if h.vars)
