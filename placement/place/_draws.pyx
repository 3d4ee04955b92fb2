"""Chains with ``random``. ``DrawIndex`` (random first): the allowed instances as bits per block of
64 rows with a Fenwick tree of counts; a draw picks the k-th allowed instance, one that does not
fit is drawn again (``RANDOM_TRIES`` times), then the draw is among the fitting ones (blocks
without enough skipped); the reference placer draws the same way. ``ScanIndex`` (random after
another strategy, random final ties, scale-in with random): per task a pass over the rows, each
strategy keeping the instances with the least key, O(instances) per task.
"""
cimport cython
from libc.stdint cimport int64_t, uint64_t

from placement.place._ranker cimport RANDOM, RANDOM_TRIES, Index, address, fits, splitmix64
from placement.place._ports cimport Demand
from placement.place._state cimport State

import numpy as np


cdef extern from *:
    """
    static inline int placement_popcount(unsigned long long x) { return __builtin_popcountll(x); }
    static inline int placement_ctz(unsigned long long x) { return __builtin_ctzll(x); }
    """
    int popcount "placement_popcount"(unsigned long long x) noexcept nogil
    int trailing_zeros "placement_ctz"(unsigned long long x) noexcept nogil


@cython.final
cdef class DrawIndex(Index):
    """The allowed instances as bits per block of 64 rows, a Fenwick tree of their counts."""

    def __init__(self, State state, spec):
        self.arrays = {}
        Index.__init__(self, state, spec)
        if not self.chain.count or self.chain.kind[0] != RANDOM:
            raise ValueError("a DrawIndex is for chains that start with random")
        cdef Py_ssize_t row
        with nogil:
            for row in range(state.n):
                self.refile(row)

    def resize(self, Py_ssize_t capacity):
        blocks = (capacity + 63) // 64
        old = self.arrays
        if old and len(old["bits"]) == blocks:
            return
        self.arrays = {"bits": np.zeros(blocks, dtype=np.uint64), "tree": np.zeros(blocks + 1, dtype=np.int64),
                       "most": np.zeros(3 * blocks, dtype=np.int64)}
        if old:
            self.arrays["bits"][:len(old["bits"])] = old["bits"]
            self.arrays["most"][:len(old["most"])] = old["most"]
        self.blocks = blocks
        self.top = 1
        while self.top * 2 <= blocks:
            self.top *= 2
        self.bits, self.tree = <uint64_t*>address(self.arrays["bits"]), <int64_t*>address(self.arrays["tree"])
        self.most = <int64_t*>address(self.arrays["most"])
        cdef Py_ssize_t b, up
        for b in range(blocks):                     # Fenwick sums from the bits, in O(blocks)
            self.tree[b + 1] += popcount(self.bits[b])
            up = (b + 1) + ((b + 1) & -(b + 1))
            if up <= blocks:
                self.tree[up] += self.tree[b + 1]

    def __len__(self):
        return int(sum(bin(int(word)).count("1") for word in self.arrays["bits"]))

    cdef int refile(self, Py_ssize_t row) except -1 nogil:
        cdef Py_ssize_t block = row >> 6, k, base = block << 6, i
        cdef uint64_t bit = (<uint64_t>1) << (row & 63), word
        cdef bint now = self.allowed(row), was = (self.bits[block] & bit) != 0
        cdef int64_t delta = <int64_t>now - <int64_t>was
        if delta:
            self.bits[block] ^= bit
            k = block + 1
            while k <= self.blocks:
                self.tree[k] += delta
                k += k & -k
        self.most[3 * block] = self.most[3 * block + 1] = self.most[3 * block + 2] = -1
        word = self.bits[block]
        while word:                                  # the most of each resource among the members
            i = base + trailing_zeros(word)
            word &= word - 1
            if self.state.cpu[i] > self.most[3 * block]:
                self.most[3 * block] = self.state.cpu[i]
            if self.state.memory[i] > self.most[3 * block + 1]:
                self.most[3 * block + 1] = self.state.memory[i]
            if self.state.gpu[i] > self.most[3 * block + 2]:
                self.most[3 * block + 2] = self.state.gpu[i]
        return 0

    cdef int64_t select(self, int64_t k) noexcept nogil:
        """The row of the ``k``-th member (0-based) in position order."""
        cdef Py_ssize_t at = 0, step = self.top
        cdef uint64_t word
        while step:
            if at + step <= self.blocks and self.tree[at + step] <= k:
                at += step
                k -= self.tree[at]
            step >>= 1
        word = self.bits[at]
        while k:
            word &= word - 1
            k -= 1
        return (at << 6) + trailing_zeros(word)

    cdef int64_t fitting(self, const Demand* demand, int64_t k) noexcept nogil:
        """With ``k`` >= 0, the row of the ``k``-th member that fits; with ``k`` < 0, how many fit."""
        cdef Py_ssize_t block, i
        cdef uint64_t word
        cdef int64_t found = 0
        for block in range(self.blocks):
            word = self.bits[block]
            if not word or self.most[3 * block] < demand.cpu or self.most[3 * block + 1] < demand.memory \
                    or self.most[3 * block + 2] < demand.gpu:
                continue
            while word:
                i = (block << 6) + trailing_zeros(word)
                word &= word - 1
                if fits(self.state, i, demand):
                    if found == k:
                        return i
                    found += 1
        return found

    cdef int64_t choose(self, const Demand* demand, uint64_t* rng) noexcept nogil:
        cdef int64_t total = self.total(), row, fit
        cdef int attempt
        if total == 0:
            return -1
        if total == 1:
            row = self.select(0)
            return row if fits(self.state, row, demand) else -1
        for attempt in range(RANDOM_TRIES):
            row = self.select(<int64_t>(splitmix64(rng) % <uint64_t>total))
            if fits(self.state, row, demand):
                return row
        fit = self.fitting(demand, -1)
        if fit == 0:
            return -1
        return self.fitting(demand, 0 if fit == 1 else <int64_t>(splitmix64(rng) % <uint64_t>fit))

    cdef int64_t total(self) noexcept nogil:
        cdef Py_ssize_t k = self.blocks
        cdef int64_t total = 0
        while k > 0:
            total += self.tree[k]
            k -= k & -k
        return total


# -- the scan, for random after other strategies and random final ties ------------------------------

@cython.final
cdef class ScanIndex(Index):
    """No structure: per task, the fitting allowed rows, narrowed by each strategy in turn."""

    def __init__(self, State state, spec, bint random_ties=False, bint stop=False):
        self.random_ties = random_ties
        self.stop = stop
        Index.__init__(self, state, spec)

    def resize(self, Py_ssize_t capacity):
        self.tied_buffer = np.empty(max(1, capacity), dtype=np.int64)
        self.tied = <int64_t*>address(self.tied_buffer)

    cdef int64_t choose(self, const Demand* demand, uint64_t* rng) noexcept nogil:
        cdef Py_ssize_t row, j, m = 0, k
        cdef int s
        cdef int64_t best, key, total
        cdef bint inactive = 0
        for row in range(self.state.n):
            if self.group_count[row] > 0 if self.stop else (self.allowed(row) and fits(self.state, row, demand)):
                self.tied[m] = row
                m += 1
                inactive = inactive or (self.stop and not self.state.active[row])
        if inactive:                                # scale-in: instances not ACTIVE first
            k = 0
            for j in range(m):
                if not self.state.active[self.tied[j]]:
                    self.tied[k] = self.tied[j]
                    k += 1
            m = k
        if m == 0:
            return -1
        for s in range(self.chain.count):
            if m == 1:
                break
            if self.chain.kind[s] == RANDOM:
                if not self.stop:
                    self.tied[0] = self.tied[splitmix64(rng) % <uint64_t>m]
                else:                                # a draw among the tied instances' tasks
                    total = 0
                    for j in range(m):
                        total += self.group_count[self.tied[j]]
                    key = <int64_t>(splitmix64(rng) % <uint64_t>total)
                    j = 0
                    while key >= self.group_count[self.tied[j]]:
                        key -= self.group_count[self.tied[j]]
                        j += 1
                    self.tied[0] = self.tied[j]
                m = 1
                break
            best = self.stop_key(self.tied[0], s) if self.stop else self.key(self.tied[0], s)
            for j in range(1, m):
                key = self.stop_key(self.tied[j], s) if self.stop else self.key(self.tied[j], s)
                if key < best:
                    best = key
            k = 0
            for j in range(m):
                if (self.stop_key(self.tied[j], s) if self.stop else self.key(self.tied[j], s)) == best:
                    self.tied[k] = self.tied[j]
                    k += 1
            m = k
        if self.stop:
            return self.tied[m - 1]                  # remaining ties: the highest position
        if self.random_ties and m > 1:
            return self.tied[splitmix64(rng) % <uint64_t>m]
        return self.tied[0]

    def stop_tasks(self, Py_ssize_t count, uint64_t seed):
        """Scale-in (``stop``): stop up to ``count`` tasks one at a time; (their numbers, rows and
        fleet task indices (-1: placed), a 3 x stopped array; generator state)."""
        if not self.stop:
            raise ValueError("not a scale-in index")
        out = np.empty((3, max(0, count)), dtype=np.int64)
        cdef int64_t[:, ::1] view = out
        cdef Py_ssize_t t, stopped = 0
        cdef int64_t row, task
        cdef uint64_t rng = seed
        cdef Demand nothing
        with nogil:
            for t in range(count):
                row = self.choose(&nothing, &rng)
                if row < 0:
                    break
                task = self.state.last_task(row, self.group)
                view[1, t], view[2, t] = row, self.state.task_table[task].origin
                view[0, t] = self.state.release(task)
                stopped += 1
        self.seen = self.state.log_start + self.state.log_size
        return out[:, :stopped], rng


