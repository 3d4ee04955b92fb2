"""The ``placement`` command: a standalone tester for expressions and a dry run of placement.

One module per command (``check``, ``evaluate``, ``explain``, ``place``, ``scale_in``, ``demo``,
``repl``, ``simulate``, ``trace``, ``bench``), each with its synopsis (``USAGE``, which the README
repeats), its options and its ``run``; ``common`` holds the options every command spells the same
way and ``render`` the printing rules.

Exit codes: 0 ok / something matched, 1 nothing matched / not all placed, 2 bad input.
``--json`` output is a contract other tools parse; the plain output is for people.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from contextlib import contextmanager

from placement.cli import bench, check, demo, evaluate, explain, place, repl, scale_in, simulate, trace
from placement.cli.common import Parser, UsageError
from placement.errors import PlacementError
from placement.lang.parser import TOO_LONG

OK, NO_MATCH, BAD_INPUT = 0, 1, 2
COMMANDS = (check, evaluate, explain, place, scale_in, demo, repl, simulate, trace, bench)


def version() -> str:
    from importlib import metadata
    try:
        return metadata.version("placement")
    except metadata.PackageNotFoundError:
        import placement
        return getattr(placement, "__version__", "unknown")


def arguments() -> argparse.ArgumentParser:
    parser = Parser(prog="placement",
                    description="Check and evaluate Amazon ECS cluster query expressions; dry-run task placement.",
                    epilog="'placement COMMAND --help' for a command's options. "
                           "Exit codes: 0 ok, 1 nothing matched or not all placed, 2 bad input.")
    parser.add_argument("--version", action="version", version=f"placement {version()}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    with _escaped_output():
        try:
            return _main(sys.argv[1:] if argv is None else argv)
        except BrokenPipeError:              # output piped into head: stop quietly, as a Unix tool does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return OK
        except KeyboardInterrupt:
            return 130


@contextmanager
def _escaped_output():
    """Print what is not Unicode escaped, never as a traceback: a path the shell passed with bytes
    that are not UTF-8 may be echoed in a message (texts that are compiled or shown otherwise are
    refused by the argument types, fleets' by ingest)."""
    strict = [stream for stream in (sys.stdout, sys.stderr)
              if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure")]
    for stream in strict:
        stream.reconfigure(errors="backslashreplace")
    try:
        yield
    finally:
        for stream in strict:
            stream.reconfigure(errors="strict")


def _main(argv: list[str]) -> int:
    parser = arguments()
    try:
        _misspelt(parser, argv)
        args, extra = parser.parse_known_args(argv)
        if extra:                            # say it with the command's usage, not the top-level one
            raise UsageError(_subparser(parser, args.command), f"unrecognized arguments: {' '.join(extra)}")
    except UsageError as error:
        if "--json" in argv:
            print(json.dumps({"error": {"kind": "input", "message": str(error), "span": None}}))
        else:
            error.parser.print_usage(sys.stderr)
            print(f"{error.parser.prog}: error: {error}", file=sys.stderr)
        return BAD_INPUT
    try:
        return args.run(args)
    except PlacementError as error:
        error = _for_the_command_line(error, args)
        if getattr(args, "json", False):
            print(json.dumps({"error": error.to_json()}))
        else:
            print(error.render(), file=sys.stderr)
        return BAD_INPUT


def _misspelt(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """An unknown command or flag, said before argparse complains of something else (a misspelt
    ``--fleeet`` would otherwise read as a missing ``--fleet``), with the nearest real one."""
    import difflib
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = next((token for token in argv if not token.startswith("-")), None)
    if command is None:
        return
    if command not in action.choices:
        close = difflib.get_close_matches(command, list(action.choices), n=1)
        raise UsageError(parser, f"unknown command {command!r}" + (f" (did you mean {close[0]}?)" if close else
                                                                   f"; the commands: {', '.join(action.choices)}"))
    sub = action.choices[command]
    known = {option for a in sub._actions for option in a.option_strings} | {"--version"}
    for token in argv[argv.index(command) + 1:]:
        if token == "--":
            break
        name = token.split("=", 1)[0]
        if name.startswith("--") and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            raise UsageError(sub, f"unrecognized argument {name}" + (f" (did you mean {close[0]}?)" if close else ""))


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _for_the_command_line(error: PlacementError, args) -> PlacementError:
    """The API's length error tells a caller to pass ``max_length``; here the knob is ``--max-length``."""
    first = error.problems[0]
    if first.code != TOO_LONG:
        return error
    hint = "ECS rejects memberOf expressions over 2000 characters"
    if hasattr(args, "max_length"):
        hint += "; pass --max-length N to allow more"
    problems = (dataclasses.replace(first, hint=hint), *error.problems[1:])
    return type(error)(first.message, source=error.source, problems=problems)


if __name__ == "__main__":
    sys.exit(main())
