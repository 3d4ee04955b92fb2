"""Columns of shared values (stage: fleet): one small code per row into a table of the distinct
values, for per-row values that repeat (the set of host ports an instance or a task holds, a
task's group name): a fleet of a million instances has a few hundred distinct port sets, so a
row costs a byte or two instead of a pointer to its own frozenset.

``SharedColumn`` is the immutable ``Sequence`` a snapshot (``Columns.ports``,
``TaskRecords.ports`` and ``.groups``) holds; ``GrowingShared`` is the store's form, written in
place (``column[row] = value``) and appended to. A value no row uses any more stays in the table
until the table outgrows the rows (twice as many values, and over 1,024), when the used ones are
coded again: a fleet that keeps changing its ports does not grow its table without bound.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

_BLOCK = 1 << 16


def _code_dtype(count: int) -> np.dtype:
    return np.dtype(np.uint8 if count <= 256 else np.uint16 if count <= 65536 else np.uint32)


class SharedColumn(Sequence):
    """``values[codes[i]]`` for each row ``i``: an immutable sequence of shared (hashable) values."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: tuple):
        self.codes, self.values = codes, tuple(values)

    @classmethod
    def from_values(cls, items: Iterable[Hashable]) -> "SharedColumn":
        if isinstance(items, SharedColumn):
            return items
        lookup: dict = {}
        codes = [lookup.setdefault(item, len(lookup)) for item in items]
        return cls(np.array(codes, dtype=_code_dtype(len(lookup))), tuple(lookup))

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return SharedColumn(self.codes[index].copy(), self.values)
        return self.values[self.codes[index]]

    def __iter__(self):
        values = self.values
        for start in range(0, len(self.codes), _BLOCK):
            yield from map(values.__getitem__, self.codes[start:start + _BLOCK].tolist())

    def tolist(self) -> list:
        return list(self)

    def take(self, rows) -> "SharedColumn":
        return SharedColumn(self.codes[np.asarray(rows, dtype=np.int64)], self.values)

    def validate(self, name: str) -> None:
        from placement.errors import InputError
        if not isinstance(self.codes, np.ndarray) or self.codes.ndim != 1 or self.codes.dtype.kind != "u" or (
                len(self.codes) and int(self.codes.max()) >= len(self.values)):
            raise InputError(f"{name}: its codes do not index its values")

    def __eq__(self, other):
        if isinstance(other, SharedColumn):
            if len(self) != len(other):
                return False
            if self.values == other.values:
                return bool(np.array_equal(self.codes, other.codes))
            return all(a == b for a, b in zip(self, other))
        if isinstance(other, (tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"SharedColumn({len(self)} rows, {len(self.values)} distinct values)"


class GrowingShared:
    """The store's form of a ``SharedColumn``: rows written in place and appended (see the module
    docstring)."""

    __slots__ = ("codes", "values", "lookup", "size", "_frozen")

    def __init__(self, items: Iterable[Hashable] = ()):
        column = SharedColumn.from_values(items if isinstance(items, SharedColumn) else list(items))
        self.values = list(column.values)
        self.lookup = {value: code for code, value in enumerate(self.values)}
        self.codes = column.codes
        self.size = len(column)
        self._frozen: tuple | None = column.values
        if len(self.lookup) != len(self.values):  # equal values under two codes: one code each
            recode = np.array([self.lookup[v] for v in self.values], dtype=np.int64)
            self.codes = recode[self.codes].astype(self.codes.dtype)
            self.values, self._frozen = self.values[:len(self.lookup)], None
            self.lookup = {value: code for code, value in enumerate(self.values)}
        self.codes = self.codes.copy()           # its own: rows are written in place

    def __len__(self) -> int:
        return self.size

    def code(self, value) -> int:
        code = self.lookup.get(value)
        if code is None:
            code = self.lookup[value] = len(self.values)
            self.values.append(value)
            self._frozen = None
            if code > np.iinfo(self.codes.dtype).max:
                self.codes = self.codes.astype(_code_dtype(code + 1))
        return code

    def _recode(self) -> None:
        """Only the values some row uses, coded again (a new codes buffer: snapshots keep theirs)."""
        used = np.unique(self.codes[:self.size])
        recode = np.zeros(len(self.values), dtype=np.int64)
        recode[used] = np.arange(len(used))
        self.values = [self.values[c] for c in used.tolist()]
        self.lookup = {value: code for code, value in enumerate(self.values)}
        codes = np.zeros(len(self.codes), dtype=_code_dtype(len(self.values) + 1))
        codes[:self.size] = recode[self.codes[:self.size]]
        self.codes = codes
        self._frozen = None

    def __getitem__(self, row: int):
        if not 0 <= row < self.size:
            if not -self.size <= row < 0:
                raise IndexError("row out of range")
            row += self.size
        return self.values[self.codes[row]]

    def __setitem__(self, row: int, value) -> None:
        """(Only a write leaves a value unused: the table is pruned here, never while coding a batch.)"""
        if value not in self.lookup and len(self.values) > 1024 and len(self.values) > 2 * self.size:
            self._recode()
        self.codes[row] = self.code(value)

    def __iter__(self):
        return iter(self.column(self.size))

    def _reserve(self, rows: int) -> None:
        if self.size + rows > len(self.codes):
            grown = np.zeros(max(self.size + rows, len(self.codes) + len(self.codes) // 4 + 16), dtype=self.codes.dtype)
            grown[:self.size] = self.codes[:self.size]
            self.codes = grown

    def append(self, value) -> None:
        code = self.code(value)
        self._reserve(1)
        self.codes[self.size] = code
        self.size += 1

    def extend(self, items: Iterable[Hashable]) -> None:
        column = SharedColumn.from_values(items if isinstance(items, SharedColumn) else list(items))
        recode = np.array([self.code(v) for v in column.values] or [0], dtype=np.int64)
        self._reserve(len(column))
        self.codes[self.size:self.size + len(column)] = recode[column.codes]
        self.size += len(column)

    def __iadd__(self, items):
        self.extend(items)
        return self

    def frozen(self) -> tuple:
        if self._frozen is None:
            self._frozen = tuple(self.values)
        return self._frozen

    def column(self, pick=None) -> SharedColumn:
        """A snapshot (its own codes: rows written later do not show) of the first ``pick`` rows
        (an int; default all) or of the rows an index array picks."""
        if pick is None or isinstance(pick, (int, np.integer)):
            codes = self.codes[:self.size if pick is None else int(pick)].copy()
        else:
            codes = self.codes[np.asarray(pick, dtype=np.int64)]
        return SharedColumn(codes, self.frozen())

    def kept(self, rows) -> "GrowingShared":
        """A new column of the rows at ``rows`` only, in that order (a compaction)."""
        return GrowingShared(self.column(rows))

    @property
    def nbytes(self) -> int:
        return self.codes.nbytes


class PortLists(Sequence):
    """Per row, a set of host ports as CSR: ``values[offsets[i]:offsets[i + 1]]`` (uint16,
    sorted), read back as a ``frozenset``. For the tasks' ports: nearly every task holds none or
    one port of its own, so shared sets would be one frozenset per distinct port."""

    __slots__ = ("offsets", "values")

    def __init__(self, offsets: np.ndarray, values: np.ndarray):
        self.offsets, self.values = offsets, values

    @classmethod
    def from_sets(cls, sets: Iterable[Iterable[int]]) -> "PortLists":
        if isinstance(sets, PortLists):
            return sets
        if isinstance(sets, SharedColumn):             # a few distinct sets: their lists, gathered
            lengths = np.array([len(s) for s in sets.values] or [0], dtype=np.int64)[sets.codes]
            flat = [sorted(s) for s in sets.values]
            values = np.array([p for k in sets.codes.tolist() for p in flat[k]], dtype=np.uint16)
        else:
            rows = [sorted(s) for s in sets]
            lengths = np.fromiter(map(len, rows), np.int64, len(rows))
            values = np.array([p for row in rows for p in row], dtype=np.uint16)
        offsets = np.zeros(len(lengths) + 1, dtype=np.uint32 if len(values) < 1 << 32 else np.int64)
        np.cumsum(lengths, out=offsets[1:], dtype=offsets.dtype)
        return cls(offsets, values)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        i = index.__index__()
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("row out of range")
        start, stop = self.offsets[i], self.offsets[i + 1]
        return frozenset(self.values[start:stop].tolist()) if stop > start else _EMPTY

    def __iter__(self):
        for first in range(0, len(self), _BLOCK):
            offsets = self.offsets[first:first + _BLOCK + 1].tolist()
            base = offsets[0]
            values = self.values[base:offsets[-1]].tolist()
            for a, b in zip(offsets, offsets[1:]):
                yield frozenset(values[a - base:b - base]) if b > a else _EMPTY

    def take(self, rows) -> "PortLists":
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.offsets[rows].astype(np.int64)
        lengths = self.offsets[rows + 1].astype(np.int64) - starts
        offsets = np.zeros(len(rows) + 1, dtype=self.offsets.dtype)
        np.cumsum(lengths, out=offsets[1:], dtype=offsets.dtype)
        total = int(offsets[-1])
        index = np.repeat(starts - offsets[:-1].astype(np.int64), lengths) + np.arange(total)
        return PortLists(offsets, self.values[index])

    def validate(self, name: str) -> None:
        from placement.errors import InputError
        if len(self.offsets) < 1 or int(self.offsets[0]) != 0 or int(self.offsets[-1]) > len(self.values) or \
                bool(np.any(self.offsets[1:] < self.offsets[:-1])):
            raise InputError(f"{name}: its offsets do not index its ports")

    def __eq__(self, other):
        if isinstance(other, (PortLists, SharedColumn, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"PortLists({len(self)} rows, {len(self.values)} ports)"


_EMPTY: frozenset = frozenset()


class GrowingPortLists:
    """``PortLists`` appended to (the store's task table): a buffer of offsets and one of ports."""

    __slots__ = ("offsets", "values", "size")

    def __init__(self, sets: Iterable[Iterable[int]] = ()):
        column = PortLists.from_sets(sets)
        self.offsets, self.values, self.size = column.offsets, column.values, len(column)

    def __len__(self) -> int:
        return self.size

    def _reserve(self, rows: int, ports: int) -> None:
        if self.size + rows + 1 > len(self.offsets):
            grown = np.zeros(max(self.size + rows + 1, len(self.offsets) + len(self.offsets) // 4 + 16),
                             dtype=self.offsets.dtype)
            grown[:self.size + 1] = self.offsets[:self.size + 1]
            self.offsets = grown
        used = int(self.offsets[self.size])
        if used + ports > len(self.values):
            grown = np.zeros(max(used + ports, len(self.values) + len(self.values) // 4 + 16), dtype=np.uint16)
            grown[:used] = self.values[:used]
            self.values = grown

    def append(self, ports) -> None:
        self._reserve(1, len(ports))
        used = int(self.offsets[self.size])
        if ports:
            self.values[used:used + len(ports)] = sorted(ports)
        self.offsets[self.size + 1] = used + len(ports)
        self.size += 1

    def extend(self, sets) -> None:
        column = PortLists.from_sets(sets if isinstance(sets, (PortLists, SharedColumn)) else list(sets))
        if not self.size:
            self.__init__(column)
            return
        n, used = len(column), int(self.offsets[self.size])
        start, stop = int(column.offsets[0]), int(column.offsets[-1])
        self._reserve(n, stop - start)
        self.values[used:used + stop - start] = column.values[start:stop]
        self.offsets[self.size + 1:self.size + n + 1] = column.offsets[1:].astype(np.int64) - start + used
        self.size += n

    def __iadd__(self, sets):
        self.extend(sets)
        return self

    def __getitem__(self, row: int) -> frozenset:
        if not 0 <= row < self.size:
            if not -self.size <= row < 0:
                raise IndexError("row out of range")
            row += self.size
        start, stop = self.offsets[row], self.offsets[row + 1]
        return frozenset(self.values[start:stop].tolist()) if stop > start else _EMPTY

    def column(self, pick=None) -> PortLists:
        whole = PortLists(self.offsets[:self.size + 1], self.values[:int(self.offsets[self.size])])
        if pick is None or isinstance(pick, (int, np.integer)):
            size = self.size if pick is None else int(pick)
            return whole if size == self.size else whole.take(np.arange(size))
        return whole.take(pick)

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.values.nbytes
