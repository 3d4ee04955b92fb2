"""The fleet: container instances in the order they were given, stored as columns.

Instance order is meaningful: masks are aligned with it and placement breaks ties by it. The
columns are the truth; ``Instance`` records are derived from them on demand for the reference
evaluator and for display. The columns live in a ``FleetStore`` (``placement.fleet.store``) that
every mutation a scheduler needs changes in place, in time proportional to the change; each one
bumps ``version``, which is how a bound plan knows it must rebind, and journals an event, which
is how a live placer follows without rebuilding.

Threads: a fleet is shared by the threads of a scheduler process under a readers-writer lock
(``placement.fleet.lock``), chosen over copy-on-write versions because a version that stays
valid while the next is written needs buffers of its own, and copying them would make every
event cost the size of the fleet. Each mutation below holds the lock exclusively for its whole
change (its events and version bump included), so no reader ever sees half of one. Readers
share it: the reading methods here, ``Predicate.evaluate`` (bind and kernel run), explain, and a
placer replaying the journal (``placement.place.state``). A reader that needs several reads to
agree (the ``columns`` snapshot shares the live buffers, valid until the next change) holds
``with fleet.reading():`` around them; ``fleet.version`` read inside it names the version read.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from placement.errors import InputError, preview
from placement.fleet.columns import Columns, TaskRecords
from placement.fleet.lock import ReadWriteLock
from placement.fleet.store import FleetStore
from placement.fleet.ingest import MAX_AMOUNT
from placement.values import ABSENT, INT_ABSENT, VALUELESS, Version, is_unicode, unpack_version

_EMPTY: Mapping = MappingProxyType({})
_NO_PORTS: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Resources:
    """cpu units, MiB of memory, GPUs, and the static TCP host ports in use."""

    cpu: int = 0
    memory: int = 0
    gpu: int = 0
    ports: frozenset[int] = frozenset()


@dataclass(frozen=True, eq=False)
class Instance:
    """One container instance, as the reference evaluator reads it. ``None``: not given."""

    arn: str
    ec2_instance_id: str | None = None
    status: str | None = None
    agent_connected: bool | None = None
    agent_version: Version | None = None
    registered_at: int | None = None             # microseconds since the epoch, UTC
    running_tasks_count: int = 0
    attributes: Mapping[str, str | None] = field(default_factory=lambda: _EMPTY)  # None: value-less
    task_groups: Mapping[str, int] = field(default_factory=lambda: _EMPTY)  # RUNNING tasks per group
    remaining: Resources = field(default_factory=Resources)
    registered: Resources = field(default_factory=Resources)


def _plain(value):
    return None if value is ABSENT else value


class Fleet(Sequence[Instance]):
    """An ordered collection of container instances with unique ARNs.

    Thread-safe through a readers-writer lock (``lock``; see the module docstring): mutations
    (``register``, ``deregister``, ``put_attribute``, ``delete_attribute``, ``set_status``,
    ``start_task``, ``stop_task``, ``stop_tasks``) run one at a time and alone, each still costing
    what it changes (nothing is copied to let readers go on); reads run together. An evaluation
    runs on one version of the fleet, whole. ``with fleet.reading():`` holds a consistent view
    across several reads (``columns`` and what it shares stay valid inside it); a mutation from
    inside it raises ``RuntimeError`` (it would wait for itself)."""

    def __init__(self, columns: Columns, warnings: Sequence[str] = (), tasks_given: bool | None = None):
        self._lock = ReadWriteLock()
        self._store = FleetStore(columns.validate())
        self._records: dict[int, Instance] = {}      # by physical row
        self.warnings: tuple[str, ...] = tuple(warnings)   # what ingest assumed, dropped or defaulted
        self.tasks_given = tasks_given               # whether the source said what runs (None: unknown)

    @property
    def version(self) -> int:
        """Changes with every mutation (a number never reused by any fleet)."""
        return self._store.version

    @property
    def lock(self) -> ReadWriteLock:
        """The readers-writer lock every mutation takes exclusively and every read shares."""
        return self._lock

    def reading(self):
        """``with fleet.reading():`` no mutation happens inside (other threads' wait)."""
        return self._lock.shared

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_ecs(cls, instances, tasks=None) -> "Fleet":
        """From ``aws ecs describe-container-instances`` and, optionally, ``aws ecs describe-tasks``:
        each the parsed JSON (boto3's responses, ``datetime`` values included), the JSON text
        (``str`` / ``bytes``), a path or a binary file; a document, its list, a list of pages or
        concatenated documents (joined in order)."""
        from placement.fleet.ingest import columns_from_ecs
        columns, warnings = columns_from_ecs(instances, tasks)
        return cls(columns, warnings, tasks_given=tasks is not None)

    @classmethod
    def read(cls, source, tasks=None) -> "Fleet":
        """From a file: a table by its suffix (``.csv``, ``.parquet``, ``.feather`` / ``.arrow`` /
        ``.ipc``), otherwise ECS JSON in any form ``from_ecs`` takes; ``"-"`` is standard input
        (JSON). ``tasks``: a ``describe-tasks`` file (or ``"-"``), for JSON fleets."""
        from pathlib import Path
        from placement.fleet.tables import TABLE_SUFFIXES, read_table_file
        for given in (source, tasks):
            if given is not None and not isinstance(given, (str, Path)):
                raise InputError(f"expected a file path (a str or Path, or \"-\"), got {type(given).__name__}")
        if source is None:
            raise InputError("expected a file path (a str or Path, or \"-\"), got None")
        if source != "-" and Path(source).suffix.lower() in TABLE_SUFFIXES:
            if tasks is not None:
                raise InputError("--tasks goes with an ECS JSON fleet; a table carries task:group as a column")
            return read_table_file(Path(source))
        from placement.fleet.ingest import read_source
        return cls.from_ecs(read_source(source, "fleet"), None if tasks is None else read_source(tasks, "tasks"))

    @classmethod
    def from_arrow(cls, table) -> "Fleet":
        """From a ``pyarrow.Table`` with one column per subject (see ``placement.fleet.tables``)."""
        from placement.fleet.tables import columns_from_arrow
        return cls(columns_from_arrow(table))

    @classmethod
    def from_pandas(cls, frame) -> "Fleet":
        from placement.fleet.tables import arrow_from_pandas
        return cls.from_arrow(arrow_from_pandas(frame))

    @classmethod
    def from_polars(cls, frame) -> "Fleet":
        to_arrow = getattr(frame, "to_arrow", None) if type(frame).__module__.startswith("polars") else None
        if to_arrow is None:
            raise InputError(f"expected a polars.DataFrame, got {type(frame).__name__}")
        return cls.from_arrow(to_arrow())

    def to_arrow(self):
        """The fleet as a ``pyarrow.Table`` that ``from_arrow`` reads back."""
        from placement.fleet.tables import to_arrow
        with self._lock.shared:
            return to_arrow(self.columns)

    # -- reading -------------------------------------------------------------------------------

    @property
    def columns(self) -> Columns:
        """The live instances as ``Columns``, valid until the fleet next changes (hold
        ``reading()`` to keep using them while other threads may change the fleet)."""
        lock = self._lock
        lock.acquire_read()
        try:
            return self._store.snapshot()
        finally:
            lock.release_read()

    @property
    def store(self) -> FleetStore:
        """The mutable physical form (rows with tombstones) that placers follow."""
        return self._store

    @property
    def tasks(self) -> TaskRecords:
        """The RUNNING tasks, in the order they came (``describe-tasks`` input, then ``start_task``)."""
        return self.columns.tasks

    def __len__(self) -> int:
        return self._store.live

    def __getitem__(self, index):
        lock = self._lock
        lock.acquire_read()
        try:
            if isinstance(index, slice):
                return [self[i] for i in range(*index.indices(len(self)))]
            if index < 0:
                index += len(self)
            if not 0 <= index < len(self):
                raise IndexError(index)
            live = self._store.live_rows()
            row = index if live is None else int(live[index])
            record = self._records.get(row)
            if record is None:
                record = self._records[row] = self._record(row, index)
            return record
        finally:
            lock.release_read()

    def __iter__(self) -> Iterator[Instance]:
        """Each instance under the lock; hold ``reading()`` around the loop for one version throughout."""
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<Fleet of {len(self)} instances, version {self.version}>"

    def _task_groups(self, row: int, index: int) -> dict[str, int]:
        """Per group, the instance's live tasks: from the task stacks once a change has built them,
        else from the snapshot's group column (vectorised, for a fleet that is only read)."""
        if self._store.tasks.stacks_built:
            return self._store.tasks.row_counts(row)
        groups = self.columns.groups
        start, stop = int(groups.offsets[index]), int(groups.offsets[index + 1])
        return {groups.dictionary[code]: count
                for code, count in zip(groups.codes[start:stop].tolist(), groups.counts[start:stop].tolist())}

    def _record(self, row: int, index: int) -> Instance:
        store = self._store
        attributes = {}
        for name, column in sorted(store.attributes.items()):
            value = column.value_at(row)
            if value is not ABSENT:
                attributes[name] = None if value is VALUELESS else value
        numbers = store.numbers

        def value(column):
            found = column.value_at(row)
            return None if found is ABSENT or found is VALUELESS else found

        return Instance(
            arn=store.arns[row], ec2_instance_id=value(store.instance_id), status=value(store.status),
            agent_connected=value(store.agent_connected),
            agent_version=unpack_version(int(numbers["agent_version"][row])),
            registered_at=None if numbers["registered_at"][row] == INT_ABSENT else int(numbers["registered_at"][row]),
            running_tasks_count=int(numbers["running_tasks"][row]),
            attributes=MappingProxyType(attributes),
            task_groups=MappingProxyType(dict(sorted(self._task_groups(row, index).items()))),
            remaining=Resources(int(numbers["remaining_cpu"][row]), int(numbers["remaining_memory"][row]),
                                int(numbers["remaining_gpu"][row]), store.ports[row]),
            registered=Resources(int(numbers["registered_cpu"][row]), int(numbers["registered_memory"][row]),
                                 int(numbers["registered_gpu"][row])))

    @property
    def arns(self) -> list[str]:
        with self._lock.shared:
            live = self._store.live_rows()
            arns = self._store.arns
            return arns.tolist() if live is None else arns.column(live).tolist()

    def _row(self, arn: str) -> int:
        try:
            return self._store.position[arn]
        except (KeyError, TypeError):
            raise InputError(f"no container instance {arn!r} in the fleet") from None

    def position(self, arn: str) -> int:
        """Where the instance with ``arn`` stands in the fleet."""
        with self._lock.shared:
            row = self._row(arn)
            return row - bisect.bisect_left(self._store.dead_rows, row)

    def ids(self, mask) -> list[str]:
        """The ARNs of the instances where ``mask`` (one bool per instance) is true."""
        mask = np.asarray(mask, dtype=bool)
        with self._lock.shared:
            if mask.shape != (len(self),):
                raise InputError(f"mask has shape {mask.shape}; the fleet has {len(self)} instances")
            arns = self.columns.arns
        rows = np.flatnonzero(mask)
        take = getattr(arns, "take", None)                # a string column: decoded together
        return take(rows).tolist() if take is not None else [arns[i] for i in rows.tolist()]

    # -- mutations a scheduler needs, each in time proportional to what it changes ---------------
    # Each holds the lock exclusively (acquired inline: a context manager's frames cost more than
    # the lock); checks that need no fleet state run before it.

    def _changed(self, row: int) -> None:
        self._records.pop(row, None)

    def register(self, instances, tasks=None) -> None:
        """Append instances given as ECS JSON (a document, a list, or one instance object)."""
        from placement.fleet.ingest import instance_records, tasks_on
        if isinstance(instances, dict) and "containerInstances" not in instances:
            instances = [instances]
        records = instance_records(instances)
        lock = self._lock
        lock.acquire_write()
        try:
            clash = next((r.arn for r in records if r.arn in self._store.position), None)
            if clash is not None:
                raise InputError(f"already registered: {clash!r}")
            self._store.append(records, tasks_on(records, tasks, self._store.size))
        finally:
            lock.release_write()

    def deregister(self, arn: str) -> None:
        """Remove the instance; its tasks stop counting."""
        lock = self._lock
        lock.acquire_write()
        try:
            row = self._row(arn)
            self._store.remove(row)
            if len(self._store.dead_rows):
                self._changed(row)
            else:                                   # compacted: every row moved
                self._records.clear()
        finally:
            lock.release_write()

    def put_attribute(self, arn: str, name: str, value: str | None = None) -> None:
        """Set attribute ``name`` (value-less when ``value`` is None), as ``ecs put-attributes``."""
        if not _text(name) or (value is not None and not (isinstance(value, str) and is_unicode(value))):
            raise InputError("an attribute needs a non-empty name and a string value or none (valid Unicode), "
                             f"got {preview(name)}={preview(value)}")
        self._set_attribute(arn, name, VALUELESS if value is None else value)

    def delete_attribute(self, arn: str, name: str) -> None:
        if not _text(name):
            raise InputError(f"an attribute needs a non-empty name (valid Unicode), got {preview(name)}")
        self._set_attribute(arn, name, ABSENT)

    def _set_attribute(self, arn: str, name: str, value) -> None:
        lock = self._lock
        lock.acquire_write()
        try:
            row = self._row(arn)
            if value is ABSENT and name not in self._store.attributes:
                return
            self._store.set_code(self._store.attribute(name), row, value, ("attribute", row, name))
            self._changed(row)
        finally:
            lock.release_write()

    def set_status(self, arn: str, status: str) -> None:
        """The instance's status, as ``ecs update-container-instances-state`` sets it (``DRAINING``)."""
        if not _text(status):
            raise InputError(f"a status must be a non-empty string (valid Unicode), got {preview(status)}")
        lock = self._lock
        lock.acquire_write()
        try:
            row = self._row(arn)
            self._store.set_code(self._store.status, row, status, ("status", row))
            self._changed(row)
        finally:
            lock.release_write()

    def start_task(self, arn: str, group: str, count: int = 1, *, cpu: int = 0, memory: int = 0,
                   gpu: int = 0, ports=()) -> list[str]:
        """Record ``count`` RUNNING tasks of ``group`` on the instance, each using ``cpu``,
        ``memory``, ``gpu`` and the static host ``ports`` (runningTasksCount follows); returns their ids."""
        if not (type(group) is str and group and type(count) is int and 0 <= count <= 10_000_000
                and (group.isascii() or is_unicode(group))):
            _check_tasks(group, count)
        if not (type(cpu) is int and type(memory) is int and type(gpu) is int
                and 0 <= min(cpu, memory, gpu) and max(cpu, memory, gpu) <= MAX_AMOUNT):
            for name, value in (("cpu", cpu), ("memory", memory), ("gpu", gpu)):
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
                    raise InputError(f"task {name} must be an integer from 0 to {MAX_AMOUNT:,}, got {preview(value)}")
        static = frozenset(_port(p) for p in ports if p) if ports else _NO_PORTS
        lock = self._lock
        lock.acquire_write()
        try:
            row = self._row(arn)
            started = self._store.start_tasks(row, group, count, cpu, memory, gpu, static)
            self._records.pop(row, None)
            return self._store.tasks.ids[started.start:started.stop]
        finally:
            lock.release_write()

    def stop_task(self, arn: str, group: str, count: int = 1, *, cpu: int | None = None,
                  memory: int | None = None, gpu: int | None = None, ports=None) -> None:
        """Stop the ``count`` most recent tasks of ``group`` on the instance (those that took
        ``cpu``, ``memory``, ``gpu`` and ``ports`` where given): what each took comes back."""
        _check_tasks(group, count)
        want = frozenset(_port(p) for p in ports if p) if ports is not None else None
        lock = self._lock
        lock.acquire_write()
        try:
            row = self._row(arn)
            if count == 0:                                # nothing to stop: no walk, no change
                return
            table = self._store.tasks
            given = [(table.cpu, cpu), (table.memory, memory), (table.gpu, gpu)]

            def match(task: int) -> bool:
                return all(amount is None or int(array[task]) == amount for array, amount in given) and \
                    (want is None or table.ports[task] == want)

            chosen = table.latest(row, group, count, match)
            if len(chosen) < count:
                raise InputError(f"{arn} runs {len(chosen)} such tasks of {group!r}; cannot stop {count}")
            self._store.stop_tasks(chosen)
            self._changed(row)
        finally:
            lock.release_write()

    def stop_tasks(self, task_ids) -> None:
        """Stop the tasks with these ids (``taskArn`` or the ids ``start_task`` returned)."""
        lock = self._lock
        lock.acquire_write()
        try:
            table = self._store.tasks
            chosen = [table.index.get(task_id) if isinstance(task_id, str) else None for task_id in task_ids]
            if None in chosen or not all(table.alive[task] for task in chosen) or len(set(chosen)) != len(chosen):
                bad = next((t for t, task in zip(task_ids, chosen) if task is None or not table.alive[task]),
                           next(iter(task_ids), None))
                raise InputError(f"no running task {bad!r} in the fleet (or named twice)")
            self._store.stop_tasks(chosen)
            for task in chosen:
                self._changed(int(table.rows[task]))
        finally:
            lock.release_write()


def _text(value) -> bool:
    return isinstance(value, str) and bool(value) and is_unicode(value)


def _check_tasks(group, count) -> None:
    if not _text(group):
        raise InputError(f"a task needs a group name (valid Unicode), got {preview(group)}")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 10_000_000:
        raise InputError(f"a task count must be an integer from 0 to 10,000,000, got {count!r}")


def _port(port) -> int:
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise InputError(f"a host port must be an integer from 1 to 65535, got {port!r}")
    return port
