"""The predicate kernel: one fused pass over a fleet's columns, block by block, without the GIL.

A ``Program`` is a bound plan flattened to a preorder array of ``Node``. Each block of ``BLOCK``
rows is evaluated into the caller's output: leaves compare codes against ranges (a handful of
vectorisable unsigned subtractions and compares) or gather from a lookup table; ``all`` / ``any``
stop evaluating their operands as soon as the block is decided. Everything a loop touches is
checked when the ``Program`` is built (lengths, dtypes, table sizes, child order), so the loops
themselves run without bounds checks.

``Program.trace`` is the trace mode explain reads: the same nodes, leaves and combine, with no
early exit, counting each node's true rows; ``run`` and ``evaluate`` do not change for it.
"""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from cython.parallel cimport prange, threadid

import numpy as np

cdef extern from *:
    """
    #ifndef PLACEMENT_DEBUG
    #define PLACEMENT_DEBUG 0
    #endif
    """
    int PLACEMENT_DEBUG

#: True in the build with Cython's bounds and wraparound checks on (PLACEMENT_DEBUG_BUILD=1).
DEBUG_BUILD = bool(PLACEMENT_DEBUG)

ctypedef fused code_t:
    uint8_t
    uint16_t
    uint32_t
    uint64_t

cdef uint64_t EVERY_BYTE_ONE = ((<uint64_t>0x01010101) << 32) | <uint64_t>0x01010101

_COLUMN_DTYPES = {COL_U8: np.dtype(np.uint8), COL_U16: np.dtype(np.uint16),
                  COL_U32: np.dtype(np.uint32), COL_I64: np.dtype(np.int64)}
# A bitmap of up to 64 groups is unsigned; its 64-bit form shares COL_I64's loops.
_BITS_DTYPES = {**_COLUMN_DTYPES, COL_I64: np.dtype(np.uint64)}


cdef enum Combine:
    SET = 0                    # out = leaf
    AND_INTO = 1               # out &= leaf
    OR_INTO = 2                # out |= leaf


cdef inline void ranges_of(const code_t* column, const Node* node, Py_ssize_t n, uint8_t* out,
                           int how) noexcept nogil:
    """The code is in one of the node's ranges (flipped when inverted), combined into ``out``.
    Up to four ranges are tested in one pass over the column: unused slots repeat the first
    range, which changes nothing and keeps one loop shape the compiler vectorises."""
    cdef Py_ssize_t i
    cdef int r
    cdef uint8_t flip = node.invert
    cdef code_t lo0, lo1, lo2, lo3, s0, s1, s2, s3, c
    if node.ranges > 4:
        ranges_multipass(column, node, n, out, how)
        return
    lo0 = <code_t>node.lo[0]
    s0 = <code_t>node.span[0]
    if node.ranges == 1:
        if how == SET:
            for i in range(n):
                out[i] = <uint8_t>(<code_t>(column[i] - lo0) <= s0) ^ flip
        elif how == AND_INTO:
            for i in range(n):
                out[i] &= <uint8_t>(<code_t>(column[i] - lo0) <= s0) ^ flip
        else:
            for i in range(n):
                out[i] |= <uint8_t>(<code_t>(column[i] - lo0) <= s0) ^ flip
        return
    r = node.ranges
    lo1 = <code_t>node.lo[1]
    s1 = <code_t>node.span[1]
    if r == 2:                                    # != and two-item lists: the common case
        if how == SET:
            for i in range(n):
                c = column[i]
                out[i] = (<uint8_t>(<code_t>(c - lo0) <= s0) | <uint8_t>(<code_t>(c - lo1) <= s1)) ^ flip
        elif how == AND_INTO:
            for i in range(n):
                c = column[i]
                out[i] &= (<uint8_t>(<code_t>(c - lo0) <= s0) | <uint8_t>(<code_t>(c - lo1) <= s1)) ^ flip
        else:
            for i in range(n):
                c = column[i]
                out[i] |= (<uint8_t>(<code_t>(c - lo0) <= s0) | <uint8_t>(<code_t>(c - lo1) <= s1)) ^ flip
        return
    lo2 = <code_t>node.lo[2 if r > 2 else 0]
    s2 = <code_t>node.span[2 if r > 2 else 0]
    lo3 = <code_t>node.lo[3 if r > 3 else 0]
    s3 = <code_t>node.span[3 if r > 3 else 0]
    if how == SET:
        for i in range(n):
            c = column[i]
            out[i] = (<uint8_t>(<code_t>(c - lo0) <= s0) | <uint8_t>(<code_t>(c - lo1) <= s1)
                      | <uint8_t>(<code_t>(c - lo2) <= s2) | <uint8_t>(<code_t>(c - lo3) <= s3)) ^ flip
    elif how == AND_INTO:
        for i in range(n):
            c = column[i]
            out[i] &= (<uint8_t>(<code_t>(c - lo0) <= s0) | <uint8_t>(<code_t>(c - lo1) <= s1)
                       | <uint8_t>(<code_t>(c - lo2) <= s2) | <uint8_t>(<code_t>(c - lo3) <= s3)) ^ flip
    else:
        for i in range(n):
            c = column[i]
            out[i] |= (<uint8_t>(<code_t>(c - lo0) <= s0) | <uint8_t>(<code_t>(c - lo1) <= s1)
                       | <uint8_t>(<code_t>(c - lo2) <= s2) | <uint8_t>(<code_t>(c - lo3) <= s3)) ^ flip


cdef inline void ranges_multipass(const code_t* column, const Node* node, Py_ssize_t n, uint8_t* out,
                                  int how) noexcept nogil:
    """More than four ranges (numeric ``!in`` lists): one pass per range into a local block."""
    cdef Py_ssize_t i
    cdef int r
    cdef uint8_t flip = node.invert
    cdef uint8_t block[BLOCK]
    cdef code_t lo, span
    for i in range(n):
        block[i] = 0
    for r in range(node.ranges):
        lo = <code_t>node.lo[r]
        span = <code_t>node.span[r]
        for i in range(n):
            block[i] |= <uint8_t>(<code_t>(column[i] - lo) <= span)
    combine(out, block, n, how, flip)


cdef inline void combine(uint8_t* out, const uint8_t* value, Py_ssize_t n, int how, uint8_t flip) noexcept nogil:
    cdef Py_ssize_t i
    if how == SET:
        for i in range(n):
            out[i] = value[i] ^ flip
    elif how == AND_INTO:
        for i in range(n):
            out[i] &= value[i] ^ flip
    else:
        for i in range(n):
            out[i] |= value[i] ^ flip


cdef inline void bits_of(const code_t* column, const Node* node, Py_ssize_t n, uint8_t* out) noexcept nogil:
    """task:group on a bitmap of each instance's groups: some / none of ``mask``, any, none at all."""
    cdef Py_ssize_t i
    cdef code_t mask = <code_t>node.lo[0]
    cdef uint8_t flip = node.invert
    if node.mode == GROUP_ANY:
        for i in range(n):
            out[i] = ((column[i] & mask) != 0) ^ flip
    elif node.mode == GROUP_NONE:
        for i in range(n):
            out[i] = ((column[i] != 0) & ((column[i] & mask) == 0)) ^ flip
    elif node.mode == GROUP_NONEMPTY:
        for i in range(n):
            out[i] = (column[i] != 0) ^ flip
    else:
        for i in range(n):
            out[i] = (column[i] == 0) ^ flip


cdef inline void gather(const code_t* column, const uint8_t* table, Py_ssize_t n, uint8_t* out) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = table[column[i]]


cdef void group_test(const Node* node, Py_ssize_t start, Py_ssize_t n, uint8_t* out) noexcept nogil:
    cdef Py_ssize_t i
    cdef int64_t j, first, last
    cdef uint8_t hit
    for i in range(n):
        first = node.offsets[start + i]
        last = node.offsets[start + i + 1]
        if node.mode == GROUP_NONEMPTY:
            out[i] = first < last
        elif node.mode == GROUP_EMPTY:
            out[i] = first == last
        else:
            hit = 0
            for j in range(first, last):
                hit |= node.table[node.group_codes[j]]
            out[i] = hit if node.mode == GROUP_ANY else (first < last) & (hit ^ 1)


cdef inline bint any_set(const uint8_t* block, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, words = n // 8
    cdef uint64_t acc = 0
    cdef const uint64_t* wide = <const uint64_t*>block
    for i in range(words):
        acc |= wide[i]
    for i in range(words * 8, n):
        acc |= block[i]
    return acc != 0


cdef inline bint all_set(const uint8_t* block, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, words = n // 8
    cdef uint64_t acc = EVERY_BYTE_ONE
    cdef uint8_t tail = 1
    cdef const uint64_t* wide = <const uint64_t*>block
    for i in range(words):
        acc &= wide[i]
    for i in range(words * 8, n):
        tail &= block[i]
    return acc == EVERY_BYTE_ONE and tail == 1


cdef void evaluate(const Node* nodes, const int* children, int index, Py_ssize_t start, Py_ssize_t n,
                   uint8_t* out, uint8_t* scratch, int how) noexcept nogil:
    """Node ``index`` on rows [start, start + n), combined into ``out`` as ``how`` says;
    ``scratch`` holds one block per level below."""
    cdef const Node* node = &nodes[index]
    cdef Py_ssize_t i
    cdef int c
    cdef bint is_all
    if node.kind == NODE_RANGES:                  # range leaves combine in their own pass
        if node.column_type == COL_U8:
            ranges_of(<const uint8_t*>node.data + start, node, n, out, how)
        elif node.column_type == COL_U16:
            ranges_of(<const uint16_t*>node.data + start, node, n, out, how)
        elif node.column_type == COL_U32:
            ranges_of(<const uint32_t*>node.data + start, node, n, out, how)
        else:
            ranges_of(<const uint64_t*>node.data + start, node, n, out, how)
        return
    if how != SET:                                # anything else: into scratch, then combine
        evaluate(nodes, children, index, start, n, scratch, scratch + BLOCK, SET)
        combine(out, scratch, n, how, 0)
        return
    if node.kind == NODE_CONST:
        memset(out, node.value, n)
    elif node.kind == NODE_TABLE:
        if node.column_type == COL_U8:
            gather(<const uint8_t*>node.data + start, node.table, n, out)
        elif node.column_type == COL_U16:
            gather(<const uint16_t*>node.data + start, node.table, n, out)
        else:
            gather(<const uint32_t*>node.data + start, node.table, n, out)
    elif node.kind == NODE_BITS:
        if node.column_type == COL_U8:
            bits_of(<const uint8_t*>node.data + start, node, n, out)
        elif node.column_type == COL_U16:
            bits_of(<const uint16_t*>node.data + start, node, n, out)
        elif node.column_type == COL_U32:
            bits_of(<const uint32_t*>node.data + start, node, n, out)
        else:
            bits_of(<const uint64_t*>node.data + start, node, n, out)
    elif node.kind == NODE_GROUP:
        group_test(node, start, n, out)
    else:
        is_all = node.kind == NODE_ALL
        evaluate(nodes, children, children[node.first_child], start, n, out, scratch, SET)
        for c in range(1, node.child_count):
            if (is_all and not any_set(out, n)) or (not is_all and all_set(out, n)):
                break                                   # the block is decided
            evaluate(nodes, children, children[node.first_child + c], start, n, out, scratch,
                     AND_INTO if is_all else OR_INTO)
    if node.invert and node.kind != NODE_BITS:
        for i in range(n):
            out[i] ^= 1


cdef inline int64_t count_set(const uint8_t* block, Py_ssize_t n) noexcept nogil:
    """How many of ``n`` 0/1 bytes are 1: eight at a time, the byte sum of a word being its
    product with 0x0101...01 shifted down (each sum is at most 8, so no byte overflows)."""
    cdef Py_ssize_t i, words = n // 8
    cdef int64_t total = 0
    cdef const uint64_t* wide = <const uint64_t*>block
    for i in range(words):
        total += <int64_t>((wide[i] * EVERY_BYTE_ONE) >> 56)
    for i in range(words * 8, n):
        total += block[i]
    return total


cdef void trace(const Node* nodes, const int* children, int index, Py_ssize_t start, Py_ssize_t n,
                uint8_t* out, uint8_t* below, int64_t* counts) noexcept nogil:
    """The trace mode: node ``index`` on rows [start, start + n) set into ``out`` like
    ``evaluate`` does, but every operand of every ``all`` / ``any`` is evaluated (no early exit)
    and each node's true rows are added to ``counts[node]``. Leaves run ``evaluate``'s own code;
    operands combine with its ``combine``. ``below`` holds one block per level beneath."""
    cdef const Node* node = &nodes[index]
    cdef Py_ssize_t i
    cdef int c
    cdef int how
    if node.kind == NODE_ALL or node.kind == NODE_ANY:
        how = AND_INTO if node.kind == NODE_ALL else OR_INTO
        trace(nodes, children, children[node.first_child], start, n, out, below, counts)
        for c in range(1, node.child_count):
            trace(nodes, children, children[node.first_child + c], start, n, below, below + BLOCK, counts)
            combine(out, below, n, how, 0)
        if node.invert:
            for i in range(n):
                out[i] ^= 1
    else:
        evaluate(nodes, children, index, start, n, out, below, SET)
    counts[index] += count_set(out, n)


cdef const void* address(object array):
    return <const void*><uintptr_t>array.__array_interface__["data"][0]


cdef uint8_t evaluate_row(const RowProgram* program, Py_ssize_t row) noexcept nogil:
    """The plan's value on one row: the placer re-evaluates a constraint that reads placed state
    for the instance a task just landed on with this, the code every mask comes from."""
    cdef uint8_t out
    evaluate(program.nodes, program.children, 0, row, 1, &out, program.scratch, SET)
    return out


cdef class Program:
    """A bound plan in the kernel's form. ``specs`` are in preorder (children after parents):
    ``(kind, column_type, invert, value, column, lo, span, table, offsets, group_codes, mode,
    children)`` with numpy arrays or None; ``table_size`` entries are validated here."""

    def __cinit__(self, Py_ssize_t rows, list specs):
        self.rows = rows
        self.node_count = len(specs)
        self.keep = []
        if self.node_count == 0:
            raise ValueError("a program needs at least one node")
        self.nodes = <Node*>malloc(self.node_count * sizeof(Node))
        total_children = sum(len(spec[11]) for spec in specs)
        self.children = <int*>malloc(max(1, total_children) * sizeof(int))
        if self.nodes == NULL or self.children == NULL:
            raise MemoryError()
        memset(self.nodes, 0, self.node_count * sizeof(Node))
        depths = [1] + [0] * (self.node_count - 1)
        cdef int next_child = 0
        cdef Node* node
        for index, spec in enumerate(specs):
            kind, column_type, invert, value, column, lo, span, table, offsets, group_codes, mode, kids = spec
            node = &self.nodes[index]
            node.kind, node.invert, node.value, node.mode = kind, bool(invert), bool(value), mode
            if kind in (NODE_RANGES, NODE_TABLE, NODE_BITS):
                self._column(node, column_type, column)
            if kind == NODE_BITS:
                if lo.dtype != np.uint64 or len(lo) != 1 or mode not in (GROUP_ANY, GROUP_NONE, GROUP_NONEMPTY,
                                                                         GROUP_EMPTY):
                    raise ValueError("a bitmap test needs one uint64 mask and a group mode")
                node.lo = <const uint64_t*>self._keep(lo)
            if kind == NODE_RANGES:
                if lo.dtype != np.uint64 or span.dtype != np.uint64 or len(lo) != len(span) or len(lo) == 0:
                    raise ValueError("ranges must be non-empty uint64 arrays of equal length")
                node.lo, node.span, node.ranges = <const uint64_t*>self._keep(lo), <const uint64_t*>self._keep(span), len(lo)
            if kind == NODE_TABLE:
                limit = {COL_U8: 1 << 8, COL_U16: 1 << 16}.get(column_type)
                if column_type == COL_I64 or table.dtype != np.uint8 or (limit and len(table) < limit) \
                        or (not limit and len(column) and int(column.max()) >= len(table)):
                    raise ValueError("a table must cover every code its column can hold")
                node.table = <const uint8_t*>self._keep(table)
            if kind == NODE_GROUP:
                if offsets.dtype != np.int64 or len(offsets) != rows + 1 or group_codes.dtype != np.uint32 \
                        or table.dtype != np.uint8 or (rows and offsets[rows] != len(group_codes)) \
                        or (len(group_codes) and int(group_codes.max()) >= len(table)) \
                        or (rows and (offsets[0] != 0 or np.any(np.diff(offsets) < 0))):
                    raise ValueError("task:group columns are inconsistent")
                node.offsets = <const int64_t*>self._keep(offsets)
                node.group_codes = <const uint32_t*>self._keep(group_codes)
                node.table = <const uint8_t*>self._keep(table)
            if kind in (NODE_ALL, NODE_ANY):
                if not kids:
                    raise ValueError("all / any need operands")
                node.first_child, node.child_count = next_child, len(kids)
                for kid in kids:
                    if not index < kid < self.node_count:
                        raise ValueError("children must follow their parent")
                    self.children[next_child] = kid
                    depths[kid] = depths[index] + 1
                    next_child += 1
            elif kind not in (NODE_CONST, NODE_RANGES, NODE_TABLE, NODE_GROUP, NODE_BITS):
                raise ValueError(f"unknown node kind {kind}")
        self.depth = max(depths)

    cdef const void* _keep(self, object array) except NULL:
        if not array.flags.c_contiguous:
            raise ValueError("kernel arrays must be contiguous")
        self.keep.append(array)
        if len(array) == 0:
            return <const void*>self.nodes        # never read: a valid, non-NULL address
        return address(array)

    cdef int _column(self, Node* node, int column_type, object column) except -1:
        dtypes = _BITS_DTYPES if node.kind == NODE_BITS else _COLUMN_DTYPES
        if column_type not in dtypes or column.dtype != dtypes[column_type] \
                or column.ndim != 1 or len(column) != self.rows:
            raise ValueError("a column does not match its declared type or the row count")
        node.column_type = column_type
        node.data = self._keep(column)
        return 0

    def __dealloc__(self):
        free(self.nodes)
        free(self.children)
        free(self.row_scratch)

    cdef RowProgram row_program(self) except *:
        """Single-row evaluation: scratch for one block per level, allocated on first use."""
        if self.row_scratch == NULL:
            self.row_scratch = <uint8_t*>malloc((self.depth + 2) * BLOCK)
            if self.row_scratch == NULL:
                raise MemoryError()
        cdef RowProgram program
        program.nodes, program.children, program.scratch = self.nodes, self.children, self.row_scratch
        return program

    def evaluate_rows(self, rows, uint8_t[::1] out):
        """Evaluate only ``rows`` (positions), writing each one's value into ``out[row]``."""
        cdef int64_t[::1] picked = np.ascontiguousarray(rows, dtype=np.int64)
        cdef Py_ssize_t j, row
        if len(out) != self.rows:
            raise ValueError("one output per row")
        for j in range(len(picked)):
            if not 0 <= picked[j] < self.rows:
                raise ValueError("rows out of range")
        cdef RowProgram program = self.row_program()
        with nogil:
            for j in range(len(picked)):
                row = picked[j]
                out[row] = evaluate_row(&program, row)

    def trace(self, Py_ssize_t start=0, Py_ssize_t stop=-1):
        """Per node (preorder), how many of rows [start, stop) it is true for: the program run in
        trace mode, every node evaluated on every row. ``stop`` -1: to the last row. Over one
        row, the counts are that row's value at every node."""
        if stop == -1:
            stop = self.rows
        if not 0 <= start <= stop <= self.rows:
            raise ValueError("rows out of range")
        result = np.zeros(self.node_count, dtype=np.int64)
        cdef int64_t[::1] counts = result
        cdef Py_ssize_t b, n
        cdef uint8_t* blocks = <uint8_t*>malloc((self.depth + 2) * BLOCK)
        if blocks == NULL:
            raise MemoryError()
        try:
            with nogil:
                b = start
                while b < stop:
                    n = min(<Py_ssize_t>BLOCK, stop - b)
                    trace(self.nodes, self.children, 0, b, n, blocks, blocks + BLOCK, &counts[0])
                    b += n
        finally:
            free(blocks)
        return result

    def run(self, int threads=1):
        """The mask, one bool per row. ``threads`` > 1 splits the blocks over OpenMP threads."""
        result = np.empty(self.rows, dtype=np.bool_)
        cdef uint8_t[::1] out = result.view(np.uint8)
        cdef Py_ssize_t rows = self.rows, blocks = (self.rows + BLOCK - 1) // BLOCK, b, start
        # a thread is worth waking for 16 blocks (64k rows) or more
        cdef int workers = max(1, min(threads, blocks // 16))
        cdef Py_ssize_t per_worker = (self.depth + 2) * BLOCK
        if rows == 0:
            return result
        cdef uint8_t* scratch = <uint8_t*>malloc(workers * per_worker)
        if scratch == NULL:
            raise MemoryError()
        try:
            with nogil:
                if workers == 1:
                    for b in range(blocks):
                        start = b * BLOCK
                        evaluate(self.nodes, self.children, 0, start, min(<Py_ssize_t>BLOCK, rows - start),
                                 &out[start], scratch, SET)
                else:
                    for b in prange(blocks, num_threads=workers, schedule="static"):
                        evaluate(self.nodes, self.children, 0, b * BLOCK,
                                 min(<Py_ssize_t>BLOCK, rows - b * BLOCK), &out[b * BLOCK],
                                 scratch + threadid() * per_worker, SET)
        finally:
            free(scratch)
        return result
