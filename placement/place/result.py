"""What a placement call returns, from either placer: the chosen instances, and for tasks that
could not be placed, how many instances each step removed."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np


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
    task: int                # 0-based index of the task in the request
    arn: str
    position: int            # the instance's position in the fleet


@dataclass(frozen=True, eq=False)
class PlacementResult:
    """Task ``t`` went to the instance at ``positions[t]``; tasks past ``len(positions)`` were
    not placed, for the ``reasons`` (counted for the first of them)."""

    positions: np.ndarray              # int64, one per placed task, in task order
    fleet_arns: tuple[str, ...]        # the fleet's ARNs when the tasks were placed
    unplaced: int
    reasons: dict = field(default_factory=dict)
    seed: int | None = None

    @functools.cached_property
    def placements(self) -> tuple[Placement, ...]:
        arns = self.fleet_arns
        return tuple(Placement(t, arns[row], row) for t, row in enumerate(self.positions.tolist()))

    @property
    def arns(self) -> list[str]:
        arns = self.fleet_arns
        return [arns[row] for row in self.positions.tolist()]

    def to_json(self) -> dict:
        return {"placements": [{"task": t, "containerInstanceArn": arn} for t, arn in enumerate(self.arns)],
                "unplaced": self.unplaced, "reasons": self.reasons}
