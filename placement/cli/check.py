"""``placement check``: parse, type-check and lint one expression; the fleet is optional and
turns on the lint rules that need one (SPEC 1.6).

``--json`` prints ``{"valid", "canonical", "warnings"}``; each lint warning is ``{"code",
"message", "span": [start, end], "hint"}`` (``hint`` null where there is none), after any
warnings about the fleet file itself (``{"kind": "fleet", "message"}``, as on every command).
For people: the canonical form on stdout, then each warning on stderr with the expression and
a caret under the token it is about.
"""
from __future__ import annotations

import sys

from placement.cli.common import add_fleet_source, add_json, count, load_fleet, text
from placement.cli.render import emit, fleet_warnings_json, print_fleet_warnings
from placement.errors import render_problem
from placement.lang.parser import DEFAULT_MAX_LENGTH
from placement.predicate import compile

USAGE = ("placement check EXPR [--fleet FILE [--tasks FILE] | --demo N [--demo-seed S]] [--plan]\n"
         "                       [--max-length N] [--json]")


def add_expression(command) -> None:
    command.add_argument("expression", type=text, metavar="EXPR",
                         help="a memberOf expression, e.g. 'attribute:stack == prod'")
    command.add_argument("--max-length", type=count, default=DEFAULT_MAX_LENGTH, metavar="N",
                         help=f"longest accepted expression (default {DEFAULT_MAX_LENGTH}, the ECS limit)")


def add(commands) -> None:
    command = commands.add_parser(
        "check", usage=USAGE, help="parse and type-check; print the canonical form and warnings",
                                  description="Parse and type-check an expression; print its canonical form, "
                                              "and warnings (more of them with a fleet).")
    add_expression(command)
    add_fleet_source(command, required=False, tasks="for the task:group lint")
    command.add_argument("--plan", action="store_true", help="also print the evaluation plan")
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    predicate = compile(args.expression, max_length=args.max_length)
    fleet = load_fleet(args)
    warnings = predicate.warnings(fleet)
    if args.json:
        out = {"valid": True, "canonical": predicate.canonical,
               "warnings": fleet_warnings_json(fleet) + [warning_json(w) for w in warnings]}
        if args.plan:
            out["plan"] = predicate.explain_plan(fleet)
        emit(out)
    else:
        print(predicate.canonical)
        if args.plan:
            print(predicate.explain_plan(fleet))
        print_fleet_warnings(fleet)
        print(render_warnings(warnings, args.expression), file=sys.stderr, end="")
    return 0


def warning_json(warning) -> dict:
    """One lint finding in the shape of SPEC 1.6: all four keys, always."""
    return {"code": warning.code, "message": warning.message,
            "span": warning.span.as_list() if warning.span is not None else None, "hint": warning.hint}


def render_warnings(warnings, source: str) -> str:
    """The findings for a person: ``warning[code]: message``, the expression with a caret under
    the token, and the hint; one block per finding, each ending in a newline."""
    return "".join(render_problem(f"warning[{w.code}]", w, source) + "\n" for w in warnings)
