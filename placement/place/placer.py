"""The fast placer: ``Placer(fleet, strategies).place(...)``, equal to the reference placer task
by task, with the per-task work in the Cython ranker.

The placer keeps a running state (remaining resources, ports, task counts) that starts from the
fleet and follows every ``place`` and ``release``; it remembers what it placed (the ledger), so
when the fleet itself changes (instances registered or deregistered, attributes changed, tasks
recorded) it rebuilds from the new fleet and replays the ledger. Constraint masks are evaluated by
the compiled engine once per fleet version; a constraint that reads state placement changes
(``runningTasksCount``, ``task:group``) is re-evaluated for each instance a task lands on.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace

import numpy as np

from placement.engine.reference import holds
from placement.errors import InputError
from placement.fleet.columns import GroupColumn
from placement.fleet.model import Fleet, Resources
from placement.lang import ast
from placement.lang.ir import Kind
from placement.lang.simplify import fields
from placement.place._ranker import StrategyKind, place_batch
from placement.place.result import Placement, PlacementResult, SplitMix64
from placement.place.strategies import (Binpack, Demand, DistinctInstance, MemberOf, Random, Spread,
                                        check_request)

_STATEFUL = {Kind.RUNNING_TASKS, Kind.TASK_GROUP}


def _is(column, value) -> np.ndarray:
    code = column.code_of(value)
    return column.codes == code if code is not None else np.zeros(len(column.codes), dtype=bool)


class Placer:
    """Places tasks on ``fleet`` with ``strategies`` (default: random, as ECS)."""

    def __init__(self, fleet: Fleet, strategies=None, *, random_ties: bool = False):
        if not isinstance(fleet, Fleet):
            raise InputError(f"Placer needs a Fleet, got {type(fleet).__name__}")
        self.fleet = fleet
        self.strategies = list(strategies) if strategies else [Random()]
        check_request([], self.strategies)
        self.random_ties = random_ties
        self.ledger: Counter = Counter()      # (arn, group, Demand) -> tasks placed and not released
        self._version = None

    # -- state ------------------------------------------------------------------------------------

    def _sync(self) -> None:
        """(Re)build the running state from the fleet when it changed, replaying the ledger."""
        if self._version == self.fleet.version:
            return
        columns = self.fleet.columns
        self._columns = columns
        self._version = self.fleet.version
        self.cpu = columns.resources["remaining_cpu"].copy()
        self.memory = columns.resources["remaining_memory"].copy()
        self.gpu = columns.resources["remaining_gpu"].copy()
        self.running = columns.running_tasks.copy()
        self.ports = [set(p) for p in columns.ports]
        self.port_users: dict[int, set[int]] = {}        # port -> rows using it
        for row, in_use in enumerate(columns.ports):
            for port in in_use:
                self.port_users.setdefault(port, set()).add(row)
        self.extra_groups: dict[int, Counter] = {}       # placed tasks per instance and group
        self._group_counts: dict[str, np.ndarray] = {}
        self._masks: dict = {}
        self.eligible = (_is(columns.status, "ACTIVE") & _is(columns.agent_connected, True)).astype(np.uint8)
        ledger, self.ledger = self.ledger, Counter()
        for (arn, group, demand), n in ledger.items():
            if arn in self.fleet._position:          # deregistered instances drop out
                for _ in range(n):
                    self._apply(self.fleet.position(arn), group, demand, +1)

    def _group_count(self, group: str) -> np.ndarray:
        """Tasks of ``group`` per instance: the fleet's RUNNING ones plus what the ledger adds."""
        counts = self._group_counts.get(group)
        if counts is None:
            groups = self._columns.groups
            counts = np.zeros(len(self._columns), dtype=np.int64)
            if group in groups.dictionary:
                code = groups.dictionary.index(group)
                rows = np.repeat(np.arange(len(self._columns)), np.diff(groups.offsets))
                hit = groups.codes == code
                np.add.at(counts, rows[hit], groups.counts[hit])
            for row, extra in self.extra_groups.items():
                counts[row] += extra.get(group, 0)
            self._group_counts[group] = counts
        return counts

    def _apply(self, row: int, group: str, demand: Demand, sign: int) -> None:
        """Add (+1) or remove (-1) one task on ``row`` in every piece of state but the ranker's arrays."""
        key = (self._columns.arns[row], group, demand)
        self.ledger[key] += sign
        if self.ledger[key] <= 0:
            del self.ledger[key]
        self.cpu[row] -= sign * demand.cpu
        self.memory[row] -= sign * demand.memory
        self.gpu[row] -= sign * demand.gpu
        self.running[row] = max(0, self.running[row] + sign)
        for port in demand.ports:
            users = self.port_users.setdefault(port, set())
            (self.ports[row].add if sign > 0 else self.ports[row].discard)(port)
            (users.add if sign > 0 else users.discard)(row)
        self.extra_groups.setdefault(row, Counter())[group] += sign
        if group in self._group_counts:
            self._group_counts[group][row] += sign
        self._refresh_masks(row)

    def _record(self, row: int):
        """Instance ``row`` as constraints see it now (placed tasks counted)."""
        base = self.fleet[row]
        groups = Counter({g: n for g, n in base.task_groups.items()})
        groups.update(self.extra_groups.get(row, {}))
        return replace(base, running_tasks_count=int(self.running[row]),
                       task_groups={g: n for g, n in groups.items() if n > 0},
                       remaining=Resources(int(self.cpu[row]), int(self.memory[row]), int(self.gpu[row]),
                                           frozenset(self.ports[row])))

    def _mask(self, constraint: MemberOf) -> np.ndarray:
        """Where ``constraint`` holds now, as uint8; cached, and kept current for stateful ones."""
        predicate = constraint.predicate
        cached = self._masks.get(predicate.canonical)
        if cached is None:
            mask = predicate.evaluate(self.fleet).astype(np.uint8)
            stateful = bool({f.kind for f in fields(predicate.ir)} & _STATEFUL)
            if stateful:
                for row in self.extra_groups:
                    mask[row] = holds(predicate.ir, self._record(row))
            cached = self._masks[predicate.canonical] = (predicate, mask, stateful)
        return cached[1]

    def _refresh_masks(self, row: int) -> None:
        for predicate, mask, stateful in self._masks.values():
            if stateful:
                mask[row] = holds(predicate.ir, self._record(row))

    # -- placing ----------------------------------------------------------------------------------

    def place(self, count: int = 1, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=(), group: str = "",
              constraints=(), seed: int | None = None, strategies=None) -> PlacementResult:
        """Place ``count`` identical tasks of ``group``; see SPEC section 2."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InputError(f"count must be a non-negative integer, got {count!r}")
        if not isinstance(group, str) or not group:
            raise InputError("a task needs a group (e.g. service:web or family:batch)")
        demand = Demand(cpu, memory, gpu, tuple(ports))
        constraints = list(constraints)
        strategies = list(strategies) if strategies else self.strategies
        check_request(constraints, strategies)
        seed = int.from_bytes(os.urandom(8), "little") if seed is None else seed
        self._sync()
        allowed = self._allowed(demand, group, constraints)
        stateful = any(self._masks[c.predicate.canonical][2] for c in constraints if isinstance(c, MemberOf))
        ranking = self._ranking(strategies, group)
        candidates = np.flatnonzero(allowed).astype(np.int64)
        state = {"cpu": self.cpu, "memory": self.memory, "gpu": self.gpu,
                 "group_count": self._group_count(group), "allowed": allowed}
        leave = bool(demand.ports) or any(isinstance(c, DistinctInstance) for c in constraints)
        chosen = np.empty(count, dtype=np.int64)
        rng, placed, left = SplitMix64(seed).state, 0, len(candidates)
        group_counts = self._group_counts.pop(group)     # the ranker updates it; _apply must not too
        try:
            while placed < count and left:
                step = 1 if stateful else count - placed
                done, rng, left = place_batch(state, ranking, candidates, left, demand.cpu, demand.memory,
                                              demand.gpu, leave, step, rng, self.random_ties, chosen[placed:])
                for row in chosen[placed:placed + done]:
                    self._commit(int(row), group, demand, allowed, constraints)
                placed += done
                if done < step:
                    break
        finally:
            self._group_counts[group] = group_counts
        arns = self._columns.arns
        placements = tuple(Placement(t, arns[row], int(row)) for t, row in enumerate(chosen[:placed]))
        reasons = self.reasons(demand, group, constraints) if placed < count else {}
        return PlacementResult(placements, count - placed, reasons, seed)

    def _commit(self, row: int, group: str, demand: Demand, allowed: np.ndarray, constraints) -> None:
        """Record a task the ranker placed (it already moved cpu, memory, gpu and the group count)."""
        self.cpu[row] += demand.cpu
        self.memory[row] += demand.memory
        self.gpu[row] += demand.gpu
        self._apply(row, group, demand, +1)
        for constraint in constraints:
            if isinstance(constraint, MemberOf) and not self._mask(constraint)[row]:
                allowed[row] = 0

    def _allowed(self, demand: Demand, group: str, constraints) -> np.ndarray:
        allowed = self.eligible.copy()
        for constraint in constraints:
            if isinstance(constraint, MemberOf):
                allowed &= self._mask(constraint)
            else:
                allowed &= (self._group_count(group) == 0)
        for port in demand.ports:
            allowed[list(self.port_users.get(port, ()))] = 0
        return allowed

    def _ranking(self, strategies, group: str) -> list:
        ranking = []
        counts = self._group_count(group)
        for strategy in strategies:
            if isinstance(strategy, Random):
                ranking.append((StrategyKind.RANDOM, None, None))
            elif isinstance(strategy, Binpack):
                kind = StrategyKind.BINPACK_CPU if strategy.resource == "cpu" else StrategyKind.BINPACK_MEMORY
                ranking.append((kind, None, None))
            elif strategy.per_instance:
                ranking.append((StrategyKind.SPREAD_INSTANCE, None, None))
            else:
                column = self._columns.attributes.get(strategy.attribute)
                bucket_of = (column.codes.astype(np.uint32) if column is not None
                             else np.zeros(len(self._columns), dtype=np.uint32))
                size = (len(column.dictionary) + 2) if column is not None else 1
                ranking.append((StrategyKind.SPREAD_BUCKET, bucket_of,
                                np.bincount(bucket_of, weights=counts, minlength=size).astype(np.int64)))
        return ranking

    def release(self, arn: str, group: str, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=()) -> None:
        """A task this placer placed has stopped: give its resources and ports back."""
        demand = Demand(cpu, memory, gpu, tuple(ports))
        self._sync()
        if self.ledger.get((arn, group, demand), 0) <= 0:
            raise InputError(f"no task of {group!r} with that demand was placed on {arn!r} by this placer")
        self._apply(self.fleet.position(arn), group, demand, -1)

    # -- explaining -------------------------------------------------------------------------------

    def reasons(self, demand: Demand, group: str, constraints) -> dict:
        """How many instances each step removes now (the same counts as the reference placer)."""
        self._sync()
        alive = np.ones(len(self._columns), dtype=bool)
        out: dict = {"instances": len(alive)}

        def remove(name_or_entry, failing):
            nonlocal alive
            hit = alive & failing
            alive &= ~failing
            return int(hit.sum()), hit

        out["ineligible"], _ = remove("ineligible", self.eligible == 0)
        for name, have in (("cpu", self.cpu), ("memory", self.memory), ("gpu", self.gpu)):
            out[name], _ = remove(name, have < getattr(demand, name))
        blocked = np.array([bool(p & set(demand.ports)) for p in self.ports], dtype=bool)
        out["ports"], _ = remove("ports", blocked)
        entries = []
        for constraint in constraints:
            if isinstance(constraint, DistinctInstance):
                removed, _ = remove(constraint, self._group_count(group) > 0)
                entries.append({"constraint": str(constraint), "removed": removed})
                continue
            removed, hit = remove(constraint, self._mask(constraint) == 0)
            entry = {"constraint": str(constraint), "removed": removed}
            predicate = constraint.predicate
            if isinstance(predicate.tree, ast.And):
                entry["clauses"] = [
                    {"clause": ast.to_text(node),
                     "false": int(sum(not holds(typed, self._record(row)) for row in np.flatnonzero(hit)))}
                    for node, typed in zip(predicate.tree.operands, predicate.ir.operands)]
            entries.append(entry)
        out["constraints"] = entries
        return out
