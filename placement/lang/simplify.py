"""Stage ``simplify``: ``ir.Expr`` -> an equivalent, cheaper ``ir.Expr``. Passes, in order:

1. ``push_negations``: De Morgan and double negation down to the leaves; ``not(a exists)``
   becomes ``a !exists``. A negated comparison stays ``not(a == x)``: it is *not* ``a != x``,
   the two differ exactly where ``a`` is absent or value-less (the absent rule).
2. ``flatten``: nested and/or of the same kind become one node.
3. ``fold``: drops duplicate operands, gathers the operands of an and/or that read the same
   single field into one subtree (one lookup table at bind time), decides subtrees that are
   constant (contradictions and tautologies, exact for numeric fields and for string fields
   compared without patterns), folds constants, and orders operands cheapest first.
"""
from __future__ import annotations

from placement.lang import intervals, ir
from placement.lang.ir import Field, Kind
from placement.lang.semantics import holds_on_value
from placement.values import ABSENT, VALUELESS


def simplify(expr: ir.Expr) -> ir.Expr:
    return fold(flatten(push_negations(expr)))


def push_negations(expr: ir.Expr, negate: bool = False) -> ir.Expr:
    if isinstance(expr, ir.Not):
        return push_negations(expr.operand, not negate)
    if isinstance(expr, (ir.And, ir.Or)):
        kind = type(expr) if not negate else (ir.Or if isinstance(expr, ir.And) else ir.And)
        return kind(tuple(push_negations(o, negate) for o in expr.operands), expr.span)
    if not negate:
        return expr
    if isinstance(expr, ir.Const):
        return ir.Const(not expr.value, expr.span)
    if isinstance(expr, ir.Exists):     # exists / !exists are total: their negation is exact
        return ir.Exists(expr.field, not expr.present, expr.span)
    return ir.Not(expr, expr.span)


def flatten(expr: ir.Expr) -> ir.Expr:
    if not isinstance(expr, (ir.And, ir.Or)):
        return expr
    operands: list[ir.Expr] = []
    for operand in (flatten(o) for o in expr.operands):
        operands.extend(operand.operands if type(operand) is type(expr) else (operand,))
    return type(expr)(tuple(operands), expr.span)


def fields(expr: ir.Expr) -> frozenset[Field]:
    if isinstance(expr, ir.Not):
        return fields(expr.operand)
    if isinstance(expr, (ir.And, ir.Or)):
        return frozenset().union(*(fields(o) for o in expr.operands))
    if isinstance(expr, ir.Const):
        return frozenset()
    return frozenset({expr.field})


def single_field(expr: ir.Expr) -> Field | None:
    """The one scalar field ``expr`` reads, if it reads exactly one (task:group is a set)."""
    found = fields(expr)
    if len(found) == 1:
        (field,) = found
        if field.kind is not Kind.TASK_GROUP:
            return field
    return None


def decide(expr: ir.Expr) -> bool | None:
    """True / False when ``expr`` (over one scalar field) is the same on every instance."""
    field = single_field(expr)
    if field is None:
        return None
    if field.kind in intervals.NUMERIC_KINDS:
        keys = intervals.intersect(intervals.of(expr), intervals.domain(field))
        return False if not keys else True if keys == intervals.domain(field) else None
    if _has(expr, (ir.Match, ir.Order)):
        return None        # patterns and numeric readings of strings: no finite witness set
    # Only equality and presence: absent, value-less, each literal, and one value unlike any
    # literal are all the cases there are.
    literals = {v for leaf in _leaves(expr) if isinstance(leaf, ir.OneOf) for v in leaf.values}
    witnesses = [ABSENT, VALUELESS, *literals, _Other()]
    if field.kind is Kind.AGENT_CONNECTED:
        witnesses = [ABSENT, True, False]
    results = {holds_on_value(expr, w) for w in witnesses}
    return results.pop() if len(results) == 1 else None


class _Other(str):
    """A string equal to no literal (compares unequal to everything but itself)."""

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__


def _leaves(expr: ir.Expr):
    if isinstance(expr, ir.Not):
        yield from _leaves(expr.operand)
    elif isinstance(expr, (ir.And, ir.Or)):
        for o in expr.operands:
            yield from _leaves(o)
    elif not isinstance(expr, ir.Const):
        yield expr


def _has(expr: ir.Expr, kinds) -> bool:
    return any(isinstance(leaf, kinds) for leaf in _leaves(expr))


def cost(expr: ir.Expr) -> int:
    """A rough per-row cost: numeric ranges < dictionary lookups < task:group sets."""
    if isinstance(expr, ir.Const):
        return 0
    field = single_field(expr)
    if field is not None:
        return 1 if field.kind in intervals.NUMERIC_KINDS else 2
    if isinstance(expr, ir.Not):
        return cost(expr.operand)
    if isinstance(expr, (ir.And, ir.Or)):
        return sum(cost(o) for o in expr.operands)
    return 6                     # a task:group leaf walks the instance's groups


def fold(expr: ir.Expr) -> ir.Expr:
    if isinstance(expr, (ir.And, ir.Or)):
        return _fold_junction(expr)
    verdict = decide(expr) if not isinstance(expr, ir.Const) else None
    return ir.Const(verdict, expr.span) if verdict is not None else expr


def _fold_junction(expr: ir.And | ir.Or) -> ir.Expr:
    kind, absorbing = type(expr), isinstance(expr, ir.Or)       # and: False absorbs; or: True
    operands: list[ir.Expr] = []
    for operand in (fold(o) for o in expr.operands):
        if isinstance(operand, ir.Const):
            if operand.value == absorbing:
                return ir.Const(absorbing, expr.span)
            continue                                            # the neutral element
        if operand not in operands:
            operands.append(operand)
    by_field: dict[Field, list[ir.Expr]] = {}
    others: list[ir.Expr] = []
    for operand in operands:
        field = single_field(operand)
        (by_field.setdefault(field, []) if field is not None else others).append(operand)
    merged: list[ir.Expr] = []
    for group in by_field.values():
        node = group[0] if len(group) == 1 else kind(tuple(group), expr.span)
        verdict = decide(node)
        if verdict is None:
            merged.append(node)
        elif verdict == absorbing:
            return ir.Const(absorbing, expr.span)
    merged.extend(others)
    if not merged:
        return ir.Const(not absorbing, expr.span)
    if len(merged) == 1:
        return merged[0]
    return kind(tuple(sorted(merged, key=cost)), expr.span)
