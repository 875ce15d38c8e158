"""YAML loading that remembers where every value came from.

PyYAML's C composer builds the node tree (fast); we convert nodes to plain Python
ourselves so that each field path maps to the line and column of its key. Duplicate
keys, which PyYAML silently accepts, are reported as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml is in the pinned PyYAML wheel; fall back to pure Python if absent.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

from idcpilot.errors import Problem, UserInputError

PathKey = tuple[str | int, ...]


def format_path(path: PathKey) -> str:
    """('spec', 'sites', 2, 'pue') -> 'spec.sites[2].pue'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class SourceMap:
    """Field path -> (line, column), 1-based, for one file."""

    file: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: PathKey) -> tuple[int, int]:
        """Position of the path, or of its nearest ancestor that exists in the file."""
        path = tuple(path)
        while path:
            pos = self.positions.get(path)
            if pos is not None:
                return pos
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: PathKey, message: str) -> Problem:
        line, col = self.locate(path)
        return Problem(self.file, line, col, format_path(path), message)


_SCALAR = yaml.SafeLoader  # used only for its constructors of tagged scalars


class _Converter:
    def __init__(self, smap: SourceMap):
        self.smap = smap
        self.problems: list[Problem] = []
        self._ctor = _SCALAR("")

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(self._at(key_node, path, "YAML merge keys (<<) are not supported"))
                    continue
                key = self.convert(key_node, path)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    self.problems.append(self._at(key_node, path, "mapping keys must be plain scalars"))
                    continue
                key = str(key)
                child = path + (key,)
                if key in result:
                    first = self.smap.positions.get(child, (0, 0))
                    self.problems.append(
                        self._at(key_node, child, f"duplicate key {key!r} (first defined at line {first[0]})")
                    )
                    continue
                self.smap.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                result[key] = self.convert(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                child = path + (index,)
                self.smap.positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
                items.append(self.convert(item, child))
            return items
        try:
            return self._ctor.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. a timestamp like 2026-13-45
            self.problems.append(self._at(node, path, f"invalid value {node.value!r}: {exc}"))
            return node.value

    def _at(self, node: yaml.Node, path: PathKey, message: str) -> Problem:
        return Problem(self.smap.file, node.start_mark.line + 1, node.start_mark.column + 1, format_path(path), message)


def load_yaml_text(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document; raise UserInputError with file:line:column on any mistake."""
    smap = SourceMap(file)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = exc.problem or str(exc)
        raise UserInputError([Problem(file, line, col, "", f"malformed YAML: {detail}")]) from None
    except yaml.YAMLError as exc:
        raise UserInputError([Problem(file, 1, 1, "", f"malformed YAML: {exc}")]) from None
    if root is None:
        return None, smap
    smap.positions[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
    conv = _Converter(smap)
    try:
        data = conv.convert(root, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise UserInputError([Problem(file, line, col, "", f"malformed YAML: {exc.problem}")]) from None
    if conv.problems:
        raise UserInputError(conv.problems)
    return data, smap


def load_yaml_file(path: Path, display: str | None = None) -> tuple[Any, SourceMap]:
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError.single(name, "file not found") from None
    except UnicodeDecodeError as exc:
        raise UserInputError.single(name, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UserInputError.single(name, f"cannot read file: {exc.strerror}") from None
    return load_yaml_text(text, name)
