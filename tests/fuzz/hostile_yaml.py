"""Hostile YAML shared by the loader's tests: alias bombs, deep nesting, over-long strings,
recursive anchors and object tags, spliced into a real file where a user could write them."""

from __future__ import annotations

import re

from idcpilot.yamlsource import MAX_DEPTH, MAX_FILE_BYTES, MAX_STRING_CHARS


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    """A flow mapping whose last key stands for width**levels values (about 12 KB as text)."""
    lines = ['l0: &l0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "{" + ", ".join(lines) + "}"


def deep_flow(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_block(depth: int) -> str:
    """Block mappings nested DEPTH deep (each level indented by one more space)."""
    return "".join(" " * i + "k:\n" for i in range(depth - 1)) + " " * (depth - 1) + "k: v\n"


def alias_tower(levels: int) -> str:
    """Anchors nested within the depth limit whose aliases, stacked, go beyond it."""
    half = MAX_DEPTH // 2 + 1
    lines = [f"a0: &a0 {deep_flow(half)}"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} " + "[" * half + f"*a{i - 1}" + "]" * half)
    return "{" + ", ".join(lines) + "}"


RECURSIVE = "{a: &x [1, *x]}"
LONG_STRING = '"' + "x" * (MAX_STRING_CHARS + 10) + '"'
PYTHON_OBJECT = "!!python/object/apply:os.system [touch /tmp/idcpilot-yaml-marker]"
PYTHON_NAME = "!!python/name:os.system"


def splice(text: str, key: str, value: str) -> str:
    """TEXT with the value of the first top-level-or-nested ``key:`` line replaced by VALUE
    (a flow value on that line; the block that followed the key is dropped)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(rf"^(\s*){re.escape(key)}:(.*)$", line)
        if m:
            indent = len(m.group(1))
            end = i + 1
            while end < len(lines) and _in_block(lines[end], indent):
                end += 1
            lines[i:end] = [f"{m.group(1)}{key}: {value}"]
            return "\n".join(lines)
    raise KeyError(key)


def _in_block(line: str, indent: int) -> bool:
    """LINE belongs to the block of a key written at INDENT (deeper, blank, or a same-level list item)."""
    own = len(line) - len(line.lstrip())
    return not line.strip() or own > indent or (own == indent and line.lstrip().startswith("- "))


def oversized(line: str = "# padding to go over the file size limit\n") -> bytes:
    return line.encode() * (MAX_FILE_BYTES // len(line) + 2)
