"""Numeric subjects as sets of int64 keys: exact algebra for ``simplify`` and ``bind``.

``agentVersion`` (``values.pack_version``: a literal that no fleet can hold gets a key between
those of the versions around it), ``registeredAt`` (microseconds) and ``runningTasksCount``
compare as int64 keys, with ``INT_ABSENT`` standing for "no value". A subtree over one such
field denotes a set of keys, kept as sorted, disjoint inclusive runs; ``not`` complements over
the whole int64 range, so ``not(agentVersion == 1)`` contains the absent key while
``agentVersion != 1`` does not (the absent rule, exactly).

``Keys`` is mutable so that and / or can join in place: the largest operand's set is kept and
the runs of the others are bisected into it. Over a deep tree each run is then moved only
O(log n) times, where rebuilding every node's set from its operands' would cost n^2.
"""
from __future__ import annotations

import bisect

from placement.lang import ir, trees
from placement.lang.ir import Kind
from placement.values import INT_ABSENT, INT_MAX, clamp_int64, pack_version

Intervals = tuple[tuple[int, int], ...]

NUMERIC_KINDS = frozenset({Kind.AGENT_VERSION, Kind.REGISTERED_AT, Kind.RUNNING_TASKS})
EVERYTHING: Intervals = ((INT_ABSENT, INT_MAX),)


def key(field: ir.Field, value) -> int:
    if field.kind is Kind.AGENT_VERSION:
        return pack_version(value)
    return clamp_int64(value)


def domain_start(field: ir.Field) -> int:
    """The smallest key an instance can have (up to ``INT_MAX``): a task count is never absent
    nor negative."""
    return 0 if field.kind is Kind.RUNNING_TASKS else INT_ABSENT


class Keys:
    """A set of keys as sorted, disjoint runs ``[lows[i], highs[i]]`` that never touch."""

    __slots__ = ("lows", "highs")

    def __init__(self, runs=()):
        self.lows = [lo for lo, _ in runs]
        self.highs = [hi for _, hi in runs]

    def __len__(self) -> int:
        return len(self.lows)

    @property
    def runs(self) -> Intervals:
        return tuple(zip(self.lows, self.highs))

    def add(self, lo: int, hi: int) -> None:
        """Union with ``[lo, hi]``, in place."""
        first = bisect.bisect_left(self.highs, lo - 1)        # the first run that reaches lo - 1
        last = bisect.bisect_right(self.lows, hi + 1)         # past the last run that starts by hi + 1
        if first < last:
            lo, hi = min(lo, self.lows[first]), max(hi, self.highs[last - 1])
        self.lows[first:last] = [lo]
        self.highs[first:last] = [hi]

    def remove(self, lo: int, hi: int) -> None:
        """Difference with ``[lo, hi]``, in place."""
        first = bisect.bisect_left(self.highs, lo)
        last = bisect.bisect_right(self.lows, hi)
        if first >= last:
            return
        lows, highs = [], []
        if self.lows[first] < lo:
            lows.append(self.lows[first])
            highs.append(lo - 1)
        if self.highs[last - 1] > hi:
            lows.append(hi + 1)
            highs.append(self.highs[last - 1])
        self.lows[first:last] = lows
        self.highs[first:last] = highs

    def complement(self) -> "Keys":
        return Keys(complement(self.runs))

    def decided(self, field: ir.Field) -> bool | None:
        """False when no key an instance of ``field`` can have is in the set, True when all are."""
        start = domain_start(field)
        if not self.lows or self.highs[-1] < start:
            return False
        if self.lows[-1] <= start and self.highs[-1] == INT_MAX:
            return True
        return None


def join(conjunction: bool, parts: list[Keys]) -> Keys:
    """The intersection (``conjunction``) or union of ``parts``; the largest part is reused."""
    base = max(parts, key=len)
    for part in parts:
        if part is base:
            continue
        if conjunction:
            for lo, hi in complement(part.runs):
                base.remove(lo, hi)
        else:
            for lo, hi in part.runs:
                base.add(lo, hi)
    return base


def complement(runs: Intervals) -> Intervals:
    out, start = [], INT_ABSENT
    for lo, hi in runs:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= INT_MAX:
        out.append((start, INT_MAX))
    return tuple(out)


def of_leaf(leaf: ir.Leaf) -> Keys:
    """The keys where one leaf (``==``, ``in``, ``!=``, ``!in``, an ordering) is true."""
    if isinstance(leaf, ir.OneOf):
        points = sorted({key(leaf.field, v) for v in leaf.values})
        keys = Keys()
        for point in points:
            keys.add(point, point)
        if leaf.negated:
            keys = keys.complement()
            keys.remove(INT_ABSENT, INT_ABSENT)
        return keys
    v = key(leaf.field, leaf.value)
    lo, hi = {">": (v + 1, INT_MAX), ">=": (v, INT_MAX),
              "<": (INT_ABSENT + 1, v - 1), "<=": (INT_ABSENT + 1, v)}[leaf.op]
    return Keys([(lo, hi)] if lo <= hi else [])


def of(expr: ir.Expr) -> Intervals:
    """The keys where ``expr`` (over one numeric field) is true."""
    def keys(node: ir.Expr, operands: list[Keys]) -> Keys:
        if isinstance(node, ir.Const):
            return Keys(EVERYTHING if node.value else ())
        if isinstance(node, ir.Not):
            return operands[0].complement()
        if isinstance(node, (ir.And, ir.Or)):
            return join(isinstance(node, ir.And), operands)
        return of_leaf(node)
    return trees.fold(expr, keys).runs
