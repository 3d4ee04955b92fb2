import numpy as np

from placement.place._ranker import Index, Kind
from placement.place._state import State

class DrawIndex(Index):
    """Random first: the allowed rows as bits per block, a Fenwick tree of counts, redraws."""

    def __init__(self, state: State, spec: Kind) -> None: ...
    def __len__(self) -> int: ...

class ScanIndex(Index):
    """Random after other strategies, random final ties, or scale-in with random: a pass per task."""

    def __init__(self, state: State, spec: Kind, random_ties: bool = False, stop: bool = False) -> None: ...
    def stop_tasks(self, count: int, seed: int) -> tuple[np.ndarray, int]:
        """Scale-in: (numbers, rows, fleet task indices (-1: placed)) as a 3 x stopped array, and
        the generator state."""
