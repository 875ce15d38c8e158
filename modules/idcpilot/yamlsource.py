"""YAML loading that remembers where every value came from, within limits.

PyYAML's C composer builds the node tree (fast); we convert nodes to plain Python
ourselves so that each field path maps to the line and column of its key. Duplicate
keys, which PyYAML silently accepts, are reported as errors.

Every YAML (and JSON) file idcpilot reads comes from a pull request and is untrusted: estates,
``ipam.lock.yaml``, group_vars and host_vars, thresholds, waivers, manifests, Pulumi files,
findings and verify results. It is read within the limits below, checked on libyaml's event
stream *before* anything is built (a 12 KB alias bomb stands for a billion values; nesting
100,000 deep overflows the C composer's stack), so a breach costs no more time or memory than
reading up to it. A breach is bad input: ``UserInputError`` (exit 2) naming file:line:column and
the limit in plain words.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from yaml import events as ev

try:  # libyaml is in the pinned PyYAML wheel; fall back to pure Python if absent.
    from yaml import CSafeLoader as _Loader
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

    def _CParser(data: Any) -> Any:  # type: ignore[no-redef]
        return _Loader(data)  # its get_event also answers None at the end of the stream

from idcpilot.errors import Problem, UserInputError, excerpt

PathKey = tuple[str | int, ...]

# --------------------------------------------------------------------------- limits
#
# Generous for real files: the synthetic 100,000-host estate of bench/bench_catalogue.py is
# 4.9 MB, about 830,000 values with its ~100,000 aliases expanded (PyYAML writes shared host role
# lists as anchors), nested 8 deep; a Kubernetes manifest nests about 15 deep and a ConfigMap
# holds at most 1 MiB. Tight enough that reading a file within them takes seconds (building
# 800,000 values from one alias bomb: about 3 CPU seconds) and well under 1 GiB of memory.

#: Size of one file, in bytes (checked before it is read).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Mappings and lists nested inside each other, counted through aliases.
MAX_DEPTH = 100
#: Characters in one string (a key or a value).
MAX_STRING_CHARS = 1024 * 1024
#: Alias nodes (``*name``) in one file.
MAX_ALIASES = 250_000
#: Values in one file with every alias expanded to what it stands for (an alias bomb's measure).
MAX_NODES = 2_000_000


class LimitError(yaml.MarkedYAMLError):
    """A YAML stream breaks one of the limits above; ``problem_mark`` says where."""


def check_limits(data: str | bytes) -> None:
    """Walk the event stream of DATA (every document) and raise LimitError at the first breach
    of a limit (or yaml.YAMLError where the stream is malformed), before anything is built.

    An alias counts as the values and depth of what its anchor stands for; an alias inside its
    own anchor (a recursive structure, which the composer would build and every reader then
    walk forever) is refused."""
    get = _CParser(data).get_event
    strings = len(data) > MAX_STRING_CHARS  # no string is longer than the text holding it
    nodes = aliases = 0
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (values, height) it stands for
    # per open collection: [anchor, values counted before it, height of its tallest child]
    open_: list[list[Any]] = []
    enclosing: dict[str, int] = {}  # anchors of the open collections (how many times each is open)
    scalar, alias, doc_start = ev.ScalarEvent, ev.AliasEvent, ev.DocumentStartEvent
    starts, ends = (ev.MappingStartEvent, ev.SequenceStartEvent), (ev.MappingEndEvent, ev.SequenceEndEvent)
    while True:
        e = get()
        if e is None:
            return
        cls = e.__class__
        if cls is scalar:
            nodes += 1
            if e.anchor is not None:
                sizes[e.anchor] = (1, 0)
            if strings and len(e.value) > MAX_STRING_CHARS:
                raise LimitError(problem=f"string length limit exceeded: {len(e.value):,} characters in one string, "
                                         f"over the limit of {MAX_STRING_CHARS:,}", problem_mark=e.start_mark)
        elif cls in starts:
            nodes += 1
            if len(open_) >= MAX_DEPTH:
                raise depth_error(e.start_mark)
            open_.append([e.anchor, nodes, 0])
            if e.anchor is not None:
                enclosing[e.anchor] = enclosing.get(e.anchor, 0) + 1
        elif cls in ends:
            anchor, before, tallest = open_.pop()
            height = tallest + 1
            if anchor is not None:
                sizes[anchor] = (nodes - before + 1, height)
                enclosing[anchor] -= 1
                if not enclosing[anchor]:
                    del enclosing[anchor]
            if open_ and open_[-1][2] < height:
                open_[-1][2] = height
        elif cls is alias:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise LimitError(problem=f"alias limit exceeded: more than {MAX_ALIASES:,} aliases (*name) in one file",
                                 problem_mark=e.start_mark)
            if e.anchor in enclosing:
                raise LimitError(problem=f"alias {excerpt(e.anchor)} inside its own anchor (a structure that contains "
                                         "itself has no end)", problem_mark=e.start_mark)
            count, height = sizes.get(e.anchor, (1, 0))
            nodes += count
            if len(open_) + height > MAX_DEPTH:
                raise depth_error(e.start_mark)
            if open_ and open_[-1][2] < height:
                open_[-1][2] = height
        elif cls is doc_start:
            sizes.clear()
        if nodes > MAX_NODES:
            raise LimitError(problem=f"size limit exceeded: more than {MAX_NODES:,} values in one file with its aliases "
                                     "expanded (an alias bomb?)", problem_mark=e.start_mark)


def depth_error(mark: Any) -> LimitError:
    """The nesting breach at MARK (event loops that count depth themselves raise it too)."""
    return LimitError(problem=f"nesting limit exceeded: mappings and lists nested more than {MAX_DEPTH} levels deep",
                      problem_mark=mark)


# --------------------------------------------------------------------------- files


def read_yaml_bytes(path: Path, display: str | None = None) -> bytes:
    """The bytes of a YAML file, refused (UserInputError) when the file is missing, a broken
    symlink or a symlink loop, not a regular file (a directory, FIFO, device or socket: opened
    without blocking and checked before reading; /dev/null reads as empty), unreadable, or over
    MAX_FILE_BYTES."""
    name = display or str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        broken = os.path.islink(path)
        raise UserInputError.single(name, "broken symlink: its target does not exist" if broken else "file not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UserInputError.single(name, "symlink loop: too many levels of symbolic links") from None
        if exc.errno == errno.ENXIO:  # what opening a UNIX socket says
            raise UserInputError.single(name, "not a regular file (a socket); expected a YAML file") from None
        raise UserInputError.single(name, f"cannot read file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISCHR(info.st_mode) and info.st_rdev == _null_device():
            return b""  # `--waivers /dev/null`: deliberately nothing
        if not stat.S_ISREG(info.st_mode):
            kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                    else "a socket" if stat.S_ISSOCK(info.st_mode) else "a device")
            raise UserInputError.single(name, f"not a regular file ({kind}); expected a YAML file")
        if info.st_size > MAX_FILE_BYTES:
            raise _too_big(name, info.st_size)
        chunks = []
        size = 0
        while size <= MAX_FILE_BYTES:  # the file may grow while it is read
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise _too_big(name, size)
        return b"".join(chunks)
    except OSError as exc:
        raise UserInputError.single(name, f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _null_device() -> int:
    try:
        return os.stat(os.devnull).st_rdev
    except OSError:  # pragma: no cover
        return -1


def _too_big(name: str, size: int) -> UserInputError:
    return UserInputError.single(name, f"file size limit exceeded: {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} "
                                       f"bytes ({MAX_FILE_BYTES >> 20} MiB) for a YAML file")


def read_yaml_text(path: Path, display: str | None = None) -> str:
    """``read_yaml_bytes`` decoded as UTF-8 (a byte that is not names its line)."""
    name = display or str(path)
    data = read_yaml_bytes(path, name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserInputError.single(name, f"not UTF-8 text ({exc.reason})", line=line, column=col) from None


# --------------------------------------------------------------------------- positions


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
COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
#: Scalars are plain data: strings, numbers, booleans, null and dates (no !!binary bytes, no objects).
SCALAR_TAGS = tuple(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp"))


class _Converter:
    def __init__(self, smap: SourceMap):
        self.smap = smap
        self.problems: list[Problem] = []
        self._ctor = _SCALAR("")

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        if node.tag not in (SCALAR_TAGS if isinstance(node, yaml.ScalarNode) else COLLECTION_TAGS):
            # PyYAML would build bytes, sets, or (unsafe loaders) objects for !!python/object and the like
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(self._at(node, path, f"tag {excerpt(tag)} is not allowed (plain YAML data only)"))
            return {} if isinstance(node, yaml.MappingNode) else [] if isinstance(node, yaml.SequenceNode) else node.value
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(self._at(key_node, path, "YAML merge keys (<<) are not supported"))
                    continue
                if not isinstance(key_node, yaml.ScalarNode):  # refused before it is built (an alias bomb as a key)
                    self.problems.append(self._at(key_node, path, "mapping keys must be plain scalars"))
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
                        self._at(key_node, child, f"duplicate key {excerpt(key)} (first defined at line {first[0]})")
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
        except yaml.YAMLError:
            raise
        except Exception as exc:  # a timestamp like 2026-13-45, 5,000 digits, `!!bool maybe` (a KeyError), ...
            self.problems.append(self._at(node, path, f"invalid value {excerpt(node.value)}: {_reason(exc, node.tag)}"))
            return node.value

    def _at(self, node: yaml.Node, path: PathKey, message: str) -> Problem:
        return Problem(self.smap.file, node.start_mark.line + 1, node.start_mark.column + 1, format_path(path), message)


def _reason(exc: Exception, tag: str) -> str:
    """Why a scalar could not be read, in words (Python's own text when it is a short, plain ValueError)."""
    text = str(exc)
    if "integer string conversion" in text:
        return "a number with more than 4,300 digits"
    if not isinstance(exc, ValueError) or len(text) > 120 or not text.isprintable():
        return f"not a valid {tag.replace('tag:yaml.org,2002:', '!!')}"
    return text


def _malformed(file: str, exc: yaml.YAMLError) -> UserInputError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = exc.problem or str(exc)
        if isinstance(exc, LimitError):
            return UserInputError([Problem(file, line, col, "", str(detail))])
        if isinstance(exc, yaml.constructor.ConstructorError):
            return UserInputError([Problem(file, line, col, "", f"malformed YAML: {excerpt(str(detail), 200)}")])
        return UserInputError([Problem(file, line, col, "", f"malformed YAML: {detail}")])
    return UserInputError([Problem(file, 1, 1, "", f"malformed YAML: {excerpt(str(exc), 200)}")])


def _convert(root: yaml.Node | None, file: str) -> tuple[Any, SourceMap, list[Problem]]:
    smap = SourceMap(file)
    if root is None:
        return None, smap, []
    smap.positions[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
    conv = _Converter(smap)
    return conv.convert(root, ()), smap, conv.problems


def _guarded(file: str, work: Callable[[], Any]) -> Any:
    """WORK (which reads DATA) after the limits are checked; every YAML error is a UserInputError."""
    try:
        return work()
    except yaml.YAMLError as exc:
        raise _malformed(file, exc) from None


def load_yaml_text(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document within the limits; raise UserInputError with file:line:column
    on any mistake. Plain documents are read from libyaml's events (``idcpilot.fastyaml``, the
    same values and positions); anything that loader leaves to this one is composed here."""
    from idcpilot import fastyaml  # it reads this module's limits

    quick = fastyaml.load_positioned(text, str_keys=True)
    if quick is not None:
        return quick[0], SourceMap(file, quick[1])
    return composed(text, file)


def composed(text: str, file: str) -> tuple[Any, SourceMap]:
    """``load_yaml_text`` by PyYAML's composer alone (what the fast reading must equal)."""

    def work() -> tuple[Any, SourceMap, list[Problem]]:
        check_limits(text)
        return _convert(yaml.compose(text, Loader=_Loader), file)

    data, smap, problems = _guarded(file, work)
    if problems:
        raise UserInputError(problems)
    return data, smap


def load_yaml_documents(text: str, file: str, fast: bool = False) -> list[tuple[Any, SourceMap]]:
    """Every document of a YAML stream (``---`` separated; one written on the ``---`` line too),
    each with its own SourceMap (lines counted from the top of the file); empty documents are
    (None, map). Within the limits; every problem of every document raises at once.

    ``fast``: positions from libyaml's events (``idcpilot.fastyaml``) where that gives what this
    loader gives; the values then keep YAML's key types."""
    if fast:
        from idcpilot import fastyaml

        quick = fastyaml.load_positioned_all(text)
        if quick is not None:
            return [(data, SourceMap(file, positions)) for data, positions in quick]

    def work() -> list[tuple[Any, SourceMap, list[Problem]]]:
        check_limits(text)
        return [_convert(root, file) for root in yaml.compose_all(text, Loader=_Loader)]

    docs = _guarded(file, work)
    problems = [p for _, _, found in docs for p in found]
    if problems:
        raise UserInputError(problems)
    return [(data, smap) for data, smap, _ in docs]


def load_yaml_file(path: Path, display: str | None = None) -> tuple[Any, SourceMap]:
    """One YAML (or JSON) document from a file, within the limits (``read_yaml_bytes``)."""
    name = display or str(path)
    return load_yaml_text(read_yaml_text(path, name), name)
