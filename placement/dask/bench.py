"""The Dask backend's benchmark: sweep throughput against workers, and what a task costs.

Input: a client (or an address, or a number of local jobs). Output: one dict (``measure``) and
its Markdown (``markdown``), what ``placement bench --dask ADDRESS`` / ``--jobs N`` prints and
``benchmarks/dask/scaling.py`` commits for 1 and 2 workers:

- **sweep**: ``runs`` runs of a built-in scenario (seeds 0..runs-1) fanned out with
  ``client.map``: wall time, runs a second, and the overhead per run, ``(wall x workers - sum of
  the runs' own times) / runs`` (scheduling, pickling the document and the report, idle ends);
  every run's figures checked against the same run in this process for the first two seeds;
- **partitions**: ``count`` over a fleet frame of ``partitions`` partitions, beside a no-op
  ``map_partitions(len)`` over the same frame (dask's own cost per task) and the local count of
  the whole fleet: the overhead per partition is what ``count`` costs per partition beyond the
  local evaluation's share;
- **placement**: ``placement.dask.place`` of a batch against the local placer on the same fleet,
  with its round trips, for a binpack chain and the ECS service default, and with a cap on the
  proposals per bucket (``per_bucket``), which buys smaller answers with more round trips.
"""
from __future__ import annotations

import time

from placement.dask.cluster import connect

EXPRESSION = "attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and runningTasksCount <= 3"
DEFAULT_SCENARIO = "gpu-trace"


def _best(function, rounds: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(rounds):
        began = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - began)
    return best, result


def measure(client=None, *, address: str | None = None, jobs: int | None = None, runs: int = 20,
            scenario: str = DEFAULT_SCENARIO, quick: bool = False, partitions: int = 16, rows: int = 32_000,
            tasks: int = 200) -> dict:
    """The three figures on ``client`` (or a client of ``address`` / ``jobs`` local processes);
    with ``jobs``, that many workers are waited for first (a local cluster's may still be registering)."""
    if client is None:
        with connect(address, jobs) as connected:
            return measure(connected, jobs=jobs, runs=runs, scenario=scenario, quick=quick,
                           partitions=partitions, rows=rows, tasks=tasks)
    if jobs is not None:                     # the workers asked for, registered before the first timing
        client.wait_for_workers(jobs)
    workers = len(client.scheduler_info()["workers"])
    return {"workers": workers, "threadsPerWorker": sorted({w["nthreads"] for w in
                                                             client.scheduler_info()["workers"].values()}),
            "sweep": sweep_figures(client, workers, runs, scenario, quick),
            "partitions": partition_figures(client, partitions, rows),
            "placement": placement_figures(client, partitions, rows, tasks)}


def sweep_figures(client, workers: int, runs: int, scenario: str, quick: bool) -> dict:
    from placement.dask import sweep as sweeps
    sweep = sweeps.sweep_from_document({"name": f"{scenario} seeds", "scenario": scenario, "quick": quick,
                                        "sweep": {"seed": list(range(runs))}})
    client.run(lambda: __import__("placement.simulate.cluster"))     # imports warm on every worker, not timed
    result = sweeps.run_sweep(sweep, client=client)
    checked = result.runs[:2]
    local = [sweeps.run_point(run.document, run.variant, run.label)["report"] for run in checked]
    agree = all(sweeps.figures(a) == sweeps.figures(b) for a, b in zip(local, result.reports))
    busy = sum(result.seconds)
    return {"scenario": scenario, "quick": quick, "runs": runs, "wallSeconds": result.wall,
            "runSeconds": busy, "meanRunSeconds": busy / runs, "runsPerSecond": runs / result.wall,
            "overheadPerRunSeconds": result.overhead_per_run(workers), "workersUsed": len(set(result.workers)),
            "figuresEqualLocal": agree}


_FILES: dict = {}


def _frame(client, partitions: int, rows: int):
    """A fleet of ``rows`` as ``partitions`` Parquet files, each written with its own dictionaries
    (the documented input), read back with ``dd.read_parquet`` and persisted on the workers."""
    import atexit
    import shutil
    import tempfile
    import dask.dataframe as dd
    import pyarrow.parquet as pq
    from distributed import wait
    from placement.bench.workloads import scaled_arrow
    table = scaled_arrow(rows, 0)
    key = (rows, partitions)
    if key not in _FILES:
        folder = _FILES[key] = tempfile.mkdtemp(prefix="placement-dask-bench-")
        atexit.register(shutil.rmtree, folder, True)
        size = -(-rows // partitions)
        for k in range(partitions):
            part = table.slice(k * size, size)
            pq.write_table(part, f"{folder}/part-{k:04d}.parquet")    # Parquet keeps the values used
    ddf = client.persist(dd.read_parquet(f"{_FILES[key]}/part-*.parquet"))
    wait(ddf)
    return table, ddf


def partition_figures(client, partitions: int, rows: int) -> dict:
    import placement
    from placement.dask import frame
    table, ddf = _frame(client, partitions, rows)
    fleet = placement.Fleet.from_arrow(table)
    predicate = placement.compile(EXPRESSION)
    local_s, expected = _best(lambda: predicate.count(fleet))
    noop_s, _ = _best(lambda: ddf.map_partitions(len).compute())
    count_s, counted = _best(lambda: frame.count(EXPRESSION, ddf))
    evaluate_s, mask = _best(lambda: frame.evaluate(EXPRESSION, ddf).compute())
    return {"rows": rows, "partitions": partitions, "expression": EXPRESSION,
            "localCountSeconds": local_s, "noopSeconds": noop_s, "countSeconds": count_s,
            "evaluateSeconds": evaluate_s,
            "noopPerPartitionMs": 1000 * noop_s / partitions,
            "countPerPartitionMs": 1000 * count_s / partitions,
            "overheadPerPartitionMs": 1000 * (count_s - local_s) / partitions,
            "equalLocal": counted == expected and int(mask.sum()) == expected}


def placement_figures(client, partitions: int, rows: int, tasks: int) -> dict:
    import placement
    from placement.dask.place import place
    from placement.place import Binpack, Placer, ecs_service_default
    table, ddf = _frame(client, partitions, rows)
    out = []
    for name, chain, cap in (("binpack(memory)", [Binpack("memory")], None),
                             ("ECS service default", ecs_service_default(), None),
                             ("ECS service default, per_bucket=20", ecs_service_default(), 20)):
        fleet = placement.Fleet.from_arrow(table)
        began = time.perf_counter()
        expected = Placer(fleet, chain).place(count=tasks, cpu=256, memory=512, group="service:bench")
        local_s = time.perf_counter() - began
        result = place(ddf, count=tasks, cpu=256, memory=512, group="service:bench", strategies=chain,
                       per_bucket=cap, client=client)
        out.append({"chain": name, "tasks": tasks, "rounds": result.rounds, "proposed": result.proposed,
                    "seconds": result.seconds, "secondsPerRound": [round(s, 4) for s in result.round_seconds],
                    "localSeconds": local_s,
                    "equalLocal": result.positions.tolist() == expected.positions.tolist()})
    return {"rows": rows, "partitions": partitions, "calls": out}


def markdown_rows(results: list[dict]) -> list[str]:
    """Markdown tables of one or more ``measure`` results (one per worker count)."""
    from placement.simulate.report import _md_table
    base = results[0]["sweep"]["wallSeconds"] if results else 0.0
    sweep = _md_table(("workers", "runs", "wall s", "runs / s", "speed-up vs first", "mean run s",
                       "overhead per run ms", "figures equal local"),
                      [(str(r["workers"]), str(r["sweep"]["runs"]), f"{r['sweep']['wallSeconds']:.2f}",
                        f"{r['sweep']['runsPerSecond']:.2f}", f"{base / r['sweep']['wallSeconds']:.2f}x",
                        f"{r['sweep']['meanRunSeconds']:.3f}", f"{1000 * r['sweep']['overheadPerRunSeconds']:.1f}",
                        "yes" if r["sweep"]["figuresEqualLocal"] else "NO") for r in results])
    parts = _md_table(("workers", "partitions x rows", "local count ms", "no-op per partition ms",
                       "count per partition ms", "overhead per partition ms", "equal local"),
                      [(str(r["workers"]), f"{r['partitions']['partitions']} x "
                        f"{r['partitions']['rows'] // r['partitions']['partitions']:,}",
                        f"{1000 * r['partitions']['localCountSeconds']:.2f}",
                        f"{r['partitions']['noopPerPartitionMs']:.2f}", f"{r['partitions']['countPerPartitionMs']:.2f}",
                        f"{r['partitions']['overheadPerPartitionMs']:.2f}",
                        "yes" if r["partitions"]["equalLocal"] else "NO") for r in results])
    calls = _md_table(("workers", "chain", "tasks", "round trips", "proposals sent", "seconds", "local seconds",
                       "equal local"),
                      [(str(r["workers"]), c["chain"], str(c["tasks"]), str(c["rounds"]), f"{c['proposed']:,}",
                        f"{c['seconds']:.3f}", f"{c['localSeconds']:.4f}", "yes" if c["equalLocal"] else "NO")
                       for r in results for c in r["placement"]["calls"]])
    return ["### Sweep throughput", "", sweep, "", "### Overhead per partition", "", parts, "",
            "### Placement over partitions", "", calls, ""]


def agreed(result: dict) -> bool:
    return result["sweep"]["figuresEqualLocal"] and result["partitions"]["equalLocal"] and \
        all(c["equalLocal"] for c in result["placement"]["calls"])
