"""Regular expressions of ``=~`` / ``!~``: RE2, whole-value, and what RE2 refuses, named.

ECS documents Java regex; we compile with RE2 so that no pattern can take more than linear time
(SPEC 1.5). Java constructs RE2 lacks are type errors that say which construct was used.
"""
from __future__ import annotations

import functools
import re

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False        # RE2 would print every rejected pattern to stderr

# Constructs RE2 does not implement, as people write them, with the name we report.
_UNSUPPORTED = [
    (re.compile(r"\\[1-9]"), "backreferences (\\1 ...)"),
    (re.compile(r"\\k<"), "named backreferences (\\k<name>)"),
    (re.compile(r"\(\?="), "lookahead (?=...)"),
    (re.compile(r"\(\?!"), "negative lookahead (?!...)"),
    (re.compile(r"\(\?<="), "lookbehind (?<=...)"),
    (re.compile(r"\(\?<!"), "negative lookbehind (?<!...)"),
    (re.compile(r"\(\?>"), "atomic groups (?>...)"),
    (re.compile(r"\(\?\("), "conditionals (?(...)...)"),
    (re.compile(r"(?<!\\)[*+?}]\+"), "possessive quantifiers (*+, ++, ?+)"),
    (re.compile(r"\\[GZ]"), "the anchors \\G and \\Z (use $ or \\z)"),
    (re.compile(r"\\p\{(?:Alpha|Digit|Alnum|Upper|Lower|Punct|Space|javaLowerCase|javaUpperCase|javaWhitespace)\}"),
     "Java/POSIX \\p{...} classes (use [[:alpha:]], \\d, \\s ...)"),
]


class PatternError(ValueError):
    """A pattern RE2 cannot compile; ``str()`` says why, naming the construct when we know it."""


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str):
    """The compiled RE2 pattern; use ``.fullmatch`` (SPEC 1.5: the whole value must match)."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        for detector, construct in _UNSUPPORTED:
            if detector.search(pattern):
                raise PatternError(f"RE2 does not support {construct}; patterns must run in linear time") from None
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise PatternError(f"invalid regular expression: {reason}") from None


def full_match(pattern: str, value: str) -> bool:
    return compile_pattern(pattern).fullmatch(value) is not None
