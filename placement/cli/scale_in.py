"""``placement scale-in``: which tasks of a group ECS would stop, in stop order (SPEC 2b)."""
from __future__ import annotations

from placement.cli.common import add_fleet_source, add_json, add_limit, count, load_fleet, seed, text
from placement.cli.render import (
    INSTANCE_NOTE,
    emit,
    fleet_warnings_json,
    more,
    plural,
    print_fleet_warnings,
    rows_shown,
    short,
    table,
    zone_of,
)

USAGE = ("placement scale-in (--fleet FILE --tasks FILE | --demo N [--demo-seed S]) --group G --count K\n"
         "                          [--strategy S]... [--seed S] [--limit N] [--json]")


def add(commands) -> None:
    command = commands.add_parser("scale-in", usage=USAGE, help="which tasks of a service scale-in stops, in order",
                                  description="List the tasks of a group that scale-in would stop, in order. "
                                              "Exit 0, or 1 when the group has fewer tasks than asked.")
    add_fleet_source(command, tasks="whose tasks are the ones to stop")
    command.add_argument("--group", type=text, required=True, metavar="G", help="the task group, e.g. service:web")
    command.add_argument("--count", type=count, required=True, metavar="K", help="tasks to stop")
    command.add_argument("--strategy", type=text, action="append", default=[], metavar="S",
                         help="the placement strategy to mirror: binpack:cpu, binpack:memory, spread:FIELD or "
                              "random, or as the AWS CLI writes it: type=spread,field=FIELD (repeatable, in order; "
                              "default: the ECS service rule)")
    command.add_argument("--seed", type=seed, metavar="S",
                         help="seed of random draws (random strategy; default: a fresh one, printed)")
    add_limit(command, "tasks to stop")
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    from placement.place import Placer
    from placement.place.requests import parse_strategy_option
    strategies = [parse_strategy_option(s) for s in args.strategy] or None
    fleet = load_fleet(args)
    result = Placer(fleet).select_to_stop(args.group, args.count, strategies, seed=args.seed)
    shown = rows_shown(args, len(result.stops))
    if args.json:
        out = result.to_json()
        emit({**out, "stop": out["stop"][:shown], "seed": result.seed, "warnings": fleet_warnings_json(fleet)})
        return 0 if not result.short else 1
    print_fleet_warnings(fleet)
    zone = zone_of(fleet)
    seed = f" (seed {result.seed})" if result.seed is not None else ""
    print(f"stop {len(result.stops)} of {plural(args.count, 'task')} of {args.group}, in this order{seed}:")
    if result.stops:
        print(table(("task", "instance", "availability-zone"), [
            (stop.task_id.rsplit("/", 1)[-1], short(stop.arn), zone(stop.position)) for stop in result.stops[:shown]],
            indent="  "))
        if more(len(result.stops), shown):
            print("  " + more(len(result.stops), shown))
        print(f"  ({INSTANCE_NOTE})")
    if result.short:
        print(f"{args.group} has only {plural(len(result.stops), 'task')}; {result.short} short")
    for field, buckets in result.remaining.items():
        if field != "tasks" and buckets:
            print(f"\nleft per {field}: " + ", ".join(f"{k} {v}" for k, v in buckets.items()))
    print(f"{plural(result.remaining['tasks'], 'task')} of {args.group} left")
    return 0 if not result.short else 1
