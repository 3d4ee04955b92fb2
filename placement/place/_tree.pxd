# Declarations of the treap index (see _tree.pyx).
cimport cython
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

from placement.place._ranker cimport SLOTS, Index
from placement.place._ports cimport Demand
from placement.place._state cimport State


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
    cdef int64_t* version                     # per cell: bumped whenever its tree changes
    cdef int64_t* answer                      # [slot][cell]: the cell's best row for the slot's demand (-1: none)
    cdef int64_t* answered                    # [slot][cell]: the cell's version when it was found (-1: never)
    cdef int64_t slot_demand[SLOTS + 1][3]    # cpu, memory, GPUs of each slot; the last: this call only
    cdef int64_t slot_used[SLOTS + 1]
    cdef int slot
    cdef int64_t tick
    cdef Py_ssize_t cells, stride
    cdef int prefix                           # the chain's leading spreads: cells are searched by their counts
    cdef dict arrays

    cdef bint keyed(self, Py_ssize_t row) noexcept nogil
    cdef void pull_all(self, int64_t t) noexcept nogil
    cdef int64_t cell_best(self, Py_ssize_t cell, const Demand* demand) noexcept nogil
    cdef int bound(self, Py_ssize_t a, Py_ssize_t b) noexcept nogil
    cdef bint less(self, int64_t a, int64_t b) noexcept nogil
    cdef void pull(self, int64_t t) noexcept nogil
    cdef void split(self, int64_t t, int64_t x, int64_t* lower, int64_t* upper) noexcept nogil
    cdef int64_t insert(self, int64_t t, int64_t x) noexcept nogil
    cdef int64_t merge(self, int64_t a, int64_t b) noexcept nogil
    cdef int64_t erase(self, int64_t t, int64_t x) noexcept nogil
    cdef bint may_fit(self, int64_t t, const Demand* demand) noexcept nogil
    cdef int64_t first_fit(self, int64_t t, const Demand* demand) noexcept nogil
    cdef bint before(self, int64_t a, int64_t ca, int64_t b, int64_t cb) noexcept nogil
