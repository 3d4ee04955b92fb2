# An int64 -> int64 hash map (open addressing, linear probing) and a growing malloc'd buffer:
# what the placement state and its ports keep without Python objects.
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc

cdef enum:
    EMPTY = -1
    DELETED = -2


# Keys >= 0; -1 empty, -2 deleted.
cdef struct IntMap:
    int64_t* keys
    int64_t* values
    Py_ssize_t mask               # capacity - 1, a power of two minus one
    Py_ssize_t used               # live and deleted slots
    Py_ssize_t live


cdef inline uint64_t mix(uint64_t x) noexcept nogil:
    x = (x ^ (x >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    x = (x ^ (x >> 27)) * <uint64_t>0x94D049BB133111EB
    return x ^ (x >> 31)


cdef inline int map_init(IntMap* m, Py_ssize_t capacity) except -1 nogil:
    cdef Py_ssize_t size = 16, i
    while size < 2 * capacity:
        size *= 2
    m.keys = <int64_t*>malloc(size * sizeof(int64_t))
    m.values = <int64_t*>malloc(size * sizeof(int64_t))
    if m.keys == NULL or m.values == NULL:
        with gil:
            raise MemoryError()
    for i in range(size):
        m.keys[i] = EMPTY
    m.mask, m.used, m.live = size - 1, 0, 0
    return 0


cdef inline Py_ssize_t map_slot(const IntMap* m, int64_t key) noexcept nogil:
    """The slot holding ``key``, or -1."""
    cdef Py_ssize_t i = <Py_ssize_t>(mix(<uint64_t>key) & <uint64_t>m.mask)
    while m.keys[i] != EMPTY:
        if m.keys[i] == key:
            return i
        i = (i + 1) & m.mask
    return -1


cdef inline int64_t map_get(const IntMap* m, int64_t key, int64_t missing) noexcept nogil:
    cdef Py_ssize_t slot = map_slot(m, key)
    return missing if slot < 0 else m.values[slot]


cdef inline int map_rehash(IntMap* m, Py_ssize_t capacity) except -1 nogil:
    """The live entries moved to a table sized for ``capacity`` keys (deleted slots dropped)."""
    cdef IntMap grown
    cdef Py_ssize_t i, j
    map_init(&grown, capacity)
    for i in range(m.mask + 1):
        if m.keys[i] >= 0:
            j = <Py_ssize_t>(mix(<uint64_t>m.keys[i]) & <uint64_t>grown.mask)
            while grown.keys[j] != EMPTY:
                j = (j + 1) & grown.mask
            grown.keys[j], grown.values[j] = m.keys[i], m.values[i]
            grown.used += 1
            grown.live += 1
    free(m.keys)
    free(m.values)
    m[0] = grown
    return 0


cdef inline int map_put(IntMap* m, int64_t key, int64_t value) except -1 nogil:
    cdef Py_ssize_t i, slot = map_slot(m, key)
    if slot >= 0:
        m.values[slot] = value
        return 0
    if 10 * (m.used + 1) > 7 * (m.mask + 1):           # live entries only, room to double
        map_rehash(m, 2 * m.live + 16)
    i = <Py_ssize_t>(mix(<uint64_t>key) & <uint64_t>m.mask)
    while m.keys[i] >= 0:
        i = (i + 1) & m.mask
    if m.keys[i] == EMPTY:
        m.used += 1
    m.keys[i], m.values[i] = key, value
    m.live += 1
    return 0


cdef inline int map_reserve(IntMap* m, Py_ssize_t more) except -1 nogil:
    """Room for ``more`` new keys without a rehash on the way (one rehash now, if any)."""
    if 10 * (m.used + more) > 7 * (m.mask + 1):
        map_rehash(m, m.live + more)
    return 0


cdef inline void map_remove(IntMap* m, int64_t key) noexcept nogil:
    cdef Py_ssize_t slot = map_slot(m, key)
    if slot >= 0:
        m.keys[slot] = DELETED
        m.live -= 1


cdef inline int remap_keys(IntMap* m, const int64_t* mapping, int shift) except -1:
    """Re-key a map of (row << shift | x) after rows moved; rows mapped to -1 drop out."""
    cdef IntMap moved
    cdef Py_ssize_t i
    cdef int64_t row
    map_init(&moved, m.live + 16)
    for i in range(m.mask + 1):
        if m.keys[i] >= 0:
            row = mapping[m.keys[i] >> shift]
            if row >= 0:
                map_put(&moved, (row << shift) | (m.keys[i] & ((<int64_t>1 << shift) - 1)), m.values[i])
    free(m.keys)
    free(m.values)
    m[0] = moved
    return 0


cdef inline int grow_buffer(void** buffer, Py_ssize_t* capacity, Py_ssize_t needed, size_t item) except -1 nogil:
    """Room for ``needed`` items in a malloc'd buffer (doubling)."""
    cdef Py_ssize_t size = capacity[0]
    cdef void* moved
    if needed <= size:
        return 0
    while size < needed:
        size = max(16, 2 * size)
    moved = realloc(buffer[0], size * item)
    if moved == NULL:
        with gil:
            raise MemoryError()
    buffer[0], capacity[0] = moved, size
    return 0
