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
from placement.lang import ir, trees
from placement.lang.ir import Field, Kind
from placement.lang.simplify import reads_of, scalar, simplify


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


@dataclass(frozen=True, eq=False, repr=False)
class All(trees.Compound):
    CHILDREN = "operands"
    operands: tuple["Node", ...]


@dataclass(frozen=True, eq=False, repr=False)
class Any(trees.Compound):
    CHILDREN = "operands"
    operands: tuple["Node", ...]


Node = Const | ColumnTest | GroupTest | All | Any


@dataclass(frozen=True)
class Plan:
    root: Node
    text: str                        # the simplified expression

    def explain(self) -> str:
        """The plan as an indented listing, one line per node."""
        lines = [f"plan: {self.text}"]
        levels: list[int] = []
        for node, parent in trees.preorder(self.root):
            levels.append(1 if parent is None else levels[parent] + 1)
            lines.append("  " * levels[-1] + _describe(node))
        return "\n".join(lines)


def _describe(node: Node) -> str:
    if isinstance(node, Const):
        return f"const {'true' if node.value else 'false'}"
    if isinstance(node, ColumnTest):
        return f"column {node.field}: {ir.to_text(node.expr)}"
    if isinstance(node, GroupTest):
        text = ir.to_text(node.leaf)
        return f"groups {'not(' + text + ')' if node.invert else text}"
    return f"{'all' if isinstance(node, All) else 'any'}  (stops when a block is decided)"


def to_plan(expr: ir.Expr) -> Node:
    """Bottom-up, carrying what each subtree reads: a subtree on one scalar field becomes one
    ``ColumnTest`` (what its operands became is dropped)."""
    def build(node: ir.Expr, operands: list[tuple]) -> tuple:
        read = reads_of(node, [r for r, _ in operands])
        field = scalar(read)
        if isinstance(node, ir.Const):
            return read, Const(node.value)
        if field is not None:
            return read, ColumnTest(field, node)
        if isinstance(node, ir.Not):             # after simplify, only over a leaf
            return read, GroupTest(node.operand, invert=True)
        if isinstance(node, (ir.And, ir.Or)):
            kids = tuple(p for _, p in operands)
            return read, All(kids) if isinstance(node, ir.And) else Any(kids)
        return read, GroupTest(node)
    return trees.fold(expr, build)[1]


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
    """The trace plan of a *checked* (unsimplified) expression whose spans point into ``source``."""
    pairs = _paren_pairs(source)
    order = list(trees.preorder(expr))
    kids: list[list[int]] = [[] for _ in order]
    for position, (_, parent) in enumerate(order):
        if parent is not None:
            kids[parent].append(position)
    written = [node.span if node.span is not None else Span(0, len(source)) for node, _ in order]
    balanced: list[Span | None] = [None] * len(order)
    for position in reversed(range(len(order))):         # children before their parent
        inner = [(written[k], balanced[k]) for k in kids[position]]
        balanced[position] = _balanced(written[position], inner, pairs)
    nodes = []
    for position, (node, _) in enumerate(order):
        if isinstance(node, ir.Not):
            kind, test = "not", None
        elif isinstance(node, (ir.And, ir.Or)):
            kind, test = ("and" if isinstance(node, ir.And) else "or"), None
        else:
            kind = "simple"
            test = (Const(node.value) if isinstance(node, ir.Const) else GroupTest(node)
                    if node.field.kind is Kind.TASK_GROUP else ColumnTest(node.field, node))
        nodes.append(TraceNode(position, kind, balanced[position], node, tuple(kids[position]), test))
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


def _balanced(span: Span, inner: list[tuple[Span, Span]], pairs: dict[int, int]) -> Span:
    """``span`` widened to the partner of every parenthesis in it. ``inner`` holds the spans of
    the node's children, as written and widened: their parentheses are already accounted for, so
    only the text between them is read, and each character of the source is read once per tree."""
    start, end = span.start, span.end

    def widen(first: int, stop: int) -> None:
        nonlocal start, end
        for at in range(first, stop):
            partner = pairs.get(at)
            if partner is not None:
                start, end = min(start, partner), max(end, partner + 1)

    at = span.start
    for written, widened in inner:
        widen(at, written.start)
        start, end = min(start, widened.start), max(end, widened.end)
        at = max(at, written.end)
    widen(at, span.end)
    return Span(start, end)
