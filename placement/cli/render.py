"""What the commands print: words, tables and warnings for people, JSON for scripts.

One place for the small rules every command follows: singular or plural by the count, instance
ids shortened the same way and explained once, listings cut at ``--limit``, warnings on stderr,
progress on stderr only when a person is watching it.
"""
from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from contextlib import contextmanager

from placement.errors import render_problem

DEFAULT_LIMIT = 20          # rows of a listing a person sees unless they ask for more
INSTANCE_NOTE = "instance: the id at the end of its containerInstanceArn, first 12 characters"
ZONE = "ecs.availability-zone"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 instance``, ``2 instances``: the count with its noun in the right number."""
    return f"{n} {word if n == 1 else words or word + 's'}"


def short(arn: str) -> str:
    """The instance id a person reads: the end of the ARN, cut to 12 characters."""
    return arn.rsplit("/", 1)[-1][:12]


def emit(document) -> None:
    print(dumps(document))


def dumps(document) -> str:
    """``json.dumps(document)``, also for a document nested deeper than Python's recursion limit
    (the explanation of a 5,000-deep expression): then written with an explicit stack."""
    try:
        return json.dumps(document)
    except RecursionError:
        return _dumps_deep(document)


def _dumps_deep(document) -> str:
    parts: list[str] = []
    stack: list[list] = [[None, iter((document,)), True]]     # [closing bracket, items, first]
    while stack:
        frame = stack[-1]
        closing, items, first = frame
        item = next(items, _END)
        if item is _END:
            stack.pop()
            if closing:
                parts.append(closing)
            continue
        if not first:
            parts.append(", ")
        frame[2] = False
        if closing == "}":
            key, item = item
            parts.append(json.dumps({key: 0})[1:-2])      # the key as json writes it: True is "true"
        if isinstance(item, dict):
            parts.append("{")
            stack.append(["}", iter(item.items()), True])
        elif isinstance(item, (list, tuple)):
            parts.append("[")
            stack.append(["]", iter(item), True])
        else:
            parts.append(json.dumps(item))
    return "".join(parts)


_END = object()


def rows_shown(args, n: int) -> int:
    """How many of ``n`` rows to list: ``--limit`` when given, else all for JSON, 20 for people."""
    if args.limit is not None:
        return min(n, args.limit)
    return n if args.json else min(n, DEFAULT_LIMIT)


def more(n: int, shown: int) -> str | None:
    return f"... and {n - shown} more (--limit)" if n > shown else None


def table(header: tuple[str, ...], rows: list[tuple[str, ...]], indent: str = "") -> str:
    """Left-aligned columns, as wide as their widest cell."""
    rows = [header, *rows]
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    return "\n".join(indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def instance_table(instances) -> str:
    return table(("instance", "ec2InstanceId", "instance-type", "availability-zone", "status"), [(
        short(i.arn), i.ec2_instance_id or "-", i.attributes.get("ecs.instance-type") or "-",
        i.attributes.get(ZONE) or "-", i.status or "-") for i in instances])


def zone_of(fleet):
    """``position -> zone`` ("-" where an instance has none), read from the fleet's column."""
    column = fleet.columns.attributes.get(ZONE)

    def zone(position: int) -> str:
        value = column.value_at(position) if column is not None else None
        return value if isinstance(value, str) else "-"
    return zone


def group_per_zone(fleet, group: str) -> Counter:
    """The group's running tasks per availability zone, every zone of the fleet listed."""
    zone = zone_of(fleet)
    counts = Counter({zone(p): 0 for p in _one_per_zone(fleet)})
    tasks = fleet.tasks
    counts.update(zone(int(row)) for row, name in zip(tasks.rows.tolist(), tasks.groups) if name == group)
    return counts


def _one_per_zone(fleet) -> list[int]:
    import numpy as np
    column = fleet.columns.attributes.get(ZONE)
    if column is None or len(column.codes) == 0:
        return []
    return np.unique(column.codes, return_index=True)[1].tolist()


# -- warnings ---------------------------------------------------------------------------------

def fleet_warnings_json(fleet) -> list[dict]:
    return [{"kind": "fleet", "message": message} for message in getattr(fleet, "warnings", ())]


def print_fleet_warnings(fleet) -> None:
    for message in getattr(fleet, "warnings", ()):
        print(f"warning: {message}", file=sys.stderr)


def print_lint(warnings, source: str) -> None:
    for warning in warnings:
        print(render_problem("warning", warning, source), file=sys.stderr)


# -- progress -----------------------------------------------------------------------------------

@contextmanager
def progress(label: str, after: float = 1.0, stream=None):
    """Say ``label ...`` on stderr when the work takes longer than ``after`` seconds, and only
    when stderr is a terminal: a person waiting wants to know it is working; a script does not."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield
        return
    timer = threading.Timer(after, lambda: print(f"{label} ...", file=stream, flush=True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@contextmanager
def progress_bar(label: str, stream=None, width: int = 20):
    """A bar redrawn in place on stderr, ``label [######......] 42% t=25m``, and wiped at the end;
    yields ``update(share, note)``, or ``None`` when stderr is not a terminal (nobody to show it)."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield None
        return
    shown = ""

    def update(share: float, note: str = "") -> None:
        nonlocal shown
        share = min(max(share, 0.0), 1.0)
        filled = int(share * width)
        text = f"{label} [{'#' * filled}{'.' * (width - filled)}] {int(share * 100)}%" + (f" {note}" if note else "")
        if text != shown:                    # the loop reports often; the terminal is redrawn only on a change
            stream.write("\r" + text.ljust(len(shown)))
            stream.flush()
            shown = text

    try:
        yield update
    finally:
        if shown:
            stream.write("\r" + " " * len(shown) + "\r")
            stream.flush()
