"""The placement ranker: picks an instance for each task of a batch, without the GIL.

Two ways to the same answer (the least key under the strategies in order, then the lowest
position), and the Python ``Placer`` picks one:

- ``place_batch`` scans: for each task it compacts the candidate list (dropping instances that
  no longer fit or were excluded), applies the strategies in order, each keeping only the
  instances with the least key, and breaks ties by position or a seeded draw. O(candidates) per
  task; the only way when ``random`` is in the chain.
- ``place_batch_heaps``: candidates are split into cells that share every spread bucket, each
  cell a binary heap on the per-instance keys (binpack amounts, per-instance spread counts,
  position). Within a cell the bucket keys are equal, so the best instance overall is the best
  of the cells' tops: O(cells + log candidates) per task.

Both update the state in place. The ``Placer`` prepares and validates every array; the loops
only trust them.
"""
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t, uintptr_t

import numpy as np

DEF MAX_STRATEGIES = 5


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
    uint8_t* allowed


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


cdef Py_ssize_t prepare(Ranking* r, dict state, list strategies) except -1:
    """Point ``r`` at the state arrays and strategies after checking them; returns the row count."""
    cdef Py_ssize_t n = len(state["cpu"])
    cdef int s
    if len(strategies) > MAX_STRATEGIES:
        raise ValueError("too many strategies")
    for name in ("cpu", "memory", "gpu", "group_count"):
        if state[name].dtype != np.int64 or len(state[name]) != n:
            raise ValueError(f"state {name} must be int64 of length {n}")
    if state["allowed"].dtype != np.uint8 or len(state["allowed"]) != n:
        raise ValueError("state allowed must be uint8")
    r.cpu = <int64_t*>address(state["cpu"])
    r.memory = <int64_t*>address(state["memory"])
    r.gpu = <int64_t*>address(state["gpu"])
    r.group_count = <int64_t*>address(state["group_count"])
    r.allowed = <uint8_t*>address(state["allowed"])
    r.strategies = len(strategies)
    for s, (kind, bucket_of, bucket_count) in enumerate(strategies):
        if kind not in (BINPACK_CPU, BINPACK_MEMORY, SPREAD_INSTANCE, SPREAD_BUCKET, RANDOM):
            raise ValueError(f"unknown strategy kind {kind}")
        r.kind[s] = kind
        if kind == SPREAD_BUCKET:
            if bucket_of.dtype != np.uint32 or len(bucket_of) != n or bucket_count.dtype != np.int64 \
                    or (n and int(bucket_of.max()) >= len(bucket_count)):
                raise ValueError("spread buckets are inconsistent")
            r.bucket_of[s] = <const uint32_t*>address(bucket_of)
            r.bucket_count[s] = <int64_t*>address(bucket_count)
    return n


cdef inline bint fits(const Ranking* r, int64_t i, int64_t cpu, int64_t memory, int64_t gpu) noexcept nogil:
    return r.allowed[i] and r.cpu[i] >= cpu and r.memory[i] >= memory and r.gpu[i] >= gpu


cdef inline void commit(Ranking* r, int64_t i, int64_t cpu, int64_t memory, int64_t gpu, bint leave) noexcept nogil:
    cdef int s
    r.cpu[i] -= cpu
    r.memory[i] -= memory
    r.gpu[i] -= gpu
    r.group_count[i] += 1
    for s in range(r.strategies):
        if r.kind[s] == SPREAD_BUCKET:
            r.bucket_count[s][r.bucket_of[s][i]] += 1
    if leave:
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


cdef void sift_down(const Ranking* r, int64_t* heap, Py_ssize_t size, Py_ssize_t at) noexcept nogil:
    cdef Py_ssize_t child
    cdef int64_t item = heap[at]
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        if child + 1 < size and before(r, heap[child + 1], heap[child], True):
            child += 1
        if not before(r, heap[child], item, True):
            break
        heap[at] = heap[child]
        at = child
    heap[at] = item


def place_batch_heaps(dict state, list strategies, int64_t[::1] candidates, int64_t[::1] cell_of_candidate,
                      Py_ssize_t cells, int64_t demand_cpu, int64_t demand_memory, int64_t demand_gpu,
                      bint leave_after_placing, Py_ssize_t count, int64_t[::1] chosen):
    """Place up to ``count`` tasks with per-cell heaps (no ``random`` in the chain). ``candidates``
    are in position order with their cell ids, and must all fit the task. Returns the number of
    tasks placed."""
    cdef Ranking r
    cdef Py_ssize_t n = prepare(&r, state, strategies), c = len(candidates), j, t, placed = 0, cell, best_cell
    cdef int s
    for s in range(r.strategies):
        if r.kind[s] == RANDOM:
            raise ValueError("random needs place_batch")
    if len(cell_of_candidate) != c or count > len(chosen) or cells < 0:
        raise ValueError("ranker arguments out of range")
    for j in range(c):
        if not 0 <= candidates[j] < n or not 0 <= cell_of_candidate[j] < cells:
            raise ValueError("candidate or cell out of range")
        if not fits(&r, candidates[j], demand_cpu, demand_memory, demand_gpu):
            raise ValueError("every candidate must fit the task")
    # lay the cells out one after another in one array, then heapify each
    sizes_buffer = np.bincount(np.asarray(cell_of_candidate), minlength=cells).astype(np.int64)
    starts_buffer = np.concatenate(([0], np.cumsum(sizes_buffer)[:-1])).astype(np.int64)
    heaps_buffer = np.empty(max(1, c), dtype=np.int64)
    cdef int64_t[::1] sizes = sizes_buffer, starts = starts_buffer, heaps = heaps_buffer
    fill_buffer = starts_buffer.copy()
    cdef int64_t[::1] fill = fill_buffer
    cdef int64_t i, top
    with nogil:
        for j in range(c):
            cell = cell_of_candidate[j]
            heaps[fill[cell]] = candidates[j]
            fill[cell] += 1
        for cell in range(cells):
            for j in range(sizes[cell] // 2 - 1, -1, -1):
                sift_down(&r, &heaps[starts[cell]], sizes[cell], j)
        for t in range(count):
            best_cell = -1
            for cell in range(cells):
                if sizes[cell] and (best_cell < 0 or before(&r, heaps[starts[cell]], heaps[starts[best_cell]], False)):
                    best_cell = cell
            if best_cell < 0:
                break
            i = heaps[starts[best_cell]]
            chosen[placed] = i
            placed += 1
            commit(&r, i, demand_cpu, demand_memory, demand_gpu, leave_after_placing)
            if not fits(&r, i, demand_cpu, demand_memory, demand_gpu):
                sizes[best_cell] -= 1
                heaps[starts[best_cell]] = heaps[starts[best_cell] + sizes[best_cell]]
            sift_down(&r, &heaps[starts[best_cell]], sizes[best_cell], 0)
    return placed


def place_batch(dict state, list strategies, int64_t[::1] candidates, Py_ssize_t candidate_count,
                int64_t demand_cpu, int64_t demand_memory, int64_t demand_gpu, bint leave_after_placing,
                Py_ssize_t count, uint64_t seed_state, bint random_ties, int64_t[::1] chosen):
    """Place up to ``count`` tasks. ``state`` holds the int64 arrays cpu, memory, gpu, group_count
    and the uint8 array allowed (all of one length, checked by the caller); ``strategies`` is a list
    of (kind, bucket_of, bucket_count). Returns (tasks placed, generator state, candidates left)."""
    cdef Ranking r
    cdef Py_ssize_t n = prepare(&r, state, strategies), placed = 0, c = candidate_count, m, j, t
    cdef int s
    cdef int64_t i, best, k
    cdef uint64_t rng = seed_state
    if candidate_count > len(candidates) or count > len(chosen):
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
                if fits(&r, candidates[j], demand_cpu, demand_memory, demand_gpu):
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
                commit(&r, i, demand_cpu, demand_memory, demand_gpu, leave_after_placing)
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
            commit(&r, i, demand_cpu, demand_memory, demand_gpu, leave_after_placing)
    return placed, rng, c
