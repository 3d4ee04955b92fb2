"""Stage ``check``: ``ast.Expr`` -> ``ir.Expr``. Resolves subjects, enforces the subject /
operator table of SPEC 1.2 and types every literal. All type errors of an expression are
collected and raised together as one ``QueryTypeError``, leftmost first.
"""
from __future__ import annotations

import difflib
import re

from placement import values
from placement.errors import Problem, QueryTypeError, Span
from placement.lang import ast, ir, trees
from placement.lang.ast import Op
from placement.lang.ir import Field, Kind
from placement.lang.patterns import PatternError, compile_pattern

_EQUALITY = {Op.EQ, Op.NE, Op.IN, Op.NOT_IN}
_STRINGS = _EQUALITY | {Op.MATCHES, Op.NOT_MATCHES}
_ORDERING = {Op.GT, Op.GE, Op.LT, Op.LE}
_PRESENCE = {Op.EXISTS, Op.NOT_EXISTS}

#: SPEC 1.2: which operators each subject allows.
ALLOWED: dict[Kind, frozenset[Op]] = {
    Kind.ATTRIBUTE: frozenset(_STRINGS | _ORDERING | _PRESENCE),
    Kind.INSTANCE_ID: frozenset(_STRINGS),
    Kind.AGENT_CONNECTED: frozenset(_STRINGS),
    Kind.AGENT_VERSION: frozenset({Op.EQ, Op.NE} | _ORDERING),
    Kind.REGISTERED_AT: frozenset({Op.EQ, Op.NE} | _ORDERING),
    Kind.RUNNING_TASKS: frozenset(_EQUALITY | _ORDERING),
    Kind.TASK_GROUP: frozenset(_STRINGS | _PRESENCE),
}
_BUILT_IN = {kind.value: kind for kind in Kind if kind is not Kind.ATTRIBUTE}
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_./\\-]{1,128}\Z")

# How each kind's literals are parsed for equality / ordering, and how to describe a good one.
_LITERALS = {
    Kind.AGENT_CONNECTED: (values.parse_bool, "true or false"),
    Kind.AGENT_VERSION: (values.parse_version, "a version like 1.14.5 (1 to 3 numbers)"),
    Kind.REGISTERED_AT: (values.parse_timestamp,
                         "a date like 2018-06-18, 2018-06-18T22:28:28, 2018-06-18T22:28:28Z "
                         "or 2018-06-18T22:28:28+00:00"),
    Kind.RUNNING_TASKS: (values.parse_count, "a non-negative integer"),
}


def check(tree: ast.Expr) -> ir.Expr:
    """Type ``tree``; raise ``QueryTypeError`` listing every problem found."""
    problems: list[Problem] = []
    result = _Checker(problems).expr(tree)
    if problems:
        problems.sort(key=lambda p: (p.span.start, p.span.end) if p.span else (0, 0))
        raise QueryTypeError(problems[0].message, problems=tuple(problems))
    return result


class _Checker:
    def __init__(self, problems: list[Problem]):
        self.problems = problems

    def fail(self, message: str, span: Span, hint: str | None = None) -> None:
        self.problems.append(Problem(message, span, hint))

    def expr(self, tree: ast.Expr) -> ir.Expr | None:
        return trees.fold(tree, self.node)

    def node(self, node: ast.Expr, operands: list) -> ir.Expr | None:
        if isinstance(node, ast.Comparison):
            return self.comparison(node)
        if isinstance(node, ast.Not):
            return ir.Not(operands[0], node.span)
        return (ir.And if isinstance(node, ast.And) else ir.Or)(tuple(operands), node.span)

    def field(self, node: ast.Comparison) -> Field | None:
        subject, span = node.subject, node.subject_span
        if subject.startswith("attribute:"):
            name = subject[len("attribute:"):]
            if not _ATTRIBUTE_NAME.match(name):
                self.fail(f"invalid attribute name {name!r}", span,
                          "attribute names are 1-128 letters, digits and - _ . / \\")
                return None
            return Field(Kind.ATTRIBUTE, name)
        if subject in _BUILT_IN:
            return Field(_BUILT_IN[subject])
        head, colon, rest = subject.partition(":")
        if colon and rest and difflib.get_close_matches(head.lower(), ["attribute"], cutoff=0.7):
            close = ["attribute:" + rest]                # a misspelt prefix: atribute:stack
        else:
            close = difflib.get_close_matches(subject, [*_BUILT_IN, *(() if colon else ("attribute:" + subject,))],
                                              n=1, cutoff=0.6)
        folded = {k.lower(): k for k in _BUILT_IN}.get(subject.lower())
        guess = folded or (close[0] if close else None)
        if guess is None and "." in subject and ":" not in subject:
            guess = "attribute:" + subject
        self.fail(f"unknown subject {subject!r}", span,
                  (f"did you mean {guess}? " if guess else "")
                  + "subjects: attribute:NAME, " + ", ".join(_BUILT_IN))
        return None

    def comparison(self, node: ast.Comparison) -> ir.Leaf | None:
        field = self.field(node)
        if field is None:
            return None
        op = node.op
        if op not in ALLOWED[field.kind]:
            allowed = " ".join(o.value for o in Op if o in ALLOWED[field.kind])
            self.fail(f"operator {op.value} is not allowed on {field}", node.op_span,
                      f"{field} allows: {allowed}")
            return None
        if op.is_unary:
            return ir.Exists(field, op is Op.EXISTS, node.span)
        if op in (Op.MATCHES, Op.NOT_MATCHES):
            pattern = node.args[0]
            try:
                compile_pattern(pattern.value)
            except PatternError as error:
                self.fail(f"{field} {op.value}: {error}", pattern.span)
                return None
            return ir.Match(field, pattern.value, op is Op.NOT_MATCHES, node.span)
        typed = [self.literal(field, op, arg) for arg in node.args]
        if any(value is None for value in typed):
            return None
        if op in _ORDERING:
            return ir.Order(field, op.value, typed[0], node.span)
        return ir.OneOf(field, frozenset(typed), op in (Op.NE, Op.NOT_IN), node.span)

    def literal(self, field: Field, op: Op, arg: ast.Literal):
        text = arg.value
        if field.kind is Kind.ATTRIBUTE and op in _ORDERING:
            parse, wanted = values.parse_number, "a number (attribute ordering is numeric)"
        elif field.kind in _LITERALS:
            parse, wanted = _LITERALS[field.kind]
        else:
            return text
        value = parse(text)
        if value is None:
            hint = None
            if field.kind is Kind.AGENT_CONNECTED and parse(text.lower()) is not None:
                hint = f"write {text.lower()} in lower case"
            elif field.kind is Kind.REGISTERED_AT:      # well-formed yet refused: no such day, or out of range
                hint = "the date must exist, and the instant (offset applied) lie in the years 1 to 9999 UTC"
            self.fail(f"{field} {op.value}: expected {wanted}, got {text!r}", arg.span, hint)
        return value
