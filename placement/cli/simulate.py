"""``placement simulate``: replay a trace on a fleet through the placer (SPEC 4, "Replay rules"),
and report what was placed, the peak, utilisation over time and how fast each decision was."""
from __future__ import annotations

import time

from placement.cli.common import add_fleet_source, add_json, load_fleet
from placement.cli.render import emit, fleet_warnings_json, print_fleet_warnings, progress, table
from placement.errors import InputError

USAGE = ("placement simulate (--fleet FILE [--tasks FILE] | --demo N [--demo-seed S]) --trace FILE\n"
         "                          [--strategy S]... [--queue] [--seed S] [--events-out FILE] [--json]")
REASONS_SHOWN = 5


def add(commands) -> None:
    command = commands.add_parser("simulate", usage=USAGE, help="replay a trace of tasks on a fleet",
                                  description="Replay a JSON Lines trace of tasks (arrival, departure, demand, "
                                              "constraints) on a fleet, every decision made by the placer. "
                                              "Exit 0 when every task was placed, 1 when some were not.")
    add_fleet_source(command, tasks="tasks already running")
    command.add_argument("--trace", required=True, metavar="FILE",
                         help="the trace: JSON Lines, one task a line (see 'placement trace' to convert one)")
    command.add_argument("--strategy", action="append", default=[], metavar="S",
                         help="binpack:cpu, binpack:memory, spread:FIELD (instanceId, host or attribute:NAME) or "
                              "random, or as the AWS CLI writes them: type=spread,field=FIELD (repeatable, in "
                              "order; default: random, as run-task)")
    command.add_argument("--queue", action="store_true",
                         help="a task that cannot be placed waits, retried after every departure, until its own "
                              "departure time (default: recorded unplaced at once)")
    command.add_argument("--seed", type=int, default=0, metavar="S",
                         help="seed of random draws (random strategy; default 0, so a run repeats)")
    command.add_argument("--events-out", metavar="FILE",
                         help="write every event (place, unplaced, stop) as JSON Lines to FILE")
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    from placement.place.requests import parse_strategy_options
    from placement.simulate.replay import replay
    from placement.simulate.trace import read_trace
    began = time.perf_counter()
    strategies = [s for text in args.strategy for s in parse_strategy_options(text)]
    fleet = load_fleet(args)
    with progress(f"reading trace {args.trace}"):
        tasks = read_trace(args.trace)
    read_s = time.perf_counter() - began
    with progress(f"replaying {counted(len(tasks), 'task')}"):
        result = replay(fleet, tasks, strategies, queue=args.queue, seed=args.seed)
    if args.events_out:
        _write_events(result, args.events_out)
    report = result.report()
    report.update(trace=args.trace, eventsOut=args.events_out, readSeconds=read_s,
                  commandSeconds=time.perf_counter() - began)
    if args.json:
        emit({**report, "warnings": fleet_warnings_json(fleet)})
    else:
        print_fleet_warnings(fleet)
        print_report(report)
    return 0 if report["unplaced"] == 0 else 1


def _write_events(result, path: str) -> None:
    import msgspec
    try:
        with open(path, "wb") as file:
            file.write(msgspec.json.Encoder().encode_lines([result.event_json(e) for e in result.events]))
    except OSError as error:
        raise InputError(f"cannot write events to {path!r}: {error.strerror}") from None


def counted(n: int, word: str) -> str:
    """``8,152 tasks``: ``render.plural`` with thousands separated, for the large counts of a trace."""
    return f"{n:,} {word if n == 1 else word + 's'}"


def _percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def _micros(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} µs" if value < 10_000 else f"{value / 1000:,.1f} ms"


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
    print(f"peak: {counted(peak['running'], 'task')} running at t = {peak['t']:,.0f} s; cpu {_percent(peak['cpu'])}, "
          f"memory {_percent(peak['memory'])}, GPUs {_percent(peak['gpu'])} of the fleet "
          f"({fleet['cpu']:,} cpu units, {fleet['memory']:,} MiB, {fleet['gpu']:,} GPUs)")
    print("\nover time:")
    print(table(("t (s)", "running", "cpu", "memory", "GPUs"), [
        (f"{p['t']:,.0f}", f"{p['running']:,}", _percent(p["cpu"]), _percent(p["memory"]), _percent(p["gpu"]))
        for p in report["utilisation"]], indent="  "))
    latency = report["latencyMicroseconds"]
    rate = report["decisionsPerSecond"]
    print(f"\n{counted(report['decisions'], 'decision')} in {report['wallSeconds']:.3f} s"
          + (f" ({rate:,.0f} a second)" if rate else "")
          + f"; latency p50 {_micros(latency['p50'])}, p99 {_micros(latency['p99'])}, max {_micros(latency['max'])}")
    print(f"reading {report['readSeconds']:.3f} s, whole command {report['commandSeconds']:.3f} s")
    if report["eventsOut"]:
        print(f"events written to {report['eventsOut']}")


def _strategy_text(strategy: dict) -> str:
    return strategy["type"] + (f"({strategy['field']})" if strategy.get("field") else "")
