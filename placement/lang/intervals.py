"""Numeric subjects as sets of int64 keys: exact algebra for ``simplify`` and ``bind``.

``agentVersion`` (packed), ``registeredAt`` (microseconds) and ``runningTasksCount`` compare as
int64 keys, with ``INT_ABSENT`` standing for "no value". A subtree over one such field denotes
a set of keys, kept as sorted, disjoint, inclusive ``(lo, hi)`` intervals; ``not`` complements
over the whole int64 range, so ``not(agentVersion == 1)`` contains the absent key while
``agentVersion != 1`` does not (the absent rule, exactly).
"""
from __future__ import annotations

from placement.lang import ir
from placement.lang.ir import Kind
from placement.values import INT_ABSENT, INT_MAX, clamp_int64, pack_version

Intervals = tuple[tuple[int, int], ...]

NUMERIC_KINDS = frozenset({Kind.AGENT_VERSION, Kind.REGISTERED_AT, Kind.RUNNING_TASKS})
EVERYTHING: Intervals = ((INT_ABSENT, INT_MAX),)
PRESENT: Intervals = ((INT_ABSENT + 1, INT_MAX),)


def key(field: ir.Field, value) -> int:
    if field.kind is Kind.AGENT_VERSION:
        return pack_version(value)
    return clamp_int64(value)


def domain(field: ir.Field) -> Intervals:
    """The keys an instance can have: a task count is never absent nor negative."""
    return ((0, INT_MAX),) if field.kind is Kind.RUNNING_TASKS else EVERYTHING


def union(a: Intervals, b: Intervals) -> Intervals:
    merged: list[list[int]] = []
    for lo, hi in sorted(a + b):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def complement(a: Intervals) -> Intervals:
    out, start = [], INT_ABSENT
    for lo, hi in a:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= INT_MAX:
        out.append((start, INT_MAX))
    return tuple(out)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    return complement(union(complement(a), complement(b)))


def of(expr: ir.Expr) -> Intervals:
    """The keys where ``expr`` (over one numeric field) is true."""
    if isinstance(expr, ir.Const):
        return EVERYTHING if expr.value else ()
    if isinstance(expr, ir.Not):
        return complement(of(expr.operand))
    if isinstance(expr, (ir.And, ir.Or)):
        parts = [of(o) for o in expr.operands]
        result = parts[0]
        for part in parts[1:]:
            result = intersect(result, part) if isinstance(expr, ir.And) else union(result, part)
        return result
    if isinstance(expr, ir.OneOf):
        points = union((), tuple((k, k) for k in (key(expr.field, v) for v in expr.values)))
        return intersect(PRESENT, complement(points)) if expr.negated else points
    v = key(expr.field, expr.value)
    bound = {">": (v + 1, INT_MAX), ">=": (v, INT_MAX),
             "<": (INT_ABSENT + 1, v - 1), "<=": (INT_ABSENT + 1, v)}[expr.op]
    return (bound,) if bound[0] <= bound[1] else ()
