"""The placement ranker: which instance each task goes to, without the GIL, whatever its demand.

A placer keeps one index per kind of request (group, constraints, strategies), and the index
serves every demand of that kind. It files the instances that may take a task of the kind
(eligible, and every constraint holds: ``allowed``); whether one fits a task (cpu, memory, GPUs,
ports) is a question asked while ranking. ``Index`` here is what every index shares (the
request's arrays, the change log it catches up from, the per-task loop, many calls in one);
the structures are ``_tree.TreeIndex`` (chains without random), ``_draws.DrawIndex`` (random
first) and ``_draws.ScanIndex`` (random later, random final ties, scale-in with random).

The ``State`` logs every row whose state changes; an index re-files the rows logged since it
last ran (``catch_up``), and the rows of its own placements at once. Every array comes checked
from ``placement.place.indexes`` (``point``); the loops trust them.
"""
cimport cython
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t, uintptr_t

cimport numpy as cnp
from placement.place._ports cimport Demand, fill_demand
from placement.place._state cimport State

import numpy as np

cnp.import_array()

NO_PORTS = np.zeros(1, dtype=np.int64)

class Stale(Exception):
    """The index is behind the state's trimmed change log, or further behind than a rebuild costs."""


def _checked(array, dtype, length, what):
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != 1 or not array.flags.c_contiguous \
            or (length is not None and len(array) != length):
        raise ValueError(f"{what} must be a contiguous {np.dtype(dtype).name} array"
                         + (f" of length {length}" if length is not None else ""))
    return array


cdef class Index:
    """What every index shares: the request's group, constraints and strategies, and the state."""

    def __init__(self, State state, spec):
        self.state = state
        self.group = spec.group
        if not 0 <= self.group < state.groups:
            raise ValueError("no such group")
        kinds = [int(kind) for kind in spec.kinds]
        if len(kinds) > MAX_STRATEGIES or not all(BINPACK_CPU <= kind <= RANDOM for kind in kinds):
            raise ValueError("at most five strategies of the known kinds")
        self.chain.count = len(kinds)
        self.chain.keys = self.chain.buckets = 0
        for s, kind in enumerate(kinds):
            self.chain.kind[s] = kind
            if kind == SPREAD_BUCKET:
                self.chain.slot[s] = self.chain.buckets
                self.chain.buckets += 1
            elif kind != RANDOM:
                self.chain.slot[s] = self.chain.keys
                self.chain.keys += 1
        self.point(spec)
        self.seen = state.log_start + state.log_size

    def point(self, spec):
        """(Re)take the arrays ``spec`` names, after the state or a spread count was reallocated."""
        cdef State state = self.state
        n = state.capacity
        group_count = _checked(spec.group_count, np.int64, n, "group_count")
        masks = list(spec.masks)
        if len(masks) > MAX_MASKS:
            raise ValueError("too many constraints")
        spreads = list(spec.spreads)
        if len(spreads) != self.chain.buckets:
            raise ValueError("one spread count per spread strategy")
        for mask in masks:
            _checked(mask, np.uint8, n, "a constraint mask")
        for spread in spreads:
            _checked(spread.bucket_of, np.uint32, n, "bucket_of")
            _checked(spread.counts, np.int64, None, "bucket counts")
            if state.n and int(spread.bucket_of[:state.n].max()) >= len(spread.counts):
                raise ValueError("a bucket beyond its counts")
        self.group_count = <int64_t*>address(group_count)
        self.cpu, self.memory, self.gpu = state.cpu, state.memory, state.gpu
        self.mask_count = len(masks)
        for k, mask in enumerate(masks):
            self.masks[k] = <const uint8_t*>address(mask)
        for k, spread in enumerate(spreads):
            self.bucket_of[k] = <const uint32_t*>address(spread.bucket_of)
            self.bucket_count[k] = <int64_t*>address(spread.counts)
        self.distinct = bool(spec.distinct)
        self.pointed = spec.layout
        self.spec = spec
        self.resize(n)

    def resize(self, Py_ssize_t capacity):
        pass

    cdef bint allowed(self, Py_ssize_t row) noexcept nogil:
        cdef int k
        if not self.state.eligible[row]:
            return 0
        for k in range(self.mask_count):
            if not self.masks[k][row]:
                return 0
        return not (self.distinct and self.group_count[row] > 0)

    cdef int64_t key(self, Py_ssize_t row, int s) noexcept nogil:
        """Strategy ``s``'s key of ``row`` now (least first)."""
        cdef int kind = self.chain.kind[s]
        if kind == BINPACK_CPU:
            return self.cpu[row]
        if kind == BINPACK_MEMORY:
            return self.memory[row]
        if kind == SPREAD_INSTANCE:
            return self.group_count[row]
        if kind == SPREAD_BUCKET:
            return self.bucket_count[self.chain.slot[s]][self.bucket_of[self.chain.slot[s]][row]]
        return 0

    cdef int64_t stop_key(self, Py_ssize_t row, int s) noexcept nogil:
        """Strategy ``s``'s key of ``row`` for scale-in, where the most comes first (negated): a
        binpack amount counts the resource the instance would have after its last task stopped."""
        cdef int kind = self.chain.kind[s]
        cdef int64_t last = self.state.last_task(row, self.group)
        if kind == BINPACK_CPU:
            return -(self.state.cpu[row] + self.state.task_table[last].cpu)
        if kind == BINPACK_MEMORY:
            return -(self.state.memory[row] + self.state.task_table[last].memory)
        return -self.key(row, s)

    cdef int refile(self, Py_ssize_t row) except -1 nogil:
        return 0

    cdef int64_t choose(self, const Demand* demand, uint64_t* rng) noexcept nogil:
        return -1

    cdef void begin(self, const Demand* demand) noexcept nogil:
        pass

    def catch_up(self):
        """Re-file the rows logged since this index last ran (``Stale``: rebuilding costs less)."""
        if not self.caught_up():
            raise Stale()

    cdef bint caught_up(self) except -1:
        cdef State state = self.state
        cdef Py_ssize_t sequence, end = state.log_start + state.log_size
        if self.seen == end:
            return 1
        if self.seen < state.log_start or end - self.seen > state.n // 4 + 64:
            return 0
        with nogil:
            for sequence in range(self.seen, end):
                self.refile(state.log_at(sequence))
        self.seen = end
        return 1

    cdef Py_ssize_t run(self, Py_ssize_t count, const Demand* demand, uint64_t* rng, int64_t* rows,
                        int64_t* tasks, int64_t* ports) except -1 nogil:
        cdef Py_ssize_t t, placed = 0
        cdef int64_t row, task
        self.begin(demand)
        for t in range(count):
            row = self.choose(demand, rng)
            if row < 0:
                break
            rows[t] = row
            task = self.state.place(row, self.group, demand, ports + t * demand.port_count)
            if tasks != NULL:
                tasks[t] = task
            self.refile(row)
            placed += 1
        self.seen = self.state.log_start + self.state.log_size
        return placed

    cpdef tuple place(self, Py_ssize_t count, int64_t cpu, int64_t memory, int64_t gpu, object ports, uint64_t seed):
        """Place up to ``count`` tasks with this demand, after re-filing what changed since the
        last call (``Stale``: rebuild this index instead). Returns (rows, the first task's number
        (the others follow it), host ports per task in request order or None, generator state)."""
        cdef Demand demand
        cdef Py_ssize_t port_count = len(ports), placed
        cdef cnp.ndarray wanted = np.ascontiguousarray(ports, dtype=np.int64) if port_count else NO_PORTS
        if count < 0:
            raise ValueError("negative count")
        fill_demand(self.state.ports, &demand, cpu, memory, gpu, <const int64_t*>cnp.PyArray_DATA(wanted), port_count)
        if not self.caught_up():
            raise Stale()
        cdef cnp.ndarray rows = int64_array(count)
        cdef object host = int64_array(count, port_count) if port_count else None
        cdef int64_t* host_out = <int64_t*>cnp.PyArray_DATA(host) if port_count else <int64_t*>cnp.PyArray_DATA(wanted)
        cdef uint64_t rng = seed
        cdef int64_t first = self.state.tasks
        cdef int64_t* out = <int64_t*>cnp.PyArray_DATA(rows)
        if count > 64:                              # handing the GIL over costs more than a few tasks
            with nogil:
                placed = self.run(count, &demand, &rng, out, NULL, host_out)
        else:
            placed = self.run(count, &demand, &rng, out, NULL, host_out)
        if placed < count:
            return rows[:placed], first, host[:placed] if port_count else None, rng
        return rows, first, host, rng


cdef cnp.ndarray int64_array(Py_ssize_t rows, Py_ssize_t columns=-1):
    """An empty int64 array, ``rows`` long or ``rows`` x ``columns``, without a Python call."""
    cdef cnp.npy_intp dims[2]
    dims[0], dims[1] = rows, max(columns, 0)
    return cnp.PyArray_EMPTY(1 if columns < 0 else 2, dims, cnp.NPY_INT64, 0)


# -- many calls in one --------------------------------------------------------------------------------

def place_many(list indexes, int64_t[::1] which, int64_t[::1] counts, int64_t[::1] cpus, int64_t[::1] memories,
               int64_t[::1] gpus, uint64_t[::1] seeds, Py_ssize_t start, int64_t[::1] rows, int64_t[::1] tasks,
               int64_t[::1] offsets):
    """Calls ``start``, ``start + 1``, ... one after another, exactly as separate ``place`` calls
    (call ``i``: ``counts[i]`` tasks of ``cpus[i]``, ``memories[i]``, ``gpus[i]`` by
    ``indexes[which[i]]``, seeded with ``seeds[i]``), its placements written from ``offsets[i]``.
    Returns (the next call, whether the last one left tasks unplaced): it stops after a call that
    did, for reasons to be counted, and before one whose index is stale."""
    cdef Py_ssize_t call, calls = len(which), placed
    cdef Index index
    cdef Demand demand
    cdef int64_t[::1] no_ports = NO_PORTS
    cdef uint64_t rng
    if not (len(counts) == len(cpus) == len(memories) == len(gpus) == len(seeds) == calls
            and len(offsets) == calls + 1 and 0 <= start <= calls):
        raise ValueError("one entry per call")
    for call in range(start, calls):
        if not 0 <= which[call] < len(indexes) or counts[call] < 0 \
                or offsets[call] + counts[call] > min(len(rows), len(tasks)):
            raise ValueError("call out of range")
        index = <Index>indexes[which[call]]
        if not index.caught_up():
            return call, False
        fill_demand(index.state.ports, &demand, cpus[call], memories[call], gpus[call], &no_ports[0], 0)
        rng = seeds[call]
        with nogil:
            placed = index.run(counts[call], &demand, &rng, &rows[offsets[call]] if counts[call] else NULL,
                               &tasks[offsets[call]] if counts[call] else NULL, &no_ports[0])
        offsets[call + 1] = offsets[call] + placed
        if placed < counts[call]:
            return call + 1, True
    return calls, False
