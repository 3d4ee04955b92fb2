"""Trace replay: a trace's tasks through the library's ``Placer`` over simulated time (SPEC 4,
"Replay rules"), and the report of the run.

The rules, so that two implementations give the same events (``reference.py`` is the other):

- events in time order; at equal times, first the waiting tasks whose departure time has come
  are dropped (``--queue``), then departures in trace order, then arrivals in trace order;
- an arrival is placed at once with the run's strategies plus its own constraints; if it cannot
  be, it is recorded ``unplaced`` with the reasons' one-line summary and never retried, or, with
  ``queue``, it waits: the waiting tasks are retried in arrival order after every departure that
  freed something (each placed if it fits, so a small task may pass a big one), and a waiting
  task is dropped (``unplaced``, with the reason of its last try) when its departure time comes;
  those still waiting when the trace ends are reported ``unplaced`` at the end time;
- a placed task frees exactly what it took at its departure (``Placer.stop``); one whose
  departure is not after its arrival is placed and freed at once (its ``stop`` at the arrival
  time), which is no departure for the queue (the state is as it was before it);
- the draws of task ``i`` are seeded with ``task_seed(seed, i)``, the same at every try.

Each kind of request (group, constraints) is prepared once, so every decision is the placer's
fast path; nothing here decides where a task goes. The report is measured here too, since only
the loop sees the running state: placed and unplaced (by reason), the peak of running tasks and
the utilisation then, the utilisation at evenly spaced times, and every decision's latency.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

from placement.explain.placement import summary
from placement.fleet.model import Fleet
from placement.place.placer import Placer
from placement.place.requests import Random
from placement.simulate.trace import TraceTask, task_seeds

SAMPLES = 10                    # utilisation points reported over the trace's time span
RESOURCES = ("cpu", "memory", "gpu")
_REASON_WORDS = {"eligible": "not eligible", "cpu": "cpu", "memory": "memory", "gpu": "GPUs", "ports": "ports"}

PLACE, UNPLACED, STOP = "place", "unplaced", "stop"


@dataclass
class Replay:
    """What a replay did: ``events`` as ``(t, event, task index, instance position or reason)``,
    and the measurements the report is made of."""

    tasks: list[TraceTask]
    arns: list[str]
    strategies: list
    seed: int | None                        # None: nothing was drawn
    queue: bool
    events: list[tuple] = field(default_factory=list)
    capacity: dict = field(default_factory=dict)     # cpu, memory, gpu the fleet had free at the start
    reasons: Counter = field(default_factory=Counter)
    waited: int = 0                         # placed after waiting (queue)
    dropped: int = 0                        # dropped at their departure time (queue)
    waiting_at_end: int = 0
    peak: dict = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)
    latencies_ns: list[int] = field(default_factory=list)
    wall_s: float = 0.0

    def event_json(self, event: tuple) -> dict:
        t, kind, task, detail = event
        out = {"t": t, "event": kind, "task": self.tasks[task].id}
        out["reason" if kind == UNPLACED else "instance"] = detail if kind == UNPLACED else self.arns[detail]
        return out

    def report(self) -> dict:
        """The report as JSON (``placement simulate --json``): ``wallSeconds`` is the replay's own
        (preparing the requests included, reading the inputs not); ``decisions`` the placement
        calls, retries included; latencies per call, nearest rank."""
        counts = Counter(kind for _, kind, _, _ in self.events)
        latency = sorted(self.latencies_ns)
        times = [t.arrival for t in self.tasks] + [t.departure for t in self.tasks if t.departure is not None]
        out = {
            "tasks": len(self.tasks), "placed": counts[PLACE], "unplaced": counts[UNPLACED],
            "reasons": dict(self.reasons.most_common()),
            "strategies": [s.to_json() for s in self.strategies], "seed": self.seed, "queue": self.queue,
            "fleet": {"instances": len(self.arns), **self.capacity},
            "span": {"start": min(times, default=0.0), "end": max(times, default=0.0)},
            "peak": self.peak, "utilisation": self.samples,
            "decisions": len(self.latencies_ns), "wallSeconds": self.wall_s,
            "decisionsPerSecond": len(self.latencies_ns) / self.wall_s if self.wall_s > 0 else None,
            "latencyMicroseconds": {"p50": _rank(latency, 0.50), "p99": _rank(latency, 0.99),
                                    "max": _rank(latency, 1.0)},
        }
        if self.queue:
            out["waiting"] = {"placedAfterWaiting": self.waited, "dropped": self.dropped,
                              "waitingAtEnd": self.waiting_at_end}
        return out


def _rank(ordered: list[int], share: float) -> float | None:
    """The nearest-rank percentile of sorted nanoseconds, in microseconds."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] / 1000.0


def reason_kind(reasons: dict) -> str:
    """What kept a task off the fleet, for counting: the requirements that removed instances, in
    the funnel's order (``memory + GPUs``, ``memberOf(attribute:gpu-model in [T4])``)."""
    removed = [_REASON_WORDS.get(row["kind"], row["requirement"]) for row in reasons.get("funnel", ())
               if row["removed"] and not row.get("clauses")]
    return " + ".join(removed) or "no instances"


def free_at_start(fleet: Fleet) -> dict[str, int]:
    """The cpu, memory and GPUs the fleet has free, the denominators of utilisation (read from the
    store: ``fleet.columns`` would build a snapshot the replay does not need)."""
    store = fleet.store
    live = store.alive[:store.size].astype(bool)
    return {name: int(store.numbers[f"remaining_{name}"][:store.size][live].sum()) for name in RESOURCES}


def timeline(tasks: list[TraceTask]) -> list[tuple[float, int, int]]:
    """``(t, 0 departure / 1 arrival, task index)`` in replay order; no departure for a task that
    never departs or departs no later than it arrives (freed at once)."""
    events = [(task.arrival, 1, i) for i, task in enumerate(tasks)]
    events += [(task.departure, 0, i) for i, task in enumerate(tasks)
               if task.departure is not None and task.departure > task.arrival]
    events.sort()
    return events


def replay(fleet: Fleet, tasks: list[TraceTask], strategies=None, *, queue: bool = False,
           seed: int = 0, samples: int = SAMPLES) -> Replay:
    """Replay ``tasks`` on ``fleet`` (which the replay does not change) by the rules above."""
    began = time.perf_counter()                     # the wall time counts preparing the requests too
    strategies = list(strategies) if strategies else [Random()]
    placer = Placer(fleet, strategies)
    prepared: dict[tuple, object] = {}
    requests = []
    for task in tasks:
        key = (task.group, task.constraints)
        request = prepared.get(key)
        if request is None:
            request = prepared[key] = placer.prepare(task.group, task.constraints)
        requests.append(request)
    draws = any(request.draws for request in prepared.values())
    seeds = task_seeds(seed, len(tasks)) if draws else [None] * len(tasks)
    capacity = free_at_start(fleet)
    run = Replay(tasks, fleet.arns, strategies, seed if draws else None, queue, capacity=capacity)
    events, latencies, reasons = run.events, run.latencies_ns, run.reasons
    clock = time.perf_counter_ns
    running: dict[int, tuple] = {}                  # task index -> (the placer's task number as an array, position)
    used = [0, 0, 0]
    waiting: list[int] = []
    last_reason: dict[int, str] = {}                # task index -> the summary of its last failed try
    reasons_of: dict[int, str] = {}                 # task index -> reason_kind of its last failed try

    def attempt(i: int, t: float) -> bool:
        task = tasks[i]
        start = clock()
        result = requests[i].place(1, task.cpu, task.memory, task.gpu, (), seeds[i])
        latencies.append(clock() - start)
        if result.unplaced:
            last_reason[i] = summary(result.reasons)
            reasons_of[i] = reason_kind(result.reasons)
            return False
        position = int(result.positions[0])
        running[i] = (result.tasks, position)
        used[0] += task.cpu
        used[1] += task.memory
        used[2] += task.gpu
        events.append((t, PLACE, i, position))
        return True

    def stop(i: int, t: float) -> None:
        numbers, position = running.pop(i)
        placer.stop(numbers)
        task = tasks[i]
        used[0] -= task.cpu
        used[1] -= task.memory
        used[2] -= task.gpu
        events.append((t, STOP, i, position))

    def unplaced(i: int, t: float) -> None:
        events.append((t, UNPLACED, i, last_reason.pop(i)))
        reasons[reasons_of.pop(i)] += 1

    def point(t: float, count: int, amounts: list[int]) -> dict:
        return {"t": t, "running": count,
                **{name: (amounts[k] / capacity[name] if capacity[name] else 0.0) for k, name in enumerate(RESOURCES)}}

    order = timeline(tasks)
    first, last = (order[0][0], order[-1][0]) if order else (0.0, 0.0)
    sample_times = [first + (last - first) * k / (samples - 1) for k in range(samples)] if samples > 1 else [first]
    next_sample = 0
    peak = (first, 0, [0, 0, 0])                    # (t, running, used) when the most tasks ran
    j, n = 0, len(order)
    while j < n:
        t = order[j][0]
        while next_sample < len(sample_times) and sample_times[next_sample] < t:
            run.samples.append(point(sample_times[next_sample], len(running), used))
            next_sample += 1
        k = j
        while k < n and order[k][0] == t:
            k += 1
        if waiting:                                 # the waiting tasks whose time has come leave first
            due = [i for i in waiting if tasks[i].departure is not None and tasks[i].departure <= t]
            if due:
                gone = set(due)
                waiting = [i for i in waiting if i not in gone]
                for i in due:
                    run.dropped += 1
                    unplaced(i, t)
        for _, kind, i in order[j:k]:
            if kind == 0:
                if i in running:
                    stop(i, t)
                    if waiting:
                        still = []
                        for w in waiting:
                            if attempt(w, t):
                                run.waited += 1
                                reasons_of.pop(w, None)
                                last_reason.pop(w, None)
                            else:
                                still.append(w)
                        waiting = still
                continue
            task = tasks[i]
            if attempt(i, t):
                if task.departure is not None and task.departure <= task.arrival:
                    stop(i, t)                      # placed and freed at once
            elif queue and (task.departure is None or task.departure > t):
                waiting.append(i)
            else:
                unplaced(i, t)
        if len(running) > peak[1]:
            peak = (t, len(running), used[:])
        j = k
    for s in sample_times[next_sample:]:
        run.samples.append(point(s, len(running), used))
    run.peak = point(*peak)
    for i in waiting:
        run.waiting_at_end += 1
        unplaced(i, last)
    run.wall_s = time.perf_counter() - began
    return run
