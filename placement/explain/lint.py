"""Lint: findings about a valid expression that is probably not what its author meant (SPEC 1.6).

Without a fleet only the text can be judged (glob-like patterns, ``== true`` on a capability);
with one, literals are compared with the values the fleet really has.
"""
from __future__ import annotations

from collections.abc import Iterator

from placement.errors import Problem
from placement.fleet.model import Fleet
from placement.lang import ir
from placement.lang.ir import Kind
from placement.lang.patterns import glob_reading
from placement.lang.simplify import simplify


def leaves(expr: ir.Expr) -> Iterator[ir.Leaf]:
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ir.And, ir.Or)):
            stack.extend(reversed(node.operands))
        elif isinstance(node, ir.Not):
            stack.append(node.operand)
        else:
            yield node


def lint(predicate, fleet: Fleet | None = None) -> list[Problem]:
    problems: list[Problem] = list(_constant_findings(predicate.ir))
    for leaf in leaves(predicate.ir):
        problems.extend(_text_findings(leaf))
        if fleet is not None:
            problems.extend(_fleet_findings(leaf, fleet))
    return problems


def _constant_findings(expr: ir.Expr) -> Iterator[Problem]:
    """Parts of the expression the optimiser decides without looking at an instance: the
    outermost ones only (a contradiction inside a contradiction is one finding)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        verdict = simplify(node)
        if isinstance(verdict, ir.Const):
            what = "true on every instance (a tautology)" if verdict.value else \
                "false on every instance (a contradiction)"
            yield Problem(f"{ir.to_text(node)} is {what}", node.span, code="tautology" if verdict.value
                          else "contradiction")
        elif isinstance(node, (ir.And, ir.Or)):
            stack.extend(reversed(node.operands))
        elif isinstance(node, ir.Not):
            stack.append(node.operand)


def _is_capability(field: ir.Field) -> bool:
    return field.kind is Kind.ATTRIBUTE and ".capability." in f".{field.name}"


def _text_findings(leaf: ir.Leaf) -> Iterator[Problem]:
    if isinstance(leaf, ir.Match):
        reading = glob_reading(leaf.pattern)
        if reading:
            yield Problem(reading, leaf.span, code="glob-pattern")
    if isinstance(leaf, ir.OneOf) and _is_capability(leaf.field) and "true" in leaf.values:
        yield Problem(f"{leaf.field} is a capability attribute, which usually has no value, so comparing "
                      f"it with true is false on every instance", leaf.span,
                      hint=f"write '{leaf.field} exists'", code="capability-equals-true")


def _fleet_values(field: ir.Field, fleet: Fleet) -> tuple[set[str], int, int]:
    """(distinct string values, instances lacking the field, instances where it is value-less)."""
    seen: set[str] = set()
    absent = valueless = 0
    for instance in fleet:
        if field.kind is Kind.ATTRIBUTE:
            if field.name not in instance.attributes:
                absent += 1
            elif instance.attributes[field.name] is None:
                valueless += 1
            else:
                seen.add(instance.attributes[field.name])
        elif field.kind is Kind.TASK_GROUP:
            seen.update(instance.task_groups)
        elif field.kind is Kind.INSTANCE_ID and instance.ec2_instance_id is not None:
            seen.add(instance.ec2_instance_id)
    return seen, absent, valueless


def _fleet_findings(leaf: ir.Leaf, fleet: Fleet) -> Iterator[Problem]:
    if leaf.field.kind not in (Kind.ATTRIBUTE, Kind.TASK_GROUP, Kind.INSTANCE_ID):
        return
    seen, absent, valueless = _fleet_values(leaf.field, fleet)
    if isinstance(leaf, ir.OneOf):
        folded: dict[str, list[str]] = {}
        for value in seen:
            folded.setdefault(value.casefold(), []).append(value)
        for literal in sorted(leaf.values):
            if literal not in seen and literal.casefold() in folded:
                others = ", ".join(repr(v) for v in sorted(folded[literal.casefold()]))
                yield Problem(f"{literal!r} matches no {leaf.field} value in the fleet, but {others} does "
                              f"(comparison is case-sensitive)", leaf.span, code="case-mismatch")
        if valueless and "true" in leaf.values:
            yield Problem(f"{leaf.field} has no value on {valueless} instances, so == true is false there",
                          leaf.span, hint=f"write '{leaf.field} exists'", code="valueless-equals")
    negative = isinstance(leaf, (ir.OneOf, ir.Match)) and leaf.negated
    if negative and leaf.field.kind is Kind.ATTRIBUTE and absent:
        op = "!~" if isinstance(leaf, ir.Match) else "!= / !in"
        positive = "=~" if isinstance(leaf, ir.Match) else "=="
        yield Problem(f"{absent} of {len(fleet)} instances lack {leaf.field}; {op} is false on them",
                      leaf.span, hint=f"to select them too, write not({leaf.field} {positive} ...)",
                      code="negation-skips-absent")
