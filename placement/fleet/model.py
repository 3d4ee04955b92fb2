"""The fleet: container instances in the order they were given, stored as ``Columns``.

Instance order is meaningful: masks are aligned with it and placement breaks ties by it. The
columns are the truth; ``Instance`` records are derived from them on demand for the reference
evaluator and for display. Every mutation a scheduler needs swaps in a new, validated ``Columns``
snapshot and bumps ``version``, which is how a bound plan knows it must rebind.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from placement.errors import InputError
from placement.fleet.columns import Columns
from placement.values import ABSENT, INT_ABSENT, VALUELESS, unpack_version
from placement.values import Version

_EMPTY: Mapping = MappingProxyType({})
_versions = itertools.count(1)


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
    """An ordered collection of container instances with unique ARNs."""

    def __init__(self, columns: Columns):
        self._set(columns.validate())

    def _set(self, columns: Columns) -> None:
        self._columns = columns
        self._position = {arn: i for i, arn in enumerate(columns.arns)}
        self._records: list[Instance | None] = [None] * len(columns)
        self.version = next(_versions)

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_ecs(cls, instances, tasks=None) -> "Fleet":
        """From the parsed JSON of ``aws ecs describe-container-instances`` (the document or its
        ``containerInstances`` list) and, optionally, of ``aws ecs describe-tasks``."""
        from placement.fleet.ingest import columns_from_ecs
        return cls(columns_from_ecs(instances, tasks))

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
        return cls.from_arrow(frame.to_arrow())

    def to_arrow(self):
        """The fleet as a ``pyarrow.Table`` that ``from_arrow`` reads back."""
        from placement.fleet.tables import to_arrow
        return to_arrow(self._columns)

    # -- reading -------------------------------------------------------------------------------

    @property
    def columns(self) -> Columns:
        return self._columns

    def __len__(self) -> int:
        return len(self._columns)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        record = self._records[index]
        if record is None:
            record = self._records[index] = self._record(index)
        return record

    def __iter__(self) -> Iterator[Instance]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<Fleet of {len(self)} instances, version {self.version}>"

    def _record(self, row: int) -> Instance:
        c = self._columns
        attributes = {}
        for name, column in c.attributes.items():
            value = column.value_at(row)
            if value is not ABSENT:
                attributes[name] = None if value is VALUELESS else value
        r = c.resources
        return Instance(
            arn=c.arns[row], ec2_instance_id=_plain(c.instance_id.value_at(row)),
            status=_plain(c.status.value_at(row)), agent_connected=_plain(c.agent_connected.value_at(row)),
            agent_version=unpack_version(int(c.agent_version[row])),
            registered_at=None if c.registered_at[row] == INT_ABSENT else int(c.registered_at[row]),
            running_tasks_count=int(c.running_tasks[row]),
            attributes=MappingProxyType(attributes),
            task_groups=MappingProxyType(c.groups.groups_at(row)),
            remaining=Resources(int(r["remaining_cpu"][row]), int(r["remaining_memory"][row]),
                                int(r["remaining_gpu"][row]), c.ports[row]),
            registered=Resources(int(r["registered_cpu"][row]), int(r["registered_memory"][row]),
                                 int(r["registered_gpu"][row])))

    @property
    def arns(self) -> list[str]:
        return list(self._columns.arns)

    def position(self, arn: str) -> int:
        """Where the instance with ``arn`` stands in the fleet."""
        try:
            return self._position[arn]
        except KeyError:
            raise InputError(f"no container instance {arn!r} in the fleet") from None

    def ids(self, mask) -> list[str]:
        """The ARNs of the instances where ``mask`` (one bool per instance) is true."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self),):
            raise InputError(f"mask has shape {mask.shape}; the fleet has {len(self)} instances")
        arns = self._columns.arns
        return [arns[i] for i in np.flatnonzero(mask)]

    # -- mutations a scheduler needs -----------------------------------------------------------

    def register(self, instances, tasks=None) -> None:
        """Append instances given as ECS JSON (a document, a list, or one instance object)."""
        from placement.fleet.ingest import columns_from_ecs
        if isinstance(instances, dict) and "containerInstances" not in instances:
            instances = [instances]
        added = columns_from_ecs(instances, tasks)
        clash = set(added.arns) & set(self._position)
        if clash:
            raise InputError(f"already registered: {sorted(clash)[0]!r}")
        self._set(self._columns.concat(added).validate())

    def deregister(self, arn: str) -> None:
        keep = np.arange(len(self)) != self.position(arn)
        self._set(self._columns.take(np.flatnonzero(keep)).validate())

    def put_attribute(self, arn: str, name: str, value: str | None = None) -> None:
        """Set attribute ``name`` (value-less when ``value`` is None), as ``ecs put-attributes``."""
        if not isinstance(name, str) or not name or (value is not None and not isinstance(value, str)):
            raise InputError(f"an attribute needs a non-empty name and a string value or none, got {name!r}={value!r}")
        row = self.position(arn)
        self._set(self._columns.with_attribute(row, name, VALUELESS if value is None else value).validate())

    def delete_attribute(self, arn: str, name: str) -> None:
        self._set(self._columns.with_attribute(self.position(arn), name, ABSENT).validate())

    def start_task(self, arn: str, group: str, count: int = 1, *, cpu: int = 0, memory: int = 0,
                   gpu: int = 0, ports=()) -> None:
        """Record ``count`` RUNNING tasks of ``group`` on the instance, each using ``cpu``,
        ``memory``, ``gpu`` and the static host ``ports`` (runningTasksCount follows)."""
        self._change_tasks(arn, group, count, cpu, memory, gpu, ports)

    def stop_task(self, arn: str, group: str, count: int = 1, *, cpu: int = 0, memory: int = 0,
                  gpu: int = 0, ports=()) -> None:
        """The inverse of ``start_task``: the tasks' resources and ports come back."""
        self._change_tasks(arn, group, -count, cpu, memory, gpu, ports)

    def _change_tasks(self, arn: str, group: str, delta: int, cpu: int, memory: int, gpu: int, ports) -> None:
        if not isinstance(group, str) or not group or not isinstance(delta, int) or isinstance(delta, bool):
            raise InputError(f"a task needs a group name and an integer count, got {group!r}, {delta!r}")
        for name, value in (("cpu", cpu), ("memory", memory), ("gpu", gpu)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"task {name} must be a non-negative integer, got {value!r}")
        static = frozenset(int(p) for p in ports if p)
        row = self.position(arn)
        self._set(self._columns.with_tasks(row, group, delta, cpu, memory, gpu, static).validate())
