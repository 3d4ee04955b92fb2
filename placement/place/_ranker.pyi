"""The ranker indexes' shared base (``_ranker.pyx``); ``_tree`` and ``_draws`` hold the structures."""
import enum
from typing import Protocol

import numpy as np

from placement.place._state import State

class StrategyKind(enum.IntEnum):
    BINPACK_CPU = 0
    BINPACK_MEMORY = 1
    SPREAD_INSTANCE = 2
    SPREAD_BUCKET = 3
    RANDOM = 4

class Stale(Exception):
    """The index is behind the state's trimmed change log, or further behind than a rebuild costs."""

class Spread(Protocol):
    bucket_of: np.ndarray              # uint32 per row: the row's bucket
    counts: np.ndarray                 # int64 per bucket: tasks of the group

class Kind(Protocol):
    """What an index points into (``placement.place.indexes.Kind``)."""

    group: int
    group_count: np.ndarray            # int64 per row
    masks: list[np.ndarray]            # uint8 per row, one per memberOf
    distinct: bool
    kinds: list[StrategyKind]
    spreads: list[Spread]              # one per SPREAD_BUCKET strategy, in order
    layout: int
    cell_of: np.ndarray                # int64 per row (TreeIndex)
    cell_bucket: np.ndarray            # uint32 per cell and spread (TreeIndex)
    cells: int
    cell_capacity: int

class Index:
    group: int
    seen: int                          # the state's change log, caught up to here
    pointed: int                       # the layout the index's pointers were taken at
    stop: bool
    def __init__(self, state: State, spec: Kind) -> None: ...
    def point(self, spec: Kind) -> None: ...
    def catch_up(self) -> None: ...
    def place(self, count: int, cpu: int, memory: int, gpu: int, ports: tuple[int, ...],
              seed: int) -> tuple[np.ndarray, int, np.ndarray | None, int]:
        """(rows, the first task's number, host ports per task or None, generator state)."""

def place_many(indexes: list[Index], which: np.ndarray, counts: np.ndarray, cpus: np.ndarray, memories: np.ndarray,
               gpus: np.ndarray, seeds: np.ndarray, start: int, rows: np.ndarray, tasks: np.ndarray,
               offsets: np.ndarray) -> tuple[int, bool]:
    """(the next call, whether the last one left tasks unplaced)."""
