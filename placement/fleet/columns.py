"""The columnar fleet: one array per subject, validated once, then trusted by every kernel.

String subjects are dictionary-encoded with a **sorted** dictionary, so a prefix pattern or a
run of ``in`` items becomes a contiguous range of codes. Codes ``0..k-1`` are the values,
``k`` means absent and ``k + 1`` value-less (values a fleet gains later take codes after those);
codes are stored at the narrowest unsigned width that holds them all. Numbers (agent versions packed, instants in microseconds, task counts) are
int64 with ``INT_ABSENT`` for "no value". ``task:group`` is set-valued: CSR offsets into
per-instance (group code, task count) pairs.

A ``Columns`` is a snapshot that readers (bind, export) take as it is; a ``Fleet`` keeps its
mutable form in ``placement.fleet.store`` and hands out snapshots that stay valid until its
next change.
"""
from __future__ import annotations

import bisect
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from placement.errors import InputError
from placement.values import ABSENT, INT_ABSENT, VALUELESS

def code_dtype(code_count: int) -> np.dtype:
    """The narrowest unsigned integer type that holds ``code_count`` distinct codes."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if code_count <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    raise InputError(f"a column with {code_count} distinct values is too large")


def packed_presence(codes: np.ndarray, absent_code: int) -> np.ndarray:
    """One bit per row, LSB first in each byte (Arrow's validity layout): the code is not absent."""
    return np.packbits(codes != absent_code, bitorder="little")


@dataclass(frozen=True, eq=False)
class DictionaryColumn:
    """Codes into a dictionary. Codes below ``absent_code`` are the values ``dictionary[:absent_code]``,
    sorted; ``absent_code`` means absent and ``absent_code + 1`` value-less; codes above those are
    values a fleet gained later (``dictionary[absent_code:]``, in the order they came), so that a
    dictionary grows without recoding a row. Every reader that builds a column from scratch makes
    it sorted (``absent_code == len(dictionary)``)."""

    codes: np.ndarray
    dictionary: tuple
    absent_code: int = -1            # -1: len(dictionary)

    def __post_init__(self):
        if self.absent_code == -1:
            object.__setattr__(self, "absent_code", len(self.dictionary))

    @property
    def valueless_code(self) -> int:
        return self.absent_code + 1

    @property
    def code_count(self) -> int:
        """How many codes the column can hold: its values and the two special codes."""
        return len(self.dictionary) + 2

    @property
    def value_codes(self) -> np.ndarray:
        """The code of each dictionary entry, in dictionary order (int64)."""
        cached = self.__dict__.get("_value_codes")
        if cached is None:
            cached = np.arange(len(self.dictionary), dtype=np.int64)
            cached[self.absent_code:] += 2
            self.__dict__["_value_codes"] = cached
        return cached

    def table(self, truth, absent: bool = False, valueless: bool = False) -> np.ndarray:
        """A bool per code from one bool per dictionary entry (``truth``) and the two special codes."""
        table = np.empty(self.code_count, dtype=bool)
        table[self.value_codes] = truth
        table[self.absent_code], table[self.valueless_code] = absent, valueless
        return table

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

    def value_of(self, code: int):
        """The value of ``code``: a dictionary entry, ``ABSENT`` or ``VALUELESS``."""
        if code == self.absent_code:
            return ABSENT
        if code == self.valueless_code:
            return VALUELESS
        return self.dictionary[code if code < self.absent_code else code - 2]

    def value_at(self, row: int):
        return self.value_of(int(self.codes[row]))

    def code_of(self, value) -> int | None:
        """The code of ``value``, or None when the dictionary lacks it."""
        sorted_part = self.absent_code
        i = bisect.bisect_left(self.dictionary, value, 0, sorted_part)
        if i < sorted_part and self.dictionary[i] == value:
            return i
        if sorted_part == len(self.dictionary):
            return None
        later = self.__dict__.get("_later")
        if later is None:
            later = self.__dict__["_later"] = {v: sorted_part + 2 + k
                                               for k, v in enumerate(self.dictionary[sorted_part:])}
        return later.get(value)

    def take(self, rows: np.ndarray) -> "DictionaryColumn":
        return DictionaryColumn(self.codes[rows], self.dictionary, self.absent_code)

    def presence(self) -> np.ndarray:
        """Where each row has a value or is value-less, as bits (``packed_presence``): what
        ``exists`` reads. A snapshot of a fleet's store shares the bitmap the store keeps while
        the store's codes are still the buffer the snapshot views (read late, after a compaction
        or a resize replaced it, that bitmap is of other rows: then its own)."""
        cached = self.__dict__.get("_presence")
        if cached is None:
            store, codes = self.__dict__.get("_presence_source") or (None, None)
            cached = (store.presence()[:(len(self.codes) + 7) // 8] if store is not None and store.codes is codes
                      else packed_presence(self.codes, self.absent_code))
            self.__dict__["_presence"] = cached
        return cached

    def validate(self, name: str, n: int) -> None:
        _check_array(name, self.codes, n, np.dtype(self.codes.dtype).kind == "u")
        if not 0 <= self.absent_code <= len(self.dictionary):
            raise InputError(f"column {name!r} has its absent code outside its dictionary")
        if n and int(self.codes.max()) >= self.code_count:
            raise InputError(f"column {name!r} has codes beyond its dictionary of {len(self.dictionary)} values")
        ordered = self.dictionary[:self.absent_code]              # strictly increasing: sorted and unique
        if not all(map(operator.lt, ordered, ordered[1:])) or \
                (self.absent_code < len(self.dictionary) and len(set(self.dictionary)) != len(self.dictionary)):
            raise InputError(f"column {name!r} has an unsorted or repeated dictionary")


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

    @classmethod
    def from_tasks(cls, n: int, rows: np.ndarray, codes: np.ndarray, dictionary: tuple[str, ...]) -> "GroupColumn":
        """From one (instance row, group code) pair per task; ``codes`` index the sorted ``dictionary``."""
        width = max(1, len(dictionary))
        keys = np.asarray(rows, dtype=np.int64) * width + codes
        if n * width <= 1 << 25:                      # a count per (row, group) slot: no sort
            counts = np.bincount(keys, minlength=n * width)
            pairs = np.flatnonzero(counts)
            counts = counts[pairs]
        else:
            pairs, counts = np.unique(keys, return_counts=True)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(pairs // width, minlength=n), out=offsets[1:])
        return cls(offsets, (pairs % width).astype(np.uint32), counts.astype(np.int64), dictionary)

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


class TaskRecords:
    """A fleet's RUNNING tasks in input order (the order scale-in reads): what each one took.

    ``ids`` is a ``StringColumn`` (or any sequence of str), ``groups`` and ``ports`` are shared
    values (``SharedColumn``, or tuples). ``rows``, ``cpu``, ``memory`` and ``gpu`` read as int64
    arrays; a store keeps them narrower (unsigned, as narrow as their values allow) and they widen
    to int64 once, when first read."""

    __slots__ = ("ids", "groups", "ports", "_arrays", "_wide")
    ARRAYS = ("rows", "cpu", "memory", "gpu")

    def __init__(self, ids, rows, groups, cpu, memory, gpu, ports):
        self.ids, self.groups, self.ports = ids, groups, ports   # taskArn (or made up); group; host ports held
        self._arrays = {"rows": rows, "cpu": cpu, "memory": memory, "gpu": gpu}   # instance; cpu units, MiB, GPUs
        self._wide: dict[str, np.ndarray] = {}

    def _int64(self, name: str) -> np.ndarray:
        wide = self._wide.get(name)
        if wide is None:
            array = self._arrays[name]
            wide = self._wide[name] = array.astype(np.int64) if isinstance(array, np.ndarray) and \
                array.dtype != np.int64 and array.dtype.kind == "u" and array.dtype.itemsize <= 4 else array
        return wide

    rows = property(lambda self: self._int64("rows"))
    cpu = property(lambda self: self._int64("cpu"))
    memory = property(lambda self: self._int64("memory"))
    gpu = property(lambda self: self._int64("gpu"))

    def narrow(self, name: str) -> np.ndarray:
        """The array as kept (int64, or the store's narrower unsigned type)."""
        return self._arrays[name]

    def __len__(self) -> int:
        return len(self.ids)

    def validate(self, n: int) -> None:
        m = len(self.ids)
        for name in self.ARRAYS:
            array = self._arrays[name]
            _check_array(f"tasks.{name}", array, m, isinstance(array, np.ndarray) and (
                array.dtype == np.int64 or (array.dtype.kind == "u" and array.dtype.itemsize <= 4)))
        if len(self.groups) != m or len(self.ports) != m:
            raise InputError(f"tasks: groups and ports need one entry per task ({m})")
        rows, cpu, memory, gpu = (self._arrays[name] for name in self.ARRAYS)
        if m and (int(rows.min()) < 0 or int(rows.max()) >= n):
            raise InputError("tasks: a task runs on an instance outside the fleet")
        if m and min(int(cpu.min()), int(memory.min()), int(gpu.min())) < 0:
            raise InputError("tasks: a task takes a negative amount of a resource")
        # unique ids: the fleet's task table checks as it indexes them


@dataclass(frozen=True, eq=False)
class Columns:
    """Every column of a fleet, ``n`` rows each. Construct through ``build`` or ``validate``."""

    arns: Sequence[str]                      # a StringColumn (or a tuple of str)
    instance_id: DictionaryColumn
    status: DictionaryColumn
    agent_connected: DictionaryColumn        # dictionary (False, True)
    agent_version: np.ndarray                # int64, pack_version, INT_ABSENT
    registered_at: np.ndarray                # int64 microseconds, INT_ABSENT
    running_tasks: np.ndarray                # int64
    attributes: Mapping[str, DictionaryColumn]
    groups: GroupColumn
    resources: Mapping[str, np.ndarray]      # remaining_cpu ... registered_gpu, int64
    ports: Sequence[frozenset[int]]          # static TCP host ports in use: a SharedColumn (or a tuple)
    tasks: "TaskRecords | None" = None       # None: one task per group count, ids made up

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

    def narrowed(self, name: str) -> "Buckets | None":
        """``registered_at`` or ``agent_version`` as ``Buckets`` (computed once per snapshot; the
        store shares them between snapshots of the same rows), or None when too few rows to pay."""
        cache = self.__dict__.setdefault("_narrowed", {})
        if name not in cache:
            values = getattr(self, name)
            cache[name] = Buckets.of(values) if len(values) >= BUCKETS_FROM else None
        return cache[name]

    def validate(self) -> "Columns":
        """Check every length, dtype, layout and code range: after this no kernel can read out of bounds."""
        n = len(self.arns)
        check = getattr(self.arns, "validate", None)
        if check is not None:
            check("containerInstanceArn")
        if (self.arns.duplicate() is not None) if hasattr(self.arns, "duplicate") else len(set(self.arns)) != n:
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
        check = getattr(self.ports, "validate", None)
        if check is not None:
            check("ports")
        self.groups.validate(n)
        if self.tasks is not None:
            self.tasks.validate(n)
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
            arns=_taken(self.arns, rows), instance_id=self.instance_id.take(rows),
            status=self.status.take(rows), agent_connected=self.agent_connected.take(rows),
            agent_version=self.agent_version[rows], registered_at=self.registered_at[rows],
            running_tasks=self.running_tasks[rows],
            attributes=MappingProxyType({k: v.take(rows) for k, v in self.attributes.items()}),
            groups=groups, resources=MappingProxyType({k: v[rows] for k, v in self.resources.items()}),
            ports=_taken(self.ports, rows))            # tasks: made up from the group counts



BUCKETS_FROM = 1 << 16                    # rows from which a narrowed copy of a wide column pays


@dataclass(frozen=True, eq=False)
class Buckets:
    """A wide int64 column read through a uint16 copy: ``bucket(v)`` is 0 below ``base`` (the
    absent key included) and ``1 + (min(v, top) - base) // width`` from there, so it never
    decreases as ``v`` grows. A range of values then holds every row whose bucket lies strictly
    between its ends' buckets, no row outside them, and needs the int64 value only for rows in
    the two end buckets: a comparison reads 2 bytes a row instead of 8 (``engine.bind``)."""

    codes: np.ndarray          # uint16, one per row
    base: int
    top: int
    width: int

    @classmethod
    def of(cls, values: np.ndarray) -> "Buckets | None":
        present = values[values != INT_ABSENT]
        if not len(present):
            return None
        base, top = int(present.min()), int(present.max())
        width = max(1, -(-(top - base + 1) // 0xFFFF))
        offsets = values.view(np.uint64) - np.uint64(base % (1 << 64))      # exact mod 2^64 for v >= base
        codes = (offsets // np.uint64(width) + np.uint64(1)).astype(np.uint16)
        codes[values < base] = 0
        return cls(codes, base, top, width)

    def bucket(self, value: int) -> int:
        return 0 if value < self.base else 1 + (min(value, self.top) - self.base) // self.width

    def values_of(self, bucket: int) -> tuple[int, int]:
        """The least and greatest value a row in ``bucket`` can hold."""
        if bucket == 0:
            return INT_ABSENT, self.base - 1
        low = self.base + (bucket - 1) * self.width
        return low, min(low + self.width - 1, self.top)


def _taken(values: Sequence, rows: np.ndarray) -> Sequence:
    """The rows at ``rows`` of a column (its own ``take``) or of a tuple."""
    take = getattr(values, "take", None)
    return take(rows) if take is not None else tuple(values[i] for i in rows.tolist())


def _check_array(name: str, array, n: int, dtype_ok: bool) -> None:
    if not isinstance(array, np.ndarray) or array.ndim != 1:
        raise InputError(f"column {name!r} must be a one-dimensional numpy array")
    if not dtype_ok:
        raise InputError(f"column {name!r} has the wrong dtype {array.dtype}")
    if len(array) != n:
        raise InputError(f"column {name!r} has {len(array)} rows, expected {n}")
    if not array.flags.c_contiguous:
        raise InputError(f"column {name!r} is not contiguous")
