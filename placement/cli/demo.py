"""``placement demo``: the ECS documentation's examples and a service placement on a demo fleet,
with a command to try next that works as printed."""
from __future__ import annotations

import shlex

from placement.cli.common import DEMO_SIZE, MAX_DEMO, add_json, count
from placement.cli.render import INSTANCE_NOTE, emit, group_per_zone, progress, short
from placement.errors import InputError
from placement.predicate import compile

USAGE = "placement demo [--demo N] [--demo-seed S] [--json]"
TRY = "attribute:ecs.cpu-architecture == arm64"
GROUP, TASKS, CPU, MEMORY = "service:web", 60, 256, 512
CONSTRAINT = "attribute:ecs.os-type == linux and not(task:group == service:worker)"


def add(commands) -> None:
    command = commands.add_parser(
        "demo", usage=USAGE, help="the ECS documentation's examples and a placement on a demo fleet",
                                  description="Evaluate the ECS documentation's example expressions and place a "
                                              "service on a generated demo fleet.")
    command.add_argument("--demo", type=count, default=DEMO_SIZE, metavar="N",
                         help=f"instances in the demo fleet (default {DEMO_SIZE})")
    command.add_argument("--demo-seed", type=count, default=0, metavar="S",
                         help="seed of the demo fleet's generator (default 0)")
    add_json(command)
    command.set_defaults(run=run)


def try_command(args) -> str:
    """A command to run next on the same fleet, exactly as a shell takes it."""
    return shlex.join(["placement", "eval", TRY, "--demo", str(args.demo), "--demo-seed", str(args.demo_seed)])


def run(args) -> int:
    from placement.examples import ECS_DOC_EXAMPLES, FLEET_EXAMPLES
    from placement.fleet import demo
    from placement.place import MemberOf, Placer, ecs_service_default
    if args.demo > MAX_DEMO:
        raise InputError(f"--demo takes a size from 0 to {MAX_DEMO:,}, got {args.demo}")
    with progress(f"generating a demo fleet of {args.demo:,} instances"):
        fleet = demo(args.demo, args.demo_seed)
    sections = (("ecs-docs", "examples from the ECS documentation", ECS_DOC_EXAMPLES),
                ("fleet", "examples for this fleet", FLEET_EXAMPLES))
    found = []                                   # (section, expression, matching ARNs, warnings)
    for key, _, examples in sections:
        for text in examples:
            predicate = compile(text)
            found.append((key, text, fleet.ids(predicate.evaluate(fleet)), predicate.warnings(fleet)))
    strategies = ecs_service_default()
    constraint = MemberOf(CONSTRAINT)
    before = group_per_zone(fleet, GROUP)
    result = Placer(fleet, strategies).place(TASKS, CPU, MEMORY, group=GROUP, constraints=[constraint])
    if args.json:
        emit({"fleet": {"instances": len(fleet), "demoSeed": args.demo_seed},
              "examples": [{"section": key, "expression": text, "count": len(ids), "total": len(fleet),
                            "warnings": [w.to_json() for w in warnings]} for key, text, ids, warnings in found],
              "placement": {"group": GROUP, "count": TASKS, "cpu": CPU, "memory": MEMORY,
                            "constraints": [str(constraint)], "strategies": [str(s) for s in strategies],
                            **result.to_json(), "seed": result.seed}})
        return 0
    from placement.cli.place import print_placement
    print(f"demo fleet: {len(fleet)} instances (--demo {args.demo} --demo-seed {args.demo_seed}); try next:")
    print(f"  {try_command(args)}")
    print(f"({INSTANCE_NOTE})")
    width = max(len(text) for _, text, _, _ in found)
    for key, title, _ in sections:
        print(f"\n{title} (matching / instances, the first matches):")
        for k, text, ids, warnings in found:
            if k != key:
                continue
            sample = ", ".join(short(arn) for arn in ids[:2]) + (", ..." if len(ids) > 2 else "")
            print(f"  {text:<{width}}  {len(ids):>5} / {len(fleet)}  {sample}".rstrip())
            for warning in warnings:
                print(f"    warning: {warning.message}")
    print(f"\nplacing {TASKS} tasks of {GROUP} ({CPU} cpu, {MEMORY} MiB) with the ECS service default "
          f"{', '.join(map(str, strategies))} and {constraint}:")
    print_placement(fleet, result, GROUP, before, note=False)
    return 0
