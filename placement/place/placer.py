"""The fast placer: ``Placer(fleet, strategies)``, equal to the reference placer task by task.

A thin layer over the parts that own the work: the placement state (``state``: what placing and
stopping changes, following the fleet's events), the constraint masks (``masks``), the ranker
indexes kept per kind of request (``indexes``, over ``_ranker``), the reasons for unplaced tasks
(``reasons``) and scale-in (``scalein``). ``prepare`` gives a scheduler a handle for one kind of
request (group, constraints, strategies) whose ``place`` is the fast path, whatever the demand of
each call; ``place`` with keywords goes through a cached handle; ``place_many`` runs many calls
in one pass of the ranker.

Threads: a placer is one scheduler's state and is not thread-safe by design; it refuses to be
used from two threads at once instead of corrupting that state. Every public method, and
``PreparedRequest.place``, takes the placer's guard (``state.Guard``, a test-and-set) without
waiting; a call that finds it taken raises ``ConcurrentUseError`` and changes nothing. The one
wait is for a fleet mutation in another thread that is catching the placer up and compacting
(a moment; see ``PlacementState.before_compaction``). The prepared request's guard costs about
0.2 us a call on top of the C fast path (a Python frame and the token; measured on a 10k demo
fleet): the price of guarding from Python, ``_request.pyx`` unchanged.

The fleet it follows may be changed by other threads meanwhile: the placer reads the fleet only
under the fleet's lock, shared (catching up with its journal, building a kind's masks and cells,
explaining, a whole ``place_many``, and the whole of a call whose constraints read placed state,
since those are evaluated again on the fleet's live columns while placing), so it always sees
whole mutations; a placement runs on the fleet as of the catch-up at its start (a task may land
on an instance deregistered a moment later: the next call's catch-up stops it, as for one
thread).
"""
from __future__ import annotations

import functools
import os

import numpy as np

from placement.errors import InputError
from placement.fleet.model import Fleet
from placement.place import _ranker
from placement.place._request import Request
from placement.place.indexes import Indexes
from placement.place.masks import Masks, reads_placed_state
from placement.place.ports import DEFAULT_EPHEMERAL, ephemeral_range
from placement.place.reasons import reasons
from placement.place.requests import MAX_AMOUNT, MAX_TASKS, Demand, MemberOf, Random, check_request, task_count
from placement.place.result import BatchResult, PlacementResult
from placement.place.scalein import select_to_stop
from placement.place.state import Guard, PlacementState

_REQUESTS_KEPT = 4096       # keyword calls' handles, by (group, constraints, strategies)
_place = Request.place      # the C fast path, unguarded: only ever called holding the guard


def _exclusive(method):
    """``method`` holding the placer's guard; a call while another thread holds it is refused."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        guard = self._guard
        try:
            token = guard.take()
        except IndexError:
            token = guard.enter_contended()
        try:
            return method(self, *args, **kwargs)
        finally:
            guard.give(token)
    return guarded


def _guarded_place(request: "PreparedRequest", guard: Guard):
    """``request.place``: the C fast path holding the guard, as a closure kept in the request's
    ``__dict__`` (found before the class's method), so a call looks nothing else up."""
    take, give, contended = guard.take, guard.give, guard.enter_contended
    if request.reads_fleet:
        return functools.partial(PreparedRequest.place, request)

    def place(count=1, cpu=0, memory=0, gpu=0, ports=(), seed=None):
        try:
            token = take()
        except IndexError:
            token = contended()
        try:
            return _place(request, count, cpu, memory, gpu, ports, seed)
        finally:
            give(token)
    place.__doc__ = PreparedRequest.place.__doc__
    return place


def _reads_fleet(constraints) -> bool:
    """Whether placing reads the fleet's own columns: a constraint that reads placed state is
    evaluated again, while placing, on the instance a task lands on, and its other clauses read
    the fleet's live buffers (so such a call holds the fleet's lock, shared, throughout)."""
    return any(isinstance(c, MemberOf) and reads_placed_state(c.predicate.ir) for c in constraints)


def _listed(items, what: str) -> tuple:
    """A request's list argument as a tuple; a string or a lone item is an input error."""
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise InputError(f"{what} must be a list, got {items!r}")
    return tuple(items)


class PreparedRequest(Request):
    """One kind of request (group, constraints, strategies), checked once: ``place(count, cpu,
    memory, gpu=0, ports=(), seed=None)`` is the fast path for any demand (``_request.pyx``),
    and keeps its index across calls. This class is what that path hands the rare cases to.
    ``place`` holds the placer's guard around the fast path (see the module docstring)."""

    def __init__(self, placer: "Placer", group: str, constraints: tuple, strategies: tuple, explain: bool = True):
        self.placer, self.group, self.constraints, self.strategies = placer, group, constraints, strategies
        self.explain = explain
        self.state, self.store, self.indexes = placer.state, placer.state.store, placer.indexes
        self.names = placer.state.task_id
        self.generation = -1
        self.guard = placer._guard
        self.reads_fleet = _reads_fleet(constraints)
        self.place = _guarded_place(self, self.guard)

    def place(self, count=1, cpu=0, memory=0, gpu=0, ports=(), seed=None):
        """Place ``count`` identical tasks; see SPEC section 2. Refused (``ConcurrentUseError``)
        while another thread is inside a call to this request's placer. (What runs for
        ``request.place(...)`` is the same code as a closure, ``_guarded_place``.)"""
        guard = self.guard
        try:
            token = guard.take()
        except IndexError:
            token = guard.enter_contended()
        try:
            if self.reads_fleet:
                with self.placer.fleet.reading():
                    return _place(self, count, cpu, memory, gpu, ports, seed)
            return _place(self, count, cpu, memory, gpu, ports, seed)
        finally:
            guard.give(token)

    def checked(self, count, cpu, memory, gpu, ports) -> tuple[int, tuple]:
        """The count and ports of a demand outside the fast path's plain ints, or an InputError."""
        count = task_count(count)
        demand = Demand(cpu, memory, gpu, () if ports is None else _listed(ports, "ports"))
        return count, demand.ports

    def refresh(self) -> None:
        """Follow the fleet; (re)find this kind's index and point it at the current arrays (the
        kind's masks and cells read the fleet: under its lock, at the version just caught up with)."""
        with self.placer.fleet.reading():
            self.state.sync()
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
        with self.placer.fleet.reading():         # reasons read the fleet: caught up, under its lock
            self.state.sync()
            return reasons(self.state, self.placer.masks, Demand(cpu, memory, gpu, ports), self.group,
                           self.constraints)

    def trim(self) -> None:
        self.indexes.trim_log()


class Placer:
    """Places tasks on ``fleet`` with ``strategies`` (default: random, as ECS). Dynamic host
    ports come from ``ephemeral_ports`` (default 49153-65535).

    Threading contract: one thread at a time. The placer is one scheduler's state; a call
    (``place``, ``place_many``, ``prepare``, ``stop``, ``release``, ``select_to_stop``,
    ``reasons``, ``sync``, a prepared request's ``place``) made while another thread is inside one
    raises ``ConcurrentUseError`` and changes nothing. Handing a placer from thread to thread
    between calls is fine. Other threads may change the fleet at any time: each call catches up
    with the fleet under the fleet's lock and sees only whole mutations."""

    def __init__(self, fleet: Fleet, strategies=None, *, random_ties: bool = False, ephemeral_ports=None):
        if not isinstance(fleet, Fleet):
            raise InputError(f"Placer needs a Fleet, got {type(fleet).__name__}")
        self.fleet = fleet
        self.strategies = list(strategies) if strategies else [Random()]
        check_request([], self.strategies)
        self.random_ties = bool(random_ties)
        self.ephemeral_ports = DEFAULT_EPHEMERAL if ephemeral_ports is None else ephemeral_range(ephemeral_ports)
        self._guard = guard = Guard()
        token = guard.take()                # held while building: the state listens from its first moment
        try:
            self.state = PlacementState(fleet, self.ephemeral_ports, guard=guard)
            self.masks = Masks(self.state)
            self.indexes = Indexes(self.state, self.masks, self.random_ties)
            self.state.observers = [self.masks, self.indexes]
        finally:
            guard.give(token)
        self._requests: dict[tuple, PreparedRequest] = {}
        self.prepared: list[PreparedRequest] = []

    @_exclusive
    def sync(self) -> None:
        """Follow what changed in the fleet since the last call (each event costs what it changed)."""
        self.state.sync()

    # -- placing --------------------------------------------------------------------------------------

    @_exclusive
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
        guard = self._guard
        try:
            token = guard.take()
        except IndexError:
            token = guard.enter_contended()
        try:
            try:
                key = (group, tuple(constraints), tuple(strategies) if strategies else None)
                request = self._requests.get(key)
            except TypeError:                           # not lists of hashable items: refused below
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
            if request.reads_fleet:
                with self.fleet.reading():
                    return _place(request, count, cpu, memory, gpu, ports, seed)
            return _place(request, count, cpu, memory, gpu, ports, seed)
        finally:
            guard.give(token)

    @_exclusive
    def place_many(self, counts, cpus, memories, gpus=None, requests=None, *, seeds=None) -> BatchResult:
        """Many calls in one pass, with the same results as the calls one by one: call ``i``
        places ``counts[i]`` tasks of ``cpus[i]`` cpu and ``memories[i]`` MiB (``gpus[i]`` GPUs)
        through ``requests[i]``, a prepared handle or its index in ``placer.prepared`` (default:
        the only prepared one), seeded with ``seeds[i]`` where the request draws. The whole batch
        runs on one version of the fleet (mutations in other threads wait for it)."""
        with self.fleet.reading():
            return self._place_many(counts, cpus, memories, gpus, requests, seeds)

    def _place_many(self, counts, cpus, memories, gpus, requests, seeds) -> BatchResult:
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
        self.state.sync()
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

    @_exclusive
    def stop(self, task_ids) -> None:
        """Stop these tasks (all or none): ids from results (or their numbers, ``result.tasks``) or
        taskArns of the fleet's; each frees exactly what it took."""
        self.state.sync()
        if isinstance(task_ids, np.ndarray) and task_ids.dtype.kind in "iu":
            numbers = items = task_ids
        else:
            items = _listed(task_ids, "task_ids")
            numbers = [self.state.task_number(t) if type(t) is not int else t if 0 <= t < 1 << 62 else None
                       for t in items]
            if None in numbers:
                raise InputError(f"no running task {items[numbers.index(None)]!r} on this placer")
        try:
            self.state.c.stop_many(numbers)
        except KeyError as error:
            bad = items[error.args[0]]        # the listed items: task_ids may be a set or generator
            raise InputError(f"no running task {bad!r} on this placer (or named twice)") from None

    @_exclusive
    def release(self, arn: str, group: str, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=()) -> None:
        """A task this placer placed on ``arn`` with that demand has stopped (its most recent one)."""
        demand = Demand(cpu, memory, gpu, _listed(ports, "ports"))
        with self.fleet.reading():
            self.state.sync()
            row = self.fleet.store.position.get(arn) if isinstance(arn, str) else None
        code = self.state.groups.get(group)
        for number in reversed(self.state.c.tasks_on(row) if row is not None else []):
            task_row, task_group, task_cpu, task_memory, task_gpu, _, held = self.state.c.task(number)
            if self.state.placed(number) and task_group == code and (task_cpu, task_memory, task_gpu) == \
                    (demand.cpu, demand.memory, demand.gpu) and set(demand.static_ports) <= set(held):
                self.state.c.stop(number)
                return
        raise InputError(f"no task of {group!r} with that demand was placed on {arn!r} by this placer")

    @_exclusive
    def select_to_stop(self, group: str, count: int, strategies=None, seed: int | None = None):
        """Which ``count`` tasks of ``group`` scale-in stops, in order, each stopped before the next
        is chosen (SPEC 2b); the ECS service rule without strategies."""
        with self.fleet.reading():
            return select_to_stop(self.indexes, group, count, strategies, seed)

    # -- explaining -----------------------------------------------------------------------------------

    @_exclusive
    def reasons(self, demand: Demand, group: str, constraints) -> dict:
        """How many instances each step removes now (the same counts as the reference placer)."""
        with self.fleet.reading():
            self.state.sync()
            return reasons(self.state, self.masks, demand, group, _listed(constraints, "constraints"))
