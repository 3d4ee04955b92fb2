"""The placement state in C: what placing and stopping tasks changes, one source of truth.

Per row (a fleet row, tombstones included): remaining cpu, memory and GPUs, ``runningTasksCount``,
the counted tasks in any group, eligibility, and the host ports in use (``_ports.Ports``).
Per running task, in a slot of the task table: its number (handed out in order, never reused),
row, group, what it took and the ports it holds, linked to the row's other tasks and to the row's
tasks of the same group, so that a stop frees exactly what one task took and scale-in finds an
instance's last task of a group in O(1). A stopped task's slot and its ports' room in the pool
are reused, so the state is as large as the most tasks that ran at once, however many came and
went; callers name tasks by number, through a number -> slot map. Per group, the
counters one of its tasks moves (``Counters``: its per-row count, the per-row counts of stateful
``task:group`` leaves that name it, its spread counts per bucket); their arrays belong to
``placement.place.state``, which points them here. Every change of a row is logged, and every
constraint that reads placed state is re-evaluated for that row by its compiled program.

``place`` and ``release`` run without the GIL: the ranker calls them per task. Everything a
caller passes in from Python is checked where it enters (``load``, ``adopt``, the ``Demand`` a
request builds); the loops trust it.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from placement.engine._kernels cimport Program, RowProgram, evaluate_row
from placement.place._intmap cimport grow_buffer, map_get, map_init, map_put, map_remove, remap_keys
from placement.place._ports cimport DYNAMIC_PORT, Demand, Ports

import numpy as np

ROW_ARRAYS = {"cpu": np.int64, "memory": np.int64, "gpu": np.int64, "running": np.int64, "group_total": np.int64,
              "eligible": np.uint8, "active": np.uint8, "row_last": np.int64}


cdef inline int64_t group_key(Py_ssize_t row, Py_ssize_t group) noexcept nogil:
    return (<int64_t>row << 24) | group


cdef void* address(object array):
    return <void*><uintptr_t>array.__array_interface__["data"][0]


# -- the state ------------------------------------------------------------------------------------

cdef class State:
    """Placement state over ``capacity`` rows (``n`` of them in use) with ephemeral ports ``low..high``."""

    def __cinit__(self, Py_ssize_t capacity, int64_t low=49153, int64_t high=65535):
        self.ports = Ports(max(1, capacity), low, high)
        self.arrays = {}
        self.capacity = 0
        map_init(&self.last_of_group, 64)
        map_init(&self.slot_of, 64)
        self.free_slot = -1
        self.counter_arrays = []
        self.program_refs = []
        self.grow(max(1, capacity))

    @property
    def low(self) -> int:
        return self.ports.low

    @property
    def high(self) -> int:
        return self.ports.high

    def __dealloc__(self):
        free(self.last_of_group.keys)
        free(self.last_of_group.values)
        free(self.slot_of.keys)
        free(self.slot_of.values)
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
        self.row_last = <int64_t*>address(self.arrays["row_last"])
        if self.ports.capacity != capacity:
            self.ports.grow(capacity)
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
        for t in range(self.slots):
            if self.task_table[t].alive:
                self.task_table[t].row = mapping[self.task_table[t].row]
        self.ports.remap(old_to_new, capacity)
        remap_keys(&self.last_of_group, &mapping[0], 24)
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
        self.ports.reserve(row, ports)

    def in_use(self, Py_ssize_t row, int64_t port) -> bool:
        return 0 <= row < self.n and self.ports.in_use(row, port)

    # -- tasks -------------------------------------------------------------------------------------

    cdef int64_t new_task(self, Py_ssize_t row, Py_ssize_t group, int64_t cpu, int64_t memory, int64_t gpu,
                          Py_ssize_t ports, int64_t origin) except -1 nogil:
        """Number a task, give it a slot (a free one first) and link it, with room for ``ports``
        held ports (``hold`` fills them in). Returns the slot."""
        cdef int64_t t = self.free_slot, last
        cdef Task* task
        if t >= 0:
            self.free_slot = self.task_table[t].next
        else:
            grow_buffer(<void**>&self.task_table, &self.task_capacity, self.slots + 1, sizeof(Task))
            t = self.slots
            self.slots += 1
            self.task_table[t].alive, self.task_table[t].port_room = 0, 0
        task = &self.task_table[t]
        if task.port_room < ports:                       # a new slot, or one with too little room
            self.pool_room(ports)
            task.port_start, task.port_room = self.pool_size, <int32_t>ports
            self.pool_size += ports
        self.pool_live += task.port_room
        task.number, task.origin = self.tasks, origin
        task.row, task.group, task.cpu, task.memory, task.gpu = row, <int32_t>group, cpu, memory, gpu
        task.port_count, task.alive = 0, 1
        map_put(&self.slot_of, task.number, t)
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
        self.tasks += 1
        return t

    cdef int pool_room(self, Py_ssize_t ports) except -1 nogil:
        """Room for ``ports`` more at the end of the port pool. The pool holds the room of running
        tasks and of free slots; when at least half of it is neither and compacting pays for its
        pass over the slots, the room in use moves to a fresh pool instead of the pool growing,
        so it stays within about twice the room in use."""
        cdef Py_ssize_t garbage = self.pool_size - self.pool_live, k, end = 0, size
        cdef int64_t* moved
        cdef Task* task
        if self.pool_size + ports <= self.pool_capacity:
            return 0
        if 2 * garbage < self.pool_size or 4 * garbage < self.slots:
            return grow_buffer(<void**>&self.port_pool, &self.pool_capacity, self.pool_size + ports, sizeof(int64_t))
        size = max(16, 2 * (self.pool_live + ports))
        moved = <int64_t*>malloc(size * sizeof(int64_t))
        if moved == NULL:
            with gil:
                raise MemoryError()
        for k in range(self.slots):
            task = &self.task_table[k]
            if task.alive:
                memcpy(&moved[end], &self.port_pool[task.port_start], task.port_count * sizeof(int64_t))
                task.port_start = end
                end += task.port_room
            else:
                task.port_room = 0                       # a free slot's room is dropped
        free(self.port_pool)
        self.port_pool, self.pool_capacity, self.pool_size, self.pool_live = moved, size, end, end
        return 0

    cdef int64_t slot(self, int64_t number) noexcept nogil:
        """The slot of running task ``number`` (-1: none)."""
        return map_get(&self.slot_of, number, -1) if number >= 0 else -1

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
        self.port_pool[task.port_start + task.port_count] = port
        task.port_count += 1
        return self.ports.take(task.row, port, t)

    cdef int64_t place(self, Py_ssize_t row, Py_ssize_t group, const Demand* demand,
                       int64_t* host_ports) except -1 nogil:
        """Place one task of ``group`` on ``row`` (it fits): take what it needs, assign its
        dynamic ports (the lowest free ones of the range, after its static ones), count it, log
        the row. The host port of each requested port goes to ``host_ports`` in request order.
        Returns its number."""
        cdef int64_t t = self.new_task(row, group, demand.cpu, demand.memory, demand.gpu, demand.port_count, -1)
        cdef int64_t port = self.ports.low
        cdef int k
        for k in range(demand.port_count):
            if demand.ports[k]:
                self.hold(t, demand.ports[k])
                host_ports[k] = demand.ports[k]
        for k in range(demand.port_count):
            if not demand.ports[k]:
                port = self.ports.lowest_free(row, port)
                self.hold(t, port | DYNAMIC_PORT)
                host_ports[k] = port
                port += 1
        self.take(t, 1)
        self.count(t, 1)
        self.changed(row)
        return self.task_table[t].number

    cdef int64_t release(self, int64_t t) except -1 nogil:
        """Stop the task in slot ``t``: everything it took comes back, its counters go down, its
        ports are free, its slot is free. Returns its number."""
        cdef Task* task = &self.task_table[t]
        cdef Py_ssize_t row = task.row, k
        self.take(t, -1)
        self.count(t, -1)
        for k in range(task.port_count):
            self.ports.give(row, self.port_pool[task.port_start + k])
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
        map_remove(&self.slot_of, task.number)
        task.alive = 0
        self.pool_live -= task.port_room
        task.next, self.free_slot = self.free_slot, t
        self.changed(row)
        return task.number

    cdef int64_t last_task(self, Py_ssize_t row, Py_ssize_t group) noexcept nogil:
        return map_get(&self.last_of_group, group_key(row, group), -1)

    def adopt_one(self, Py_ssize_t row, Py_ssize_t group, int64_t cpu, int64_t memory, int64_t gpu, ports,
                  bint started, int64_t origin=-1):
        """``adopt`` for one task; returns its number."""
        if not 0 <= row < self.n or not 0 <= group < self.groups or min(cpu, memory, gpu) < 0 or origin < -1:
            raise ValueError("task row, group, amounts or origin out of range")
        cdef int64_t t = self.new_task(row, group, cpu, memory, gpu, len(ports), origin)
        self.held(t, ports, started)
        if started:
            self.take(t, 1)
        self.count(t, 1)
        self.changed(row)
        return self.task_table[t].number

    cdef int held(self, int64_t t, ports, bint started) except -1:
        """The ports the fleet task in slot ``t`` holds (see ``adopt``)."""
        cdef Task* task = &self.task_table[t]
        cdef int64_t owner, row = task.row
        for port in sorted(p for p in ports if 0 < p < 65536):
            owner = self.ports.owner(row, port)
            if owner == -1:                          # listed in PORTS: the task's now
                self.port_pool[task.port_start + task.port_count] = port
                task.port_count += 1
                self.ports.claim(row, port, t)
            elif owner == -2 and started:           # a started task's static port
                self.hold(t, port)
        return 0

    def adopt(self, rows, groups, cpu, memory, gpu, list ports, bint started, bint log=True, origins=None):
        """Tasks the fleet runs, in its order. Copied with their rows (``started`` False) they are
        in the fleet's resources already: only counted; started since (True), they also take
        what they need. A port the instance lists in PORTS becomes the task's; a started task's
        other ports are static ones it reserves; a copied task's other ports (dynamic bindings,
        which PORTS does not list) are not tracked. ``log`` False: the caller touches the rows
        itself. ``origins``: each task's index in the fleet (None: -1 each). Returns the number
        of the first (the others follow)."""
        cdef int64_t[::1] on = np.ascontiguousarray(rows, dtype=np.int64), group = np.ascontiguousarray(groups, dtype=np.int64)
        cdef int64_t[::1] c = np.ascontiguousarray(cpu, dtype=np.int64), mem = np.ascontiguousarray(memory, dtype=np.int64)
        cdef int64_t[::1] g = np.ascontiguousarray(gpu, dtype=np.int64)
        cdef Py_ssize_t k, m = len(on)
        cdef int64_t[::1] origin = np.ascontiguousarray(origins if origins is not None else np.full(m, -1), dtype=np.int64)
        cdef int64_t t, first = self.tasks
        if len(group) != m or len(c) != m or len(mem) != m or len(g) != m or len(ports) != m or len(origin) != m:
            raise ValueError("one entry per task")
        for k in range(m):
            if not (0 <= on[k] < self.n and 0 <= group[k] < self.groups and c[k] >= 0 and mem[k] >= 0 and g[k] >= 0
                    and origin[k] >= -1):
                raise ValueError("task rows, groups, amounts or origins out of range")
        for k in range(m):
            held = ports[k]
            t = self.new_task(on[k], group[k], c[k], mem[k], g[k], len(held) if held else 0, origin[k])
            if held:
                self.held(t, held, started)
            if started:
                self.take(t, 1)
            self.count(t, 1)
            if log:
                self.changed(on[k])
        return first

    def stop(self, int64_t number):
        cdef int64_t t = self.slot(number)
        if t < 0:
            raise ValueError("no such running task")
        self.release(t)

    def stop_many(self, numbers):
        """Stop these tasks, all or none: each must be running, and named once. Their rows."""
        cdef int64_t[::1] picked = np.ascontiguousarray(numbers, dtype=np.int64)
        cdef Py_ssize_t k, j, m = len(picked)
        out = np.empty(m, dtype=np.int64)
        cdef int64_t[::1] slots = out
        cdef int64_t t
        for k in range(m):                             # check all first: 2 marks a task named already
            t = self.slot(picked[k])
            if t < 0 or self.task_table[t].alive != 1:
                for j in range(k):
                    self.task_table[slots[j]].alive = 1
                raise KeyError(k)
            self.task_table[t].alive = 2
            slots[k] = t
        with nogil:
            for k in range(m):
                t = slots[k]
                self.task_table[t].alive = 1
                slots[k] = self.task_table[t].row
                self.release(t)
        return out

    def task(self, int64_t number):
        """(row, group, cpu, memory, gpu, origin, ports) of running task ``number``; ``origin``:
        its index in the fleet's tasks (-1: placed here)."""
        cdef int64_t t = self.slot(number)
        if t < 0:
            raise ValueError("no such running task")
        cdef Task* task = &self.task_table[t]
        return (task.row, task.group, task.cpu, task.memory, task.gpu, task.origin,
                [self.port_pool[task.port_start + k] & 0xFFFF for k in range(task.port_count)])

    def origin(self, int64_t number) -> int:
        """Running task ``number``'s index in the fleet's tasks; -1: placed here; -2: not running."""
        cdef int64_t t = self.slot(number)
        return self.task_table[t].origin if t >= 0 else -2

    def alive(self, int64_t number) -> bool:
        return self.slot(number) >= 0

    def tasks_on(self, Py_ssize_t row) -> list:
        """The numbers of the running tasks on ``row``, in the order they came."""
        out = []
        cdef int64_t t = self.row_last[row] if 0 <= row < self.n else -1
        while t >= 0:
            out.append(self.task_table[t].number)
            t = self.task_table[t].row_prev
        return out[::-1]

    def last_of(self, Py_ssize_t row, Py_ssize_t group) -> int:
        """The number of the row's last running task of the group (-1: none)."""
        cdef int64_t t = self.last_task(row, group) if 0 <= row < self.n else -1
        return self.task_table[t].number if t >= 0 else -1

    def count_tasks(self, flags, out):
        """Add to ``out[row]`` the live tasks on each row whose group code has ``flags[code]`` set."""
        cdef uint8_t[::1] flagged = np.ascontiguousarray(flags, dtype=np.uint8)
        cdef int64_t[::1] counts = out
        cdef Py_ssize_t t
        if len(flagged) < self.groups or len(counts) != self.capacity:
            raise ValueError("one flag per group and one count per row")
        for t in range(self.slots):
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
        cdef int64_t[::1] picked = np.ascontiguousarray(rows, dtype=np.int64)
        cdef Py_ssize_t k
        for k in range(len(picked)):
            if not 0 <= picked[k] < self.n:
                raise ValueError("rows out of range")
        for k in range(len(picked)):
            self.changed(picked[k])

    def touch_row(self, Py_ssize_t row):
        """``touch`` for one row."""
        if not 0 <= row < self.n:
            raise ValueError("row out of range")
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

    def ports_blocked(self, ports) -> np.ndarray:
        """uint8 per row in use: a task with these ports does not fit there (for reasons)."""
        return self.ports.blocked(self.n, ports)
