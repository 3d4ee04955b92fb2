"""Stage ``plan``: simplified ``ir.Expr`` -> ``Plan``, the fleet-independent shape of the work.

Every subtree that reads one scalar field becomes a ``ColumnTest`` (one lookup at bind time,
however many leaves it has); a ``task:group`` leaf becomes a ``GroupTest``; and/or become
``All`` / ``Any`` with their operands in ``simplify``'s cost order. Plans are immutable,
hashable and printable (``explain``), and cached by the text of the simplified expression.

``trace_plan`` is the other plan, the one explain traces: built from the *checked but not
simplified* expression, one ``TraceNode`` per node as the user wrote it (and, or, not, simple),
each with its id (its preorder position, which is also the kernel node it becomes) and its span
in the source. See ``placement.explain.tree`` for why explain traces this plan.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from placement.errors import Span
from placement.lang import ir
from placement.lang.ir import Field, Kind
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


# -- the trace plan: the expression as written ---------------------------------------------------

@dataclass(frozen=True)
class TraceNode:
    """One node of the expression as the user wrote it. ``id`` is its preorder position in the
    trace plan and the index of the kernel node it binds to; ``span`` is its text in the source,
    widened to balanced parentheses (``not(a == x)`` whole, not ``not(a == x``); ``expr`` is its
    checked subexpression; ``test`` the plan leaf of a simple node (None for and / or / not)."""

    id: int
    kind: str                                   # "and" | "or" | "not" | "simple"
    span: Span
    expr: ir.Expr
    children: tuple[int, ...]
    test: "Const | ColumnTest | GroupTest | None" = None


@dataclass(frozen=True)
class TracePlan:
    source: str
    nodes: tuple[TraceNode, ...]                # preorder: nodes[0] is the root, children follow parents

    def text(self, node: TraceNode) -> str:
        return self.source[node.span.start:node.span.end]

    def explain(self) -> str:
        """One line per node, like ``Plan.explain``: id, kind, span, text."""
        lines = [f"trace plan: {self.source}"]
        depth = {0: 1}
        for node in self.nodes:
            for kid in node.children:
                depth[kid] = depth[node.id] + 1
            lines.append(f"{'  ' * depth[node.id]}#{node.id} {node.kind} [{node.span.start}, {node.span.end}) "
                         f"{self.text(node)}")
        return "\n".join(lines)


def trace_plan(expr: ir.Expr, source: str) -> TracePlan:
    """The trace plan of a *checked* (unsimplified) expression whose spans point into ``source``.
    Recursive: the parser bounds nesting (``MAX_NESTING``) far below Python's recursion limit."""
    pairs = _paren_pairs(source)
    nodes: list[TraceNode | None] = []

    def visit(expr: ir.Expr) -> int:
        index = len(nodes)
        nodes.append(None)
        if isinstance(expr, ir.Not):
            kind, operands = "not", (expr.operand,)
        elif isinstance(expr, (ir.And, ir.Or)):
            kind, operands = ("and" if isinstance(expr, ir.And) else "or"), expr.operands
        else:
            kind, operands = "simple", ()
        kids = tuple(visit(o) for o in operands)
        test = None
        if kind == "simple":
            test = (Const(expr.value) if isinstance(expr, ir.Const) else GroupTest(expr)
                    if expr.field.kind is Kind.TASK_GROUP else ColumnTest(expr.field, expr))
        span = expr.span if expr.span is not None else Span(0, len(source))
        nodes[index] = TraceNode(index, kind, _balanced(span, pairs), expr, kids, test)
        return index

    visit(expr)
    return TracePlan(source, tuple(nodes))


def _paren_pairs(source: str) -> dict[int, int]:
    """Each parenthesis outside quotes and its partner, both ways."""
    pairs: dict[int, int] = {}
    opened: list[int] = []
    i = 0
    while i < len(source):
        c = source[i]
        if c in "'\"":                          # a quoted literal: its parentheses are text
            j = i + 1
            while j < len(source) and source[j] != c:
                j += 2 if source[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            opened.append(i)
        elif c == ")" and opened:
            o = opened.pop()
            pairs[o], pairs[i] = i, o
        i += 1
    return pairs


def _balanced(span: Span, pairs: dict[int, int]) -> Span:
    """``span`` widened until every parenthesis in it has its partner in it."""
    start, end = span.start, span.end
    for at in range(span.start, span.end):
        partner = pairs.get(at)
        if partner is not None:
            start, end = min(start, partner), max(end, partner + 1)
    return Span(start, end)
