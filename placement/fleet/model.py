"""The fleet: container instances as immutable records, in the order they were given.

This is the record view the reference evaluator reads (and what every ingest path produces).
Instance order is meaningful: masks are aligned with it and placement breaks ties by it.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from placement.errors import InputError
from placement.values import Version

_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True)
class Resources:
    """cpu units, MiB of memory, GPUs, and the static TCP host ports in use."""

    cpu: int = 0
    memory: int = 0
    gpu: int = 0
    ports: frozenset[int] = frozenset()


@dataclass(frozen=True, eq=False)
class Instance:
    """One container instance. ``None`` means the document did not say."""

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


class Fleet(Sequence[Instance]):
    """An ordered, immutable collection of instances with unique ARNs."""

    def __init__(self, instances: Iterable[Instance]):
        self._instances = tuple(instances)
        self._position: dict[str, int] = {}
        for i, instance in enumerate(self._instances):
            if instance.arn in self._position:
                raise InputError(f"containerInstances[{i}]: duplicate containerInstanceArn {instance.arn!r}")
            self._position[instance.arn] = i

    @classmethod
    def from_ecs(cls, instances, tasks=None) -> "Fleet":
        """From the parsed JSON of ``aws ecs describe-container-instances`` (the document or its
        ``containerInstances`` list) and, optionally, of ``aws ecs describe-tasks``."""
        from placement.fleet.ingest import fleet_from_ecs
        return fleet_from_ecs(instances, tasks)

    def __len__(self) -> int:
        return len(self._instances)

    def __getitem__(self, index):
        return self._instances[index]

    def __iter__(self) -> Iterator[Instance]:
        return iter(self._instances)

    def __repr__(self) -> str:
        return f"<Fleet of {len(self)} instances>"

    @property
    def arns(self) -> list[str]:
        return [instance.arn for instance in self._instances]

    def position(self, arn: str) -> int:
        """Where the instance with ``arn`` stands in the fleet; ``KeyError`` if it is not there."""
        return self._position[arn]

    def ids(self, mask) -> list[str]:
        """The ARNs of the instances where ``mask`` (one bool per instance) is true."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self),):
            raise InputError(f"mask has shape {mask.shape}; the fleet has {len(self)} instances")
        return [self._instances[i].arn for i in np.flatnonzero(mask)]
