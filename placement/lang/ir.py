"""Stage ``check`` output: the typed intermediate representation every backend evaluates.

Subjects are resolved to a ``Field``; literals are parsed to typed values; the twelve operators
collapse to four leaf kinds. The meaning of each leaf, absent and value-less values included, is
written once in ``placement.engine.reference`` (the oracle) and its docstrings here.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from placement.errors import Span


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
class Not:
    operand: "Expr"
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class And:
    operands: tuple["Expr", ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Or:
    operands: tuple["Expr", ...]
    span: Span | None = field(default=None, compare=False)


Leaf = Exists | OneOf | Match | Order
Expr = Leaf | Not | And | Or
