"""The reference placer and scale-in: SPEC sections 2 and 2b, one task and one instance at a time,
in plain Python.

Slow on purpose and written to be obviously right; the fast placer must equal it task by task.
Placing, for each task: keep the eligible instances that fit (resources, ports) and satisfy every
constraint, apply the strategies in order, each keeping only the instances best under it, then
break remaining ties by fleet position (or a seeded draw); place, update the state, repeat.
``random`` first in the chain draws among the instances that are eligible and satisfy the
constraints, and draws again, up to ``RANDOM_TRIES`` times, while the drawn one does not fit;
after that it draws among the fitting ones. Stopping mirrors the strategies (most first).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np

from placement.engine.reference import holds
from placement.fleet.model import Fleet, Instance, Resources
from placement.lang.ir import Kind
from placement.place.ports import DEFAULT_EPHEMERAL, MAX_RESERVED, RESERVED
from placement.place.reasons import (
    CLOSEST,
    closest_entry,
    constraint_detail,
    distinct_detail,
    eligible_detail,
    explanation,
    ports_detail,
    requirements,
    resource_detail,
    shortfall_fraction,
)
from placement.place.requests import (
    Binpack,
    Demand,
    DistinctInstance,
    Random,
    Spread,
    ecs_service_default,
)
from placement.place.result import PlacementResult, SplitMix64
from placement.values import ABSENT, VALUELESS

RANDOM_TRIES = 16


class _State:
    """One instance as placement changes it."""

    def __init__(self, instance: Instance, ephemeral: tuple[int, int]):
        self.record = instance
        self.cpu, self.memory, self.gpu = (instance.remaining.cpu, instance.remaining.memory,
                                           instance.remaining.gpu)
        self.ports = set(instance.remaining.ports)         # in use
        self.reserved = len(self.ports)                    # the instance's PORTS and static ports placed
        self.running = instance.running_tasks_count
        self.groups = Counter({g: n for g, n in instance.task_groups.items() if n > 0})
        self.low, self.high = ephemeral

    def current(self) -> Instance:
        """The instance as constraints must see it now: placed tasks counted."""
        return replace(self.record, running_tasks_count=self.running, task_groups=dict(self.groups),
                       remaining=Resources(self.cpu, self.memory, self.gpu, frozenset(self.ports)))

    def free_dynamic(self, demand: Demand) -> int:
        """Ports of the ephemeral range a dynamic port of this task could get here."""
        def counted(port):
            return self.low <= port <= self.high and port not in RESERVED
        size = self.high - self.low + 1 - sum(self.low <= p <= self.high for p in RESERVED)
        return size - sum(counted(p) for p in self.ports) - sum(counted(p) for p in demand.static_ports)

    def place(self, demand: Demand, group: str) -> list[int]:
        """Take what the task needs; the host port of each requested port, in request order."""
        self.cpu -= demand.cpu
        self.memory -= demand.memory
        self.gpu -= demand.gpu
        self.ports.update(demand.static_ports)
        self.reserved += len(demand.static_ports)
        host, port = [], self.low
        for wanted in demand.ports:
            if wanted:
                host.append(wanted)
                continue
            while port in RESERVED or port in self.ports:
                port += 1
            self.ports.add(port)
            host.append(port)
        self.running += 1
        self.groups[group] += 1
        return host


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
                    seed: int = 0, random_ties: bool = False,
                    ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL) -> PlacementResult:
    states = [_State(instance, ephemeral) for instance in fleet]
    rng = SplitMix64(seed)
    chosen_rows: list[int] = []
    host_ports: list[list[int]] = []
    arns = tuple(fleet.arns)

    def result(unplaced: int, reasons: dict) -> PlacementResult:
        ports = np.array(host_ports, dtype=np.int64).reshape(len(chosen_rows), len(demand.ports))
        return PlacementResult(np.array(chosen_rows, dtype=np.int64), arns, unplaced, reasons, seed, host_ports=ports)

    for task in range(count):
        allowed = [i for i, s in enumerate(states) if _allowed(s, group, constraints)]
        candidates = [i for i in allowed if not _lacks(states[i], demand)]
        if not candidates:
            return result(count - task, _reasons(states, demand, group, constraints, ephemeral))
        tied = candidates
        for position, strategy in enumerate(strategies):
            if len(tied) == 1:
                break
            if isinstance(strategy, Random):
                tied = [_draw_first(allowed, candidates, rng) if position == 0 else tied[rng.choose(len(tied))]]
                continue
            keys = {i: _key(strategy, i, states, group) for i in tied}
            best = min(keys.values())
            tied = [i for i in tied if keys[i] == best]
        chosen = tied[rng.choose(len(tied))] if random_ties and len(tied) > 1 else tied[0]
        host_ports.append(states[chosen].place(demand, group))
        chosen_rows.append(chosen)
    return result(0, {})


def explain_reference(fleet: Fleet, demand: Demand, group: str, constraints, closest: int = CLOSEST,
                      ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL) -> dict:
    """The explanation (``reasons``) for ``demand`` on the fleet as it is, nothing placed."""
    return _reasons([_State(instance, ephemeral) for instance in fleet], demand, group, constraints, ephemeral,
                    closest)


def _draw_first(allowed: list[int], candidates: list[int], rng: SplitMix64) -> int:
    """``random`` first: a draw among the allowed instances, again while it lands on one that does
    not fit (``RANDOM_TRIES`` draws), then a draw among the fitting ones."""
    if len(allowed) == 1:
        return allowed[0]
    fitting = set(candidates)
    for _ in range(RANDOM_TRIES):
        drawn = allowed[rng.choose(len(allowed))]
        if drawn in fitting:
            return drawn
    return candidates[rng.choose(len(candidates))] if len(candidates) > 1 else candidates[0]


def _lacks(state: _State, demand: Demand) -> list[str]:
    """What ``state`` lacks for ``demand``, in the order reasons report them."""
    lacking = [name for name in ("cpu", "memory", "gpu") if getattr(state, name) < getattr(demand, name)]
    static = demand.static_ports
    dynamic = len(demand.ports) - len(static)
    if any(port in state.ports for port in static) or (static and state.reserved + len(static) > MAX_RESERVED) \
            or (dynamic and state.free_dynamic(demand) < dynamic):
        lacking.append("ports")
    return lacking


def _allowed(state: _State, group: str, constraints) -> bool:
    """Eligible, and every constraint holds."""
    return eligible(state.record) and all(_satisfies(state, c, group) for c in constraints)


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


def _reasons(states: list[_State], demand: Demand, group: str, constraints,
             ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL, closest: int = CLOSEST) -> dict:
    """The explanation of an unplaced task (SPEC 2b; the keys as ``placement.place.reasons`` says),
    one instance and one requirement at a time: which requirements each instance fails; the first
    failed one removes it; the closest instances sorted by (failures, shortfall, position)."""
    rows = requirements(demand, constraints)
    removed, fails_alone = [0] * len(rows), [0] * len(rows)
    before: list[Counter] = [Counter() for _ in rows]
    absent = [0 if row.attribute is not None else None for row in rows]
    clause_false: dict[int, int] = {}
    ranked = []
    for position, state in enumerate(states):
        failing = [j for j, row in enumerate(rows) if _fails(state, row, demand, group)]
        leaves = [j for j in failing if rows[j].leaf]
        for j in failing:
            fails_alone[j] += 1
        if not leaves:
            continue
        first = leaves[0]
        removed[first] += 1
        if rows[first].kind == "clause":
            parent = rows[first].of
            removed[parent] += 1
            for j in range(parent + 1, parent + rows[parent].clauses + 1):
                clause_false[j] = clause_false.get(j, 0) + (j in failing)
        for j in failing:
            if first < j:
                before[j][first] += 1
        if rows[first].attribute is not None and rows[first].attribute not in state.record.attributes:
            absent[first] += 1
        shortfall = 0.0
        for j in leaves:
            if rows[j].kind in ("cpu", "memory", "gpu"):
                shortfall += shortfall_fraction(rows[j].needs, getattr(state, rows[j].kind))
        shortfall += float(sum(rows[j].kind not in ("cpu", "memory", "gpu") for j in leaves))
        ranked.append((len(leaves), shortfall, position, leaves))
    ranked.sort(key=lambda item: item[:3])
    near = [closest_entry(states[position].record.arn, position, shortfall,
                          [(j, _detail(states[position], rows[j], demand, group, ephemeral)) for j in leaves], rows)
            for _, shortfall, position, leaves in ranked[:closest]]
    reasons = explanation(rows, removed, fails_alone, [dict(b) for b in before], absent, len(states),
                          len(states) - len(ranked), near)
    entries = iter(reasons["constraints"])
    for p, row in enumerate(rows):
        if row.kind in ("memberOf", "distinctInstance"):
            entry = next(entries)
            if row.clauses:
                entry["clauses"] = [{"clause": rows[j].text, "false": clause_false.get(j, 0)}
                                    for j in range(p + 1, p + row.clauses + 1)]
    return reasons


def _fails(state: _State, row, demand: Demand, group: str) -> bool:
    """Whether the instance fails requirement ``row`` on its own."""
    if row.kind == "eligible":
        return not eligible(state.record)
    if row.kind in ("cpu", "memory", "gpu"):
        return getattr(state, row.kind) < row.needs
    if row.kind == "ports":
        return "ports" in _lacks(state, demand)
    if row.kind == "distinctInstance":
        return not _satisfies(state, row.constraint, group)
    return not holds(row.expr, state.current())


def _detail(state: _State, row, demand: Demand, group: str, ephemeral: tuple[int, int]) -> str:
    """What the instance lacks for requirement ``row``, in words."""
    record = state.record
    if row.kind == "eligible":
        return eligible_detail(record.status, record.agent_connected)
    if row.kind in ("cpu", "memory", "gpu"):
        return resource_detail(row.kind, row.needs, getattr(state, row.kind))
    if row.kind == "ports":
        static = demand.static_ports
        dynamic = len(demand.ports) - len(static)
        in_use = [p for p in static if p in state.ports]
        short = bool(dynamic) and state.free_dynamic(demand) < dynamic
        over = bool(static) and state.reserved + len(static) > MAX_RESERVED and not in_use and not short
        return ports_detail(in_use, over, dynamic, short, ephemeral)
    if row.kind == "distinctInstance":
        return distinct_detail(state.groups[group], group)
    values = []
    for field in row.fields:
        if field.kind is Kind.ATTRIBUTE:
            value = record.attributes.get(field.name, ABSENT)
            values.append((field, VALUELESS if value is None else value))
        elif field.kind is Kind.INSTANCE_ID:
            values.append((field, ABSENT if record.ec2_instance_id is None else record.ec2_instance_id))
        elif field.kind is Kind.RUNNING_TASKS:
            values.append((field, state.running))
    return constraint_detail(row.text, values, row.all_shown)


# -- scale-in -------------------------------------------------------------------------------------

def select_to_stop_reference(fleet: Fleet, group: str, count: int, strategies=None, seed: int = 0) -> list[str]:
    """The ids of the tasks scale-in stops, in order (SPEC 2b), from the fleet's tasks: their order
    is the fleet's (``describe-tasks`` input, then started ones)."""
    strategies = list(strategies) if strategies else ecs_service_default()
    records = list(fleet)
    tasks = fleet.tasks
    live: list[list] = [[] for _ in records]            # per instance: [task id, cpu, memory] of the group
    for task_id, row, task_group, cpu, memory in zip(tasks.ids, tasks.rows.tolist(), tasks.groups,
                                                     tasks.cpu.tolist(), tasks.memory.tolist()):
        if task_group == group:
            live[row].append([task_id, cpu, memory])
    remaining = [[r.remaining.cpu, r.remaining.memory] for r in records]
    rng = SplitMix64(seed)
    stopped: list[str] = []
    for _ in range(count):
        candidates = [i for i in range(len(records)) if live[i]]
        if not candidates:
            break
        draining = [i for i in candidates if records[i].status != "ACTIVE"]
        tied = draining or candidates
        for strategy in strategies:
            if len(tied) == 1:
                break
            if isinstance(strategy, Random):        # a draw among the tied instances' tasks
                k = rng.choose(sum(len(live[i]) for i in tied))
                for i in tied:
                    if k < len(live[i]):
                        tied = [i]
                        break
                    k -= len(live[i])
                continue
            keys = {i: _stop_key(strategy, i, records, live, remaining) for i in tied}
            best = max(keys.values())
            tied = [i for i in tied if keys[i] == best]
        chosen = tied[-1]                           # remaining ties: the highest position
        task_id, cpu, memory = live[chosen].pop()   # its last task of the group
        remaining[chosen][0] += cpu
        remaining[chosen][1] += memory
        stopped.append(task_id)
    return stopped


def _stop_key(strategy, i: int, records: list[Instance], live: list[list], remaining: list[list]) -> int:
    if isinstance(strategy, Binpack):               # what the instance has once its last task stopped
        resource = 0 if strategy.resource == "cpu" else 1
        return remaining[i][resource] + live[i][-1][1 + resource]
    bucket = spread_value(records[i], strategy)
    return sum(len(live[j]) for j in range(len(records)) if spread_value(records[j], strategy) == bucket)
