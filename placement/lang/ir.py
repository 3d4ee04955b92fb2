"""Stage ``check`` output: the typed intermediate representation every backend evaluates.

Subjects are resolved to a ``Field``; literals are parsed to typed values; the twelve operators
collapse to four leaf kinds. The meaning of each leaf, absent and value-less values included, is
written once in ``placement.engine.reference`` (the oracle) and its docstrings here.
"""
from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from placement.errors import Span
from placement.lang import trees
from placement.lang.ast import junction_pieces, literal_text
from placement.values import format_micros, format_version


class Kind(enum.Enum):
    """What a subject reads, with the subject text for the fields that have no name."""

    ATTRIBUTE = "attribute"
    INSTANCE_ID = "ec2InstanceId"
    AGENT_CONNECTED = "agentConnected"
    AGENT_VERSION = "agentVersion"
    REGISTERED_AT = "registeredAt"
    RUNNING_TASKS = "runningTasksCount"
    TASK_GROUP = "task:group"


@dataclass(frozen=True, order=True)
class Field:
    kind: Kind = field(compare=True)
    name: str = ""                       # the attribute name; empty for the built-in subjects

    def __str__(self) -> str:
        return f"attribute:{self.name}" if self.kind is Kind.ATTRIBUTE else self.kind.value


@dataclass(frozen=True)
class Exists:
    """``exists`` (present=True) / ``!exists``. Value-less attributes exist; ``task:group`` exists
    when the instance runs at least one task."""

    field: Field
    present: bool
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OneOf:
    """``==`` / ``in`` (negated=False) and ``!=`` / ``!in``: true only where the value exists and
    has a value; then equal to one of ``values`` (or to none of them, when negated).
    For ``task:group``: some group is in ``values`` / the instance runs tasks and none is."""

    field: Field
    values: frozenset
    negated: bool = False
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Match:
    """``=~`` / ``!~``: the whole value matches the RE2 ``pattern`` (or does not); false where
    the value is absent or value-less. ``task:group``: any group matches / tasks and none does."""

    field: Field
    pattern: str
    negated: bool = False
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Order:
    """``>`` ``>=`` ``<`` ``<=`` against a typed ``value``; false where the value is absent,
    value-less or (for attributes) not a number."""

    field: Field
    op: str
    value: object
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Const:
    """A constant: what ``simplify`` folds a contradiction (False) or a tautology (True) to."""

    value: bool
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False, repr=False)
class Not(trees.Compound):
    CHILDREN = "operand"
    operand: "Expr"
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False, repr=False)
class And(trees.Compound):
    CHILDREN = "operands"
    operands: tuple["Expr", ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False, repr=False)
class Or(trees.Compound):
    CHILDREN = "operands"
    operands: tuple["Expr", ...]
    span: Span | None = field(default=None, compare=False)


Leaf = Exists | OneOf | Match | Order
Expr = Leaf | Const | Not | And | Or


def leaves(expr: Expr) -> Iterator[Leaf]:
    """The leaves of ``expr`` left to right (constants are not leaves: they read nothing)."""
    return (node for node, _ in trees.preorder(expr) if not trees.children(node) and not isinstance(node, Const))


def _value_text(field: Field, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.kind is Kind.AGENT_VERSION:
        return format_version(value)
    if field.kind is Kind.REGISTERED_AT:
        return format_micros(value)
    if isinstance(value, float):
        if value != value or abs(value) == float("inf"):
            return "-1e999" if value < 0 else "1e999"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return literal_text(str(value))


def to_text(node: Expr) -> str:
    """The IR as expression text (``true`` / ``false`` for folded constants): for plans, lint and
    golden files; and/or/not nest like the AST's canonical form."""
    return trees.text(node, _pieces)


def _pieces(node: Expr) -> list:
    if isinstance(node, Not):
        return ["not(", node.operand, ")"]
    if isinstance(node, (And, Or)):
        return junction_pieces(node.operands, " and " if isinstance(node, And) else " or ", (And, Or))
    return [_leaf_text(node)]


def _leaf_text(node: Leaf | Const) -> str:
    if isinstance(node, Const):
        return "true" if node.value else "false"
    subject = str(node.field)
    if isinstance(node, Exists):
        return f"{subject} {'exists' if node.present else '!exists'}"
    if isinstance(node, Match):
        return f"{subject} {'!~' if node.negated else '=~'} {literal_text(node.pattern)}"
    if isinstance(node, Order):
        return f"{subject} {node.op} {_value_text(node.field, node.value)}"
    items = sorted(node.values)
    if len(items) == 1:
        return f"{subject} {'!=' if node.negated else '=='} {_value_text(node.field, items[0])}"
    listed = ", ".join(_value_text(node.field, v) for v in items)
    return f"{subject} {'!in' if node.negated else 'in'} [{listed}]"
