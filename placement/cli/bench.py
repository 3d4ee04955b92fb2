"""``placement bench``: the benchmark harness (``placement.bench``) as a command. Evaluation
against the peers at each size, placement against the baselines on the smallest (the scaling of
single calls over every size), and the simulation's trace replays and scenarios; every method
checked to give the fast path's answer (a disagreement exits 1). Results go to DIR as
results.json, report.md and plots, or to the terminal as tables."""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import re
import shlex
import time

from placement.cli.common import add_json, count, jobs, load_fleet
from placement.cli.render import emit, progress, table
from placement.errors import InputError, made_folder, write_text

USAGE = ("placement bench [--quick] [--scenario NAME]... [--sizes 10k,100k,1M] [--fleet FILE [--tasks FILE]]\n"
         "                       [--out DIR] [--compare OLD.json] [--json]\n"
         "       placement bench (--dask ADDRESS | --jobs N) [--runs N] [--scenario NAME] [--quick] [--out DIR] [--json]")
DEFAULT_SIZES, QUICK_SIZES = "10k,100k,1M", "10k"
MAX_SIZE = 10_000_000
MAX_RUNS = 10_000            # runs of the Dask benchmark's sweep (--runs)
TRACE_TASKS, QUICK_TRACE_TASKS = 50_000, 5_000
EVALUATION_QUICK_ROUNDS = 3
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([km]?)", re.IGNORECASE)


def add(commands) -> None:
    command = commands.add_parser("bench", usage=USAGE, help="benchmark placement against its peers and baselines",
                                  description="Time expression evaluation against numpy, pandas, polars, DuckDB and "
                                              "pyarrow, placement against hand-written placers, and the simulation, "
                                              "every method checked to give the same answer; a few minutes, or "
                                              "seconds with --quick. Exit 0 when every method agreed, 1 when one "
                                              "did not.")
    command.add_argument("--quick", action="store_true",
                         help="small sizes and few rounds: a check that it all works, in well under a minute")
    command.add_argument("--scenario", action="append", default=[], metavar="NAME",
                         help="a built-in simulation scenario to run (repeatable; default: all of them)")
    command.add_argument("--sizes", metavar="LIST",
                         help=f"generated fleet sizes, e.g. 10k,100k,1M (default {DEFAULT_SIZES}; "
                              f"{QUICK_SIZES} with --quick)")
    command.add_argument("--fleet", metavar="FILE",
                         help="benchmark on this fleet instead of generated ones: the JSON of 'aws ecs "
                              "describe-container-instances' or a table (.csv, .parquet, .feather / .arrow / .ipc)")
    command.add_argument("--tasks", metavar="FILE",
                         help="the JSON of 'aws ecs describe-tasks' for task:group; goes with a JSON --fleet")
    command.add_argument("--out", metavar="DIR",
                         help="write results.json, report.md and PNG plots to DIR (made if missing)")
    command.add_argument("--compare", metavar="OLD.json",
                         help="an earlier run's results.json: each figure's speed-up against it")
    # -- the Dask backend's benchmark (placement.dask.bench; dask imported only with --dask / --jobs) --
    scale_out = command.add_mutually_exclusive_group()
    scale_out.add_argument("--dask", metavar="ADDRESS",
                           help="benchmark the Dask backend on the cluster at ADDRESS instead: a sweep's throughput, "
                                "the overhead per run and per partition, placement over partitions")
    scale_out.add_argument("--jobs", type=jobs, metavar="N", help="the same on a local Dask cluster of N processes")
    command.add_argument("--runs", type=_runs, metavar="N",
                         help="runs of the sweep with --dask / --jobs (default 20; seeds 0 to N-1)")
    # -- end of the Dask backend's benchmark --
    add_json(command)
    command.set_defaults(run=run, demo=None, demo_seed=None)        # load_fleet's other source: none here


def parse_sizes(text: str) -> list[int]:
    """``10k,100k,1M`` as sizes, smallest first."""
    sizes = set()
    for item in text.split(","):
        match = _SIZE.fullmatch(item.strip().replace("_", ""))
        value = float(match[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[match[2].lower()] if match else 0
        if not match or value != int(value) or not 1 <= value <= MAX_SIZE:
            raise InputError(f"--sizes takes fleet sizes from 1 to 10M separated by commas, like 10k,100k,1M; "
                             f"got {item.strip()!r}")
        sizes.add(int(value))
    return sorted(sizes)


def command_line(args) -> str:
    """The command this run was, to state in the report."""
    words = ["placement", "bench"] + (["--quick"] if args.quick else [])
    for name in ("sizes", "fleet", "tasks", "out", "compare"):
        if getattr(args, name) is not None:
            words += [f"--{name}", getattr(args, name)]
    for scenario in args.scenario:
        words += ["--scenario", scenario]
    return shlex.join(words + (["--json"] if args.json else []))


def run(args) -> int:
    if args.dask is not None or args.jobs is not None:                 # the Dask backend's benchmark
        return run_dask(args)
    if args.runs is not None:
        raise InputError("--runs goes with --dask ADDRESS or --jobs N")
    from placement.bench import evaluation, placement, render, simulation
    from placement.bench.compare import compare, read_results
    from placement.bench.machine import describe
    from placement.bench.workloads import size_label
    began = time.perf_counter()
    if args.fleet is not None and args.sizes is not None:
        raise InputError("--sizes goes with generated fleets; --fleet benchmarks that fleet as it is")
    old = read_results(args.compare) if args.compare else None         # bad input is said before measuring
    scenario_names = simulation.chosen_scenarios(args.scenario)
    skipped: dict[str, str] = {}
    sizes, fleet_of, arrow_of = fleet_sources(args, skipped)
    out = made_folder(args.out) if args.out else None
    settings = dataclasses.replace(placement.QUICK if args.quick else placement.Settings(), instances=sizes[0],
                                   scaling=tuple(sizes), event_instances=sizes[0])
    settings = dataclasses.replace(settings, scale_in=(sizes[0], *settings.scale_in[1:]))
    rounds = EVALUATION_QUICK_ROUNDS if args.quick else evaluation.ROUNDS
    failures: list[str] = []
    results = {"command": command_line(args),
               "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "quick": args.quick, "sizes": sizes, "fleet": args.fleet or "generated", "machine": describe(),
               "evaluation": [], "skipped": skipped, "failures": failures}
    for size in sizes:
        with progress(f"evaluating the workloads on {size_label(size)} instances"):
            polars_argv = None if evaluation.POLARS_SUBPROCESS in skipped else polars_argv_for(args, size)
            results["evaluation"].append(evaluation.measure(fleet_of(size), arrow_of(size), rounds, polars_argv,
                                                            skipped, failures))
    with progress("placing the mixed stream and single calls"):
        results["placement"] = placement.measure(fleet_of, settings, failures)
    with progress("replaying traces and running scenarios"):
        results["simulation"] = simulation.measure(fleet_of(sizes[0]), QUICK_TRACE_TASKS if args.quick else TRACE_TASKS,
                                                   scenario_names, args.quick, settings.rounds, settings.budget_s)
    results["agreement"] = render.agreement(results)
    if old is not None:
        results["comparison"] = compare(results, old, args.compare)
    results["wallSeconds"] = time.perf_counter() - began
    written = render.write(results, out) if out else []
    if args.json:
        emit(results)
    else:
        sections = render.sections(results)
        print_report(sections[:1] if out else sections)
        if written:
            print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0 if results["agreement"]["all"] else 1


# -- the Dask backend's benchmark ----------------------------------------------------------------

def _runs(text: str) -> int:
    """An argparse type: the sweep's runs, 1 to MAX_RUNS."""
    value = count(text)
    if not 1 <= value <= MAX_RUNS:
        raise argparse.ArgumentTypeError(f"takes 1 to {MAX_RUNS:,} runs, got {value}")
    return value


def run_dask(args) -> int:
    from placement.dask import bench as dask_bench
    for name in ("sizes", "fleet", "tasks", "compare"):
        if getattr(args, name) is not None:
            raise InputError(f"--{name} does not go with --dask / --jobs (the Dask benchmark makes its own fleets)")
    if len(args.scenario) > 1:
        raise InputError("--dask / --jobs sweeps one scenario: give --scenario once")
    scenario = args.scenario[0] if args.scenario else dask_bench.DEFAULT_SCENARIO
    simulation_names = __import__("placement.bench.simulation", fromlist=["chosen_scenarios"])
    simulation_names.chosen_scenarios([scenario])                      # an unknown name: said now
    out = made_folder(args.out) if args.out else None
    with progress("benchmarking the Dask backend"):
        results = dask_bench.measure(address=args.dask, jobs=args.jobs, runs=args.runs or 20,
                                     scenario=scenario, quick=args.quick)
    lines = [f"# Dask backend on {results['workers']} worker(s)", "", *dask_bench.markdown_rows([results])]
    if out is not None:
        import json
        write_text(out / "dask.json", json.dumps(results, indent=2) + "\n")
        write_text(out / "dask.md", "\n".join(lines))
    if args.json:
        emit(results)
    else:
        print("\n".join(lines))
        if out is not None:
            print(f"wrote {out / 'dask.json'}, {out / 'dask.md'}")
    return 0 if dask_bench.agreed(results) else 1


# -- end of the Dask backend's benchmark ---------------------------------------------------------


def fleet_sources(args, skipped: dict[str, str]):
    """(sizes, size -> fleet, size -> a maker of its Arrow table): generated fleets of ``--sizes``,
    or the ``--fleet`` whatever the size asked."""
    from placement.bench.evaluation import POLARS_SUBPROCESS
    from placement.bench.workloads import scaled_arrow, scaled_fleet
    if args.fleet is None:
        sizes = parse_sizes(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
        return sizes, scaled_fleet, lambda n: lambda: scaled_arrow(n)
    own = load_fleet(args)
    if args.fleet == "-":
        skipped[POLARS_SUBPROCESS] = "the fleet came from standard input, which a subprocess cannot read"
    return [len(own)], lambda n: own, lambda n: own.to_arrow


def polars_argv_for(args, size: int) -> list[str]:
    """How the single-thread polars subprocess makes the same fleet."""
    if args.fleet is not None:
        return ["--fleet", args.fleet, *(["--tasks", args.tasks] if args.tasks else [])]
    return ["--rows", str(size)]


def print_report(sections) -> None:
    """The report's sections with plain tables (plots are only for files)."""
    for k, section in enumerate(sections):
        if section.title == "Plots":
            continue
        print(("\n" if k else "") + f"== {section.title} ==")
        for note in section.notes:
            print(note)
        for report_table in section.tables:
            print()
            print(table(report_table.header, report_table.rows))
        if section.listing:
            print()
            print("\n".join("  " + line for line in section.listing))
