"""The explanation of an unplaced task, for people (SPEC 2b): rendered from the ``reasons``
dictionary that ``placement.place.reasons`` computes (its docstring gives the keys).

Three parts, in the manner of the Kubernetes scheduler's message: a one-line summary of what
removed the instances, counted in order (``0/200 instances are available: 150 insufficient
memory, 50 attribute:stack is absent.``); the funnel, one row per requirement with the instances
it removes in order and those that fail it on their own (and which earlier requirement removed
those first); the closest instances with exactly what each lacks.
"""
from __future__ import annotations

from collections.abc import Callable

_SUMMARY = {"eligible": "not ACTIVE or agent disconnected", "cpu": "insufficient cpu",
            "memory": "insufficient memory", "gpu": "insufficient GPUs", "ports": "host ports unavailable"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def summary(reasons: dict) -> str:
    """``A/N instances are available: 150 insufficient memory, 50 attribute:stack is absent.``:
    every instance counted once, at the first requirement it fails."""
    parts = []
    for row in reasons["funnel"]:
        if row.get("clauses") or not row["removed"]:
            continue                    # a memberOf with clauses is told through its clauses
        kind, removed = row["kind"], row["removed"]
        if kind in _SUMMARY:
            parts.append(f"{removed} {_SUMMARY[kind]}")
        elif kind == "distinctInstance":
            parts.append(f"{removed} already running a task of the group (distinctInstance)")
        else:
            absent = row.get("absent", 0)
            if absent:
                parts.append(f"{absent} attribute:{row['attribute']} is absent")
            if removed - absent:
                parts.append(f"{removed - absent} fail {row['requirement']}")
    total = reasons["instances"]
    head = f"{reasons['available']}/{total} {'instance is' if total == 1 else 'instances are'} available"
    return head + (": " + ", ".join(parts) if parts else "") + "."


def requirement_label(row: dict) -> str:
    """A funnel row as a person reads it: what is asked, with the amount."""
    kind, needs = row["kind"], row.get("needs")
    if kind == "eligible":
        return "eligible (ACTIVE, agent connected)"
    if kind == "cpu":
        return f"cpu: {needs} units"
    if kind == "memory":
        return f"memory: {needs} MiB"
    if kind == "gpu":
        return f"GPUs: {needs}"
    if kind == "ports":
        return "host ports: " + (", ".join("dynamic" if p == 0 else str(p) for p in needs) or "none")
    if kind == "clause":
        return f"  and {row['requirement']}"
    return row["requirement"]


def _shown(row: dict) -> bool:
    """GPU and port rows only when the task asks for them or some instance fails them."""
    if row["kind"] in ("gpu", "ports"):
        return bool(row.get("needs")) or bool(row["failsAlone"])
    return True


_SHORT = {"eligible": "eligibility", "cpu": "cpu", "memory": "memory", "gpu": "GPUs", "ports": "ports"}


def _before(row: dict, funnel: list[dict], most: int = 2) -> str:
    """Which earlier requirements removed the instances that fail this one too, largest first."""
    earlier = sorted(row["removedBefore"], key=lambda b: (-b["count"], b["step"]))
    named = [f"{_SHORT.get(funnel[b['step']]['kind'], b['requirement'])} {b['count']}" for b in earlier[:most]]
    if len(earlier) > most:
        named.append(f"+{len(earlier) - most} more")
    return "removed earlier by " + ", ".join(named) if named else ""


def funnel_table(reasons: dict, indent: str = "  ") -> str:
    funnel = reasons["funnel"]
    body = [(requirement_label(row), str(row["removed"]), str(row["failsAlone"]), _before(row, funnel))
            for row in funnel if _shown(row)]
    header = ("requirement", "removed in order", "fail alone", "")
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(3)]
    lines = []
    for label, removed, alone, note in [header, *body]:
        line = f"{indent}{label:<{widths[0]}}  {removed:>{widths[1]}}  {alone:>{widths[2]}}"
        lines.append((line + ("  " + note if note else "")).rstrip())
    return "\n".join(lines)


def lack_text(lack: dict, funnel: list[dict]) -> str:
    """One shortfall: the detail, and for a constraint what it asks unless the detail says it."""
    detail, kind = lack["detail"], funnel[lack["step"]]["kind"]
    if kind in ("memberOf", "clause", "distinctInstance") and not detail.startswith(lack["requirement"]):
        return f"{detail} ({lack['requirement']})"
    return detail


def closest_lines(reasons: dict, name: Callable[[str], str] = str, indent: str = "  ") -> list[str]:
    closest = reasons["closest"]
    if not closest:
        return []
    names = [name(c["containerInstanceArn"]) for c in closest]
    width = max(map(len, names))
    lines = ["closest instances (fewest requirements failed, then smallest shortfall):"]
    for label, entry in zip(names, closest):
        lacks = "; ".join(lack_text(lack, reasons["funnel"]) for lack in entry["lacks"])
        lines.append(f"{indent}{label:<{width}}  fails {entry['fails']}: {lacks}")
    return lines


def render_unplaced(reasons: dict, unplaced: int, name: Callable[[str], str] = str) -> str:
    """The whole explanation: the summary, the funnel, the closest instances."""
    lines = [f"{_plural(unplaced, 'task')} not placed. {summary(reasons)}", "", funnel_table(reasons)]
    near = closest_lines(reasons, name)
    if near:
        lines += ["", *near]
    return "\n".join(lines)
