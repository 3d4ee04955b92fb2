"""The placement ranker: picks an instance for each task of a batch, without the GIL.

For each task it compacts the candidate list (dropping instances that no longer fit or were
excluded), then applies the strategies in order, each keeping only the instances with the least
key, then breaks ties by position or a seeded draw, places the task and updates the state in
place. The Python ``Placer`` prepares and validates every array; this file only trusts them.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, uintptr_t

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


def place_batch(dict state, list strategies, int64_t[::1] candidates, Py_ssize_t candidate_count,
                int64_t demand_cpu, int64_t demand_memory, int64_t demand_gpu, bint leave_after_placing,
                Py_ssize_t count, uint64_t seed_state, bint random_ties, int64_t[::1] chosen):
    """Place up to ``count`` tasks. ``state`` holds the int64 arrays cpu, memory, gpu, group_count
    and the uint8 array allowed (all of one length, checked by the caller); ``strategies`` is a list
    of (kind, bucket_of, bucket_count). Returns (tasks placed, generator state, candidates left)."""
    cdef Ranking r
    cdef Py_ssize_t n = len(state["cpu"]), placed = 0, c = candidate_count, m, j, t
    cdef int s
    cdef int64_t i, best, k
    cdef uint64_t rng = seed_state
    if len(strategies) > MAX_STRATEGIES or candidate_count > len(candidates) or count > len(chosen):
        raise ValueError("ranker arguments out of range")
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
        r.kind[s] = kind
        if kind == SPREAD_BUCKET:
            if bucket_of.dtype != np.uint32 or len(bucket_of) != n or bucket_count.dtype != np.int64 \
                    or (n and int(bucket_of.max()) >= len(bucket_count)):
                raise ValueError("spread buckets are inconsistent")
            r.bucket_of[s] = <const uint32_t*>address(bucket_of)
            r.bucket_count[s] = <int64_t*>address(bucket_count)
    for j in range(c):
        if not 0 <= candidates[j] < n:
            raise ValueError("candidate out of range")
    tied_buffer = np.empty(max(1, c), dtype=np.int64)
    cdef int64_t[::1] tied = tied_buffer
    with nogil:
        for t in range(count):
            # drop what can no longer take this task
            m = 0
            for j in range(c):
                i = candidates[j]
                if r.allowed[i] and r.cpu[i] >= demand_cpu and r.memory[i] >= demand_memory \
                        and r.gpu[i] >= demand_gpu:
                    candidates[m] = i
                    m += 1
            c = m
            if c == 0:
                break
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
            r.cpu[i] -= demand_cpu
            r.memory[i] -= demand_memory
            r.gpu[i] -= demand_gpu
            r.group_count[i] += 1
            for s in range(r.strategies):
                if r.kind[s] == SPREAD_BUCKET:
                    r.bucket_count[s][r.bucket_of[s][i]] += 1
            if leave_after_placing:
                r.allowed[i] = 0
    return placed, rng, c
