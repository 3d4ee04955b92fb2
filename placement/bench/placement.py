"""The fast placer side by side with hand-written baselines, on the workloads a scheduler has.

    python -m placement.bench.placement [--instances 10000] [--tasks 100000] [--repeat 3] [--budget 20]
                                        [--scaling 1000 10000 100000 1000000] [--markdown FILE]

(``placement bench`` runs this on the smallest of its ``--sizes``, the scaling over all of them.)

- **mixed stream**: ``tasks`` tasks whose (cpu, memory) shapes are drawn with the frequencies
  of ``SHAPES``, one call per run of equal consecutive shapes, the constraint ``CONSTRAINT``.
  The demo fleet cannot hold 100,000 such tasks at once (they need about 26.6M cpu units; its
  linux/x86-64 instances have 17.2M free on 10,000 instances), so the stream is a steady state:
  after every ``chunk`` calls the oldest tasks beyond ``cap`` depart (a fleet too small for
  ``cap`` gets a smaller one, see ``stream_cap``). Through ``place()`` one call at a time (a
  prepared request; and the keyword call), through ``place_many`` (one call per chunk), and by
  three baselines making the same decisions (``baselines``: numpy per task, a pure-Python heap
  per zone, sorted lists + bisect); every method must choose the same instance for every task,
  and one that does not is a failure naming it;
- **single-task calls**: ``place(1)`` with a demand drawn from the shapes on every call;
- **scaling**: the cost of a single-task call (place one, stop the one placed 2,000 calls
  before) at each fleet size;
- **fleet events**: on a fleet with a live placer, events (task starts and stops, attribute
  changes, registrations and deregistrations, in ``EVENT_MIX`` shares: a cluster's churn is
  mostly tasks) with a ``place(1)`` after every 10, counting the placer's rebuilds (none
  expected), each round on a fresh copy of the fleet;
- **scale-in**: ``select_to_stop`` of 1,000 tasks from a 10,000-task service.

Times follow ``timing.best_of`` (the rounds' setup, a new placer, is not timed). A measurement
the fleet cannot hold (a user's small fleet under a 40,000-task stream) is reported skipped,
with the reason.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np

import placement
from placement.bench.baselines import BASELINES, Start
from placement.bench.timing import best_of
from placement.bench.workloads import scaled_fleet, size_label
from placement.place import Binpack, MemberOf, Placer, Spread

AZ = "attribute:ecs.availability-zone"
GROUP = "service:web"
SHAPES = ((128, 256), (128, 512), (256, 512), (256, 1024), (512, 2048), (1024, 2048), (2048, 4096))
WEIGHTS = (35, 15, 20, 15, 10, 4, 1)
CONSTRAINT = MemberOf("attribute:ecs.os-type == linux and attribute:ecs.cpu-architecture == x86_64")
CHAINS = {"binpack(memory)": [Binpack("memory")], "spread(AZ)+binpack(memory)": [Spread(AZ), Binpack("memory")]}
EVENT_MIX = {"start": 35, "stop": 35, "put-attribute": 20, "register": 5, "deregister": 5}
FAST = ("place() per call", "keyword place() per call", "place_many per chunk")
LIVE = 2_000                 # tasks kept running while single calls are timed (each call stops one)


@dataclass(frozen=True)
class Settings:
    """How much of each measurement to run; ``slow_share`` of a slow baseline's ``max_tasks``."""

    instances: int = 10_000
    tasks: int = 100_000
    cap: int = 40_000
    chunk: int = 1_000
    rounds: int = 3
    budget_s: float = 20.0
    single_calls: int = 50_000
    scaling: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000)
    scaling_calls: int = 20_000
    events: int = 100_000
    event_instances: int = 100_000
    scale_in: tuple[int, int, int] = (10_000, 10_000, 1_000)     # instances, service tasks, stops
    slow_share: float = 1.0


QUICK = Settings(tasks=5_000, cap=2_000, chunk=100, rounds=2, budget_s=1.0, single_calls=5_000,
                 scaling=(10_000,), scaling_calls=5_000, events=10_000, event_instances=10_000,
                 scale_in=(10_000, 2_000, 200), slow_share=0.1)


class DoesNotFit(Exception):
    """The fleet cannot hold what a measurement places (a user's fleet smaller than the workload)."""


# -- the stream --------------------------------------------------------------------------------------

def mixed_stream(tasks: int, seed: int = 0) -> np.ndarray:
    """(cpu, memory, count) per call: the shapes drawn per task, equal consecutive ones one call."""
    drawn = np.random.default_rng(seed).choice(len(SHAPES), size=tasks, p=np.array(WEIGHTS) / sum(WEIGHTS))
    starts = np.flatnonzero(np.concatenate(([True], drawn[1:] != drawn[:-1])))
    counts = np.diff(np.concatenate((starts, [tasks])))
    shapes = np.array(SHAPES, dtype=np.int64)[drawn[starts]]
    return np.column_stack((shapes, counts)).astype(np.int64)


def fresh(fleet, chain) -> tuple[Placer, object]:
    """A placer with the request's index built (untimed)."""
    placer = Placer(fleet, chain)
    request = placer.prepare(GROUP, [CONSTRAINT])
    request.place(0)
    return placer, request


def departures(placer: Placer, first_task: int, placed: int, gone: int, cap: int) -> int:
    """Stop the oldest tasks beyond ``cap`` (the stream's tasks are numbered from ``first_task``
    on, in order); the new count of departed tasks."""
    if placed - gone > cap:
        placer.stop(np.arange(first_task + gone, first_task + placed - cap))
        return placed - cap
    return gone


def fast_calls(prepared, calls: np.ndarray, chunk: int, cap: int, keyword: bool = False) -> np.ndarray:
    placer, request = prepared
    rows, placed, gone, first_task = [], 0, 0, placer.state.c.tasks
    plain = calls.tolist()
    for first in range(0, len(plain), chunk):
        for cpu, memory, count in plain[first:first + chunk]:
            result = (placer.place(count, cpu, memory, group=GROUP, constraints=[CONSTRAINT]) if keyword
                      else request.place(count, cpu, memory))
            rows.append(result.rows)
            placed += count
        gone = departures(placer, first_task, placed, gone, cap)
    out = np.concatenate(rows)
    if len(out) != placed:
        raise DoesNotFit(f"the fleet placed {len(out):,} of the stream's {placed:,} tasks")
    return out


def fast_many(prepared, calls: np.ndarray, chunk: int, cap: int) -> np.ndarray:
    placer, _ = prepared
    rows, placed, gone, first_task = [], 0, 0, placer.state.c.tasks
    for first in range(0, len(calls), chunk):
        part = calls[first:first + chunk]
        rows.append(placer.place_many(part[:, 2], part[:, 0], part[:, 1]).rows)
        placed += int(part[:, 2].sum())
        gone = departures(placer, first_task, placed, gone, cap)
    out = np.concatenate(rows)
    if len(out) != placed:
        raise DoesNotFit(f"place_many placed {len(out):,} of the stream's {placed:,} tasks")
    return out


def zone_buckets(columns) -> np.ndarray:
    """Each row's availability zone as a bucket 0, 1, ... (instances without one share a bucket)."""
    column = columns.attributes.get(AZ.split(":", 1)[1])
    if column is None:
        return np.zeros(len(columns), dtype=np.int64)
    return np.unique(column.codes, return_inverse=True)[1].astype(np.int64)


def start_state(fleet, spread: bool) -> Start:
    columns = fleet.columns
    allowed = CONSTRAINT.predicate.evaluate(fleet)
    status, connected = columns.status, columns.agent_connected
    allowed &= (status.codes == status.code_of("ACTIVE")) & (connected.codes == connected.code_of(True))
    zone = zone_buckets(columns)
    groups = columns.groups
    rows = np.repeat(np.arange(len(columns)), np.diff(groups.offsets))
    hit = groups.codes == (groups.dictionary.index(GROUP) if GROUP in groups.dictionary else -1)
    per_row = np.bincount(rows[hit], weights=groups.counts[hit], minlength=len(columns)).astype(np.int64)
    zone_tasks = np.bincount(zone, weights=per_row, minlength=int(zone.max(initial=0)) + 1).astype(np.int64)
    return Start(allowed, columns.resources["remaining_cpu"].copy(), columns.resources["remaining_memory"].copy(),
                 zone, zone_tasks)


def stream_cap(start: Start, cap: int) -> int:
    """``cap``, or two thirds of the average-shape tasks the allowed instances hold where that is
    fewer (the demo fleet holds about 64,000 on 10,000 instances, so its runs keep ``cap``)."""
    shares = np.array(WEIGHTS) / sum(WEIGHTS)
    mean_cpu, mean_memory = (np.array(SHAPES) * shares[:, None]).sum(axis=0)
    holds = min(start.cpu[start.allowed].sum() / mean_cpu, start.memory[start.allowed].sum() / mean_memory)
    return int(min(cap, holds * 2 / 3))


def prefix_calls(calls: np.ndarray, tasks: int | None) -> int:
    """How many calls of the stream hold its first ``tasks`` tasks (None: all)."""
    return len(calls) if tasks is None else int(np.searchsorted(np.cumsum(calls[:, 2]), tasks, side="right"))


def check_same(what: str, got: np.ndarray, expected: np.ndarray) -> str | None:
    """None when ``got`` chose the fast placer's instance for every task, else where it did not."""
    if len(got) == len(expected) and np.array_equal(got, expected):
        return None
    n = min(len(got), len(expected))
    first = int(np.flatnonzero(got[:n] != expected[:n])[0]) if (got[:n] != expected[:n]).any() else n
    return f"{what} differs from the fast placer at task {first} ({len(got)} vs {len(expected)})"


def measure_stream(fleet, calls: np.ndarray, settings: Settings, failures: list[str]) -> list[dict]:
    """Per strategy chain: placements per second of every method, and whether each agreed."""
    tasks, label = int(calls[:, 2].sum()), size_label(len(fleet))
    rows = []
    for name, chain in CHAINS.items():
        spread = any(isinstance(s, Spread) for s in chain)
        start = start_state(fleet, spread)
        if not start.allowed.any():
            rows.append({"chain": name, "skipped": f"no instance satisfies {CONSTRAINT}"})
            continue
        cap, chunk = stream_cap(start, settings.cap), settings.chunk
        runs = {FAST[0]: lambda p: fast_calls(p, calls, chunk, cap),
                FAST[1]: lambda p: fast_calls(p, calls, chunk, cap, keyword=True),
                FAST[2]: lambda p: fast_many(p, calls, chunk, cap)}
        row = {"chain": name, "cap": cap, "placementsPerSecond": {}, "rounds": {}, "tasks": {}, "agreed": {}}
        expected = None
        try:
            for method, run in runs.items():
                timing = best_of(run, settings.rounds, settings.budget_s, setup=lambda: fresh(fleet, chain))
                expected = timing.result if expected is None else expected
                record(row, method, timing, len(timing.result), check_same(f"{name}: {method}", timing.result,
                                                                           expected), failures, label)
        except DoesNotFit as error:
            rows.append({"chain": name, "skipped": f"{error} (at most {cap:,} running at once)"})
            continue
        for baseline_class in BASELINES:
            baseline = baseline_class(start, spread)
            limit = None if baseline.max_tasks is None else max(1, int(baseline.max_tasks * settings.slow_share))
            prefix = calls[:prefix_calls(calls, limit)]
            timing = best_of(lambda: baseline.run(prefix, chunk, cap), settings.rounds, settings.budget_s)
            got = timing.result
            record(row, baseline.name, timing, len(got), check_same(f"{name}: {baseline.name}", got,
                                                                    expected[:len(got)]), failures, label)
        row["tasks"] = {m: n for m, n in row["tasks"].items() if n < tasks}     # those measured on fewer
        rows.append(row)
    return rows


def record(row: dict, method: str, timing, tasks: int, problem: str | None, failures: list[str], label: str):
    row["placementsPerSecond"][method] = tasks / timing.seconds
    row["rounds"][method], row["tasks"][method], row["agreed"][method] = timing.rounds, tasks, problem is None
    if problem:
        failures.append(f"placement {label} {problem}")


# -- single calls, scaling ------------------------------------------------------------------------------

def shapes_per_call(calls: int, seed: int = 1) -> list[tuple[int, int]]:
    drawn = np.random.default_rng(seed).choice(len(SHAPES), size=calls, p=np.array(WEIGHTS) / sum(WEIGHTS))
    return [SHAPES[k] for k in drawn.tolist()]


def measure_single(fleet, settings: Settings) -> dict[str, float]:
    """Decisions per second of ``place(1)`` with a shape per call, prepared and by keyword."""
    demands = shapes_per_call(settings.single_calls)
    chain = CHAINS["spread(AZ)+binpack(memory)"]

    def prepared(p):
        request = p[1]
        for cpu, memory in demands:
            request.place(1, cpu, memory)

    def keyword(p):
        placer = p[0]
        for cpu, memory in demands:
            placer.place(1, cpu, memory, group=GROUP, constraints=[CONSTRAINT])

    return {name: len(demands) / best_of(run, settings.rounds, settings.budget_s,
                                         setup=lambda: fresh(fleet, chain)).seconds
            for name, run in (("prepared place(1)", prepared), ("keyword place(1)", keyword))}


def steady_single(fleet, calls: int, windows: int = 5) -> float:
    """Microseconds per call of place(1) (a shape per call), each followed by stopping the task
    placed ``LIVE`` calls before, so the fleet stays as full as it started: the best of
    ``windows`` stretches of ``calls / windows`` calls (the machine's hiccups fall in some)."""
    placer, request = fresh(fleet, CHAINS["spread(AZ)+binpack(memory)"])
    per_window = max(1, calls // windows)
    demands = shapes_per_call(LIVE + per_window * (windows + 1))        # the warm-up is a window too
    numbers = np.empty(len(demands), dtype=np.int64)
    for k in range(LIVE):
        numbers[k] = placed_task(request.place(1, *demands[k]))
    windows_done = iter(range(LIVE, len(demands), per_window))

    def window():
        first = next(windows_done)
        for k in range(first, first + per_window):
            numbers[k] = placed_task(request.place(1, *demands[k]))
            placer.stop(numbers[k - LIVE:k - LIVE + 1])
    return best_of(window, windows).seconds * 1e6 / per_window


def placed_task(result) -> int:
    if result.unplaced:
        raise DoesNotFit(f"the fleet cannot hold {LIVE:,} running tasks of the stream's shapes")
    return int(result.tasks[0])


def measure_scaling(fleet_of: Callable[[int], placement.Fleet], settings: Settings) -> list[dict]:
    import time
    out = []
    for size in settings.scaling:
        started = time.perf_counter()
        fleet = fleet_of(size)
        built = time.perf_counter() - started
        started = time.perf_counter()
        fresh(fleet, CHAINS["spread(AZ)+binpack(memory)"])
        first = time.perf_counter() - started
        row = {"instances": len(fleet), "startMs": first * 1e3, "fleetSeconds": built}
        try:
            row["us"] = steady_single(fleet, settings.scaling_calls)
        except DoesNotFit as error:
            row["skipped"] = str(error)
        out.append(row)
    return out


# -- fleet events, scale-in ---------------------------------------------------------------------------------

def measure_events(base: placement.Fleet, settings: Settings) -> dict:
    """Events per second with a live placer following them; each round on a fresh copy of the fleet."""
    events = settings.events
    template = placement.fleet.demo_documents(1, 0)[0]["containerInstances"][0]
    rng = np.random.default_rng(3)
    kinds = rng.choice(list(EVENT_MIX), size=events, p=np.array(list(EVENT_MIX.values())) / 100).tolist()
    picks = rng.random(events).tolist()              # drawn up front: the loop times the events
    demands = shapes_per_call(events // 10 + 1)

    def setup():
        fleet = placement.Fleet(base.columns)
        placer, request = fresh(fleet, CHAINS["spread(AZ)+binpack(memory)"])
        return fleet, placer, request, placer.indexes.builds, placer.state.starts

    def run(prepared):
        fleet, placer, request, builds_before, starts_before = prepared
        arns = list(fleet.arns)
        started: list[tuple[str, str]] = []          # (task id, instance), some on instances gone since
        gone: set[str] = set()
        counts = dict.fromkeys(EVENT_MIX, 0)
        for k, kind in enumerate(kinds):
            if kind == "start":
                arn = arns[int(picks[k] * len(arns))]
                started += [(t, arn) for t in fleet.start_task(arn, "service:api", cpu=128, memory=256)]
            elif kind == "stop":
                while started:                       # a random started task still running
                    i = int(picks[k] * len(started))
                    started[i], started[-1] = started[-1], started[i]
                    task, arn = started.pop()
                    if arn not in gone:
                        fleet.stop_tasks([task])
                        break
            elif kind == "put-attribute":
                fleet.put_attribute(arns[int(picks[k] * len(arns))], "stack", ("prod", "dev", "qa")[k % 3])
            elif kind == "register":
                arn = f"{template['containerInstanceArn']}-new-{k}"
                fleet.register(dict(template, containerInstanceArn=arn))
                arns.append(arn)
            elif kind == "deregister":
                i = int(picks[k] * len(arns))
                arns[i], arns[-1] = arns[-1], arns[i]
                arn = arns.pop()
                fleet.deregister(arn)                # its tasks stop with it
                gone.add(arn)
            counts[kind] += 1
            if k % 10 == 9:
                request.place(1, *demands[k // 10])
        return counts, placer.indexes.builds - builds_before, placer.state.starts - starts_before

    timing = best_of(run, settings.rounds, settings.budget_s, setup=setup)
    counts, builds, starts = timing.result
    return {"events": events, "seconds": timing.seconds, "eventsPerSecond": events / timing.seconds,
            "counts": counts, "instances": len(base), "indexBuilds": builds, "stateStarts": starts,
            "places": events // 10}


def measure_scale_in(fleet: placement.Fleet, settings: Settings) -> dict:
    """Milliseconds of ``select_to_stop`` from a service placed first (untimed), by the ECS
    service rule and by a strategy chain."""
    _, tasks, stops = settings.scale_in

    def setup():
        placer = Placer(fleet, [Spread(AZ), Spread("instanceId")])
        if placer.place(tasks, 16, 32, group="service:scale").unplaced:
            raise DoesNotFit(f"the fleet cannot hold a {tasks:,}-task service of 16 cpu units and 32 MiB")
        return placer

    out = {"instances": len(fleet), "tasks": tasks, "stops": stops, "ms": {}}
    for name, chain in (("ECS service rule (no strategy)", None),
                        ("spread(AZ)+binpack(memory)", CHAINS["spread(AZ)+binpack(memory)"])):
        timing = best_of(lambda p: p.select_to_stop("service:scale", stops, chain), settings.rounds,
                         settings.budget_s, setup=setup)
        assert len(timing.result.stops) == stops
        out["ms"][name] = timing.seconds * 1e3
    return out


def skipped_if_too_big(measure: Callable[[], dict]) -> dict:
    try:
        return measure()
    except DoesNotFit as error:
        return {"skipped": str(error)}


# -- the section ---------------------------------------------------------------------------------------------

def measure(fleet_of: Callable[[int], placement.Fleet], settings: Settings, failures: list[str]) -> dict:
    """Every measurement above, as the ``placement`` section of results.json. ``fleet_of(n)``:
    the fleet of ``n`` instances (a user's fleet whatever ``n``)."""
    fleet = fleet_of(settings.instances)
    calls = mixed_stream(settings.tasks)
    return {
        "instances": len(fleet), "tasks": settings.tasks, "calls": len(calls), "chunk": settings.chunk,
        "rounds": settings.rounds, "budgetSeconds": settings.budget_s, "constraint": str(CONSTRAINT),
        "stream": measure_stream(fleet, calls, settings, failures),
        "single": skipped_if_too_big(lambda: measure_single(fleet, settings)),
        "scaling": measure_scaling(fleet_of, settings),
        "events": skipped_if_too_big(lambda: measure_events(fleet_of(settings.event_instances), settings)),
        "scaleIn": skipped_if_too_big(lambda: measure_scale_in(fleet_of(settings.scale_in[0]), settings)),
    }


def parse_args(argv=None) -> argparse.Namespace:
    full = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=full.instances)
    parser.add_argument("--tasks", type=int, default=full.tasks)
    parser.add_argument("--repeat", type=int, default=full.rounds, help="timed rounds per figure (the best is kept)")
    parser.add_argument("--budget", type=float, default=full.budget_s,
                        help="seconds after which a method stops repeating")
    parser.add_argument("--single-calls", type=int, default=full.single_calls)
    parser.add_argument("--scaling", type=int, nargs="*", default=list(full.scaling))
    parser.add_argument("--events", type=int, default=full.events)
    parser.add_argument("--event-instances", type=int, default=full.event_instances)
    parser.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown to FILE")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from placement.bench import render
    from placement.bench.machine import describe
    args = parse_args(argv)
    settings = dataclasses.replace(Settings(), instances=args.instances, tasks=args.tasks, rounds=args.repeat,
                                   budget_s=args.budget, single_calls=args.single_calls,
                                   scaling=tuple(args.scaling), events=args.events,
                                   event_instances=args.event_instances)
    failures: list[str] = []
    results = {"machine": describe(), "placement": measure(scaled_fleet, settings, failures), "failures": failures}
    return render.publish(results, args.markdown)


if __name__ == "__main__":
    sys.exit(main())
