"""What a placement call returns, from either placer: the chosen instances, and for tasks that
could not be placed, how many instances each step removed."""
from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class PlacementResult:
    placements: tuple[Placement, ...]
    unplaced: int
    reasons: dict = field(default_factory=dict)   # for the first task that could not be placed
    seed: int | None = None

    def to_json(self) -> dict:
        return {"placements": [{"task": p.task, "containerInstanceArn": p.arn} for p in self.placements],
                "unplaced": self.unplaced, "reasons": self.reasons}
