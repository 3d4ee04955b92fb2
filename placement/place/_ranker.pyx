"""The placement ranker: picks an instance for each task, without the GIL.

Three ways to the same answer (the least key under the strategies in order, then the lowest
position, or a seeded draw where the chain says so), and the Python ``Placer`` picks one:

- ``HeapIndex`` (no ``random`` in the chain): every instance that can take the task now sits in
  the binary heap of its cell, the instances sharing all its spread buckets, ordered by the
  per-instance keys (binpack amounts, per-instance spread counts, position). Within a cell the
  bucket keys are equal, so the best instance overall is the best of the cells' tops:
  O(cells + log instances) per task.
- ``DrawIndex`` (``random`` first): the instances that can take the task now, as a Fenwick tree
  over positions; the draw picks the k-th of them in position order, O(log instances) per task.
- ``place_batch`` scans: per task it compacts the candidate list, applies the strategies in
  order, each keeping only the instances with the least key, and breaks the remaining ties by
  position or a draw. O(candidates) per task; the way for ``random`` after other strategies and
  for random final ties.

An index is built once for one kind of request (group, demand, constraints, strategies) and kept
across calls: ``update(rows)`` re-files instances whose state changed since (placements of other
requests, released tasks), so a call costs O(tasks · log instances), not O(instances). Everything
updates the shared state arrays in place. The ``Placer`` prepares and validates every array; the
loops only trust them.
"""
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport qsort

import numpy as np

DEF MAX_STRATEGIES = 5
DEF MAX_TALLIES = 4


cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    """The generator of ``placement.place.result.SplitMix64``, bit for bit."""
    state[0] += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef struct Ranking:
    int strategies
    int kind[MAX_STRATEGIES]
    const uint32_t* bucket_of[MAX_STRATEGIES]   # SPREAD_BUCKET: the instance's bucket
    int64_t* bucket_count[MAX_STRATEGIES]       # SPREAD_BUCKET: tasks of the group per bucket
    int64_t* cpu
    int64_t* memory
    int64_t* gpu
    int64_t* group_count
    int tallies
    int64_t* tally[MAX_TALLIES]                 # more per-row task counts, each one up per task placed
    uint8_t* allowed
    int64_t need_cpu                            # the task's demand
    int64_t need_memory
    int64_t need_gpu
    bint leave                                  # a placed-on instance takes no more (ports, distinctInstance)


cdef inline int64_t key_of(const Ranking* r, int s, int64_t i) noexcept nogil:
    cdef int kind = r.kind[s]
    if kind == BINPACK_CPU:
        return r.cpu[i]
    if kind == BINPACK_MEMORY:
        return r.memory[i]
    if kind == SPREAD_INSTANCE:
        return r.group_count[i]
    return r.bucket_count[s][r.bucket_of[s][i]]


cdef const void* address(object array):
    return <const void*><uintptr_t>array.__array_interface__["data"][0]


cdef Py_ssize_t prepare(Ranking* r, dict state, list strategies, int64_t need_cpu, int64_t need_memory,
                        int64_t need_gpu, bint leave) except -1:
    """Point ``r`` at the state arrays and strategies after checking them; returns the row count."""
    cdef Py_ssize_t n = len(state["cpu"])
    cdef int s
    tallies = state.get("tallies", [])
    if len(strategies) > MAX_STRATEGIES or len(tallies) > MAX_TALLIES:
        raise ValueError("too many strategies or tallies")
    for name, array in [(name, state[name]) for name in ("cpu", "memory", "gpu", "group_count")] + \
            [("tallies", tally) for tally in tallies]:
        if array.dtype != np.int64 or len(array) != n or not array.flags.c_contiguous:
            raise ValueError(f"state {name} must be contiguous int64 of length {n}")
    if len({id(array) for array in [state["group_count"], *tallies]}) != 1 + len(tallies):
        raise ValueError("a tally is counted twice")
    if state["allowed"].dtype != np.uint8 or len(state["allowed"]) != n or not state["allowed"].flags.c_contiguous:
        raise ValueError("state allowed must be contiguous uint8")
    r.cpu = <int64_t*>address(state["cpu"])
    r.memory = <int64_t*>address(state["memory"])
    r.gpu = <int64_t*>address(state["gpu"])
    r.group_count = <int64_t*>address(state["group_count"])
    r.allowed = <uint8_t*>address(state["allowed"])
    r.tallies = len(tallies)
    for s, tally in enumerate(tallies):
        r.tally[s] = <int64_t*>address(tally)
    r.need_cpu, r.need_memory, r.need_gpu, r.leave = need_cpu, need_memory, need_gpu, leave
    r.strategies = len(strategies)
    for s, (kind, bucket_of, bucket_count) in enumerate(strategies):
        if kind not in (BINPACK_CPU, BINPACK_MEMORY, SPREAD_INSTANCE, SPREAD_BUCKET, RANDOM):
            raise ValueError(f"unknown strategy kind {kind}")
        r.kind[s] = kind
        if kind == SPREAD_BUCKET:
            if bucket_of.dtype != np.uint32 or len(bucket_of) != n or bucket_count.dtype != np.int64 \
                    or not bucket_of.flags.c_contiguous or not bucket_count.flags.c_contiguous \
                    or (n and int(bucket_of.max()) >= len(bucket_count)):
                raise ValueError("spread buckets are inconsistent")
            r.bucket_of[s] = <const uint32_t*>address(bucket_of)
            r.bucket_count[s] = <int64_t*>address(bucket_count)
    return n


cdef inline bint fits(const Ranking* r, int64_t i) noexcept nogil:
    return r.allowed[i] and r.cpu[i] >= r.need_cpu and r.memory[i] >= r.need_memory and r.gpu[i] >= r.need_gpu


cdef inline void commit(Ranking* r, int64_t i) noexcept nogil:
    cdef int s
    r.cpu[i] -= r.need_cpu
    r.memory[i] -= r.need_memory
    r.gpu[i] -= r.need_gpu
    r.group_count[i] += 1
    for s in range(r.tallies):
        r.tally[s][i] += 1
    for s in range(r.strategies):
        if r.kind[s] == SPREAD_BUCKET:
            r.bucket_count[s][r.bucket_of[s][i]] += 1
    if r.leave:
        r.allowed[i] = 0


cdef inline bint before(const Ranking* r, int64_t a, int64_t b, bint instance_keys_only) noexcept nogil:
    """Whether ``a`` ranks before ``b``: keys in strategy order, then position."""
    cdef int s
    cdef int64_t ka, kb
    for s in range(r.strategies):
        if instance_keys_only and r.kind[s] == SPREAD_BUCKET:
            continue
        ka = key_of(r, s, a)
        kb = key_of(r, s, b)
        if ka != kb:
            return ka < kb
    return a < b


def _rows(object rows, Py_ssize_t n):
    """``rows`` as a checked int64 view: every one a row of the fleet."""
    array = np.ascontiguousarray(rows, dtype=np.int64)
    if array.ndim != 1 or (len(array) and (int(array.min()) < 0 or int(array.max()) >= n)):
        raise ValueError("rows out of range")
    return array


cdef int descending(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0], y = (<const int64_t*>b)[0]
    return (x < y) - (x > y)


cdef class _Index:
    """What both indexes share: the checked state arrays and the request's demand."""

    cdef Ranking r
    cdef Py_ssize_t n
    cdef readonly dict state          # keeps the arrays ``r`` points into alive
    cdef readonly list strategies
    cdef int64_t[::1] tasks_here      # per row: tasks placed on it by the running call (0 between calls)
    cdef int64_t[::1] rows_out, counts_out
    cdef Py_ssize_t distinct

    def __init__(self, dict state, list strategies, int64_t need_cpu, int64_t need_memory, int64_t need_gpu,
                 bint leave_after_placing):
        self.n = prepare(&self.r, state, strategies, need_cpu, need_memory, need_gpu, leave_after_placing)
        self.state, self.strategies = state, strategies
        self.tasks_here = np.zeros(self.n, dtype=np.int64)

    cdef int begin(self, Py_ssize_t count, int64_t[::1] chosen, int64_t[::1] rows, int64_t[::1] counts) except -1:
        """Check a call's output arrays: ``chosen`` per task; ``rows`` and ``counts`` receive the
        distinct rows placed on, in first-placed order, with their tasks."""
        if not 0 <= count <= len(chosen) or len(rows) < min(count, self.n) or len(counts) < len(rows):
            raise ValueError("count or output arrays out of range")
        self.rows_out, self.counts_out, self.distinct = rows, counts, 0

    cdef inline void take(self, int64_t i) noexcept nogil:
        """Place one task on ``i``: move the state, count the row, re-file it."""
        commit(&self.r, i)
        if self.tasks_here[i] == 0:
            self.rows_out[self.distinct] = i
            self.distinct += 1
        self.tasks_here[i] += 1
        self.refile(i)

    cdef Py_ssize_t end(self) noexcept nogil:
        cdef Py_ssize_t j
        for j in range(self.distinct):
            self.counts_out[j] = self.tasks_here[self.rows_out[j]]
            self.tasks_here[self.rows_out[j]] = 0
        return self.distinct

    def update(self, rows) -> None:
        """Re-file ``rows`` (any order, repeats allowed) after their state changed outside the index."""
        cdef int64_t[::1] checked = _rows(rows, self.n)
        cdef Py_ssize_t j
        with nogil:
            for j in range(len(checked)):
                self.refile(checked[j])

    cdef void refile(self, int64_t i) noexcept nogil:
        pass


cdef class HeapIndex(_Index):
    """Per-cell binary heaps with the position of every instance in them (-1: not a candidate)."""

    cdef int64_t[::1] cell_of, start, size, heap, where
    cdef int64_t[::1] repair          # slots to sift down after a bulk update
    cdef uint8_t[::1] marked          # per slot: already in ``repair``
    cdef Py_ssize_t cells

    def __init__(self, dict state, list strategies, cell_of, Py_ssize_t cells, int64_t need_cpu,
                 int64_t need_memory, int64_t need_gpu, bint leave_after_placing):
        _Index.__init__(self, state, strategies, need_cpu, need_memory, need_gpu, leave_after_placing)
        cdef int s
        for s in range(self.r.strategies):
            if self.r.kind[s] == RANDOM:
                raise ValueError("random needs a DrawIndex or place_batch")
        cell_array = np.ascontiguousarray(cell_of, dtype=np.int64)
        if len(cell_array) != self.n or cells < 1 or (self.n and not 0 <= int(cell_array.min())
                                                      <= int(cell_array.max()) < cells):
            raise ValueError("cells out of range")
        sizes = np.bincount(cell_array, minlength=cells).astype(np.int64)
        self.cell_of, self.cells = cell_array, cells
        self.start = np.cumsum(sizes) - sizes
        self.size = np.zeros(cells, dtype=np.int64)
        self.heap = np.empty(max(1, self.n), dtype=np.int64)
        self.where = np.full(self.n, -1, dtype=np.int64)
        self.repair = np.empty(max(1, self.n), dtype=np.int64)
        self.marked = np.zeros(max(1, self.n), dtype=np.uint8)
        cdef Py_ssize_t cell, j, i
        with nogil:
            for i in range(self.n):           # position order, then heapify each cell
                if fits(&self.r, i):
                    cell = self.cell_of[i]
                    self.put(i, self.start[cell] + self.size[cell])
                    self.size[cell] += 1
            for cell in range(cells):
                for j in range(self.size[cell] // 2 - 1, -1, -1):
                    self.sift_down(cell, j)

    def __len__(self) -> int:
        return int(np.asarray(self.size).sum())

    cdef inline void put(self, int64_t i, Py_ssize_t at) noexcept nogil:
        self.heap[at] = i
        self.where[i] = at

    cdef void sift_up(self, Py_ssize_t cell, Py_ssize_t at) noexcept nogil:
        cdef Py_ssize_t base = self.start[cell], parent
        cdef int64_t item = self.heap[base + at]
        while at > 0:
            parent = (at - 1) // 2
            if not before(&self.r, item, self.heap[base + parent], True):
                break
            self.put(self.heap[base + parent], base + at)
            at = parent
        self.put(item, base + at)

    cdef void sift_down(self, Py_ssize_t cell, Py_ssize_t at) noexcept nogil:
        cdef Py_ssize_t base = self.start[cell], size = self.size[cell], child
        cdef int64_t item = self.heap[base + at]
        while True:
            child = 2 * at + 1
            if child >= size:
                break
            if child + 1 < size and before(&self.r, self.heap[base + child + 1], self.heap[base + child], True):
                child += 1
            if not before(&self.r, self.heap[base + child], item, True):
                break
            self.put(self.heap[base + child], base + at)
            at = child
        self.put(item, base + at)

    def update(self, rows) -> None:
        """Re-file ``rows`` (any order, repeats allowed) after their state changed outside the
        index. Several keys may have changed at once, and one sift per row cannot repair that (a
        sift compares with rows still out of place), so first every row joins, stays in or
        leaves its heap, then the heaps are repaired as heapify does, sifting down bottom-up,
        but only from the slots touched and along their paths to the top: O(rows · log² n)."""
        cdef int64_t[::1] checked = _rows(rows, self.n)
        touched_buffer = np.empty(max(1, 2 * len(checked)), dtype=np.int64)
        cdef int64_t[::1] touched = touched_buffer       # (cell, slot) pairs
        cdef Py_ssize_t j, k = 0, slots = 0, cell, at, last
        cdef int64_t i, g
        with nogil:
            for j in range(len(checked)):
                i = checked[j]
                cell = self.cell_of[i]
                if fits(&self.r, i):
                    if self.where[i] < 0:
                        self.put(i, self.start[cell] + self.size[cell])
                        self.size[cell] += 1
                    at = self.where[i]
                elif self.where[i] >= 0:
                    at = self.where[i]
                    self.where[i] = -1
                    self.size[cell] -= 1
                    last = self.start[cell] + self.size[cell]
                    if at == last:
                        continue
                    self.put(self.heap[last], at)
                else:
                    continue
                touched[2 * k], touched[2 * k + 1] = cell, at
                k += 1
            for j in range(k):
                cell = touched[2 * j]
                at = touched[2 * j + 1] - self.start[cell]
                while at < self.size[cell]:       # a slot past the end was emptied by a later row
                    g = self.start[cell] + at
                    if self.marked[g]:
                        break                     # and so are all its ancestors
                    self.marked[g] = 1
                    self.repair[slots] = g
                    slots += 1
                    if at == 0:
                        break
                    at = (at - 1) // 2
            qsort(&self.repair[0], slots, sizeof(int64_t), descending)
            for j in range(slots):                # children before parents, as in heapify
                g = self.repair[j]
                self.marked[g] = 0
                cell = self.cell_of[self.heap[g]]
                self.sift_down(cell, g - self.start[cell])

    cdef void refile(self, int64_t i) noexcept nogil:
        """Put instance ``i`` where its state says: in its cell's heap at its key, or out. Right
        when ``i`` is the only instance whose keys changed since the heap was last in order."""
        cdef Py_ssize_t cell = self.cell_of[i], base = self.start[cell], at, last
        cdef int64_t moved
        if fits(&self.r, i):
            if self.where[i] < 0:
                at = self.size[cell]
                self.size[cell] += 1
                self.put(i, base + at)
            else:
                at = self.where[i] - base
            self.sift_up(cell, at)
            self.sift_down(cell, self.where[i] - base)
        elif self.where[i] >= 0:
            at = self.where[i] - base
            self.where[i] = -1
            self.size[cell] -= 1
            last = self.size[cell]
            if at != last:
                moved = self.heap[base + last]
                self.put(moved, base + at)
                self.sift_up(cell, at)
                self.sift_down(cell, self.where[moved] - base)

    def place(self, Py_ssize_t count, int64_t[::1] chosen, uint64_t seed_state, int64_t[::1] rows,
              int64_t[::1] counts):
        """Place up to ``count`` tasks, writing the instances into ``chosen``; returns (tasks
        placed, generator state, distinct rows), the state untouched: nothing is drawn here."""
        self.begin(count, chosen, rows, counts)
        cdef Py_ssize_t t, cell, best, placed = 0
        cdef int64_t i
        with nogil:
            for t in range(count):
                best = -1
                for cell in range(self.cells):
                    if self.size[cell] and (best < 0 or before(&self.r, self.heap[self.start[cell]],
                                                               self.heap[self.start[best]], False)):
                        best = cell
                if best < 0:
                    break
                i = self.heap[self.start[best]]
                chosen[placed] = i
                placed += 1
                self.take(i)
        return placed, seed_state, self.end()


cdef class DrawIndex(_Index):
    """The candidates as a Fenwick tree over positions, for chains that start with ``random``."""

    cdef uint8_t[::1] member
    cdef int64_t[::1] tree           # 1-based Fenwick sums of ``member``
    cdef int64_t total
    cdef Py_ssize_t top              # the highest power of two <= n

    def __init__(self, dict state, list strategies, int64_t need_cpu, int64_t need_memory, int64_t need_gpu,
                 bint leave_after_placing):
        _Index.__init__(self, state, strategies, need_cpu, need_memory, need_gpu, leave_after_placing)
        if not self.r.strategies or self.r.kind[0] != RANDOM:
            raise ValueError("a DrawIndex is for chains that start with random")
        self.member = np.zeros(self.n, dtype=np.uint8)
        self.tree = np.zeros(self.n + 1, dtype=np.int64)
        self.top = 1
        while self.top * 2 <= self.n:
            self.top *= 2
        cdef Py_ssize_t i, up
        with nogil:
            for i in range(self.n):
                self.member[i] = fits(&self.r, i)
                self.total += self.member[i]
                self.tree[i + 1] += self.member[i]
                up = (i + 1) + ((i + 1) & -(i + 1))
                if up <= self.n:
                    self.tree[up] += self.tree[i + 1]

    def __len__(self) -> int:
        return self.total

    cdef void refile(self, int64_t i) noexcept nogil:
        cdef uint8_t now = fits(&self.r, i)
        cdef int64_t delta = <int64_t>now - <int64_t>self.member[i]
        cdef Py_ssize_t k = i + 1
        if delta == 0:
            return
        self.member[i] = now
        self.total += delta
        while k <= self.n:
            self.tree[k] += delta
            k += k & -k

    cdef inline int64_t select(self, int64_t k) noexcept nogil:
        """The position of the ``k``-th candidate (0-based) in position order."""
        cdef Py_ssize_t at = 0, step = self.top
        while step:
            if at + step <= self.n and self.tree[at + step] <= k:
                at += step
                k -= self.tree[at]
            step >>= 1
        return at

    def place(self, Py_ssize_t count, int64_t[::1] chosen, uint64_t seed_state, int64_t[::1] rows,
              int64_t[::1] counts):
        """Place up to ``count`` tasks; returns (tasks placed, generator state, distinct rows).
        One draw per task among the candidates, none when a single one is left (as ``place_batch``)."""
        self.begin(count, chosen, rows, counts)
        cdef Py_ssize_t t, placed = 0
        cdef int64_t i
        cdef uint64_t rng = seed_state
        with nogil:
            for t in range(count):
                if self.total == 0:
                    break
                i = self.select(0 if self.total == 1 else <int64_t>(splitmix64(&rng) % <uint64_t>self.total))
                chosen[placed] = i
                placed += 1
                self.take(i)
        return placed, rng, self.end()


def place_batch(dict state, list strategies, int64_t[::1] candidates, Py_ssize_t candidate_count,
                int64_t need_cpu, int64_t need_memory, int64_t need_gpu, bint leave_after_placing,
                Py_ssize_t count, uint64_t seed_state, bint random_ties, int64_t[::1] chosen):
    """Place up to ``count`` tasks by scanning. ``state`` holds the int64 arrays cpu, memory, gpu,
    group_count, the uint8 array allowed and a list "tallies" of int64 arrays (all of one length);
    ``strategies`` is a list of (kind, bucket_of, bucket_count). Returns (tasks placed, generator
    state, candidates left)."""
    cdef Ranking r
    cdef Py_ssize_t n = prepare(&r, state, strategies, need_cpu, need_memory, need_gpu, leave_after_placing)
    cdef Py_ssize_t placed = 0, c = candidate_count, m, j, t
    cdef int s
    cdef int64_t i, best, k
    cdef uint64_t rng = seed_state
    if not 0 <= candidate_count <= len(candidates) or not 0 <= count <= len(chosen):
        raise ValueError("ranker arguments out of range")
    for j in range(c):
        if not 0 <= candidates[j] < n:
            raise ValueError("candidate out of range")
    tied_buffer = np.empty(max(1, c), dtype=np.int64)
    cdef int64_t[::1] tied = tied_buffer
    cdef bint draws = random_ties
    for s in range(r.strategies):
        draws = draws or r.kind[s] == RANDOM
    with nogil:
        for t in range(count):
            # drop what can no longer take this task
            m = 0
            for j in range(c):
                if fits(&r, candidates[j]):
                    candidates[m] = candidates[j]
                    m += 1
            c = m
            if c == 0:
                break
            if not draws:
                # no random draw: one pass for the least key tuple (then position) will do
                i = candidates[0]
                for j in range(1, c):
                    if before(&r, candidates[j], i, False):
                        i = candidates[j]
                chosen[placed] = i
                placed += 1
                commit(&r, i)
                continue
            # each strategy keeps the instances with the least key
            m = c
            for j in range(c):
                tied[j] = candidates[j]
            for s in range(r.strategies):
                if m == 1:
                    break
                if r.kind[s] == RANDOM:
                    tied[0] = tied[splitmix64(&rng) % <uint64_t>m]
                    m = 1
                    break
                best = key_of(&r, s, tied[0])
                for j in range(1, m):
                    k = key_of(&r, s, tied[j])
                    if k < best:
                        best = k
                k = 0
                for j in range(m):
                    if key_of(&r, s, tied[j]) == best:
                        tied[k] = tied[j]
                        k += 1
                m = k
            i = tied[splitmix64(&rng) % <uint64_t>m] if random_ties and m > 1 else tied[0]
            # place it
            chosen[placed] = i
            placed += 1
            commit(&r, i)
    return placed, rng, c
