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
from placement.values import ABSENT, VALUELESS

def code_dtype(code_count: int) -> np.dtype:
    """The narrowest unsigned integer type that holds ``code_count`` distinct codes."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if code_count <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    raise InputError(f"a column with {code_count} distinct values is too large")


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


@dataclass(frozen=True, eq=False)
class TaskRecords:
    """A fleet's RUNNING tasks in input order (the order scale-in reads): what each one took."""

    ids: tuple[str, ...]                     # taskArn, or one made up where the input had none
    rows: np.ndarray                         # int64: the instance each one runs on
    groups: tuple[str, ...]
    cpu: np.ndarray                          # int64 cpu units, MiB, GPUs
    memory: np.ndarray
    gpu: np.ndarray
    ports: tuple[frozenset[int], ...]        # the host ports each one holds

    def __len__(self) -> int:
        return len(self.ids)

    def validate(self, n: int) -> None:
        m = len(self.ids)
        for name in ("rows", "cpu", "memory", "gpu"):
            _check_array(f"tasks.{name}", getattr(self, name), m, getattr(self, name).dtype == np.int64)
        if len(self.groups) != m or len(self.ports) != m:
            raise InputError(f"tasks: groups and ports need one entry per task ({m})")
        if m and (int(self.rows.min()) < 0 or int(self.rows.max()) >= n):
            raise InputError("tasks: a task runs on an instance outside the fleet")
        if m and min(int(self.cpu.min()), int(self.memory.min()), int(self.gpu.min())) < 0:
            raise InputError("tasks: a task takes a negative amount of a resource")
        # unique ids: the fleet's task table checks as it indexes them


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
            arns=tuple(self.arns[i] for i in rows), instance_id=self.instance_id.take(rows),
            status=self.status.take(rows), agent_connected=self.agent_connected.take(rows),
            agent_version=self.agent_version[rows], registered_at=self.registered_at[rows],
            running_tasks=self.running_tasks[rows],
            attributes=MappingProxyType({k: v.take(rows) for k, v in self.attributes.items()}),
            groups=groups, resources=MappingProxyType({k: v[rows] for k, v in self.resources.items()}),
            ports=tuple(self.ports[i] for i in rows))            # tasks: made up from the group counts



def _check_array(name: str, array, n: int, dtype_ok: bool) -> None:
    if not isinstance(array, np.ndarray) or array.ndim != 1:
        raise InputError(f"column {name!r} must be a one-dimensional numpy array")
    if not dtype_ok:
        raise InputError(f"column {name!r} has the wrong dtype {array.dtype}")
    if len(array) != n:
        raise InputError(f"column {name!r} has {len(array)} rows, expected {n}")
    if not array.flags.c_contiguous:
        raise InputError(f"column {name!r} is not contiguous")
