"""Hand-written placers a scheduler's author would otherwise write, for the mixed stream of
``placement.bench.placement``: each makes exactly the fast placer's decisions (every run checks it)
for ``binpack(memory)`` and ``spread(AZ), binpack(memory)``, with any demand per call and tasks
departing oldest first.

- ``NumpyBaseline``: per task, the fitting allowed instances as a numpy mask, one int64 key
  (tasks in the zone, then memory; ``argmin`` takes the first, the lowest position), update.
- ``HeapBaseline``: pure Python, per zone a ``heapq`` of (memory, position) with stale entries
  dropped when popped; per task, zones in order of their task counts, each popping until an
  instance fits (the ones that do not are pushed back).
- ``SortedListBaseline``: pure Python, per zone a sorted ``list`` of (memory, position); per
  task ``bisect`` to the first with enough memory, then forward to one with enough cpu.

All start from ``Start`` (what the fleet and the constraint allow, resources, the zones and the
group's tasks per zone) and report the row of every placement, in order.
"""
from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass

import numpy as np


@dataclass
class Start:
    allowed: np.ndarray          # bool per row: eligible and the constraint holds
    cpu: np.ndarray              # int64 remaining
    memory: np.ndarray
    zone: np.ndarray             # int64 bucket of each row
    zone_tasks: np.ndarray       # int64 tasks of the group per bucket (every instance counts)


class Baseline:
    """Runs a stream: ``calls`` (cpu, memory, count); after every ``chunk`` calls the oldest tasks
    beyond ``cap`` depart. ``max_tasks``: how much of a stream the comparison times (slow ones)."""

    name = "?"
    max_tasks: int | None = None

    def __init__(self, start: Start, spread: bool):
        self.start, self.spread = start, spread

    def run(self, calls: np.ndarray, chunk: int, cap: int) -> np.ndarray:
        self.reset()
        rows, placed, gone = [], 0, 0
        tasks: list[tuple[int, int, int]] = []       # (row, cpu, memory) in placement order
        for first in range(0, len(calls), chunk):
            for cpu, memory, count in calls[first:first + chunk].tolist():
                for _ in range(count):
                    row = self.place(cpu, memory)
                    if row < 0:
                        raise AssertionError(f"{self.name}: nowhere to place task {placed}")
                    rows.append(row)
                    tasks.append((row, cpu, memory))
                    placed += 1
            while placed - gone > cap:
                self.stop(*tasks[gone])
                gone += 1
        return np.array(rows, dtype=np.int64)


class NumpyBaseline(Baseline):
    name = "numpy"
    max_tasks = None

    def reset(self):
        s = self.start
        self.cpu, self.memory, self.zone_tasks = s.cpu.copy(), s.memory.copy(), s.zone_tasks.copy()
        self.scale = int(s.memory.max(initial=0)) + 1

    def place(self, cpu: int, memory: int) -> int:
        s = self.start
        fit = np.flatnonzero(s.allowed & (self.cpu >= cpu) & (self.memory >= memory))
        if not len(fit):
            return -1
        key = self.memory[fit]
        if self.spread:
            key = self.zone_tasks[s.zone[fit]] * self.scale + key
        row = int(fit[np.argmin(key)])
        self.cpu[row] -= cpu
        self.memory[row] -= memory
        self.zone_tasks[s.zone[row]] += 1
        return row

    def stop(self, row: int, cpu: int, memory: int) -> None:
        self.cpu[row] += cpu
        self.memory[row] += memory
        self.zone_tasks[self.start.zone[row]] -= 1


class _Zoned(Baseline):
    """Pure Python state: per row lists, the allowed rows grouped by zone (one zone without spread)."""

    def reset(self):
        s = self.start
        self.cpu, self.memory = s.cpu.tolist(), s.memory.tolist()
        self.zone_of = s.zone.tolist() if self.spread else [0] * len(s.cpu)
        self.zone_tasks = s.zone_tasks.tolist() if self.spread else [0]
        self.zones = sorted({self.zone_of[row] for row in np.flatnonzero(s.allowed).tolist()})
        self.allowed = s.allowed.tolist()

    def place(self, cpu: int, memory: int) -> int:
        tasks = self.zone_tasks
        best = None
        for zone in sorted(self.zones, key=tasks.__getitem__):       # fewest tasks first
            if best is not None and tasks[zone] > best[0]:
                break
            found = self.best_in(zone, cpu, memory)
            if found is not None and (best is None or (tasks[zone], *found) < best):
                best = (tasks[zone], *found)
        if best is None:
            return -1
        row = best[2]
        self.take(row, -cpu, -memory)
        tasks[self.zone_of[row]] += 1
        return row

    def stop(self, row: int, cpu: int, memory: int) -> None:
        self.take(row, cpu, memory)
        self.zone_tasks[self.zone_of[row]] -= 1


class HeapBaseline(_Zoned):
    name = "heap per zone"
    max_tasks = 5_000             # a few hundred placements/s: the stream's first tasks only

    def reset(self):
        super().reset()
        self.heaps = {zone: [] for zone in self.zones}
        for row in np.flatnonzero(self.start.allowed).tolist():
            self.heaps[self.zone_of[row]].append((self.memory[row], row))
        for heap in self.heaps.values():
            heapq.heapify(heap)

    def best_in(self, zone: int, cpu: int, memory: int):
        heap, current, cpus = self.heaps[zone], self.memory, self.cpu
        aside, found = [], None
        while heap:
            item = heapq.heappop(heap)
            if item[0] != current[item[1]]:
                continue                                     # stale: the row was pushed again since
            aside.append(item)
            if item[0] >= memory and cpus[item[1]] >= cpu:
                found = item
                break
        for item in aside:
            heapq.heappush(heap, item)
        return found

    def take(self, row: int, cpu: int, memory: int) -> None:
        self.cpu[row] += cpu
        self.memory[row] += memory
        heapq.heappush(self.heaps[self.zone_of[row]], (self.memory[row], row))


class SortedListBaseline(_Zoned):
    name = "sorted list"
    max_tasks = 30_000

    def reset(self):
        super().reset()
        self.lists = {zone: [] for zone in self.zones}
        for row in np.flatnonzero(self.start.allowed).tolist():
            self.lists[self.zone_of[row]].append((self.memory[row], row))
        for items in self.lists.values():
            items.sort()

    def best_in(self, zone: int, cpu: int, memory: int):
        items, cpus = self.lists[zone], self.cpu
        for i in range(bisect.bisect_left(items, (memory, -1)), len(items)):
            if cpus[items[i][1]] >= cpu:
                return items[i]
        return None

    def take(self, row: int, cpu: int, memory: int) -> None:
        items = self.lists[self.zone_of[row]]
        del items[bisect.bisect_left(items, (self.memory[row], row))]
        self.cpu[row] += cpu
        self.memory[row] += memory
        bisect.insort(items, (self.memory[row], row))


BASELINES = (NumpyBaseline, HeapBaseline, SortedListBaseline)
