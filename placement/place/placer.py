"""The fast placer: ``Placer(fleet, strategies).place(...)``, equal to the reference placer task
by task, with the per-task work in the Cython ranker.

The placer keeps a running state (remaining resources, ports, task counts) that starts from the
fleet and follows every ``place`` and ``release``; it remembers what it placed (the ledger), so
when the fleet itself changes (instances registered or deregistered, attributes changed, tasks
recorded) it rebuilds from the new fleet and replays the ledger. Constraint masks are evaluated by
the compiled engine once per fleet version; a constraint that reads state placement changes
(``runningTasksCount``, ``task:group``) is re-evaluated for each instance a task lands on.

A scheduler asks the same kind of request (group, demand, constraints, strategies) again and
again, so the ranker's index for one is kept across calls: every change of state appends the
rows it touched to a log, and an index catches up by re-filing the rows logged since it last
ran. A call then costs O(tasks · log instances) instead of a pass over the fleet.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from placement.engine.bind import bind
from placement.engine.plan import plan
from placement.engine.reference import holds
from placement.errors import InputError
from placement.fleet.model import Fleet, Resources
from placement.lang.ir import Kind
from placement.lang.simplify import fields
from placement.place._ranker import DrawIndex, HeapIndex, StrategyKind, place_batch
from placement.place.reference import and_clauses
from placement.place.result import PlacementResult, SplitMix64
from placement.place.strategies import Binpack, Demand, DistinctInstance, MemberOf, Random, check_request

_STATEFUL = {Kind.RUNNING_TASKS, Kind.TASK_GROUP}
MAX_TASKS = 10_000_000      # per call: the result array is allocated up front (a task may need no resources)
INDEX_MEMORY = 256 << 20    # bytes the kept ranker indexes may take together (about 26 per instance each)


def _cells(ranking, rows: int) -> tuple[np.ndarray, int]:
    """For each row, the id of its cell (the rows sharing all its spread buckets), and the number
    of cells. The bucket codes themselves serve as ids while there are few of them (the ranker
    visits every cell per task); past that, and before a product could overflow, they are
    compressed to the cells that occur."""
    key = np.zeros(rows, dtype=np.int64)
    size = 1
    for kind, bucket_of, bucket_count in ranking:
        if kind == StrategyKind.SPREAD_BUCKET:
            key = key * len(bucket_count) + bucket_of
            size *= len(bucket_count)
            if size > 1 << 31:
                key = np.unique(key, return_inverse=True)[1].astype(np.int64).reshape(-1)
                size = int(key.max(initial=-1)) + 1
    if size > 1024:
        key = np.unique(key, return_inverse=True)[1].astype(np.int64).reshape(-1)
        size = int(key.max(initial=-1)) + 1
    return key, max(1, size)


def _reads_placed_state(expr) -> bool:
    """Whether placing a task can change ``expr`` on the instance it lands on."""
    return bool({f.kind for f in fields(expr)} & _STATEFUL)


def _is(column, value) -> np.ndarray:
    code = column.code_of(value)
    return column.codes == code if code is not None else np.zeros(len(column.codes), dtype=bool)


def _listed(items, what: str) -> tuple:
    """A request's list argument as a tuple; a string or a lone item is an input error."""
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise InputError(f"{what} must be a list, got {items!r}")
    return tuple(items)


def _leaves(demand: Demand, constraints) -> bool:
    """Whether an instance takes no more of these tasks once it has one (its port is taken, or
    distinctInstance)."""
    return bool(demand.ports) or any(isinstance(c, DistinctInstance) for c in constraints)


def _uses_index(ranking, random_ties: bool) -> bool:
    """Whether an index can rank this chain: ``random`` only first, and no random final ties
    after a deterministic chain (those need the tied set, which only the scan has)."""
    kinds = [kind for kind, _, _ in ranking]
    return kinds[:1] == [StrategyKind.RANDOM] or (StrategyKind.RANDOM not in kinds and not random_ties)


@dataclass
class _KeptIndex:
    """A ranker index kept for one kind of request, and how much of the change log it has seen."""

    kernel: HeapIndex | DrawIndex
    stateful: bool               # a constraint reads state placement changes
    seen: int

    @property
    def allowed(self) -> np.ndarray:
        """uint8 per row: eligible, constraints hold, ports free; the kernel reads it."""
        return self.kernel.state["allowed"]

    @property
    def ranking(self) -> list:
        return self.kernel.strategies


class Placer:
    """Places tasks on ``fleet`` with ``strategies`` (default: random, as ECS). Not thread-safe:
    one placer is one scheduler's state."""

    use_index = True        # the tests turn it off to check the indexes against the scan

    def __init__(self, fleet: Fleet, strategies=None, *, random_ties: bool = False):
        if not isinstance(fleet, Fleet):
            raise InputError(f"Placer needs a Fleet, got {type(fleet).__name__}")
        self.fleet = fleet
        self.strategies = list(strategies) if strategies else [Random()]
        check_request([], self.strategies)
        self.random_ties = random_ties
        self._placed: dict[tuple[str, Demand], np.ndarray] = {}   # tasks placed and not released, per row
        self._demands: dict[tuple, Demand] = {}
        self._version = None

    @property
    def ledger(self) -> dict[tuple[str, str, Demand], int]:
        """(containerInstanceArn, group, demand) -> tasks this placer placed and not released."""
        self._sync()
        arns = self._columns.arns
        return {(arns[row], group, demand): int(counts[row])
                for (group, demand), counts in self._placed.items() for row in np.flatnonzero(counts)}

    # -- state ------------------------------------------------------------------------------------

    def _sync(self) -> None:
        """(Re)build the running state from the fleet when it changed, replaying the ledger."""
        if self._version == self.fleet.version:
            return
        old = self._placed
        if old:       # carry the ledger over to the new rows; deregistered instances drop out
            old_arns = self._columns.arns
            self._placed = {}
            for key, counts in old.items():
                moved = np.zeros(len(self.fleet), dtype=np.int64)
                for row in np.flatnonzero(counts):
                    if old_arns[row] in self.fleet.store.position:
                        moved[self.fleet.position(old_arns[row])] = counts[row]
                self._placed[key] = moved
        columns = self._columns = self.fleet.columns
        self._version = self.fleet.version
        self.cpu = columns.resources["remaining_cpu"].copy()
        self.memory = columns.resources["remaining_memory"].copy()
        self.gpu = columns.resources["remaining_gpu"].copy()
        self.running = columns.running_tasks.copy()
        self.placed_ports: dict[int, Counter] = {}         # static ports of placed tasks, per row
        self._port_users: dict[int, set[int]] | None = None   # port -> rows using it, built when asked
        self.extra: dict[str, np.ndarray] = {}            # placed tasks per group, per row
        self._group_counts: dict[str, np.ndarray] = {}
        self._buckets: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._masks: dict = {}
        self._stateful_masks = False                      # whether any cached mask reads placed state
        self._indices: dict[tuple, _KeptIndex] = {}       # least recently used first
        self._index_limit = max(2, min(32, INDEX_MEMORY // (26 * max(1, len(columns)))))
        self._log: list[np.ndarray] = []                  # rows whose state changed, one array per change
        self._log_start = 0                               # the sequence number of _log[0]
        self.eligible = (_is(columns.status, "ACTIVE") & _is(columns.agent_connected, True)).astype(np.uint8)
        for (group, demand), counts in self._placed.items():
            rows = np.flatnonzero(counts)
            self._add(rows, counts[rows], group, demand, +1)

    @property
    def _log_end(self) -> int:
        return self._log_start + len(self._log)

    def _changed(self, rows: np.ndarray) -> None:
        """Log that the state of ``rows`` (an array no caller holds) changed. Past a few times the
        fleet's size the log sheds what every index has seen, and at least half: an index behind
        that is rebuilt when next used."""
        self._log.append(rows)
        if len(self._log) > 4 * len(self.cpu) + 1024:
            oldest = min((index.seen for index in self._indices.values()), default=self._log_end)
            drop = max(oldest - self._log_start, len(self._log) // 2)
            self._log = self._log[drop:]
            self._log_start += drop

    def ports_in_use(self, row: int) -> frozenset[int]:
        placed = self.placed_ports.get(row)
        base = self._columns.ports[row]
        return base | {p for p, n in placed.items() if n > 0} if placed else base

    def port_users(self, port: int) -> set[int]:
        """The rows where ``port`` is in use."""
        if self._port_users is None:
            self._port_users = {}
            for row, in_use in enumerate(self._columns.ports):
                for used in in_use:
                    self._port_users.setdefault(used, set()).add(row)
            for row, placed in self.placed_ports.items():
                for used, n in placed.items():
                    if n > 0:
                        self._port_users.setdefault(used, set()).add(row)
        return self._port_users.setdefault(port, set())

    def _add(self, rows: np.ndarray, counts: np.ndarray, group: str, demand: Demand, sign: int) -> None:
        """Add (``sign`` +1) or take away (-1) ``counts[k]`` tasks on ``rows[k]`` (distinct rows)
        in every piece of state but the ledger."""
        delta = sign * counts
        self.cpu[rows] -= delta * demand.cpu
        self.memory[rows] -= delta * demand.memory
        self.gpu[rows] -= delta * demand.gpu
        if group in self._group_counts:
            self._group_counts[group][rows] += delta
        self.running[rows] += delta
        self._extra(group)[rows] += delta
        self._follow(rows, delta, group, demand)

    def _follow(self, rows: np.ndarray, delta: np.ndarray, group: str, demand: Demand, ranked=()) -> None:
        """What the ranker does not count itself: spread buckets other than ``ranked``'s, ports,
        stateful constraints; and the log."""
        moved = {id(bucket_count) for _, _, bucket_count in ranked}
        for (bucket_group, _), (bucket_of, bucket_count) in self._buckets.items():
            if bucket_group == group and id(bucket_count) not in moved:
                np.add.at(bucket_count, bucket_of[rows], delta)
        for port in demand.ports:
            for row, n in zip(rows.tolist(), delta.tolist()):
                placed = self.placed_ports.setdefault(row, Counter())
                placed[port] += n
                in_use = port in self._columns.ports[row] or placed[port] > 0
                if self._port_users is not None:
                    (self._port_users.setdefault(port, set()).add if in_use
                     else self._port_users.setdefault(port, set()).discard)(row)
        if self._stateful_masks:
            for row in rows.tolist():
                self._refresh_masks(row)
        self._changed(rows)

    def _ranked(self, chosen: np.ndarray, group: str, demand: Demand, ranking: list) -> None:
        """The scan placed tasks on ``chosen`` and counted them (resources, task counts, the
        ledger, its spread buckets); follow up on the rest."""
        rows, counts = np.unique(chosen, return_counts=True)
        self._follow(rows, counts.astype(np.int64), group, demand, ranking)

    def _extra(self, group: str) -> np.ndarray:
        """Tasks of ``group`` this placer placed, per row."""
        extra = self.extra.get(group)
        if extra is None:
            extra = self.extra[group] = np.zeros(len(self.cpu), dtype=np.int64)
        return extra

    def _ledger(self, group: str, demand: Demand) -> np.ndarray:
        placed = self._placed.get((group, demand))
        if placed is None:
            placed = self._placed[(group, demand)] = np.zeros(len(self.cpu), dtype=np.int64)
        return placed

    def _state(self, group: str, demand: Demand, allowed: np.ndarray) -> dict:
        """The arrays the ranker reads and moves for one kind of request."""
        return {"cpu": self.cpu, "memory": self.memory, "gpu": self.gpu, "group_count": self._group_count(group),
                "allowed": allowed, "tallies": [self.running, self._extra(group), self._ledger(group, demand)]}

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
            if group in self.extra:
                counts += self.extra[group]
            self._group_counts[group] = counts
        return counts

    def _record(self, row: int):
        """Instance ``row`` as constraints see it now (placed tasks counted)."""
        base = self.fleet[row]
        groups = Counter(base.task_groups)
        for group, extra in self.extra.items():
            groups[group] += int(extra[row])
        return replace(base, running_tasks_count=int(self.running[row]),
                       task_groups={g: n for g, n in groups.items() if n > 0},
                       remaining=Resources(int(self.cpu[row]), int(self.memory[row]), int(self.gpu[row]),
                                           self.ports_in_use(row)))

    def _mask(self, constraint: MemberOf) -> np.ndarray:
        """Where ``constraint`` holds now, as uint8; cached, and kept current for stateful ones."""
        predicate = constraint.predicate
        cached = self._masks.get(predicate.canonical)
        if cached is None:
            mask = predicate.evaluate(self.fleet).astype(np.uint8)
            stateful = _reads_placed_state(predicate.ir)
            if stateful:
                touched = np.zeros(len(mask), dtype=bool)
                for extra in self.extra.values():
                    touched |= extra != 0
                for row in np.flatnonzero(touched).tolist():
                    mask[row] = holds(predicate.ir, self._record(row))
            cached = self._masks[predicate.canonical] = (predicate, mask, stateful)
            self._stateful_masks = self._stateful_masks or stateful
        return cached[1]

    def _refresh_masks(self, row: int) -> None:
        record = None
        for predicate, mask, stateful in self._masks.values():
            if stateful:
                record = record or self._record(row)
                mask[row] = holds(predicate.ir, record)

    # -- placing ----------------------------------------------------------------------------------

    def place(self, count: int = 1, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=(), group: str = "",
              constraints=(), seed: int | None = None, strategies=None) -> PlacementResult:
        """Place ``count`` identical tasks of ``group``; see SPEC section 2."""
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_TASKS:
            raise InputError(f"count must be an integer from 0 to {MAX_TASKS:,}, got {count!r}")
        if not isinstance(group, str) or not group:
            raise InputError("a task needs a group (e.g. service:web or family:batch)")
        demand = self._demand(cpu, memory, gpu, _listed(ports, "ports"))
        constraints = _listed(constraints, "constraints")
        strategies = _listed(strategies, "strategies") if strategies else tuple(self.strategies)
        seed = int.from_bytes(os.urandom(8), "little") if seed is None else seed
        self._sync()
        chosen = np.empty(count, dtype=np.int64)
        index = self._index(group, demand, constraints, strategies) if self.use_index else None
        if index is not None:
            placed = self._place_indexed(index, count, chosen, seed, group, demand, constraints)
        else:
            check_request(constraints, strategies)
            placed = self._place_scanning(count, chosen, seed, group, demand, constraints, strategies)
        reasons = self.reasons(demand, group, constraints) if placed < count else {}
        return PlacementResult(chosen[:placed], self._columns.arns, count - placed, reasons, seed)

    def _demand(self, cpu, memory, gpu, ports: tuple) -> Demand:
        """The task's ``Demand``; checked ones are remembered, as a scheduler asks for the same few
        (only plain ints are looked up: ``True == 1`` must still be refused)."""
        key = (cpu, memory, gpu, ports)
        if type(cpu) is not int or type(memory) is not int or type(gpu) is not int \
                or (ports and not all(type(port) is int for port in ports)):
            return Demand(*key)
        demand = self._demands.get(key)
        if demand is None:
            if len(self._demands) >= 4096:
                self._demands.clear()
            demand = self._demands[key] = Demand(*key)
        return demand

    def _index(self, group: str, demand: Demand, constraints: tuple, strategies: tuple) -> _KeptIndex | None:
        """The kept index for this kind of request, caught up with the log, or a new one (None
        when the chain needs the scan). A kept one was made for an equal request, so the
        request's constraints and strategies were checked then."""
        key = (group, demand, constraints, strategies)
        try:
            index = self._indices.pop(key, None)
        except TypeError:                            # something unhashable: not a constraint or strategy
            index = None
        if index is None:                            # a kind of request not seen (and checked) before
            check_request(constraints, strategies)
        if index is None or not self._catch_up(index, group, demand, constraints):
            ranking = self._ranking(strategies, group)
            if not _uses_index(ranking, self.random_ties):
                return None
            index = self._build_index(ranking, group, demand, constraints)
        self._indices[key] = index                   # now the most recently used
        while len(self._indices) > self._index_limit:
            del self._indices[next(iter(self._indices))]
        return index

    def _build_index(self, ranking: list, group: str, demand: Demand, constraints: tuple) -> _KeptIndex:
        allowed = self._allowed(demand, group, constraints)
        state = self._state(group, demand, allowed)
        leave = _leaves(demand, constraints)
        if ranking[0][0] == StrategyKind.RANDOM:
            kernel = DrawIndex(state, ranking, demand.cpu, demand.memory, demand.gpu, leave)
        else:
            cell_of, cells = _cells(ranking, len(allowed))
            kernel = HeapIndex(state, ranking, cell_of, cells, demand.cpu, demand.memory, demand.gpu, leave)
        return _KeptIndex(kernel, self._reads_state(constraints), self._log_end)

    def _catch_up(self, index: _KeptIndex, group: str, demand: Demand, constraints: tuple) -> bool:
        """Re-file the rows logged since ``index`` last ran; False when rebuilding is cheaper."""
        behind = index.seen - self._log_start
        if behind < 0:
            return False
        pending = self._log[behind:]
        if pending:
            rows = np.concatenate(pending) if len(pending) > 1 else pending[0]
            if len(rows) > len(self.cpu) // 4 + 64:
                return False
            index.allowed[rows] = self._allowed(demand, group, constraints, rows)
            index.kernel.update(rows)
            index.seen = self._log_end
        return True

    def _place_indexed(self, index: _KeptIndex, count: int, chosen: np.ndarray, seed: int, group: str,
                       demand: Demand, constraints: tuple) -> int:
        rng, placed = SplitMix64(seed).state, 0
        rows = np.empty(min(count, len(self.cpu)), dtype=np.int64)     # the distinct rows placed on
        counts = np.empty_like(rows)
        if not index.stateful:
            placed, rng, distinct = index.kernel.place(count, chosen, rng, rows, counts)
            self._follow(rows[:distinct], counts[:distinct], group, demand, index.ranking)
        while index.stateful and placed < count:      # one at a time: the constraint may now exclude it
            done, rng, _ = index.kernel.place(1, chosen[placed:], rng, rows, counts)
            if not done:
                break
            placed += 1
            row = rows[:1].copy()
            self._follow(row, counts[:1].copy(), group, demand, index.ranking)
            index.allowed[row] = self._allowed(demand, group, constraints, row)
            index.kernel.update(row)
        index.seen = self._log_end                    # the index followed its own placements
        return placed

    def _place_scanning(self, count: int, chosen: np.ndarray, seed: int, group: str, demand: Demand,
                        constraints: tuple, strategies: tuple) -> int:
        allowed = self._allowed(demand, group, constraints)
        stateful = self._reads_state(constraints)
        ranking = self._ranking(strategies, group)
        candidates = np.flatnonzero(allowed).astype(np.int64)
        state = self._state(group, demand, allowed)
        rng, placed, left = SplitMix64(seed).state, 0, len(candidates)
        while placed < count and left:
            step = 1 if stateful else count - placed
            done, rng, left = place_batch(state, ranking, candidates, left, demand.cpu, demand.memory, demand.gpu,
                                          _leaves(demand, constraints), step, rng, self.random_ties, chosen[placed:])
            if stateful:            # record each task now: the constraint may exclude its instance
                for row in chosen[placed:placed + done].tolist():
                    one = np.array([row])
                    self._ranked(one, group, demand, ranking)
                    allowed[one] = self._allowed(demand, group, constraints, one)
            placed += done
            if done < step:
                break
        if not stateful:            # record the batch at once
            self._ranked(chosen[:placed], group, demand, ranking)
        return placed

    def _reads_state(self, constraints) -> bool:
        """Whether a constraint reads state placement changes (its mask is cached by now)."""
        return any(self._masks[c.predicate.canonical][2] for c in constraints if isinstance(c, MemberOf))

    def _allowed(self, demand: Demand, group: str, constraints, rows=None) -> np.ndarray:
        """uint8 per row (or per one of ``rows``): eligible, every constraint holds, ports free."""
        pick = slice(None) if rows is None else rows
        allowed = self.eligible[pick].copy()
        for constraint in constraints:
            if isinstance(constraint, MemberOf):
                allowed &= self._mask(constraint)[pick]
            else:
                allowed &= (self._group_count(group)[pick] == 0)
        for port in demand.ports:
            users = self.port_users(port)
            if rows is None:
                allowed[list(users)] = 0
            else:
                allowed &= np.fromiter((row not in users for row in rows.tolist()), dtype=np.uint8, count=len(rows))
        return allowed

    def _ranking(self, strategies, group: str) -> list:
        """(kind, bucket_of, bucket_count) per strategy. A strategy repeating an earlier one's key
        changes nothing (the instances still tied share that key) and is left out."""
        ranking, seen = [], set()
        for strategy in strategies:
            if isinstance(strategy, Random):
                entry, key = (StrategyKind.RANDOM, None, None), "random"
            elif isinstance(strategy, Binpack):
                kind = StrategyKind.BINPACK_CPU if strategy.resource == "cpu" else StrategyKind.BINPACK_MEMORY
                entry, key = (kind, None, None), kind
            elif strategy.per_instance:
                entry, key = (StrategyKind.SPREAD_INSTANCE, None, None), "instance"
            else:
                entry, key = (StrategyKind.SPREAD_BUCKET, *self._bucket_counts(group, strategy.attribute)), strategy.field
            if key not in seen:
                seen.add(key)
                ranking.append(entry)
        return ranking

    def _bucket_counts(self, group: str, attribute: str) -> tuple[np.ndarray, np.ndarray]:
        """(bucket of each row, tasks of ``group`` per bucket) for spread over ``attribute``; kept
        current by the ranker (which counts each task it places) and by ``_add``."""
        cached = self._buckets.get((group, attribute))
        if cached is None:
            column = self._columns.attributes.get(attribute)
            bucket_of = (column.codes.astype(np.uint32) if column is not None
                         else np.zeros(len(self._columns), dtype=np.uint32))
            size = (len(column.dictionary) + 2) if column is not None else 1
            bucket_count = np.zeros(size, dtype=np.int64)
            np.add.at(bucket_count, bucket_of, self._group_count(group))
            cached = self._buckets[(group, attribute)] = (bucket_of, bucket_count)
        return cached

    def release(self, arn: str, group: str, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=()) -> None:
        """A task this placer placed has stopped: give its resources and ports back."""
        demand = Demand(cpu, memory, gpu, _listed(ports, "ports"))
        self._sync()
        row = self.fleet.position(arn)
        placed = self._placed.get((group, demand))
        if placed is None or placed[row] <= 0:
            raise InputError(f"no task of {group!r} with that demand was placed on {arn!r} by this placer")
        placed[row] -= 1
        self._add(np.array([row]), np.array([1], dtype=np.int64), group, demand, -1)

    # -- explaining -------------------------------------------------------------------------------

    def reasons(self, demand: Demand, group: str, constraints) -> dict:
        """How many instances each step removes now (the same counts as the reference placer)."""
        self._sync()
        alive = np.ones(len(self._columns), dtype=bool)
        out: dict = {"instances": len(alive)}

        def remove(failing: np.ndarray) -> np.ndarray:
            """Take the instances still in that fail this step; return which they were."""
            nonlocal alive
            hit = alive & failing
            alive &= ~failing
            return hit

        out["ineligible"] = int(remove(self.eligible == 0).sum())
        for name, have in (("cpu", self.cpu), ("memory", self.memory), ("gpu", self.gpu)):
            out[name] = int(remove(have < getattr(demand, name)).sum())
        blocked = np.zeros(len(alive), dtype=bool)
        for port in demand.ports:
            blocked[list(self.port_users(port))] = True
        out["ports"] = int(remove(blocked).sum())
        entries = []
        for constraint in constraints:
            if isinstance(constraint, DistinctInstance):
                entries.append({"constraint": str(constraint),
                                "removed": int(remove(self._group_count(group) > 0).sum())})
                continue
            hit = remove(self._mask(constraint) == 0)
            entry = {"constraint": str(constraint), "removed": int(hit.sum())}
            clauses = and_clauses(constraint)
            if clauses:
                entry["clauses"] = [{"clause": text, "false": self._failing(typed, hit)} for text, typed in clauses]
            entries.append(entry)
        out["constraints"] = entries
        return out

    def _failing(self, clause, rows: np.ndarray) -> int:
        """How many of ``rows`` the clause rejects now: compiled, unless it reads placed state."""
        if _reads_placed_state(clause):
            return sum(not holds(clause, self._record(row)) for row in np.flatnonzero(rows).tolist())
        return int((rows & ~bind(plan(clause), self._columns).run()).sum())
