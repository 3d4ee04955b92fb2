# Declarations of the placement ranker: the indexes a placer keeps per kind of request (group,
# constraints, strategies), whatever each call's demand. See _ranker.pyx.
cimport cython
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t, uintptr_t

from placement.place._ports cimport Demand
from placement.place._state cimport State

cpdef enum StrategyKind:
    BINPACK_CPU = 0
    BINPACK_MEMORY = 1
    SPREAD_INSTANCE = 2
    SPREAD_BUCKET = 3
    RANDOM = 4

cdef enum:
    MAX_STRATEGIES = 5
    MAX_MASKS = 10
    RANDOM_TRIES = 16             # draws among the allowed instances before drawing among the fitting ones
    SLOTS = 8                     # recent demands a TreeIndex remembers each cell's answer for


# The strategies as the loops read them; ``slot``: the key (instance keys) or bucket index.
cdef struct Chain:
    int count
    int kind[MAX_STRATEGIES]
    int slot[MAX_STRATEGIES]
    int keys                      # instance keys: binpack amounts, tasks of the group on the instance
    int buckets                   # spread buckets


cdef class Index:
    cdef State state
    cdef Chain chain
    cdef readonly int64_t group
    cdef int64_t* group_count
    cdef const int64_t* cpu                    # the state's, re-taken by point() when it grows
    cdef const int64_t* memory
    cdef const int64_t* gpu
    cdef const uint8_t* masks[MAX_MASKS]
    cdef int mask_count
    cdef bint distinct
    cdef const uint32_t* bucket_of[MAX_STRATEGIES]
    cdef int64_t* bucket_count[MAX_STRATEGIES]
    cdef readonly Py_ssize_t seen             # the state's log, caught up to here
    cdef readonly int64_t pointed             # the layout the pointers above were taken at
    cdef readonly bint stop                   # scale-in: the most tasks, the most left, the highest row first
    cdef object spec

    cdef bint allowed(self, Py_ssize_t row) noexcept nogil
    cdef int64_t key(self, Py_ssize_t row, int s) noexcept nogil
    cdef int64_t stop_key(self, Py_ssize_t row, int s) noexcept nogil
    cdef int refile(self, Py_ssize_t row) except -1 nogil
    cdef int64_t choose(self, const Demand* demand, uint64_t* rng) noexcept nogil
    cdef void begin(self, const Demand* demand) noexcept nogil
    cdef bint caught_up(self) except -1
    cpdef tuple place(self, Py_ssize_t count, int64_t cpu, int64_t memory, int64_t gpu, object ports, uint64_t seed)
    cdef Py_ssize_t run(self, Py_ssize_t count, const Demand* demand, uint64_t* rng, int64_t* rows,
                        int64_t* tasks, int64_t* ports) except -1 nogil




cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    """The generator of ``placement.place.result.SplitMix64``, bit for bit."""
    state[0] += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline bint fits(State state, Py_ssize_t row, const Demand* demand) noexcept nogil:
    """Enough cpu, memory and GPUs on ``row``, and its ports (checked only when the task has any)."""
    return (state.cpu[row] >= demand.cpu and state.memory[row] >= demand.memory and state.gpu[row] >= demand.gpu
            and (demand.port_count == 0 or state.ports.fit(row, demand)))


cdef inline void* address(object array):
    return <void*><uintptr_t>array.__array_interface__["data"][0]
