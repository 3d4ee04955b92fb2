import numpy as np

DEBUG_BUILD: bool

class Program:
    """A bound plan in the kernel's form; build it through ``placement.engine.bind``."""

    rows: int
    def __init__(self, rows: int, specs: list[tuple]) -> None: ...
    def run(self, threads: int = 1) -> np.ndarray: ...
    def evaluate_rows(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Evaluate only ``rows``, writing each one's value (0 or 1) into the uint8 ``out[row]``."""
