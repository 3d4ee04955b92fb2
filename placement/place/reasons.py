"""Why a task could not be placed: how many instances each requirement removes, in order (SPEC 2):
eligibility, cpu, memory, GPUs, ports, then each constraint (for an ``and``, how many of those
each clause rejects). Computed from the placement state and the compiled masks, vectorised over
the fleet; the reference placer counts the same things one instance at a time.
"""
from __future__ import annotations

import numpy as np

from placement.lang import ast
from placement.place.masks import Masks
from placement.place.requests import Demand, DistinctInstance, MemberOf
from placement.place.state import PlacementState


def and_clauses(constraint) -> list:
    """(text, typed clause) for each operand of a memberOf whose expression is an ``and``: the
    clauses whose failures reasons count (both placers)."""
    if not isinstance(constraint, MemberOf):
        return []
    predicate = constraint.predicate
    if not isinstance(predicate.tree, ast.And):
        return []
    return [(ast.to_text(node), typed) for node, typed in zip(predicate.tree.operands, predicate.ir.operands)]


def reasons(state: PlacementState, masks: Masks, demand: Demand, group: str, constraints) -> dict:
    """How many instances each step removes now (the same counts as the reference placer)."""
    c = state.c
    n = c.n
    alive = state.store.alive[:n].astype(bool)
    out: dict = {"instances": int(alive.sum())}

    def remove(failing: np.ndarray) -> np.ndarray:
        """Take the instances still in that fail this step; return which they were."""
        nonlocal alive
        hit = alive & failing
        alive = alive & ~failing
        return hit

    out["ineligible"] = int(remove(c.array("eligible")[:n] == 0).sum())
    for name in ("cpu", "memory", "gpu"):
        out[name] = int(remove(c.array(name)[:n] < getattr(demand, name)).sum())
    blocked = c.ports_blocked(demand.ports) if demand.ports else None
    out["ports"] = int(remove(blocked.astype(bool)).sum()) if blocked is not None else 0
    entries = []
    for constraint in constraints:
        if isinstance(constraint, DistinctInstance):
            taken = state.group_count(state.group(group))[:n] > 0
            entries.append({"constraint": str(constraint), "removed": int(remove(taken).sum())})
            continue
        hit = remove(masks.mask(constraint).array[:n] == 0)
        entry = {"constraint": str(constraint), "removed": int(hit.sum())}
        clauses = and_clauses(constraint)
        if clauses:
            entry["clauses"] = [{"clause": text, "false": int((hit & ~masks.clause(typed)).sum())}
                                for text, typed in clauses]
        entries.append(entry)
    out["constraints"] = entries
    return out
