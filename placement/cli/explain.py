"""``placement explain``: the expression drawn as a tree, how many instances each node is true
for (SPEC 1.7), and with ``--instance`` that instance's value at every node and of every subject."""
from __future__ import annotations

from placement.cli.check import add_expression
from placement.cli.common import add_fleet_source, add_json, load_fleet, text
from placement.cli.render import (
    INSTANCE_NOTE,
    emit,
    fleet_warnings_json,
    plural,
    print_fleet_warnings,
    print_lint,
    progress,
)
from placement.predicate import compile

USAGE = ("placement explain EXPR (--fleet FILE [--tasks FILE] | --demo N [--demo-seed S]) [--instance ID]\n"
         "                         [--max-length N] [--json]")


def add(commands) -> None:
    command = commands.add_parser(
        "explain", usage=USAGE, help="show how many instances each part of an expression selects",
        description="Draw an expression as a tree with the number of instances each node is true for; "
                    "with --instance, that instance's true / false at every node and its value of each "
                    "subject. Exit 0 when the expression selects some instance (with --instance: that "
                    "one), 1 when not.")
    add_expression(command)
    add_fleet_source(command)
    command.add_argument("--instance", type=text, metavar="ID",
                         help="explain one instance: its containerInstanceArn, the id at the end of the ARN "
                              "(or a prefix only it has, like the 12 characters listings show), or its "
                              "position in the fleet")
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    predicate = compile(args.expression, max_length=args.max_length)
    fleet = load_fleet(args)
    with progress(f"tracing on {plural(len(fleet), 'instance')}"):
        if args.instance is None:
            explanation = predicate.explain(fleet)
        else:
            explanation = predicate.why(fleet, args.instance)
    warnings = predicate.warnings(fleet)
    if args.json:
        emit({**explanation.to_json(), "warnings": fleet_warnings_json(fleet) + [w.to_json() for w in warnings]})
    else:
        print(explanation.render())
        count = explanation.count
        print(f"{count} of {plural(len(fleet), 'instance')} {'matches' if count == 1 else 'match'}")
        if args.instance is not None:
            print(f"({INSTANCE_NOTE})")
        print_fleet_warnings(fleet)
        print_lint(warnings, args.expression)
    if args.instance is not None:
        return 0 if explanation.selected else 1
    return 0 if explanation.count else 1
