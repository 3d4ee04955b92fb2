"""What the repl's editor knows about the language: a forgiving scanner, completion and
highlighting on top of it (prompt_toolkit's ``Completer`` and ``Lexer``).

The scanner is not the parser: it must never fail, whatever half-typed text it is given, and it
must say at every position what may come next (a subject, an operator, a value, ``and`` / ``or``),
which lark's errors do not. It follows the grammar's token rules (``grammar/cluster_query.lark``)
closely enough to colour and complete; the parser stays the judge of what is valid. Imported
only by ``placement repl``: it needs the ``repl`` extra (prompt_toolkit).
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.lexers import Lexer

from placement.lang.ast import OP_SPELLINGS, literal_text
from placement.lang.check import ALLOWED
from placement.lang.ir import Kind

# What the scanner expects next.
SUBJECT, OPERATOR, VALUE, LIST_OPEN, LIST_ITEM, LIST_NEXT, AFTER = (
    "subject", "operator", "value", "list-open", "list-item", "list-next", "after")

_SUBJECT = re.compile(r"[A-Za-z0-9_.:/\\-]+")
_END = r"(?=[\s()\[\],'\"]|&&|\|\||$)"
_KEYWORD = re.compile(r"(?:not|and|or)(?![A-Za-z0-9_.:/\\-])|&&|\|\||!", re.IGNORECASE)
_OPERATOR = re.compile(r"(?:==|!=|>=|>|<=|<|=~|!~)|(?:!exists|!in|[a-z_]+)" + _END, re.IGNORECASE)
_BARE = re.compile(r"(?:[^\s()\[\],'\"&|]|&(?!&)|\|(?!\|))+")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?", re.DOTALL)
_WORD = re.compile(r"[^\s()\[\],]+")

SUBJECTS = ("attribute:", *(kind.value for kind in Kind if kind is not Kind.ATTRIBUTE))
#: Operators as offered: the symbols, and the words where a word is the usual spelling.
OPERATORS = ("==", "!=", "=~", "!~", "in", "not_in", "exists", "!exists", ">", ">=", "<", "<=")
COMMANDS = (":explain", ":why", ":place", ":help", ":quit")


@dataclass(frozen=True)
class Token:
    """``kind`` is what the text is (subject, operator, keyword, value, string, punctuation,
    error); ``expected`` what the scanner was expecting there; ``subject`` the simple
    expression's subject, once one has been read."""

    kind: str
    start: int
    end: int
    expected: str
    subject: str | None = None


def scan(text: str) -> tuple[list[Token], str, str | None]:
    """Tokens of ``text`` (whitespace left out), what is expected after them, and the subject then."""
    tokens: list[Token] = []
    expected, subject, i = SUBJECT, None, 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        kind, end, after = _step(text, i, expected)
        if kind == "subject":
            subject = text[i:end]
        elif after == SUBJECT:
            subject = None
        tokens.append(Token(kind, i, end, expected, subject))
        i, expected = end, after
    return tokens, expected, subject


def _step(text: str, i: int, expected: str) -> tuple[str, int, str]:
    """One token at ``i``: its kind, where it ends and what is expected after it."""
    char = text[i]
    if expected == SUBJECT:
        if char == "(":
            return "punctuation", i + 1, SUBJECT
        if match := _KEYWORD.match(text, i):
            word = match.group().lower()
            if word in ("not", "!"):
                return "keyword", match.end(), SUBJECT
        if match := _SUBJECT.match(text, i):
            return "subject", match.end(), OPERATOR
    elif expected == OPERATOR:
        match = _OPERATOR.match(text, i)
        if match and match.group().lower() in OP_SPELLINGS:
            op = OP_SPELLINGS[match.group().lower()]
            return "operator", match.end(), (LIST_OPEN if op.takes_list else AFTER if op.is_unary else VALUE)
    elif expected in (VALUE, LIST_ITEM):
        following = AFTER if expected == VALUE else LIST_NEXT
        if char in "'\"":
            return "string", _QUOTED.match(text, i).end(), following
        if match := _BARE.match(text, i):
            return "value", match.end(), following
        if char == "]" and expected == LIST_ITEM:
            return "punctuation", i + 1, AFTER
    elif expected == LIST_OPEN and char == "[":
        return "punctuation", i + 1, LIST_ITEM
    elif expected == LIST_NEXT and char in ",]":
        return "punctuation", i + 1, LIST_ITEM if char == "," else AFTER
    elif expected == AFTER:
        if char == ")":
            return "punctuation", i + 1, AFTER
        match = _KEYWORD.match(text, i)
        if match and match.group().lower() in ("and", "or", "&&", "||"):
            return "keyword", match.end(), SUBJECT
    # Anything else is an error: skip one word of it (or one character) and keep expecting the same.
    match = _WORD.match(text, i)
    return "error", match.end() if match else i + 1, expected


# -- what the fleet offers ------------------------------------------------------------------------

MAX_VALUES = 200           # candidates listed at once: a 1M-instance fleet has 1M ec2InstanceIds


class Vocabulary:
    """The attribute names and the values of each subject, read from the fleet's dictionaries."""

    def __init__(self, fleet):
        self.columns = fleet.columns if fleet is not None else None
        self.attributes = tuple(sorted(self.columns.attributes)) if self.columns is not None else ()

    def values(self, subject: str | None, prefix: str) -> list[str]:
        if subject == Kind.AGENT_CONNECTED.value:
            return [v for v in ("true", "false") if v.startswith(prefix)]
        columns = self.columns
        if columns is None or subject is None:
            return []
        if subject.startswith("attribute:"):
            column = columns.attributes.get(subject[len("attribute:"):])
            return [] if column is None else _with_prefix(column.dictionary, column.absent_code, prefix)
        if subject == Kind.INSTANCE_ID.value:
            return _with_prefix(columns.instance_id.dictionary, columns.instance_id.absent_code, prefix)
        if subject == Kind.TASK_GROUP.value:
            return _with_prefix(columns.groups.dictionary, len(columns.groups.dictionary), prefix)
        return []


def _with_prefix(dictionary: tuple, sorted_part: int, prefix: str) -> list[str]:
    """Entries starting with ``prefix``: a range of the sorted part, then the later ones."""
    start = bisect.bisect_left(dictionary, prefix, 0, sorted_part)
    found = []
    for value in dictionary[start:sorted_part]:
        if not value.startswith(prefix) or len(found) >= MAX_VALUES:
            break
        found.append(value)
    found += [v for v in dictionary[sorted_part:] if v.startswith(prefix)][:MAX_VALUES - len(found)]
    return found


def _kind(subject: str | None) -> Kind | None:
    if subject is None:
        return None
    if subject.startswith("attribute:"):
        return Kind.ATTRIBUTE
    return next((kind for kind in Kind if kind.value == subject), None)


# -- completion -----------------------------------------------------------------------------------

def candidates(text: str, vocabulary: Vocabulary) -> tuple[int, list[str]]:
    """What may replace the end of ``text`` (the text before the cursor): how many characters
    back the replaced word starts, and the words, in the order offered."""
    if text.lstrip().startswith(":"):
        word = text.lstrip()
        return (len(word), [c for c in COMMANDS if c.startswith(word)]) if " " not in word else (0, [])
    tokens, expected, subject = scan(text)
    partial = ""
    last = tokens[-1] if tokens else None
    if last is not None and last.end == len(text) and last.kind in ("subject", "operator", "keyword", "value",
                                                                      "string", "error"):
        partial, expected, subject = text[last.start:], last.expected, last.subject
    words = _words(expected, subject, partial, vocabulary)
    brackets = [text[t.start] for t in tokens if t.kind == "punctuation"]
    if brackets.count("(") <= brackets.count(")"):
        words = [w for w in words if w != ")"]          # no group open: nothing to close
    return len(partial), words


def _words(expected: str, subject: str | None, partial: str, vocabulary: Vocabulary) -> list[str]:
    folded = partial.lower()
    if expected == SUBJECT:
        if folded.startswith("attribute:"):
            words = ["attribute:" + name for name in vocabulary.attributes]
            return [w for w in words if w.lower().startswith(folded)]
        return [w for w in (*SUBJECTS, "not(", "(") if w.lower().startswith(folded)]
    if expected == OPERATOR:
        allowed = ALLOWED.get(_kind(subject))
        return [op for op in OPERATORS if op.startswith(folded)
                and (allowed is None or OP_SPELLINGS[op] in allowed)]
    if expected in (VALUE, LIST_ITEM):
        quote = partial[:1] if partial[:1] in ("'", '"') else ""
        values = vocabulary.values(subject, partial[1:] if quote else partial)
        words = [_quoted(v, quote) for v in values]
        return words + (["]"] if expected == LIST_ITEM and not partial else [])
    if expected == LIST_OPEN:
        return ["["]
    if expected == LIST_NEXT:
        return [",", "]"]
    return [w for w in ("and", "or", ")") if w.startswith(folded)]


def _quoted(value: str, quote: str) -> str:
    if not quote:
        return literal_text(value)
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


class QueryCompleter(Completer):
    """prompt_toolkit's view of ``candidates``."""

    def __init__(self, vocabulary: Vocabulary):
        self.vocabulary = vocabulary

    def get_completions(self, document, complete_event):
        back, words = candidates(document.text_before_cursor, self.vocabulary)
        for word in words:
            yield Completion(word, start_position=-back)


# -- highlighting ---------------------------------------------------------------------------------

STYLE = {
    "subject": "ansicyan", "operator": "ansimagenta", "keyword": "bold ansiblue", "value": "ansigreen",
    "string": "ansigreen", "punctuation": "", "error": "ansired underline", "command": "bold ansiyellow",
}


class QueryLexer(Lexer):
    """Colours a line by the scanner's tokens; a ``:command`` line gets its word coloured."""

    def lex_document(self, document):
        def line(number: int):
            text = document.lines[number]
            if text.lstrip().startswith(":"):
                start = len(text) - len(text.lstrip())
                end = text.find(" ", start)
                end = len(text) if end == -1 else end
                return [("", text[:start]), ("class:command", text[start:end]), ("", text[end:])]
            fragments, at = [], 0
            for token in scan(text)[0]:
                fragments += [("", text[at:token.start]), (f"class:{token.kind}", text[token.start:token.end])]
                at = token.end
            return fragments + [("", text[at:])]
        return line
