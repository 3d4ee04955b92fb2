"""``placement place``: a dry run of task placement on a fleet, from options, a run-task or
create-service request and a task definition (options win)."""
from __future__ import annotations

import sys
from collections import Counter

from placement.cli.common import add_fleet_source, add_json, count, load_fleet, seed, text
from placement.cli.render import (
    INSTANCE_NOTE,
    emit,
    fleet_warnings_json,
    group_per_zone,
    plural,
    print_fleet_warnings,
    progress,
    short,
    zone_of,
)

USAGE = ("placement place (--fleet FILE [--tasks FILE] | --demo N [--demo-seed S])\n"
         "                       [--request FILE] [--task-definition FILE] [--count N] [--cpu C] [--memory M]\n"
         "                       [--gpu G] [--group G] [--port P]... [--ephemeral-ports LO-HI]\n"
         "                       [--constraint C]... [--strategy S]... [--seed S] [--random-ties] [--json]")
CONSTRAINT_HELP = ("memberOf:EXPR or distinctInstance, or as the AWS CLI writes them: "
                   "type=memberOf,expression=\"EXPR\" (repeatable; added to the request's and the task definition's)")
STRATEGY_HELP = ("binpack:cpu, binpack:memory, spread:FIELD (instanceId, host or attribute:NAME) or random, or as "
                 "the AWS CLI writes them: type=spread,field=FIELD (repeatable, in order; replace the request's; default: "
                 "random, as run-task does, or for a create-service request the ECS service default: spread over "
                 "zones, then instances)")


def add(commands) -> None:
    command = commands.add_parser("place", usage=USAGE, help="dry-run placement of tasks on a fleet",
                                  description="Place tasks on a fleet as ECS would, without running anything. "
                                              "Exit 0 when every task is placed, 1 when some are not.")
    add_fleet_source(command)
    command.add_argument("--request", metavar="FILE", help="a run-task or create-service request (JSON)")
    command.add_argument("--task-definition", metavar="FILE",
                         help="a task definition (JSON): cpu, memory, GPUs, ports, constraints, family")
    command.add_argument("--count", type=count, metavar="N",
                         help="tasks to place (default: the request's count, else 1)")
    command.add_argument("--cpu", type=count, metavar="C", help="cpu units per task (default: the task definition's)")
    command.add_argument("--memory", type=count, metavar="M",
                         help="MiB of memory per task (default: the task definition's)")
    command.add_argument("--gpu", type=count, metavar="G",
                         help="GPUs per task (default: the task definition's, else 0)")
    command.add_argument("--group", type=text, metavar="G",
                         help="the task group, e.g. service:web (default: the request's or family:FAMILY)")
    command.add_argument("--port", type=count, action="append", default=[], metavar="P",
                         help="a TCP host port, 0 for a dynamic one from the ephemeral range (repeatable)")
    command.add_argument("--ephemeral-ports", metavar="LO-HI",
                         help="the instances' ephemeral port range for dynamic ports (default 49153-65535)")
    command.add_argument("--constraint", type=text, action="append", default=[], metavar="C", help=CONSTRAINT_HELP)
    command.add_argument("--strategy", type=text, action="append", default=[], metavar="S", help=STRATEGY_HELP)
    command.add_argument("--seed", type=seed, metavar="S",
                         help="seed of random draws (random strategy, --random-ties; default: a fresh one, printed)")
    command.add_argument("--random-ties", action="store_true",
                         help="break final ties at random, not by fleet position")
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    from placement.place import Placer
    from placement.fleet.ingest import read_json
    from placement.place.requests import resolve_request, strategy_warnings
    request = resolve_request(
        read_json(args.request, "request") if args.request else None,
        read_json(args.task_definition, "task definition") if args.task_definition else None,
        count=args.count, cpu=args.cpu, memory=args.memory, gpu=args.gpu, ports=tuple(args.port),
        group=args.group, constraints=args.constraint, strategies=args.strategy)
    fleet = load_fleet(args)
    warnings = [*request.warnings, *strategy_warnings(request.strategies, fleet)]
    before = group_per_zone(fleet, request.group)
    with progress(f"placing {plural(request.count, 'task')}"):
        result = Placer(fleet, request.strategies, random_ties=args.random_ties,
                        ephemeral_ports=args.ephemeral_ports).place(
            request.count, request.cpu, request.memory, request.gpu, request.ports, request.group,
            request.constraints, seed=args.seed)
    if args.json:
        emit({**result.to_json(), "seed": result.seed, "request": request.to_json(),
              "warnings": [w.to_json() for w in warnings] + fleet_warnings_json(fleet)})
    else:
        for warning in warnings:
            print(f"warning: {warning.message}", file=sys.stderr)
        print_fleet_warnings(fleet)
        print_placement(fleet, result, request.group, before)
    return 0 if result.unplaced == 0 else 1


def print_placement(fleet, result, group: str, before: Counter, note: bool = True) -> None:
    """The outcome for a person: how many placed where, the group per zone before and after (so
    a spread is seen to balance), the busiest instances, and why any task was not placed."""
    placements = result.placements
    instances = Counter(p.arn for p in placements)
    asked = len(placements) + result.unplaced
    seed = f" (seed {result.seed})" if result.seed is not None else ""
    print(f"placed {len(placements)} of {plural(asked, 'task')} of {group} "
          f"on {plural(len(instances), 'instance')}{seed}")
    if result.host_ports.size:
        shown = [f"{short(p.arn)} {','.join(map(str, p.host_ports))}" for p in placements[:5]]
        print("host ports (per task, in request order): " + "; ".join(shown)
              + ("; ..." if len(placements) > 5 else ""))
    zone = zone_of(fleet)
    after = Counter(before)
    after.update(zone(p.position) for p in placements)
    if any(after.values()):
        print(f"\n{group} tasks per availability zone, before -> after:")
        width = max(map(len, after))
        for name in sorted(after):
            print(f"  {name:<{width}}  {before.get(name, 0):>6} -> {after[name]}")
    if instances:
        print("\nbusiest instances" + (f" ({INSTANCE_NOTE}):" if note else ":"))
        for arn, n in instances.most_common(5):
            print(f"  {short(arn):<12}  {plural(n, 'task'):>10}")
    if result.unplaced:
        from placement.explain.placement import render_unplaced
        print()
        print(render_unplaced(result.reasons, result.unplaced, short))
