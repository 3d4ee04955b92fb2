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
from workloads import WORKLOADS, scaled_arrow, scaled_fleet

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

def best_of(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` calls after one warm-up, in milliseconds."""
    run()
    gc.collect()
    gc.disable()
    try:
        best = min(_elapsed_ns(run) for _ in range(repeat))
    finally:
        gc.enable()
    return best / 1e6


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
        report["ms"][name] = best_of(lambda: method.run(pred), args.repeat)
    print(json.dumps(report))


# -- measuring --------------------------------------------------------------------------------------

def measure(args) -> tuple[dict, list[str], dict, list[str], set[str]]:
    """{workload: {method: ms}}, method names in column order, shares, problems, 1-thread peers."""
    fleet = scaled_fleet(args.rows, args.seed)
    table = needed_table(args.rows, args.seed)
    setup_ms: dict[str, float] = {}
    methods = placement_methods(fleet) + peer_methods(fleet, table, setup_ms)
    print("data conversion, once, untimed: " + ", ".join(f"{k} {v:.0f} ms" for k, v in setup_ms.items()))
    timings, shares, problems = {}, {}, []
    for name, text in WORKLOADS.items():
        pred = placement.compile(text)
        expected = pred.evaluate(fleet)
        shares[name] = float(expected.mean())
        timings[name] = {}
        for method in methods:
            problem = mismatch(method, pred, expected)
            if problem:
                problems.append(f"{name}: {problem}")
            timings[name][method.name] = best_of(lambda: method.run(pred), args.repeat)
        arrays = floor_arrays(pred, fleet.columns)
        timings[name]["floor"] = best_of(lambda: read_once(arrays), args.repeat)
        print(f"  measured {name}")
    single = polars_single_thread(args)
    single_name = f"polars {single['threads']}t (subprocess)"
    problems += single["mismatches"]
    for name, ms in single["ms"].items():
        timings[name][single_name] = ms
    names = [m.name for m in methods] + [single_name, "floor"]
    singles = {m.name for m in methods if m.peer and m.single_thread} | {single_name}
    return timings, names, shares, problems, singles


# -- reporting --------------------------------------------------------------------------------------

def machine_lines() -> list[str]:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [f"machine: {model}, {os.cpu_count()} logical cores ({usable} usable), {platform.machine()}, "
            f"{platform.system()} {platform.release()}"]


def version_lines() -> list[str]:
    import duckdb
    import pandas
    import polars
    import pyarrow
    versions = {"python": platform.python_version(), "placement": placement.__version__,
                "numpy": np.__version__, "pandas": pandas.__version__, "polars": polars.__version__,
                "pyarrow": pyarrow.__version__, "duckdb": duckdb.__version__}
    return ["versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())]


def timing_rows(timings, names, shares) -> list[list[str]]:
    header = ["workload", "selects"] + [f"{n} (ms)" for n in names]
    rows = [[w, f"{shares[w]:.1%}"] + [f"{timings[w][n]:.3f}" for n in names] for w in timings]
    return [header] + rows


def ratio_rows(timings, names, singles) -> tuple[list[list[str]], list[str]]:
    peer_names = [n for n in names if not n.startswith("placement") and n != "floor"]
    header = ["workload", "best peer", "best peer / placement", "best 1-thread peer",
              "best 1-thread peer / placement", "placement / floor", "bind+run / placement"]
    rows, overall, overall_single = [header], [], []
    for workload, row in timings.items():
        ours = row[PLACEMENT]
        best = min(peer_names, key=row.__getitem__)
        best_single = min((n for n in peer_names if n in singles), key=row.__getitem__)
        overall.append(row[best] / ours)
        overall_single.append(row[best_single] / ours)
        rows.append([workload, best, f"{row[best] / ours:.1f}x", best_single, f"{row[best_single] / ours:.1f}x",
                     f"{ours / row['floor']:.1f}x", f"{row['placement bind+run'] / ours:.1f}x"])
    summary = [f"geometric mean over workloads of best-peer / placement: {_geomean(overall):.1f}x",
               f"geometric mean over workloads of best-1-thread-peer / placement: {_geomean(overall_single):.1f}x"]
    return rows, summary


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def report(args, timings, names, shares, singles, markdown: bool) -> str:
    ratios, summary = ratio_rows(timings, names, singles)
    notes = [
        f"{args.rows:,} rows, best of {args.repeat} after one warm-up; times in milliseconds.",
        "placement 1t / 2t: pred.evaluate(fleet) with the plan already bound (the scheduler's steady "
        "state); bind+run: bind then run, 1 thread.",
        "Peers return their native boolean result (ndarray, Series, Arrow table); turning it into a "
        "numpy mask for the check is not timed. Every method selects exactly placement's rows (checked).",
        "The single-thread polars column comes from a subprocess with POLARS_MAX_THREADS=1 "
        "(polars fixes its pool size at import).",
        "floor: np.add.reduce over every column the expression reads, in its stored dtype.",
    ]
    bullet = "- " if markdown else ""
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    command = f"python benchmarks/compare_peers.py --rows {args.rows} --repeat {args.repeat} --seed {args.seed}"
    parts = [*(bullet + line for line in [f"run: {when}: {command}"] + machine_lines() + version_lines()), *(bullet + n for n in notes), "",
             render(timing_rows(timings, names, shares), markdown), "",
             render(ratios, markdown), "", *(bullet + s for s in summary)]
    return "\n".join(parts) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.polars_only:
        polars_only(args)
        return 0
    started = time.perf_counter()
    timings, names, shares, problems, singles = measure(args)
    print()
    print(report(args, timings, names, shares, singles, markdown=False))
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(report(args, timings, names, shares, singles, markdown=True))
    print(f"total {time.perf_counter() - started:.0f} s")
    for problem in problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    assert not problems, f"{len(problems)} method(s) disagree with placement (see above)"
    return 0


if __name__ == "__main__":
    sys.exit(main())
