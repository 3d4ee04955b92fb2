"""placement side by side with numpy, pandas, polars, DuckDB and pyarrow on the same workloads.

    python benchmarks/compare_peers.py [--rows 1000000] [--repeat 7] [--seed 0] [--markdown FILE]

In one process, every workload of ``workloads.WORKLOADS`` is evaluated by placement (the
compiled kernel, plan already bound, 1 and 2 threads; and bind + run) and by each peer of
``peers.py``; every result is checked to select exactly placement's rows (the script fails,
naming the method, if one does not). Each time is the best of ``--repeat`` runs after one
warm-up, with ``time.perf_counter_ns``; data conversion happens once, before timing. The FLOOR
is one read (``np.add.reduce`` in the stored dtype) of every column the expression reads, as
placement stores it: no method that reads the data can beat it.

Polars sizes its thread pool at import, so the in-process polars column uses its default pool;
the single-thread polars figures come from this script re-run with ``--polars-only`` in a
subprocess under ``POLARS_MAX_THREADS=1``, which reports its timings as JSON on stdout.
"""
from __future__ import annotations

import argparse
import datetime
import functools
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import placement
from placement.engine.bind import bind
from placement.lang.ir import Kind

import peers
from workloads import WORKLOADS, machine_lines, publish, render, scaled_arrow, scaled_fleet

PLACEMENT = "placement 1t"


@dataclass
class Method:
    """One way to evaluate a compiled predicate: ``run`` is timed, ``to_mask`` is not."""

    name: str
    run: Callable[[placement.Predicate], object]
    to_mask: Callable[[object], np.ndarray]
    peer: bool = True
    single_thread: bool = True


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    parser.add_argument("--polars-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- timing and checking ----------------------------------------------------------------------------

def best_of(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """For each named call, the fastest of ``repeat`` back-to-back calls after one warm-up, in ms.

    One method at a time: interleaving them was tried and is worse here, because the thread
    pools of polars and DuckDB are still spinning when the next method starts.
    """
    best = {}
    for name, run in runs.items():
        run()
        gc.collect()
        gc.disable()
        try:
            best[name] = min(_elapsed_ns(run) for _ in range(repeat)) / 1e6
        finally:
            gc.enable()
    return best


def _elapsed_ns(run) -> int:
    start = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - start


def mismatch(method: Method, pred: placement.Predicate, expected: np.ndarray) -> str | None:
    """None when ``method`` selects exactly the rows of ``expected``, else what differs."""
    mask = np.asarray(method.to_mask(method.run(pred)), dtype=bool)
    if mask.shape != expected.shape:
        return f"{method.name}: {mask.shape[0]} rows instead of {expected.shape[0]}"
    wrong = np.flatnonzero(mask != expected)
    if len(wrong):
        return (f"{method.name}: {len(wrong)} rows differ from placement "
                f"(first rows {wrong[:5].tolist()}; placement says {expected[wrong[:5]].tolist()})")
    return None


def floor_arrays(pred: placement.Predicate, columns) -> list[np.ndarray]:
    """The stored arrays the expression reads: codes, int64 columns, task:group's CSR."""
    arrays = []
    for field in peers.fields_of(pred.ir):
        if field.kind is Kind.ATTRIBUTE and field.name in columns.attributes:
            arrays.append(columns.attributes[field.name].codes)
        elif field.kind is Kind.RUNNING_TASKS:
            arrays.append(columns.running_tasks)
        elif field.kind is Kind.TASK_GROUP:
            arrays.extend((columns.groups.offsets, columns.groups.codes))
    return arrays


def read_once(arrays: list[np.ndarray]) -> None:
    for array in arrays:
        np.add.reduce(array, dtype=array.dtype)


# -- the methods --------------------------------------------------------------------------------------

def needed_table(rows: int, seed: int):
    """The Arrow table of the fleet, only the columns some workload reads."""
    table = scaled_arrow(rows, seed)
    names = {peers.arrow_name(f) for text in WORKLOADS.values() for f in peers.fields_of(placement.compile(text).ir)}
    return table.select([name for name in table.column_names if name in names])


def placement_methods(fleet: placement.Fleet) -> list[Method]:
    as_is = np.asarray
    return [
        Method(PLACEMENT, lambda pred: pred.evaluate(fleet), as_is, peer=False),
        Method("placement 2t", lambda pred: pred.evaluate(fleet, threads=2), as_is, peer=False, single_thread=False),
        Method("placement bind+run", lambda pred: bind(pred.plan, fleet.columns).run(1), as_is, peer=False),
    ]


def peer_method(peer: peers.Peer, single_thread: bool = True) -> Method:
    return Method(peer.name, lambda pred: peer.evaluate(pred.ir), peer.to_mask, single_thread=single_thread)


def peer_methods(fleet: placement.Fleet, table, setup_ms: dict[str, float]) -> list[Method]:
    """Every in-process peer, its data converted now (the time it took goes to ``setup_ms``)."""
    import polars as pl
    import pyarrow as pa

    def timed(name, build):
        start = time.perf_counter()
        built = build()
        setup_ms[name] = (time.perf_counter() - start) * 1e3
        return built

    polars_peer = timed("polars", lambda: peers.PolarsPeer(table))
    polars_peer.name = f"polars {pl.thread_pool_size()}t"
    methods = [
        peer_method(timed("numpy", lambda: peers.NumpyPeer(fleet.columns))),
        peer_method(timed("pandas", lambda: peers.PandasPeer(table))),
        peer_method(polars_peer, single_thread=pl.thread_pool_size() == 1),
    ]
    for threads in (1, None):
        duck = timed(f"duckdb {threads or 'default'}", lambda: peers.DuckdbPeer(table, threads))
        methods.append(peer_method(duck, single_thread=duck.threads == 1))
    pa.set_cpu_count(1)        # pyarrow's element-wise kernels are single-threaded anyway
    arrow = timed("pyarrow", lambda: peers.ArrowPeer(table))
    arrow.name = "pyarrow 1t"
    methods.append(peer_method(arrow))
    return methods


def polars_single_thread(args) -> dict:
    """This script's ``--polars-only`` run under POLARS_MAX_THREADS=1: {threads, ms, mismatches}."""
    command = [sys.executable, os.path.abspath(__file__), "--polars-only", "--rows", str(args.rows),
               "--repeat", str(args.repeat), "--seed", str(args.seed)]
    done = subprocess.run(command, env={**os.environ, "POLARS_MAX_THREADS": "1"},
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the single-thread polars run failed:\n{done.stderr}")
    return json.loads(done.stdout)


def polars_only(args) -> None:
    """The subprocess side of ``polars_single_thread``: time polars alone, print JSON."""
    import polars as pl
    fleet = scaled_fleet(args.rows, args.seed)
    method = peer_method(peers.PolarsPeer(needed_table(args.rows, args.seed)))
    report = {"threads": pl.thread_pool_size(), "ms": {}, "mismatches": []}
    for name, text in WORKLOADS.items():
        pred = placement.compile(text)
        problem = mismatch(method, pred, pred.evaluate(fleet))
        if problem:
            report["mismatches"].append(f"{name}: {problem}")
        report["ms"][name] = best_of({"polars": lambda: method.run(pred)}, args.repeat)["polars"]
    print(json.dumps(report))


# -- measuring --------------------------------------------------------------------------------------

@dataclass
class Results:
    timings: dict[str, dict[str, float]]     # workload -> method -> best milliseconds
    methods: list[str]                       # column order
    single_thread_peers: set[str]
    shares: dict[str, float]                 # workload -> share of rows selected
    plans: dict[str, str]                    # workload -> placement's bound plan
    problems: list[str]                      # methods that disagree with placement


def measure(args) -> Results:
    fleet = scaled_fleet(args.rows, args.seed)
    table = needed_table(args.rows, args.seed)
    setup_ms: dict[str, float] = {}
    methods = placement_methods(fleet) + peer_methods(fleet, table, setup_ms)
    print("data conversion, once, untimed: " + ", ".join(f"{k} {v:.0f} ms" for k, v in setup_ms.items()))
    results = Results({}, [m.name for m in methods], {m.name for m in methods if m.peer and m.single_thread},
                      {}, {}, [])
    for name, text in WORKLOADS.items():
        pred = placement.compile(text)
        expected = pred.evaluate(fleet)
        results.shares[name] = float(expected.mean())
        results.plans[name] = pred.explain_plan(fleet)
        results.problems += [f"{name}: {problem}" for problem in (mismatch(m, pred, expected) for m in methods)
                             if problem]
        arrays = floor_arrays(pred, fleet.columns)
        runs = {m.name: functools.partial(m.run, pred) for m in methods}
        results.timings[name] = best_of({**runs, "floor": lambda: read_once(arrays)}, args.repeat)
        print(f"  measured {name}", flush=True)
    add_polars_single_thread(results, polars_single_thread(args))
    results.methods.append("floor")
    return results


def add_polars_single_thread(results: Results, single: dict) -> None:
    name = f"polars {single['threads']}t (subprocess)"
    results.methods.append(name)
    if single["threads"] == 1:
        results.single_thread_peers.add(name)
    results.problems += single["mismatches"]
    for workload, ms in single["ms"].items():
        results.timings[workload][name] = ms


# -- reporting --------------------------------------------------------------------------------------

def version_lines() -> list[str]:
    import duckdb
    import pandas
    import polars
    import pyarrow
    versions = {"python": platform.python_version(), "placement": placement.__version__,
                "numpy": np.__version__, "pandas": pandas.__version__, "polars": polars.__version__,
                "pyarrow": pyarrow.__version__, "duckdb": duckdb.__version__}
    return ["versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())]


def timing_rows(results: Results) -> list[list[str]]:
    header = ["workload", "selects"] + [f"{n} (ms)" for n in results.methods]
    return [header] + [[w, f"{results.shares[w]:.1%}"] + [f"{row[n]:.3f}" for n in results.methods]
                       for w, row in results.timings.items()]


def peer_names(results: Results) -> list[str]:
    return [n for n in results.methods if not n.startswith("placement") and n != "floor"]


def best_peer(results: Results, workload: str, single_thread_only: bool = False) -> str:
    row = results.timings[workload]
    names = [n for n in peer_names(results) if n in results.single_thread_peers or not single_thread_only]
    return min(names, key=row.__getitem__)


def ratio_rows(results: Results) -> tuple[list[list[str]], list[str]]:
    header = ["workload", "best peer", "best peer / placement", "best 1-thread peer",
              "best 1-thread peer / placement", "placement / floor", "bind+run / placement"]
    rows, overall, overall_single = [header], [], []
    for workload, row in results.timings.items():
        ours = row[PLACEMENT]
        best, best_single = best_peer(results, workload), best_peer(results, workload, single_thread_only=True)
        overall.append(row[best] / ours)
        overall_single.append(row[best_single] / ours)
        rows.append([workload, best, f"{row[best] / ours:.1f}x", best_single, f"{row[best_single] / ours:.1f}x",
                     f"{ours / row['floor']:.1f}x", f"{row['placement bind+run'] / ours:.1f}x"])
    summary = [f"geometric mean over workloads of best-peer / placement: {_geomean(overall):.1f}x",
               f"geometric mean over workloads of best-1-thread-peer / placement: {_geomean(overall_single):.1f}x"]
    return rows, summary


def slower_than_a_peer(results: Results) -> list[str]:
    """For each workload where some peer beat placement (1 thread): who, and placement's plan."""
    lines = []
    for workload, row in results.timings.items():
        best = best_peer(results, workload)
        if row[best] < row[PLACEMENT]:
            lines += [f"{workload}: {best} {row[best]:.3f} ms < placement {row[PLACEMENT]:.3f} ms; plan:",
                      *("    " + line for line in results.plans[workload].splitlines())]
    return lines


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


NOTES = (
    "placement 1t / 2t: pred.evaluate(fleet) with the plan already bound (a scheduler's steady state); "
    "bind+run: bind, then run on 1 thread.",
    "Peers return their native boolean result (ndarray, Series, Arrow table); turning it into a numpy "
    "mask for the check is not timed. Every method selected exactly placement's rows (checked).",
    "The single-thread polars column comes from a subprocess with POLARS_MAX_THREADS=1 "
    "(polars fixes its pool size at import).",
    "floor: np.add.reduce over every column the expression reads, in its stored dtype.",
)


def report(args, results: Results, markdown: bool) -> str:
    ratios, summary = ratio_rows(results)
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    command = f"python benchmarks/compare_peers.py --rows {args.rows} --repeat {args.repeat} --seed {args.seed}"
    header = [f"run: {when}: {command}", *machine_lines(), *version_lines(),
              f"{args.rows:,} rows, best of {args.repeat} after one warm-up; times in milliseconds.", *NOTES]
    slower = slower_than_a_peer(results)
    bullet = "- " if markdown else ""
    parts = [*(bullet + line for line in header), "", render(timing_rows(results), markdown), "",
             render(ratios, markdown), "", *(bullet + line for line in summary)]
    if slower:
        parts += ["", "Where a peer beat placement:", *(["```", *slower, "```"] if markdown else slower)]
    return "\n".join(parts) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.polars_only:
        polars_only(args)
        return 0
    started = time.perf_counter()
    results = measure(args)
    publish(report, args, results, started)
    for problem in results.problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    assert not results.problems, f"{len(results.problems)} method(s) disagree with placement (see above)"
    return 0


if __name__ == "__main__":
    sys.exit(main())
