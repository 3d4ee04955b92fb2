"""The reference evaluator: IR x Fleet -> mask, one instance and one node at a time, in plain
Python. Slow on purpose and written to be obviously right: it is the oracle every fast path is
tested against, and never a silent fallback.

SPEC 1.5 in one place: a leaf on an absent value is false (except ``!exists``); a value-less
attribute exists but every value comparison on it, negative ones included, is false.
"""
from __future__ import annotations

import numpy as np

from placement.fleet.model import Fleet, Instance
from placement.lang import ir
from placement.lang.ir import Kind
from placement.lang.patterns import full_match
from placement.values import parse_number

ABSENT = object()       # the instance has no such value
VALUELESS = object()    # the attribute is present without a value (ecs.capability.*)


def evaluate(expr: ir.Expr, fleet: Fleet) -> np.ndarray:
    return np.fromiter((holds(expr, instance) for instance in fleet), dtype=bool, count=len(fleet))


def value_of(field: ir.Field, instance: Instance):
    """The instance's value for ``field``: a typed value, ``ABSENT`` or ``VALUELESS``."""
    kind = field.kind
    if kind is Kind.ATTRIBUTE:
        if field.name not in instance.attributes:
            return ABSENT
        value = instance.attributes[field.name]
        return VALUELESS if value is None else value
    if kind is Kind.TASK_GROUP:
        return frozenset(group for group, n in instance.task_groups.items() if n > 0)
    value = {
        Kind.INSTANCE_ID: instance.ec2_instance_id,
        Kind.AGENT_CONNECTED: instance.agent_connected,
        Kind.AGENT_VERSION: instance.agent_version,
        Kind.REGISTERED_AT: instance.registered_at,
        Kind.RUNNING_TASKS: instance.running_tasks_count,
    }[kind]
    return ABSENT if value is None else value


def _as_text(value) -> str:
    """What a pattern sees: agentConnected is matched against ``true`` / ``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


_ORDER = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
          "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def holds(expr: ir.Expr, instance: Instance) -> bool:
    if isinstance(expr, ir.And):
        return all(holds(o, instance) for o in expr.operands)
    if isinstance(expr, ir.Or):
        return any(holds(o, instance) for o in expr.operands)
    if isinstance(expr, ir.Not):
        return not holds(expr.operand, instance)

    value = value_of(expr.field, instance)
    if expr.field.kind is Kind.TASK_GROUP:
        return _holds_on_groups(expr, value)
    if isinstance(expr, ir.Exists):
        return (value is not ABSENT) == expr.present
    if value is ABSENT or value is VALUELESS:
        return False
    if isinstance(expr, ir.OneOf):
        return (value in expr.values) != expr.negated
    if isinstance(expr, ir.Match):
        return full_match(expr.pattern, _as_text(value)) != expr.negated
    if expr.field.kind is Kind.ATTRIBUTE:          # ordering on attributes is numeric
        value = parse_number(value)
        if value is None:
            return False
    return _ORDER[expr.op](value, expr.value)


def _holds_on_groups(expr: ir.Leaf, groups: frozenset[str]) -> bool:
    """``task:group`` is a set: positive leaves ask for some group, negative ones for a non-empty
    set with no such group (the absent rule applied to an instance without tasks)."""
    if isinstance(expr, ir.Exists):
        return bool(groups) == expr.present
    if not groups:
        return False
    if isinstance(expr, ir.OneOf):
        hit = not groups.isdisjoint(expr.values)
    else:
        hit = any(full_match(expr.pattern, group) for group in groups)
    return hit != expr.negated
