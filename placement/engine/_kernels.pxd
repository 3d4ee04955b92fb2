# Declarations of the predicate kernel: a bound plan is a preorder array of Node, run block by
# block over the fleet's columns. See _kernels.pyx for the meaning of each field.
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

cdef enum:
    BLOCK = 4096               # rows per block: the result block and one scratch per depth stay in L1

cpdef enum NodeKind:
    NODE_CONST = 0
    NODE_RANGES = 1            # column value in any of [lo, lo + span]
    NODE_TABLE = 2             # table[code]
    NODE_GROUP = 3             # task:group set test through a table over group codes
    NODE_ALL = 4
    NODE_ANY = 5
    NODE_BITS = 6              # task:group set test on a per-instance bitmap of group codes
    NODE_PRESENCE = 7          # bit row of a packed bitmap (LSB first): an attribute's presence

cpdef enum ColumnType:
    COL_U8 = 0
    COL_U16 = 1
    COL_U32 = 2
    COL_I64 = 3                # compared as uint64 bit patterns: (v - lo) mod 2^64 <= span

cpdef enum GroupMode:
    GROUP_ANY = 0              # some group's table entry is set
    GROUP_NONE = 1             # runs tasks, and no group's entry is set
    GROUP_NONEMPTY = 2
    GROUP_EMPTY = 3

cdef struct Node:
    int kind
    int column_type
    bint invert                # flip the node's result
    bint value                 # NODE_CONST
    const void* data           # NODE_RANGES / NODE_TABLE / NODE_BITS: the column; NODE_PRESENCE: the bitmap
    const uint64_t* lo         # NODE_RANGES: lower bounds, as bit patterns of the column type; NODE_BITS: the mask
    const uint64_t* span       # NODE_RANGES: hi - lo
    int ranges
    const uint8_t* table       # NODE_TABLE, NODE_GROUP
    const int64_t* offsets     # NODE_GROUP: CSR
    const uint32_t* group_codes
    int mode                   # NODE_GROUP, NODE_BITS: GroupMode
    int first_child            # NODE_ALL / NODE_ANY: children[first_child : first_child + child_count]
    int child_count


# One node being evaluated: the evaluator's explicit stack holds these instead of C frames, so
# a plan of any depth runs in bounded C stack.
cdef struct Frame:
    int index                  # the node
    int how                    # Combine: how its value goes into ``out``
    int child                  # all / any: the operand last evaluated (-1: not started)
    bint wrapped               # how != SET: being evaluated into ``scratch``, combined after
    uint8_t* out
    uint8_t* scratch           # one block per level below


# What evaluating one row of a bound plan needs: a ``Program``'s nodes, scratch space, a stack.
cdef struct RowProgram:
    const Node* nodes
    const int* children
    uint8_t* scratch
    Frame* frames


cdef uint8_t evaluate_row(const RowProgram* program, Py_ssize_t row) noexcept nogil


cdef class Program:
    cdef Node* nodes
    cdef int* children
    cdef int node_count
    cdef int depth
    cdef readonly Py_ssize_t rows
    cdef list keep
    cdef uint8_t* row_scratch
    cdef Frame* row_frames

    cdef const void* _keep(self, object array) except NULL
    cdef int _column(self, Node* node, int column_type, object column) except -1
    cdef Py_ssize_t frame_count(self)
    cdef RowProgram row_program(self) except *
