import enum

import numpy as np

class StrategyKind(enum.IntEnum):
    BINPACK_CPU = 0
    BINPACK_MEMORY = 1
    SPREAD_INSTANCE = 2
    SPREAD_BUCKET = 3
    RANDOM = 4

Ranking = list[tuple[StrategyKind, np.ndarray | None, np.ndarray | None]]

class _Index:
    state: dict
    strategies: Ranking
    def update(self, rows: np.ndarray) -> None: ...
    def __len__(self) -> int: ...
    def place(self, count: int, chosen: np.ndarray, seed_state: int, rows: np.ndarray,
              counts: np.ndarray) -> tuple[int, int, int]: ...

class HeapIndex(_Index):
    """Per-cell heaps for chains without ``random``."""

    def __init__(self, state: dict, strategies: Ranking, cell_of: np.ndarray, cells: int, need_cpu: int,
                 need_memory: int, need_gpu: int, leave_after_placing: bool) -> None: ...

class DrawIndex(_Index):
    """A Fenwick tree over positions for chains that start with ``random``."""

    def __init__(self, state: dict, strategies: Ranking, need_cpu: int, need_memory: int, need_gpu: int,
                 leave_after_placing: bool) -> None: ...

def place_batch(state: dict, strategies: Ranking, candidates: np.ndarray, candidate_count: int, need_cpu: int,
                need_memory: int, need_gpu: int, leave_after_placing: bool, count: int, seed_state: int,
                random_ties: bool, chosen: np.ndarray) -> tuple[int, int, int]: ...
