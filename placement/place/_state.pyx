"""The placement state in C: what placing and stopping tasks changes, one source of truth.

Per row (a fleet row, tombstones included): remaining cpu, memory and GPUs, ``runningTasksCount``,
the counted tasks in any group, eligibility, and the host ports in use (a hash set of (row, port)
pairs, with per-row counts for the 100-port limit and the free part of the ephemeral range).
Per task, in the order they came: its row, group, what it took and the ports it holds, linked to
the row's other tasks and to the row's tasks of the same group, so that a stop frees exactly what
one task took and scale-in finds an instance's last task of a group in O(1). Per group, the
counters one of its tasks moves (``Counters``: its per-row count, the per-row counts of stateful
``task:group`` leaves that name it, its spread counts per bucket); their arrays belong to
``placement.place.state``, which points them here. Every change of a row is logged, and every
constraint that reads placed state is re-evaluated for that row by its compiled program.

``place`` and ``release`` run without the GIL: the ranker calls them per task. Everything a
caller passes in from Python is checked where it enters (``load``, ``adopt``, the ``Demand`` a
request builds); the loops trust it.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memset

from placement.engine._kernels cimport Program, RowProgram, evaluate_row

import numpy as np

cdef int64_t EMPTY = -1, DELETED = -2
ROW_ARRAYS = {"cpu": np.int64, "memory": np.int64, "gpu": np.int64, "running": np.int64, "group_total": np.int64,
              "eligible": np.uint8, "active": np.uint8, "reserved": np.int32, "in_range": np.int32,
              "row_last": np.int64}
RESERVED = (22, 2375, 2376, 51678, 51679, 51680)     # never assigned as dynamic ports (SPEC 2b)


cdef inline bint special(int64_t port) noexcept nogil:
    return port == 22 or port == 2375 or port == 2376 or 51678 <= port <= 51680


# -- an int64 -> int64 hash map -------------------------------------------------------------------

cdef inline uint64_t mix(uint64_t x) noexcept nogil:
    x = (x ^ (x >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    x = (x ^ (x >> 27)) * <uint64_t>0x94D049BB133111EB
    return x ^ (x >> 31)


cdef int map_init(IntMap* m, Py_ssize_t capacity) except -1 nogil:
    cdef Py_ssize_t size = 16, i
    while size < 2 * capacity:
        size *= 2
    m.keys = <int64_t*>malloc(size * sizeof(int64_t))
    m.values = <int64_t*>malloc(size * sizeof(int64_t))
    if m.keys == NULL or m.values == NULL:
        with gil:
            raise MemoryError()
    for i in range(size):
        m.keys[i] = EMPTY
    m.mask, m.used, m.live = size - 1, 0, 0
    return 0


cdef inline Py_ssize_t map_slot(const IntMap* m, int64_t key) noexcept nogil:
    """The slot holding ``key``, or -1."""
    cdef Py_ssize_t i = <Py_ssize_t>(mix(<uint64_t>key) & <uint64_t>m.mask)
    while m.keys[i] != EMPTY:
        if m.keys[i] == key:
            return i
        i = (i + 1) & m.mask
    return -1


cdef inline int64_t map_get(const IntMap* m, int64_t key, int64_t missing) noexcept nogil:
    cdef Py_ssize_t slot = map_slot(m, key)
    return missing if slot < 0 else m.values[slot]


cdef int map_put(IntMap* m, int64_t key, int64_t value) except -1 nogil:
    cdef Py_ssize_t i, slot = map_slot(m, key)
    cdef IntMap grown
    if slot >= 0:
        m.values[slot] = value
        return 0
    if 10 * (m.used + 1) > 7 * (m.mask + 1):           # rehash: live entries only, room to double
        map_init(&grown, 2 * m.live + 16)
        for i in range(m.mask + 1):
            if m.keys[i] >= 0:
                map_put(&grown, m.keys[i], m.values[i])
        free(m.keys)
        free(m.values)
        m[0] = grown
    i = <Py_ssize_t>(mix(<uint64_t>key) & <uint64_t>m.mask)
    while m.keys[i] >= 0:
        i = (i + 1) & m.mask
    if m.keys[i] == EMPTY:
        m.used += 1
    m.keys[i], m.values[i] = key, value
    m.live += 1
    return 0


cdef inline void map_remove(IntMap* m, int64_t key) noexcept nogil:
    cdef Py_ssize_t slot = map_slot(m, key)
    if slot >= 0:
        m.keys[slot] = DELETED
        m.live -= 1


cdef int remap_keys(IntMap* m, int64_t[::1] mapping, int shift) except -1:
    """Re-key a map of (row << shift | x) after rows moved; rows mapped to -1 drop out."""
    cdef IntMap moved
    cdef Py_ssize_t i
    cdef int64_t row
    map_init(&moved, m.live + 16)
    for i in range(m.mask + 1):
        if m.keys[i] >= 0:
            row = mapping[m.keys[i] >> shift]
            if row >= 0:
                map_put(&moved, (row << shift) | (m.keys[i] & ((<int64_t>1 << shift) - 1)), m.values[i])
    free(m.keys)
    free(m.values)
    m[0] = moved
    return 0


cdef int grow_buffer(void** buffer, Py_ssize_t* capacity, Py_ssize_t needed, size_t item) except -1 nogil:
    """Room for ``needed`` items in a malloc'd buffer (doubling)."""
    cdef Py_ssize_t size = capacity[0]
    cdef void* moved
    if needed <= size:
        return 0
    while size < needed:
        size = max(16, 2 * size)
    moved = realloc(buffer[0], size * item)
    if moved == NULL:
        with gil:
            raise MemoryError()
    buffer[0], capacity[0] = moved, size
    return 0


cdef inline int64_t group_key(Py_ssize_t row, Py_ssize_t group) noexcept nogil:
    return (<int64_t>row << 24) | group


cdef inline int64_t port_key(Py_ssize_t row, int64_t port) noexcept nogil:
    return (<int64_t>row << 16) | port


cdef void* address(object array):
    return <void*><uintptr_t>array.__array_interface__["data"][0]


# -- the state ------------------------------------------------------------------------------------

cdef class State:
    """Placement state over ``capacity`` rows (``n`` of them in use) with ephemeral ports ``low..high``."""

    def __cinit__(self, Py_ssize_t capacity, int64_t low=49153, int64_t high=65535):
        if not 1 <= low <= high <= 65535:
            raise ValueError("the ephemeral port range must lie within 1..65535")
        self.low, self.high = low, high
        self.specials_in_range = sum(low <= p <= high for p in RESERVED)
        self.arrays = {}
        self.capacity = 0
        map_init(&self.ports, 64)
        map_init(&self.last_of_group, 64)
        self.counter_arrays = []
        self.program_refs = []
        self.grow(max(1, capacity))

    def __dealloc__(self):
        free(self.ports.keys)
        free(self.ports.values)
        free(self.last_of_group.keys)
        free(self.last_of_group.values)
        free(self.task_table)
        free(self.port_pool)
        free(self.log)
        free(self.programs)
        free(self.program_masks)
        self._free_counters()

    def _free_counters(self):
        cdef Py_ssize_t g
        for g in range(self.groups):
            free(self.counters[g].tally)
            free(self.counters[g].bucket_of)
            free(self.counters[g].bucket_count)
        free(self.counters)
        self.counters, self.groups, self.group_capacity = NULL, 0, 0

    # -- rows --------------------------------------------------------------------------------------

    def grow(self, Py_ssize_t capacity):
        """Room for ``capacity`` rows; every per-row array is replaced (``epoch`` changes)."""
        if capacity < self.n:
            raise ValueError("cannot shrink below the rows in use")
        for name, dtype in ROW_ARRAYS.items():
            grown = np.zeros(capacity, dtype=dtype) if name != "row_last" else np.full(capacity, -1, dtype=np.int64)
            if name in self.arrays:
                grown[:self.n] = self.arrays[name][:self.n]
            self.arrays[name] = grown
        self.capacity = capacity
        self.cpu, self.memory, self.gpu = <int64_t*>address(self.arrays["cpu"]), \
            <int64_t*>address(self.arrays["memory"]), <int64_t*>address(self.arrays["gpu"])
        self.running = <int64_t*>address(self.arrays["running"])
        self.group_total_ = <int64_t*>address(self.arrays["group_total"])
        self.eligible = <uint8_t*>address(self.arrays["eligible"])
        self.active = <uint8_t*>address(self.arrays["active"])
        self.reserved = <int32_t*>address(self.arrays["reserved"])
        self.in_range = <int32_t*>address(self.arrays["in_range"])
        self.row_last = <int64_t*>address(self.arrays["row_last"])
        self.epoch += 1

    def remap(self, old_to_new, Py_ssize_t capacity):
        """A fleet compaction: row ``r`` is now ``old_to_new[r]`` (-1: gone, its tasks stopped
        already), in the same order, over ``capacity`` rows. The log restarts: every index rebuilds."""
        cdef int64_t[::1] mapping = np.ascontiguousarray(old_to_new, dtype=np.int64)
        if len(mapping) != self.n:
            raise ValueError("one new row per row")
        keep = np.flatnonzero(np.asarray(mapping) >= 0)
        if not len(keep) <= capacity or np.any(np.asarray(mapping)[keep] != np.arange(len(keep))):
            raise ValueError("a compaction keeps the order of the rows it keeps")
        cdef Py_ssize_t t, k, new_n = len(keep)
        for name in ROW_ARRAYS:
            moved = np.zeros(capacity, dtype=ROW_ARRAYS[name]) if name != "row_last" else np.full(capacity, -1, np.int64)
            moved[:new_n] = self.arrays[name][keep]
            self.arrays[name] = moved
        for t in range(self.tasks):
            if self.task_table[t].alive:
                self.task_table[t].row = mapping[self.task_table[t].row]
        remap_keys(&self.ports, mapping, 16)
        remap_keys(&self.last_of_group, mapping, 24)
        self.n, self.capacity = new_n, 0
        self.grow(capacity)
        self.log_start += self.log_size
        self.log_size = 0

    def array(self, str name):
        """The per-row numpy array ``name`` (valid until the next ``grow``)."""
        return self.arrays[name]

    def use_rows(self, Py_ssize_t n):
        """Rows ``0..n-1`` are in use (new rows come in zeroed: load them)."""
        if not self.n <= n <= self.capacity:
            raise ValueError("rows out of range")
        self.n = n

    def load(self, rows, cpu, memory, gpu, running, eligible, active):
        """The fleet's own state of ``rows`` (new, or re-read): resources and counts as given."""
        picked = np.asarray(rows, dtype=np.int64)
        if len(picked) and (picked.min() < 0 or picked.max() >= self.n):
            raise ValueError("rows out of range")
        for name, values in (("cpu", cpu), ("memory", memory), ("gpu", gpu), ("running", running),
                             ("eligible", eligible), ("active", active)):
            self.arrays[name][picked] = values

    def load_row(self, Py_ssize_t row, int64_t cpu, int64_t memory, int64_t gpu, int64_t running, bint eligible,
                 bint active):
        """``load`` for one row."""
        if not 0 <= row < self.n:
            raise ValueError("row out of range")
        self.cpu[row], self.memory[row], self.gpu[row], self.running[row] = cpu, memory, gpu, running
        self.eligible[row], self.active[row] = eligible, active

    def reserve_ports(self, Py_ssize_t row, ports):
        """The instance's own PORTS (reserved, held by no task)."""
        if not 0 <= row < self.n:
            raise ValueError("row out of range")
        for port in ports:
            if not 0 < port < 65536:
                raise ValueError("port out of range")
            if map_slot(&self.ports, port_key(row, port)) < 0:
                map_put(&self.ports, port_key(row, port), -1)
                self.reserved[row] += 1
                self.in_range[row] += self.low <= port <= self.high and not special(port)

    def in_use(self, Py_ssize_t row, int64_t port) -> bool:
        return 0 <= row < self.n and 0 < port < 65536 and map_slot(&self.ports, port_key(row, port)) >= 0

    # -- checking a task against a row --------------------------------------------------------------

    cdef bint ports_fit(self, Py_ssize_t row, const Demand* demand) noexcept nogil:
        cdef int k
        cdef int64_t free_ports
        if demand.static_count:
            if self.reserved[row] + demand.static_count > MAX_RESERVED_PORTS:
                return 0
            for k in range(demand.port_count):
                if demand.ports[k] and map_slot(&self.ports, port_key(row, demand.ports[k])) >= 0:
                    return 0
        if demand.dynamic_count:
            free_ports = (self.high - self.low + 1) - self.specials_in_range - self.in_range[row] - demand.own_in_range
            if free_ports < demand.dynamic_count:
                return 0
        return 1

    cdef bint fits(self, Py_ssize_t row, const Demand* demand) noexcept nogil:
        return (self.cpu[row] >= demand.cpu and self.memory[row] >= demand.memory and self.gpu[row] >= demand.gpu
                and (demand.port_count == 0 or self.ports_fit(row, demand)))

    # -- tasks -------------------------------------------------------------------------------------

    cdef int64_t new_task(self, Py_ssize_t row, Py_ssize_t group, int64_t cpu, int64_t memory, int64_t gpu,
                          Py_ssize_t ports) except -1 nogil:
        """Number and link a task, with room for ``ports`` held ports (``hold`` fills them in)."""
        cdef int64_t t = self.tasks, last
        cdef Task* task
        grow_buffer(<void**>&self.task_table, &self.task_capacity, t + 1, sizeof(Task))
        grow_buffer(<void**>&self.port_pool, &self.pool_capacity, self.pool_size + ports, sizeof(int64_t))
        task = &self.task_table[t]
        task.row, task.group, task.cpu, task.memory, task.gpu = row, group, cpu, memory, gpu
        task.port_start, task.port_count, task.alive = self.pool_size, 0, 1
        self.pool_size += ports
        last = self.row_last[row]
        task.row_prev, task.row_next = last, -1
        if last >= 0:
            self.task_table[last].row_next = t
        self.row_last[row] = t
        last = map_get(&self.last_of_group, group_key(row, group), -1)
        task.prev, task.next = last, -1
        if last >= 0:
            self.task_table[last].next = t
        map_put(&self.last_of_group, group_key(row, group), t)
        self.tasks = t + 1
        return t

    cdef void count(self, int64_t t, int64_t step) noexcept nogil:
        """Move every counter of task ``t`` by ``step`` (+1 placed, -1 stopped)."""
        cdef Task* task = &self.task_table[t]
        cdef Py_ssize_t row = task.row, k
        cdef Counters* c = &self.counters[task.group]
        self.group_total_[row] += step
        if c.count != NULL:
            c.count[row] += step
        for k in range(c.tallies):
            c.tally[k][row] += step
        for k in range(c.buckets):
            c.bucket_count[k][c.bucket_of[k][row]] += step

    cdef void take(self, int64_t t, int64_t step) noexcept nogil:
        """Resources and ``runningTasksCount`` of task ``t``'s row, by ``step``."""
        cdef Task* task = &self.task_table[t]
        cdef Py_ssize_t row = task.row
        self.cpu[row] -= step * task.cpu
        self.memory[row] -= step * task.memory
        self.gpu[row] -= step * task.gpu
        self.running[row] = max(0, self.running[row] + step)

    cdef int hold(self, int64_t t, int64_t port) except -1 nogil:
        """Task ``t`` holds ``port`` (DYNAMIC_PORT set: from the ephemeral range, not reserved)."""
        cdef Task* task = &self.task_table[t]
        cdef int64_t number = port & 0xFFFF
        self.port_pool[task.port_start + task.port_count] = port
        task.port_count += 1
        map_put(&self.ports, port_key(task.row, number), t)
        if not port & DYNAMIC_PORT:
            self.reserved[task.row] += 1
        if self.low <= number <= self.high and not special(number):
            self.in_range[task.row] += 1
        return 0

    cdef int64_t place(self, Py_ssize_t row, Py_ssize_t group, const Demand* demand,
                       int64_t* host_ports) except -1 nogil:
        """Place one task of ``group`` on ``row`` (it fits): take what it needs, assign its
        dynamic ports (the lowest free ones of the range, after its static ones), count it, log
        the row. The host port of each requested port goes to ``host_ports`` in request order."""
        cdef int64_t t = self.new_task(row, group, demand.cpu, demand.memory, demand.gpu, demand.port_count)
        cdef int64_t port = self.low
        cdef int k
        for k in range(demand.port_count):
            if demand.ports[k]:
                self.hold(t, demand.ports[k])
                host_ports[k] = demand.ports[k]
        for k in range(demand.port_count):
            if not demand.ports[k]:
                while special(port) or map_slot(&self.ports, port_key(row, port)) >= 0:
                    port += 1
                self.hold(t, port | DYNAMIC_PORT)
                host_ports[k] = port
                port += 1
        self.take(t, 1)
        self.count(t, 1)
        self.changed(row)
        return t

    cdef int release(self, int64_t t) except -1 nogil:
        """Stop task ``t``: everything it took comes back, its counters go down, its ports are free."""
        cdef Task* task = &self.task_table[t]
        cdef Py_ssize_t row = task.row, k
        cdef int64_t port, number
        self.take(t, -1)
        self.count(t, -1)
        for k in range(task.port_count):
            port = self.port_pool[task.port_start + k]
            number = port & 0xFFFF
            map_remove(&self.ports, port_key(row, number))
            if not port & DYNAMIC_PORT:
                self.reserved[row] -= 1
            if self.low <= number <= self.high and not special(number):
                self.in_range[row] -= 1
        if task.row_prev >= 0:
            self.task_table[task.row_prev].row_next = task.row_next
        if task.row_next >= 0:
            self.task_table[task.row_next].row_prev = task.row_prev
        else:
            self.row_last[row] = task.row_prev
        if task.prev >= 0:
            self.task_table[task.prev].next = task.next
        if task.next >= 0:
            self.task_table[task.next].prev = task.prev
        elif task.prev >= 0:
            map_put(&self.last_of_group, group_key(row, task.group), task.prev)
        else:
            map_remove(&self.last_of_group, group_key(row, task.group))
        task.alive = 0
        self.changed(row)
        return 0

    cdef int64_t last_task(self, Py_ssize_t row, Py_ssize_t group) noexcept nogil:
        return map_get(&self.last_of_group, group_key(row, group), -1)

    def adopt_one(self, Py_ssize_t row, Py_ssize_t group, int64_t cpu, int64_t memory, int64_t gpu, ports,
                  bint started):
        """``adopt`` for one task; returns its number."""
        if not 0 <= row < self.n or not 0 <= group < self.groups or min(cpu, memory, gpu) < 0:
            raise ValueError("task row, group or amounts out of range")
        cdef int64_t t = self.new_task(row, group, cpu, memory, gpu, len(ports))
        self.held(t, ports, started)
        if started:
            self.take(t, 1)
        self.count(t, 1)
        self.changed(row)
        return t

    cdef int held(self, int64_t t, ports, bint started) except -1:
        """The ports a fleet task holds (see ``adopt``)."""
        cdef Task* task = &self.task_table[t]
        cdef int64_t owner, row = task.row
        for port in sorted(p for p in ports if 0 < p < 65536):
            owner = map_get(&self.ports, port_key(row, port), -2)
            if owner == -1:                          # listed in PORTS: the task's now
                self.port_pool[task.port_start + task.port_count] = port
                task.port_count += 1
                map_put(&self.ports, port_key(row, port), t)
            elif owner == -2 and started:           # a started task's static port
                self.hold(t, port)
        return 0

    def adopt(self, rows, groups, cpu, memory, gpu, ports, bint started):
        """Tasks the fleet runs, in its order. Copied with their rows (``started`` False) they are
        in the fleet's resources already: only counted; started since (True), they also take
        what they need. A port the instance lists in PORTS becomes the task's; a started task's
        other ports are static ones it reserves; a copied task's other ports (dynamic bindings,
        which PORTS does not list) are not tracked. Returns the task numbers."""
        rows, groups = np.asarray(rows, dtype=np.int64), np.asarray(groups, dtype=np.int64)
        amounts = [np.asarray(a, dtype=np.int64) for a in (cpu, memory, gpu)]
        m = len(rows)
        if any(len(a) != m for a in (groups, *amounts)) or len(ports) != m:
            raise ValueError("one entry per task")
        if m and (rows.min() < 0 or rows.max() >= self.n or groups.min() < 0 or groups.max() >= self.groups
                  or min(int(a.min()) for a in amounts) < 0):
            raise ValueError("task rows, groups or amounts out of range")
        first = self.tasks
        cdef int64_t t, row
        for k in range(m):
            row = rows[k]
            t = self.new_task(row, groups[k], amounts[0][k], amounts[1][k], amounts[2][k], len(ports[k]))
            self.held(t, ports[k], started)
            if started:
                self.take(t, 1)
            self.count(t, 1)
            self.changed(row)
        return np.arange(first, self.tasks, dtype=np.int64)

    def stop(self, int64_t task):
        if not 0 <= task < self.tasks or not self.task_table[task].alive:
            raise ValueError("no such running task")
        self.release(task)

    def stop_many(self, numbers):
        """Stop these tasks, all or none: each must be running, and named once. Their rows."""
        cdef int64_t[::1] picked = np.ascontiguousarray(numbers, dtype=np.int64)
        cdef Py_ssize_t k, m = len(picked)
        cdef int64_t t
        for k in range(m):                             # check all first: 2 marks a task named already
            t = picked[k]
            if not 0 <= t < self.tasks or self.task_table[t].alive != 1:
                for k in range(k):
                    self.task_table[picked[k]].alive = 1
                raise KeyError(k)
            self.task_table[t].alive = 2
        out = np.empty(m, dtype=np.int64)
        cdef int64_t[::1] rows = out
        with nogil:
            for k in range(m):
                t = picked[k]
                self.task_table[t].alive = 1
                rows[k] = self.task_table[t].row
                self.release(t)
        return out

    def task(self, int64_t t):
        """(row, group, cpu, memory, gpu, alive, ports) of task ``t``."""
        if not 0 <= t < self.tasks:
            raise ValueError("no such task")
        cdef Task* task = &self.task_table[t]
        return (task.row, task.group, task.cpu, task.memory, task.gpu, bool(task.alive),
                [self.port_pool[task.port_start + k] & 0xFFFF for k in range(task.port_count)])

    def task_rows(self, numbers) -> np.ndarray:
        """The row of each task (stopped ones included)."""
        cdef int64_t[::1] picked = np.ascontiguousarray(numbers, dtype=np.int64)
        out = np.empty(len(picked), dtype=np.int64)
        cdef int64_t[::1] view = out
        cdef Py_ssize_t k
        for k in range(len(picked)):
            if not 0 <= picked[k] < self.tasks:
                raise ValueError("no such task")
            view[k] = self.task_table[picked[k]].row
        return out

    def alive(self, int64_t t) -> bool:
        return 0 <= t < self.tasks and bool(self.task_table[t].alive)

    def tasks_on(self, Py_ssize_t row) -> list:
        """The live tasks on ``row``, in the order they came."""
        out = []
        cdef int64_t t = self.row_last[row] if 0 <= row < self.n else -1
        while t >= 0:
            out.append(t)
            t = self.task_table[t].row_prev
        return out[::-1]

    def last_of(self, Py_ssize_t row, Py_ssize_t group) -> int:
        return self.last_task(row, group) if 0 <= row < self.n else -1

    def count_tasks(self, flags, out):
        """Add to ``out[row]`` the live tasks on each row whose group code has ``flags[code]`` set."""
        cdef uint8_t[::1] flagged = np.ascontiguousarray(flags, dtype=np.uint8)
        cdef int64_t[::1] counts = out
        cdef Py_ssize_t t
        if len(flagged) < self.groups or len(counts) != self.capacity:
            raise ValueError("one flag per group and one count per row")
        for t in range(self.tasks):
            if self.task_table[t].alive and flagged[self.task_table[t].group]:
                counts[self.task_table[t].row] += 1

    # -- counters and programs -----------------------------------------------------------------------

    def add_group(self):
        """A new group code (its counters empty until ``set_counters``)."""
        cdef Py_ssize_t capacity = self.group_capacity
        grow_buffer(<void**>&self.counters, &capacity, self.groups + 1, sizeof(Counters))
        self.group_capacity = capacity
        memset(&self.counters[self.groups], 0, sizeof(Counters))
        self.counter_arrays.append(None)
        self.groups += 1
        return self.groups - 1

    def set_counters(self, Py_ssize_t group, count, list tallies, list buckets):
        """Point group ``group``'s counters at these arrays: ``count`` (per row, or None),
        ``tallies`` (per row), ``buckets`` [(bucket_of uint32 per row, bucket_count int64)]."""
        if not 0 <= group < self.groups:
            raise ValueError("no such group")
        for array in ([count] if count is not None else []) + tallies + [b for b, _ in buckets]:
            if len(array) != self.capacity or not array.flags.c_contiguous:
                raise ValueError("a per-row counter does not match the state's rows")
        for array in [count] + tallies if count is not None else tallies:
            if array.dtype != np.int64:
                raise ValueError("counts are int64")
        for bucket_of, bucket_count in buckets:
            if bucket_of.dtype != np.uint32 or bucket_count.dtype != np.int64 or not bucket_count.flags.c_contiguous \
                    or (self.n and int(bucket_of[:self.n].max()) >= len(bucket_count)):
                raise ValueError("spread buckets are inconsistent")
        cdef Counters* c = &self.counters[group]
        free(c.tally)
        free(c.bucket_of)
        free(c.bucket_count)
        memset(c, 0, sizeof(Counters))
        c.tally = <int64_t**>malloc(max(1, len(tallies)) * sizeof(int64_t*))
        c.bucket_of = <const uint32_t**>malloc(max(1, len(buckets)) * sizeof(uint32_t*))
        c.bucket_count = <int64_t**>malloc(max(1, len(buckets)) * sizeof(int64_t*))
        if c.tally == NULL or c.bucket_of == NULL or c.bucket_count == NULL:
            raise MemoryError()
        c.count = <int64_t*>address(count) if count is not None else NULL
        for k, tally in enumerate(tallies):
            c.tally[k] = <int64_t*>address(tally)
        for k, (bucket_of, bucket_count) in enumerate(buckets):
            c.bucket_of[k] = <const uint32_t*>address(bucket_of)
            c.bucket_count[k] = <int64_t*>address(bucket_count)
        c.tallies, c.buckets = len(tallies), len(buckets)
        self.counter_arrays[group] = (count, tallies, buckets)

    def set_programs(self, list programs):
        """The constraints that read placed state: [(Program over these rows, uint8 mask)]."""
        cdef Program program
        for program, mask in programs:
            if program.rows != self.capacity or mask.dtype != np.uint8 or len(mask) != self.capacity:
                raise ValueError("a stateful program does not match the state's rows")
        free(self.programs)
        free(self.program_masks)
        self.programs = <RowProgram*>malloc(max(1, len(programs)) * sizeof(RowProgram))
        self.program_masks = <uint8_t**>malloc(max(1, len(programs)) * sizeof(uint8_t*))
        if self.programs == NULL or self.program_masks == NULL:
            raise MemoryError()
        for k, (program, mask) in enumerate(programs):
            self.programs[k] = program.row_program()
            self.program_masks[k] = <uint8_t*>address(mask)
        self.program_count = len(programs)
        self.program_refs = programs

    # -- the change log ------------------------------------------------------------------------------

    cdef int changed(self, Py_ssize_t row) except -1 nogil:
        """Row ``row``'s state changed: re-evaluate the stateful constraints there, log it."""
        cdef int k
        for k in range(self.program_count):
            self.program_masks[k][row] = evaluate_row(&self.programs[k], row)
        grow_buffer(<void**>&self.log, &self.log_capacity, self.log_size + 1, sizeof(int64_t))
        self.log[self.log_size] = row
        self.log_size += 1

    def touch(self, rows):
        """Rows changed from outside (a fleet event): re-evaluate and log them."""
        picked = np.asarray(rows, dtype=np.int64)
        if len(picked) and (picked.min() < 0 or picked.max() >= self.n):
            raise ValueError("rows out of range")
        for row in picked.tolist():
            self.changed(row)

    cdef int64_t log_at(self, Py_ssize_t sequence) noexcept nogil:
        return self.log[sequence - self.log_start]

    @property
    def log_end(self) -> int:
        return self.log_start + self.log_size

    def trim_log(self, Py_ssize_t keep_from):
        """Drop the entries before sequence ``keep_from``."""
        cdef Py_ssize_t drop = min(max(0, keep_from - self.log_start), self.log_size), k
        for k in range(self.log_size - drop):
            self.log[k] = self.log[k + drop]
        self.log_size -= drop
        self.log_start += drop

    def ports_blocked(self, int64_t cpu, int64_t memory, int64_t gpu, ports) -> np.ndarray:
        """uint8 per row: the task's ports do not fit there (for reasons)."""
        cdef Demand demand
        cdef int64_t[::1] buffer = np.ascontiguousarray(ports, dtype=np.int64) if len(ports) else np.zeros(1, np.int64)
        fill_demand(self, &demand, cpu, memory, gpu, &buffer[0], len(ports))
        out = np.zeros(self.n, dtype=np.uint8)
        cdef uint8_t[::1] view = out
        cdef Py_ssize_t row
        for row in range(self.n):
            view[row] = not self.ports_fit(row, &demand)
        return out


cdef int fill_demand(State state, Demand* demand, int64_t cpu, int64_t memory, int64_t gpu, const int64_t* ports,
                     Py_ssize_t count) except -1:
    """A checked ``Demand``: non-negative amounts, ports in 0..65535, static ones unique."""
    cdef Py_ssize_t j, k
    if cpu < 0 or memory < 0 or gpu < 0:
        raise ValueError("negative demand")
    demand.cpu, demand.memory, demand.gpu = cpu, memory, gpu
    demand.ports, demand.port_count = ports, <int>count
    demand.static_count = demand.dynamic_count = demand.own_in_range = 0
    for j in range(count):
        if not 0 <= ports[j] < 65536:
            raise ValueError("port out of range")
        if ports[j] == 0:
            demand.dynamic_count += 1
            continue
        demand.static_count += 1
        demand.own_in_range += state.low <= ports[j] <= state.high and not special(ports[j])
        for k in range(j):
            if ports[k] == ports[j]:
                raise ValueError("a static port twice")
    return 0
