# Declarations of the placement ranker: the indexes a placer keeps per kind of request (group,
# constraints, strategies), whatever each call's demand. See _ranker.pyx.
cimport cython
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

from placement.place._state cimport Demand, State

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
    UNKNOWN = -2                  # a cell's best row, not yet looked for in this call


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
    cdef void begin(self) noexcept nogil
    cdef bint caught_up(self) except -1
    cdef Py_ssize_t run(self, Py_ssize_t count, const Demand* demand, uint64_t* rng, int64_t* rows,
                        int64_t* tasks, int64_t* ports) except -1 nogil


@cython.final
cdef class TreeIndex(Index):
    cdef int key_count                        # cached keys per row (stop: tier, keys, row)
    cdef int64_t* left
    cdef int64_t* right
    cdef int64_t* filed                       # the cell a row is filed in (-1: none)
    cdef int64_t* keys                        # cached keys, key_count per row
    cdef int64_t* most                        # per row: the most cpu, memory, GPUs in its subtree
    cdef const int64_t* cell_of               # the cell each row belongs in
    cdef const uint32_t* cell_bucket          # per cell: its bucket of each spread
    cdef int64_t* root
    cdef int64_t* best                        # per cell: its best row in this call (UNKNOWN, -1: none)
    cdef Py_ssize_t cells
    cdef dict arrays

    cdef bint less(self, int64_t a, int64_t b) noexcept nogil
    cdef void pull(self, int64_t t) noexcept nogil
    cdef void split(self, int64_t t, int64_t x, int64_t* lower, int64_t* upper) noexcept nogil
    cdef int64_t insert(self, int64_t t, int64_t x) noexcept nogil
    cdef int64_t merge(self, int64_t a, int64_t b) noexcept nogil
    cdef int64_t erase(self, int64_t t, int64_t x) noexcept nogil
    cdef int64_t first_fit(self, int64_t t, const Demand* demand) noexcept nogil
    cdef bint before(self, int64_t a, int64_t ca, int64_t b, int64_t cb) noexcept nogil


@cython.final
cdef class DrawIndex(Index):
    cdef uint64_t* bits                       # members per block of 64 rows
    cdef int64_t* tree                        # Fenwick sums of members per block
    cdef int64_t* most                        # per block: the most cpu, memory, GPUs of its members
    cdef Py_ssize_t blocks, top
    cdef dict arrays

    cdef int64_t select(self, int64_t k) noexcept nogil
    cdef int64_t fitting(self, const Demand* demand, int64_t k) noexcept nogil
    cdef int64_t total(self) noexcept nogil


@cython.final
cdef class ScanIndex(Index):
    cdef bint random_ties
    cdef object tied_buffer
    cdef int64_t* tied
