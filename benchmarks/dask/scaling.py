"""The Dask backend's scaling benchmark: sweep throughput against the number of workers.

    .venv/bin/python benchmarks/dask/scaling.py [--workers 1,2] [--runs 20] [--scenario gpu-trace]

For each worker count it starts a ``LocalCluster`` of that many processes (one thread each),
runs ``placement.dask.bench.measure`` (a sweep of ``--runs`` seeds of the scenario with
``client.map``, the overhead per run and per partition, placement over partitions against the
local placer) and writes ``benchmarks/dask/RESULTS.md``: the figures side by side and the
speed-up of each worker count over the first. The target of issue 13: a 20-run sweep on 2
workers at least 1.6x as fast as on 1. ``placement bench --dask ADDRESS`` measures one cluster.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = 1.6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated (default 1,2)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scenario", default="gpu-trace")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    from placement.dask.bench import markdown_rows, measure
    results = []
    for workers in [int(w) for w in args.workers.split(",")]:
        print(f"{workers} worker(s)...", flush=True)
        results.append(measure(jobs=workers, runs=args.runs, scenario=args.scenario))
        print(json.dumps(results[-1]["sweep"], indent=1), flush=True)
    first = results[0]["sweep"]["wallSeconds"]
    ratios = {r["workers"]: first / r["sweep"]["wallSeconds"] for r in results}
    two = ratios.get(2)
    lines = ["# Dask backend: scaling", "",
             f"`python benchmarks/dask/scaling.py --workers {args.workers} --runs {args.runs} "
             f"--scenario {args.scenario}`, {datetime.date.today().isoformat()}, on {platform.machine()} with "
             f"{os.cpu_count()} cores visible (a shared development machine: quote the ratios, not the seconds). "
             "Each worker is a process of one thread on a `LocalCluster`; the cluster's start is not timed.", "",
             f"Sweep: {args.runs} runs of the built-in `{args.scenario}` scenario (seeds 0 to {args.runs - 1}), one "
             "`client.map` task each. Overhead per run = (wall x workers - the runs' own time) / runs: scheduling, "
             "sending the scenario document and the report back, and the idle tail of the last runs.", ""]
    if two is not None:
        lines += [f"**2 workers vs 1: {two:.2f}x** (target {TARGET}x: {'met' if two >= TARGET else 'NOT met'}).", ""]
    lines += markdown_rows(results)
    lines += ["Overhead per partition = (dask `count` - local count of the whole fleet) / partitions; the no-op "
              "column is dask's own cost of a task that returns `len(partition)`, so the rest is building each "
              "partition's fleet from pandas (the Arrow conversion and the fleet's validation) and evaluating it.", "",
              "Placement over partitions: one round trip places the whole batch (each partition proposes, per "
              "bucket of the chain's attribute-spread values, the local placer's sequence for the whole batch); "
              "with `per_bucket=20` each answer is smaller, and a bucket whose proposals run out is asked again "
              "with the commits so far: the extra round trips are the price of exactness with small answers. "
              "The local placer builds its indexes over the whole fleet; the partitioned one pays, per round "
              "trip, a fleet per partition and a placer per bucket.", ""]
    Path(args.out).write_text("\n".join(lines))
    (Path(args.out).with_suffix(".json")).write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
