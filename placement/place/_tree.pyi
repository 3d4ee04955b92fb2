import numpy as np

from placement.place._ranker import Index, Kind
from placement.place._state import State

class TreeIndex(Index):
    """Per cell a treap by (instance keys, position) with subtree maxima; ``stop`` ranks for scale-in."""

    def __init__(self, state: State, spec: Kind, stop: bool = False) -> None: ...
    def __len__(self) -> int: ...
    def stop_tasks(self, count: int) -> np.ndarray:
        """Scale-in: stop up to ``count`` tasks one at a time; their numbers, rows and fleet task
        indices (-1: placed), in order, as a 3 x stopped array."""
