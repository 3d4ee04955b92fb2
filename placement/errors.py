"""Errors of every stage, and the one renderer that draws a caret under a span.

Every error that user input can cause is a ``PlacementError``: it carries the source text, the
span(s) it is about, a message and a hint, as data. Nothing else in the package formats carets.
``made_folder`` and ``write_text`` turn an output's OS errors into one ``InputError`` (here, so
that the commands and ``placement.dask`` share them without importing each other).
"""
from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Span:
    """Half-open character range ``[start, end)`` in the source text."""

    start: int
    end: int

    def __post_init__(self):
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span {self.start}..{self.end}")

    def cover(self, other: "Span") -> "Span":
        return Span(min(self.start, other.start), max(self.end, other.end))

    def as_list(self) -> list[int]:
        return [self.start, self.end]


@dataclass(frozen=True)
class Problem:
    """One finding about one place in the source: the unit that errors and warnings share."""

    message: str
    span: Span | None = None
    hint: str | None = None
    code: str | None = None

    def to_json(self) -> dict:
        out: dict = {"message": self.message}
        if self.code:
            out["code"] = self.code
        if self.span is not None:
            out["span"] = self.span.as_list()
        if self.hint:
            out["hint"] = self.hint
        return out


class PlacementError(Exception):
    """Base of every error that bad input can cause. ``kind`` is ``syntax``, ``type`` or ``input``."""

    kind = "input"

    def __init__(self, message: str, *, source: str | None = None, span: Span | None = None,
                 hint: str | None = None, problems: tuple[Problem, ...] = ()):
        self.problems = problems or (Problem(message, span, hint),)
        first = self.problems[0]
        self.message, self.span, self.hint, self.source = first.message, first.span, first.hint, source
        super().__init__(self.message)

    def to_json(self) -> dict:
        out = {"kind": self.kind, **self.problems[0].to_json()}
        if self.span is None:
            out["span"] = None
        if len(self.problems) > 1:
            out["errors"] = [p.to_json() for p in self.problems]
        return out

    def render(self) -> str:
        """The error for a person: every problem with the source line and a caret under its span."""
        return "\n".join(render_problem(f"{self.kind} error", p, self.source) for p in self.problems)

    def __str__(self) -> str:
        return self.render()


class QuerySyntaxError(PlacementError):
    """The text is not an expression of the cluster query language."""

    kind = "syntax"


class QueryTypeError(PlacementError):
    """The expression parses but a subject, operator or literal does not fit (SPEC 1.2-1.4)."""

    kind = "type"


class InputError(PlacementError):
    """A fleet, task or request document is malformed."""

    kind = "input"


class ConcurrentUseError(PlacementError):
    """A ``Placer`` (one scheduler's state, not thread-safe by design) was called while another
    thread was inside a call to it; the call was refused and the placer is unchanged."""

    kind = "input"


class _Preview(reprlib.Repr):
    """reprlib's bounded repr (depth, items, length), and no ``repr`` of a huge int, which takes
    quadratic time and raises past 4,300 digits."""

    def __init__(self):
        super().__init__()
        self.maxlevel, self.maxlist, self.maxdict, self.maxstring, self.maxother = 2, 4, 4, 150, 100

    def repr_int(self, x, level):
        return repr(x) if x.bit_length() < 200 else f"<an integer of {x.bit_length() * 30103 // 100000} digits>"


_PREVIEW = _Preview()


def preview(value) -> str:
    """A user-supplied value for an error message: its repr, at most 160 characters (an ARN fits)
    whatever the value's size or depth (a message must never recurse into, or print all of,
    hostile input)."""
    text = _PREVIEW.repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def made_folder(path) -> Path:
    """An output folder, made now: one that cannot be written is said before a run, not after it."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot write to {str(path)!r}: {error.strerror}") from None
    return folder


def write_text(path, text: str) -> Path:
    """``path.write_text(text)``, with an OS error (full disk, a folder in the way) an InputError."""
    path = Path(path)
    try:
        path.write_text(text)
    except OSError as error:
        raise InputError(f"cannot write {str(path)!r}: {error.strerror}") from None
    return path


def render_problem(label: str, problem: Problem, source: str | None) -> str:
    """``label: message``, the source line holding the span with carets under it, then the hint."""
    lines = [f"{label}: {problem.message}"]
    if source is not None and problem.span is not None:
        start, end = problem.span.start, problem.span.end
        line_start = source.rfind("\n", 0, start) + 1
        line_end = source.find("\n", start)
        line_end = len(source) if line_end == -1 else line_end
        column = start - line_start
        lines.append(f"  at line {source.count(chr(10), 0, start) + 1}, column {column + 1}")
        # Long lines are cut to a window around the span so the caret stays on screen.
        left = max(line_start, start - _WINDOW // 2)
        right = min(line_end, max(left + _WINDOW, start + 1))
        text = _LONE_SURROGATE.sub("\ufffd", source[left:right].replace("\t", " "))   # printable, same columns
        prefix = "..." if left > line_start else ""
        suffix = "..." if right < line_end else ""
        width = max(1, min(end, right) - start)
        lines.append("    " + prefix + text + suffix)
        lines.append("    " + " " * (len(prefix) + start - left) + "^" * width)
    if problem.hint:
        lines.append(f"  hint: {problem.hint}")
    return "\n".join(lines)


_WINDOW = 100
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
