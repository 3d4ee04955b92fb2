"""Host ports in C (SPEC 2b): which ports are in use on each instance, and by whom.

A hash set of (row, port) pairs, each with the task holding it (or -1: the instance's own
PORTS), and two counts per row: the ports it reserves (PORTS and the static ports placed there;
at most 100) and the ports in use inside the ephemeral range (reserved ones aside), so that
whether a task's dynamic ports fit is arithmetic. A dynamic port is the lowest free port of the
range that is not reserved (22, 2375, 2376, 51678-51680); a held port carries ``DYNAMIC_PORT``
when it was assigned from the range, and does not count toward the 100.
"""
from libc.stdint cimport int32_t, int64_t

from placement.place._intmap cimport (IntMap, free, map_get, map_init, map_put, map_remove, map_reserve, map_slot,
                                      remap_keys)

import numpy as np

RESERVED = (22, 2375, 2376, 51678, 51679, 51680)     # never assigned as dynamic ports


cdef inline bint special(int64_t port) noexcept nogil:
    return port == 22 or port == 2375 or port == 2376 or 51678 <= port <= 51680


cdef inline int64_t key(Py_ssize_t row, int64_t port) noexcept nogil:
    return (<int64_t>row << 16) | port


cdef class Ports:
    """The host ports in use over ``capacity`` rows, dynamic ones from ``low..high``."""

    def __cinit__(self, Py_ssize_t capacity, int64_t low=49153, int64_t high=65535):
        if not 1 <= low <= high <= 65535:
            raise ValueError("the ephemeral port range must lie within 1..65535")
        self.low, self.high = low, high
        self.specials_in_range = sum(low <= p <= high for p in RESERVED)
        map_init(&self.holder, 64)
        self.arrays = {}
        self.grow(capacity)

    def __dealloc__(self):
        free(self.holder.keys)
        free(self.holder.values)

    def grow(self, Py_ssize_t capacity, keep=None):
        """Room for ``capacity`` rows (``keep``: only those rows, renumbered in order)."""
        for name in ("reserved", "in_range"):
            grown = np.zeros(capacity, dtype=np.int32)
            if name in self.arrays:
                kept = self.arrays[name][:self.capacity] if keep is None else self.arrays[name][keep]
                grown[:min(capacity, len(kept))] = kept[:capacity]
            self.arrays[name] = grown
        self.reserved = <int32_t*><Py_ssize_t>self.arrays["reserved"].__array_interface__["data"][0]
        self.in_range = <int32_t*><Py_ssize_t>self.arrays["in_range"].__array_interface__["data"][0]
        self.capacity = capacity

    def remap(self, old_to_new, Py_ssize_t capacity):
        """Rows renumbered by a compaction (-1: gone, and holding nothing any more)."""
        cdef int64_t[::1] mapping = np.ascontiguousarray(old_to_new, dtype=np.int64)
        remap_keys(&self.holder, &mapping[0], 16)
        self.grow(capacity, np.flatnonzero(np.asarray(mapping) >= 0))

    def reserve(self, Py_ssize_t row, ports):
        """The instance's own PORTS: reserved, held by no task."""
        if not 0 <= row < self.capacity:
            raise ValueError("row out of range")
        for port in ports:
            if not 0 < port < 65536:
                raise ValueError("port out of range")
            if map_slot(&self.holder, key(row, port)) < 0:
                self.take(row, port, -1)

    def expect(self, Py_ssize_t more):
        """Room for ``more`` ports in use without growing on the way (a bulk load's one rehash)."""
        map_reserve(&self.holder, max(more, 0))

    def reserve_rows(self, rows, ports):
        """``reserve`` of the same PORTS on many rows (most instances list the agent's ports)."""
        cdef int64_t[::1] picked = np.ascontiguousarray(rows, dtype=np.int64)
        cdef Py_ssize_t k
        cdef int64_t port
        for k in range(len(picked)):
            if not 0 <= picked[k] < self.capacity:
                raise ValueError("row out of range")
        for number in ports:
            if not 0 < number < 65536:
                raise ValueError("port out of range")
        map_reserve(&self.holder, len(picked) * len(ports))
        for number in ports:
            port = number
            for k in range(len(picked)):
                if map_slot(&self.holder, key(picked[k], port)) < 0:
                    self.take(picked[k], port, -1)

    def in_use(self, Py_ssize_t row, int64_t port) -> bool:
        return 0 <= row < self.capacity and 0 < port < 65536 and map_slot(&self.holder, key(row, port)) >= 0

    def blocked(self, Py_ssize_t rows, wanted) -> np.ndarray:
        """uint8 per row: a task with these ports does not fit there (for reasons)."""
        cdef Demand demand
        cdef int64_t[::1] buffer = np.ascontiguousarray(wanted, dtype=np.int64) if len(wanted) else np.zeros(1, np.int64)
        fill_demand(self, &demand, 0, 0, 0, &buffer[0], len(wanted))
        out = np.zeros(rows, dtype=np.uint8)
        cdef unsigned char[::1] view = out
        cdef Py_ssize_t row
        for row in range(min(rows, self.capacity)):
            view[row] = not self.fit(row, &demand)
        return out

    cdef bint fit(self, Py_ssize_t row, const Demand* demand) noexcept nogil:
        """The static ports are free and within the 100; enough of the range is free for the dynamic ones."""
        cdef int k
        if demand.static_count:
            if self.reserved[row] + demand.static_count > MAX_RESERVED_PORTS:
                return 0
            for k in range(demand.port_count):
                if demand.ports[k] and map_slot(&self.holder, key(row, demand.ports[k])) >= 0:
                    return 0
        return not demand.dynamic_count or (self.high - self.low + 1 - self.specials_in_range - self.in_range[row]
                                            - demand.own_in_range >= demand.dynamic_count)

    cdef int64_t owner(self, Py_ssize_t row, int64_t port) noexcept nogil:
        """The task holding ``port`` (-1: the instance's PORTS, -2: free)."""
        return map_get(&self.holder, key(row, port), -2)

    cdef int take(self, Py_ssize_t row, int64_t port, int64_t owner) except -1 nogil:
        """``owner`` holds ``port`` now (DYNAMIC_PORT set: from the range, so not reserved)."""
        cdef int64_t number = port & 0xFFFF
        map_put(&self.holder, key(row, number), owner)
        if not port & DYNAMIC_PORT:
            self.reserved[row] += 1
        if self.low <= number <= self.high and not special(number):
            self.in_range[row] += 1
        return 0

    cdef int claim(self, Py_ssize_t row, int64_t port, int64_t owner) except -1 nogil:
        """A port in use changes hands (a PORTS entry that a task of the fleet holds)."""
        return map_put(&self.holder, key(row, port), owner)

    cdef void give(self, Py_ssize_t row, int64_t port) noexcept nogil:
        """``port`` (as ``take`` got it) is free again."""
        cdef int64_t number = port & 0xFFFF
        map_remove(&self.holder, key(row, number))
        if not port & DYNAMIC_PORT:
            self.reserved[row] -= 1
        if self.low <= number <= self.high and not special(number):
            self.in_range[row] -= 1

    cdef int64_t lowest_free(self, Py_ssize_t row, int64_t port) noexcept nogil:
        """The lowest port from ``port`` on that is free and never reserved (the caller checked that
        the range has one)."""
        while special(port) or map_slot(&self.holder, key(row, port)) >= 0:
            port += 1
        return port


cdef int fill_demand(Ports ports, Demand* demand, int64_t cpu, int64_t memory, int64_t gpu, const int64_t* wanted,
                     Py_ssize_t count) except -1:
    """A checked ``Demand``: non-negative amounts, ports in 0..65535, static ones unique."""
    cdef Py_ssize_t j, k
    if cpu < 0 or memory < 0 or gpu < 0:
        raise ValueError("negative demand")
    demand.cpu, demand.memory, demand.gpu = cpu, memory, gpu
    demand.ports, demand.port_count = wanted, <int>count
    demand.static_count = demand.dynamic_count = demand.own_in_range = 0
    for j in range(count):
        if not 0 <= wanted[j] < 65536:
            raise ValueError("port out of range")
        if wanted[j] == 0:
            demand.dynamic_count += 1
            continue
        demand.static_count += 1
        demand.own_in_range += ports.low <= wanted[j] <= ports.high and not special(wanted[j])
        for k in range(j):
            if wanted[k] == wanted[j]:
                raise ValueError("a static port twice")
    return 0
