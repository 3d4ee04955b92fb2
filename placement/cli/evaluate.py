"""``placement eval``: the instances an expression selects on a fleet."""
from __future__ import annotations

import numpy as np

from placement.cli.check import add_expression
from placement.cli.common import add_fleet_source, add_json, add_limit, load_fleet, threads
from placement.cli.render import (
    INSTANCE_NOTE,
    emit,
    fleet_warnings_json,
    instance_table,
    more,
    plural,
    print_fleet_warnings,
    print_lint,
    progress,
    rows_shown,
)
from placement.predicate import compile

USAGE = ("placement eval EXPR (--fleet FILE [--tasks FILE] | --demo N [--demo-seed S]) [--plan]\n"
         "                      [--backend compiled|reference] [--threads N] [--limit N] [--max-length N] [--json]")


def add(commands) -> None:
    command = commands.add_parser("eval", usage=USAGE, help="print the instances an expression selects",
                                  description="Evaluate an expression on a fleet and list the instances it selects. "
                                              "Exit 0 when some match, 1 when none do.")
    add_expression(command)
    add_fleet_source(command)
    command.add_argument("--plan", action="store_true", help="also print the plan, bound to the fleet")
    command.add_argument("--backend", choices=("compiled", "reference"), default="compiled",
                         help="the Cython kernel (default) or the slow reference evaluator, to compare")
    command.add_argument("--threads", type=threads, default=1, metavar="N",
                         help="threads for the compiled kernel (default 1)")
    add_limit(command, "matching instances")
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    predicate = compile(args.expression, max_length=args.max_length)
    fleet = load_fleet(args)
    with progress(f"evaluating on {plural(len(fleet), 'instance')}"):
        positions = np.flatnonzero(predicate.evaluate(fleet, backend=args.backend, threads=args.threads))
    warnings = predicate.warnings(fleet)
    count = len(positions)
    shown = rows_shown(args, count)
    if args.json:
        arns = fleet.columns.arns
        emit({"matches": [arns[i] for i in positions[:shown].tolist()], "count": count, "total": len(fleet),
              "warnings": fleet_warnings_json(fleet) + [w.to_json() for w in warnings]})
    else:
        print(predicate.canonical)
        if args.plan:
            print(predicate.explain_plan(fleet))
        if count:
            print(instance_table(fleet[i] for i in positions[:shown].tolist()))
            if more(count, shown):
                print(more(count, shown))
            print(f"({INSTANCE_NOTE})")
        print(f"{count} of {plural(len(fleet), 'instance')} {'matches' if count == 1 else 'match'}")
        print_fleet_warnings(fleet)
        print_lint(warnings, args.expression)
    return 0 if count else 1
