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
from libc.string cimport memcpy, memset
from cython.parallel cimport prange, threadid

import numpy as np

cdef extern from *:
    """
    #ifndef PLACEMENT_DEBUG
    #define PLACEMENT_DEBUG 0
    #endif
    #ifdef __AVX2__
    #include <immintrin.h>
    #endif
    /* Bytes 4k..4k+3 of a bitmap (LSB first) as 32 bytes of 0/1, combined into out (how: 0 set,
       1 and, 2 or; flip 1: negated), for k in [0, words): the AVX2 build spreads 32 rows an
       instruction group (each byte copied to its 8 lanes, lane k keeping bit k); others return 0
       words done and leave it to the portable loop. */
    static inline Py_ssize_t spread_words(const uint8_t* bits, uint8_t* out, Py_ssize_t words, int how,
                                          uint8_t flip) {
    #ifdef __AVX2__
        const __m256i lanes = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                               2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
        const __m256i one = _mm256_set1_epi8(1);
        const __m256i flips = flip ? one : _mm256_setzero_si256();
        Py_ssize_t k;
        for (k = 0; k < words; k++) {
            int32_t word;
            memcpy(&word, bits + 4 * k, 4);
            __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(word), lanes);
            v = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), one);
            v = _mm256_xor_si256(v, flips);
            __m256i* at = (__m256i*)(out + 32 * k);
            if (how == 1)
                v = _mm256_and_si256(v, _mm256_loadu_si256(at));
            else if (how == 2)
                v = _mm256_or_si256(v, _mm256_loadu_si256(at));
            _mm256_storeu_si256(at, v);
        }
        return words;
    #else
        (void)bits; (void)out; (void)words; (void)how; (void)flip;
        return 0;
    #endif
    }
    """
    int PLACEMENT_DEBUG
    Py_ssize_t spread_words(const uint8_t* bits, uint8_t* out, Py_ssize_t words, int how, uint8_t flip) noexcept nogil

#: True in the build with Cython's bounds and wraparound checks on (PLACEMENT_DEBUG_BUILD=1).
DEBUG_BUILD = bool(PLACEMENT_DEBUG)

ctypedef fused code_t:
    uint8_t
    uint16_t
    uint32_t
    uint64_t

cdef enum:
    SPARSE = 32                # an all's later range operand is tested row by row under 1/32 of the block

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
                           int how, uint8_t* scratch) noexcept nogil:
    """The code is in one of the node's ranges (flipped when inverted), combined into ``out``.
    Up to eight ranges take one pass over the column (eight single codes, an ``in`` list, are
    equality tests); more take one pass per eight over the block (in L1 by then). ``scratch``:
    two blocks (the evaluator's level below, which a leaf does not use; no stack arrays, so deep
    plans keep small frames)."""
    cdef int first
    cdef uint8_t* block = scratch
    cdef uint8_t* spare = scratch + BLOCK
    if node.ranges <= 4:
        ranges_four(column, node.lo, node.span, node.ranges, node.invert, n, out, how)
        return
    if node.ranges <= 8 and how == SET:
        eight_of(column, node, 0, n, out, node.invert)
        return
    eight_of(column, node, 0, n, block, 0)
    for first in range(8, node.ranges, 8):             # eight more at a time, or-ed into the block
        eight_of(column, node, first, n, spare, 0)
        combine(block, spare, n, OR_INTO, 0)
    combine(out, block, n, how, node.invert)


cdef inline void eight_of(const code_t* column, const Node* node, int first, Py_ssize_t n, uint8_t* out,
                          uint8_t flip) noexcept nogil:
    """Ranges ``first`` .. ``first + 7`` (or fewer) of the node, in one pass set into ``out``."""
    cdef int r = min(8, node.ranges - first)
    if r <= 4:
        ranges_four(column, node.lo + first, node.span + first, r, flip, n, out, SET)
    elif single_codes(node, first, r):
        equals_eight(column, node.lo + first, r, flip, n, out)
    else:
        ranges_eight(column, node.lo + first, node.span + first, r, flip, n, out)


cdef inline void ranges_four(const code_t* column, const uint64_t* lows, const uint64_t* spans, int r,
                             uint8_t flip, Py_ssize_t n, uint8_t* out, int how) noexcept nogil:
    """One pass for up to four ranges: unused slots repeat the first range, which changes
    nothing and keeps one loop shape the compiler vectorises."""
    cdef Py_ssize_t i
    cdef code_t lo0, lo1, lo2, lo3, s0, s1, s2, s3, c
    lo0 = <code_t>lows[0]
    s0 = <code_t>spans[0]
    if r == 1:
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
    lo1 = <code_t>lows[1]
    s1 = <code_t>spans[1]
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
    lo2 = <code_t>lows[2 if r > 2 else 0]
    s2 = <code_t>spans[2 if r > 2 else 0]
    lo3 = <code_t>lows[3 if r > 3 else 0]
    s3 = <code_t>spans[3 if r > 3 else 0]
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


cdef inline void ranges_eight(const code_t* column, const uint64_t* lows, const uint64_t* spans, int r,
                              uint8_t flip, Py_ssize_t n, uint8_t* out) noexcept nogil:
    """Five to eight ranges in one pass (an ``in`` list of that many scattered values), set into
    ``out``; unused slots repeat the first range."""
    cdef Py_ssize_t i
    cdef code_t l0, l1, l2, l3, l4, l5, l6, l7, s0, s1, s2, s3, s4, s5, s6, s7, c
    l0, l1, l2, l3, l4 = <code_t>lows[0], <code_t>lows[1], <code_t>lows[2], <code_t>lows[3], <code_t>lows[4]
    s0, s1, s2, s3, s4 = <code_t>spans[0], <code_t>spans[1], <code_t>spans[2], <code_t>spans[3], <code_t>spans[4]
    l5, s5 = <code_t>lows[5 if r > 5 else 0], <code_t>spans[5 if r > 5 else 0]
    l6, s6 = <code_t>lows[6 if r > 6 else 0], <code_t>spans[6 if r > 6 else 0]
    l7, s7 = <code_t>lows[7 if r > 7 else 0], <code_t>spans[7 if r > 7 else 0]
    for i in range(n):
        c = column[i]
        out[i] = (<uint8_t>(<code_t>(c - l0) <= s0) | <uint8_t>(<code_t>(c - l1) <= s1)
                  | <uint8_t>(<code_t>(c - l2) <= s2) | <uint8_t>(<code_t>(c - l3) <= s3)
                  | <uint8_t>(<code_t>(c - l4) <= s4) | <uint8_t>(<code_t>(c - l5) <= s5)
                  | <uint8_t>(<code_t>(c - l6) <= s6) | <uint8_t>(<code_t>(c - l7) <= s7)) ^ flip


cdef inline bint single_codes(const Node* node, int first, int count) noexcept nogil:
    """Ranges ``first`` .. ``first + count - 1`` are one code each: an ``in`` list of scattered values."""
    cdef int r
    for r in range(first, first + count):
        if node.span[r] != 0:
            return False
    return True


cdef inline void equals_eight(const code_t* column, const uint64_t* lows, int r, uint8_t flip, Py_ssize_t n,
                              uint8_t* out) noexcept nogil:
    """Five to eight single codes in one pass: an equality each, half the work of a range."""
    cdef Py_ssize_t i
    cdef code_t k0, k1, k2, k3, k4, k5, k6, k7, c
    k0, k1, k2, k3, k4 = <code_t>lows[0], <code_t>lows[1], <code_t>lows[2], <code_t>lows[3], <code_t>lows[4]
    k5 = <code_t>lows[5 if r > 5 else 0]
    k6 = <code_t>lows[6 if r > 6 else 0]
    k7 = <code_t>lows[7 if r > 7 else 0]
    for i in range(n):
        c = column[i]
        out[i] = (<uint8_t>(c == k0) | <uint8_t>(c == k1) | <uint8_t>(c == k2) | <uint8_t>(c == k3)
                  | <uint8_t>(c == k4) | <uint8_t>(c == k5) | <uint8_t>(c == k6) | <uint8_t>(c == k7)) ^ flip


cdef inline uint8_t ranges_at(const code_t* column, const Node* node, Py_ssize_t row) noexcept nogil:
    """The node's value on one row: what a sparse ``all`` asks of its later operands."""
    cdef int r
    cdef code_t c = column[row]
    cdef uint8_t hit = 0
    for r in range(node.ranges):
        hit |= <uint8_t>(<code_t>(c - <code_t>node.lo[r]) <= <code_t>node.span[r])
    return hit ^ node.invert


cdef inline void ranges_where(const Node* node, Py_ssize_t start, Py_ssize_t n, uint8_t* out) noexcept nogil:
    """``out &= node`` testing only the rows still set: for a block an ``all`` has nearly
    decided, reading a few values costs less than reading the column's whole block."""
    cdef Py_ssize_t i, word, words = (n + 7) // 8
    cdef uint64_t eight
    for word in range(words):                  # eight rows at a time: most words are all zero
        if word * 8 + 8 <= n:
            memcpy(&eight, out + word * 8, 8)
            if eight == 0:
                continue
        for i in range(word * 8, min(word * 8 + 8, n)):
            if not out[i]:
                continue
            if node.column_type == COL_U8:
                out[i] = ranges_at(<const uint8_t*>node.data, node, start + i)
            elif node.column_type == COL_U16:
                out[i] = ranges_at(<const uint16_t*>node.data, node, start + i)
            elif node.column_type == COL_U32:
                out[i] = ranges_at(<const uint32_t*>node.data, node, start + i)
            else:
                out[i] = ranges_at(<const uint64_t*>node.data, node, start + i)


cdef uint64_t BIT_OF_BYTE = ((<uint64_t>0x80402010) << 32) | <uint64_t>0x08040201     # byte k: bit k
cdef uint64_t TO_TOP_BIT = ((<uint64_t>0x00406070) << 32) | <uint64_t>0x787C7E7F      # byte k: 0x80 - 2^k


cdef inline uint64_t spread(uint64_t bits) noexcept nogil:
    """Eight bits (LSB first) as eight 0/1 bytes, without a table or a branch: the byte copied
    into every lane, lane k keeping bit k, then 0x80 - 2^k added so a set bit (and only a set
    bit) reaches the lane's top bit, shifted down to 1. Shifts and ors, so loops vectorise."""
    bits |= bits << 8
    bits |= bits << 16
    bits |= bits << 32
    return (((bits & BIT_OF_BYTE) + TO_TOP_BIT) >> 7) & EVERY_BYTE_ONE


cdef inline void presence_of(const uint8_t* bits, Py_ssize_t start, Py_ssize_t n, uint8_t* out, int how,
                             uint8_t flip) noexcept nogil:
    """Rows [start, start + n) of a packed bitmap (LSB first) as 0/1 bytes, combined into ``out``:
    32 rows per four bytes read in the AVX2 build (``spread_words``), else eight per byte
    (``spread``); rows off a byte boundary one at a time."""
    cdef Py_ssize_t i = 0, j, words, wide
    cdef uint64_t flips = EVERY_BYTE_ONE if flip else 0, word, current
    cdef const uint8_t* body
    while i < n and (start + i) & 7:
        edge_bit(bits, start + i, out + i, how, flip)
        i += 1
    wide = spread_words(bits + ((start + i) >> 3), out + i, (n - i) // 32, how, flip)
    i += 32 * wide
    words = (n - i) // 8
    body = bits + ((start + i) >> 3)
    if how == SET:
        for j in range(words):
            word = spread(body[j]) ^ flips
            memcpy(out + i + 8 * j, &word, 8)
    else:
        for j in range(words):
            memcpy(&current, out + i + 8 * j, 8)
            word = spread(body[j]) ^ flips
            current = (current & word) if how == AND_INTO else (current | word)
            memcpy(out + i + 8 * j, &current, 8)
    i += 8 * words
    while i < n:
        edge_bit(bits, start + i, out + i, how, flip)
        i += 1


cdef inline void edge_bit(const uint8_t* bits, Py_ssize_t row, uint8_t* out, int how, uint8_t flip) noexcept nogil:
    cdef uint8_t bit = ((bits[row >> 3] >> (row & 7)) & 1) ^ flip
    if how == SET:
        out[0] = bit
    elif how == AND_INTO:
        out[0] &= bit
    else:
        out[0] |= bit


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


cdef void leaf(const Node* node, Py_ssize_t start, Py_ssize_t n, uint8_t* out, uint8_t* scratch, int how) noexcept nogil:
    """A leaf on rows [start, start + n), combined into ``out`` as ``how`` says (range and
    presence leaves combine in their own pass; the others are set into ``scratch`` first)."""
    cdef Py_ssize_t i
    if node.kind == NODE_RANGES:
        if node.column_type == COL_U8:
            ranges_of(<const uint8_t*>node.data + start, node, n, out, how, scratch)
        elif node.column_type == COL_U16:
            ranges_of(<const uint16_t*>node.data + start, node, n, out, how, scratch)
        elif node.column_type == COL_U32:
            ranges_of(<const uint32_t*>node.data + start, node, n, out, how, scratch)
        else:
            ranges_of(<const uint64_t*>node.data + start, node, n, out, how, scratch)
        return
    if node.kind == NODE_PRESENCE:
        presence_of(<const uint8_t*>node.data, start, n, out, how, node.invert)
        return
    if how != SET:
        leaf(node, start, n, scratch, scratch + BLOCK, SET)
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
        return                                     # bits_of applies the inversion itself
    else:
        group_test(node, start, n, out)
    if node.invert:
        for i in range(n):
            out[i] ^= 1


cdef inline bint is_leaf(const Node* node) noexcept nogil:
    return node.kind != NODE_ALL and node.kind != NODE_ANY


cdef inline void push(Frame* frames, int* top, int index, int how, uint8_t* out, uint8_t* scratch) noexcept nogil:
    top[0] += 1
    frames[top[0]].index, frames[top[0]].how, frames[top[0]].child = index, how, -1
    frames[top[0]].wrapped, frames[top[0]].out, frames[top[0]].scratch = False, out, scratch


cdef void evaluate(const Node* nodes, const int* children, int index, Py_ssize_t start, Py_ssize_t n,
                   uint8_t* out, uint8_t* scratch, int how, Frame* frames) noexcept nogil:
    """Node ``index`` on rows [start, start + n), combined into ``out`` as ``how`` says;
    ``scratch`` holds one block per level below, ``frames`` two per level (the explicit stack:
    no C recursion, whatever the plan's depth). An ``all`` / ``any`` sets its first operand into
    its output and combines each later one into it, stopping as soon as the block is decided; an
    ``all`` whose block is nearly decided tests its later range operands row by row."""
    cdef int top = -1, c
    cdef Frame* f
    cdef const Node* node
    cdef const Node* operand
    cdef Py_ssize_t i, rows_left
    cdef bint is_all, descended
    push(frames, &top, index, how, out, scratch)
    while top >= 0:
        f = &frames[top]
        node = &nodes[f.index]
        if is_leaf(node):
            leaf(node, start, n, f.out, f.scratch, f.how)
            top -= 1
            continue
        if f.how != SET:                            # into scratch, then combined into out
            if f.wrapped:
                combine(f.out, f.scratch, n, f.how, 0)
                top -= 1
            else:
                f.wrapped = True
                push(frames, &top, f.index, SET, f.scratch, f.scratch + BLOCK)
            continue
        is_all = node.kind == NODE_ALL
        if f.child == -1:                           # the first operand, set into out
            f.child = 0
            push(frames, &top, children[node.first_child], SET, f.out, f.scratch)
            continue
        descended = False
        c = f.child + 1
        while c < node.child_count:
            operand = &nodes[children[node.first_child + c]]
            if is_all:
                rows_left = count_set(f.out, n)
                if rows_left == 0:
                    break                           # the block is decided
                if operand.kind == NODE_RANGES and rows_left * SPARSE < n:
                    ranges_where(operand, start, n, f.out)
                    c += 1
                    continue
            elif all_set(f.out, n):
                break
            f.child = c
            push(frames, &top, children[node.first_child + c], AND_INTO if is_all else OR_INTO, f.out, f.scratch)
            descended = True
            break
        if descended:
            continue
        if node.invert:
            for i in range(n):
                f.out[i] ^= 1
        top -= 1


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


cdef void trace(const Node* nodes, const int* children, Py_ssize_t start, Py_ssize_t n,
                uint8_t* out, uint8_t* below, int64_t* counts, Frame* frames) noexcept nogil:
    """The trace mode: the root on rows [start, start + n) set into ``out`` like ``evaluate``
    does, but every operand of every ``all`` / ``any`` is evaluated (no early exit) and each
    node's true rows are added to ``counts[node]``. Leaves run ``evaluate``'s own code; operands
    combine with its ``combine``. ``below`` holds one block per level beneath; ``frames`` is the
    explicit stack (a frame's ``scratch`` is its ``below``)."""
    cdef int top = -1, c
    cdef Frame* f
    cdef const Node* node
    cdef Py_ssize_t i
    push(frames, &top, 0, SET, out, below)
    while top >= 0:
        f = &frames[top]
        node = &nodes[f.index]
        if is_leaf(node):
            leaf(node, start, n, f.out, f.scratch, SET)
            counts[f.index] += count_set(f.out, n)
            top -= 1
            continue
        if f.child == -1:                          # the first operand into out
            f.child = 0
            push(frames, &top, children[node.first_child], SET, f.out, f.scratch)
            continue
        if f.child > 0:                            # a later operand came back in below
            combine(f.out, f.scratch, n, AND_INTO if node.kind == NODE_ALL else OR_INTO, 0)
        c = f.child + 1
        if c < node.child_count:
            f.child = c
            push(frames, &top, children[node.first_child + c], SET, f.scratch, f.scratch + BLOCK)
            continue
        if node.invert:
            for i in range(n):
                f.out[i] ^= 1
        counts[f.index] += count_set(f.out, n)
        top -= 1


cdef const void* address(object array):
    return <const void*><uintptr_t>array.__array_interface__["data"][0]


cdef uint8_t evaluate_row(const RowProgram* program, Py_ssize_t row) noexcept nogil:
    """The plan's value on one row: the placer re-evaluates a constraint that reads placed state
    for the instance a task just landed on with this, the code every mask comes from."""
    cdef uint8_t out
    evaluate(program.nodes, program.children, 0, row, 1, &out, program.scratch, SET, program.frames)
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
            if kind == NODE_PRESENCE:
                if column.dtype != np.uint8 or column.ndim != 1 or len(column) < (rows + 7) // 8:
                    raise ValueError("a presence bitmap needs one bit per row, packed in uint8")
                node.data = self._keep(column)
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
            elif kind not in (NODE_CONST, NODE_RANGES, NODE_TABLE, NODE_GROUP, NODE_BITS, NODE_PRESENCE):
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
        free(self.row_frames)

    cdef Py_ssize_t frame_count(self):
        """The explicit stack ``evaluate`` needs: two frames per level."""
        return 2 * (self.depth + 1)

    cdef RowProgram row_program(self) except *:
        """Single-row evaluation: scratch for one block per level and a stack, allocated on first use."""
        if self.row_scratch == NULL:
            self.row_scratch = <uint8_t*>malloc((self.depth + 2) * BLOCK)
            self.row_frames = <Frame*>malloc(self.frame_count() * sizeof(Frame))
            if self.row_scratch == NULL or self.row_frames == NULL:
                raise MemoryError()
        cdef RowProgram program
        program.nodes, program.children, program.scratch = self.nodes, self.children, self.row_scratch
        program.frames = self.row_frames
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
        cdef Frame* frames = <Frame*>malloc(self.frame_count() * sizeof(Frame))
        try:
            if blocks == NULL or frames == NULL:
                raise MemoryError()
            with nogil:
                b = start
                while b < stop:
                    n = min(<Py_ssize_t>BLOCK, stop - b)
                    trace(self.nodes, self.children, b, n, blocks, blocks + BLOCK, &counts[0], frames)
                    b += n
        finally:
            free(blocks)
            free(frames)
        return result

    def run(self, int threads=1, bint packed=False):
        """The mask, one bool per row; ``packed``: ⌈rows / 8⌉ uint8 of bits, LSB first (Arrow's
        validity layout), each block packed as it is evaluated. ``threads`` > 1 splits the
        blocks over OpenMP threads."""
        cdef Py_ssize_t rows = self.rows, blocks = (self.rows + BLOCK - 1) // BLOCK, b, start
        cdef Py_ssize_t nbytes = (rows + 7) // 8
        cdef uint8_t[::1] out
        if packed:
            result = np.empty(nbytes, dtype=np.uint8)
        else:
            result = np.empty(rows, dtype=np.bool_)
        if rows == 0:
            return result
        out = result.view(np.uint8)
        if packed and self.nodes[0].kind == NODE_PRESENCE:
            copy_presence(&self.nodes[0], rows, &out[0])
            return result
        # a thread is worth waking for 16 blocks (64k rows) or more
        cdef int workers = max(1, min(threads, blocks // 16))
        cdef Py_ssize_t per_worker = (self.depth + 2 + packed) * BLOCK, stack = self.frame_count()
        cdef uint8_t* scratch = <uint8_t*>malloc(workers * per_worker)
        cdef Frame* frames = <Frame*>malloc(workers * stack * sizeof(Frame))
        try:
            if scratch == NULL or frames == NULL:
                raise MemoryError()
            with nogil:
                if workers == 1:
                    for b in range(blocks):
                        run_block(self.nodes, self.children, b, rows, &out[0], scratch, packed, frames)
                else:
                    for b in prange(blocks, num_threads=workers, schedule="static"):
                        run_block(self.nodes, self.children, b, rows, &out[0],
                                  scratch + threadid() * per_worker, packed, frames + threadid() * stack)
        finally:
            free(scratch)
            free(frames)
        return result


cdef uint64_t PACK = ((<uint64_t>0x01020408) << 32) | <uint64_t>0x10204080   # 8 bytes of 0/1 -> 8 bits


cdef inline void run_block(const Node* nodes, const int* children, Py_ssize_t b, Py_ssize_t rows,
                           uint8_t* out, uint8_t* scratch, bint packed, Frame* frames) noexcept nogil:
    """Block ``b`` of the program into ``out``: bytes in place, or packed through a scratch block."""
    cdef Py_ssize_t start = b * BLOCK, n = min(<Py_ssize_t>BLOCK, rows - start), i, words = n // 8
    cdef uint64_t word
    cdef uint8_t last = 0
    if not packed:
        evaluate(nodes, children, 0, start, n, out + start, scratch, SET, frames)
        return
    evaluate(nodes, children, 0, start, n, scratch, scratch + BLOCK, SET, frames)
    out += start // 8
    for i in range(words):
        memcpy(&word, scratch + 8 * i, 8)
        out[i] = <uint8_t>((word * PACK) >> 56)
    if n & 7:
        for i in range(n & 7):
            last |= scratch[8 * words + i] << i
        out[words] = last


cdef void copy_presence(const Node* node, Py_ssize_t rows, uint8_t* out) noexcept:
    """A lone presence leaf, packed: the bitmap itself (flipped when inverted), the bits past the
    last row cleared."""
    cdef Py_ssize_t i, nbytes = (rows + 7) // 8
    memcpy(out, node.data, nbytes)
    if node.invert:
        for i in range(nbytes):
            out[i] ^= 0xFF
    if rows & 7:
        out[nbytes - 1] &= <uint8_t>((1 << (rows & 7)) - 1)
