"""The reference evaluator: IR x Fleet -> mask, one instance and one node at a time, in plain
Python. Slow on purpose and written to be obviously right: it is the oracle every fast path is
tested against, and never a silent fallback. Leaf meaning is ``placement.lang.semantics``.
"""
from __future__ import annotations

import numpy as np

from placement.fleet.model import Fleet, Instance
from placement.lang import ir
from placement.lang.ir import Kind
from placement.lang.semantics import combine, leaf_holds
from placement.values import ABSENT, VALUELESS


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


def holds(expr: ir.Expr, instance: Instance) -> bool:
    """The value of ``expr`` on one instance."""
    return combine(expr, lambda leaf: leaf_holds(leaf, value_of(leaf.field, instance)))
