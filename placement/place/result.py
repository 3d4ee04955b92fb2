"""What placing and stopping return, from either placer: arrays first (positions, task numbers,
host ports), the Python objects a person reads (ARNs, task ids, placements) built only when asked."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from placement.place._request import PlacementResult

__all__ = ["SplitMix64", "Placement", "PlacementResult", "BatchResult", "Stop", "StopResult"]


class SplitMix64:
    """The seeded generator both placers share, so that ``random`` is reproducible and the fast
    placer can match the reference draw for draw (``numpy`` and ``random`` differ across
    versions; this is twelve lines)."""

    MASK = (1 << 64) - 1

    def __init__(self, seed: int):
        self.state = seed & self.MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def choose(self, count: int) -> int:
        """An index in ``range(count)``: one draw, modulo (the bias is below 2**-50 here)."""
        return self.next() % count


@dataclass(frozen=True)
class Placement:
    task: int                          # 0-based index of the task in the request
    arn: str
    position: int                      # the instance's position in the fleet
    task_id: str | None = None
    host_ports: tuple[int, ...] = ()   # the host port of each requested port, in request order


class BatchResult:
    """``place_many``: call ``i`` placed the tasks ``offsets[i]:offsets[i + 1]`` of the arrays;
    ``result[i]`` is that call's ``PlacementResult``."""

    def __init__(self, positions, rows, tasks, offsets, unplaced, reasons, seeds, fleet_arns, names):
        self.positions, self.rows, self.tasks, self.offsets = positions, rows, tasks, offsets
        self.unplaced, self.reasons, self.seeds = unplaced, reasons, seeds   # reasons: call -> dict
        self.fleet_arns, self._names = fleet_arns, names

    def __len__(self) -> int:
        return len(self.unplaced)

    @property
    def placed(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, call: int) -> PlacementResult:
        start, stop = int(self.offsets[call]), int(self.offsets[call + 1])
        seed = None if self.seeds is None else int(self.seeds[call])
        return PlacementResult(self.positions[start:stop], self.fleet_arns, int(self.unplaced[call]),
                               self.reasons.get(call, {}), seed, rows=self.rows[start:stop],
                               first_task=int(self.tasks[start]) if stop > start else -1, names=self._names)

    @property
    def arns(self) -> list[str]:
        arns = self.fleet_arns
        return [arns[row] for row in self.rows.tolist()]

    @property
    def task_ids(self) -> list[str]:
        return [self._names(number) for number in self.tasks.tolist()]


@dataclass(frozen=True)
class Stop:
    task_id: str
    arn: str                           # the container instance it ran on
    position: int


class StopResult:
    """``select_to_stop``: the tasks stopped, in stop order; ``short`` tasks fewer than asked."""

    def __init__(self, stops: tuple[Stop, ...], short: int, remaining: dict, seed: int | None = None):
        self.stops, self.short, self.remaining, self.seed = stops, short, remaining, seed

    @property
    def task_ids(self) -> list[str]:
        return [stop.task_id for stop in self.stops]

    @property
    def arns(self) -> list[str]:
        return [stop.arn for stop in self.stops]

    def to_json(self) -> dict:
        return {"stop": [{"taskArn": s.task_id, "containerInstanceArn": s.arn} for s in self.stops],
                "remaining": self.remaining}

    def __repr__(self) -> str:
        return f"<StopResult {len(self.stops)} stopped, {self.short} short>"
