"""Chains without ``random``: per cell (the instances sharing all their spread buckets) a treap
ordered by the instance keys (binpack amounts, tasks of the group on the instance), then
position, each node knowing the most cpu, memory and GPUs below it. A cell's best instance that
fits is its leftmost node that fits, found by skipping subtrees without enough: under
binpack(memory) a successor search on memory, cpu, GPUs and ports checked on the way. The best
overall is the best of the cells' (spread counts compared live, and when the chain starts with
spreads only the cells with the least counts are searched). With ``stop`` it ranks the other
way round, for scale-in.
"""
cimport cython
from libc.stdint cimport int64_t, uint32_t, uint64_t

from libc.string cimport memset

from placement.place._ranker cimport SLOTS, SPREAD_BUCKET, Index, address, splitmix64
from placement.place._ports cimport Demand
from placement.place._state cimport State

import numpy as np

from placement.place._ranker import _checked


cdef inline uint64_t priority(int64_t row) noexcept nogil:
    """A treap node's heap priority: a hash of its row, so a tree's shape is reproducible."""
    cdef uint64_t state = <uint64_t>row
    return splitmix64(&state)


@cython.final
cdef class TreeIndex(Index):
    """Per cell a treap of the allowed instances by (instance keys, position)."""

    def __init__(self, State state, spec, bint stop=False):
        self.stop = stop
        self.arrays = {}
        self.cells = 0
        Index.__init__(self, state, spec)
        self.build()

    def build(self):
        """File every member at once: their keys, one sort by (cell, keys, position), then per cell
        the treap of that order as a Cartesian tree on the priorities (a stack), then the maxima
        bottom-up: O(n log n) in numpy's sort and O(n) here, instead of an insert per row."""
        cdef Py_ssize_t n = self.state.n, row, m = 0, k, j, start, top
        cdef int width = self.key_count
        members = np.empty(max(1, n), dtype=np.int64)
        cdef int64_t[::1] member = members
        with nogil:
            for row in range(n):
                if self.keyed(row):
                    member[m] = row
                    m += 1
        picked = members[:m]
        keys = self.arrays["keys"][:n * max(1, width)].reshape(n, max(1, width))[picked] if width else None
        columns = [picked] + ([keys[:, j] for j in range(width - 1, -1, -1)] if width else [])
        cdef int64_t[::1] order = picked[np.lexsort(columns + [self.arrays["cell_of"][picked]])] if m else picked
        stack_buffer = np.empty(max(1, m), dtype=np.int64)
        cdef int64_t[::1] stack = stack_buffer
        cdef int64_t x, last, cell
        with nogil:
            k = 0
            while k < m:                             # one run of sorted members per cell
                cell = self.cell_of[order[k]]
                top = 0
                while k < m and self.cell_of[order[k]] == cell:
                    x = order[k]
                    last = -1
                    while top and priority(stack[top - 1]) < priority(x):
                        top -= 1
                        last = stack[top]
                    self.left[x], self.right[x] = last, -1
                    if top:
                        self.right[stack[top - 1]] = x
                    stack[top] = x
                    top += 1
                    self.filed[x] = cell
                    k += 1
                self.root[cell] = stack[0]
                self.pull_all(stack[0])
                self.version[cell] += 1

    cdef bint keyed(self, Py_ssize_t row) noexcept nogil:
        """Whether ``row`` belongs in a tree; if so its keys are cached (what ``refile`` files by)."""
        cdef int s, j = 0
        cdef int64_t* keys = self.keys + row * self.key_count
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
        return 1

    cdef void pull_all(self, int64_t t) noexcept nogil:
        if t >= 0:
            self.pull_all(self.left[t])
            self.pull_all(self.right[t])
            self.pull(t)

    def resize(self, Py_ssize_t capacity):
        self.key_count = self.chain.keys + (2 if self.stop else 0)
        self.prefix = 0                                 # leading spreads (scale-in ranks by tier first)
        while not self.stop and self.prefix < self.chain.count and self.chain.kind[self.prefix] == SPREAD_BUCKET:
            self.prefix += 1
        spec = self.spec
        old = self.arrays
        sizes = {"left": capacity, "right": capacity, "filed": capacity, "keys": capacity * max(1, self.key_count),
                 "most": 3 * capacity, "root": spec.cell_capacity, "version": spec.cell_capacity,
                 "answer": (SLOTS + 1) * spec.cell_capacity, "answered": (SLOTS + 1) * spec.cell_capacity}
        for name, size in sizes.items():
            if name not in old or len(old[name]) != size:
                grown = np.full(size, 0 if name == "version" else -1, dtype=np.int64)
                if name in old:
                    keep = min(size, len(old[name]))
                    grown[:keep] = old[name][:keep]
                self.arrays[name] = grown
        self.left, self.right = <int64_t*>address(self.arrays["left"]), <int64_t*>address(self.arrays["right"])
        self.filed, self.keys = <int64_t*>address(self.arrays["filed"]), <int64_t*>address(self.arrays["keys"])
        self.most = <int64_t*>address(self.arrays["most"])
        self.root, self.version = <int64_t*>address(self.arrays["root"]), <int64_t*>address(self.arrays["version"])
        if self.stride != spec.cell_capacity:            # the answers' layout changed: forget them all
            self.arrays["answered"][:] = -1
            memset(self.slot_used, 0, sizeof(self.slot_used))
        self.answer, self.answered = <int64_t*>address(self.arrays["answer"]), <int64_t*>address(self.arrays["answered"])
        self.stride = spec.cell_capacity
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
        """A node's maxima from its own resources and its children's maxima."""
        cdef int64_t l = self.left[t], r = self.right[t]
        cdef int64_t cpu = self.cpu[t], memory = self.memory[t], gpu = self.gpu[t]
        cdef const int64_t* child
        if l >= 0:
            child = self.most + 3 * l
            cpu = cpu if cpu >= child[0] else child[0]
            memory = memory if memory >= child[1] else child[1]
            gpu = gpu if gpu >= child[2] else child[2]
        if r >= 0:
            child = self.most + 3 * r
            cpu = cpu if cpu >= child[0] else child[0]
            memory = memory if memory >= child[1] else child[1]
            gpu = gpu if gpu >= child[2] else child[2]
        self.most[3 * t], self.most[3 * t + 1], self.most[3 * t + 2] = cpu, memory, gpu

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

    cdef bint may_fit(self, int64_t t, const Demand* demand) noexcept nogil:
        """Whether some node of subtree ``t`` has enough cpu, memory and GPUs."""
        cdef const int64_t* most = self.most + 3 * t
        return t >= 0 and most[1] >= demand.memory and most[0] >= demand.cpu and most[2] >= demand.gpu

    cdef int64_t first_fit(self, int64_t t, const Demand* demand) noexcept nogil:
        """The leftmost node of treap ``t`` that fits (-1: none): down the left spine, into a left
        subtree only when it may fit, so under binpack a successor search."""
        cdef int64_t found
        if not self.may_fit(t, demand):
            return -1
        while t >= 0:
            if self.may_fit(self.left[t], demand):
                found = self.first_fit(self.left[t], demand)
                if found >= 0:
                    return found
            if self.memory[t] >= demand.memory and self.cpu[t] >= demand.cpu and self.gpu[t] >= demand.gpu \
                    and (demand.port_count == 0 or self.state.ports.fit(t, demand)):
                return t
            t = self.right[t]
            if not self.may_fit(t, demand):
                return -1
        return -1

    cdef int refile(self, Py_ssize_t row) except -1 nogil:
        cdef int64_t cell = self.filed[row]
        if cell >= 0:
            self.root[cell] = self.erase(self.root[cell], row)
            self.filed[row] = -1
            self.version[cell] += 1
        if not self.keyed(row):
            return 0
        cell = self.cell_of[row]
        self.root[cell] = self.insert(self.root[cell], row)
        self.filed[row] = cell
        self.version[cell] += 1
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

    cdef void begin(self, const Demand* demand) noexcept nogil:
        """Pick the slot of this call's demand: a cell's answer stays good until its tree changes,
        and a stream of requests has few distinct demands. A demand with ports (or scale-in) gets
        the slot that lasts one call."""
        cdef int s, oldest = 0
        cdef Py_ssize_t cell
        self.tick += 1
        if self.stop or demand.port_count:
            self.slot = SLOTS
        else:
            self.slot = -1
            for s in range(SLOTS):
                if self.slot_used[s] and self.slot_demand[s][0] == demand.cpu \
                        and self.slot_demand[s][1] == demand.memory and self.slot_demand[s][2] == demand.gpu:
                    self.slot = s
                    break
                if self.slot_used[s] < self.slot_used[oldest]:
                    oldest = s
            if self.slot >= 0:
                self.slot_used[self.slot] = self.tick
                return
            self.slot = oldest
            self.slot_demand[oldest][0], self.slot_demand[oldest][1] = demand.cpu, demand.memory
            self.slot_demand[oldest][2] = demand.gpu
        self.slot_used[self.slot] = self.tick
        for cell in range(self.cells):
            self.answered[self.slot * self.stride + cell] = -1

    cdef int64_t cell_best(self, Py_ssize_t cell, const Demand* demand) noexcept nogil:
        """The cell's best row for this call's demand (remembered until the cell changes)."""
        cdef Py_ssize_t at = self.slot * self.stride + cell
        cdef int64_t row
        if self.answered[at] == self.version[cell]:
            return self.answer[at]
        row = self.root[cell]
        if self.stop:
            while self.left[row] >= 0:
                row = self.left[row]
        else:
            row = self.first_fit(row, demand)
        self.answer[at], self.answered[at] = row, self.version[cell]
        return row

    cdef int bound(self, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
        """-1, 0, 1: cell ``a``'s spread counts against ``b``'s, over the chain's leading spreads."""
        cdef int s, slot
        cdef int64_t ka, kb
        for s in range(self.prefix):
            slot = self.chain.slot[s]
            ka = self.bucket_count[slot][self.cell_bucket[a * self.chain.buckets + slot]]
            kb = self.bucket_count[slot][self.cell_bucket[b * self.chain.buckets + slot]]
            if ka != kb:
                return -1 if ka < kb else 1
        return 0

    cdef int64_t choose(self, const Demand* demand, uint64_t* rng) noexcept nogil:
        """The best row over the cells. When the chain starts with spreads, a cell can only win
        if no cell with smaller spread counts has a row that fits: the cells are searched level
        by level of those counts, and the first level with a fit decides."""
        cdef Py_ssize_t cell, level = -1, below = -1
        cdef int64_t row, best = -1, best_cell = -1
        if self.prefix == 0:
            for cell in range(self.cells):
                if self.root[cell] >= 0:
                    row = self.cell_best(cell, demand)
                    if row >= 0 and (best < 0 or self.before(row, cell, best, best_cell)):
                        best, best_cell = row, cell
            return best
        while True:
            level = -1
            for cell in range(self.cells):          # the least counts above the level searched last
                if self.root[cell] >= 0 and (below < 0 or self.bound(cell, below) > 0) \
                        and (level < 0 or self.bound(cell, level) < 0):
                    level = cell
            if level < 0:
                return -1
            for cell in range(self.cells):
                if self.root[cell] >= 0 and self.bound(cell, level) == 0:
                    row = self.cell_best(cell, demand)
                    if row >= 0 and (best < 0 or self.before(row, cell, best, best_cell)):
                        best, best_cell = row, cell
            if best >= 0:
                return best
            below = level

    def stop_tasks(self, Py_ssize_t count):
        """Scale-in (``stop``): stop up to ``count`` tasks of the group one at a time; their numbers,
        rows and fleet task indices (-1: placed), a 3 x stopped array."""
        if not self.stop:
            raise ValueError("not a scale-in index")
        out = np.empty((3, max(0, count)), dtype=np.int64)
        cdef int64_t[:, ::1] view = out
        cdef Py_ssize_t t, stopped = 0
        cdef int64_t row, task
        cdef Demand nothing
        memset(&nothing, 0, sizeof(Demand))
        self.begin(&nothing)
        with nogil:
            for t in range(count):
                row = self.choose(&nothing, NULL)
                if row < 0:
                    break
                task = self.state.last_task(row, self.group)
                view[1, t], view[2, t] = row, self.state.task_table[task].origin
                view[0, t] = self.state.release(task)
                stopped += 1
                self.refile(row)
        self.seen = self.state.log_start + self.state.log_size
        return out[:, :stopped]


