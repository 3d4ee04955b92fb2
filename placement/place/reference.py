"""The reference placer: SPEC section 2, one task and one instance at a time, in plain Python.

Slow on purpose and written to be obviously right; the fast placer must equal it task by task.
For each task: keep the eligible instances that fit and satisfy every constraint, then apply the
strategies in order, each keeping only the instances best under it, then break remaining ties by
fleet position (or a seeded draw); place, update the state, repeat.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np

from placement.engine.reference import holds
from placement.fleet.model import Fleet, Instance, Resources
from placement.lang import ast
from placement.place.result import PlacementResult, SplitMix64
from placement.place.strategies import Binpack, Demand, DistinctInstance, MemberOf, Random, Spread


class _State:
    """One instance as placement changes it."""

    def __init__(self, instance: Instance):
        self.record = instance
        self.cpu, self.memory, self.gpu = (instance.remaining.cpu, instance.remaining.memory,
                                           instance.remaining.gpu)
        self.ports = set(instance.remaining.ports)
        self.running = instance.running_tasks_count
        self.groups = Counter({g: n for g, n in instance.task_groups.items() if n > 0})

    def current(self) -> Instance:
        """The instance as constraints must see it now: placed tasks counted."""
        return replace(self.record, running_tasks_count=self.running, task_groups=dict(self.groups),
                       remaining=Resources(self.cpu, self.memory, self.gpu, frozenset(self.ports)))

    def place(self, demand: Demand, group: str) -> None:
        self.cpu -= demand.cpu
        self.memory -= demand.memory
        self.gpu -= demand.gpu
        self.ports.update(demand.ports)
        self.running += 1
        self.groups[group] += 1


def eligible(instance: Instance) -> bool:
    return instance.status == "ACTIVE" and instance.agent_connected is True


def spread_value(instance: Instance, strategy: Spread):
    """The bucket of ``instance`` under ``strategy``: absent and value-less are buckets of their own."""
    if strategy.per_instance:
        return ("instance", instance.arn)
    if strategy.attribute not in instance.attributes:
        return ("absent",)
    value = instance.attributes[strategy.attribute]
    return ("valueless",) if value is None else ("value", value)


def place_reference(fleet: Fleet, demand: Demand, count: int, group: str, constraints, strategies,
                    seed: int = 0, random_ties: bool = False) -> PlacementResult:
    states = [_State(instance) for instance in fleet]
    rng = SplitMix64(seed)
    chosen_rows: list[int] = []
    arns = tuple(fleet.arns)
    for task in range(count):
        candidates = [i for i, s in enumerate(states) if _admits(s, demand, group, constraints)]
        if not candidates:
            return PlacementResult(np.array(chosen_rows, dtype=np.int64), arns, count - task,
                                   _reasons(states, demand, group, constraints), seed)
        tied = candidates
        for strategy in strategies:
            if len(tied) == 1:
                break
            if isinstance(strategy, Random):
                tied = [tied[rng.choose(len(tied))]]
                continue
            keys = {i: _key(strategy, i, states, group) for i in tied}
            best = min(keys.values())
            tied = [i for i in tied if keys[i] == best]
        chosen = tied[rng.choose(len(tied))] if random_ties and len(tied) > 1 else tied[0]
        states[chosen].place(demand, group)
        chosen_rows.append(chosen)
    return PlacementResult(np.array(chosen_rows, dtype=np.int64), arns, 0, {}, seed)


def _fits(state: _State, demand: Demand) -> list[str]:
    """The resources ``state`` lacks for ``demand``, in the order reasons report them."""
    lacking = [name for name in ("cpu", "memory", "gpu") if getattr(state, name) < getattr(demand, name)]
    if any(port in state.ports for port in demand.ports):
        lacking.append("ports")
    return lacking


def _admits(state: _State, demand: Demand, group: str, constraints) -> bool:
    if not eligible(state.record) or _fits(state, demand):
        return False
    return all(_satisfies(state, c, group) for c in constraints)


def _satisfies(state: _State, constraint, group: str) -> bool:
    if isinstance(constraint, DistinctInstance):
        return state.groups[group] == 0
    return holds(constraint.predicate.ir, state.current())


def _key(strategy, i: int, states: list[_State], group: str) -> int:
    if isinstance(strategy, Binpack):
        return states[i].cpu if strategy.resource == "cpu" else states[i].memory
    bucket = spread_value(states[i].record, strategy)
    # every instance of the fleet counts toward its bucket, candidate or not (SPEC 2)
    return sum(s.groups[group] for s in states if spread_value(s.record, strategy) == bucket)


def _reasons(states: list[_State], demand: Demand, group: str, constraints) -> dict:
    """How many instances each step removed, each instance counted at the first step it failed;
    for a memberOf whose expression is an ``and``, how many of those each clause rejects."""
    reasons: dict = {"instances": len(states), "ineligible": 0, "cpu": 0, "memory": 0, "gpu": 0, "ports": 0,
                     "constraints": [{"constraint": str(c), "removed": 0} for c in constraints]}
    clauses = [and_clauses(c) for c in constraints]
    for entry, parts in zip(reasons["constraints"], clauses):
        if parts:
            entry["clauses"] = [{"clause": text, "false": 0} for text, _ in parts]
    for state in states:
        if not eligible(state.record):
            reasons["ineligible"] += 1
            continue
        lacking = _fits(state, demand)
        if lacking:
            reasons[lacking[0]] += 1
            continue
        for entry, constraint, parts in zip(reasons["constraints"], constraints, clauses):
            if not _satisfies(state, constraint, group):
                entry["removed"] += 1
                for item, (_, typed) in zip(entry.get("clauses", ()), parts):
                    item["false"] += not holds(typed, state.current())
                break
    return reasons


def and_clauses(constraint) -> list:
    """(text, typed clause) for each operand of a memberOf whose expression is an ``and``: the
    clauses whose failures reasons count (both placers)."""
    if not isinstance(constraint, MemberOf):
        return []
    predicate = constraint.predicate
    if not isinstance(predicate.tree, ast.And):
        return []
    return [(ast.to_text(node), typed) for node, typed in zip(predicate.tree.operands, predicate.ir.operands)]
