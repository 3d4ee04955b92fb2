import numpy as np

DEBUG_BUILD: bool

class Program:
    """A bound plan in the kernel's form; build it through ``placement.engine.bind``."""

    rows: int
    def __init__(self, rows: int, specs: list[tuple]) -> None: ...
    def run(self, threads: int = 1) -> np.ndarray: ...
