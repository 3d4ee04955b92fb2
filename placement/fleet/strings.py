"""Identity strings as buffers (stage: fleet): the container-instance ARNs, the EC2 ids in the
``ec2InstanceId`` dictionary and the task ids, without a Python ``str`` per row.

A ``StringColumn`` is an immutable ``Sequence[str]``. Row ``i`` is ``heads[codes[i]]`` followed
by its *tail*, the bytes ``data[offsets[i]:offsets[i + 1]]`` read as the head's *kind* says:

- the head is everything up to and including the last ``/``, ``-`` or ``:`` (an ARN's head, up
  to the cluster, is the fleet's; an EC2 id's is ``i-``), so a column keeps a handful of heads;
- a tail of lowercase hex digits is packed two digits a byte (``HEX``; ``ODD``: an odd count,
  with a ``0`` digit in front that decoding drops), so a 32-digit id takes 16 bytes;
- any other tail is UTF-8 with ``surrogatepass`` (``RAW``): every ``str``, lone surrogates
  included, comes back exactly.

The split is a function of the string alone, so the encoding is canonical: two columns hold the
same strings exactly when their rows have the same (head, kind) and the same bytes, which is how
equality and the uniqueness check run on the buffers. Offsets are uint32 while the data fits,
int64 past 4 GiB; codes are uint8 until there are more heads.

A ``StringBuffer`` is the growing form the fleet store keeps (appends in amortised O(1), spare
room in every buffer, ``keep`` for a compaction); ``column`` hands out a ``StringColumn`` of
views that later appends never touch (they write past its end); the store's ``ec2InstanceId``
column keeps its values in one (``placement.fleet.store.GrowingStringCodes``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from placement.errors import InputError

RAW, HEX, ODD = 0, 1, 2
_DIGITS = "0123456789abcdef"
_BLOCK = 1 << 16                          # rows decoded or compared at a time: temporaries stay small
_UINT32_MAX = (1 << 32) - 1


def split(text: str) -> tuple[str, int, bytes]:
    """(head, kind, tail bytes) of one string: the canonical encoding."""
    if type(text) is not str:
        if not isinstance(text, str):
            raise InputError(f"a string column holds strings, got {type(text).__name__}")
        text = str(text)
    cut = max(text.rfind("/"), text.rfind("-"), text.rfind(":")) + 1
    tail = text[cut:]
    if tail and not tail.strip(_DIGITS):
        if len(tail) & 1:
            return text[:cut], ODD, bytes.fromhex("0" + tail)
        return text[:cut], HEX, bytes.fromhex(tail)
    return text[:cut], RAW, tail.encode("utf-8", "surrogatepass")


def _offset_dtype(total: int) -> np.dtype:
    return np.dtype(np.uint32) if total <= _UINT32_MAX else np.dtype(np.int64)


def _code_dtype(count: int) -> np.dtype:
    return np.dtype(np.uint8 if count <= 256 else np.uint16 if count <= 65536 else np.uint32)


def _gather(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The bytes ``data[starts[k]:starts[k] + lengths[k]]`` for every k, concatenated."""
    total = int(lengths.sum())
    out = np.empty(total, dtype=np.uint8)
    if not total:
        return out
    if lengths.min() == lengths.max():                         # one width: a 2-d gather, no index per byte
        width = int(lengths[0])
        step = max(1, _BLOCK * 16 // width)
        rows = out.reshape(-1, width)
        span = np.arange(width, dtype=np.int64)
        for k in range(0, len(starts), step):
            rows[k:k + step] = data[starts[k:k + step, None].astype(np.int64) + span]
        return out
    ends = np.cumsum(lengths, dtype=np.int64)
    at = 0
    for k in range(0, len(starts), _BLOCK):                    # an index per byte, a block at a time
        part_lengths = lengths[k:k + _BLOCK].astype(np.int64)
        part_total = int(part_lengths.sum())
        firsts = ends[k:k + _BLOCK] - part_lengths - at
        index = np.repeat(starts[k:k + _BLOCK].astype(np.int64) - firsts, part_lengths) + np.arange(part_total)
        out[at:at + part_total] = data[index]
        at += part_total
    return out


def _views(codes: np.ndarray, offsets: np.ndarray, data: np.ndarray) -> tuple:
    """Memoryviews for reading one row: indexing one gives a Python int, with no numpy scalar."""
    return memoryview(codes), memoryview(offsets), memoryview(data)


def _views_of(strings) -> tuple:
    """``_views`` of a StringColumn or StringBuffer, made on first read and kept (a buffer drops
    them when its arrays change)."""
    views = strings._views
    if views is None:
        views = strings._views = _views(strings.codes, strings.offsets, strings.data)
    return views


def _row(heads, kinds, views, i: int) -> str:
    code, start, stop = views[0][i], views[1][i], views[1][i + 1]
    kind = kinds[code]
    if kind == HEX:
        return heads[code] + views[2][start:stop].hex()
    if kind == ODD:
        return heads[code] + views[2][start:stop].hex()[1:]
    return heads[code] + str(views[2][start:stop], "utf-8", "surrogatepass")


class StringColumn(Sequence):
    """An immutable sequence of ``str`` kept as heads, codes, one byte buffer and offsets (see
    the module docstring). Build with ``from_strings``, ``from_hex`` or ``concat``."""

    __slots__ = ("heads", "kinds", "codes", "data", "offsets", "_views", "_hash")

    def __init__(self, heads: tuple[str, ...], kinds: tuple[int, ...], codes: np.ndarray, data: np.ndarray,
                 offsets: np.ndarray):
        if len(heads) != len(kinds) or len(offsets) != len(codes) + 1:
            raise InputError("a string column's codes, offsets and buffer do not agree")
        self.heads, self.kinds = tuple(heads), tuple(kinds)
        self.codes, self.data, self.offsets = codes, data, offsets
        self._views = None
        self._hash = None

    def validate(self, name: str) -> None:
        """Codes within the heads, offsets rising within the buffer (O(n), once per fleet)."""
        offsets = self.offsets
        if len(self.codes) and (int(self.codes.max()) >= len(self.heads) or int(offsets[-1]) > len(self.data)
                                or bool(np.any(offsets[1:] < offsets[:-1]))):
            raise InputError(f"column {name!r}: its string buffer is not consistent")

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def from_strings(cls, strings: Iterable[str]) -> "StringColumn":
        if isinstance(strings, StringColumn):
            return strings
        if isinstance(strings, StringBuffer):
            return strings.column(len(strings))
        head_code: dict[tuple[str, int], int] = {}
        codes, tails = [], []
        for text in strings:
            head, kind, tail = split(text)
            code = head_code.get((head, kind))
            if code is None:
                code = head_code[(head, kind)] = len(head_code)
            codes.append(code)
            tails.append(tail)
        data = np.frombuffer(b"".join(tails), dtype=np.uint8)
        offsets = np.zeros(len(tails) + 1, dtype=_offset_dtype(len(data)))
        np.cumsum(np.fromiter(map(len, tails), np.int64, len(tails)), out=offsets[1:], dtype=offsets.dtype)
        heads = tuple(head for head, _ in head_code)
        return cls(heads, tuple(kind for _, kind in head_code),
                   np.array(codes, dtype=_code_dtype(len(heads))), data, offsets)

    @classmethod
    def from_hex(cls, head: str, packed: np.ndarray) -> "StringColumn":
        """``head`` followed by each row of ``packed`` (n, width) bytes written as 2 * width
        lowercase hex digits: no string is made."""
        head, kind, tail = split(head + "00")
        if kind != HEX or tail != b"\0":
            raise InputError(f"{head!r} does not end where a hex tail starts")
        packed = np.ascontiguousarray(packed, dtype=np.uint8)
        n, width = packed.shape
        offsets = np.arange(n + 1, dtype=_offset_dtype(n * width)) * width
        return cls((head,), (HEX,), np.zeros(n, dtype=np.uint8), packed.reshape(-1), offsets)

    @classmethod
    def concat(cls, columns: Sequence["StringColumn"]) -> "StringColumn":
        columns = [StringColumn.from_strings(c) for c in columns]
        head_code: dict[tuple[str, int], int] = {}
        recodes = []
        for column in columns:
            recodes.append(np.array([head_code.setdefault(key, len(head_code))
                                     for key in zip(column.heads, column.kinds)] or [0], dtype=np.int64))
        datas = [c.data[int(c.offsets[0]):int(c.offsets[-1])] for c in columns]
        total = sum(len(d) for d in datas)
        offsets = np.zeros(sum(len(c) for c in columns) + 1, dtype=_offset_dtype(total))
        at, base = 1, 0
        for column in columns:
            n = len(column)
            offsets[at:at + n] = column.offsets[1:].astype(np.int64) - int(column.offsets[0]) + base
            at, base = at + n, base + int(column.offsets[-1]) - int(column.offsets[0])
        codes = np.concatenate([r[c.codes] for r, c in zip(recodes, columns)] or [np.zeros(0, np.int64)])
        return cls(tuple(h for h, _ in head_code), tuple(k for _, k in head_code),
                   codes.astype(_code_dtype(len(head_code))),
                   np.concatenate(datas) if datas else np.zeros(0, np.uint8), offsets)

    # -- reading ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.codes)

    def _row(self, i: int) -> str:
        return _row(self.heads, self.kinds, _views_of(self), i)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        n = len(self.codes)
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("string column index out of range")
        return self._row(i)

    def _decode(self, start: int, stop: int) -> list[str]:
        if start >= stop:
            return []
        codes = self.codes[start:stop].tolist()
        offsets = self.offsets[start:stop + 1].tolist()
        base = offsets[0]
        blob = self.data[base:offsets[-1]].tobytes()
        heads, kinds = self.heads, self.kinds
        if len(heads) == 1 and kinds[0] == HEX:                 # the common column: one head, hex tails
            digits, head = blob.hex(), heads[0]
            return [head + digits[2 * (a - base):2 * (b - base)] for a, b in zip(offsets, offsets[1:])]
        digits = blob.hex() if any(kinds) else ""
        out = []
        for code, a, b in zip(codes, offsets, offsets[1:]):
            kind, a, b = kinds[code], a - base, b - base
            if kind == HEX:
                out.append(heads[code] + digits[2 * a:2 * b])
            elif kind == ODD:
                out.append(heads[code] + digits[2 * a + 1:2 * b])
            else:
                out.append(heads[code] + blob[a:b].decode("utf-8", "surrogatepass"))
        return out

    def tolist(self) -> list[str]:
        out: list[str] = []
        for start in range(0, len(self), _BLOCK):
            out += self._decode(start, min(len(self), start + _BLOCK))
        return out

    def __iter__(self):
        for start in range(0, len(self), _BLOCK):
            yield from self._decode(start, min(len(self), start + _BLOCK))

    def lengths(self) -> np.ndarray:
        """Bytes of each row's tail (int64)."""
        return np.diff(self.offsets.astype(np.int64))

    def take(self, rows) -> "StringColumn":
        """The rows at ``rows`` (positions, in order)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (int(rows.min()) < -len(self) or int(rows.max()) >= len(self)):
            raise IndexError("string column index out of range")
        rows = np.where(rows < 0, rows + len(self), rows) if len(rows) and rows.min() < 0 else rows
        starts = self.offsets[rows].astype(np.int64)
        lengths = self.offsets[rows + 1].astype(np.int64) - starts
        offsets = np.zeros(len(rows) + 1, dtype=_offset_dtype(int(lengths.sum())))
        np.cumsum(lengths, out=offsets[1:], dtype=offsets.dtype)
        return StringColumn(self.heads, self.kinds, self.codes[rows], _gather(self.data, starts, lengths), offsets)

    def _encoded(self, value) -> tuple[int, bytes] | None:
        """(code, tail) of ``value`` in this column's heads, or None where no row can equal it."""
        if not isinstance(value, str):
            return None
        head, kind, tail = split(value)
        for code, key in enumerate(zip(self.heads, self.kinds)):
            if key == (head, kind):
                return code, tail
        return None

    def index(self, value, start: int = 0, stop: int | None = None) -> int:
        n = len(self)
        start, stop, _ = slice(start, stop).indices(n)
        found = self._encoded(value)
        if found is not None:
            code, tail = found
            want = np.frombuffer(tail, dtype=np.uint8)
            for first in range(start, stop, _BLOCK):
                last = min(stop, first + _BLOCK)
                starts = self.offsets[first:last].astype(np.int64)
                lengths = self.offsets[first + 1:last + 1].astype(np.int64) - starts
                candidates = np.flatnonzero((self.codes[first:last] == code) & (lengths == len(tail)))
                if len(candidates) and len(tail):
                    picked = self.data[starts[candidates, None] + np.arange(len(tail))]
                    candidates = candidates[(picked == want).all(axis=1)]
                if len(candidates):
                    return first + int(candidates[0])
        raise ValueError(f"{value!r} is not in the column")

    def __contains__(self, value) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def count(self, value) -> int:
        return sum(1 for v in self if v == value) if self._encoded(value) is not None else 0

    def duplicate(self) -> str | None:
        """A string that appears twice, or None: on the buffers (a hash per row, then the rows
        whose hashes agree compared as strings), no set of a million strings."""
        n = len(self)
        if n < 2:
            return None
        hashes = self._row_hashes()
        order = np.argsort(hashes, kind="stable")
        same = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
        seen: dict[str, int] = {}
        for k in sorted(set(order[same].tolist()) | set(order[same + 1].tolist())):
            text = self._row(k)
            if text in seen:
                return text
            seen[text] = k
        return None

    def _row_hashes(self) -> np.ndarray:
        """A 64-bit hash of each row's (head, kind, bytes): equal rows hash alike."""
        heads = np.array([hash(key) & ((1 << 64) - 1) for key in zip(self.heads, self.kinds)] or [0],
                         dtype=np.uint64)
        hashes = heads[self.codes]
        lengths = self.lengths()
        starts = self.offsets[:-1].astype(np.int64)
        prime = np.uint64(0x100000001B3)
        with np.errstate(over="ignore"):
            hashes = (hashes ^ lengths.astype(np.uint64)) * prime
            for width in np.unique(lengths).tolist():
                if not width:
                    continue
                rows = np.flatnonzero(lengths == width)
                words = -(-width // 8)
                for k in range(0, len(rows), _BLOCK):
                    part = rows[k:k + _BLOCK]
                    block = np.zeros((len(part), words * 8), dtype=np.uint8)
                    block[:, :width] = self.data[starts[part, None] + np.arange(width)]
                    h = hashes[part]
                    for word in block.view(np.uint64).T:
                        h = (h ^ word) * prime
                        h ^= h >> np.uint64(29)
                    hashes[part] = h
        return hashes

    # -- comparing -------------------------------------------------------------------------------

    def __eq__(self, other) -> bool:
        if isinstance(other, StringBuffer):
            other = other.column(len(other))
        if isinstance(other, StringColumn):
            if len(self) != len(other):
                return False
            if self is other:
                return True
            a, b = self.lengths(), other.lengths()
            if not np.array_equal(a, b):
                return False
            mine = {key: code for code, key in enumerate(zip(self.heads, self.kinds))}
            recode = np.array([mine.get(key, -1) for key in zip(other.heads, other.kinds)] or [0], dtype=np.int64)
            if not np.array_equal(self.codes.astype(np.int64), recode[other.codes]):
                return False
            return np.array_equal(self.data[int(self.offsets[0]):int(self.offsets[-1])],
                                  other.data[int(other.offsets[0]):int(other.offsets[-1])])
        if isinstance(other, (tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:                   # as the tuple it equals
        if self._hash is None:
            self._hash = hash(tuple(self))
        return self._hash

    def __add__(self, other):
        if isinstance(other, (StringColumn, StringBuffer, tuple, list)):
            return StringColumn.concat([self, StringColumn.from_strings(other)])
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, (tuple, list)):
            return StringColumn.concat([StringColumn.from_strings(other), self])
        return NotImplemented

    def __repr__(self) -> str:
        shown = ", ".join(repr(v) for v in self._decode(0, min(3, len(self))))
        return f"StringColumn([{shown}{', ...' if len(self) > 3 else ''}], {len(self)} rows)"

    def __reduce__(self):
        return StringColumn, (self.heads, self.kinds, self.codes, self.data, self.offsets)

    @property
    def nbytes(self) -> int:
        return self.codes.nbytes + self.data.nbytes + self.offsets.nbytes


def _grown(buffer: np.ndarray, capacity: int, dtype=None) -> np.ndarray:
    out = np.zeros(capacity, dtype=buffer.dtype if dtype is None else dtype)
    out[:len(buffer)] = buffer
    return out


def _room(capacity: int, needed: int) -> int:
    """The next capacity: a quarter more (not double: these buffers are the fleet's largest)."""
    return max(needed, capacity + capacity // 4 + 16)


class StringBuffer:
    """A growing ``StringColumn``: the store's ARNs and task ids (see the module docstring)."""

    __slots__ = ("heads", "kinds", "head_code", "codes", "data", "offsets", "size", "_frozen", "_views")

    def __init__(self, column: Iterable[str] = ()):
        column = StringColumn.from_strings(column)
        self.heads, self.kinds = list(column.heads), list(column.kinds)
        self.head_code = {key: code for code, key in enumerate(zip(self.heads, self.kinds))}
        base = int(column.offsets[0]) if len(column.offsets) else 0
        # borrowed until the first append, which writes only past their ends
        self.codes = column.codes
        self.offsets = column.offsets if base == 0 else (column.offsets - base).astype(column.offsets.dtype)
        self.data = column.data[base:]
        self.size = len(column)
        self._frozen = column if base == 0 else None
        self._views = None

    def __len__(self) -> int:
        return self.size

    def _column(self, size: int) -> StringColumn:
        return StringColumn(self.heads, self.kinds, self.codes[:size], self.data[:int(self.offsets[size])],
                            self.offsets[:size + 1])

    def column(self, pick=None) -> StringColumn:
        """A snapshot of the first ``pick`` rows (an int; default all), or of the rows an index
        array picks (a copy)."""
        if pick is None or isinstance(pick, (int, np.integer)):
            size = self.size if pick is None else int(pick)
            frozen = self._frozen
            if frozen is None or len(frozen) != size or frozen.heads != tuple(self.heads):
                frozen = self._column(size)
                if size == self.size:
                    self._frozen = frozen
            return frozen
        return self._column(self.size).take(pick)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._column(self.size)._decode(*index.indices(self.size)[:2]) if index.step in (None, 1) \
                else [self[i] for i in range(*index.indices(self.size))]
        i = index.__index__()
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError("string buffer index out of range")
        return _row(self.heads, self.kinds, _views_of(self), i)

    def __iter__(self):
        return iter(self._column(self.size))

    def tolist(self) -> list[str]:
        return self._column(self.size).tolist()

    def __eq__(self, other):
        return self._column(self.size) == other

    __hash__ = None

    def _code(self, head: str, kind: int) -> int:
        code = self.head_code.get((head, kind))
        if code is None:
            code = self.head_code[(head, kind)] = len(self.heads)
            self.heads.append(head)
            self.kinds.append(kind)
            if code > np.iinfo(self.codes.dtype).max:
                self.codes = self.codes.astype(_code_dtype(code + 1))
                self._views = None
        return code

    def _reserve(self, rows: int, nbytes: int) -> None:
        size, used = self.size, int(self.offsets[self.size])
        if size + rows > len(self.codes):
            capacity = _room(len(self.codes), size + rows)
            self.codes = _grown(self.codes[:size], capacity)
            self.offsets = _grown(self.offsets[:size + 1], capacity + 1)
            self._views = None
        if used + nbytes > _UINT32_MAX and self.offsets.dtype != np.int64:
            self.offsets = self.offsets.astype(np.int64)
            self._views = None
        if used + nbytes > len(self.data):
            self.data = _grown(self.data[:used], _room(len(self.data), used + nbytes))
            self._views = None

    def append(self, text: str) -> int:
        """Add one string; returns its row."""
        head, kind, tail = split(text)
        code = self._code(head, kind)
        self._reserve(1, len(tail))
        row, used = self.size, int(self.offsets[self.size])
        self.codes[row] = code
        if tail:                                 # (a borrowed buffer is read-only: write only past its end)
            self.data[used:used + len(tail)] = np.frombuffer(tail, dtype=np.uint8)
        self.offsets[row + 1] = used + len(tail)
        self.size = row + 1
        self._frozen = None
        return row

    def extend(self, strings: Iterable[str]) -> range:
        """Add many; returns their rows."""
        column = StringColumn.from_strings(strings if isinstance(strings, (StringColumn, StringBuffer))
                                           else list(strings))
        if not self.size:                        # the first rows: the column's own buffers, borrowed
            StringBuffer.__init__(self, column)
            return range(0, len(column))
        first, n = self.size, len(column)
        start, stop = int(column.offsets[0]), int(column.offsets[-1])
        recode = np.array([self._code(h, k) for h, k in zip(column.heads, column.kinds)] or [0], dtype=np.int64)
        self._reserve(n, stop - start)
        used = int(self.offsets[first])
        self.codes[first:first + n] = recode[column.codes]
        if stop > start:
            self.data[used:used + stop - start] = column.data[start:stop]
        self.offsets[first + 1:first + n + 1] = column.offsets[1:].astype(np.int64) - start + used
        self.size = first + n
        self._frozen = None
        return range(first, first + n)

    def __iadd__(self, strings):
        self.extend(strings)
        return self

    def kept(self, rows) -> "StringBuffer":
        """A new buffer of the rows at ``rows`` only, in that order (a compaction; results
        handed out earlier keep reading the old one)."""
        return StringBuffer(self._column(self.size).take(rows))

    @property
    def nbytes(self) -> int:
        return self.codes.nbytes + self.data.nbytes + self.offsets.nbytes


_EMPTY, _GONE = -1, -2                   # a ``StringIndex`` slot that never held a row, one whose row left
_HASH_BITS = 0xFFFFFFFF
_MAX_LOAD = 0.7                          # slots in use (rows and tombstones) past which the table grows


# The hash a ``StringIndex`` files a string under: Python's own (this process's: an index is
# never kept beyond it), bound to a module name so that a test can make every string collide.
text_hash = hash


def _slot_dtype(rows: int) -> np.dtype:
    return np.dtype(np.int32) if rows < (1 << 31) - 1 else np.dtype(np.int64)


def _hashed(texts, count: int) -> np.ndarray:
    """The low 32 bits of ``text_hash`` of each of ``count`` strings, as uint32."""
    hashes = np.fromiter(map(text_hash, texts), dtype=np.int64, count=count)
    return (hashes & _HASH_BITS).astype(np.uint32)


def _place(slots: np.ndarray, rows: np.ndarray, hashes: np.ndarray) -> None:
    """Insert ``rows`` (hashes ``hashes``) by linear probing, all at once: each step, the pending
    rows whose slot is empty are written there (where two aim at one slot, one of them stays
    and is placed) and the rest move one slot on, so each row lands where a one-by-one insertion
    in some order would have put it. Steps: the longest probe, a few dozen at most at this load."""
    size = len(slots)
    pending, at = rows.astype(np.int64), hashes.astype(np.int64) % size
    while len(pending):
        free = np.flatnonzero(slots[at] == _EMPTY)
        slots[at[free]] = pending[free]
        placed = np.zeros(len(pending), dtype=bool)
        placed[free] = slots[at[free]] == pending[free]
        left = ~placed
        pending, at = pending[left], at[left] + 1
        at[at == size] = 0


class StringIndex:
    """The row of each of some strings of a ``StringBuffer`` (each at most once), without a
    ``str`` per row: an open-addressing hash table (linear probing) of row numbers, int32, and
    the 32-bit hash of each row's string, uint32, by row; about 12 bytes a row in all. A lookup
    hashes the string, probes from its slot and compares each row whose hash agrees with it
    exactly (decoding that row), so a collision costs time, never a wrong answer.

    ``get``, ``[]`` (``KeyError``) and ``in`` read like a dict's; ``add`` files a row (its string
    not in the index already: the caller checked), ``discard`` takes one out (a tombstone), both
    in amortised O(1); the table is rebuilt, vectorised from the stored hashes, when rows and
    tombstones fill 70% of it, at twice the rows. ``kept`` makes the index of a compacted buffer
    from the stored hashes, with no string decoded. Readers only read: one that builds an index
    lazily builds it whole before it publishes it."""

    __slots__ = ("strings", "hashes", "slots", "count", "used", "_hash_view", "_slot_view")

    def __init__(self, strings: StringBuffer, hashes: np.ndarray, rows: np.ndarray):
        """``hashes``: of every row of ``strings`` (a buffer of their own, grown by ``add``);
        ``rows``: those to file (distinct strings)."""
        self.strings = strings
        self.hashes = hashes
        self.count = len(rows)
        self._table(rows)

    @classmethod
    def build(cls, strings: StringBuffer, rows: np.ndarray | None = None) -> "StringIndex":
        """The index of ``rows`` of ``strings`` (default: every row), hashing every row once
        (decoded a block at a time: no list of every string)."""
        n = len(strings)
        hashes = np.zeros(n, dtype=np.uint32)
        column = strings.column(n)
        for start in range(0, n, _BLOCK):
            stop = min(n, start + _BLOCK)
            hashes[start:stop] = _hashed(column._decode(start, stop), stop - start)
        return cls(strings, hashes, np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64))

    def _table(self, rows: np.ndarray) -> None:
        size = 2 * len(rows) + 16
        slots = np.full(size, _EMPTY, dtype=_slot_dtype(len(self.hashes)))
        if len(rows):
            _place(slots, rows, self.hashes[rows])
        self.slots, self.used = slots, len(rows)
        self._slot_view, self._hash_view = memoryview(slots), memoryview(self.hashes)

    def repeated(self) -> bool:
        """Whether two rows filed hold the same string (those whose hashes agree compared)."""
        rows = self.rows()
        hashes = self.hashes[rows]
        order = np.argsort(hashes, kind="stable")
        same = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
        seen: set[str] = set()
        for row in np.unique(np.concatenate([rows[order[same]], rows[order[same + 1]]])).tolist():
            text = self.strings[row]
            if text in seen:
                return True
            seen.add(text)
        return False

    def rows(self) -> np.ndarray:
        """The rows filed, in slot order."""
        return self.slots[self.slots >= 0].astype(np.int64)

    def __len__(self) -> int:
        return self.count

    def find(self, text) -> int:
        """The row of ``text``, or -1."""
        if type(text) is not str:
            if not isinstance(text, str):
                return -1
            text = str.__str__(text)             # a subclass: as the plain string it holds
        h = text_hash(text) & _HASH_BITS
        slots, hashes = self._slot_view, self._hash_view
        size = len(slots)
        i = h % size
        while True:
            row = slots[i]
            if row >= 0:
                if hashes[row] == h:                  # ``_holds``, inline: the hot path
                    strings = self.strings
                    views = strings._views or _views_of(strings)      # no call once made
                    if _row(strings.heads, strings.kinds, views, row) == text:
                        return row
            elif row == _EMPTY:
                return -1
            i += 1
            if i == size:
                i = 0

    def _holds(self, row: int, text: str) -> bool:
        """Whether ``row`` of the buffer is ``text`` (decoded and compared: exact)."""
        strings = self.strings
        return _row(strings.heads, strings.kinds, _views_of(strings), row) == text

    def get(self, text, default=None):
        row = self.find(text)
        return default if row < 0 else row

    def __getitem__(self, text) -> int:
        row = self.find(text)
        if row < 0:
            raise KeyError(text)
        return row

    def __contains__(self, text) -> bool:
        return self.find(text) >= 0

    def add(self, row: int, text: str) -> None:
        """File ``row``, whose string is ``text`` (not filed already: the caller checked)."""
        self._file(row, text, False)

    def add_new(self, row: int, text: str) -> bool:
        """File ``row`` under ``text`` unless ``text`` is filed already (then False, nothing
        changed): ``in`` and ``add`` in one probe."""
        return self._file(row, text, True)

    def _file(self, row: int, text: str, check: bool) -> bool:
        h = text_hash(text) & _HASH_BITS
        slots, size = self._slot_view, len(self._slot_view)
        i, free = h % size, -1
        while True:                                   # to the first empty slot (or a match)
            found = slots[i]
            if found >= 0:
                if check and self._hash_view[found] == h and self._holds(found, text):
                    return False
            elif found == _EMPTY:
                break
            elif free < 0:
                free = i                              # a tombstone: reused
                if not check:
                    break
            i += 1
            if i == size:
                i = 0
        hashes = self.hashes
        if row >= len(hashes):
            grown = np.zeros(max(row + 1, len(hashes) + len(hashes) // 8 + 16), dtype=np.uint32)
            grown[:len(hashes)] = hashes
            self.hashes = hashes = grown
            self._hash_view = memoryview(grown)
        hashes[row] = h
        if row > np.iinfo(self.slots.dtype).max or (free < 0 and self.used + 1 > _MAX_LOAD * size):
            self._table(np.append(self.rows(), row))          # grown (or widened), this row in it
        elif free < 0:
            slots[i] = row
            self.used += 1
        else:
            slots[free] = row
        self.count += 1
        return True

    def add_many(self, first: int, texts: Sequence[str]) -> None:
        """``add`` rows ``first``, ``first + 1``, ... with strings ``texts``, vectorised."""
        n = len(texts)
        if n < 64:
            for row, text in enumerate(texts, first):
                self.add(row, text)
            return
        stop = first + n
        if stop > len(self.hashes):
            grown = np.zeros(max(stop, len(self.hashes) + len(self.hashes) // 8 + 16), dtype=np.uint32)
            grown[:len(self.hashes)] = self.hashes
            self.hashes = grown
        self.hashes[first:stop] = _hashed(texts, n)
        new = np.arange(first, stop, dtype=np.int64)
        self.count += n
        if self.used + n > _MAX_LOAD * len(self.slots) or stop > np.iinfo(self.slots.dtype).max:
            self._table(np.concatenate([self.rows(), new]))
            return
        _place(self.slots, new, self.hashes[new])
        self.used += n
        self._hash_view = memoryview(self.hashes)

    def discard(self, row: int) -> None:
        """Take ``row`` out (a tombstone in its slot); a row not filed is ignored."""
        slots = self._slot_view
        size = len(slots)
        i = self._hash_view[row] % size if row < len(self.hashes) else 0
        for _ in range(size):
            found = slots[i]
            if found == row:
                slots[i] = _GONE
                self.count -= 1
                return
            if found == _EMPTY:
                return
            i += 1
            if i == size:
                i = 0

    def kept(self, keep: np.ndarray, strings: StringBuffer) -> "StringIndex":
        """The index of ``strings``, the compacted buffer whose row k was row ``keep[k]`` here
        (every kept row filed here)."""
        return StringIndex(strings, self.hashes[keep], np.arange(len(keep), dtype=np.int64))
