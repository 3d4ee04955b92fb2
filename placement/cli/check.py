"""``placement check``: parse, type-check and lint one expression; the fleet is optional and
turns on the lint rules that need one (SPEC 1.6)."""
from __future__ import annotations

from placement.cli.common import add_fleet_source, add_json, load_fleet
from placement.cli.render import emit, fleet_warnings_json, print_fleet_warnings, print_lint
from placement.lang.parser import DEFAULT_MAX_LENGTH
from placement.predicate import compile

USAGE = ("placement check EXPR [--fleet FILE [--tasks FILE] | --demo N [--demo-seed S]] [--plan]\n"
         "                       [--max-length N] [--json]")


def add_expression(command) -> None:
    command.add_argument("expression", metavar="EXPR", help="a memberOf expression, e.g. 'attribute:stack == prod'")
    command.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH, metavar="N",
                         help=f"longest accepted expression (default {DEFAULT_MAX_LENGTH}, the ECS limit)")


def add(commands) -> None:
    command = commands.add_parser(
        "check", usage=USAGE, help="parse and type-check; print the canonical form and warnings",
                                  description="Parse and type-check an expression; print its canonical form, "
                                              "and warnings (more of them with a fleet).")
    add_expression(command)
    add_fleet_source(command, required=False)
    command.add_argument("--plan", action="store_true", help="also print the evaluation plan")
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    predicate = compile(args.expression, max_length=args.max_length)
    fleet = load_fleet(args)
    warnings = predicate.warnings(fleet)
    if args.json:
        out = {"valid": True, "canonical": predicate.canonical,
               "warnings": fleet_warnings_json(fleet) + [w.to_json() for w in warnings]}
        if args.plan:
            out["plan"] = predicate.explain_plan(fleet)
        emit(out)
    else:
        print(predicate.canonical)
        if args.plan:
            print(predicate.explain_plan(fleet))
        print_fleet_warnings(fleet)
        print_lint(warnings, args.expression)
    return 0
