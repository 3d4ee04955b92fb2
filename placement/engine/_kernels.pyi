import numpy as np

DEBUG_BUILD: bool

class Program:
    """A bound plan in the kernel's form; build it through ``placement.engine.bind``."""

    rows: int
    def __init__(self, rows: int, specs: list[tuple]) -> None: ...
    def run(self, threads: int = 1, packed: bool = False) -> np.ndarray:
        """The mask: one bool per row, or with ``packed`` ⌈rows / 8⌉ uint8 of bits, LSB first."""
    def trace(self, start: int = 0, stop: int = -1) -> np.ndarray:
        """Trace mode: per node in preorder, how many of rows [start, stop) it is true for
        (int64), every node evaluated on every row, without early exit. ``stop`` -1: all rows."""
    def evaluate_rows(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Evaluate only ``rows``, writing each one's value (0 or 1) into the uint8 ``out[row]``."""
