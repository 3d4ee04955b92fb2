"""Stage ``plan``: simplified ``ir.Expr`` -> ``Plan``, the fleet-independent shape of the work.

Every subtree that reads one scalar field becomes a ``ColumnTest`` (one lookup at bind time,
however many leaves it has); a ``task:group`` leaf becomes a ``GroupTest``; and/or become
``All`` / ``Any`` with their operands in ``simplify``'s cost order. Plans are immutable,
hashable and printable (``explain``), and cached by the text of the simplified expression.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from placement.lang import ir
from placement.lang.ir import Field
from placement.lang.simplify import simplify, single_field


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class ColumnTest:
    """``expr`` reads only ``field``: bind turns it into ranges of codes or one lookup table."""

    field: Field
    expr: ir.Expr


@dataclass(frozen=True)
class GroupTest:
    """One ``task:group`` leaf, possibly negated (``not(task:group == g)``)."""

    leaf: ir.Leaf
    invert: bool = False


@dataclass(frozen=True)
class All:
    operands: tuple["Node", ...]


@dataclass(frozen=True)
class Any:
    operands: tuple["Node", ...]


Node = Const | ColumnTest | GroupTest | All | Any


@dataclass(frozen=True)
class Plan:
    root: Node
    text: str                        # the simplified expression

    def explain(self) -> str:
        """The plan as an indented listing, one line per node."""
        lines = [f"plan: {self.text}"]
        _describe(self.root, 1, lines)
        return "\n".join(lines)


def _describe(node: Node, level: int, lines: list[str]) -> None:
    pad = "  " * level
    if isinstance(node, Const):
        lines.append(f"{pad}const {'true' if node.value else 'false'}")
    elif isinstance(node, ColumnTest):
        lines.append(f"{pad}column {node.field}: {ir.to_text(node.expr)}")
    elif isinstance(node, GroupTest):
        text = ir.to_text(node.leaf)
        lines.append(f"{pad}groups {'not(' + text + ')' if node.invert else text}")
    else:
        lines.append(f"{pad}{'all' if isinstance(node, All) else 'any'}  (stops when a block is decided)")
        for operand in node.operands:
            _describe(operand, level + 1, lines)


def to_plan(expr: ir.Expr) -> Node:
    if isinstance(expr, ir.Const):
        return Const(expr.value)
    field = single_field(expr)
    if field is not None:
        return ColumnTest(field, expr)
    if isinstance(expr, ir.Not):                 # after simplify, only over a leaf
        return GroupTest(expr.operand, invert=True)
    if isinstance(expr, (ir.And, ir.Or)):
        operands = tuple(to_plan(o) for o in expr.operands)
        return All(operands) if isinstance(expr, ir.And) else Any(operands)
    return GroupTest(expr)


@functools.lru_cache(maxsize=1024)
def _plan_for(text: str, simplified: ir.Expr) -> Plan:
    return Plan(to_plan(simplified), text)


def plan(expr: ir.Expr) -> Plan:
    """The plan of a checked expression; equal simplified expressions share one ``Plan``."""
    simplified = simplify(expr)
    return _plan_for(ir.to_text(simplified), simplified)
