"""The ``placement`` command: a standalone tester for expressions.

    placement check EXPR [--json]                 parse, canonical form, errors with a caret, lint
    placement eval EXPR (--fleet F [--tasks T] | --demo N) [--json] [--plan] [--threads N]
    placement place (--fleet F [--tasks T] | --demo N) --count N --cpu C --memory M --group G
                    [--gpu G] [--port P]... [--constraint memberOf:EXPR | distinctInstance]...
                    [--strategy binpack:cpu|binpack:memory|spread:FIELD|random]... [--seed S]
                    [--request RUN_TASK.json] [--task-definition TD.json] [--json]
    placement scale-in (--fleet F --tasks T | --demo N) --group G --count K
                    [--strategy binpack:cpu|binpack:memory|spread:FIELD|random]... [--seed S] [--json]
    placement demo                                the ECS documentation's examples on a demo fleet

Exit codes: 0 ok / something matched, 1 nothing matched, 2 bad input. ``--json`` output is a
contract other tools parse; the plain output is for people.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from placement.errors import InputError, PlacementError, render_problem
from placement.fleet import Fleet, demo
from placement.lang.parser import DEFAULT_MAX_LENGTH
from placement.predicate import compile

OK, NO_MATCH, BAD_INPUT = 0, 1, 2


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors come back to ``main``, to be reported as bad input (exit 2)
    in the shape the caller asked for."""

    def error(self, message):
        raise _UsageError(self, message)


def _arguments() -> argparse.ArgumentParser:
    parser = _Parser(prog="placement", description="Check and evaluate Amazon ECS cluster query expressions; dry-run task placement.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def expression_command(name: str, help: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help)
        command.add_argument("expression", help="a memberOf expression, e.g. 'attribute:stack == prod'")
        command.add_argument("--json", action="store_true", help="machine-readable output")
        command.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH,
                             help=f"longest accepted expression (default {DEFAULT_MAX_LENGTH}, the ECS limit)")
        return command

    check = expression_command("check", "parse and type-check; print the canonical form and warnings")
    check.add_argument("--plan", action="store_true", help="also print the evaluation plan")
    def fleet_source(command: argparse.ArgumentParser) -> None:
        source = command.add_mutually_exclusive_group(required=True)
        source.add_argument("--fleet", type=Path,
                            help="JSON of 'aws ecs describe-container-instances', or a Parquet / Arrow (.feather) table")
        source.add_argument("--demo", type=int, metavar="N", help="a generated demo fleet of N instances")
        command.add_argument("--tasks", type=Path, help="JSON of 'aws ecs describe-tasks' (for task:group)")
        command.add_argument("--demo-seed", type=int, default=0, help="seed of the demo fleet")

    evaluate = expression_command("eval", "print the instances an expression selects")
    fleet_source(evaluate)
    evaluate.add_argument("--backend", choices=("compiled", "reference"), default="compiled")
    evaluate.add_argument("--threads", type=int, default=1, help="threads for the compiled kernel")
    evaluate.add_argument("--plan", action="store_true", help="also print the bound plan")

    place = commands.add_parser("place", help="dry-run placement of tasks on a fleet")
    fleet_source(place)
    place.add_argument("--count", type=int, help="tasks to place (default: the request's count, else 1)")
    place.add_argument("--cpu", type=int, help="cpu units per task (default: the task definition's)")
    place.add_argument("--memory", type=int, help="MiB per task (default: the task definition's)")
    place.add_argument("--gpu", type=int, help="GPUs per task")
    place.add_argument("--port", type=int, action="append", default=[],
                       help="a TCP host port, 0 for a dynamic one from the ephemeral range (repeatable)")
    place.add_argument("--ephemeral-ports", metavar="LO-HI",
                       help="the instances' ephemeral port range for dynamic ports (default 49153-65535)")
    place.add_argument("--group", help="the task group, e.g. service:web (default: the request's)")
    place.add_argument("--constraint", action="append", default=[], metavar="memberOf:EXPR|distinctInstance")
    place.add_argument("--strategy", action="append", default=[],
                       metavar="binpack:cpu|binpack:memory|spread:FIELD|random")
    place.add_argument("--seed", type=int, help="seed of random choices (default: a fresh one, printed)")
    place.add_argument("--random-ties", action="store_true", help="break final ties at random, not by position")
    place.add_argument("--request", type=Path, help="run-task or create-service request JSON")
    place.add_argument("--task-definition", type=Path, help="task definition JSON (cpu, memory, ports, constraints)")
    place.add_argument("--json", action="store_true", help="machine-readable output")

    stop = commands.add_parser("scale-in", help="which tasks of a service scale-in stops, in order")
    fleet_source(stop)
    stop.add_argument("--group", required=True, help="the task group, e.g. service:web")
    stop.add_argument("--count", type=int, required=True, help="tasks to stop")
    stop.add_argument("--strategy", action="append", default=[],
                      metavar="binpack:cpu|binpack:memory|spread:FIELD|random",
                      help="the placement strategies to mirror (default: the ECS service rule)")
    stop.add_argument("--seed", type=int, help="seed of random choices (default: a fresh one, printed)")
    stop.add_argument("--json", action="store_true", help="machine-readable output")

    show = commands.add_parser("demo", help="evaluate the ECS documentation's examples on a demo fleet")
    show.add_argument("--size", type=int, default=200, help="instances in the demo fleet")
    show.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:                  # output piped into head: stop quietly, as a Unix tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _arguments().parse_args(argv)
    except _UsageError as error:
        if "--json" in argv:
            print(json.dumps({"error": {"kind": "input", "message": str(error), "span": None}}))
        else:
            error.parser.print_usage(sys.stderr)
            print(f"{error.parser.prog}: error: {error}", file=sys.stderr)
        return BAD_INPUT
    try:
        return {"check": _check, "eval": _eval, "place": _place, "scale-in": _scale_in,
                "demo": _demo}[args.command](args)
    except PlacementError as error:
        if getattr(args, "json", False):
            print(json.dumps({"error": error.to_json()}))
        else:
            print(error.render(), file=sys.stderr)
        return BAD_INPUT


def _check(args) -> int:
    predicate = compile(args.expression, max_length=args.max_length)
    warnings = predicate.warnings()
    if args.json:
        out = {"valid": True, "canonical": predicate.canonical, "warnings": [w.to_json() for w in warnings]}
        if args.plan:
            out["plan"] = predicate.explain_plan()
        print(json.dumps(out))
    else:
        print(predicate.canonical)
        if args.plan:
            print(predicate.explain_plan())
        _print_warnings(warnings, args.expression)
    return OK


def _load_json(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise InputError(f"cannot read {what} file {str(path)!r}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{what} file {str(path)!r} is not JSON: {error}") from None


def _fleet(args) -> Fleet:
    if args.demo is not None:
        if not 0 <= args.demo <= 1_000_000:
            raise InputError(f"--demo takes a size from 0 to 1,000,000, got {args.demo}")
        return demo(args.demo, args.demo_seed)
    if args.fleet.suffix in (".parquet", ".feather", ".arrow"):
        return Fleet.from_arrow(_load_table(args.fleet))
    tasks = _load_json(args.tasks, "tasks") if args.tasks else None
    return Fleet.from_ecs(_load_json(args.fleet, "fleet"), tasks)


def _load_table(path: Path):
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as reader
        else:
            import pyarrow.feather as reader
    except ImportError:
        raise InputError("reading Parquet / Arrow files needs pyarrow: pip install 'placement[arrow]'") from None
    try:
        return reader.read_table(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read fleet table {str(path)!r}: {error}") from None


def _eval(args) -> int:
    predicate = compile(args.expression, max_length=args.max_length)
    fleet = _fleet(args)
    mask = predicate.evaluate(fleet, backend=args.backend, threads=args.threads)
    matches = fleet.ids(mask)
    warnings = predicate.warnings(fleet)
    if args.json:
        print(json.dumps({"matches": matches, "count": len(matches), "total": len(fleet),
                          "warnings": [w.to_json() for w in warnings]}))
    else:
        print(predicate.canonical)
        if args.plan:
            print(predicate.explain_plan(fleet))
        print(_table([fleet[fleet.position(arn)] for arn in matches]))
        print(f"{len(matches)} of {len(fleet)} instances match")
        _print_warnings(warnings, args.expression)
    return OK if matches else NO_MATCH


def _place(args) -> int:
    from placement.place import Placer, ecs_service_default
    from placement.place.requests import (demand_from_task_definition, parse_constraint_option,
                                            parse_strategy_option, request_from_json)
    document = _load_json(args.request, "request") if args.request else {}
    request = request_from_json(document) if args.request else {}
    demand, family, constraints = None, None, []
    if args.task_definition:
        demand, family, constraints = demand_from_task_definition(_load_json(args.task_definition, "task definition"))
    constraints = constraints + request.get("constraints", []) + [parse_constraint_option(c) for c in args.constraint]
    strategies = [parse_strategy_option(s) for s in args.strategy] or request.get("strategies")
    if strategies is None and "serviceName" in document:
        strategies = ecs_service_default()          # what ECS does for a service without a strategy
    group = args.group or request.get("group") or (f"family:{family}" if family else None)
    if group is None:
        raise InputError("no task group: pass --group, or a request or task definition that names one")
    count = args.count if args.count is not None else request.get("count", 1)
    cpu = args.cpu if args.cpu is not None else (demand.cpu if demand else None)
    memory = args.memory if args.memory is not None else (demand.memory if demand else None)
    if cpu is None or memory is None:
        raise InputError("no task size: pass --cpu and --memory, or --task-definition")
    gpu = args.gpu if args.gpu is not None else (demand.gpu if demand else 0)
    ports = tuple(args.port) or (demand.ports if demand else ())
    fleet = _fleet(args)
    result = Placer(fleet, strategies, random_ties=args.random_ties, ephemeral_ports=args.ephemeral_ports).place(
        count, cpu, memory, gpu, ports, group, constraints, seed=args.seed)
    if args.json:
        print(json.dumps({**result.to_json(), "seed": result.seed}))
    else:
        _print_placement(fleet, result, group)
    return OK if result.unplaced == 0 else NO_MATCH


_STEPS = {"ineligible": "not ACTIVE or agent disconnected", "cpu": "not enough cpu", "memory": "not enough memory",
          "gpu": "not enough gpu", "ports": "a requested host port in use"}     # reasons, in SPEC's order


def _print_placement(fleet: Fleet, result, group: str) -> None:
    from collections import Counter
    zones = Counter(fleet[p.position].attributes.get("ecs.availability-zone") or "-" for p in result.placements)
    instances = Counter(p.arn for p in result.placements)
    seed = f" (seed {result.seed})" if result.seed is not None else ""
    print(f"placed {len(result.placements)} of {len(result.placements) + result.unplaced} tasks of {group} "
          f"on {len(instances)} instances{seed}")
    if result.host_ports.size:
        shown = [f"{_short(p.arn)} {','.join(map(str, p.host_ports))}" for p in result.placements[:5]]
        print("host ports (per task, in request order): " + "; ".join(shown)
              + ("; ..." if len(result.placements) > 5 else ""))
    if zones:
        print("\nper availability zone:")
        for zone, n in sorted(zones.items()):
            print(f"  {zone:<20} {n:>6}")
        print("\nbusiest instances:")
        for arn, n in instances.most_common(5):
            print(f"  {_short(arn):<20} {n:>6}")
    if result.unplaced:
        r = result.reasons
        print(f"\n{result.unplaced} tasks not placed. Of {r['instances']} instances:")
        for step, label in _STEPS.items():
            if r[step]:
                print(f"  {r[step]:>6} removed: {label}")
        for entry in r["constraints"]:
            print(f"  {entry['removed']:>6} removed by {entry['constraint']}")
            for clause in entry.get("clauses", ()):
                print(f"  {'':>6}   {clause['false']:>6} of them fail {clause['clause']}")


def _scale_in(args) -> int:
    from placement.place import Placer
    from placement.place.requests import parse_strategy_option
    if args.count < 0:
        raise InputError(f"--count must not be negative, got {args.count}")
    strategies = [parse_strategy_option(s) for s in args.strategy] or None
    fleet = _fleet(args)
    result = Placer(fleet).select_to_stop(args.group, args.count, strategies, seed=args.seed)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        zones = fleet.columns.attributes.get("ecs.availability-zone")
        print(f"stop {len(result.stops)} of {args.count} tasks of {args.group}, in this order"
              + (f" (seed {result.seed})" if result.seed is not None else "") + ":")
        for stop in result.stops:
            zone = zones.value_at(stop.position) if zones is not None else None
            print(f"  {stop.task_id.rsplit('/', 1)[-1]:<34} on {_short(stop.arn):<14} {zone if isinstance(zone, str) else '-'}")
        if result.short:
            print(f"{args.group} has only {len(result.stops)} tasks; {result.short} short")
        for field, buckets in result.remaining.items():
            if field != "tasks" and buckets:
                print(f"\nleft per {field}: " + ", ".join(f"{k} {v}" for k, v in buckets.items()))
        print(f"{result.remaining['tasks']} tasks of {args.group} left")
    return OK if not result.short else NO_MATCH


def _demo(args) -> int:
    from placement.examples import ECS_DOC_EXAMPLES, FLEET_EXAMPLES
    fleet = demo(args.size, args.seed)
    print(f"demo fleet: {len(fleet)} instances (seed {args.seed}); "
          f"try: placement eval EXPR --demo {args.size} --seed {args.seed}")
    width = max(map(len, ECS_DOC_EXAMPLES + FLEET_EXAMPLES))
    for title, examples in (("examples from the ECS documentation", ECS_DOC_EXAMPLES),
                            ("examples for this fleet", FLEET_EXAMPLES)):
        print(f"\n{title}:")
        for text in examples:
            predicate = compile(text)
            ids = fleet.ids(predicate.evaluate(fleet))
            sample = ", ".join(_short(arn) for arn in ids[:2]) + (", ..." if len(ids) > 2 else "")
            print(f"  {text:<{width}}  {len(ids):>5} / {len(fleet)}  {sample}")
            for warning in predicate.warnings(fleet):
                print(f"  {'':<{width}}  warning: {warning.message}")
    from placement.place import MemberOf, Placer, ecs_service_default
    constraint = MemberOf("attribute:ecs.os-type == linux and not(task:group == service:worker)")
    print(f"\nplacing 60 tasks of service:web (256 cpu, 512 MiB) with the ECS service default "
          f"spread(zone), spread(instance) and {constraint}:")
    result = Placer(fleet, ecs_service_default()).place(60, 256, 512, group="service:web",
                                                        constraints=[constraint], seed=args.seed)
    _print_placement(fleet, result, "service:web")
    return OK


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1][:12]


def _table(instances) -> str:
    header = ("instance", "ec2InstanceId", "instance-type", "availability-zone", "status")
    rows = [header] + [(
        _short(i.arn), i.ec2_instance_id or "-", i.attributes.get("ecs.instance-type") or "-",
        i.attributes.get("ecs.availability-zone") or "-", i.status or "-") for i in instances]
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _print_warnings(warnings, source: str) -> None:
    for warning in warnings:
        print(render_problem("warning", warning, source), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
