"""A prepared request's per-call path and its result, in C (``_request.pyx``)."""
from typing import Callable

import numpy as np

from placement.place.result import Placement

class PlacementResult:
    positions: np.ndarray              # int64 fleet position per placed task, in task order
    rows: np.ndarray                   # the store's physical rows (fleet_arns is indexed by them)
    fleet_arns: list[str]
    unplaced: int
    reasons: dict
    seed: int | None
    first_task: int                    # the placed tasks are numbered from here on (-1: none)
    def __init__(self, positions: np.ndarray, fleet_arns, unplaced: int, reasons: dict | None = None,
                 seed: int | None = None, *, rows: np.ndarray | None = None, first_task: int = -1,
                 host_ports: np.ndarray | None = None, names: Callable[[int], str] | None = None) -> None: ...
    @property
    def tasks(self) -> np.ndarray | None: ...
    @property
    def host_ports(self) -> np.ndarray: ...
    @property
    def arns(self) -> list[str]: ...
    @property
    def task_ids(self) -> list[str]: ...
    @property
    def placements(self) -> tuple[Placement, ...]: ...
    def to_json(self) -> dict: ...

class Request:
    group: str
    constraints: tuple
    strategies: tuple
    draws: bool
    def place(self, count: int = 1, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=(),
              seed: int | None = None) -> PlacementResult: ...
