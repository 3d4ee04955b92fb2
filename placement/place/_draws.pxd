# Declarations of the draw and scan indexes (see _draws.pyx).
cimport cython
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

from placement.place._ranker cimport Index
from placement.place._ports cimport Demand
from placement.place._state cimport State


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
