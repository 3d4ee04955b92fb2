"""placement side by side with numpy, pandas, polars, DuckDB and pyarrow on the same workloads.

    python -m placement.bench.evaluation [--rows 1000000 | --fleet FILE [--tasks FILE]] [--repeat 7] [--seed 0]
                                         [--markdown FILE]

(``placement bench`` runs this at each of its ``--sizes``.) In one process, every workload of
``workloads.WORKLOADS`` is evaluated by placement (the compiled kernel, plan already bound, 1
and 2 threads; and bind + run) and by each peer of ``peers``; every result is checked to select
exactly placement's rows, and a method that does not is a failure naming it. Times follow
``timing.best_of``; data conversion happens once, before timing. The FLOOR is one read
(``np.add.reduce`` in the stored dtype) of every column the expression reads, as placement
stores it: no method that reads the data can beat it. A peer whose library is not installed is
reported as skipped.

Polars sizes its thread pool at import, so the in-process polars column uses its default pool;
the single-thread polars figures come from this module re-run with ``--polars-only`` in a
subprocess under ``POLARS_MAX_THREADS=1``, which reports its timings as JSON on stdout.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import placement
from placement.bench import peers
from placement.bench.timing import best_of
from placement.bench.workloads import WORKLOADS, scaled_arrow, scaled_fleet, size_label
from placement.engine.bind import bind
from placement.lang.ir import Kind

PLACEMENT = "placement 1t"
BIND_RUN = "placement bind+run"
PLACEMENT_BITS = "placement bits"
FLOOR = "floor"
POLARS_SUBPROCESS = "polars 1t (subprocess)"
ROUNDS = 7


@dataclass
class Method:
    """One way to evaluate a compiled predicate: ``run`` is timed, ``to_mask`` is not."""

    name: str
    run: Callable[[placement.Predicate], object]
    to_mask: Callable[[object], np.ndarray]
    peer: bool = True
    single_thread: bool = True


# -- checking ---------------------------------------------------------------------------------------

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
        elif field.kind in (Kind.REGISTERED_AT, Kind.AGENT_VERSION):
            arrays.append(columns.registered_at if field.kind is Kind.REGISTERED_AT else columns.agent_version)
        elif field.kind is Kind.TASK_GROUP:
            arrays.extend((columns.groups.offsets, columns.groups.codes))
    return arrays


def read_once(arrays: list[np.ndarray]) -> None:
    for array in arrays:
        np.add.reduce(array, dtype=array.dtype)


# -- the methods --------------------------------------------------------------------------------------

def needed_columns(table):
    """The Arrow table with only the columns some workload reads."""
    names = {peers.arrow_name(f) for text in WORKLOADS.values() for f in peers.fields_of(placement.compile(text).ir)}
    return table.select([name for name in table.column_names if name in names])


def placement_methods(fleet: placement.Fleet) -> list[Method]:
    as_is = np.asarray
    return [
        Method(PLACEMENT, lambda pred: pred.evaluate(fleet), as_is, peer=False),
        Method(PLACEMENT_BITS, lambda pred: pred.evaluate(fleet, out="bits"),
               lambda bits: np.unpackbits(bits, bitorder="little", count=len(fleet)), peer=False),
        Method("placement 2t", lambda pred: pred.evaluate(fleet, threads=2), as_is, peer=False, single_thread=False),
        Method(BIND_RUN, lambda pred: bind(pred.plan, fleet.columns).run(1), as_is, peer=False),
    ]


def peer_method(peer: peers.Peer, single_thread: bool = True) -> Method:
    return Method(peer.name, lambda pred: peer.evaluate(pred.ir), peer.to_mask, single_thread=single_thread)


def peer_methods(fleet: placement.Fleet, table_of: Callable, setup_ms: dict[str, float],
                 skipped: dict[str, str]) -> list[Method]:
    """Every in-process peer whose library imports, its data converted now (the time it took goes
    to ``setup_ms``); the others go to ``skipped`` with the reason. ``table_of()``: the fleet as
    an Arrow table, made only if some peer needs it."""
    def built(name, build):
        start = time.perf_counter()
        try:
            peer = build()
        except ImportError as error:
            skipped[name] = f"not installed ({error})"
            return None
        setup_ms[name] = (time.perf_counter() - start) * 1e3
        return peer

    methods = [peer_method(built("numpy", lambda: peers.NumpyPeer(fleet.columns)))]
    try:
        table = needed_columns(table_of())
    except ImportError as error:            # every other peer reads the Arrow table
        skipped.update({name: f"needs pyarrow, not installed ({error})" for name in ("pandas", "polars", "duckdb",
                                                                                       "pyarrow")})
        return methods
    pandas_peer = built("pandas", lambda: peers.PandasPeer(table))
    polars_peer = built("polars", lambda: peers.PolarsPeer(table))
    if pandas_peer:
        methods.append(peer_method(pandas_peer))
    if polars_peer:
        threads = polars_peer.pl.thread_pool_size()
        polars_peer.name = f"polars {threads}t"
        methods.append(peer_method(polars_peer, single_thread=threads == 1))
    for threads in (1, None):
        duck = built("duckdb", lambda: peers.DuckdbPeer(table, threads))
        if duck:
            methods.append(peer_method(duck, single_thread=duck.threads == 1))
    arrow = built("pyarrow", lambda: peers.ArrowPeer(table))
    if arrow:
        arrow.pa.set_cpu_count(1)         # pyarrow's element-wise kernels are single-threaded anyway
        arrow.name = "pyarrow 1t"
        methods.append(peer_method(arrow))
    return methods


def polars_single_thread(fleet_argv: list[str], rounds: int) -> dict:
    """This module's ``--polars-only`` run under POLARS_MAX_THREADS=1: {threads, ms, mismatches}.
    ``fleet_argv`` names the same fleet to the subprocess (``--rows N --seed S`` or ``--fleet``)."""
    command = [sys.executable, "-m", "placement.bench.evaluation", "--polars-only", "--repeat", str(rounds),
               *fleet_argv]
    done = subprocess.run(command, env={**os.environ, "POLARS_MAX_THREADS": "1"},
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the single-thread polars run failed:\n{done.stderr}")
    return json.loads(done.stdout)


def polars_only(fleet: placement.Fleet, table, rounds: int) -> dict:
    """The subprocess side of ``polars_single_thread``: time polars alone."""
    import polars as pl
    method = peer_method(peers.PolarsPeer(needed_columns(table)))
    report = {"threads": pl.thread_pool_size(), "ms": {}, "mismatches": []}
    for name, text in WORKLOADS.items():
        pred = placement.compile(text)
        problem = mismatch(method, pred, pred.evaluate(fleet))
        if problem:
            report["mismatches"].append(f"{name}: {problem}")
        report["ms"][name] = best_of(functools.partial(method.run, pred), rounds).seconds * 1e3
    return report


# -- measuring ----------------------------------------------------------------------------------------

def measure(fleet: placement.Fleet, table_of: Callable, rounds: int, polars_argv: list[str] | None,
            skipped: dict[str, str], failures: list[str]) -> dict:
    """Every workload by every method on ``fleet``, as one entry of results.json's ``evaluation``;
    a method that disagrees goes to ``failures``. ``polars_argv``: how the single-thread polars
    subprocess gets the same fleet (None: not run; the reason is already in ``skipped``)."""
    setup_ms: dict[str, float] = {}
    methods = placement_methods(fleet) + peer_methods(fleet, table_of, setup_ms, skipped)
    out = {"rows": len(fleet), "label": size_label(len(fleet)), "rounds": rounds,
           "methods": [m.name for m in methods],
           "singleThreadPeers": [m.name for m in methods if m.peer and m.single_thread],
           "setupMs": setup_ms, "workloads": {}}
    for name, text in WORKLOADS.items():
        pred = placement.compile(text)
        expected = pred.evaluate(fleet)
        problems = [problem for problem in (mismatch(m, pred, expected) for m in methods) if problem]
        arrays = floor_arrays(pred, fleet.columns)
        runs = {m.name: functools.partial(m.run, pred) for m in methods}
        runs[FLOOR] = functools.partial(read_once, arrays)
        out["workloads"][name] = {
            "expression": text, "selects": float(expected.mean()) if len(expected) else 0.0,
            "ms": {method: best_of(run, rounds).seconds * 1e3 for method, run in runs.items()},
            "agreed": not problems, "plan": pred.explain_plan(fleet)}
        failures.extend(f"evaluation {out['label']} {name}: {problem}" for problem in problems)
    if polars_argv is not None and "polars" not in skipped:
        add_polars_single_thread(out, polars_single_thread(polars_argv, rounds), failures)
    out["methods"].append(FLOOR)
    return out


def add_polars_single_thread(out: dict, single: dict, failures: list[str]) -> None:
    name = POLARS_SUBPROCESS if single["threads"] == 1 else f"polars {single['threads']}t (subprocess)"
    out["methods"].append(name)
    if single["threads"] == 1:
        out["singleThreadPeers"].append(name)
    for problem in single["mismatches"]:
        workload = problem.split(":", 1)[0]
        out["workloads"][workload]["agreed"] = False
        failures.append(f"evaluation {out['label']} {problem}")
    for workload, ms in single["ms"].items():
        out["workloads"][workload]["ms"][name] = ms


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=ROUNDS, help="timed rounds per figure (the best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fleet", metavar="FILE", help="this fleet instead of a generated one of --rows")
    parser.add_argument("--tasks", metavar="FILE", help="its tasks (describe-tasks JSON)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown to FILE")
    parser.add_argument("--polars-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from placement.bench import render
    from placement.bench.machine import describe
    args = parse_args(argv)
    if args.fleet:
        fleet = placement.Fleet.read(args.fleet, args.tasks)
        table_of, fleet_argv = fleet.to_arrow, ["--fleet", args.fleet, *(["--tasks", args.tasks] if args.tasks else [])]
    else:
        fleet = scaled_fleet(args.rows, args.seed)
        table_of, fleet_argv = functools.partial(scaled_arrow, args.rows, args.seed), ["--rows", str(args.rows),
                                                                                       "--seed", str(args.seed)]
    if args.polars_only:
        print(json.dumps(polars_only(fleet, table_of(), args.repeat)))
        return 0
    skipped: dict[str, str] = {}
    failures: list[str] = []
    results = {"machine": describe(), "skipped": skipped, "failures": failures,
               "evaluation": [measure(fleet, table_of, args.repeat, fleet_argv, skipped, failures)]}
    return render.publish(results, args.markdown)


if __name__ == "__main__":
    sys.exit(main())
