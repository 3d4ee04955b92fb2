"""Why a task could not be placed (SPEC 2, 2b "Explanation of an unplaced task"): computed here,
over the placement state at the moment placement stopped (the tasks that did place counted),
vectorised over the fleet; rendered by ``placement.explain.placement``. The reference placer
computes the same dictionary one instance at a time (``placement.place.reference``), from the
same list of requirements (``requirements``) and the same wording of a shortfall (``*_detail``).

The requirements, in order: ``eligible``; ``cpu``; ``memory``; ``gpu``; ``ports``; then each
constraint in the request's order (``memberOf`` or ``distinctInstance``: a ``distinctInstance``
stays where the request puts it, as placement checks it), a ``memberOf`` whose
expression is an ``and`` followed by one row per clause (``kind: clause``, ``of``: its row).
Per requirement (``funnel``, one row each):

- ``removed``: the instances it removes *in order*, counted at the first requirement they fail
  (a memberOf with clauses removes what its clauses remove, each clause counted in order too);
- ``failsAlone``: the instances that fail it, whatever else they fail;
- ``removedBefore``: of those failing it alone, how many an earlier requirement removed, per
  requirement (so ``failsAlone == removed + sum(removedBefore counts)``);
- ``attribute`` and ``absent`` (only for a constraint or clause that reads exactly one attribute):
  its name, and how many of the instances it removes lack it.

``closest``: at most ``CLOSEST`` instances that fail at least one requirement, ranked by

1. the number of requirements failed (a memberOf with clauses counts its failed clauses, not
   itself), fewest first;
2. the *shortfall*, smallest first: for each of cpu, memory and GPUs it lacks,
   ``min(1, (needed - remaining) / needed)`` (the fraction of the demand missing), plus 1 for
   every other requirement it fails (ports, a constraint, eligibility: all or nothing), summed in
   that order (cpu, memory, GPUs, the rest) in float64, the same in both placers. So at equal
   counts an instance 64 MiB short of 1024 (0.0625) comes before one with half the cpu it needs
   (0.5), and both before one that fails a constraint or has none of the GPUs asked (1.0);
3. the fleet position, lowest first.

Each with ``lacks``: per failed requirement its row (``step``) and ``detail``, the exact
shortfall in words (``needs 512 more MiB of memory``, ``port 80 in use``, ``attribute:stack is
absent``). The old keys stay: ``instances``, ``ineligible``, ``cpu``, ``memory``, ``gpu``,
``ports`` (removed in order), and ``constraints`` (``removed``; per clause ``false``: of the
instances the constraint removes, how many fail that clause).

Constraints come from the compiled masks (each clause of an ``and`` compiled and run on its own),
never from the reference evaluator; only the few closest instances are read one at a time, for
their wording. Only paid when a task was not placed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from placement.lang import ast
from placement.lang.ir import Field, Kind
from placement.lang.simplify import fields
from placement.place.masks import Masks
from placement.place.ports import MAX_RESERVED, RESERVED
from placement.place.requests import Demand, DistinctInstance, MemberOf
from placement.place.state import PlacementState
from placement.values import ABSENT, VALUELESS

CLOSEST = 3                 # closest instances reported
RESOURCES = ("cpu", "memory", "gpu")


def and_clauses(constraint) -> list:
    """(text, typed clause) for each operand of a memberOf whose expression is an ``and``: the
    clauses whose failures reasons count (both placers)."""
    if not isinstance(constraint, MemberOf):
        return []
    predicate = constraint.predicate
    if not isinstance(predicate.tree, ast.And):
        return []
    return [(ast.to_text(node), typed) for node, typed in zip(predicate.tree.operands, predicate.ir.operands)]


@dataclass(frozen=True)
class Requirement:
    """One row of the funnel."""

    kind: str                   # eligible, cpu, memory, gpu, ports, memberOf, clause, distinctInstance
    text: str
    needs: object = None        # the demand: an amount, or the ports
    constraint: object = None   # memberOf / distinctInstance: the constraint
    expr: object = None         # memberOf / clause: the typed expression
    of: int = -1                # clause: its memberOf's row
    clauses: int = 0            # memberOf: how many clause rows follow it
    attribute: str | None = None    # the one attribute a constraint or clause reads, if it reads only that

    @property
    def leaf(self) -> bool:
        """Counted on its own (a memberOf with clauses is counted through them)."""
        return self.clauses == 0

    @property
    def fields(self) -> list[Field]:
        return sorted(fields(self.expr), key=lambda f: (f.kind.value, f.name)) if self.expr is not None else []

    @property
    def all_shown(self) -> bool:
        """Whether a detail can show the value of every field it reads."""
        return all(f.kind in SHOWN_FIELDS for f in self.fields)

    def to_json(self) -> dict:
        out = {"requirement": self.text, "kind": self.kind}
        if self.needs is not None:
            out["needs"] = list(self.needs) if self.kind == "ports" else self.needs
        if self.kind == "clause":
            out["of"] = self.of
        if self.clauses:
            out["clauses"] = self.clauses
        if self.attribute is not None:
            out["attribute"] = self.attribute
        return out


def _only_attribute(expr) -> str | None:
    found = fields(expr)
    if len(found) == 1:
        (field,) = found
        if field.kind is Kind.ATTRIBUTE:
            return field.name
    return None


def requirements(demand: Demand, constraints) -> list[Requirement]:
    """The funnel's rows for ``demand`` and ``constraints``, in order (both placers)."""
    rows = [Requirement("eligible", "eligible"),
            *(Requirement(name, name, getattr(demand, name)) for name in RESOURCES),
            Requirement("ports", "ports", tuple(demand.ports))]
    for constraint in constraints:
        if isinstance(constraint, DistinctInstance):
            rows.append(Requirement("distinctInstance", str(constraint), constraint=constraint))
            continue
        clauses = and_clauses(constraint)
        expr = constraint.predicate.ir
        parent = len(rows)
        rows.append(Requirement("memberOf", str(constraint), constraint=constraint, expr=expr, clauses=len(clauses),
                                attribute=None if clauses else _only_attribute(expr)))
        rows.extend(Requirement("clause", text, expr=typed, of=parent, attribute=_only_attribute(typed))
                    for text, typed in clauses)
    return rows


# -- the wording of a shortfall (both placers) -----------------------------------------------------

def eligible_detail(status, agent_connected) -> str:
    """Why an instance is not eligible: its status (None: none given) and agent connection."""
    parts = []
    if status != "ACTIVE":
        parts.append(f"status is {status}" if status is not None else "status is absent")
    if agent_connected is not True:
        parts.append("agent is disconnected" if agent_connected is False else "agentConnected is absent")
    return ", ".join(parts)


_UNITS = {"cpu": ("cpu unit", "cpu units"), "memory": ("MiB of memory", "MiB of memory"), "gpu": ("GPU", "GPUs")}


def resource_detail(name: str, needed: int, remaining: int) -> str:
    short = needed - remaining
    one, many = _UNITS[name]
    return f"needs {short} more {one if short == 1 else many}"


def shortfall_fraction(needed: int, remaining: int) -> float:
    """The fraction of the demand missing (1 when nothing was asked but the instance is below 0)."""
    return min(1.0, (needed - remaining) / needed) if needed > 0 else 1.0


def ports_detail(in_use: list[int], over_limit: bool, dynamic: int, short_of_dynamic: bool,
                 ephemeral: tuple[int, int]) -> str:
    """``in_use``: the task's static ports in use there; ``short_of_dynamic``: the range has fewer
    free ports than the task's ``dynamic`` ones; ``over_limit``: neither, and its static ports
    would take the instance over the 100 reserved host ports (only named when nothing else is)."""
    parts = []
    if in_use:
        parts.append(f"port {in_use[0]} in use" if len(in_use) == 1
                     else "ports " + ", ".join(map(str, in_use)) + " in use")
    if over_limit:
        parts.append(f"would reserve over {MAX_RESERVED} host ports")
    if short_of_dynamic:
        low, high = ephemeral
        parts.append(f"fewer than {dynamic} free {'port' if dynamic == 1 else 'ports'} in {low}-{high}")
    return "; ".join(parts)


def own_in_range(ephemeral: tuple[int, int], static_ports) -> int:
    """The task's static ports that a dynamic one of the range could otherwise have taken."""
    low, high = ephemeral
    return sum(low <= p <= high and p not in RESERVED for p in static_ports)


def _value_text(field: Field, value) -> str:
    if value is ABSENT:
        return f"{field} is absent"
    if value is VALUELESS:
        return f"{field} has no value"
    if isinstance(value, str) and (not value or any(c.isspace() or c in ',()[]"\'' for c in value)):
        value = json.dumps(value)
    return f"{field} is {value}"


SHOWN_FIELDS = (Kind.ATTRIBUTE, Kind.INSTANCE_ID, Kind.RUNNING_TASKS)   # fields whose value a detail shows


def constraint_detail(text: str, values: list[tuple[Field, object]], all_shown: bool) -> str:
    """Why a constraint (or clause) ``text`` is false on an instance: the values there of the
    fields it reads (``attribute:stack is absent``, ``attribute:zone is b``, ``runningTasksCount is
    7``; ABSENT / VALUELESS as in ``placement.values``); led by ``TEXT is false`` when it also
    reads fields whose values are not shown (``all_shown`` false) or none at all."""
    shown = ", ".join(_value_text(f, v) for f, v in values)
    if all_shown and shown:
        return shown
    return f"{text} is false" + (f" ({shown})" if shown else "")


def distinct_detail(tasks: int, group: str) -> str:
    return f"already runs {tasks} {'task' if tasks == 1 else 'tasks'} of {group}"


def explanation(rows: list[Requirement], removed: list[int], fails_alone: list[int], before: list[dict],
                absent: list, instances: int, available: int, closest: list[dict]) -> dict:
    """The reasons dictionary from the counts (both placers): the funnel, the closest instances and
    the old keys."""
    funnel = []
    for j, row in enumerate(rows):
        entry = {**row.to_json(), "removed": removed[j], "failsAlone": fails_alone[j],
                 "removedBefore": [{"step": k, "requirement": rows[k].text, "count": before[j][k]}
                                   for k in sorted(before[j]) if before[j][k]]}
        if absent[j] is not None:
            entry["absent"] = absent[j]
        funnel.append(entry)
    out: dict = {"instances": instances, "available": available}
    out["ineligible"] = removed[0]
    for j, name in enumerate(("cpu", "memory", "gpu", "ports"), start=1):
        out[name] = removed[j]
    out["constraints"] = []
    for j, row in enumerate(rows):
        if row.kind in ("memberOf", "distinctInstance"):
            out["constraints"].append({"constraint": row.text, "removed": removed[j]})
    out["funnel"] = funnel
    out["closest"] = closest
    return out


def closest_entry(arn: str, position: int, shortfall: float, lacks: list[tuple[int, str]], rows) -> dict:
    return {"containerInstanceArn": arn, "position": position, "fails": len(lacks), "shortfall": shortfall,
            "lacks": [{"step": j, "requirement": rows[j].text, "detail": detail} for j, detail in lacks]}


# -- the fast computation -----------------------------------------------------------------------

def reasons(state: PlacementState, masks: Masks, demand: Demand, group: str, constraints,
            closest: int = CLOSEST) -> dict:
    """The explanation of an unplaced task over the state now (see the module docstring)."""
    c, store = state.c, state.store
    n = c.n
    alive = store.alive[:n].astype(bool)
    rows = requirements(demand, constraints)
    fail: list[np.ndarray] = []
    distinct = None
    for row in rows:
        if row.kind == "eligible":
            failing = c.array("eligible")[:n] == 0
        elif row.kind in RESOURCES:
            failing = c.array(row.kind)[:n] < row.needs
        elif row.kind == "ports":
            failing = c.ports_blocked(demand.ports)[:n].astype(bool) if demand.ports else np.zeros(n, dtype=bool)
        elif row.kind == "distinctInstance":
            distinct = state.group_count(state.group(group))[:n]
            failing = distinct > 0
        elif row.kind == "memberOf":
            failing = masks.mask(row.constraint).array[:n] == 0
        else:
            failing = ~masks.clause(row.expr)
        fail.append(failing & alive)

    # taken[j]: the instances leaf ``j`` removes in order (the first leaf requirement they fail)
    rest = alive.copy()
    taken: dict[int, np.ndarray] = {}
    failed = np.zeros(n, dtype=np.int16)         # leaf requirements failed, per instance
    for j, row in enumerate(rows):
        if row.leaf:
            taken[j] = rest & fail[j]
            rest &= ~fail[j]
            failed += fail[j]
    removed, fails_alone, before, absent = [], [], [], []
    for j, row in enumerate(rows):
        own = range(j + 1, j + row.clauses + 1) if row.clauses else (j,)
        removed.append(sum(int(np.count_nonzero(taken[i])) for i in own))
        fails_alone.append(int(np.count_nonzero(fail[j])))
        tally = {}
        if fails_alone[-1] != removed[-1]:
            for k in range(j):
                if k in taken:
                    hit = int(np.count_nonzero(fail[j] & taken[k]))
                    if hit:
                        tally[k] = hit
        before.append(tally)
        if row.attribute is not None:
            column = store.attributes.get(row.attribute)
            absent.append(removed[-1] if column is None or not removed[-1]
                          else int(np.count_nonzero(taken[j] & (column.codes[:n] == column.absent_code))))
        else:
            absent.append(None)
    instances = int(np.count_nonzero(alive))
    available = int(np.count_nonzero(rest))
    out = explanation(rows, removed, fails_alone, before, absent, instances, available,
                      _closest(state, demand, group, rows, fail, failed, alive, closest, distinct))
    k = 0
    for j, row in enumerate(rows):       # the old per-clause counts: of those the constraint removes
        if row.kind in ("memberOf", "distinctInstance"):
            if row.clauses:
                own = range(j + 1, j + row.clauses + 1)
                by_it = np.logical_or.reduce([taken[i] for i in own])
                out["constraints"][k]["clauses"] = [
                    {"clause": rows[i].text, "false": int(np.count_nonzero(by_it & fail[i]))} for i in own]
            k += 1
    return out


def _closest(state, demand, group, rows, fail, failed, alive, limit, distinct) -> list[dict]:
    """The ``limit`` closest instances: fewest failures, then smallest shortfall, then lowest
    position; the shortfall computed only for the instances of the levels (failure counts) read."""
    most = int(failed.max(initial=0))              # failed is 0 on rows that are not instances
    if limit <= 0 or not most:
        return []
    c = state.c
    resources = [(j, row) for j, row in enumerate(rows) if row.kind in RESOURCES and fail[j].any()]
    chosen: list[tuple[int, float]] = []
    wanted = limit
    for level in range(1, most + 1):                            # fewest failures first
        at = np.flatnonzero(failed == level)                    # in row order: fleet order
        if not len(at):
            continue
        shortfall = np.zeros(len(at), dtype=np.float64)
        others = np.full(len(at), level, dtype=np.int64)
        fraction = np.empty(len(at), dtype=np.float64)
        for j, row in resources:
            hit = fail[j][at]
            needed = row.needs
            if needed > 0:                  # min(1, (needed - remaining) / needed), as the reference
                np.subtract(needed, c.array(row.kind)[at], out=fraction, casting="unsafe")
                np.divide(fraction, float(needed), out=fraction)
                np.minimum(fraction, 1.0, out=fraction)
            else:
                fraction.fill(1.0)
            fraction[~hit] = 0.0
            shortfall += fraction
            others -= hit
        shortfall += others                                     # 1 per other requirement failed
        if len(at) > wanted:                                    # the ``wanted`` smallest, ties by position
            bound = np.partition(shortfall, wanted - 1)[wanted - 1]
            keep = np.concatenate([np.flatnonzero(shortfall < bound),
                                   np.flatnonzero(shortfall == bound)[:wanted - int((shortfall < bound).sum())]])
            at, shortfall = at[keep], shortfall[keep]
        order = np.lexsort((at, shortfall))
        chosen.extend(zip(at[order].tolist(), shortfall[order].tolist()))
        wanted -= len(at)
        if not wanted:
            break
    store = state.store
    picked = np.array([row for row, _ in chosen], dtype=np.int64)
    return [closest_entry(store.arns[row], position, short, _lacks(state, demand, group, rows, fail, row, distinct),
                          rows) for (row, short), position in zip(chosen, store.logical(picked).tolist())]


def _lacks(state, demand, group, rows, fail, row_index: int, distinct) -> list[tuple[int, str]]:
    """What one instance lacks, per failed leaf requirement, in words."""
    c, store = state.c, state.store
    out = []
    for j, row in enumerate(rows):
        if not row.leaf or not fail[j][row_index]:
            continue
        if row.kind == "eligible":
            status = store.status.value_at(row_index)
            agent = store.agent_connected.value_at(row_index)
            detail = eligible_detail(None if status is ABSENT else status, None if agent is ABSENT else agent)
        elif row.kind in RESOURCES:
            detail = resource_detail(row.kind, row.needs, int(c.array(row.kind)[row_index]))
        elif row.kind == "ports":
            detail = _ports_detail(state, demand, row_index)
        elif row.kind == "distinctInstance":
            detail = distinct_detail(int(distinct[row_index]), group)
        else:
            detail = constraint_detail(row.text, [(f, _value(state, f, row_index)) for f in row.fields
                                                  if f.kind in SHOWN_FIELDS], row.all_shown)
        out.append((j, detail))
    return out


def _ports_detail(state, demand: Demand, row: int) -> str:
    """The ports part of one instance's shortfall (``ports_detail``). The C state answers "is this
    port in use there" and "does a task with these ports fit rows 0..r" (``blocked``), so: the
    static ports in use are asked one by one; the range is asked with a demand of dynamic ports
    only, as many as the task's plus its own static ports inside the range (those would take range
    ports too); the 100-port limit is what is left when neither explains a failure (naming it next
    to another cause would need a scan of the state's ports)."""
    c = state.c
    static = demand.static_ports
    dynamic = len(demand.ports) - len(static)
    in_use = [p for p in static if c.in_use(row, p)]
    short = bool(dynamic) and bool(c.ports.blocked(row + 1, [0] * (dynamic + own_in_range(state.ephemeral, static)))[row])
    return ports_detail(in_use, bool(static) and not in_use and not short, dynamic, short, state.ephemeral)


def _value(state, field: Field, row: int):
    """The value of ``field`` on physical ``row`` now (ABSENT / VALUELESS as in placement.values)."""
    store = state.store
    if field.kind is Kind.RUNNING_TASKS:
        return int(state.c.array("running")[row])
    column = store.attributes.get(field.name) if field.kind is Kind.ATTRIBUTE else store.instance_id
    return ABSENT if column is None else column.value_at(row)
