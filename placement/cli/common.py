"""What the commands share: the argument parser class, the options spelt the same on every
command (``--fleet``/``--tasks``/``--demo``/``--demo-seed``, ``--json``, ``--limit``), and
loading the fleet those options name."""
from __future__ import annotations

import argparse

from placement.cli.render import progress
from placement.errors import InputError
from placement.fleet import Fleet, demo

MAX_DEMO = 1_000_000
DEMO_SIZE = 200             # the demo command's fleet, and the size its hint shows


class UsageError(Exception):
    """A bad command line, with the parser of the command it is about (for its usage line)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors come back to ``main``, to be reported as bad input (exit 2)
    in the shape the caller asked for."""

    def error(self, message):
        raise UsageError(self, message)


def count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def add_json(command: argparse.ArgumentParser) -> None:
    command.add_argument("--json", action="store_true", help="print one JSON document (a contract for scripts)")


def add_limit(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument("--limit", type=count, metavar="N",
                         help=f"list at most N {what} (default: 20 for people, all with --json)")


def add_fleet_source(command: argparse.ArgumentParser, required: bool = True, tasks: str = "for task:group") -> None:
    source = command.add_mutually_exclusive_group(required=required)
    source.add_argument("--fleet", metavar="FILE",
                        help="the JSON of 'aws ecs describe-container-instances' ('-': standard input), "
                             "or a table of one column per subject (.csv, .parquet, .feather / .arrow / .ipc)")
    source.add_argument("--demo", type=count, metavar="N", help="a generated demo fleet of N instances instead")
    command.add_argument("--tasks", metavar="FILE",
                         help=f"the JSON of 'aws ecs describe-tasks' ('-': standard input), {tasks}; "
                              "goes with a JSON --fleet")
    command.add_argument("--demo-seed", type=int, metavar="S", help="seed of the demo fleet's generator (default 0)")


def load_fleet(args) -> Fleet | None:
    """The fleet the options name, or ``None`` where they name none (``check`` without one)."""
    if args.demo is not None:
        if args.tasks is not None:
            raise InputError("--tasks goes with --fleet; the demo fleet brings its own tasks")
        if args.demo > MAX_DEMO:
            raise InputError(f"--demo takes a size from 0 to {MAX_DEMO:,}, got {args.demo}")
        with progress(f"generating a demo fleet of {args.demo:,} instances"):
            return demo(args.demo, args.demo_seed or 0)
    if args.demo_seed is not None:
        raise InputError("--demo-seed goes with --demo")
    if args.fleet is None:
        if args.tasks is not None:
            raise InputError("--tasks goes with --fleet")
        return None
    if args.fleet == "-" and args.tasks == "-":
        raise InputError("--fleet and --tasks cannot both read standard input; give one of them as a file")
    with progress(f"reading fleet {args.fleet}"):
        return Fleet.read(args.fleet, args.tasks)
