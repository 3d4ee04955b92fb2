"""What one leaf means on one value (SPEC 1.5), written once.

The reference evaluator applies it per instance; ``simplify`` applies it to the values that
tell a leaf's cases apart (absent, value-less, each literal, any other value) to find
contradictions; ``bind`` applies it once per dictionary entry to build the lookup tables the
kernels gather from. A leaf on an absent value is false except ``!exists``;
a value-less attribute exists but every value comparison on it, negative ones included, is false.
"""
from __future__ import annotations

from collections.abc import Callable

from placement.lang import ir, trees
from placement.lang.ir import Kind
from placement.lang.patterns import full_match
from placement.values import ABSENT, VALUELESS, parse_number

_ORDER = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
          "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def combine(expr: ir.Expr, leaf_value: Callable[[ir.Leaf], bool]) -> bool:
    """``expr`` as plain boolean logic over ``leaf_value`` of each leaf (every leaf is read)."""
    def value(node: ir.Expr, operands: list[bool]) -> bool:
        if isinstance(node, ir.And):
            return all(operands)
        if isinstance(node, ir.Or):
            return any(operands)
        if isinstance(node, ir.Not):
            return not operands[0]
        if isinstance(node, ir.Const):
            return node.value
        return leaf_value(node)
    return trees.fold(expr, value)


def leaf_holds(leaf: ir.Leaf, value) -> bool:
    """One leaf on one value: a typed value, ``ABSENT``, ``VALUELESS`` or (task:group) a set."""
    if leaf.field.kind is Kind.TASK_GROUP:
        return _holds_on_groups(leaf, value)
    if isinstance(leaf, ir.Exists):
        return (value is not ABSENT) == leaf.present
    if value is ABSENT or value is VALUELESS:
        return False
    if isinstance(leaf, ir.OneOf):
        return (value in leaf.values) != leaf.negated
    if isinstance(leaf, ir.Match):
        return full_match(leaf.pattern, _as_text(value)) != leaf.negated
    if leaf.field.kind is Kind.ATTRIBUTE:          # ordering on attributes is numeric
        value = parse_number(value)
        if value is None:
            return False
    return _ORDER[leaf.op](value, leaf.value)


def _as_text(value) -> str:
    """What a pattern sees: agentConnected is matched against ``true`` / ``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _holds_on_groups(leaf: ir.Leaf, groups: frozenset[str]) -> bool:
    """``task:group`` is a set: positive leaves ask for some group, negative ones for a non-empty
    set with no such group (the absent rule applied to an instance without tasks)."""
    if isinstance(leaf, ir.Exists):
        return bool(groups) == leaf.present
    if not groups:
        return False
    if isinstance(leaf, ir.OneOf):
        hit = not groups.isdisjoint(leaf.values)
    else:
        hit = any(full_match(leaf.pattern, group) for group in groups)
    return hit != leaf.negated
