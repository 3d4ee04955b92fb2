"""The mutable form of a fleet: columns that change in place as a scheduler sees its cluster
change, each event costing what it changes, not a copy of the fleet.

Rows are physical. A registered instance appends a row (every buffer keeps spare capacity and
doubles when full); a deregistered one leaves a tombstone (the row stays, marked dead) until dead
rows outnumber the live ones, when the store compacts: amortised O(1) per removal. A dictionary
column grows by appending values after its two special codes (see ``DictionaryColumn``) and
widens its code type when full, so no row is recoded. Tasks are a table in the order they came.

Every change also appends an event to a journal; a placer replays the events it has not seen
(``placement.place.state``) instead of rebuilding. An event names what changed and the placer
reads the new values from the store, so replaying is idempotent. ``snapshot()`` gives readers a
``Columns`` of the live rows in fleet order (the buffers themselves while no row is dead, else a
compacted copy), valid until the next change; ``capacity_view()`` gives a bind the physical rows.

Threads: the store itself takes no lock; its ``Fleet`` holds the fleet's readers-writer lock
exclusively around every change here and shared around every read (``placement.fleet.model``).
What readers build lazily (the ARN index, the task stacks and index, a column's lookup and
frozen dictionary, the snapshot cache) is built from data no writer can change meanwhile and
published by one assignment, so two readers building it at once build the same thing. A
compaction needs every listener caught up first and kept out until it is over; one that cannot
be now (its placer is in a call in another thread) makes the compaction wait for a later
removal (``compact``).
"""
from __future__ import annotations

import bisect
import itertools
import weakref
from types import MappingProxyType

import numpy as np

from placement.errors import InputError
from placement.fleet.columns import Columns, DictionaryColumn, GroupColumn, TaskRecords, code_dtype, packed_presence
from placement.fleet.shared import GrowingPortLists, GrowingShared, PortLists, SharedColumn
from placement.fleet.strings import StringBuffer, StringColumn, StringIndex
from placement.values import ABSENT, INT_ABSENT, VALUELESS

versions = itertools.count(1)            # one sequence for every fleet: a version is never reused
NUMBERS = ("agent_version", "registered_at", "running_tasks", *Columns.RESOURCES)
_NUMBER_FILL = {"agent_version": INT_ABSENT, "registered_at": INT_ABSENT}
RESERVE = 16                              # spare rows after a store first grows
COMPACT_AFTER = 4096                      # dead rows kept before a compaction (when they also outnumber the live)
LAZY_AFTER = 1024                         # tasks added at once past which their indexes wait for first use


def _grown(buffer: np.ndarray, capacity: int, fill) -> np.ndarray:
    out = np.full(capacity, fill, dtype=buffer.dtype)
    out[:len(buffer)] = buffer[:capacity]
    return out


class GrowingCodes:
    """A dictionary column that grows: codes in a buffer with spare rows, values appended."""

    __slots__ = ("codes", "values", "absent_code", "layout", "owned", "changes", "_lookup", "_frozen", "_presence")

    def __init__(self, column: DictionaryColumn, capacity: int, changes: list, values=None):
        self.values = list(column.dictionary) if values is None else values
        self.absent_code = column.absent_code
        self.owned = len(column.codes) != capacity          # else borrowed until the first write
        self.codes = _grown(column.codes, capacity, column.absent_code) if self.owned else column.codes
        self.layout = 0                   # changes whenever a bound plan must bind again
        self.changes = changes            # the store's count of such changes, over every column
        self._lookup: dict | None = None
        self._frozen: tuple | None = None
        self._presence: np.ndarray | None = None

    def write(self, row: int, value) -> None:
        code = self.code(value)
        if not self.owned:
            self.resize(len(self.codes))
        self.codes[row] = code
        presence = self._presence
        if presence is not None:
            bit = 1 << (row & 7)
            presence[row >> 3] = (presence[row >> 3] | bit) if code != self.absent_code else (presence[row >> 3] & (0xFF ^ bit))

    def presence(self) -> np.ndarray:
        """One bit per physical row, set where the row has the attribute (a value or value-less):
        built on first use (an ``exists`` bound), then kept current by every write."""
        if self._presence is None:
            self._presence = packed_presence(self.codes, self.absent_code)
        return self._presence

    def refresh_presence(self, first: int, last: int) -> None:
        """Rows [first, last) were written directly (a register): their bits again."""
        if self._presence is not None and last > first:
            start, stop = first >> 3, (last + 7) >> 3
            self._presence[start:stop] = packed_presence(self.codes[start * 8:stop * 8], self.absent_code)

    def code(self, value) -> int:
        """The code of ``value`` (``ABSENT``, ``VALUELESS`` or a value), adding a new value."""
        code = self.find(value)
        if code is None:
            code = len(self.values) + 2
            self.values.append(value)
            self._added(value, code)
            self.layout += 1
            self.changes[0] += 1
            if code > np.iinfo(self.codes.dtype).max:
                self.codes = self.codes.astype(code_dtype(code + 1))
                self.owned = True
        return code

    def find(self, value) -> int | None:
        """The code of ``value`` if the column has it (nothing is added)."""
        if value is ABSENT:
            return self.absent_code
        if value is VALUELESS:
            return self.absent_code + 1
        return self._value_code(value)

    def _value_code(self, value) -> int | None:
        """``find`` for a value (not ABSENT or VALUELESS): the part each kind of column does its way."""
        if self._lookup is None:
            self._lookup = {v: c for v, c in zip(self.values, self.column(0).value_codes.tolist())}
        return self._lookup.get(value)

    def _added(self, value, code: int) -> None:
        self._lookup[value] = code
        self._frozen = None

    def value_at(self, row: int):
        return self.value_at_code(int(self.codes[row]))

    def value_at_code(self, code: int):
        if code == self.absent_code:
            return ABSENT
        if code == self.absent_code + 1:
            return VALUELESS
        return self.values[code if code < self.absent_code else code - 2]

    def column(self, rows) -> DictionaryColumn:
        """A snapshot of the first ``rows`` rows (an int), or of the rows an index array picks."""
        if self._frozen is None:
            self._frozen = tuple(self.values)
        if not isinstance(rows, int):
            return DictionaryColumn(self.codes[rows], self._frozen, self.absent_code)
        column = DictionaryColumn(self.codes[:rows], self._frozen, self.absent_code)
        column.__dict__["_presence_source"] = (self, self.codes)    # the kept bitmap, while of these codes
        return column

    def resize(self, capacity: int, keep=None) -> None:
        """Room for ``capacity`` rows; with ``keep``, only those rows, in that order."""
        kept = self.codes if keep is None else self.codes[keep]
        self.codes = _grown(kept, capacity, self.absent_code)
        self._presence = None
        self.owned = True
        self.layout += 1
        self.changes[0] += 1


_NARROW = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.int64))
_TASK_ARRAYS = ("rows", "group", "cpu", "memory", "gpu")


class GrowingStringCodes(GrowingCodes):
    """The store's ``ec2InstanceId`` column: its values in a ``StringBuffer``, so that a fleet
    of a million ids keeps no million strs. The sorted part of the dictionary is searched by
    bisection; values gained later by a small dict."""

    __slots__ = ("_later",)

    def __init__(self, column: DictionaryColumn, capacity: int, changes: list):
        super().__init__(column, capacity, changes, StringBuffer(column.dictionary))
        self._later: dict[str, int] | None = None

    def _value_code(self, value) -> int | None:
        if not isinstance(value, str):
            return None
        values, sorted_part = self.values, self.absent_code
        i = bisect.bisect_left(values, value, 0, sorted_part)
        if i < sorted_part and values[i] == value:
            return i
        if self._later is None:
            self._later = {v: sorted_part + 2 + k for k, v in enumerate(values[sorted_part:])}
        return self._later.get(value)

    def _added(self, value, code: int) -> None:
        self._later[value] = code

    def column(self, rows) -> DictionaryColumn:
        codes = self.codes[:rows] if isinstance(rows, int) else self.codes[rows]
        return DictionaryColumn(codes, self.values.column(), self.absent_code)


def _narrowest(top: int, at_least: np.dtype = _NARROW[0]) -> np.dtype:
    """The narrowest of uint8, uint16, uint32, int64 (no narrower than ``at_least``) holding 0..top."""
    return next(d for d in _NARROW[_NARROW.index(at_least):] if top <= np.iinfo(d).max)


def _repeated(ids) -> str:
    seen: set[str] = set()
    return next(t for t in ids if t in seen or seen.add(t))


def _links_dtype(top: int) -> np.dtype:
    return np.dtype(np.int32) if top < (1 << 31) - 1 else np.dtype(np.int64)


def _extended(buffer: np.ndarray, capacity: int, top: int = 0) -> np.ndarray:
    """``buffer`` with room for ``capacity`` entries (-1 past its end), wide enough for them and ``top``."""
    out = np.full(capacity, -1, dtype=np.promote_types(buffer.dtype, _links_dtype(max(capacity, top))))
    out[:len(buffer)] = buffer[:capacity]
    return out


class TaskLinks:
    """The live tasks of each row as a doubly linked list, newest first: ``head[row]`` is the
    newest task on the row, ``older[task]`` and ``newer[task]`` its neighbours on the same row
    (-1: none). Three int32 buffers with spare room (an eighth, plus 16), widened to int64 past
    2**31 entries: about 9 bytes a task and 4 a row, where a dict of lists took a tuple key, a
    list and a boxed int per task. Pushing the newest task on a row and unlinking any live one
    are O(1); a row's tasks are read by following ``older`` from its head."""

    __slots__ = ("head", "older", "newer", "_head", "_older", "_newer")

    def __init__(self, head: np.ndarray, older: np.ndarray, newer: np.ndarray):
        self.head, self.older, self.newer = head, older, newer
        self._head, self._older, self._newer = memoryview(head), memoryview(older), memoryview(newer)

    @classmethod
    def build(cls, alive: np.ndarray, rows: np.ndarray, size: int) -> "TaskLinks":
        """The lists of the live tasks among the first ``size``, on their ``rows``, vectorised."""
        live = np.flatnonzero(alive[:size])
        on = rows[live].astype(np.int64)
        order = np.argsort(on, kind="stable")            # by row, and by age within a row
        tasks, on = live[order], on[order]
        capacity = size + size // 8 + 16
        dtype = _links_dtype(capacity)
        older, newer = np.full(capacity, -1, dtype=dtype), np.full(capacity, -1, dtype=dtype)
        same = on[1:] == on[:-1]
        older[tasks[1:][same]] = tasks[:-1][same]
        newer[tasks[:-1][same]] = tasks[1:][same]
        top = int(on[-1]) + 1 if len(on) else 0
        head = np.full(top + top // 8 + 16, -1, dtype=dtype)
        newest = np.append(~same, True) if len(on) else np.zeros(0, dtype=bool)
        head[on[newest]] = tasks[newest]
        return cls(head, older, newer)

    def _room(self, task: int, row: int) -> None:
        if task >= len(self.older):
            capacity = task + 1 + (task + 1) // 8 + 16
            self.older, self.newer = _extended(self.older, capacity), _extended(self.newer, capacity)
            self._older, self._newer = memoryview(self.older), memoryview(self.newer)
        if row >= len(self.head) or task > np.iinfo(self.head.dtype).max:
            self.head = _extended(self.head, max(len(self.head), row + 1 + (row + 1) // 8 + 16), task)
            self._head = memoryview(self.head)

    def push(self, task: int, row: int) -> None:
        """``task`` (newer than any on the row) starts on ``row``."""
        if task >= len(self._older) or row >= len(self._head):
            self._room(task, row)
        head = self._head
        newest = head[row]
        self._older[task] = newest
        self._newer[task] = -1
        if newest >= 0:
            self._newer[newest] = task
        head[row] = task

    def unlink(self, task: int, row: int) -> None:
        """Live ``task`` on ``row`` stops."""
        older, newer = self._older, self._newer
        before, after = older[task], newer[task]
        if after >= 0:
            older[after] = before
        else:
            self._head[row] = before
        if before >= 0:
            newer[before] = after
        older[task] = newer[task] = -1

    def newest_first(self, row: int) -> list[int]:
        """The live tasks on ``row``, newest first."""
        head = self._head
        task = head[row] if row < len(head) else -1
        older, out = self._older, []
        while task >= 0:
            out.append(task)
            task = older[task]
        return out

    def renumbered(self, old_to_new: np.ndarray) -> "TaskLinks":
        """The lists after a compaction moved the rows (a dead row's list is empty)."""
        head = self.head
        kept = np.flatnonzero(old_to_new[:len(head)] >= 0)
        top = int(old_to_new.max()) + 1 if len(old_to_new) else 0
        moved = np.full(top + top // 8 + 16, -1, dtype=head.dtype)
        moved[old_to_new[kept]] = head[kept]
        return TaskLinks(moved, self.older, self.newer)


class TaskTable:
    """The tasks a fleet runs, in the order they came; each takes resources and ports of its row."""

    # The id of each task is kept in a string buffer, its ports as shared sets, and its row, group
    # code and amounts in unsigned arrays as narrow as the values so far allow (``_fit`` widens
    # one when a larger value comes; readers get numbers, and int64 from ``records``). The index
    # of the ids (a ``StringIndex`` over the buffer) and each row's live tasks (``TaskLinks``) are
    # arrays too, built on first use for a fleet's first tasks: a fleet that is only read never
    # needs them. A task stays in the table (and its id in the index) once stopped.

    def __init__(self, capacity: int = 16):
        self.size = 0
        self.ids = StringBuffer()
        self._index: StringIndex | None = StringIndex(self.ids, np.zeros(0, np.uint32), np.zeros(0, np.int64))
        self.rows = np.zeros(capacity, dtype=np.uint32)
        self.group = np.zeros(capacity, dtype=np.uint8)     # code into ``names``
        self.cpu = np.zeros(capacity, dtype=np.uint16)
        self.memory = np.zeros(capacity, dtype=np.uint16)
        self.gpu = np.zeros(capacity, dtype=np.uint8)
        self.alive = np.zeros(capacity, dtype=np.uint8)
        self.ports = GrowingPortLists()
        self.names: list[str] = []
        self.name_code: dict[str, int] = {}
        self._stacks: TaskLinks | None = TaskLinks.build(self.alive, self.rows, 0)   # None: not built yet
        self.version = 0

    def _fit(self, name: str, top: int) -> None:
        """Widen array ``name`` if ``top`` does not fit its type."""
        array = getattr(self, name)
        if top > np.iinfo(array.dtype).max:
            setattr(self, name, array.astype(_narrowest(top, array.dtype)))

    def _grow(self, capacity: int) -> None:
        for name in (*_TASK_ARRAYS, "alive"):
            setattr(self, name, _grown(getattr(self, name), capacity, 0))

    @property
    def index(self) -> StringIndex:
        """The number of each task by its id (``get``, ``[]``, ``in`` as a dict's)."""
        return self._indexed()

    def _indexed(self) -> StringIndex:
        index = self._index
        if index is None:
            index = StringIndex.build(self.ids)
            if index.repeated():
                raise InputError(f"tasks: taskArn {_repeated(self.ids)!r} appears twice")
            self._index = index
        return index

    def build_indexes(self) -> None:
        """Build now what is otherwise built on first use: a placer is about to follow this fleet's
        events, and the first of them should not pay for all its tasks."""
        self._built()
        self._indexed()

    @property
    def stacks_built(self) -> bool:
        return self._stacks is not None

    @property
    def _row_groups(self):
        """Each row's newest live task (``TaskLinks.head``), where the task lists are built."""
        links = self._stacks
        return None if links is None else links.head

    def _built(self) -> TaskLinks:
        """Each row's live tasks, built on first use: a fleet that is only read (a demo, a
        one-off evaluation) never needs them."""
        links = self._stacks
        if links is None:
            links = TaskLinks.build(self.alive, self.rows, self.size)
            self._stacks = links                      # published whole
        return links

    def add(self, ids, rows, groups, cpu, memory, gpu, ports) -> range:
        """Append tasks (one entry of each argument per task); returns their indices."""
        first, count = self.size, len(ids)
        stop = first + count
        made_up = ids if isinstance(ids, StringColumn) else self._made_up(ids, first) if None in ids else list(ids)
        texts = None
        if first == 0 and count > LAZY_AFTER:
            self._index = None                  # a fleet's first tasks: indexed (and checked) on first use
        else:
            index = self.index
            texts = made_up if isinstance(made_up, list) else list(made_up)
            clash = next((task_id for task_id in texts if task_id in index), None)
            if clash is not None or len(set(texts)) != count:
                raise InputError(f"task {clash or _repeated(texts)!r} is already in the fleet")
        if stop > len(self.rows):
            self._grow(max(len(self.rows) + len(self.rows) // 4 + 16, stop))
        if isinstance(groups, SharedColumn):       # a code per task already: recode its few names
            for group in set(groups.values).difference(self.name_code):
                self.name_code[group] = len(self.names)
                self.names.append(group)
            codes = np.array([self.name_code[g] for g in groups.values] or [0], dtype=np.int64)[groups.codes]
        else:
            for group in set(groups).difference(self.name_code):
                self.name_code[group] = len(self.names)
                self.names.append(group)
            codes = np.fromiter(map(self.name_code.__getitem__, groups), np.int64, count)
        amounts = {"rows": rows, "cpu": cpu, "memory": memory, "gpu": gpu, "group": codes}
        for name, values in amounts.items():
            values = amounts[name] = np.asarray(values)
            if count:
                self._fit(name, int(values.max()))
            getattr(self, name)[first:stop] = values
        self.alive[first:stop] = 1
        if self._stacks is not None and count:
            if count > LAZY_AFTER:
                self._stacks = None                       # rebuilt when next needed
            else:
                push = self._stacks.push
                for task, row in zip(range(first, stop), amounts["rows"].tolist()):
                    push(task, row)
        self.ids.extend(made_up)
        if texts is not None and self._index is not None:
            self._index.add_many(first, texts)
        self.ports.extend(ports)
        self.size = stop
        self.version += 1
        return range(first, stop)

    def _made_up(self, ids: list, first: int) -> list[str]:
        """The ids, with ``task-<t>`` for each None: fresh (a suffix until unused), since a given
        taskArn may already be spelt so."""
        taken = self.index if first else ()           # an empty table has no ids yet
        given = {task_id for task_id in ids if task_id is not None}
        out = []
        for k, task_id in enumerate(ids):
            if task_id is None:
                task_id = stem = f"task-{first + k}"
                j = 1
                while task_id in taken or task_id in given:
                    task_id, j = f"{stem}-{j}", j + 1
                given.add(task_id)
            out.append(task_id)
        return out

    def add_one(self, row: int, group: str, cpu: int, memory: int, gpu: int, ports: frozenset[int]) -> range:
        """``add`` for one task with a made-up id (what start_task does most)."""
        t = self.size
        if t == len(self.rows):
            self._grow(t + t // 4 + 16)
        task_id = f"task-{t}"
        if not self.index.add_new(t, task_id):      # filed now (a given id took it: add makes a fresh one)
            return self.add([None], [row], [group], [cpu], [memory], [gpu], [ports])
        code = self.name_code.get(group)
        if code is None:
            code = self.name_code[group] = len(self.names)
            self.names.append(group)
            self._fit("group", code)
        if row > 0xFFFFFFFF or cpu > 0xFFFF or memory > 0xFFFF or gpu > 0xFF:
            for name, value in (("rows", row), ("cpu", cpu), ("memory", memory), ("gpu", gpu)):
                self._fit(name, value)
        self.rows[t], self.group[t], self.cpu[t], self.memory[t], self.gpu[t], self.alive[t] = \
            row, code, cpu, memory, gpu, 1
        self.ids.append(task_id)
        self.ports.append(ports)
        if self._stacks is not None:
            self._stacks.push(t, row)
        self.size = t + 1
        self.version += 1
        return range(t, t + 1)

    def kill(self, task: int, row: int | None = None) -> None:
        """Mark a live task stopped."""
        if not self.alive[task]:
            raise ValueError(f"task {task} is not running")
        row = int(self.rows[task]) if row is None else row
        links = self._built()                             # before the task leaves the live ones
        self.alive[task] = 0
        links.unlink(task, row)
        self.version += 1

    def on_row(self, row: int) -> list[int]:
        """The live tasks on ``row``, in the order they came."""
        tasks = self._built().newest_first(row)
        tasks.reverse()
        return tasks

    def latest(self, row: int, group: str, count: int, match) -> list[int]:
        """The ``count`` most recent live tasks of ``group`` on ``row`` for which ``match`` holds."""
        code = self.name_code.get(group, -1)
        if code < 0 or count <= 0:
            return []
        links = self._built()
        codes, older = self.group, links._older
        task = links._head[row] if row < len(links._head) else -1
        out: list[int] = []
        while task >= 0 and len(out) < count:             # newest first, no further than needed
            if codes[task] == code and match(task):
                out.append(task)
            task = older[task]
        return out

    def remap(self, old_to_new: np.ndarray) -> None:
        """Rows renumbered by a compaction (dead rows' tasks are dead already)."""
        live = np.flatnonzero(self.alive[:self.size])       # a dead task's row may predate earlier compactions
        self.rows[live] = old_to_new[self.rows[live]]
        links = self._stacks
        if links is not None:
            self._stacks = links.renumbered(old_to_new)

    def live(self, pick_rows: np.ndarray | None):
        """The live tasks (indices, in order) and their rows in a snapshot that keeps ``pick_rows``."""
        tasks = np.flatnonzero(self.alive[:self.size])
        rows = self.rows[tasks]
        if pick_rows is not None:
            rows = np.searchsorted(pick_rows, rows)
        return tasks, rows

    def groups(self, n: int, pick_rows: np.ndarray | None) -> GroupColumn:
        tasks, rows = self.live(pick_rows)
        used = sorted({self.names[c] for c in np.unique(self.group[tasks]).tolist()})
        recode = np.zeros(max(1, len(self.names)), dtype=np.int64)
        recode[[self.name_code[g] for g in used]] = np.arange(len(used))
        return GroupColumn.from_tasks(n, rows, recode[self.group[tasks]], tuple(used))

    def records(self, pick_rows: np.ndarray | None) -> TaskRecords:
        tasks, rows = self.live(pick_rows)
        if len(tasks) == self.size:                       # none stopped: the buffers as they are
            ids, ports = self.ids.column(self.size), self.ports.column(self.size)
            picked = slice(0, self.size)
        else:
            ids, ports, picked = self.ids.column(tasks), self.ports.column(tasks), tasks
        groups = SharedColumn(self.group[picked].copy(), tuple(self.names))
        return TaskRecords(ids, rows, groups, self.cpu[picked], self.memory[picked], self.gpu[picked], ports)

    def row_counts(self, row: int) -> dict[str, int]:
        """The live tasks per group on ``row``."""
        codes, counts = self.group, {}
        for task in self._built().newest_first(row):
            code = int(codes[task])
            counts[code] = counts.get(code, 0) + 1
        return {self.names[code]: n for code, n in counts.items()}


class CapacityView:
    """What a bind reads, over every physical row up to the capacity (spare rows read as absent):
    a plan bound to it stays valid while rows are added, until a buffer is replaced."""

    def __init__(self, store: "FleetStore"):
        capacity = store.capacity
        self.capacity = capacity
        self.instance_id = store.instance_id.column(capacity)
        self.agent_connected = store.agent_connected.column(capacity)
        self.status = store.status.column(capacity)
        self.attributes = MappingProxyType({name: column.column(capacity) for name, column in store.attributes.items()})
        self.agent_version = store.numbers["agent_version"]
        self.registered_at = store.numbers["registered_at"]
        self.running_tasks = store.numbers["running_tasks"]
        self.groups = None          # task:group and runningTasksCount bind to a placer's own state

    def __len__(self) -> int:
        return self.capacity


class FleetStore:
    """Physical rows, tombstones, growing dictionaries, the task table and the journal."""

    def __init__(self, columns: Columns):
        """Takes the arrays of ``columns`` as they are (an Arrow table's own codes, say) and copies
        each one the first time it changes."""
        n = len(columns)
        self.size = self.live = n
        self.capacity = max(1, n)
        self.epoch = 0                                     # changes when the number buffers are replaced
        self.changes = [0]                                 # changes of a dictionary column a bind reads
        self.alive = np.zeros(self.capacity, dtype=np.uint8)
        self.alive[:n] = 1
        self.dead_rows: list[int] = []                      # sorted
        self.arns = StringBuffer(columns.arns)               # a string buffer, not a str per row
        self._position: StringIndex | None = None           # row by ARN, built on first use
        self.instance_id = GrowingStringCodes(columns.instance_id, self.capacity, self.changes)
        self.status = GrowingCodes(columns.status, self.capacity, self.changes)
        self.agent_connected = GrowingCodes(columns.agent_connected, self.capacity, self.changes)
        self.attributes = {name: GrowingCodes(column, self.capacity, self.changes)
                           for name, column in columns.attributes.items()}
        source = {"agent_version": columns.agent_version, "registered_at": columns.registered_at,
                  "running_tasks": columns.running_tasks, **columns.resources}
        self.numbers = {name: source[name] if n == self.capacity else _grown(source[name], self.capacity,
                                                                              _NUMBER_FILL.get(name, 0))
                        for name in NUMBERS}
        self._borrowed = set(NUMBERS) if n == self.capacity else set()
        self.ports = GrowingShared(columns.ports)           # a code per row into the distinct port sets
        self.tasks = TaskTable()
        self._add_tasks(columns, 0)
        self.journal: list[tuple] = []
        self.journal_start = self.journal_end = 0           # sequence numbers of the first and after the last
        self.listeners: weakref.WeakSet = weakref.WeakSet()   # with journal_cursor, before_compaction()
        self.version = next(versions)
        self._cache: dict[str, tuple] = {}

    # -- reading -----------------------------------------------------------------------------------

    def live_rows(self) -> np.ndarray | None:
        """The physical row of each live instance in fleet order (None: every row is live)."""
        if not len(self.dead_rows):
            return None
        return self._cached("live", self.layout, lambda: np.flatnonzero(self.alive[:self.size]))

    @property
    def bindings(self) -> tuple:
        """Changes whenever a plan bound to ``capacity_view`` may have to bind again."""
        return self.epoch, self.changes[0]

    @property
    def layout(self) -> tuple:
        """Changes whenever the physical rows do (added, removed, moved)."""
        return self.epoch, len(self.dead_rows), self.size

    def logical(self, rows: np.ndarray) -> np.ndarray:
        """Fleet positions of physical rows (live ones)."""
        if not self.dead_rows:
            return rows
        if len(rows) <= 16:                      # a scheduler's call: bisect, no copy of the tombstones
            dead = self.dead_rows
            return np.array([row - bisect.bisect_left(dead, row) for row in rows.tolist()], dtype=np.int64)
        dead = self._cached("dead", self.layout, lambda: np.array(self.dead_rows, dtype=np.int64))
        return rows - np.searchsorted(dead, rows)

    def _cached(self, key: str, stamp, build):
        hit = self._cache.get(key)
        if hit is None or hit[0] != stamp:
            hit = self._cache[key] = (stamp, build())
        return hit[1]

    def snapshot(self) -> Columns:
        """The live rows in fleet order, as ``Columns``."""
        return self._cached("snapshot", self.version, self._snapshot)

    def _snapshot(self) -> Columns:
        live, n = self.live_rows(), self.live
        pick = self.size if live is None else live
        numbers = {name: buffer[:self.size] if live is None else buffer[live] for name, buffer in self.numbers.items()}
        layout = self.layout
        arns = self.arns.column(self.size) if live is None else self._cached("arns", layout,
                                                                             lambda: self.arns.column(live))
        ports = self._cached("ports", (layout, self.version), lambda: self.ports.column(self.size if live is None
                                                                                        else live))
        tasks = (layout, self.tasks.version)
        columns = Columns(
            arns=arns, instance_id=self.instance_id.column(pick), status=self.status.column(pick),
            agent_connected=self.agent_connected.column(pick),
            agent_version=numbers["agent_version"], registered_at=numbers["registered_at"],
            running_tasks=numbers["running_tasks"],
            attributes=MappingProxyType({name: column.column(pick) for name, column in sorted(self.attributes.items())}),
            groups=self._cached("groups", tasks, lambda: self.tasks.groups(n, live)),
            resources=MappingProxyType({name: numbers[name] for name in Columns.RESOURCES}),
            ports=ports, tasks=self._cached("tasks", tasks, lambda: self.tasks.records(live)))
        # agentVersion and registeredAt change only with the rows: their narrowed copies last as long
        columns.__dict__["_narrowed"] = self._cached("narrowed", layout, dict)
        return columns

    def capacity_view(self) -> CapacityView:
        return CapacityView(self)

    # -- changing --------------------------------------------------------------------------------

    def _emit(self, *event) -> None:
        self.version = next(versions)
        self.journal.append(event)
        self.journal_end += 1
        if len(self.journal) > 4096 + 2 * self.size:     # shed what every listener has seen, or half
            seen = min((listener.journal_cursor for listener in self.listeners), default=self.journal_end)
            drop = max(seen - self.journal_start, len(self.journal) // 2)
            del self.journal[:drop]
            self.journal_start += drop

    def _reserve(self, rows: int) -> None:
        if self.size + rows <= self.capacity:
            return
        self.capacity = max(2 * self.capacity, self.size + rows, self.size + RESERVE)
        self._resize(None)

    def writable(self, name: str) -> np.ndarray:
        """The number buffer ``name``, copied first if the store borrowed it."""
        if name in self._borrowed:
            self.numbers[name] = self.numbers[name].copy()
            self._borrowed.discard(name)
            self.epoch += 1
        return self.numbers[name]

    def _resize(self, keep) -> None:
        kept = (lambda b: b) if keep is None else (lambda b: b[keep])
        for name, buffer in self.numbers.items():
            self.numbers[name] = _grown(kept(buffer), self.capacity, _NUMBER_FILL.get(name, 0))
        self._borrowed.clear()
        self.alive = _grown(kept(self.alive), self.capacity, 0)
        for column in (self.instance_id, self.status, self.agent_connected, *self.attributes.values()):
            column.resize(self.capacity, keep)
        self.epoch += 1

    @property
    def position(self) -> StringIndex:
        """The physical row of each live instance's ARN (``get``, ``[]``, ``in`` as a dict's), a
        hash index over the ARN buffer, built on first use (a fleet that is only read never asks)
        and kept by every change after."""
        index = self._position
        if index is None:
            live = np.flatnonzero(self.alive[:self.size]) if self.dead_rows else None
            index = StringIndex.build(self.arns, live)
            self._position = index                  # published whole
        return index

    def append(self, instances: list, tasks: TaskRecords) -> range:
        """Register checked instances (``ingest.InstanceRecord``, ARNs new) and the tasks they run."""
        first, count = self.size, len(instances)
        self._reserve(count)
        numbers, alive, attributes, position = self.numbers, self.alive, self.attributes, self.position
        for row, record in enumerate(instances, first):
            self.instance_id.codes[row] = self.instance_id.code(ABSENT if record.instance_id is None
                                                                else record.instance_id)
            self.status.codes[row] = self.status.code(ABSENT if record.status is None else record.status)
            self.agent_connected.codes[row] = self.agent_connected.code(ABSENT if record.connected is None
                                                                        else record.connected)
            for name, value in record.attributes:
                column = attributes.get(name) or self.attribute(name)
                lookup = column._lookup
                code = lookup.get(value) if lookup is not None and value is not VALUELESS else None
                column.codes[row] = column.code(value) if code is None else code
            for name, value in record.numbers.items():
                numbers[name][row] = value
            alive[row] = 1
            self.arns.append(record.arn)
            position.add(row, record.arn)
            self.ports.append(record.ports)
        for column in attributes.values():
            column.refresh_presence(first, first + count)
        self.size, self.live = first + count, self.live + count
        if len(tasks):
            self.tasks.add(tasks.ids, tasks.rows, tasks.groups, tasks.cpu, tasks.memory, tasks.gpu, tasks.ports)
        self._emit("add", first, count)
        return range(first, first + count)

    def _add_tasks(self, columns: Columns, first_row: int) -> None:
        records = columns.tasks
        if records is None:        # only group counts: one made-up task per count, taking nothing
            groups = columns.groups
            rows = np.repeat(np.arange(len(columns)), np.diff(groups.offsets))
            rows, codes = np.repeat(rows, groups.counts), np.repeat(groups.codes, groups.counts)
            m = len(rows)
            zero = np.zeros(m, dtype=np.int64)
            records = TaskRecords((None,) * m, rows.astype(np.int64), SharedColumn(codes, groups.dictionary),
                                  zero, zero, zero, PortLists(np.zeros(m + 1, dtype=np.uint32), np.zeros(0, np.uint16)))
        if len(records.ids):
            self.tasks.add(records.ids, records.rows + first_row if first_row else records.narrow("rows"),
                           records.groups, records.narrow("cpu"), records.narrow("memory"), records.narrow("gpu"),
                           records.ports)

    def remove(self, row: int) -> None:
        """Deregister: a tombstone; the instance's tasks stop counting."""
        self.alive[row] = 0
        self.live -= 1
        self.position.discard(row)
        bisect.insort(self.dead_rows, row)
        for task in self.tasks.on_row(row):
            self.tasks.kill(task)
        self._emit("remove", row)
        if len(self.dead_rows) > max(COMPACT_AFTER, self.live):
            self.compact()

    def compact(self) -> bool:
        """Drop the dead rows; every later row moves up (fleet order is kept). Listeners catch
        up first, so that for each of them the compaction starts its next batch of events. A
        listener that cannot now (``before_compaction`` returns False: its placer is inside a
        call in another thread) puts it off: nothing moves, the next removal tries again, and
        this returns False. A listener that said yes hears ``after_compaction()`` at the end."""
        ready = []
        try:
            for listener in list(self.listeners):
                if listener.before_compaction() is False:
                    return False
                ready.append(listener)
            self._compact()
            return True
        finally:
            for listener in ready:
                done = getattr(listener, "after_compaction", None)
                if done is not None:
                    done()

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive[:self.size])
        old_to_new = np.full(self.size, -1, dtype=np.int64)
        old_to_new[keep] = np.arange(len(keep))
        self.arns = self.arns.kept(keep)          # new objects: results handed out keep the old rows
        self.ports = self.ports.kept(keep)
        index = self._position                    # every live row is in it: moved, no ARN decoded
        self._position = None if index is None else index.kept(keep, self.arns)
        self.size = len(keep)
        self.capacity = self.size + max(RESERVE, self.size // 2)
        self._resize(keep)
        self.tasks.remap(old_to_new)
        self.dead_rows = []
        self._emit("compact", old_to_new)

    def set_code(self, column: GrowingCodes, row: int, value, event: tuple) -> None:
        column.write(row, value)
        self._emit(*event)

    def attribute(self, name: str) -> GrowingCodes:
        """The column of attribute ``name``, created (absent everywhere) when new."""
        column = self.attributes.get(name)
        if column is None:
            column = self.attributes[name] = GrowingCodes(DictionaryColumn.absent(0), self.capacity, self.changes)
            self.changes[0] += 1
        return column

    def start_tasks(self, row: int, group: str, count: int, cpu: int, memory: int, gpu: int,
                    ports: frozenset[int]) -> range:
        tasks = self.tasks.add_one(row, group, cpu, memory, gpu, ports) if count == 1 else \
            self.tasks.add([None] * count, [row] * count, [group] * count, [cpu] * count, [memory] * count,
                           [gpu] * count, [ports] * count)
        self._take(row, count, cpu, memory, gpu)
        if ports:
            self.ports[row] = self.ports[row] | ports
        self._emit("start", tasks.start, count)
        return tasks

    def stop_tasks(self, tasks: list[int]) -> None:
        table = self.tasks
        for task in tasks:
            row = int(table.rows[task])
            table.kill(task, row)
            self._take(row, -1, int(table.cpu[task]), int(table.memory[task]), int(table.gpu[task]))
            if table.ports[task]:
                self.ports[row] = self.ports[row] - table.ports[task]
            self._emit("stop", task)

    def _take(self, row: int, count: int, cpu: int, memory: int, gpu: int) -> None:
        numbers = self.numbers if not self._borrowed else {name: self.writable(name) for name in NUMBERS}
        if cpu:
            numbers["remaining_cpu"][row] -= count * cpu
        if memory:
            numbers["remaining_memory"][row] -= count * memory
        if gpu:
            numbers["remaining_gpu"][row] -= count * gpu
        running = numbers["running_tasks"]
        running[row] = max(0, running[row] + count)
