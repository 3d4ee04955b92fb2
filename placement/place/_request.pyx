"""A prepared request's per-call path, and what it returns, in C.

``Request.place`` is what a scheduler calls for every request: it checks the demand, sees that
nothing changed that needs Python (a fleet event, an index to build or point again), has the
index place the tasks, and wraps the arrays in a ``PlacementResult`` without a Python object per
task. Everything rare goes back to the Python subclass (``placement.place.placer.PreparedRequest``):
``checked`` (a demand with ports, or one to refuse), ``refresh`` (follow the fleet, find the
index), ``rebuilt`` (an index too far behind), ``reasons_for`` (tasks left unplaced), ``trim``.
"""
from libc.stdint cimport int64_t, uint64_t

from placement.place._ranker cimport Index

import os

import numpy as np

from placement.place._ranker import Stale
from placement.place.requests import MAX_AMOUNT, MAX_TASKS, seed_value

cdef object UINT64 = (1 << 64) - 1


cdef class PlacementResult:
    """Task ``t`` went to the instance at ``positions[t]``; the tasks past ``len(positions)``
    were not placed, for the ``reasons`` (counted for the first of them). Arrays first:
    ``positions``, ``tasks`` (task numbers), ``host_ports`` (per task, each requested port's
    host port in request order); ``arns``, ``task_ids`` and ``placements`` are built when read."""

    cdef readonly object positions, rows, fleet_arns, reasons, seed
    cdef readonly Py_ssize_t unplaced
    cdef readonly int64_t first_task          # the tasks placed are numbered from here on (-1: none)
    cdef object names, ports, _placements

    def __init__(self, positions, fleet_arns, Py_ssize_t unplaced, reasons=None, seed=None, *, rows=None,
                 int64_t first_task=-1, host_ports=None, names=None):
        self.positions = positions
        self.rows = positions if rows is None else rows          # what fleet_arns is indexed by
        self.fleet_arns, self.unplaced, self.seed = fleet_arns, unplaced, seed
        self.reasons = {} if reasons is None else reasons
        self.first_task, self.ports, self.names = first_task, host_ports, names

    @property
    def tasks(self):
        """The placed tasks' numbers (``Placer.stop`` takes them), or None from the reference."""
        return None if self.first_task < 0 else np.arange(self.first_task, self.first_task + len(self.positions))

    @property
    def host_ports(self):
        """int64 [task, port]: the host port of each requested port, in request order."""
        return np.zeros((len(self.positions), 0), dtype=np.int64) if self.ports is None else self.ports

    @property
    def arns(self) -> list:
        arns = self.fleet_arns
        return [arns[row] for row in self.rows.tolist()]

    @property
    def task_ids(self) -> list:
        if self.first_task < 0:
            return []
        names = self.names
        return [names(number) for number in range(self.first_task, self.first_task + len(self.positions))]

    @property
    def placements(self) -> tuple:
        if self._placements is None:
            from placement.place.result import Placement
            ids = self.task_ids or [None] * len(self.positions)
            ports = self.host_ports.tolist()
            self._placements = tuple(Placement(t, arn, position, task_id, tuple(host)) for t, (arn, position, task_id, host)
                                     in enumerate(zip(self.arns, self.positions.tolist(), ids, ports)))
        return self._placements

    def to_json(self) -> dict:
        return {"placements": [{"task": p.task, "containerInstanceArn": p.arn, "taskId": p.task_id,
                                "hostPorts": list(p.host_ports)} for p in self.placements],
                "unplaced": self.unplaced, "reasons": self.reasons}

    def __repr__(self) -> str:
        return f"<PlacementResult {len(self.positions)} placed, {self.unplaced} not>"


cdef class Request:
    """One kind of request (group, constraints, strategies), checked once; see the module docstring."""

    cdef public object placer, state, store, indexes, names, kind
    cdef public str group
    cdef public tuple constraints, strategies
    cdef public bint draws
    cdef public object generation
    cdef public Index index

    def place(self, count=1, cpu=0, memory=0, gpu=0, ports=(), seed=None):
        """Place ``count`` identical tasks; see SPEC section 2."""
        if type(ports) is not tuple or ports or not (type(count) is int and type(cpu) is int and type(memory) is int and type(gpu) is int
                         and 0 <= count <= MAX_TASKS and 0 <= cpu <= MAX_AMOUNT and 0 <= memory <= MAX_AMOUNT
                         and 0 <= gpu <= MAX_AMOUNT):
            count, ports = self.checked(count, cpu, memory, gpu, ports)
        state = self.state
        if state.journal_cursor != self.store.journal_end or self.generation != self.indexes.generation \
                or self.index is None or self.index.pointed != state.layout:
            self.refresh()
        if seed is None and self.draws:
            seed = int.from_bytes(os.urandom(8), "little")
        if seed is not None and type(seed) is not int:
            seed = seed_value(seed)                      # numpy integers; anything else an input error
        cdef uint64_t drawn = 0 if seed is None else seed & UINT64
        try:
            rows, first, host, _ = self.index.place(count, cpu, memory, gpu, ports, drawn)
        except Stale:
            rows, first, host, _ = self.rebuilt().place(count, cpu, memory, gpu, ports, drawn)
        cdef PlacementResult result = PlacementResult.__new__(PlacementResult)
        store = self.store
        result.positions = store.logical(rows) if len(store.dead_rows) else rows
        result.rows, result.fleet_arns, result.first_task, result.ports = rows, store.arns, first, host
        result.unplaced = count - len(rows)
        result.seed, result.names = seed, self.names
        result.reasons = self.reasons_for(cpu, memory, gpu, ports) if result.unplaced else {}
        if self.index.state.log_size > 4 * self.index.state.n + 1024:
            self.trim()
        return result
