"""Scale-in (SPEC 2b): which tasks of a group to stop, one at a time with the state updated.

The placement strategies read the other way round: ``spread`` stops in the bucket with the most
tasks of the group, ``binpack`` on the instance that has the most of the resource after the stop,
``random`` draws among the tied instances' tasks; no strategy is the ECS service scheduler's
rule (the zone with the most tasks, then the instance with the most). Instances that are not
ACTIVE go first; remaining ties go to the highest position; on the chosen instance its last task
of the group stops. The ranking is ``_ranker``'s, built for the call: a ``TreeIndex`` in stop
mode, or the scan when the chain draws.
"""
from __future__ import annotations

import os

import numpy as np

from placement.errors import InputError, preview
from placement.place.indexes import Indexes, Kind
from placement.place.requests import MAX_TASKS, Random, Spread, check_request, ecs_service_default, listed, seed_value
from placement.place.result import Stop, StopResult


def select_to_stop(indexes: Indexes, group: str, count: int, strategies=None, seed: int | None = None) -> StopResult:
    if not isinstance(group, str) or not group:
        raise InputError("scale-in needs the task group, e.g. service:web")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_TASKS:
        raise InputError(f"count must be an integer from 0 to {MAX_TASKS:,}, got {preview(count)}")
    strategies = listed(strategies, "strategies") if strategies is not None else ()
    strategies = strategies or tuple(ecs_service_default())
    check_request((), strategies)
    seed = seed_value(seed)
    state = indexes.state
    state.sync()
    kind = Kind(state, indexes.masks, group, (), strategies, stop=True)
    index = indexes.build(kind, stop=True)
    draws = any(isinstance(s, Random) for s in strategies)
    if draws:
        seed = int.from_bytes(os.urandom(8), "little") if seed is None else seed
        (numbers, rows, origins), _ = index.stop_tasks(count, seed)
    else:
        numbers, rows, origins = index.stop_tasks(count)
    arns, positions = state.store.arns, state.store.logical(rows)
    stops = tuple(Stop(state.task_id(t, origin), arns[r], p) for t, r, origin, p in
                  zip(numbers.tolist(), rows.tolist(), origins.tolist(), positions.tolist()))
    indexes.trim_log()
    return StopResult(stops, count - len(stops), remaining(state, kind, strategies), seed if draws else None)


def remaining(state, kind: Kind, strategies) -> dict:
    """Tasks of the group left, in all and per bucket of each spread attribute of the chain."""
    n = state.c.n
    counts = kind.group_count[:n]
    out: dict = {"tasks": int(counts.sum())}
    for strategy in strategies:
        if isinstance(strategy, Spread) and not strategy.per_instance:
            column = state.store.attributes.get(strategy.attribute)
            if column is None:
                out[strategy.field] = {"(absent)": out["tasks"]} if out["tasks"] else {}
                continue
            per_code = np.bincount(column.codes[:n], weights=counts, minlength=len(column.values) + 2)
            labels = {column.absent_code: "(absent)", column.absent_code + 1: "(value-less)"}
            out[strategy.field] = dict(sorted(
                (labels.get(code) or column.value_at_code(code), int(per_code[code]))
                for code in np.flatnonzero(per_code).tolist()))
    return out
