"""The placement ranker: which instance each task goes to, without the GIL, whatever its demand.

A placer keeps one index per kind of request (group, constraints, strategies), and the index
serves every demand of that kind. It files the instances that may take a task of the kind
(eligible, and every constraint holds: ``allowed``); whether one fits a task (cpu, memory, GPUs,
ports) is a question asked while ranking:

- ``TreeIndex`` (no ``random``): per cell (the instances sharing all their spread buckets) a
  treap ordered by the instance keys (binpack amounts, tasks of the group on the instance), then
  position, each node knowing the most cpu, memory and GPUs below it. A cell's best instance that
  fits is its leftmost node that fits, found by skipping subtrees without enough: under
  binpack(memory) a successor search on memory, cpu, GPUs and ports checked on the way. The best
  overall is the best of the cells' (spread counts compared live). With ``stop`` it ranks the
  other way round, for scale-in.
- ``DrawIndex`` (``random`` first): the allowed instances as bits per block of 64 rows, with a
  Fenwick tree of counts. A draw picks the k-th allowed instance; one that does not fit is drawn
  again, RANDOM_TRIES times, and then the draw is among the fitting ones (blocks without enough
  skipped). The reference placer draws the same way.
- ``ScanIndex`` (``random`` after another strategy, random final ties): per task a pass over the
  rows, each strategy keeping the instances with the least key: O(instances) per task.

The ``State`` logs every row whose state changes; an index re-files the rows logged since it
last ran (``catch_up``), and the rows of its own placements at once. Every array comes checked
from ``placement.place.indexes`` (``point``); the loops trust them.
"""
cimport cython
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t, uintptr_t

from placement.place._state cimport Demand, State, fill_demand

import numpy as np

NO_PORTS = np.zeros(1, dtype=np.int64)

cdef extern from *:
    """
    static inline int placement_popcount(unsigned long long x) { return __builtin_popcountll(x); }
    static inline int placement_ctz(unsigned long long x) { return __builtin_ctzll(x); }
    """
    int popcount "placement_popcount"(unsigned long long x) noexcept nogil
    int trailing_zeros "placement_ctz"(unsigned long long x) noexcept nogil


class Stale(Exception):
    """The index is behind the state's trimmed change log, or further behind than a rebuild costs."""


cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    """The generator of ``placement.place.result.SplitMix64``, bit for bit."""
    state[0] += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline uint64_t priority(int64_t row) noexcept nogil:
    """A treap node's heap priority: a hash of its row, so a tree's shape is reproducible."""
    cdef uint64_t state = <uint64_t>row
    return splitmix64(&state)


cdef void* address(object array):
    return <void*><uintptr_t>array.__array_interface__["data"][0]


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
            return self.state.cpu[row]
        if kind == BINPACK_MEMORY:
            return self.state.memory[row]
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

    cdef void begin(self) noexcept nogil:
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
        cdef int64_t row
        self.begin()
        for t in range(count):
            row = self.choose(demand, rng)
            if row < 0:
                break
            rows[t] = row
            tasks[t] = self.state.place(row, self.group, demand, ports + t * demand.port_count)
            self.refile(row)
            placed += 1
        self.seen = self.state.log_start + self.state.log_size
        return placed

    def place(self, Py_ssize_t count, int64_t cpu, int64_t memory, int64_t gpu, ports, uint64_t seed):
        """Place up to ``count`` tasks with this demand (call ``catch_up`` first); returns
        (rows, task numbers, host ports per task in request order, generator state)."""
        cdef Demand demand
        cdef Py_ssize_t port_count = len(ports)
        cdef int64_t[::1] wanted = np.ascontiguousarray(ports, dtype=np.int64) if port_count else NO_PORTS
        if count < 0:
            raise ValueError("negative count")
        fill_demand(self.state, &demand, cpu, memory, gpu, wanted, port_count)
        rows, tasks = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
        host = np.empty((count, port_count), dtype=np.int64)
        cdef int64_t[::1] row_view = rows, task_view = tasks
        cdef int64_t[:, ::1] host_view = host
        cdef uint64_t rng = seed
        cdef Py_ssize_t placed
        cdef int64_t* host_out = &host_view[0, 0] if count and port_count else <int64_t*>&wanted[0]
        with nogil:
            placed = self.run(count, &demand, &rng, &row_view[0] if count else NULL,
                              &task_view[0] if count else NULL, host_out)
        return rows[:placed], tasks[:placed], host[:placed], rng


# -- the treap, for chains without random ---------------------------------------------------------

@cython.final
cdef class TreeIndex(Index):
    """Per cell a treap of the allowed instances by (instance keys, position)."""

    def __init__(self, State state, spec, bint stop=False):
        self.stop = stop
        self.arrays = {}
        self.cells = 0
        Index.__init__(self, state, spec)
        cdef Py_ssize_t row
        with nogil:
            for row in range(state.n):
                self.refile(row)

    def resize(self, Py_ssize_t capacity):
        self.key_count = self.chain.keys + (2 if self.stop else 0)
        spec = self.spec
        old = self.arrays
        sizes = {"left": capacity, "right": capacity, "filed": capacity, "keys": capacity * max(1, self.key_count),
                 "most": 3 * capacity, "root": spec.cell_capacity, "best": spec.cell_capacity}
        for name, size in sizes.items():
            if name not in old or len(old[name]) != size:
                grown = np.full(size, -1, dtype=np.int64)
                if name in old:
                    keep = min(size, len(old[name]))
                    grown[:keep] = old[name][:keep]
                self.arrays[name] = grown
        self.left, self.right = <int64_t*>address(self.arrays["left"]), <int64_t*>address(self.arrays["right"])
        self.filed, self.keys = <int64_t*>address(self.arrays["filed"]), <int64_t*>address(self.arrays["keys"])
        self.most = <int64_t*>address(self.arrays["most"])
        self.root, self.best = <int64_t*>address(self.arrays["root"]), <int64_t*>address(self.arrays["best"])
        cell_of = _checked(spec.cell_of, np.int64, capacity, "cell_of")
        cell_bucket = _checked(spec.cell_bucket, np.uint32, spec.cell_capacity * max(1, self.chain.buckets),
                               "cell_bucket")
        cells = int(spec.cells)
        if not 0 <= cells <= spec.cell_capacity or (self.state.n and not 0 <= int(cell_of[:self.state.n].min())
                                                    <= int(cell_of[:self.state.n].max()) < max(1, cells)):
            raise ValueError("cells out of range")
        self.cell_of, self.cell_bucket, self.cells = <const int64_t*>address(cell_of), \
            <const uint32_t*>address(cell_bucket), cells
        self.arrays["cell_of"], self.arrays["cell_bucket"] = cell_of, cell_bucket

    def __len__(self):
        return int(np.count_nonzero(self.arrays["filed"][:self.state.n] >= 0))

    cdef bint less(self, int64_t a, int64_t b) noexcept nogil:
        """Within a cell: cached keys, then position."""
        cdef int j
        cdef int64_t ka, kb
        for j in range(self.key_count):
            ka, kb = self.keys[a * self.key_count + j], self.keys[b * self.key_count + j]
            if ka != kb:
                return ka < kb
        return a < b

    cdef void pull(self, int64_t t) noexcept nogil:
        cdef int64_t l = self.left[t], r = self.right[t]
        cdef int d
        self.most[3 * t], self.most[3 * t + 1], self.most[3 * t + 2] = \
            self.state.cpu[t], self.state.memory[t], self.state.gpu[t]
        for d in range(3):
            if l >= 0 and self.most[3 * l + d] > self.most[3 * t + d]:
                self.most[3 * t + d] = self.most[3 * l + d]
            if r >= 0 and self.most[3 * r + d] > self.most[3 * t + d]:
                self.most[3 * t + d] = self.most[3 * r + d]

    cdef void split(self, int64_t t, int64_t x, int64_t* lower, int64_t* upper) noexcept nogil:
        """Split treap ``t`` into the nodes before ``x`` and those after it."""
        cdef int64_t a, b
        if t < 0:
            lower[0] = upper[0] = -1
        elif self.less(t, x):
            self.split(self.right[t], x, &a, &b)
            self.right[t] = a
            self.pull(t)
            lower[0], upper[0] = t, b
        else:
            self.split(self.left[t], x, &a, &b)
            self.left[t] = b
            self.pull(t)
            lower[0], upper[0] = a, t

    cdef int64_t insert(self, int64_t t, int64_t x) noexcept nogil:
        if t < 0 or priority(x) > priority(t):
            self.split(t, x, &self.left[x], &self.right[x])
            self.pull(x)
            return x
        if self.less(x, t):
            self.left[t] = self.insert(self.left[t], x)
        else:
            self.right[t] = self.insert(self.right[t], x)
        self.pull(t)
        return t

    cdef int64_t merge(self, int64_t a, int64_t b) noexcept nogil:
        if a < 0:
            return b
        if b < 0:
            return a
        if priority(a) > priority(b):
            self.right[a] = self.merge(self.right[a], b)
            self.pull(a)
            return a
        self.left[b] = self.merge(a, self.left[b])
        self.pull(b)
        return b

    cdef int64_t erase(self, int64_t t, int64_t x) noexcept nogil:
        if t == x:
            return self.merge(self.left[t], self.right[t])
        if self.less(x, t):
            self.left[t] = self.erase(self.left[t], x)
        else:
            self.right[t] = self.erase(self.right[t], x)
        self.pull(t)
        return t

    cdef int64_t first_fit(self, int64_t t, const Demand* demand) noexcept nogil:
        """The leftmost node of treap ``t`` that fits (-1: none)."""
        cdef int64_t found
        while t >= 0:
            if self.most[3 * t] < demand.cpu or self.most[3 * t + 1] < demand.memory \
                    or self.most[3 * t + 2] < demand.gpu:
                return -1
            found = self.first_fit(self.left[t], demand)
            if found >= 0:
                return found
            if self.state.fits(t, demand):
                return t
            t = self.right[t]
        return -1

    cdef int refile(self, Py_ssize_t row) except -1 nogil:
        cdef int64_t cell = self.filed[row]
        cdef int s, j = 0
        cdef int64_t* keys = self.keys + row * self.key_count
        if cell >= 0:
            self.root[cell] = self.erase(self.root[cell], row)
            self.filed[row] = -1
            self.best[cell] = UNKNOWN
        if not (self.group_count[row] > 0 if self.stop else self.allowed(row)):
            return 0
        if self.stop:
            keys[0] = self.state.active[row]           # instances not ACTIVE first
            j = 1
        for s in range(self.chain.count):
            if self.chain.kind[s] != SPREAD_BUCKET:
                keys[j] = self.stop_key(row, s) if self.stop else self.key(row, s)
                j += 1
        if self.stop:
            keys[j] = -row                             # remaining ties: the highest position
        cell = self.cell_of[row]
        self.root[cell] = self.insert(self.root[cell], row)
        self.filed[row] = cell
        self.best[cell] = UNKNOWN
        return 0

    cdef bint before(self, int64_t a, int64_t ca, int64_t b, int64_t cb) noexcept nogil:
        """Across cells: the chain in order (spread counts live), then position."""
        cdef int s, j = 1 if self.stop else 0, slot
        cdef int64_t ka, kb
        if self.stop and self.keys[a * self.key_count] != self.keys[b * self.key_count]:
            return self.keys[a * self.key_count] < self.keys[b * self.key_count]
        for s in range(self.chain.count):
            if self.chain.kind[s] == SPREAD_BUCKET:
                slot = self.chain.slot[s]
                ka = self.bucket_count[slot][self.cell_bucket[ca * self.chain.buckets + slot]]
                kb = self.bucket_count[slot][self.cell_bucket[cb * self.chain.buckets + slot]]
                if self.stop:
                    ka, kb = -ka, -kb
            else:
                ka, kb = self.keys[a * self.key_count + j], self.keys[b * self.key_count + j]
                j += 1
            if ka != kb:
                return ka < kb
        return a > b if self.stop else a < b

    cdef void begin(self) noexcept nogil:
        cdef Py_ssize_t cell
        for cell in range(self.cells):
            self.best[cell] = UNKNOWN

    cdef int64_t choose(self, const Demand* demand, uint64_t* rng) noexcept nogil:
        cdef Py_ssize_t cell
        cdef int64_t row, best = -1, best_cell = -1
        for cell in range(self.cells):
            if self.root[cell] < 0:
                continue
            row = self.best[cell]
            if row == UNKNOWN:
                row = self.root[cell]
                if self.stop:
                    while self.left[row] >= 0:
                        row = self.left[row]
                else:
                    row = self.first_fit(row, demand)
                self.best[cell] = row
            if row >= 0 and (best < 0 or self.before(row, cell, best, best_cell)):
                best, best_cell = row, cell
        return best

    def stop_tasks(self, Py_ssize_t count):
        """Scale-in (``stop``): stop up to ``count`` tasks of the group one at a time; their numbers."""
        if not self.stop:
            raise ValueError("not a scale-in index")
        out = np.empty(max(0, count), dtype=np.int64)
        cdef int64_t[::1] view = out
        cdef Py_ssize_t t, stopped = 0
        cdef int64_t row, task
        cdef Demand nothing
        self.begin()
        with nogil:
            for t in range(count):
                row = self.choose(&nothing, NULL)
                if row < 0:
                    break
                task = self.state.last_task(row, self.group)
                self.state.release(task)
                view[t] = task
                stopped += 1
                self.refile(row)
        self.seen = self.state.log_start + self.state.log_size
        return out[:stopped]


# -- draws, for chains that start with random -----------------------------------------------------

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
                if self.state.fits(i, demand):
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
            return row if self.state.fits(row, demand) else -1
        for attempt in range(RANDOM_TRIES):
            row = self.select(<int64_t>(splitmix64(rng) % <uint64_t>total))
            if self.state.fits(row, demand):
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
            if self.group_count[row] > 0 if self.stop else (self.allowed(row) and self.state.fits(row, demand)):
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
        """Scale-in (``stop``): stop up to ``count`` tasks one at a time; (their numbers, generator state)."""
        if not self.stop:
            raise ValueError("not a scale-in index")
        out = np.empty(max(0, count), dtype=np.int64)
        cdef int64_t[::1] view = out
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
                self.state.release(task)
                view[t] = task
                stopped += 1
        self.seen = self.state.log_start + self.state.log_size
        return out[:stopped], rng


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
        fill_demand(index.state, &demand, cpus[call], memories[call], gpus[call], no_ports, 0)
        rng = seeds[call]
        with nogil:
            placed = index.run(counts[call], &demand, &rng, &rows[offsets[call]] if counts[call] else NULL,
                               &tasks[offsets[call]] if counts[call] else NULL, &no_ports[0])
        offsets[call + 1] = offsets[call] + placed
        if placed < counts[call]:
            return call + 1, True
    return calls, False
