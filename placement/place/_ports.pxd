# Declarations of the host-port bookkeeping (see _ports.pyx) and of a task's demand.
from libc.stdint cimport int32_t, int64_t

from placement.place._intmap cimport IntMap

cdef enum:
    MAX_RESERVED_PORTS = 100      # ECS: host ports one instance may reserve (PORTS plus static ones placed)
    DYNAMIC_PORT = 0x10000        # set on a held port that was assigned from the ephemeral range


# One task's needs. ``ports``: the requested host ports in request order, 0 = dynamic.
cdef struct Demand:
    int64_t cpu
    int64_t memory
    int64_t gpu
    const int64_t* ports
    int port_count
    int static_count
    int dynamic_count
    int own_in_range              # static ports inside the ephemeral range (not free for dynamic ones)


cdef class Ports:
    cdef IntMap holder            # (row << 16 | port) -> the task holding it (-1: the instance's own PORTS)
    cdef int32_t* reserved        # per row: host ports reserved (the 100 limit)
    cdef int32_t* in_range        # per row: ports in use inside the ephemeral range, reserved ones aside
    cdef dict arrays
    cdef readonly Py_ssize_t capacity
    cdef readonly int64_t low, high, specials_in_range

    cdef bint fit(self, Py_ssize_t row, const Demand* demand) noexcept nogil
    cdef int64_t owner(self, Py_ssize_t row, int64_t port) noexcept nogil
    cdef int take(self, Py_ssize_t row, int64_t port, int64_t owner) except -1 nogil
    cdef int claim(self, Py_ssize_t row, int64_t port, int64_t owner) except -1 nogil
    cdef void give(self, Py_ssize_t row, int64_t port) noexcept nogil
    cdef int64_t lowest_free(self, Py_ssize_t row, int64_t port) noexcept nogil


cdef int fill_demand(Ports ports, Demand* demand, int64_t cpu, int64_t memory, int64_t gpu, const int64_t* wanted,
                     Py_ssize_t count) except -1
