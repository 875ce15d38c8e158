"""Errors that reach users: every one names a file, a line, a column and a field path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in a file a user wrote."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class UserInputError(Exception):
    """Bad input: the CLI prints every problem on its own line and exits 2."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str | Path, message: str, field: str = "", line: int = 1, column: int = 1) -> "UserInputError":
        return cls([Problem(str(file), line, column, field, message)])


#: The most of a user's value that a message repeats; longer values are cut with a marker.
EXCERPT_CHARS = 60


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable rendering of a user's value for a message: repr-quoted strings,
    control characters escaped, cut to ``limit`` characters with the full length named."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) <= limit:
        return text
    full = len(value) if isinstance(value, (str, list, dict, tuple)) else len(text)
    unit = "characters" if isinstance(value, str) else "items" if isinstance(value, (list, dict, tuple)) else "characters"
    return f"{text[: limit - 1]}… ({full} {unit})"
