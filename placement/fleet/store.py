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
from placement.fleet.columns import Columns, DictionaryColumn, GroupColumn, TaskRecords, code_dtype
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

    __slots__ = ("codes", "values", "absent_code", "layout", "owned", "changes", "_lookup", "_frozen")

    def __init__(self, column: DictionaryColumn, capacity: int, changes: list):
        self.values = list(column.dictionary)
        self.absent_code = column.absent_code
        self.owned = len(column.codes) != capacity          # else borrowed until the first write
        self.codes = _grown(column.codes, capacity, column.absent_code) if self.owned else column.codes
        self.layout = 0                   # changes whenever a bound plan must bind again
        self.changes = changes            # the store's count of such changes, over every column
        self._lookup: dict | None = None
        self._frozen: tuple | None = None

    def write(self, row: int, value) -> None:
        code = self.code(value)
        if not self.owned:
            self.resize(len(self.codes))
        self.codes[row] = code

    def code(self, value) -> int:
        """The code of ``value`` (``ABSENT``, ``VALUELESS`` or a value), adding a new value."""
        if value is ABSENT:
            return self.absent_code
        if value is VALUELESS:
            return self.absent_code + 1
        code = self.find(value)
        if code is None:
            code = self._lookup[value] = len(self.values) + 2
            self.values.append(value)
            self._frozen = None
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
        if self._lookup is None:
            self._lookup = {v: c for v, c in zip(self.values, self.column(0).value_codes.tolist())}
        return self._lookup.get(value)

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
        codes = self.codes[:rows] if isinstance(rows, int) else self.codes[rows]
        return DictionaryColumn(codes, self._frozen, self.absent_code)

    def resize(self, capacity: int, keep=None) -> None:
        """Room for ``capacity`` rows; with ``keep``, only those rows, in that order."""
        kept = self.codes if keep is None else self.codes[keep]
        self.codes = _grown(kept, capacity, self.absent_code)
        self.owned = True
        self.layout += 1
        self.changes[0] += 1


def _repeated(ids: list[str]) -> str:
    seen: set[str] = set()
    return next(t for t in ids if t in seen or seen.add(t))


class TaskTable:
    """The tasks a fleet runs, in the order they came; each takes resources and ports of its row."""

    def __init__(self, capacity: int = 16):
        self.size = 0
        self.ids: list[str] = []
        self._index: dict[str, int] | None = {}             # task id -> number; None: not built yet
        self.rows = np.zeros(capacity, dtype=np.int64)
        self.group = np.zeros(capacity, dtype=np.int64)     # code into ``names``
        self.cpu = np.zeros(capacity, dtype=np.int64)
        self.memory = np.zeros(capacity, dtype=np.int64)
        self.gpu = np.zeros(capacity, dtype=np.int64)
        self.alive = np.zeros(capacity, dtype=np.uint8)
        self.ports: list[frozenset[int]] = []
        self.names: list[str] = []
        self.name_code: dict[str, int] = {}
        self._stacks: dict[tuple[int, int], list[int]] | None = {}   # None: not built yet
        self._row_groups: dict[int, set[int]] = {}
        self.version = 0

    @property
    def index(self) -> dict[str, int]:
        """The number of each task by its id."""
        return self._indexed()

    def _indexed(self) -> dict[str, int]:
        if self._index is None:
            index = dict(zip(self.ids, range(self.size)))
            if len(index) != self.size:
                raise InputError(f"tasks: taskArn {_repeated(self.ids)!r} appears twice")
            self._index = index
        return self._index

    def build_indexes(self) -> None:
        """Build now what is otherwise built on first use: a placer is about to follow this fleet's
        events, and the first of them should not pay for all its tasks."""
        self._built()
        self._indexed()

    @property
    def stacks_built(self) -> bool:
        return self._stacks is not None

    @property
    def stacks(self) -> dict[tuple[int, int], list[int]]:
        """(row, group code): the live tasks there, oldest first."""
        return self._built()[0]

    @property
    def row_groups(self) -> dict[int, set[int]]:
        """row: the group codes with a stack there."""
        return self._built()[1]

    def _built(self) -> tuple[dict, dict]:
        """The stacks, built on first use: a fleet that is only read (a demo, a one-off
        evaluation) never needs them."""
        if self._stacks is None:
            stacks: dict[tuple[int, int], list[int]] = {}
            row_groups: dict[int, set[int]] = {}
            live = np.flatnonzero(self.alive[:self.size])
            for task, row, code in zip(live.tolist(), self.rows[live].tolist(), self.group[live].tolist()):
                stack = stacks.get((row, code))
                if stack is None:
                    stack = stacks[(row, code)] = []
                    row_groups.setdefault(row, set()).add(code)
                stack.append(task)
            # row_groups first: a reader that finds the stacks built must find their row_groups too
            self._row_groups = row_groups
            self._stacks = stacks
            return stacks, row_groups
        return self._stacks, self._row_groups

    def add(self, ids, rows, groups, cpu, memory, gpu, ports) -> range:
        """Append tasks (one entry of each argument per task); returns their indices."""
        first, count = self.size, len(ids)
        stop = first + count
        made_up = [f"task-{first + k}" if task_id is None else task_id for k, task_id in enumerate(ids)] \
            if None in ids else list(ids)
        if first == 0 and count > LAZY_AFTER:
            self._index = None                  # a fleet's first tasks: indexed (and checked) on first use
        else:
            index = dict(zip(made_up, range(first, stop)))
            clash = next(iter(index.keys() & self.index.keys()), None)
            if clash is not None or len(index) != count:
                raise InputError(f"task {clash or _repeated(made_up)!r} is already in the fleet")
            self.index.update(index)
        if stop > len(self.rows):
            capacity = max(2 * len(self.rows), stop)
            for name in ("rows", "group", "cpu", "memory", "gpu", "alive"):
                setattr(self, name, _grown(getattr(self, name), capacity, 0))
        for group in set(groups).difference(self.name_code):
            self.name_code[group] = len(self.names)
            self.names.append(group)
        self.rows[first:stop], self.cpu[first:stop], self.memory[first:stop], self.gpu[first:stop] = \
            rows, cpu, memory, gpu
        self.group[first:stop] = np.fromiter(map(self.name_code.__getitem__, groups), np.int64, count)
        self.alive[first:stop] = 1
        if self._stacks is not None and count:
            if count > LAZY_AFTER:
                self._stacks = None                       # rebuilt when next needed
            else:
                for task, row, code in zip(range(first, stop), np.asarray(rows).tolist(),
                                           self.group[first:stop].tolist()):
                    stack = self._stacks.get((row, code))
                    if stack is None:
                        stack = self._stacks[(row, code)] = []
                        self._row_groups.setdefault(row, set()).add(code)
                    stack.append(task)
        self.ids += made_up
        self.ports += ports
        self.size = stop
        self.version += 1
        return range(first, stop)

    def add_one(self, row: int, group: str, cpu: int, memory: int, gpu: int, ports: frozenset[int]) -> range:
        """``add`` for one task with a made-up id (what start_task does most)."""
        t = self.size
        if t == len(self.rows):
            for name in ("rows", "group", "cpu", "memory", "gpu", "alive"):
                setattr(self, name, _grown(getattr(self, name), 2 * t, 0))
        task_id = f"task-{t}"
        if task_id in self.index:
            return self.add([None], [row], [group], [cpu], [memory], [gpu], [ports])
        code = self.name_code.get(group)
        if code is None:
            code = self.name_code[group] = len(self.names)
            self.names.append(group)
        self.rows[t], self.group[t], self.cpu[t], self.memory[t], self.gpu[t], self.alive[t] = \
            row, code, cpu, memory, gpu, 1
        self.ids.append(task_id)
        self.ports.append(ports)
        self.index[task_id] = t
        if self._stacks is not None:
            stack = self._stacks.get((row, code))
            if stack is None:
                stack = self._stacks[(row, code)] = []
                self._row_groups.setdefault(row, set()).add(code)
            stack.append(t)
        self.size = t + 1
        self.version += 1
        return range(t, t + 1)

    def kill(self, task: int, row: int | None = None) -> None:
        """Mark a live task stopped."""
        row, code = int(self.rows[task]) if row is None else row, int(self.group[task])
        stacks, row_groups = self._built()                # before the task leaves the live ones
        self.alive[task] = 0
        stack = stacks[(row, code)]
        stack.remove(task)
        if not stack:
            del stacks[(row, code)]
            row_groups[row].discard(code)
        self.version += 1

    def on_row(self, row: int) -> list[int]:
        """The live tasks on ``row``, in the order they came."""
        return sorted(t for code in self.row_groups.get(row, ()) for t in self.stacks[(row, code)])

    def latest(self, row: int, group: str, count: int, match) -> list[int]:
        """The ``count`` most recent live tasks of ``group`` on ``row`` for which ``match`` holds."""
        stack = self.stacks.get((row, self.name_code.get(group, -1)), [])
        return [t for t in reversed(stack) if match(t)][:count]

    def remap(self, old_to_new: np.ndarray) -> None:
        """Rows renumbered by a compaction (dead rows' tasks are dead already)."""
        live = np.flatnonzero(self.alive[:self.size])       # a dead task's row may predate earlier compactions
        self.rows[live] = old_to_new[self.rows[live]]
        self._stacks = None                                # rebuilt from the remapped rows when needed

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
        if len(tasks) == self.size:                       # none stopped: slices, not lookups
            ids, ports = tuple(self.ids[:self.size]), tuple(self.ports[:self.size])
        else:
            listed = tasks.tolist()
            ids, ports = tuple(map(self.ids.__getitem__, listed)), tuple(map(self.ports.__getitem__, listed))
        names = np.array(self.names + [""], dtype=object)[:len(self.names)]
        return TaskRecords(ids, rows.astype(np.int64), tuple(names[self.group[tasks]].tolist()),
                           self.cpu[tasks], self.memory[tasks], self.gpu[tasks], ports)

    def row_counts(self, row: int) -> dict[str, int]:
        """The live tasks per group on ``row``."""
        stacks, row_groups = self._built()
        return {self.names[code]: len(stacks[(row, code)]) for code in row_groups.get(row, ())}


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
        self.arns = list(columns.arns)
        self._position: dict[str, int] | None = None        # row by ARN, built on first use
        self.instance_id = GrowingCodes(columns.instance_id, self.capacity, self.changes)
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
        self.ports = list(columns.ports)
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
        arns = self._cached("arns", layout, lambda: tuple(self.arns) if live is None
                            else tuple(self.arns[i] for i in live.tolist()))
        ports = self._cached("ports", (layout, self.version), lambda: tuple(self.ports) if live is None
                             else tuple(self.ports[i] for i in live.tolist()))
        tasks = (layout, self.tasks.version)
        return Columns(
            arns=arns, instance_id=self.instance_id.column(pick), status=self.status.column(pick),
            agent_connected=self.agent_connected.column(pick),
            agent_version=numbers["agent_version"], registered_at=numbers["registered_at"],
            running_tasks=numbers["running_tasks"],
            attributes=MappingProxyType({name: column.column(pick) for name, column in sorted(self.attributes.items())}),
            groups=self._cached("groups", tasks, lambda: self.tasks.groups(n, live)),
            resources=MappingProxyType({name: numbers[name] for name in Columns.RESOURCES}),
            ports=ports, tasks=self._cached("tasks", tasks, lambda: self.tasks.records(live)))

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
    def position(self) -> dict[str, int]:
        """The physical row of each live instance's ARN (a fleet that is only read never asks)."""
        if self._position is None:                 # only ever dropped with no dead rows (start, compaction)
            self._position = {arn: i for i, arn in enumerate(self.arns)}
        return self._position

    def append(self, instances: list, tasks: TaskRecords) -> range:
        """Register checked instances (``ingest.InstanceRecord``, ARNs new) and the tasks they run."""
        first, count = self.size, len(instances)
        self._reserve(count)
        numbers, alive, attributes = self.numbers, self.alive, self.attributes
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
            self.position[record.arn] = row
            self.ports.append(record.ports)
        self.size, self.live = first + count, self.live + count
        if len(tasks):
            self.tasks.add(tasks.ids, tasks.rows, tasks.groups, tasks.cpu, tasks.memory, tasks.gpu, list(tasks.ports))
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
            records = TaskRecords((None,) * m, rows.astype(np.int64), tuple(groups.dictionary[c] for c in codes.tolist()),
                                  zero, zero, zero, (frozenset(),) * m)
        if len(records.ids):
            self.tasks.add(records.ids, records.rows + first_row, records.groups, records.cpu, records.memory,
                           records.gpu, list(records.ports))

    def remove(self, row: int) -> None:
        """Deregister: a tombstone; the instance's tasks stop counting."""
        self.alive[row] = 0
        self.live -= 1
        del self.position[self.arns[row]]
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
        self.arns = [self.arns[i] for i in keep.tolist()]
        self.ports = [self.ports[i] for i in keep.tolist()]
        self._position = None
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
