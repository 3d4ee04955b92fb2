"""``placement simulate``: run a scenario (services, rolling updates, auto scaling, capacity
providers; SPEC 4) or replay a trace on a fleet (SPEC 4, "Replay rules"), every decision made by
the placer, and report what happened and how fast each decision was.

A scenario is a built-in name (``--list``) or a YAML / JSON file (``--schema`` prints its JSON
Schema); its runs (the scenario as written and each variant) are summed up side by side, and
``--out DIR`` writes results.json, report.md and plots (``placement.simulate.report``). Exit 0
when every deployment completed and nothing was left unplaced (a trace: every task placed), 1
otherwise, 2 on bad input.
"""
from __future__ import annotations

import difflib
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from placement.cli.common import add_fleet_source, add_json, jobs, load_fleet, seed
from placement.cli.render import (emit, fleet_warnings_json, plural, print_fleet_warnings, progress,
                                  progress_bar, table)
from placement.errors import InputError
from placement.simulate.report import clock, comparison, micros, outcome, percent, rate, succeeded, write_results

USAGE = ("placement simulate SCENARIO [--quick] [--out DIR] [--events-out FILE] [--json]\n"
         "                          | SWEEP.yaml | SCENARIO [--quick] (--dask ADDRESS | --jobs N) [--out DIR] [--json]\n"
         "                          | --list [--json] | --schema\n"
         "                          | (--fleet FILE [--tasks FILE] | --demo N [--demo-seed S]) --trace FILE\n"
         "                            [--strategy S]... [--queue] [--seed S] [--events-out FILE] [--json]")
REASONS_SHOWN = 5
SCENARIO_FILES = (".yaml", ".yml", ".json")
_TRACE_ONLY = ("fleet", "tasks", "demo", "demo_seed", "strategy", "queue", "seed")
_SCENARIO_ONLY = ("quick", "out", "dask", "jobs")


def add(commands) -> None:
    command = commands.add_parser("simulate", usage=USAGE, help="run a scenario, or replay a trace of tasks on a fleet",
                                  description="Run a scenario of ECS services over simulated time (rolling "
                                              "updates, auto scaling, capacity providers), or replay a JSON Lines "
                                              "trace of tasks (arrival, departure, demand, constraints) on a fleet; "
                                              "every decision is made by the placer. Exit 0 when every deployment "
                                              "completed and every task was placed, 1 otherwise.")
    mode = command.add_mutually_exclusive_group(required=True)
    mode.add_argument("scenario", nargs="?", metavar="SCENARIO",
                      help="a built-in scenario (--list names them) or a scenario file (.yaml, .yml or .json)")
    mode.add_argument("--trace", metavar="FILE",
                      help="replay this trace instead: JSON Lines, one task a line (see 'placement trace' to "
                           "convert one)")
    mode.add_argument("--list", action="store_true", help="list the built-in scenarios")
    mode.add_argument("--schema", action="store_true", help="print the JSON Schema of a scenario file")
    command.add_argument("--quick", action="store_true",
                         help="a short version of a built-in scenario (a smoke test)")
    command.add_argument("--out", metavar="DIR", help="write results.json, report.md and plots of the runs into DIR")
    add_fleet_source(command, required=False, tasks="tasks already running")
    command.add_argument("--strategy", action="append", default=[], metavar="S",
                         help="binpack:cpu, binpack:memory, spread:FIELD (instanceId, host or attribute:NAME) or "
                              "random, or as the AWS CLI writes them: type=spread,field=FIELD (repeatable, in "
                              "order; default: random, as run-task)")
    command.add_argument("--queue", action="store_true",
                         help="a task that cannot be placed waits, retried after every departure, until its own "
                              "departure time (default: recorded unplaced at once)")
    command.add_argument("--seed", type=seed, metavar="S",
                         help="seed of random draws of a trace replay (random strategy; default 0, so a run "
                              "repeats; a scenario sets its own)")
    command.add_argument("--events-out", metavar="FILE",
                         help="write every event (place, unplaced, stop, ...) as JSON Lines to FILE")
    # -- sweeps and Dask (placement.dask; dask is imported only with --dask / --jobs) --
    scale_out = command.add_mutually_exclusive_group()
    scale_out.add_argument("--dask", metavar="ADDRESS",
                           help="run a sweep's runs (or a scenario's runs: as written and each variant) on the Dask "
                                "cluster at ADDRESS (tcp://host:8786, or a scheduler file .json); needs "
                                "'placement[dask]'")
    scale_out.add_argument("--jobs", type=jobs, metavar="N",
                           help="the same on a local Dask cluster of N worker processes")
    # -- end of sweeps and Dask --
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    if args.trace is not None:
        _only(args, "--trace", _SCENARIO_ONLY)
        return run_trace(args)
    if args.scenario is not None:
        _only(args, "SCENARIO", _TRACE_ONLY)
        return simulate_scenario(args)
    _only(args, "--list" if args.list else "--schema", _TRACE_ONLY + _SCENARIO_ONLY + ("events_out",))
    return list_scenarios(args) if args.list else print_schema()


def _only(args, mode: str, others: tuple[str, ...]) -> None:
    """Options of the other mode are an error, not silently ignored."""
    for name in others:
        if getattr(args, name) not in (None, False, []):
            flag = "--" + name.replace("_", "-")
            raise InputError(f"{flag} does not go with {mode}"
                             + ("; a scenario names its own fleet, strategies and seed" if mode == "SCENARIO" else ""))


# -- scenarios --------------------------------------------------------------------------------

def list_scenarios(args) -> int:
    from placement.simulate.scenario import BUILTIN
    if args.json:
        emit({"scenarios": [{"name": name, "description": text} for name, text in BUILTIN.items()]})
    else:
        print(table(("scenario", "description"), list(BUILTIN.items())))
        print("\nrun one: placement simulate NAME [--quick] [--out DIR]")
    return 0


def print_schema() -> int:
    import msgspec
    from placement.simulate.scenario import Scenario
    print(json.dumps(msgspec.json.schema(Scenario), indent=2))
    return 0


def load_scenario(name: str, quick: bool):
    """A built-in by name, else a scenario file; an unknown name is said with the nearest built-in."""
    from placement.simulate.scenario import BUILTIN, builtin, read_scenario
    if name in BUILTIN:
        return builtin(name, quick=quick)
    path = Path(name)
    if not (path.is_file() or path.suffix.lower() in SCENARIO_FILES):
        close = difflib.get_close_matches(name, list(BUILTIN), n=1)
        raise InputError(f"no built-in scenario {name!r} and no such file"
                         + (f" (did you mean {close[0]}?)" if close else "")
                         + f"; the built-ins: {', '.join(BUILTIN)}")
    if quick:
        raise InputError("--quick goes with a built-in scenario; a scenario file runs as written")
    return read_scenario(path)


def simulate_scenario(args) -> int:
    from placement.simulate import cluster
    if args.dask is not None or args.jobs is not None or _is_sweep(args.scenario):     # sweeps and Dask
        return simulate_sweep(args)
    scenario = load_scenario(args.scenario, args.quick)
    with nullcontext() if args.json else progress_bar(f"simulating {scenario.name}") as bar:
        def show(t: float, duration: float) -> None:
            bar(t / duration if duration else 1.0, f"t={clock(t)}")
        runs = cluster.run_scenario(scenario, events=bool(args.events_out), progress=show if bar else None)
    reports = [simulation.report() for simulation in runs]
    if args.events_out:
        _write_lines(args.events_out, [{"run": report["variant"], **event} if len(runs) > 1 else event
                                       for simulation, report in zip(runs, reports)
                                       for event in simulation.events_json()])
    written = write_results(reports, args.out) if args.out else []
    if args.json:
        emit({"runs": reports, "eventsOut": args.events_out, "files": [str(path) for path in written]})
    else:
        print_summary(reports)
        if written:
            print(f"\nwritten to {args.out}: {', '.join(path.name for path in written)}")
        if args.events_out:
            print(f"events written to {args.events_out}")
    return 0 if all(succeeded(report) for report in reports) else 1


def print_summary(reports: list[dict], file=None) -> None:
    """A few lines per run for a person, then the runs side by side when there are several."""
    file = file or sys.stdout
    first = reports[0]
    print(f"{first['scenario']}: {first['description']}" if first["description"] else first["scenario"], file=file)
    for report in reports:
        latency = report["latencyMicroseconds"]
        print(f"\n{report['variant']}: {outcome(report)}; {clock(report['duration'])} simulated, "
              f"{counted(report['decisions'], 'decision')} in {report['wallSeconds']:.2f} s "
              f"({rate(report['decisionsPerSecond'])} a second, {rate(report['simulatedPerWallSecond'])} simulated "
              f"s per wall s); latency p50 {micros(latency['p50'])}, p99 {micros(latency['p99'])}, "
              f"max {micros(latency['max'])}", file=file)
        samples = report["samples"]
        if samples:
            print(f"  {counted(report['fleet']['instances'], 'instance')} at the start, "
                  f"{counted(samples[-1]['instances'], 'instance')} at the end; peak cpu "
                  f"{percent(max(s['cpu'] for s in samples))}, memory {percent(max(s['memory'] for s in samples))}",
                  file=file)
        for name, service in report["services"].items():
            print(f"  {name}: {service['running']:,} of {service['desired']:,} running, "
                  f"{service['failedToStart']:,} failed to start, zone skew max {service['maxZoneSkew']} "
                  f"final {service['finalZoneSkew']}, {plural(len(service['scaling']), 'scaling action')}", file=file)
        for d in report["deployments"]:
            end = "" if d["end"] is None else f" at {clock(d['end'])}"
            if d.get("zoneSkew") is not None:
                end += f" (zone skew {d['zoneSkew']})"
            print(f"  deployment {d['service']} revision {d['revision']} from {clock(d['start'])}: {d['status']}{end}, "
                  f"failures {d['failures']}/{d['threshold']}" + (f" ({d['reason']})" if d["reason"] else ""),
                  file=file)
        for name, provider in report["capacityProviders"].items():
            print(f"  capacity provider {name}: {counted(provider['instances'], 'instance')}, "
                  f"{provider['launched']:,} launched, {provider['terminated']:,} terminated", file=file)
        for reason, n in sorted(report["reasons"].items(), key=lambda item: -item[1])[:REASONS_SHOWN]:
            print(f"  {n:>7,}  not placed when asked: {reason}", file=file)
    if len(reports) > 1:
        print("\nside by side:", file=file)
        print(table(*comparison(reports), indent="  "), file=file)


# -- sweeps and Dask (placement.dask.sweep) ---------------------------------------------------

def _is_sweep(name: str) -> bool:
    from placement.dask.sweep import is_sweep_file
    return is_sweep_file(name)


def simulate_sweep(args) -> int:
    """A sweep file's runs, or a scenario's runs (as written and each variant), in this process or
    fanned out on Dask (``--dask ADDRESS`` / ``--jobs N``); the same figures wherever they run."""
    from placement.dask import sweep as sweeps
    from placement.simulate.scenario import BUILTIN
    if args.events_out:
        raise InputError("--events-out goes with a scenario run in this process, not with a sweep or --dask/--jobs")
    if _is_sweep(args.scenario):
        if args.quick:
            raise InputError("--quick goes with a built-in scenario; a sweep file says quick: itself")
        sweep = sweeps.read_sweep(args.scenario)
    else:
        scenario = load_scenario(args.scenario, args.quick)          # said as a scenario would be
        named = args.scenario if args.scenario in BUILTIN else str(Path(args.scenario).resolve())
        sweep = sweeps.sweep_from_document({"name": scenario.name, "scenario": named, "quick": args.quick,
                                            "sweep": {"variant": [sweeps.AS_WRITTEN,
                                                                  *(v.name for v in scenario.variants)]}},
                                           args.scenario)
    with nullcontext() if args.json else progress_bar(f"sweep {sweep.name}") as bar:
        def show(done: int, total: int) -> None:
            bar(done / total, f"{done}/{total} runs")
        result = sweeps.run_sweep(sweep, address=args.dask, jobs=args.jobs, progress=show if bar else None)
    if list(sweep.parameters) == ["variant"] and not _is_sweep(args.scenario):   # a scenario: its usual output
        written = write_results(result.reports, args.out) if args.out else []
        if args.json:
            emit({"runs": result.reports, "eventsOut": None, "files": [str(path) for path in written],
                  "mode": result.mode, "wallSeconds": result.wall})
        else:
            print_summary(result.reports)
            print(f"\n{plural(len(result.runs), 'run')} on {result.mode} in {result.wall:.2f} s")
            if written:
                print(f"written to {args.out}: {', '.join(path.name for path in written)}")
        return 0 if result.succeeded else 1
    written = sweeps.write(result, args.out) if args.out else []
    if args.json:
        emit({**result.to_json(), "files": [str(path) for path in written]})
    else:
        print(f"sweep {sweep.name}: {plural(len(result.runs), 'run')} over {', '.join(sweep.parameters)} "
              f"on {result.mode}: {result.wall:.2f} s of wall time, {sum(result.seconds):.2f} s in the runs")
        for title, header, rows in sweeps.tables(result):
            print(f"\n{title}:")
            print(table(header, rows, indent="  "))
        if written:
            print(f"\nwritten to {args.out}: {', '.join(path.name for path in written)}")
    return 0 if result.succeeded else 1


# -- end of sweeps and Dask -------------------------------------------------------------------


# -- traces -----------------------------------------------------------------------------------

def run_trace(args) -> int:
    from placement.place.requests import parse_strategy_options
    from placement.simulate.replay import replay
    from placement.simulate.trace import read_trace
    began = time.perf_counter()
    strategies = [s for text in args.strategy for s in parse_strategy_options(text)]
    fleet = load_fleet(args)
    if fleet is None:
        raise InputError("--trace needs a fleet: --fleet FILE or --demo N")
    with progress(f"reading trace {args.trace}"):
        tasks = read_trace(args.trace)
    read_s = time.perf_counter() - began
    with progress(f"replaying {counted(len(tasks), 'task')}"):
        result = replay(fleet, tasks, strategies, queue=args.queue, seed=0 if args.seed is None else args.seed)
    if args.events_out:
        _write_lines(args.events_out, [result.event_json(e) for e in result.events])
    report = result.report()
    report.update(trace=args.trace, eventsOut=args.events_out, readSeconds=read_s,
                  commandSeconds=time.perf_counter() - began)
    if args.json:
        emit({**report, "warnings": fleet_warnings_json(fleet)})
    else:
        print_fleet_warnings(fleet)
        print_report(report)
    return 0 if report["unplaced"] == 0 else 1


def _write_lines(path: str, events: list[dict]) -> None:
    import msgspec
    try:
        with open(path, "wb") as file:
            file.write(msgspec.json.Encoder().encode_lines(events))
    except OSError as error:
        raise InputError(f"cannot write events to {path!r}: {error.strerror}") from None


def counted(n: int, word: str) -> str:
    """``8,152 tasks``: ``render.plural`` with thousands separated, for the large counts of a trace."""
    return f"{n:,} {word if n == 1 else word + 's'}"


def print_report(report: dict) -> None:
    """The report for a person: outcome and reasons, the peak, utilisation over time, speed."""
    names = ", ".join(_strategy_text(s) for s in report["strategies"])
    seed = f", seed {report['seed']}" if report["seed"] is not None else ""
    queue = ", waiting tasks queued" if report["queue"] else ""
    fleet = report["fleet"]
    print(f"replayed {counted(report['tasks'], 'task')} of {report['trace']} on "
          f"{counted(fleet['instances'], 'instance')} (strategy {names}{seed}{queue})")
    print(f"placed {report['placed']:,}, not placed {report['unplaced']:,}")
    reasons = list(report["reasons"].items())
    for reason, n in reasons[:REASONS_SHOWN]:
        print(f"  {n:>7,}  {reason}")
    if len(reasons) > REASONS_SHOWN:
        rest = sum(n for _, n in reasons[REASONS_SHOWN:])
        print(f"  {rest:>7,}  ({counted(len(reasons) - REASONS_SHOWN, 'other reason')}; --json lists all)")
    if report["queue"]:
        waiting = report["waiting"]
        print(f"waiting: {waiting['placedAfterWaiting']:,} placed after waiting, {waiting['dropped']:,} dropped "
              f"at their departure time, {waiting['waitingAtEnd']:,} still waiting at the end")
    peak = report["peak"]
    print(f"peak: {counted(peak['running'], 'task')} running at t = {peak['t']:,.0f} s; cpu {percent(peak['cpu'])}, "
          f"memory {percent(peak['memory'])}, GPUs {percent(peak['gpu'])} of the fleet "
          f"({fleet['cpu']:,} cpu units, {fleet['memory']:,} MiB, {fleet['gpu']:,} GPUs)")
    print("\nover time:")
    print(table(("t (s)", "running", "cpu", "memory", "GPUs"), [
        (f"{p['t']:,.0f}", f"{p['running']:,}", percent(p["cpu"]), percent(p["memory"]), percent(p["gpu"]))
        for p in report["utilisation"]], indent="  "))
    latency = report["latencyMicroseconds"]
    per_second = report["decisionsPerSecond"]
    print(f"\n{counted(report['decisions'], 'decision')} in {report['wallSeconds']:.3f} s"
          + (f" ({per_second:,.0f} a second)" if per_second else "")
          + f"; latency p50 {micros(latency['p50'])}, p99 {micros(latency['p99'])}, max {micros(latency['max'])}")
    print(f"reading {report['readSeconds']:.3f} s, whole command {report['commandSeconds']:.3f} s")
    if report["eventsOut"]:
        print(f"events written to {report['eventsOut']}")


def _strategy_text(strategy: dict) -> str:
    return strategy["type"] + (f"({strategy['field']})" if strategy.get("field") else "")
