"""The fast placer side by side with hand-written baselines, on the workloads a scheduler has.

    python benchmarks/compare_placement.py [--instances 10000] [--tasks 100000] [--repeat 3]
                                           [--scaling 1000 10000 100000 1000000] [--markdown FILE]

In one process:

- **mixed stream**: ``--tasks`` tasks whose (cpu, memory) shapes are drawn with the frequencies
  of ``SHAPES``, one call per run of equal consecutive shapes, the constraint
  ``CONSTRAINT``, on ``scaled_fleet(--instances)``. The demo fleet cannot hold 100,000 such
  tasks at once (they need about 26.6M cpu units; its linux/x86-64 instances have 17.2M free),
  so the stream is a steady state: after every ``CHUNK`` calls the oldest tasks beyond ``CAP``
  depart. Through ``place()`` one call at a time (a prepared request; and the keyword call),
  through ``place_many`` (one call per chunk), and by three baselines making the same
  decisions (``baselines.py``: numpy per task, a pure-Python heap per zone, sorted lists +
  bisect); the script checks that every method chose the same instance for every task;
- **single-task calls**: ``place(1)`` with a demand drawn from the shapes on every call;
- **scaling**: the cost of a single-task call (place one, stop the one placed 2,000 calls
  before) from 1,000 to 1,000,000 instances;
- **fleet events**: on a 100,000-instance fleet with a live placer, 100,000 events (task starts
  and stops, attribute changes, registrations and deregistrations, in ``EVENT_MIX`` shares: a
  cluster's churn is mostly tasks) with a ``place(1)`` after every 10, counting the placer's
  rebuilds (none expected); the best of ``--repeat`` runs, each on a fresh copy of the fleet;
- **scale-in**: ``select_to_stop`` of 1,000 tasks from a 10,000-task service on 10,000 instances.

Every time is the best of ``--repeat`` rounds (``time.perf_counter_ns``), slow methods stopping
after ``--budget`` seconds; the rounds' setup (a new placer, copies of the baselines' state) is
not timed.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import placement  # noqa: E402
from placement.place import Binpack, MemberOf, Placer, Spread  # noqa: E402

from baselines import BASELINES, Start  # noqa: E402
from workloads import machine_lines, publish, render, scaled_fleet  # noqa: E402

AZ = "attribute:ecs.availability-zone"
GROUP = "service:web"
SHAPES = ((128, 256), (128, 512), (256, 512), (256, 1024), (512, 2048), (1024, 2048), (2048, 4096))
WEIGHTS = (35, 15, 20, 15, 10, 4, 1)
CONSTRAINT = MemberOf("attribute:ecs.os-type == linux and attribute:ecs.cpu-architecture == x86_64")
CAP, CHUNK = 40_000, 1_000
CHAINS = {"binpack(memory)": [Binpack("memory")], "spread(AZ)+binpack(memory)": [Spread(AZ), Binpack("memory")]}
EVENT_MIX = {"start": 35, "stop": 35, "put-attribute": 20, "register": 5, "deregister": 5}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds per timing (the best is kept)")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds after which a method stops repeating")
    parser.add_argument("--single-calls", type=int, default=50_000)
    parser.add_argument("--scaling", type=int, nargs="*", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--event-instances", type=int, default=100_000)
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    return parser.parse_args(argv)


def timed(run, setup, repeat: int, budget_s: float):
    """(best seconds, rounds, last result) of ``run(setup())``; setup untimed."""
    best, rounds, spent, result = None, 0, 0.0, None
    while rounds < max(1, repeat):
        prepared = setup()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            result = run(prepared)
            elapsed = (time.perf_counter_ns() - start) / 1e9
        finally:
            gc.enable()
        best = elapsed if best is None else min(best, elapsed)
        rounds, spent = rounds + 1, spent + elapsed
        if spent > budget_s:
            break
    return best, rounds, result


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


def departures(placer: Placer, first_task: int, placed: int, gone: int) -> int:
    """Stop the oldest tasks beyond CAP (the stream's tasks are numbered from ``first_task`` on,
    in order); the new count of departed tasks."""
    if placed - gone > CAP:
        placer.stop(np.arange(first_task + gone, first_task + placed - CAP))
        return placed - CAP
    return gone


def fast_calls(prepared, calls: np.ndarray, keyword: bool = False) -> np.ndarray:
    placer, request = prepared
    rows, placed, gone, first_task = [], 0, 0, placer.state.c.tasks
    plain = calls.tolist()
    for first in range(0, len(plain), CHUNK):
        for cpu, memory, count in plain[first:first + CHUNK]:
            result = (placer.place(count, cpu, memory, group=GROUP, constraints=[CONSTRAINT]) if keyword
                      else request.place(count, cpu, memory))
            rows.append(result.rows)
            placed += count
        gone = departures(placer, first_task, placed, gone)
    out = np.concatenate(rows)
    assert len(out) == placed, "the fast placer left tasks unplaced"
    return out


def fast_many(prepared, calls: np.ndarray) -> np.ndarray:
    placer, _ = prepared
    rows, placed, gone, first_task = [], 0, 0, placer.state.c.tasks
    for first in range(0, len(calls), CHUNK):
        chunk = calls[first:first + CHUNK]
        rows.append(placer.place_many(chunk[:, 2], chunk[:, 0], chunk[:, 1]).rows)
        placed += int(chunk[:, 2].sum())
        gone = departures(placer, first_task, placed, gone)
    out = np.concatenate(rows)
    assert len(out) == placed, "place_many left tasks unplaced"
    return out


def start_state(fleet, spread: bool) -> Start:
    columns = fleet.columns
    allowed = CONSTRAINT.predicate.evaluate(fleet)
    status, connected = columns.status, columns.agent_connected
    allowed &= (status.codes == status.code_of("ACTIVE")) & (connected.codes == connected.code_of(True))
    zone = columns.attributes[AZ.split(":", 1)[1]].codes.astype(np.int64)
    groups = columns.groups
    rows = np.repeat(np.arange(len(columns)), np.diff(groups.offsets))
    hit = groups.codes == groups.dictionary.index(GROUP)
    per_row = np.bincount(rows[hit], weights=groups.counts[hit], minlength=len(columns)).astype(np.int64)
    zone_tasks = np.bincount(zone, weights=per_row, minlength=int(zone.max()) + 1).astype(np.int64)
    return Start(allowed, columns.resources["remaining_cpu"].copy(), columns.resources["remaining_memory"].copy(),
                 zone, zone_tasks)


@dataclass
class StreamRow:
    chain: str
    rates: dict[str, float] = field(default_factory=dict)     # method -> placements per second
    rounds: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)       # a baseline measured on fewer tasks


def prefix_calls(calls: np.ndarray, tasks: int | None) -> int:
    """How many calls of the stream hold its first ``tasks`` tasks (None: all)."""
    return len(calls) if tasks is None else int(np.searchsorted(np.cumsum(calls[:, 2]), tasks, side="right"))


def measure_stream(fleet, calls: np.ndarray, args) -> list[StreamRow]:
    tasks = int(calls[:, 2].sum())
    rows = []
    for name, chain in CHAINS.items():
        row = StreamRow(name)
        spread = any(isinstance(s, Spread) for s in chain)
        seconds, rounds, expected = timed(lambda p: fast_calls(p, calls), lambda: fresh(fleet, chain), args.repeat,
                                          args.budget)
        row.rates["place() per call"], row.rounds["place() per call"] = tasks / seconds, rounds
        methods = [("keyword place() per call", lambda p: fast_calls(p, calls, keyword=True)),
                   ("place_many per chunk", lambda p: fast_many(p, calls))]
        for method, run in methods:
            seconds, rounds, got = timed(run, lambda: fresh(fleet, chain), args.repeat, args.budget)
            check_same(f"{name}: {method}", got, expected)
            row.rates[method], row.rounds[method] = tasks / seconds, rounds
        start = start_state(fleet, spread)
        for baseline_class in BASELINES:
            baseline = baseline_class(start, spread)
            prefix = calls[:prefix_calls(calls, baseline.max_tasks)]
            seconds, rounds, got = timed(lambda _: baseline.run(prefix, CHUNK, CAP), lambda: None, args.repeat,
                                         args.budget)
            check_same(f"{name}: {baseline.name}", got, expected[:len(got)])
            row.rates[baseline.name], row.rounds[baseline.name] = len(got) / seconds, rounds
            row.tasks[baseline.name] = len(got)
        print(f"  {name}: " + ", ".join(f"{m} {r:,.0f}/s" for m, r in row.rates.items()), flush=True)
        rows.append(row)
    return rows


def check_same(what: str, got: np.ndarray, expected: np.ndarray) -> None:
    if len(got) != len(expected) or not np.array_equal(got, expected):
        n = min(len(got), len(expected))
        first = int(np.flatnonzero(got[:n] != expected[:n])[0]) if (got[:n] != expected[:n]).any() else n
        raise AssertionError(f"{what} differs from the fast placer at task {first} ({len(got)} vs {len(expected)})")


# -- single calls, scaling ------------------------------------------------------------------------------

def shapes_per_call(calls: int, seed: int = 1) -> list[tuple[int, int]]:
    drawn = np.random.default_rng(seed).choice(len(SHAPES), size=calls, p=np.array(WEIGHTS) / sum(WEIGHTS))
    return [SHAPES[k] for k in drawn.tolist()]


def measure_single(fleet, calls: int, args) -> dict[str, float]:
    demands = shapes_per_call(calls)
    chain = CHAINS["spread(AZ)+binpack(memory)"]

    def prepared(p):
        request = p[1]
        for cpu, memory in demands:
            request.place(1, cpu, memory)

    def keyword(p):
        placer = p[0]
        for cpu, memory in demands:
            placer.place(1, cpu, memory, group=GROUP, constraints=[CONSTRAINT])

    out = {}
    for name, run in (("prepared place(1)", prepared), ("keyword place(1)", keyword)):
        seconds, _, _ = timed(run, lambda: fresh(fleet, chain), args.repeat, args.budget)
        out[name] = calls / seconds
    return out


def steady_single(fleet, calls: int, live: int = 2_000, windows: int = 5) -> float:
    """Microseconds per call of place(1) (a shape per call), each followed by stopping the task
    placed ``live`` calls before, so the fleet stays as full as it started: the best of
    ``windows`` stretches of ``calls / windows`` calls (the machine's hiccups fall in some)."""
    placer, request = fresh(fleet, CHAINS["spread(AZ)+binpack(memory)"])
    demands = shapes_per_call(calls + live)
    numbers = np.empty(calls + live, dtype=np.int64)
    for k in range(live):
        numbers[k] = request.place(1, *demands[k]).tasks[0]
    per_window = calls // windows
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for first in range(live, live + per_window * windows, per_window):
            start = time.perf_counter_ns()
            for k in range(first, first + per_window):
                numbers[k] = request.place(1, *demands[k]).tasks[0]
                placer.stop(numbers[k - live:k - live + 1])
            best = min(best, (time.perf_counter_ns() - start) / 1e3 / per_window)
        return best
    finally:
        gc.enable()


def measure_scaling(sizes, calls: int = 20_000) -> list[dict]:
    out = []
    for size in sizes:
        started = time.perf_counter()
        fleet = scaled_fleet(size)
        built = time.perf_counter() - started
        started = time.perf_counter()
        fresh(fleet, CHAINS["spread(AZ)+binpack(memory)"])
        first = time.perf_counter() - started
        us = steady_single(fleet, calls)
        out.append({"instances": size, "us": us, "start_ms": first * 1e3, "fleet_s": built})
        print(f"  {size:,} instances: {us:.2f} us per place(1)+stop", flush=True)
    return out


# -- fleet events, scale-in ---------------------------------------------------------------------------------

def measure_events(args) -> dict:
    base = scaled_fleet(args.event_instances)
    fleet = placement.Fleet(base.columns)
    placer, request = fresh(fleet, CHAINS["spread(AZ)+binpack(memory)"])
    template = placement.fleet.demo_documents(1, 0)[0]["containerInstances"][0]
    rng = np.random.default_rng(3)
    kinds = rng.choice(list(EVENT_MIX), size=args.events, p=np.array(list(EVENT_MIX.values())) / 100)
    arns = list(fleet.arns)
    started: list[tuple[str, str]] = []              # (task id, instance), some on instances gone since
    gone: set[str] = set()
    builds_before = placer.indexes.builds
    starts_before = placer.state.starts
    demands = shapes_per_call(args.events // 10 + 1)
    picks = rng.random(args.events).tolist()         # drawn up front: the loop times the events
    counts = {kind: 0 for kind in EVENT_MIX}
    gc.collect()
    gc.disable()                                     # the timing rule of every measurement here
    begin = time.perf_counter()
    for k, kind in enumerate(kinds.tolist()):
        if kind == "start":
            arn = arns[int(picks[k] * len(arns))]
            started += [(t, arn) for t in fleet.start_task(arn, "service:api", cpu=128, memory=256)]
        elif kind == "stop":
            while started:                           # a random started task still running
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
            fleet.deregister(arn)                    # its tasks stop with it
            gone.add(arn)
        counts[kind] += 1
        if k % 10 == 9:
            request.place(1, *demands[k // 10])
    seconds = time.perf_counter() - begin
    gc.enable()
    return {"events": args.events, "seconds": seconds, "counts": counts, "instances": args.event_instances,
            "index_builds": placer.indexes.builds - builds_before, "state_starts": placer.state.starts - starts_before,
            "places": args.events // 10}


def measure_scale_in(instances: int = 10_000, tasks: int = 10_000, stops: int = 1_000, repeat: int = 5) -> dict:
    fleet = scaled_fleet(instances)
    out = {}
    for name, chain in (("ECS service rule (no strategy)", None),
                        ("spread(AZ)+binpack(memory)", CHAINS["spread(AZ)+binpack(memory)"])):
        def setup():
            placer = Placer(fleet, [Spread(AZ), Spread("instanceId")])
            placer.place(tasks, 16, 32, group="service:scale")
            return placer
        seconds, _, result = timed(lambda p: p.select_to_stop("service:scale", stops, chain), setup, repeat, 30)
        assert len(result.stops) == stops
        out[name] = seconds * 1e3
    return out


# -- reporting -----------------------------------------------------------------------------------------------

BASELINE_NAMES = tuple(b.name for b in BASELINES)


def fastest_baseline(row: StreamRow) -> tuple[str, float]:
    return max(((row.rates[n], n) for n in BASELINE_NAMES), key=lambda x: x[0])[::-1]


def stream_rows(rows: list[StreamRow]) -> list[list[str]]:
    methods = list(rows[0].rates)
    table = [["strategy", *[f"{m} (placements/s)" for m in methods], "fastest baseline",
              "place() / fastest", "place_many / fastest"]]
    for row in rows:
        name, best = fastest_baseline(row)
        table.append([row.chain, *[f"{row.rates[m]:,.0f}" for m in methods], name,
                      f"{row.rates['place() per call'] / best:.1f}x", f"{row.rates['place_many per chunk'] / best:.1f}x"])
    return table


def report(args, results, markdown: bool) -> str:
    stream, single, scaling, events, scale_in, calls = results
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    bullet = "- " if markdown else ""
    title = (lambda text: f"### {text}") if markdown else (lambda text: f"== {text} ==")
    versions = f"versions: python {platform.python_version()}, placement {placement.__version__}, numpy {np.__version__}"
    lines = [f"run: {when}: python benchmarks/compare_placement.py --instances {args.instances} --tasks {args.tasks} "
             f"--repeat {args.repeat}", *machine_lines(), versions]
    headline = []
    for row in stream:
        name, best = fastest_baseline(row)
        headline.append(f"mixed stream, {row.chain}: place() {row.rates['place() per call'] / best:.1f}x and "
                        f"place_many {row.rates['place_many per chunk'] / best:.1f}x the fastest baseline ({name}, "
                        f"{best:,.0f}/s) (targets 5x and 20x)")
    headline.append(f"single-task place(1), a shape per call, spread(AZ)+binpack(memory): "
                    f"{single['prepared place(1)']:,.0f} decisions/s prepared, {single['keyword place(1)']:,.0f} "
                    f"keyword (target 250,000)")
    if len(scaling) > 1:
        headline.append(f"cost per call from {scaling[0]['instances']:,} to {scaling[-1]['instances']:,} instances: "
                        f"{scaling[-1]['us'] / scaling[0]['us']:.2f}x (target at most 2x)")
    headline.append(f"fleet events: {events['events'] / events['seconds']:,.0f} events/s on "
                    f"{events['instances']:,} instances with a live placer (target 50,000); index rebuilds "
                    f"{events['index_builds']}, state rebuilds {events['state_starts']}")
    headline.append("scale-in, 1,000 of a 10,000-task service on 10,000 instances: " +
                    ", ".join(f"{k} {v:.1f} ms" for k, v in scale_in.items()) + " (target under 10 ms)")
    intro = []
    if markdown:
        intro = ["# Placement benchmark results", "",
                 "The fast placer (`placement.place.Placer`) beside hand-written placers making the same decisions, on "
                 "the workloads a scheduler has, in one process. Written by `python benchmarks/compare_placement.py "
                 "--markdown benchmarks/PLACEMENT_RESULTS.md` (a few minutes). The machine is a shared 2-core VM: "
                 "identical runs differ by up to a third in absolute rates, so read the ratios of the same run; every "
                 "time is the best of its rounds, with the garbage collector off while timing.", ""]
    parts = [*intro, *(bullet + line for line in lines), "", *(bullet + line for line in headline), "",
             title(f"Mixed stream: {args.tasks:,} tasks, {len(calls):,} calls, {args.instances:,} instances"), "",
             bullet + (f"steady state: after every {CHUNK:,} calls the oldest tasks beyond {CAP:,} depart (stops timed "
                       f"too); constraint memberOf({CONSTRAINT.expression}); every method chose the same instance "
                       f"for every task (checked)."),
             bullet + ("the pure-Python baselines are measured on the stream's first tasks only (" +
                       ", ".join(f"{n} {t:,}" for n, t in stream[0].tasks.items() if t < args.tasks) +
                       "): the fleet is emptier there, which favours them; they slow down as it fills, since a "
                       "1-D order (memory) must step over instances that have the memory but not the cpu."), "",
             render(stream_rows(stream), markdown), "",
             title("Scaling: place(1) with a shape per call, then a stop, spread(AZ)+binpack(memory)"), "",
             render([["instances", "us per call", "growth vs first", "placer start-up (ms, once)"]] +
                    [[f"{s['instances']:,}", f"{s['us']:.2f}", f"{s['us'] / scaling[0]['us']:.2f}x",
                      f"{s['start_ms']:,.0f}"] for s in scaling], markdown) if scaling else "", "",
             title("Fleet events"), "",
             bullet + f"{events['events']:,} events ({', '.join(f'{k} {v:,}' for k, v in events['counts'].items())}) "
                      f"and {events['places']:,} place(1) calls in {events['seconds']:.2f} s on "
                      f"{events['instances']:,} instances: {events['events'] / events['seconds']:,.0f} events/s; "
                      f"the placer followed every event (index rebuilds {events['index_builds']}, "
                      f"state rebuilds {events['state_starts']}).", ""]
    return "\n".join(parts) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print("\n".join(machine_lines()), flush=True)
    fleet = scaled_fleet(args.instances)
    calls = mixed_stream(args.tasks)
    print(f"mixed stream: {args.tasks:,} tasks in {len(calls):,} calls", flush=True)
    stream = measure_stream(fleet, calls, args)
    single = measure_single(fleet, args.single_calls, args)
    print(f"  single calls: {single}", flush=True)
    scaling = measure_scaling(args.scaling) if args.scaling else []
    events = min((measure_events(args) for _ in range(max(1, args.repeat))), key=lambda e: e["seconds"])
    print(f"  events: {events['events'] / events['seconds']:,.0f}/s", flush=True)
    scale_in = measure_scale_in()
    print(f"  scale-in: {scale_in}", flush=True)
    publish(report, args, (stream, single, scaling, events, scale_in, calls), started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
