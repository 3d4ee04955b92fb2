"""The columnar fleet: one array per subject, validated once, then trusted by every kernel.

String subjects are dictionary-encoded with a **sorted** dictionary, so a prefix pattern or a
run of ``in`` items becomes a contiguous range of codes. Codes ``0..k-1`` are the values,
``k`` means absent and ``k + 1`` value-less; codes are stored at the narrowest unsigned width
that holds ``k + 2``. Numbers (agent versions packed, instants in microseconds, task counts) are
int64 with ``INT_ABSENT`` for "no value". ``task:group`` is set-valued: CSR offsets into
per-instance (group code, task count) pairs.

A ``Columns`` is an immutable snapshot: mutations build a new one (copy-on-write of the arrays
they touch), so a bound plan can never see a half-updated fleet.
"""
from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from placement.errors import InputError
from placement.values import ABSENT, VALUELESS

def code_dtype(code_count: int) -> np.dtype:
    """The narrowest unsigned integer type that holds ``code_count`` distinct codes."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if code_count <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    raise InputError(f"a column with {code_count} distinct values is too large")


@dataclass(frozen=True, eq=False)
class DictionaryColumn:
    """Codes into a sorted dictionary; ``absent_code`` = k, ``valueless_code`` = k + 1."""

    codes: np.ndarray
    dictionary: tuple

    @property
    def absent_code(self) -> int:
        return len(self.dictionary)

    @property
    def valueless_code(self) -> int:
        return len(self.dictionary) + 1

    @classmethod
    def from_values(cls, values: Sequence) -> "DictionaryColumn":
        """From one decoded value per row: a value, ``ABSENT`` (or None) or ``VALUELESS``."""
        dictionary = tuple(sorted({v for v in values if v is not None and v is not ABSENT and v is not VALUELESS}))
        lookup = {v: i for i, v in enumerate(dictionary)}
        absent, valueless = len(dictionary), len(dictionary) + 1
        codes = [absent if v is None or v is ABSENT else valueless if v is VALUELESS else lookup[v] for v in values]
        return cls(np.array(codes, dtype=code_dtype(len(dictionary) + 2)), dictionary)

    @classmethod
    def absent(cls, n: int) -> "DictionaryColumn":
        return cls(np.zeros(n, dtype=np.uint8), ())

    def value_at(self, row: int):
        code = int(self.codes[row])
        if code == self.absent_code:
            return ABSENT
        if code == self.valueless_code:
            return VALUELESS
        return self.dictionary[code]

    def code_of(self, value) -> int | None:
        """The code of ``value``, or None when the dictionary lacks it (binary search)."""
        i = bisect.bisect_left(self.dictionary, value)
        return i if i < len(self.dictionary) and self.dictionary[i] == value else None

    def recoded(self, dictionary: tuple) -> np.ndarray:
        """These rows' codes against ``dictionary``, a sorted superset of this one's."""
        mapping = np.empty(len(self.dictionary) + 2, dtype=np.int64)
        mapping[:len(self.dictionary)] = [bisect.bisect_left(dictionary, v) for v in self.dictionary]
        mapping[-2:] = (len(dictionary), len(dictionary) + 1)
        return mapping[self.codes].astype(code_dtype(len(dictionary) + 2))

    def with_value(self, row: int, value) -> "DictionaryColumn":
        """A copy with ``row`` set to ``value`` (or ``ABSENT`` / ``VALUELESS``)."""
        column = self
        if value is not ABSENT and value is not VALUELESS and self.code_of(value) is None:
            dictionary = tuple(sorted((*self.dictionary, value)))
            column = DictionaryColumn(self.recoded(dictionary), dictionary)
        codes = column.codes.copy()
        codes[row] = (column.absent_code if value is ABSENT else column.valueless_code if value is VALUELESS
                      else column.code_of(value))
        return DictionaryColumn(codes, column.dictionary)

    def take(self, rows: np.ndarray) -> "DictionaryColumn":
        return DictionaryColumn(self.codes[rows], self.dictionary)

    def validate(self, name: str, n: int) -> None:
        _check_array(name, self.codes, n, np.dtype(self.codes.dtype).kind == "u")
        if n and int(self.codes.max()) > len(self.dictionary) + 1:
            raise InputError(f"column {name!r} has codes beyond its dictionary of {len(self.dictionary)} values")
        if any(a >= b for a, b in zip(self.dictionary, self.dictionary[1:])):
            raise InputError(f"column {name!r} has an unsorted or repeated dictionary")


def concat_dictionary(a: DictionaryColumn, b: DictionaryColumn) -> DictionaryColumn:
    dictionary = tuple(sorted(set(a.dictionary) | set(b.dictionary)))
    return DictionaryColumn(np.concatenate([a.recoded(dictionary), b.recoded(dictionary)]), dictionary)


@dataclass(frozen=True, eq=False)
class GroupColumn:
    """Per instance, the groups of its RUNNING tasks and how many: CSR over (code, count)."""

    offsets: np.ndarray          # int64[n + 1]
    codes: np.ndarray            # uint32[m], sorted within each instance
    counts: np.ndarray           # int64[m], > 0
    dictionary: tuple[str, ...]  # sorted group names

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, int]]) -> "GroupColumn":
        dictionary = tuple(sorted({g for row in rows for g, n in row.items() if n > 0}))
        lookup = {g: i for i, g in enumerate(dictionary)}
        offsets, codes, counts = [0], [], []
        for row in rows:
            pairs = sorted((lookup[g], n) for g, n in row.items() if n > 0)
            codes.extend(c for c, _ in pairs)
            counts.extend(n for _, n in pairs)
            offsets.append(len(codes))
        return cls(np.array(offsets, dtype=np.int64), np.array(codes, dtype=np.uint32),
                   np.array(counts, dtype=np.int64), dictionary)

    def recoded(self, dictionary: tuple[str, ...]) -> np.ndarray:
        """The codes against ``dictionary``, a sorted superset of this one (order within rows kept)."""
        mapping = np.array([bisect.bisect_left(dictionary, g) for g in self.dictionary], dtype=np.uint32)
        return mapping[self.codes] if len(self.codes) else self.codes

    def concat(self, other: "GroupColumn") -> "GroupColumn":
        dictionary = tuple(sorted(set(self.dictionary) | set(other.dictionary)))
        return GroupColumn(np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]]),
                           np.concatenate([self.recoded(dictionary), other.recoded(dictionary)]),
                           np.concatenate([self.counts, other.counts]), dictionary)

    def with_row(self, row: int, groups: Mapping[str, int]) -> "GroupColumn":
        """A copy with ``row``'s groups replaced by ``groups`` (counts > 0 kept)."""
        dictionary = tuple(sorted(set(self.dictionary) | {g for g, n in groups.items() if n > 0}))
        codes = self.recoded(dictionary)
        pairs = sorted((dictionary.index(g), n) for g, n in groups.items() if n > 0)
        start, end = self.offsets[row], self.offsets[row + 1]
        offsets = self.offsets.copy()
        offsets[row + 1:] += len(pairs) - (end - start)
        return GroupColumn(
            offsets,
            np.concatenate([codes[:start], np.array([c for c, _ in pairs], dtype=np.uint32), codes[end:]]),
            np.concatenate([self.counts[:start], np.array([n for _, n in pairs], dtype=np.int64),
                            self.counts[end:]]),
            dictionary)

    def bitmap(self) -> np.ndarray | None:
        """Each instance's groups as one unsigned word, bit ``code`` set (None past 64 groups).
        Computed once per snapshot: a set test becomes one AND per instance."""
        if len(self.dictionary) > 64:
            return None
        cached = self.__dict__.get("_bitmap")
        if cached is None:
            dtype = next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64)
                         if len(self.dictionary) <= np.iinfo(d).bits)
            cached = np.zeros(len(self.offsets) - 1, dtype=dtype)
            if len(self.codes):
                rows = np.repeat(np.arange(len(cached)), np.diff(self.offsets))
                np.bitwise_or.at(cached, rows, (np.ones(1, dtype=dtype) << self.codes.astype(dtype)))
            self.__dict__["_bitmap"] = cached
        return cached

    def groups_at(self, row: int) -> dict[str, int]:
        start, end = self.offsets[row], self.offsets[row + 1]
        return {self.dictionary[c]: int(n) for c, n in zip(self.codes[start:end], self.counts[start:end])}

    def validate(self, n: int) -> None:
        _check_array("task:group offsets", self.offsets, n + 1, self.offsets.dtype == np.int64)
        m = len(self.codes)
        _check_array("task:group codes", self.codes, m, self.codes.dtype == np.uint32)
        _check_array("task:group counts", self.counts, m, self.counts.dtype == np.int64)
        if self.offsets[0] != 0 or self.offsets[-1] != m or np.any(np.diff(self.offsets) < 0):
            raise InputError("task:group offsets are not a valid CSR index")
        if m and (int(self.codes.max()) >= len(self.dictionary) or int(self.counts.min()) <= 0):
            raise InputError("task:group has codes beyond its dictionary or non-positive counts")


@dataclass(frozen=True, eq=False)
class Columns:
    """Every column of a fleet, ``n`` rows each. Construct through ``build`` or ``validate``."""

    arns: tuple[str, ...]
    instance_id: DictionaryColumn
    status: DictionaryColumn
    agent_connected: DictionaryColumn        # dictionary (False, True)
    agent_version: np.ndarray                # int64, pack_version, INT_ABSENT
    registered_at: np.ndarray                # int64 microseconds, INT_ABSENT
    running_tasks: np.ndarray                # int64
    attributes: Mapping[str, DictionaryColumn]
    groups: GroupColumn
    resources: Mapping[str, np.ndarray]      # remaining_cpu ... registered_gpu, int64
    ports: tuple[frozenset[int], ...]        # static TCP host ports in use

    RESOURCES = ("remaining_cpu", "remaining_memory", "remaining_gpu",
                 "registered_cpu", "registered_memory", "registered_gpu")

    def __len__(self) -> int:
        return len(self.arns)

    def narrow_running_tasks(self) -> np.ndarray:
        """runningTasksCount at the narrowest unsigned width its values need (computed once)."""
        cached = self.__dict__.get("_narrow_running")
        if cached is None:
            top = int(self.running_tasks.max(initial=0))
            dtype = next((d for d in (np.uint8, np.uint16, np.uint32) if top <= np.iinfo(d).max), np.int64)
            cached = self.__dict__["_narrow_running"] = self.running_tasks.astype(dtype)
        return cached

    def validate(self) -> "Columns":
        """Check every length, dtype, layout and code range: after this no kernel can read out of bounds."""
        n = len(self.arns)
        if len(set(self.arns)) != n:
            raise InputError("containerInstanceArn values are not unique")
        for name, column in (("ec2InstanceId", self.instance_id), ("status", self.status),
                             ("agentConnected", self.agent_connected),
                             *((f"attribute:{k}", v) for k, v in self.attributes.items())):
            column.validate(name, n)
        for name in ("agent_version", "registered_at", "running_tasks"):
            _check_array(name, getattr(self, name), n, getattr(self, name).dtype == np.int64)
        for name in self.RESOURCES:
            _check_array(name, self.resources[name], n, self.resources[name].dtype == np.int64)
        if len(self.ports) != n:
            raise InputError(f"ports has {len(self.ports)} rows, expected {n}")
        self.groups.validate(n)
        return self

    def take(self, rows: np.ndarray) -> "Columns":
        """The rows at ``rows`` (positions, in order)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.groups.offsets[rows], self.groups.offsets[rows + 1]
        lengths = ends - starts
        pick = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        groups = GroupColumn(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                             self.groups.codes[pick], self.groups.counts[pick], self.groups.dictionary)
        return Columns(
            arns=tuple(self.arns[i] for i in rows), instance_id=self.instance_id.take(rows),
            status=self.status.take(rows), agent_connected=self.agent_connected.take(rows),
            agent_version=self.agent_version[rows], registered_at=self.registered_at[rows],
            running_tasks=self.running_tasks[rows],
            attributes=MappingProxyType({k: v.take(rows) for k, v in self.attributes.items()}),
            groups=groups, resources=MappingProxyType({k: v[rows] for k, v in self.resources.items()}),
            ports=tuple(self.ports[i] for i in rows))

    def concat(self, other: "Columns") -> "Columns":
        n, m = len(self), len(other)
        attributes = {}
        for name in sorted(set(self.attributes) | set(other.attributes)):
            left = self.attributes.get(name) or DictionaryColumn.absent(n)
            right = other.attributes.get(name) or DictionaryColumn.absent(m)
            attributes[name] = concat_dictionary(left, right)
        groups = self.groups.concat(other.groups)
        return Columns(
            arns=self.arns + other.arns,
            instance_id=concat_dictionary(self.instance_id, other.instance_id),
            status=concat_dictionary(self.status, other.status),
            agent_connected=concat_dictionary(self.agent_connected, other.agent_connected),
            agent_version=np.concatenate([self.agent_version, other.agent_version]),
            registered_at=np.concatenate([self.registered_at, other.registered_at]),
            running_tasks=np.concatenate([self.running_tasks, other.running_tasks]),
            attributes=MappingProxyType(attributes), groups=groups,
            resources=MappingProxyType({k: np.concatenate([self.resources[k], other.resources[k]])
                                        for k in self.RESOURCES}),
            ports=self.ports + other.ports)

    def with_attribute(self, row: int, name: str, value) -> "Columns":
        column = self.attributes.get(name) or DictionaryColumn.absent(len(self))
        attributes = dict(self.attributes)
        attributes[name] = column.with_value(row, value)
        return replace(self, attributes=MappingProxyType(attributes))

    def with_tasks(self, row: int, group: str, delta: int, cpu: int = 0, memory: int = 0, gpu: int = 0,
                   ports: frozenset[int] = frozenset()) -> "Columns":
        """``delta`` more (or fewer) RUNNING tasks of ``group`` on ``row``, each using ``cpu``,
        ``memory``, ``gpu`` and the static ``ports``; runningTasksCount and remaining resources follow."""
        groups = self.groups.groups_at(row)
        current = groups.get(group, 0)
        if current + delta < 0:
            raise InputError(f"{self.arns[row]} runs {current} tasks of {group!r}; cannot stop {-delta}")
        groups[group] = current + delta
        running = self.running_tasks.copy()
        running[row] = max(0, running[row] + delta)
        resources = dict(self.resources)
        for name, amount in (("remaining_cpu", cpu), ("remaining_memory", memory), ("remaining_gpu", gpu)):
            if amount:
                resources[name] = resources[name].copy()
                resources[name][row] -= delta * amount
        in_use = list(self.ports)
        in_use[row] = in_use[row] | ports if delta > 0 else in_use[row] - ports
        return replace(self, groups=self.groups.with_row(row, groups), running_tasks=running,
                       resources=MappingProxyType(resources), ports=tuple(in_use))


def _check_array(name: str, array, n: int, dtype_ok: bool) -> None:
    if not isinstance(array, np.ndarray) or array.ndim != 1:
        raise InputError(f"column {name!r} must be a one-dimensional numpy array")
    if not dtype_ok:
        raise InputError(f"column {name!r} has the wrong dtype {array.dtype}")
    if len(array) != n:
        raise InputError(f"column {name!r} has {len(array)} rows, expected {n}")
    if not array.flags.c_contiguous:
        raise InputError(f"column {name!r} is not contiguous")
