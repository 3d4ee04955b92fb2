"""The fast placer: ``Placer(fleet, strategies)``, equal to the reference placer task by task.

A thin layer over the parts that own the work: the placement state (``state``: what placing and
stopping changes, following the fleet's events), the constraint masks (``masks``), the ranker
indexes kept per kind of request (``indexes``, over ``_ranker``), the reasons for unplaced tasks
(``reasons``) and scale-in (``scalein``). ``prepare`` gives a scheduler a handle for one kind of
request (group, constraints, strategies) whose ``place`` is the fast path, whatever the demand of
each call; ``place`` with keywords goes through a cached handle; ``place_many`` runs many calls
in one pass of the ranker. Not thread-safe: one placer is one scheduler's state.
"""
from __future__ import annotations

import os

import numpy as np

from placement.errors import InputError
from placement.fleet.model import Fleet
from placement.place import _ranker
from placement.place._request import Request
from placement.place.indexes import Indexes
from placement.place.masks import Masks
from placement.place.ports import DEFAULT_EPHEMERAL, ephemeral_range
from placement.place.reasons import reasons
from placement.place.requests import MAX_AMOUNT, MAX_TASKS, Demand, Random, check_request
from placement.place.result import BatchResult, PlacementResult
from placement.place.scalein import select_to_stop
from placement.place.state import PlacementState

_REQUESTS_KEPT = 4096       # keyword calls' handles, by (group, constraints, strategies)


def _listed(items, what: str) -> tuple:
    """A request's list argument as a tuple; a string or a lone item is an input error."""
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise InputError(f"{what} must be a list, got {items!r}")
    return tuple(items)


class PreparedRequest(Request):
    """One kind of request (group, constraints, strategies), checked once: ``place(count, cpu,
    memory, gpu=0, ports=(), seed=None)`` is the fast path for any demand (``_request.pyx``),
    and keeps its index across calls. This class is what that path hands the rare cases to."""

    def __init__(self, placer: "Placer", group: str, constraints: tuple, strategies: tuple, explain: bool = True):
        self.placer, self.group, self.constraints, self.strategies = placer, group, constraints, strategies
        self.explain = explain
        self.state, self.store, self.indexes = placer.state, placer.state.store, placer.indexes
        self.names = placer.state.task_id
        self.generation = -1

    def checked(self, count, cpu, memory, gpu, ports) -> tuple[int, tuple]:
        """The count and ports of a demand outside the fast path's plain ints, or an InputError."""
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_TASKS:
            raise InputError(f"count must be an integer from 0 to {MAX_TASKS:,}, got {count!r}")
        demand = Demand(cpu, memory, gpu, _listed(ports, "ports") if ports else ())
        return count, demand.ports

    def refresh(self) -> None:
        """Follow the fleet; (re)find this kind's index and point it at the current arrays."""
        self.placer.sync()
        indexes = self.indexes
        if self.generation != indexes.generation:
            self.kind = indexes.kind(self.group, self.constraints, self.strategies, pin=True)
            self.generation = indexes.generation
            self.draws = self.kind.draws or (self.placer.random_ties
                                             and self.kind.kinds[:1] != [_ranker.StrategyKind.RANDOM])
        self.index = indexes.index(self.kind)

    def rebuilt(self):
        self.index = self.indexes.index(self.kind, stale=True)
        return self.index

    def reasons_for(self, cpu: int, memory: int, gpu: int, ports) -> dict:
        if not self.explain:
            return {}
        return reasons(self.state, self.placer.masks, Demand(cpu, memory, gpu, ports), self.group, self.constraints)

    def trim(self) -> None:
        self.indexes.trim_log()


class Placer:
    """Places tasks on ``fleet`` with ``strategies`` (default: random, as ECS). Dynamic host
    ports come from ``ephemeral_ports`` (default 49153-65535)."""

    def __init__(self, fleet: Fleet, strategies=None, *, random_ties: bool = False, ephemeral_ports=None):
        if not isinstance(fleet, Fleet):
            raise InputError(f"Placer needs a Fleet, got {type(fleet).__name__}")
        self.fleet = fleet
        self.strategies = list(strategies) if strategies else [Random()]
        check_request([], self.strategies)
        self.random_ties = bool(random_ties)
        self.ephemeral_ports = DEFAULT_EPHEMERAL if ephemeral_ports is None else ephemeral_range(ephemeral_ports)
        self.state = PlacementState(fleet, self.ephemeral_ports)
        self.masks = Masks(self.state)
        self.indexes = Indexes(self.state, self.masks, self.random_ties)
        self.state.observers = [self.masks, self.indexes]
        self._requests: dict[tuple, PreparedRequest] = {}
        self.prepared: list[PreparedRequest] = []

    def sync(self) -> None:
        """Follow what changed in the fleet since the last call (each event costs what it changed)."""
        self.state.sync()

    # -- placing --------------------------------------------------------------------------------------

    def prepare(self, group: str, constraints=(), strategies=None, *, explain: bool = True) -> PreparedRequest:
        """A handle for one kind of request: its constraints and strategies are checked now, and
        its ``place(count, cpu, memory, gpu=0, ports=())`` serves any demand. ``explain=False``
        leaves ``reasons`` empty when tasks are not placed (a caller that only retries saves the
        funnel and the closest instances, a scan of the fleet)."""
        request = PreparedRequest(self, *self._checked(group, constraints, strategies), explain=bool(explain))
        request.refresh()                               # the kind and its index built now: errors now
        self.prepared.append(request)
        return request

    def _checked(self, group, constraints, strategies) -> tuple[str, tuple, tuple]:
        if not isinstance(group, str) or not group:
            raise InputError("a task needs a group (e.g. service:web or family:batch)")
        constraints = _listed(constraints, "constraints")
        strategies = _listed(strategies, "strategies") if strategies else tuple(self.strategies)
        check_request(constraints, strategies)
        return group, constraints, strategies

    def place(self, count: int = 1, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=(), group: str = "",
              constraints=(), seed: int | None = None, strategies=None) -> PlacementResult:
        """Place ``count`` identical tasks of ``group``; see SPEC section 2."""
        try:
            key = (group, tuple(constraints), tuple(strategies) if strategies else None)
            request = self._requests.get(key)
        except TypeError:                               # not lists of hashable items: refused below
            key, request = None, None
        if request is None:
            checked = self._checked(group, constraints, strategies)
            request = self._requests.get(checked)
            if request is None:
                if len(self._requests) >= _REQUESTS_KEPT:
                    self._requests.clear()
                request = self._requests[checked] = PreparedRequest(self, *checked)
            if key is not None:
                self._requests[key] = request
        return request.place(count, cpu, memory, gpu, ports, seed)

    def place_many(self, counts, cpus, memories, gpus=None, requests=None, *, seeds=None) -> BatchResult:
        """Many calls in one pass, with the same results as the calls one by one: call ``i``
        places ``counts[i]`` tasks of ``cpus[i]`` cpu and ``memories[i]`` MiB (``gpus[i]`` GPUs)
        through ``requests[i]``, a prepared handle or its index in ``placer.prepared`` (default:
        the only prepared one), seeded with ``seeds[i]`` where the request draws."""
        counts, cpus, memories = (self._column(a, name) for a, name in
                                  ((counts, "counts"), (cpus, "cpus"), (memories, "memories")))
        calls = len(counts)
        gpus = np.zeros(calls, dtype=np.int64) if gpus is None else self._column(gpus, "gpus")
        if not len(cpus) == len(memories) == len(gpus) == calls:
            raise InputError("counts, cpus, memories and gpus need one entry per call")
        if counts.size and int(counts.max()) > MAX_TASKS:
            raise InputError(f"a call places at most {MAX_TASKS:,} tasks")
        handles, which = self._handles(requests, calls)
        for handle in handles:
            handle.refresh()
        draws = any(handle.draws for handle in handles)
        if seeds is not None:
            seeds = np.asarray(seeds, dtype=np.uint64)
            if seeds.shape != (calls,):
                raise InputError("seeds need one entry per call")
        elif draws:
            seeds = np.frombuffer(os.urandom(8 * calls), dtype=np.uint64).copy()
        self.sync()
        indexes = [self.indexes.index(handle.kind) for handle in handles]
        total = int(counts.sum())
        rows, tasks = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
        offsets = np.zeros(calls + 1, dtype=np.int64)
        unplaced, why, call = np.zeros(calls, dtype=np.int64), {}, 0
        zero = np.zeros(calls, dtype=np.uint64)
        while call < calls:
            call, short = _ranker.place_many(indexes, which, counts, cpus, memories, gpus,
                                             zero if seeds is None else seeds, call, rows, tasks, offsets)
            if short:
                done = call - 1
                unplaced[done] = counts[done] - (offsets[done + 1] - offsets[done])
                handle = handles[which[done]]
                why[done] = reasons(self.state, self.masks, Demand(int(cpus[done]), int(memories[done]),
                                                                     int(gpus[done])),
                                    handle.group, handle.constraints)
            elif call < calls:                          # that call's index is stale: rebuild it
                k = int(which[call])
                indexes[k] = self.indexes.index(handles[k].kind, stale=True)
        placed, numbers = rows[:offsets[calls]], tasks[:offsets[calls]]     # the calls' placements, in order
        store = self.state.store
        self.indexes.trim_log()
        return BatchResult(store.logical(placed), placed, numbers, offsets, unplaced, why,
                           seeds if draws else None, store.arns, self.state.task_id)

    @staticmethod
    def _column(values, name: str) -> np.ndarray:
        array = np.asarray(values)
        if array.ndim != 1 or (array.size and (array.dtype.kind not in "iu" or int(array.min()) < 0
                                               or int(array.max()) > MAX_AMOUNT)):
            raise InputError(f"{name} must be a list of non-negative integers")
        return np.ascontiguousarray(array, dtype=np.int64)

    def _handles(self, requests, calls: int) -> tuple[list[PreparedRequest], np.ndarray]:
        if requests is None:
            if len(self.prepared) != 1:
                raise InputError("place_many needs requests= unless exactly one request was prepared")
            return [self.prepared[0]], np.zeros(calls, dtype=np.int64)
        if isinstance(requests, (list, tuple)) and requests and isinstance(requests[0], PreparedRequest):
            handles = list(dict.fromkeys(requests))
            if any(not isinstance(h, PreparedRequest) or h.placer is not self for h in handles):
                raise InputError("requests must be handles this placer prepared")
            position = {id(h): i for i, h in enumerate(handles)}
            return handles, np.array([position[id(h)] for h in requests], dtype=np.int64)
        which = np.asarray(requests)
        if which.shape != (calls,) or (calls and (which.dtype.kind not in "iu" or int(which.min()) < 0
                                                  or int(which.max()) >= len(self.prepared))):
            raise InputError(f"requests must index placer.prepared (0..{len(self.prepared) - 1}), one per call")
        return list(self.prepared), np.ascontiguousarray(which, dtype=np.int64)

    # -- stopping -------------------------------------------------------------------------------------

    def stop(self, task_ids) -> None:
        """Stop these tasks (all or none): ids from results (or their numbers, ``result.tasks``) or
        taskArns of the fleet's; each frees exactly what it took."""
        self.sync()
        if isinstance(task_ids, np.ndarray) and task_ids.dtype.kind in "iu":
            numbers = task_ids
        else:
            items = _listed(task_ids, "task_ids")
            numbers = [self.state.task_number(t) if type(t) is not int else t for t in items]
            if None in numbers:
                raise InputError(f"no running task {items[numbers.index(None)]!r} on this placer")
        try:
            self.state.c.stop_many(numbers)
        except KeyError as error:
            bad = task_ids[error.args[0]]
            raise InputError(f"no running task {bad!r} on this placer (or named twice)") from None

    def release(self, arn: str, group: str, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=()) -> None:
        """A task this placer placed on ``arn`` with that demand has stopped (its most recent one)."""
        demand = Demand(cpu, memory, gpu, _listed(ports, "ports"))
        self.sync()
        row = self.fleet.store.position.get(arn) if isinstance(arn, str) else None
        code = self.state.groups.get(group)
        for number in reversed(self.state.c.tasks_on(row) if row is not None else []):
            task_row, task_group, task_cpu, task_memory, task_gpu, _, held = self.state.c.task(number)
            if self.state.placed(number) and task_group == code and (task_cpu, task_memory, task_gpu) == \
                    (demand.cpu, demand.memory, demand.gpu) and set(demand.static_ports) <= set(held):
                self.state.c.stop(number)
                return
        raise InputError(f"no task of {group!r} with that demand was placed on {arn!r} by this placer")

    def select_to_stop(self, group: str, count: int, strategies=None, seed: int | None = None):
        """Which ``count`` tasks of ``group`` scale-in stops, in order, each stopped before the next
        is chosen (SPEC 2b); the ECS service rule without strategies."""
        return select_to_stop(self.indexes, group, count, strategies, seed)

    # -- explaining -----------------------------------------------------------------------------------

    def reasons(self, demand: Demand, group: str, constraints) -> dict:
        """How many instances each step removes now (the same counts as the reference placer)."""
        self.sync()
        return reasons(self.state, self.masks, demand, group, _listed(constraints, "constraints"))
