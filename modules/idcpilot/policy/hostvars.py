"""Every variable Ansible will give a host, from every file it reads them from, with file:line.

Sources, as Ansible reads them for ``ansible-playbook -i inventories/<env> playbooks/site.yml``:
the inventory plugin (the catalogue: estate-wide variables and the catalogue host ``vars:``),
``group_vars/`` and ``host_vars/`` beside the inventory, ``group_vars/`` and ``host_vars/``
beside the playbooks, and the ``-e`` extra vars deploy passes. Files are found exactly as Ansible finds them (``<name>``, ``<name>.yml``,
``.yaml``, ``.json``, the first that exists; a directory read recursively in sorted order, hidden
and ``~`` files skipped). Vault-encrypted files and ``!vault`` values are decrypted with the
secrets ``deploy`` is given; a file the gate cannot read stops it (exit 2), never a warning.

The inventory directory holds only what the gate reads: any other file there would be parsed by an
enabled inventory plugin (ansible.cfg), so the gate refuses it instead of guessing (exit 2).

The gate judges every value written for a host in any of these layers, not only the one that wins
precedence: a weakening value has to be removed, not shadowed by a stronger one.
"""

from __future__ import annotations

import configparser
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from idcpilot.catalogue.estate import Catalogue
from idcpilot.catalogue.load import display_name
from idcpilot.errors import Problem, UserInputError
from idcpilot.inventory import group_name
from idcpilot.policy.model import Location
from idcpilot.policy.vault import VAULT_HEADER, Vault, is_vault_text
from idcpilot.yamlsource import SourceMap, format_path, load_yaml_text

REPO = Path(__file__).resolve().parents[3]
VAR_EXTENSIONS = ("", ".yml", ".yaml", ".json")  # Ansible's find_vars_files order
_VAULT_TAG = re.compile(r"!vault\b")
_UNSAFE_TAG = re.compile(r"!unsafe\b")
#: Ansible never parses these as inventory sources (inventory manager IGNORED_ALWAYS + default extensions).
_ALWAYS_IGNORED = [r"^\.", r"^host_vars$", r"^group_vars$"]
_DEFAULT_IGNORED_EXTS = [".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry"]
#: The most a variables file may hold (vault text included): far above any real one, bounded memory.
MAX_VARS_BYTES = 4 * 1024 * 1024
#: The inventory plugin's one source in an estate directory.
ESTATE_FILE = "estate.yaml"


@dataclass(frozen=True)
class Value:
    value: Any
    location: Location | None
    scope: str  # who set it: group/<name>, host/<name>, catalogue host/<name>
    secret: bool = False  # from a vault: never repeated in a message
    literal: bool = False  # its file uses !unsafe: a "{{ ... }}" in it is text Ansible never renders


@dataclass
class Layer:
    scope: str
    reach: int = 0  # hosts the layer's values reach
    #: every (name, value) the layer's files write, in reading order (a later file does not hide an earlier one)
    entries: list[tuple[str, Value]] = field(default_factory=list)


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


def playbook_dir(playbook: str | Path) -> Path:
    """The directory of the playbook deploy runs (``--playbook``, relative to the repository)."""
    path = Path(playbook)
    path = path if path.is_absolute() else REPO / path
    if not path.is_file():
        raise UserInputError.single(str(playbook), "playbook not found (--playbook is relative to the repository)")
    return path.parent


# ------------------------------------------------------------------ the inventory directory


def _ignored_names(ansible_cfg: Path) -> re.Pattern[str]:
    """The names Ansible skips in an inventory directory under this ansible.cfg."""
    patterns = list(_ALWAYS_IGNORED)
    exts = list(_DEFAULT_IGNORED_EXTS)
    cfg = configparser.ConfigParser(interpolation=None)
    try:
        cfg.read(ansible_cfg, encoding="utf-8")
    except (configparser.Error, OSError):
        pass
    for section, key in (("defaults", "inventory_ignore_patterns"), ("inventory", "ignore_patterns")):
        if cfg.has_option(section, key):
            patterns += [p.strip() for p in cfg.get(section, key).split(",") if p.strip()]
    for section, key in (("defaults", "inventory_ignore_extensions"), ("inventory", "ignore_extensions")):
        if cfg.has_option(section, key):
            exts = [e.strip() for e in cfg.get(section, key).split(",") if e.strip()]
    return re.compile("|".join(patterns + [re.escape(e) + "$" for e in exts]))


def inventory_dir_problems(env_dir: Path, ansible_cfg: Path = REPO / "ansible.cfg") -> list[Problem]:
    """Files in the inventory directory that an inventory plugin would parse but the gate does not read."""
    ignored = _ignored_names(ansible_cfg)
    problems = []
    try:
        entries = sorted(os.listdir(env_dir))
    except OSError as exc:
        return [Problem(display_name(env_dir), 1, 1, "", f"cannot list the inventory directory: {exc.strerror}")]
    for name in entries:
        if name == ESTATE_FILE or ignored.search(name):
            continue
        path = env_dir / name
        kind = "directory" if path.is_dir() else "file"
        problems.append(Problem(
            display_name(path), 1, 1, "",
            f"unknown {kind} in the inventory directory: Ansible would read it as an inventory source "
            f"(hosts and variables the gate does not check). The directory holds {ESTATE_FILE}, ipam.lock.yaml, "
            "waivers.yaml, group_vars/ and host_vars/ only; move it out"))
    return problems


# ------------------------------------------------------------------ variable files


def vars_files(base: Path, name: str) -> list[Path]:
    """The files Ansible reads for entity ``name`` in ``base`` (group_vars/ or host_vars/)."""
    for ext in VAR_EXTENSIONS:
        p = base / f"{name}{ext}"
        if p.is_dir():
            files = _dir_files(p)
        elif p.exists():
            files = [p]
        else:
            continue
        _inside(base.parent, [p, *files])
        return files
    return []


def _inside(root: Path, paths: list[Path]) -> None:
    """Variables come from the estate (or playbook) directory: a symlink out of it (to a CI
    secret, /proc, another repository) is refused, not read."""
    top = os.path.realpath(root)
    for p in paths:
        real = os.path.realpath(p)
        if real != top and not real.startswith(top + os.sep):
            raise UserInputError.single(display_name(p), f"a symlink out of {display_name(root)}: the gate reads variables "
                                                         "only from inside the estate and playbook directories")


def _dir_files(folder: Path, seen: frozenset[str] = frozenset()) -> list[Path]:
    real = os.path.realpath(folder)
    if real in seen:  # a symlink back up the tree: Ansible would recurse for ever
        raise UserInputError.single(display_name(folder), "symlink loop in a variables directory")
    seen = seen | {real}
    found: list[Path] = []
    try:
        entries = sorted(os.listdir(folder))
    except OSError as exc:
        raise UserInputError.single(display_name(folder), f"cannot list the variables directory: {exc.strerror}") from None
    for entry in entries:
        if entry.startswith(".") or entry.endswith("~"):
            continue
        p = folder / entry
        ext = os.path.splitext(entry)[1]
        if p.is_dir() and not ext:
            found += _dir_files(p, seen)
        elif p.exists() and not p.is_dir() and (not ext or ext in VAR_EXTENSIONS):
            found.append(p)  # read_vars_file refuses what is not a regular file
    return found


def _entity_name(entry: str) -> str:
    for ext in VAR_EXTENSIONS[1:]:
        if entry.endswith(ext):
            return entry[: -len(ext)]
    return entry


def read_vars_file(path: Path, scope: str, vault: Vault) -> list[tuple[str, Value]]:
    """(name, Value) for every variable of one file, vaults decrypted; exit 2 on anything unreadable."""
    shown = display_name(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise UserInputError.single(shown, "not a regular file (a device, pipe or socket): the gate will not read it")
        if info.st_size > MAX_VARS_BYTES:
            raise UserInputError.single(shown, f"{info.st_size} bytes; a variables file may hold at most {MAX_VARS_BYTES}")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserInputError.single(shown, "cannot read variables file: not UTF-8 text") from None
    except OSError as exc:
        raise UserInputError.single(shown, f"cannot read variables file: {exc.strerror or exc}") from None
    secret = False
    if is_vault_text(text):
        text = vault.decrypt(text, shown)
        secret = True
    tag_lines = [text.count("\n", 0, m.start()) + 1 for m in _VAULT_TAG.finditer(text)]
    unsafe = bool(_UNSAFE_TAG.search(text))
    try:
        data, smap = load_yaml_text(_UNSAFE_TAG.sub("!!str", _VAULT_TAG.sub("!!str", text)), shown)
    except UserInputError as exc:
        if not secret:
            raise
        # a parser message may quote the decrypted text: keep where, drop what
        raise UserInputError([Problem(p.file, p.line, p.column, "", "the decrypted vault is not valid variables YAML "
                                                                    "(content not shown)") for p in exc.problems]) from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise UserInputError([smap.problem((), "a variables file must be a mapping of variable names to values")])
    ciphertexts = list(_vault_strings(data, ()))
    untagged = _untagged(ciphertexts, tag_lines, smap)
    if untagged:
        raise UserInputError([smap.problem(p, "vault ciphertext without the !vault tag: Ansible would use it as a literal "
                                              "string; tag it !vault or decrypt it") for p in untagged])
    vaulted = {p[0] for p in ciphertexts}
    for p in ciphertexts:
        line, _ = smap.locate(p)
        plain = vault.decrypt(_get(data, p), shown, line, format_path(p))
        _set(data, p, plain)  # an inline !vault value is a string to Ansible too
    out = []
    for key, value in data.items():
        line, col = smap.locate((key,))
        out.append((key, Value(value, Location(shown, line, col), scope, secret or key in vaulted, unsafe)))
    return out


def _vault_strings(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _vault_strings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _vault_strings(v, path + (i,))
    elif isinstance(node, str) and node.lstrip().startswith(VAULT_HEADER):
        yield path


def _untagged(paths: list[tuple[Any, ...]], tag_lines: list[int], smap: SourceMap) -> list[tuple[Any, ...]]:
    """Ciphertext values with no ``!vault`` tag on their line (``key: !vault |``) or the next (``key:\n  !vault |``)."""
    free = sorted(tag_lines)
    out = []
    for p in paths:
        line = smap.locate(p)[0]
        for candidate in (line, line + 1):
            if candidate in free:
                free.remove(candidate)
                break
        else:
            out.append(p)
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        data = data[p]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        data = data[p]
    data[path[-1]] = value


def extra_vars_layer(options: tuple[str, ...], reach: int, vault: Vault) -> Layer:
    """``-e`` values as ansible-playbook reads them (``@FILE``, inline YAML/JSON, ``key=value``):
    the highest precedence of all, so the gate judges them like any other layer."""
    layer = Layer("extra-vars", reach)
    for i, opt in enumerate(options, start=1):
        where = Location("--extra-vars", i, 1)
        if not opt:
            continue
        if opt.startswith("@"):
            layer.entries += read_vars_file(Path(opt[1:]), layer.scope, vault)
            continue
        if opt[0] in "[{":
            data, _ = load_yaml_text(opt, f"--extra-vars #{i}")
        else:
            from ansible.errors import AnsibleError
            from ansible.parsing.splitter import parse_kv

            try:
                data = parse_kv(opt)
            except AnsibleError as exc:
                raise UserInputError.single(f"--extra-vars #{i}", f"not key=value pairs: {str(exc).splitlines()[0][:120]}") from None
        if not isinstance(data, dict):
            raise UserInputError.single(f"--extra-vars #{i}", "must be a mapping (key=value, {...} or @FILE)")
        layer.entries += [(str(k), Value(v, where, layer.scope)) for k, v in data.items()]
    return layer


# ------------------------------------------------------------------ all the layers of an estate


class HostVars:
    """Every variable layer that reaches the estate's hosts, lowest precedence first."""

    def __init__(self, cat: Catalogue, env_dir: Path | None = None, *, playbook_dir: Path | None = None,
                 vault: Vault | None = None, extra_vars: tuple[str, ...] = (), ansible_cfg: Path = REPO / "ansible.cfg"):
        self.cat = cat
        self.env_dir = env_dir or cat.root
        self.playbook_dir = playbook_dir or REPO / "playbooks"
        self.vault = vault or Vault()
        self.vault.check_options()
        self.skipped: list[str] = []
        problems = inventory_dir_problems(self.env_dir, ansible_cfg)
        if problems:
            raise UserInputError(problems)
        self.groups = host_groups(cat)
        members: dict[str, int] = {"all": len(cat.hosts)}
        for gs in self.groups.values():
            for g in gs:
                members[g] = members.get(g, 0) + 1
        cat_file = display_name(cat.file)
        group_layers: list[Layer] = []
        host_layers: list[Layer] = []
        bases = [self.env_dir]
        if self.playbook_dir.resolve() != self.env_dir.resolve():
            bases.append(self.playbook_dir)
        for base in bases:
            group_layers += self._layers(base / "group_vars", "group", members)
        catalogue_layers = []
        for host in cat.hosts.values():
            if host.vars:
                layer = Layer(f"host/{host.name}", 1)
                for key, value in host.vars.items():
                    line, col = cat.source.locate(host.path + ("vars", key))
                    layer.entries.append((key, Value(value, Location(cat_file, line, col), f"catalogue host/{host.name}")))
                catalogue_layers.append(layer)
        for base in bases:
            host_layers += self._layers(base / "host_vars", "host", {h: 1 for h in cat.hosts})
        self.layers: list[Layer] = group_layers + catalogue_layers + host_layers
        if extra_vars:
            self.layers.append(extra_vars_layer(tuple(extra_vars), len(cat.hosts), self.vault))

    def _layers(self, folder: Path, kind: str, known: dict[str, int]) -> list[Layer]:
        """One layer per entity with files in ``folder``; files for no entity of the estate are warned about."""
        if not folder.is_dir():
            return []
        try:
            entries = sorted(e for e in os.listdir(folder) if not e.startswith("."))
        except OSError as exc:
            raise UserInputError.single(display_name(folder), f"cannot list: {exc.strerror}") from None
        layers = []
        seen: set[str] = set()
        for entry in entries:
            name = _entity_name(entry)
            if name in seen:
                continue
            seen.add(name)
            if name not in known:
                what = "inventory group" if kind == "group" else "host"
                self.skipped.append(f"{display_name(folder / entry)}: no {what} {name!r} in this estate; not applied")
                continue
            layer = Layer(f"{kind}/{name}", known[name])
            files = vars_files(folder, name)
            for other in (folder / f"{name}{ext}" for ext in VAR_EXTENSIONS):
                if files and other.exists() and not any(other == f or other in f.parents for f in files):
                    self.skipped.append(f"{display_name(other)}: not read by Ansible ({display_name(files[0])} comes first); not applied")
            for f in files:
                layer.entries += read_vars_file(f, layer.scope, self.vault)
            if layer.entries:
                layers.append(layer)
        return layers

    def sets(self) -> Iterator[tuple[str, Value, Layer]]:
        """(name, value, layer) for every variable any layer sets."""
        for layer in self.layers:
            for name, value in layer.entries:
                yield name, value, layer
