"""The fast placer side by side with the reference placer and two hand-written baselines.

    python benchmarks/compare_placement.py [--instances 10000] [--tasks 10000 100000]
                                           [--repeat 5] [--seed 0] [--markdown FILE]

In one process, on ``scaled_fleet(instances)`` with a small demand (cpu 16, memory 32, so that
100,000 tasks fit; the script fails if any task is left unplaced), for each strategy chain:

- ``fast batch``: one ``Placer.place(count, ...)`` call; ``fast stream``: many calls of mixed
  sizes (drawn from 1, 2, 5, 10, 50 with a fixed seed) until the total is reached. Each round
  gets a new ``Placer`` whose one-time build (its state, and the ranker index for the request,
  both done by an untimed ``place(0, ...)`` that places nothing) is reported separately, not
  timed with the tasks; the scaling table also times the first call with the build inside;
- ``numpy``: per task, one int64 key over the fitting candidates combining the strategy keys
  and the position (``np.lexsort`` when the combined key could overflow), ``argmin``, update;
- ``sorted-list``: pure Python; the candidates split into cells sharing every spread bucket,
  each cell a ``list`` of (instance keys..., position) kept sorted with ``bisect.insort``; per
  task, the cell whose (bucket counts, first item) is least gives up its first item;
- ``reference``: ``place_reference``, only at ``--reference-instances`` x ``--reference-tasks``
  (1,000 x 200) as a scale marker, since it is O(tasks x instances^2) with a spread strategy.

Both baselines must choose exactly the fast placer's instances, task by task (asserted), and so
must the stream and the reference; ``random`` has no baseline (its draws are the placer's own
generator), only the fast placer and the reference. Each time is the best of at least
``--repeat`` rounds, more until a second of timed work (at most 100; the rule of
``timeit.autorange``, the same for every method), and the slow methods stop repeating after
``--budget`` seconds; ``time.perf_counter_ns``.
Also: single-task calls (``place(1, ...)`` with a memberOf constraint, ``--single-calls`` of
them), and the scaling curve over 1k ... 1M instances of one 10,000-task batch and of
single-task calls.
"""
from __future__ import annotations

import argparse
import bisect
import datetime
import gc
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import placement  # noqa: E402
from placement.place import (Binpack, Demand, MemberOf, Placer, Random, Spread,  # noqa: E402
                             ecs_service_default)
from placement.place.reference import place_reference  # noqa: E402

from workloads import machine_lines, publish, render, scaled_fleet  # noqa: E402

AZ = "attribute:ecs.availability-zone"
GROUP = "service:web"
CPU, MEMORY = 16, 32
STREAM_SIZES = (1, 2, 5, 10, 50)
SINGLE_CONSTRAINT = MemberOf("attribute:ecs.os-type == linux")
HEADLINE = "spread(AZ)+binpack(memory)"
SCALING_SIZES = (1_000, 10_000, 100_000, 1_000_000)
SCALING_TASKS = 10_000


def strategy_chains() -> dict[str, list]:
    return {
        "binpack(memory)": [Binpack("memory")],
        HEADLINE: [Spread(AZ), Binpack("memory")],
        "spread(instanceId)": [Spread("instanceId")],
        "random": [Random()],
        "ecs_service_default": ecs_service_default(),
    }


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5, help="rounds per timing (best is kept)")
    parser.add_argument("--budget", type=float, default=3.0,
                        help="seconds after which a slow method stops repeating (it always runs once)")
    parser.add_argument("--seed", type=int, default=0, help="fleet seed")
    parser.add_argument("--reference-instances", type=int, default=1_000)
    parser.add_argument("--reference-tasks", type=int, default=200)
    parser.add_argument("--reference-spread-tasks", type=int, default=20,
                        help="tasks for the reference with a spread strategy (about 1 s per task at "
                             "1,000 instances; the rate is per task, so fewer tasks give the same rate)")
    parser.add_argument("--single-calls", type=int, default=2_000)
    parser.add_argument("--scaling", type=int, nargs="*", default=list(SCALING_SIZES),
                        help="instance counts for the scaling curve (none: skip it)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    return parser.parse_args(argv)


# -- timing -------------------------------------------------------------------------------------------

@dataclass
class Timing:
    best_ns: int
    rounds: int
    result: object = None
    setup_ns: list[int] = field(default_factory=list)    # the untimed one-time cost of each round

    def rate(self, tasks: int) -> float:
        return tasks / (self.best_ns / 1e9)


def timed(run: Callable[[object], object], setup: Callable[[], object] | None, repeat: int,
          budget_s: float, floor_s: float = 1.0, max_rounds: int = 100) -> Timing:
    """Best of ``run(setup())`` over at least ``repeat`` rounds (setup not timed), more while
    less than ``floor_s`` seconds of timed work were spent (at most ``max_rounds``), as
    ``timeit.autorange`` does: millisecond runs on a noisy VM need many rounds for a stable
    best, and every method gets the same rule. Stops repeating once ``budget_s`` seconds were
    spent. The last round's result is kept."""
    best, rounds, spent, setups, result = None, 0, 0, [], None
    while rounds < max(1, repeat) or (spent < floor_s * 1e9 and rounds < max_rounds):
        start = time.perf_counter_ns()
        prepared = setup() if setup else None
        setups.append(time.perf_counter_ns() - start)
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            result = run(prepared)
            elapsed = time.perf_counter_ns() - start
        finally:
            gc.enable()
        best = elapsed if best is None else min(best, elapsed)
        rounds += 1
        spent += elapsed
        if spent > budget_s * 1e9:
            break
    return Timing(best, rounds, result, setups)


# -- the fast placer ------------------------------------------------------------------------------------

def fresh_placer(fleet, strategies, constraints=()) -> Placer:
    """A new placer with its state built (``place(0)`` syncs and caches masks, places nothing)."""
    placer = Placer(fleet, strategies=strategies)
    placer.place(0, CPU, MEMORY, group=GROUP, constraints=list(constraints), seed=1)
    return placer


def fast_batch(placer: Placer, count: int) -> np.ndarray:
    result = placer.place(count, CPU, MEMORY, group=GROUP, seed=1)
    assert result.unplaced == 0, f"{result.unplaced} tasks unplaced: lower the demand ({result.reasons})"
    return result.positions


def stream_counts(total: int, seed: int = 7) -> list[int]:
    """Call sizes drawn from ``STREAM_SIZES`` with a fixed seed, the last one cut to reach ``total``."""
    rng = np.random.default_rng(seed)
    counts, left = [], total
    while left > 0:
        size = min(int(rng.choice(STREAM_SIZES)), left)
        counts.append(size)
        left -= size
    return counts


def fast_stream(placer: Placer, counts: list[int]) -> np.ndarray:
    out = []
    for count in counts:
        result = placer.place(count, CPU, MEMORY, group=GROUP, seed=1)
        assert result.unplaced == 0, f"{result.unplaced} tasks unplaced in the stream"
        out.append(result.positions)
    return np.concatenate(out)


# -- the baselines' starting state ----------------------------------------------------------------------

@dataclass
class Start:
    """Per instance, what the baselines start from (copied per round)."""

    cpu: np.ndarray
    memory: np.ndarray
    gpu: np.ndarray
    eligible: np.ndarray              # bool: ACTIVE and agent connected
    group_count: np.ndarray           # int64: tasks of GROUP already on the instance
    buckets: dict[str, np.ndarray]    # attribute -> int64 bucket code per instance


def start_state(fleet, strategies) -> Start:
    columns = fleet.columns

    def code_is(column, value):
        code = column.code_of(value)
        return column.codes == code if code is not None else np.zeros(len(column.codes), dtype=bool)

    buckets = {}
    for strategy in strategies:
        if isinstance(strategy, Spread) and not strategy.per_instance:
            column = columns.attributes.get(strategy.attribute)
            buckets[strategy.attribute] = (column.codes.astype(np.int64) if column is not None
                                           else np.zeros(len(fleet), dtype=np.int64))
    return Start(columns.resources["remaining_cpu"].astype(np.int64),
                 columns.resources["remaining_memory"].astype(np.int64),
                 columns.resources["remaining_gpu"].astype(np.int64),
                 code_is(columns.status, "ACTIVE") & code_is(columns.agent_connected, True),
                 group_counts(columns, GROUP), buckets)


def group_counts(columns, group: str) -> np.ndarray:
    """Tasks of ``group`` per instance, from the fleet's task:group column."""
    groups = columns.groups
    counts = np.zeros(len(columns), dtype=np.int64)
    if group in groups.dictionary:
        rows = np.repeat(np.arange(len(columns)), np.diff(groups.offsets))
        hit = groups.codes == groups.dictionary.index(group)
        np.add.at(counts, rows[hit], groups.counts[hit])
    return counts


def supported(strategies) -> bool:
    """The baselines handle binpack and spread, with every bucket spread before the others."""
    if any(isinstance(s, Random) for s in strategies):
        return False
    kinds = [isinstance(s, Spread) and not s.per_instance for s in strategies]
    return kinds == sorted(kinds, reverse=True)


# -- baseline 1: numpy, one key and an argmin per task ----------------------------------------------------

class NumpyBaseline:
    """Per task: an int64 key over the fitting candidates (strategy keys, then position), argmin."""

    name = "numpy"

    def __init__(self, start: Start, strategies, count: int):
        self.start, self.strategies, self.count = start, strategies, count

    def setup(self):
        s = self.start
        cpu, memory, gpu, group_count = s.cpu.copy(), s.memory.copy(), s.gpu.copy(), s.group_count.copy()
        bucket_counts = {name: np.bincount(codes, weights=group_count).astype(np.int64)
                         for name, codes in s.buckets.items()}
        return cpu, memory, gpu, group_count, bucket_counts

    def run(self, prepared) -> np.ndarray:
        cpu, memory, gpu, group_count, bucket_counts = prepared
        s, count = self.start, self.count
        candidates = np.flatnonzero(s.eligible & (cpu >= CPU) & (memory >= MEMORY) & (gpu >= 0))
        # (how to read the key of each strategy for the candidates, its exclusive upper bound)
        parts = []
        for strategy in self.strategies:
            if isinstance(strategy, Binpack):
                values = cpu if strategy.resource == "cpu" else memory
                parts.append((lambda c, v=values: v[c], int(values.max(initial=0)) + 1))
            elif strategy.per_instance:
                parts.append((lambda c: group_count[c], int(group_count.max(initial=0)) + count + 1))
            else:
                codes, counts = s.buckets[strategy.attribute], bucket_counts[strategy.attribute]
                parts.append((lambda c, codes=codes, counts=counts: counts[codes[c]],
                              int(counts.sum()) + count + 1))
        bound = len(cpu)
        for _, part_bound in parts:
            bound *= part_bound
        one_key = bound < 2 ** 63
        chosen = np.empty(count, dtype=np.int64)
        for t in range(count):
            if not len(candidates):
                raise AssertionError(f"numpy baseline: no candidate for task {t}")
            if one_key:
                key = np.zeros(len(candidates), dtype=np.int64)
                for read, part_bound in parts:
                    key *= part_bound
                    key += read(candidates)
                key *= len(cpu)
                key += candidates
                j = int(np.argmin(key))
            else:       # lexsort's last key is the primary one
                j = int(np.lexsort([candidates] + [read(candidates) for read, _ in reversed(parts)])[0])
            i = int(candidates[j])
            chosen[t] = i
            cpu[i] -= CPU
            memory[i] -= MEMORY
            group_count[i] += 1
            for name, codes in s.buckets.items():
                bucket_counts[name][codes[i]] += 1
            if cpu[i] < CPU or memory[i] < MEMORY:
                candidates = np.delete(candidates, j)
        return chosen


# -- baseline 2: pure Python, sorted lists and bisect ------------------------------------------------------

class SortedListBaseline:
    """Cells of candidates sharing every spread bucket, each a sorted list of (instance keys...,
    position); per task the least (bucket counts, first item) wins."""

    name = "sorted-list"

    def __init__(self, start: Start, strategies, count: int):
        self.start, self.strategies, self.count = start, strategies, count
        self.bucket_names = [st.attribute for st in strategies if isinstance(st, Spread) and not st.per_instance]
        self.instance_keys = [("cpu" if st.resource == "cpu" else "memory") if isinstance(st, Binpack) else "group"
                              for st in strategies if isinstance(st, Binpack) or st.per_instance]

    def setup(self):
        s = self.start
        cpu, memory, group_count = s.cpu.tolist(), s.memory.tolist(), s.group_count.tolist()
        codes = [s.buckets[name].tolist() for name in self.bucket_names]
        bucket_counts = [np.bincount(s.buckets[name], weights=s.group_count).astype(np.int64).tolist()
                         for name in self.bucket_names]
        fit = np.flatnonzero(s.eligible & (s.cpu >= CPU) & (s.memory >= MEMORY)).tolist()
        state = {"cpu": cpu, "memory": memory, "group": group_count}
        reads = [state[k] for k in self.instance_keys]
        cells: dict[tuple, list] = {}
        for i in fit:
            cells.setdefault(tuple(c[i] for c in codes), []).append((*(r[i] for r in reads), i))
        for items in cells.values():
            items.sort()
        return cpu, memory, group_count, codes, bucket_counts, cells

    def run(self, prepared) -> np.ndarray:
        cpu, memory, group_count, codes, bucket_counts, cells = prepared
        reads = [{"cpu": cpu, "memory": memory, "group": group_count}[k] for k in self.instance_keys]
        keys = list(cells)
        lists = [cells[k] for k in keys]
        insort = bisect.insort
        chosen = []
        single = len(self.bucket_names) == 1
        counts0 = bucket_counts[0] if single else None
        bucket0 = [k[0] for k in keys] if single else None
        for t in range(self.count):
            if single:      # spread(one attribute) first: (tasks in the bucket, best item)
                best, best_key = -1, None
                for c, items in enumerate(lists):
                    if items:
                        key = (counts0[bucket0[c]], items[0])
                        if best_key is None or key < best_key:
                            best, best_key = c, key
            elif not self.bucket_names:
                best = 0 if lists and lists[0] else -1
            else:
                live = [c for c, items in enumerate(lists) if items]
                best = min(live, key=lambda c: (tuple(bc[k] for bc, k in zip(bucket_counts, keys[c])),
                                                lists[c][0])) if live else -1
            if best < 0:
                raise AssertionError(f"sorted-list baseline: no candidate for task {t}")
            items = lists[best]
            i = items.pop(0)[-1]
            chosen.append(i)
            cpu[i] -= CPU
            memory[i] -= MEMORY
            group_count[i] += 1
            for bc, k in zip(bucket_counts, keys[best]):
                bc[k] += 1
            if cpu[i] >= CPU and memory[i] >= MEMORY:
                insort(items, (*(r[i] for r in reads), i))
        return np.array(chosen, dtype=np.int64)


BASELINES = (NumpyBaseline, SortedListBaseline)


# -- measuring --------------------------------------------------------------------------------------------

@dataclass
class Row:
    strategy: str
    instances: int
    tasks: int
    rates: dict[str, float]                 # method -> placements per second
    sync_ms: float | None = None            # the fast placer's one-time build (state and index), median
    rounds: dict[str, int] = field(default_factory=dict)


def check_same(name: str, got: np.ndarray, expected: np.ndarray) -> None:
    got, expected = np.asarray(got), np.asarray(expected)
    if len(got) != len(expected) or not np.array_equal(got, expected):
        n = min(len(got), len(expected))
        first = int(np.flatnonzero(got[:n] != expected[:n])[0]) if (got[:n] != expected[:n]).any() else n
        raise AssertionError(f"{name} differs from the fast placer at task {first} "
                             f"({len(got)} vs {len(expected)} tasks; got {got[first:first + 3].tolist()}, "
                             f"expected {expected[first:first + 3].tolist()})")


def measure_case(fleet, name: str, strategies, count: int, args, with_baselines: bool = True,
                 with_stream: bool = True, reference_tasks: int | None = None) -> Row:
    row = Row(name, len(fleet), count, {})
    batch = timed(lambda p: fast_batch(p, count), lambda: fresh_placer(fleet, strategies), args.repeat, args.budget)
    row.rates["fast batch"], row.rounds["fast batch"] = batch.rate(count), batch.rounds
    row.sync_ms = float(np.median(batch.setup_ns)) / 1e6
    expected = batch.result
    assert len(expected) == count
    if with_stream:
        counts = stream_counts(count)
        stream = timed(lambda p: fast_stream(p, counts), lambda: fresh_placer(fleet, strategies),
                       args.repeat, args.budget)
        row.rates["fast stream"], row.rounds["fast stream"] = stream.rate(count), stream.rounds
        if supported(strategies):       # deterministic chains: the stream continues the same state
            check_same(f"{name}: fast stream", stream.result, expected)
    if with_baselines and supported(strategies):
        start = start_state(fleet, strategies)
        for baseline_class in BASELINES:
            baseline = baseline_class(start, strategies, count)
            timing = timed(baseline.run, baseline.setup, args.repeat, args.budget)
            check_same(f"{name}: {baseline.name} baseline", timing.result, expected)
            row.rates[baseline.name], row.rounds[baseline.name] = timing.rate(count), timing.rounds
    if reference_tasks:
        ref = timed(lambda _: place_reference(fleet, Demand(CPU, MEMORY), reference_tasks, GROUP, [], strategies, 1),
                    None, 1, 0)
        assert ref.result.unplaced == 0
        check_same(f"{name}: reference", ref.result.positions, expected[:reference_tasks])
        row.rates["reference"], row.rounds["reference"] = ref.rate(reference_tasks), 1
        if reference_tasks != count:
            row.strategy = f"{name} (reference: first {reference_tasks} tasks)"
    return row


def single_calls(placer: Placer, calls: int) -> np.ndarray:
    """``calls`` scheduler-style calls: ``place(1, ...)`` with a memberOf constraint."""
    constraints = [SINGLE_CONSTRAINT]
    return np.concatenate([placer.place(1, CPU, MEMORY, group=GROUP, constraints=constraints, seed=1).positions
                           for _ in range(calls)])


def measure_single(fleet, name: str, strategies, calls: int) -> dict[str, float]:
    """``calls`` single-task calls: decisions/s, and the same decisions made by the numpy per-task
    step (checked equal)."""
    timing = timed(lambda p: single_calls(p, calls), lambda: fresh_placer(fleet, strategies, [SINGLE_CONSTRAINT]),
                   3, 2.0)
    out = {"fast place(1)": timing.rate(calls)}
    assert len(timing.result) == calls
    if supported(strategies):
        start = start_state(fleet, strategies)
        mask = SINGLE_CONSTRAINT.predicate.evaluate(fleet)
        start.eligible = start.eligible & mask
        baseline = NumpyBaseline(start, strategies, calls)
        numpy_timing = timed(baseline.run, baseline.setup, 3, 2.0)
        check_same(f"single {name}: numpy", numpy_timing.result, timing.result)
        out["numpy per task"] = numpy_timing.rate(calls)
    return out


def measure_scaling(sizes, args) -> list[dict]:
    """Per fleet size: a 10,000-task batch on a built placer, the same batch as the first call
    of a new placer (everything built inside the call), and single-task calls."""
    strategies = strategy_chains()[HEADLINE]
    out = []
    for n in sizes:
        start = time.perf_counter()
        fleet = scaled_fleet(n, args.seed)
        build_s = time.perf_counter() - start
        repeat = min(args.repeat, 3)
        batch = timed(lambda p: fast_batch(p, SCALING_TASKS), lambda: fresh_placer(fleet, strategies),
                      repeat, args.budget)
        cold = timed(lambda p: fast_batch(p, SCALING_TASKS), lambda: Placer(fleet, strategies=strategies),
                     repeat, args.budget)
        check_same(f"scaling {n}: first call", cold.result, batch.result)
        single = timed(lambda p: single_calls(p, args.single_calls),
                       lambda: fresh_placer(fleet, strategies, [SINGLE_CONSTRAINT]), repeat, args.budget)
        out.append({"instances": n, "fleet_s": build_s, "sync_ms": float(np.median(batch.setup_ns)) / 1e6,
                    "batch_ms": batch.best_ns / 1e6, "ns_per_task": batch.best_ns / SCALING_TASKS,
                    "cold_ms": cold.best_ns / 1e6, "single_us": single.best_ns / 1e3 / args.single_calls})
        print(f"  scaling {n:>9,} instances: batch {batch.best_ns / 1e6:.2f} ms, first call {cold.best_ns / 1e6:.1f} ms, "
              f"build {out[-1]['sync_ms']:.0f} ms, single call {out[-1]['single_us']:.1f} us", flush=True)
    base = out[0] if out else None
    for entry in out:
        entry["growth"] = entry["ns_per_task"] / base["ns_per_task"]
        entry["single_growth"] = entry["single_us"] / base["single_us"]
        entry["log_growth"] = math.log2(entry["instances"]) / math.log2(base["instances"])
    return out


@dataclass
class Results:
    rows: list[Row]
    reference_rows: list[Row]
    single: dict[str, dict[str, float]]
    scaling: list[dict]


def measure(args) -> Results:
    chains = strategy_chains()
    fleet = scaled_fleet(args.instances, args.seed)
    rows = []
    for count in args.tasks:
        for name, strategies in chains.items():
            rows.append(measure_case(fleet, name, strategies, count, args))
            print(f"  {name:28s} {count:>7,} tasks: " + ", ".join(f"{m} {r:,.0f}/s" for m, r in rows[-1].rates.items()),
                  flush=True)
    small = scaled_fleet(args.reference_instances, args.seed)
    reference_rows = []
    for name, strategies in chains.items():
        spread = any(isinstance(s, Spread) for s in strategies)
        tasks = min(args.reference_tasks, args.reference_spread_tasks) if spread else args.reference_tasks
        reference_rows.append(measure_case(small, name, strategies, args.reference_tasks, args, with_stream=False,
                                           reference_tasks=tasks))
        print(f"  reference {name:28s}: " + ", ".join(f"{m} {r:,.0f}/s" for m, r in reference_rows[-1].rates.items()),
              flush=True)
    single = {}
    for name, strategies in chains.items():
        single[name] = measure_single(fleet, name, strategies, args.single_calls)
        print(f"  single {name:28s}: " + ", ".join(f"{m} {r:,.0f}/s" for m, r in single[name].items()), flush=True)
    scaling = measure_scaling(args.scaling, args) if args.scaling else []
    return Results(rows, reference_rows, single, scaling)


# -- reporting --------------------------------------------------------------------------------------------

def version_lines() -> list[str]:
    versions = {"python": platform.python_version(), "placement": placement.__version__, "numpy": np.__version__}
    try:
        import Cython
        versions["Cython"] = Cython.__version__
    except ImportError:
        pass
    return ["versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())]


METHODS = ("fast batch", "fast stream", "numpy", "sorted-list", "reference")
BASELINE_NAMES = ("numpy", "sorted-list")


def rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.0f}"


def ratio_text(ours: float | None, theirs: float | None) -> str:
    return "-" if ours is None or theirs is None else f"{ours / theirs:,.1f}x"


def fastest_baseline(row: Row) -> tuple[str | None, float | None]:
    present = [(row.rates[n], n) for n in BASELINE_NAMES if n in row.rates]
    if not present:
        return None, None
    rate, name = max(present)
    return name, rate


def placement_rows(rows: list[Row], reference: bool = False) -> list[list[str]]:
    methods = [m for m in METHODS if any(m in r.rates for r in rows)]
    header = ["strategy", "instances", "tasks", *[f"{m} (placements/s)" for m in methods],
              "fastest baseline", "batch / fastest baseline"]
    if "fast stream" in methods:
        header.append("stream / fastest baseline")
    if reference:
        header.append("batch / reference")
    header.append("build (ms, once)")
    out = [header]
    for row in rows:
        name, best = fastest_baseline(row)
        cells = [row.strategy, f"{row.instances:,}", f"{row.tasks:,}", *[rate_text(row.rates.get(m)) for m in methods],
                 name or "-", ratio_text(row.rates["fast batch"], best)]
        if "fast stream" in methods:
            cells.append(ratio_text(row.rates.get("fast stream"), best))
        if reference:
            cells.append(ratio_text(row.rates["fast batch"], row.rates.get("reference")))
        cells.append(f"{row.sync_ms:.1f}")
        out.append(cells)
    return out


def single_rows(results: Results, calls: int) -> list[list[str]]:
    out = [["strategy", "fast place(1) (decisions/s)", "us per call", "numpy per task (decisions/s)",
            "fast / numpy"]]
    for name, rates in results.single.items():
        fast = rates["fast place(1)"]
        out.append([name, f"{fast:,.0f}", f"{1e6 / fast:.1f}", rate_text(rates.get("numpy per task")),
                    ratio_text(fast, rates.get("numpy per task"))])
    return out


def scaling_rows(results: Results) -> list[list[str]]:
    out = [["instances", "batch of 10,000 (ms)", "ns per placement", "growth vs first",
            "single place(1) (us per call)", "single growth vs first", "log2(n) growth vs first",
            "build, once (ms)", "first call, build inside (ms)", "fleet build (s, untimed)"]]
    for e in results.scaling:
        out.append([f"{e['instances']:,}", f"{e['batch_ms']:.2f}", f"{e['ns_per_task']:,.0f}", f"{e['growth']:.2f}x",
                    f"{e['single_us']:.1f}", f"{e['single_growth']:.2f}x", f"{e['log_growth']:.2f}x",
                    f"{e['sync_ms']:,.0f}", f"{e['cold_ms']:,.1f}", f"{e['fleet_s']:.1f}"])
    return out


def headline(results: Results) -> list[str]:
    lines = []
    for row in results.rows:
        if row.strategy == HEADLINE:
            name, best = fastest_baseline(row)
            lines.append(f"headline: {HEADLINE}, {row.instances:,} instances x {row.tasks:,} tasks: fast batch "
                         f"{row.rates['fast batch']:,.0f}/s vs fastest baseline ({name}) {best:,.0f}/s = "
                         f"{row.rates['fast batch'] / best:.1f}x (target >= 20x)")
    single = results.single.get(HEADLINE)
    if single:
        lines.append(f"single-task place(1) with memberOf, {HEADLINE}: {single['fast place(1)']:,.0f} decisions/s "
                     f"(target >= 50,000)")
    return lines


NOTES = (
    f"demand: cpu {CPU}, memory {MEMORY}, group {GROUP}, no constraints in the batches; no task was left unplaced "
    "(checked).",
    "fast batch: one Placer.place(count) call; fast stream: calls of 1, 2, 5, 10 or 50 tasks (fixed seed) until "
    "the total. Every round uses a new Placer; its one-time build (state, group counts and the ranker index "
    "for the request, done by an untimed place(0)) is the 'build' column, not in the rates.",
    "numpy: per task an int64 key (strategy keys, then position) over the fitting candidates and argmin; "
    "sorted-list: pure Python, one bisect-sorted list per spread cell. Both are per-task algorithms (their "
    "stream rate is their batch rate), and both chose exactly the fast placer's instances for every task "
    "(asserted), as did the stream and the reference. random has no baseline.",
    "Rates are placements per second from the best round (at least --repeat rounds, more until 1 s of timed "
    "work or 100 rounds, the same rule for every method; slow methods stop after --budget seconds).",
)


def report(args, results: Results, markdown: bool) -> str:
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    command = ("python benchmarks/compare_placement.py --instances {} --tasks {} --repeat {}"
               .format(args.instances, " ".join(map(str, args.tasks)), args.repeat))
    bullet = "- " if markdown else ""
    title = (lambda text: f"### {text}") if markdown else (lambda text: f"== {text} ==")
    parts = [*(bullet + line for line in [f"run: {when}: {command}", *machine_lines(), *version_lines(), *NOTES]),
             "", *(bullet + line for line in headline(results)), "",
             title(f"Batches and streams on {args.instances:,} instances"), "",
             render(placement_rows(results.rows), markdown), "",
             title(f"Scale marker: {args.reference_instances:,} instances x {args.reference_tasks} tasks, with the "
                   "reference placer"), "",
             (bullet + f"The reference is O(tasks x instances^2) with a spread strategy (about 1 s per task here), so "
              f"with one it places only the first {args.reference_spread_tasks} tasks (checked equal to the fast "
              f"placer's first ones) and its rate is over those."),
             "", render(placement_rows(results.reference_rows, reference=True), markdown), "",
             title(f"Single-task calls: {args.single_calls:,} x place(1) with memberOf({SINGLE_CONSTRAINT.expression}) "
                   f"on {args.instances:,} instances"), "",
             (bullet + "numpy per task: the numpy baseline's per-task step with the constraint's mask folded into "
              "eligibility (same decisions, checked)."), "",
             render(single_rows(results, args.single_calls), markdown), ""]
    if results.scaling:
        parts += [title(f"Scaling: one batch of {SCALING_TASKS:,} tasks, and {args.single_calls:,} single-task "
                        f"calls, {HEADLINE}"), "",
                  (bullet + "growth vs first: relative to the smallest fleet; log2(n) growth: what O(log n) per "
                   "placement would give. The batch and single calls run on a placer already built (the build "
                   "column); 'first call' is the same batch on a new placer, O(n) build included."), "",
                  render(scaling_rows(results), markdown), ""]
    return "\n".join(parts) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print("\n".join(machine_lines() + version_lines()), flush=True)
    results = measure(args)
    publish(report, args, results, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
