"""``placement repl``: an interactive tester. Type an expression and see at once how many
instances it selects, a few of them and the lint warnings; ``:explain``, ``:why`` and ``:place``
look closer.

``Repl`` is the conversation without the terminal (a line in, the text to print out), so it is
tested without one; ``loop`` puts prompt_toolkit around it: completion and highlighting
(``placement.cli.completion``), history, a live count in the bottom toolbar. prompt_toolkit is
the ``repl`` extra, imported only when this command runs: ``import placement`` and every other
command stay without it. Everything goes to stdout, errors included, so the
transcript reads in order.
"""
from __future__ import annotations

import contextlib
import io
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from placement.cli.common import Parser, UsageError, add_fleet_source, count, load_fleet
from placement.cli.render import (
    INSTANCE_NOTE,
    group_per_zone,
    instance_table,
    plural,
    print_fleet_warnings,
)
from placement.errors import InputError, PlacementError, render_problem
from placement.predicate import compile

USAGE = "placement repl (--fleet FILE [--tasks FILE] | --demo N [--demo-seed S]) [--no-color]"
MISSING = "placement repl needs prompt_toolkit, an optional extra: pip install 'placement[repl]'"
SAMPLE = 5                  # matching instances shown under the count
PREVIEW_LIMIT = 10_000      # fleets the toolbar counts on every keystroke (binding a pattern reads every value)
PROMPT = "placement> "
HELP = f"""\
Type an expression to see how many instances it selects, a few of them and its warnings.
  :explain [EXPR]          how many instances each part selects (default: the last expression)
  :why ID [EXPR]           one instance's answer at each part, and its values; ID is a short id,
                           an ARN, a position or an ec2InstanceId
  :place COUNT CPU MEMORY [--group G]
                           a dry-run placement with the last expression as a memberOf constraint
                           (strategies: the ECS service default; group default service:repl)
  :help                    this text
  :quit                    leave (Ctrl-D too; Ctrl-C clears the line)
Tab completes subjects, operators, attribute names and the fleet's values.
({INSTANCE_NOTE})"""

_ANSI = {"error": "31", "warning": "33", "count": "1", "note": "2"}


def add(commands) -> None:
    command = commands.add_parser("repl", usage=USAGE, help="an interactive tester for expressions on a fleet",
                                  description="Type expressions and see at once what they select on a fleet, "
                                              "with completion from the fleet's attributes and values. "
                                              "Needs the repl extra: pip install 'placement[repl]'.")
    add_fleet_source(command)
    command.add_argument("--no-color", action="store_true",
                         help="no colour (also when NO_COLOR is set or stdout is not a terminal)")
    command.set_defaults(run=run)


def run(args) -> int:
    try:
        import prompt_toolkit  # noqa: F401  (checked first: no fleet loaded for nothing)
    except ImportError:
        print(MISSING, file=sys.stderr)
        return 2
    if "-" in (args.fleet, args.tasks):
        raise InputError("the repl reads what you type from standard input; give --fleet and --tasks as files")
    fleet = load_fleet(args)
    return loop(Repl(fleet, color=use_color(args.no_color, sys.stdout)))


def use_color(no_color: bool, stream) -> bool:
    """Colour only for a terminal, and never when asked not to (``--no-color``, ``NO_COLOR``)."""
    return not no_color and not os.environ.get("NO_COLOR") and stream.isatty()


def history_path() -> Path:
    """``$XDG_STATE_HOME/placement/history``, else ``~/.local/state/placement/history``."""
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "placement" / "history"


def open_history():
    """The history file when it can be written, else a history kept in memory for the session."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        if not os.access(path, os.W_OK):
            raise PermissionError(path)
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


class Repl:
    """One session on one fleet: what each line typed prints. ``last`` is the last valid
    expression, which the commands use when given none."""

    def __init__(self, fleet, color: bool = False):
        self.fleet, self.color = fleet, color
        self.last = None
        self.done = False

    def paint(self, text: str, role: str) -> str:
        return f"\x1b[{_ANSI[role]}m{text}\x1b[0m" if self.color else text

    def banner(self) -> str:
        size = plural(len(self.fleet), "instance")
        lines = [f"placement repl on a fleet of {size}. Type an expression; :help for commands, Ctrl-D to leave."]
        lines += [self.paint(f"warning: {message}", "warning") for message in getattr(self.fleet, "warnings", ())]
        return "\n".join(lines)

    def handle(self, line: str) -> str:
        """The text that answers ``line`` (empty for an empty line)."""
        text = line.strip()
        if not text:
            return ""
        try:
            if text.startswith(":"):
                name, _, rest = text.partition(" ")
                command = _COMMANDS.get(name)
                if command is None:
                    return self.paint(f"unknown command {name}; :help lists them", "error")
                return command(self, rest.strip())
            return self.expression(line)
        except PlacementError as error:
            return self.paint(error.render(), "error")

    # -- an expression --------------------------------------------------------------------------------

    def expression(self, source: str) -> str:
        predicate = compile(source)
        self.last = predicate
        mask = predicate.evaluate(self.fleet)
        matches = np.flatnonzero(mask)
        lines = []
        if predicate.canonical != source.strip():
            lines.append(self.paint(f"= {predicate.canonical}", "note"))
        verb = "matches" if len(matches) == 1 else "match"
        lines.append(self.paint(f"{len(matches)} of {plural(len(self.fleet), 'instance')} {verb}", "count"))
        if len(matches):
            lines.append(instance_table(self.fleet[int(p)] for p in matches[:SAMPLE]))
            if len(matches) > SAMPLE:
                lines.append(self.paint(f"... and {len(matches) - SAMPLE} more", "note"))
        lines += [self.paint(render_problem("warning", w, source), "warning") for w in predicate.warnings(self.fleet)]
        return "\n".join(lines)

    def preview(self, source: str) -> str:
        """The bottom toolbar as the line is typed: the count so far, or what is wrong."""
        if not source.strip() or source.lstrip().startswith(":"):
            return "Tab completes; :help for commands"
        try:
            predicate = compile(source)
        except PlacementError as error:
            return f"{error.kind} error: {error.message}"
        if len(self.fleet) > PREVIEW_LIMIT:
            return "valid; Enter to count"
        return f"{predicate.count(self.fleet)} of {plural(len(self.fleet), 'instance')}"

    def _predicate(self, source: str):
        if source:
            return compile(source)
        if self.last is None:
            raise PlacementError("type an expression first, or give one after the command")
        return self.last

    # -- commands -------------------------------------------------------------------------------------

    def explain(self, rest: str) -> str:
        return self._predicate(rest).explain(self.fleet).render()

    def why(self, rest: str) -> str:
        ident, _, source = rest.partition(" ")
        if not ident:
            raise PlacementError(":why takes an instance: a short id, an ARN, a position or an ec2InstanceId")
        return self._predicate(source.strip()).why(self.fleet, self.instance(ident)).render()

    def instance(self, ident: str) -> str:
        """``ident`` as ``Predicate.why`` names an instance (ARN, id or its prefix, position), with
        one more name a person knows it by: its ec2InstanceId."""
        column = self.fleet.columns.instance_id
        code = column.code_of(ident)
        rows = np.flatnonzero(column.codes == code) if code is not None else ()
        return self.fleet.columns.arns[int(rows[0])] if len(rows) == 1 else ident

    def place(self, rest: str) -> str:
        from placement.cli.place import print_placement
        from placement.place import MemberOf, Placer, ecs_service_default
        parser = Parser(prog=":place", add_help=False)
        for name in ("count", "cpu", "memory"):
            parser.add_argument(name, type=count)
        parser.add_argument("--group", default="service:repl")
        try:
            args = parser.parse_args(shlex.split(rest))
        except (UsageError, ValueError) as error:
            return self.paint(f":place: {error}; usage: :place COUNT CPU MEMORY [--group G]", "error")
        constraints = [MemberOf(self.last.source)] if self.last is not None else []
        before = group_per_zone(self.fleet, args.group)
        result = Placer(self.fleet, ecs_service_default()).place(
            args.count, args.cpu, args.memory, group=args.group, constraints=constraints)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            print_placement(self.fleet, result, args.group, before, note=False)
        where = f"memberOf({self.last.canonical})" if self.last is not None else "no constraint"
        return self.paint(f"dry run with {where}", "note") + "\n" + printed.getvalue().rstrip("\n")

    def help(self, rest: str) -> str:
        return HELP

    def quit(self, rest: str) -> str:
        self.done = True
        return ""


_COMMANDS = {":explain": Repl.explain, ":why": Repl.why, ":place": Repl.place, ":help": Repl.help,
             ":quit": Repl.quit, ":q": Repl.quit, ":exit": Repl.quit}


def loop(repl: Repl, *, input=None, output=None, history=None, out=None) -> int:
    """Prompt, answer, repeat, until ``:quit`` or Ctrl-D (exit 0); Ctrl-C clears the line. Lines
    from a pipe or a file (``placement repl --demo 50 < lines``) are answered without an editor."""
    out = out or sys.stdout
    if input is None and not sys.stdin.isatty():
        print_fleet_warnings(repl.fleet)
        for line in sys.stdin:
            _answer(repl, line.rstrip("\r\n"), out)
            if repl.done:
                break
        return 0
    from prompt_toolkit import PromptSession
    from prompt_toolkit.output import ColorDepth
    from prompt_toolkit.styles import Style

    from placement.cli.completion import STYLE, QueryCompleter, QueryLexer, Vocabulary
    session = PromptSession(
        PROMPT, input=input, output=output, history=history if history is not None else open_history(),
        completer=QueryCompleter(Vocabulary(repl.fleet)), complete_while_typing=True,
        lexer=QueryLexer() if repl.color else None, style=Style.from_dict(STYLE),
        color_depth=None if repl.color else ColorDepth.MONOCHROME,
        bottom_toolbar=lambda: repl.preview(session.default_buffer.text))
    print(repl.banner(), file=out, flush=True)
    while not repl.done:
        try:
            line = session.prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            _answer(repl, line, out)
        except KeyboardInterrupt:                       # a long evaluation stopped; the session goes on
            print("interrupted", file=out, flush=True)
    return 0


def _answer(repl: Repl, line: str, out) -> None:
    answer = repl.handle(line)
    if answer:
        print(answer, file=out, flush=True)
