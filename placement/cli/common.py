"""What the commands share: the argument parser class, the argument types, the options spelt
the same on every command (``--fleet``/``--tasks``/``--demo``/``--demo-seed``, ``--json``,
``--limit``), and loading the fleet those options name.

The types are the command line's boundary: a number is ASCII digits (``int`` would also read
``١٢`` and ``1_000``), within the range its option takes, and a text that becomes an expression
or is printed holds no lone surrogate (what the shell passes for bytes that are not UTF-8), so
nothing out of range reaches numpy or C, and each mistake is a usage error (exit 2).
"""
from __future__ import annotations

import argparse
import re

from placement.cli.render import progress
from placement.errors import InputError, preview
from placement.fleet import Fleet, demo
from placement.values import is_unicode

MAX_DEMO = 1_000_000
DEMO_SIZE = 200             # the demo command's fleet, and the size its hint shows
MAX_THREADS = 1024
_WHOLE = re.compile(r"\s*[0-9]+\s*\Z")


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
    if not _WHOLE.match(text):
        if re.fullmatch(r"\s*-[0-9]+\s*", text):
            raise argparse.ArgumentTypeError(f"must not be negative, got {text.strip()}")
        raise argparse.ArgumentTypeError(f"expected a whole number, got {preview(text)}")
    if len(text.strip()) > 30:                  # past any count, and short of int()'s 4,300-digit limit
        raise argparse.ArgumentTypeError(f"{preview(text.strip())} is too large")
    return int(text)


def threads(text: str) -> int:
    """An argparse type: a thread count, 1 to MAX_THREADS."""
    value = count(text)
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"takes 1 to {MAX_THREADS} threads, got {value}")
    return value


def jobs(text: str) -> int:
    """An argparse type: local Dask worker processes, 1 to the MAX_JOBS that ``connect`` starts
    (``--jobs`` of simulate and bench)."""
    from placement.dask.cluster import MAX_JOBS     # here: placement.dask is imported only when used
    value = count(text)
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"takes 1 to {MAX_JOBS} worker processes, got {value}")
    return value


def seed(text: str) -> int:
    """An argparse type: a seed of random draws, 0 to 2^64 - 1 (the ranker draws with 64 bits)."""
    value = count(text)
    if value >= 1 << 64:
        raise argparse.ArgumentTypeError(f"takes a seed from 0 to 2^64 - 1, got {value}")
    return value


def text(value: str) -> str:
    """An argparse type for a text that is compiled or printed: any text but a lone surrogate."""
    if not is_unicode(value):
        raise argparse.ArgumentTypeError(f"{preview(value)} holds bytes that are not UTF-8 text")
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
    command.add_argument("--demo-seed", type=count, metavar="S", help="seed of the demo fleet's generator (default 0)")


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
