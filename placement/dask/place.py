"""Placement over a partitioned fleet: partitions propose, the driver merges and commits.

Input: a dask DataFrame fleet (the ``Fleet.from_arrow`` layout; the fleet is its partitions'
rows in partition order), one demand, a group, constraints and a strategy chain. Output: a
``PartitionedPlacement``, the instance of each task in task order, as the local placer gives it.

**The equivalence guaranteed.** For a strategy chain of ``binpack(cpu|memory)`` and
``spread(instanceId|host|attribute:NAME)``, in any order and number; constraints ``memberOf``
(any expression, including those that read placed state: ``runningTasksCount``, ``task:group``)
and ``distinctInstance``; a demand of cpu, memory, GPUs and *static* host ports: the tasks land on
the same instances in the same order, and as many are left unplaced, as
``Placer(fleet, strategies).place(count, cpu, memory, gpu, ports, group, constraints)`` on the
concatenated fleet (ties by position, the default). Refused with an ``InputError``: ``random``
(its draw indexes the whole fleet's candidate list: a round trip per draw), dynamic host ports
(port 0: a dynamic port is assigned on the instance but, unlike a static one, does not count
toward the 100 reserved ports, which a partition replaying the commits as tasks cannot tell
apart). An unplaced task's reasons are not merged (``reasons`` lists the last partition funnels).

**Why it is exact.** The local placer takes, task after task, the instance with the smallest
key (k1, ..., kn, position) among those that fit and satisfy the constraints. Every component is
the instance's own state (its remaining cpu / memory, its tasks of the group, whether it fits
and satisfies the constraints) except ``spread(attribute:NAME)``, whose count is over every
instance sharing the value, in every partition. So each partition splits its rows into
*buckets* (one per combination of the values of the chain's attribute spreads; absent and
value-less are values of their own) and proposes, per bucket, the sequence the local placer
makes on that bucket alone with the whole chain: inside a bucket the attribute-spread counts
are equal for every instance, so they order nothing, and the sequence depends only on the
bucket's own instances, which no other bucket's placement changes. With each proposal goes its
local components at the time of each choice, and with the first answer each bucket's count of
the group's tasks (on all its instances: draining and filtered-out ones count, SPEC 2). The
driver keeps the attribute-spread counts of the whole fleet, builds each bucket head's full key
from them, commits the smallest (keys compare with (partition, row) last, which is fleet
position), advances that head and adds one to its bucket's counts. Every head stays valid, so
one round trip places the whole batch when each bucket may propose as many tasks as the batch
has (the default); with ``per_bucket=K`` a bucket whose K proposals are used up (and that could
place more) is asked again with the commits so far: one more round trip each time, which is
where the cost of exactness shows (``benchmarks/dask``).

Cost: each round trip runs, per partition, a fleet built from the partition (cached per worker
process and session) with the commits replayed as tasks, and one local placer per bucket.
"""
from __future__ import annotations

import collections
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from placement.dask.cluster import current_client
from placement.dask.frame import _frame, partition_table
from placement.errors import InputError
from placement.fleet.model import Fleet
from placement.place.placer import Placer
from placement.place.requests import (Binpack, Demand, DistinctInstance, MemberOf, Random, Spread, check_request,
                                      listed, task_count)
from placement.values import ABSENT, VALUELESS

_BASES: collections.OrderedDict = collections.OrderedDict()     # (session, partition) -> Columns
_BASES_KEPT = 64
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Request:
    cpu: int
    memory: int
    gpu: int
    ports: tuple
    group: str
    constraints: tuple
    strategies: tuple

    @property
    def attribute_fields(self) -> tuple[str, ...]:
        """The attributes the chain spreads over, each once, in chain order."""
        return tuple(dict.fromkeys(s.attribute for s in self.strategies
                                   if isinstance(s, Spread) and not s.per_instance))


# -- the worker side ------------------------------------------------------------------------------

def _base(frame, session: str, index: int):
    """The partition's columns, built once per worker process and placement session."""
    key = (session, index)
    with _LOCK:
        found = _BASES.get(key)
        if found is not None:
            _BASES.move_to_end(key)
            return found
    columns = Fleet.from_arrow(partition_table(frame)).columns
    with _LOCK:
        _BASES[key] = columns
        while len(_BASES) > _BASES_KEPT:
            _BASES.popitem(last=False)
    return columns


def _token(value):
    return ("absent",) if value is ABSENT else ("valueless",) if value is VALUELESS else ("value", value)


def _buckets(columns, fields: tuple[str, ...]) -> tuple[list[tuple], np.ndarray]:
    """The bucket of every row: (distinct value tuples, the index of each row's tuple)."""
    n = len(columns)
    if not fields:
        return [()], np.zeros(n, dtype=np.int64)
    codes, decode = [], []
    for name in fields:
        column = columns.attributes.get(name)
        if column is None:
            codes.append(np.zeros(n, dtype=np.int64))
            decode.append(lambda code: ("absent",))
        else:
            codes.append(column.codes.astype(np.int64))
            decode.append(lambda code, column=column: _token(column.value_of(int(code))))
    combined, which = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
    return ([tuple(d(code) for d, code in zip(decode, row)) for row in combined.tolist()],
            np.asarray(which, dtype=np.int64).reshape(-1))


def _group_counts(columns, group: str) -> np.ndarray:
    """Per row, the tasks of ``group`` it runs."""
    groups = columns.groups
    out = np.zeros(len(columns), dtype=np.int64)
    if group in groups.dictionary:
        code = groups.dictionary.index(group)
        rows = np.repeat(np.arange(len(columns)), np.diff(groups.offsets))
        hit = groups.codes == code
        np.add.at(out, rows[hit], groups.counts[hit])
    return out


def propose(frame, session: str, index: int, request: _Request, commits: list[int], wanted, want: int) -> dict:
    """One partition's answer: its size, each bucket's count of the group's tasks, and per bucket
    asked (``wanted``; None: all) the local placer's sequence of up to ``want`` tasks there, each
    with its local key components (attribute spreads: 0, the driver's to fill) and ARN."""
    fleet = Fleet(_base(frame, session, index))
    arns = fleet.columns.arns
    r = request
    for row in commits:                         # the batch's tasks committed here so far
        fleet.start_task(arns[row], r.group, cpu=r.cpu, memory=r.memory, gpu=r.gpu, ports=r.ports)
    now = fleet.columns
    names, which = _buckets(now, r.attribute_fields)
    tasks = _group_counts(now, r.group)
    census = dict(zip(names, np.bincount(which, weights=tasks, minlength=len(names)).astype(np.int64).tolist()))
    asked = range(len(names)) if wanted is None else [names.index(b) for b in wanted if b in names]
    remaining = {"cpu": now.resources["remaining_cpu"].copy(), "memory": now.resources["remaining_memory"].copy()}
    proposals = {}
    for k in asked:
        rows = np.flatnonzero(which == k)
        placed = Placer(Fleet(now.take(rows)), list(r.strategies)).place(
            count=want, cpu=r.cpu, memory=r.memory, gpu=r.gpu, ports=r.ports, group=r.group,
            constraints=list(r.constraints))
        sequence = []
        for row in rows[placed.positions].tolist():
            key = tuple(int(remaining[s.resource][row]) if isinstance(s, Binpack)
                        else int(tasks[row]) if s.per_instance else 0 for s in r.strategies)
            sequence.append((key, row, arns[row]))
            remaining["cpu"][row] -= r.cpu
            remaining["memory"][row] -= r.memory
            tasks[row] += 1
        proposals[names[k]] = (sequence, placed.unplaced > 0, placed.reasons if placed.unplaced else None)
    return {"rows": len(now), "census": census, "proposals": proposals}


# -- the driver side ------------------------------------------------------------------------------

@dataclass
class PartitionedPlacement:
    """Where each task went (``positions`` in the concatenated fleet, ``arns``), how many were
    left unplaced, and what it cost: ``rounds`` round trips, ``proposed`` sequence entries sent."""

    positions: np.ndarray
    arns: list[str]
    unplaced: int
    rounds: int
    proposed: int
    partitions: int
    seconds: float
    round_seconds: list[float] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)      # per partition, where a task was left unplaced

    def to_json(self) -> dict:
        return {"placements": [{"task": k, "position": int(p), "containerInstanceArn": a}
                               for k, (p, a) in enumerate(zip(self.positions.tolist(), self.arns))],
                "unplaced": self.unplaced, "rounds": self.rounds, "proposed": self.proposed,
                "partitions": self.partitions, "seconds": self.seconds}


def _checked(count, cpu, memory, gpu, ports, group, constraints, strategies, per_bucket) -> _Request:
    """The request as the local placer checks it (the same bounds, None ports as none), plus
    what placement over partitions cannot do exactly."""
    count = task_count(count)
    demand = Demand(cpu, memory, gpu, () if ports is None else listed(ports, "ports"))
    if not isinstance(group, str) or not group:
        raise InputError("a task needs a group (e.g. service:web or family:batch)")
    strategies = () if strategies is None or isinstance(strategies, (str, bytes)) else listed(strategies, "strategies")
    if not strategies:
        raise InputError("placement over partitions needs its strategies (binpack and spread), "
                         "e.g. ecs_service_default()")
    constraints = listed(constraints, "constraints")
    check_request(constraints, strategies)
    if any(isinstance(s, Random) for s in strategies):
        raise InputError("random does not go with placement over partitions: its draw ranges over the whole "
                         "fleet's candidates (a round trip per draw); use binpack or spread, or the local Placer")
    if any(not isinstance(c, (MemberOf, DistinctInstance)) for c in constraints):
        raise InputError("constraints are memberOf and distinctInstance")
    ports = demand.ports
    if 0 in ports:
        raise InputError("placement over partitions takes static host ports (1 to 65535); a dynamic port (0) "
                         "is assigned by the local Placer")
    if per_bucket is not None and (not isinstance(per_bucket, int) or isinstance(per_bucket, bool) or per_bucket < 1):
        raise InputError(f"per_bucket must be a positive integer or None, got {per_bucket!r}")
    return _Request(demand.cpu, demand.memory, demand.gpu, ports, group, constraints, strategies)


def place(ddf, *, count: int = 1, cpu: int = 0, memory: int = 0, gpu: int = 0, ports=(), group: str,
          constraints=(), strategies, per_bucket: int | None = None, client=None) -> PartitionedPlacement:
    """Place ``count`` tasks on the partitioned fleet ``ddf``, equal to the local placer on the
    concatenated fleet (see the module docstring for the chains and constraints this covers).
    ``per_bucket``: at most this many proposals per partition and bucket a round trip (default:
    the whole batch, one round trip)."""
    import dask
    request = _checked(count, cpu, memory, gpu, ports, group, constraints, strategies, per_bucket)
    ddf = _frame(ddf)
    client = current_client(client)
    began = time.perf_counter()
    kept = client.persist(ddf) if client is not None else ddf.persist()
    parts = kept.to_delayed()
    session = uuid.uuid4().hex
    fields = request.attribute_fields
    slots = {s: fields.index(s.attribute) for s in request.strategies if isinstance(s, Spread) and not s.per_instance}
    chain = [(j, slots.get(s)) for j, s in enumerate(request.strategies)]
    commits: list[list[int]] = [[] for _ in parts]
    heads: dict[tuple[int, tuple], list] = {}           # (partition, bucket) -> [sequence, next, done]
    counts: list[collections.Counter] = [collections.Counter() for _ in fields]
    reasons: dict[int, dict] = {}
    rows = [0] * len(parts)
    rounds, proposed, round_seconds = 0, 0, []
    positions: list[tuple[int, int]] = []
    arns: list[str] = []

    def ask(asked: dict[int, list | None]) -> None:
        nonlocal rounds, proposed
        started = time.perf_counter()
        want = count - len(positions) if per_bucket is None else min(per_bucket, count - len(positions))
        jobs = [dask.delayed(propose, pure=False)(parts[i], session, i, request, list(commits[i]), wanted, want)
                for i, wanted in asked.items()]
        answers = client.gather(client.compute(jobs)) if client is not None else dask.compute(*jobs)
        for i, answer in zip(asked, answers):
            if rounds == 0:
                rows[i] = answer["rows"]
                for bucket, tasks in answer["census"].items():
                    for slot, token in enumerate(bucket):
                        counts[slot][token] += tasks
            for bucket, (sequence, done, why) in answer["proposals"].items():
                heads[(i, bucket)] = [sequence, 0, done]
                proposed += len(sequence)
                if why is not None:
                    reasons[i] = why
        rounds += 1
        round_seconds.append(time.perf_counter() - started)

    if count and parts:
        ask({i: None for i in range(len(parts))})
    while len(positions) < count:
        best, best_key, need = None, None, {}
        for (i, bucket), head in heads.items():
            sequence, at, done = head
            if at < len(sequence):
                local, row, _ = sequence[at]
                key = (*(local[j] if slot is None else counts[slot][bucket[slot]] for j, slot in chain), i, row)
                if best_key is None or key < best_key:
                    best, best_key = (i, bucket), key
            elif not done:
                need.setdefault(i, []).append(bucket)
        if need:
            ask(need)
            continue
        if best is None:
            break
        i, bucket = best
        head = heads[best]
        _, row, arn = head[0][head[1]]
        head[1] += 1
        commits[i].append(row)
        positions.append((i, row))
        arns.append(arn)
        for slot, token in enumerate(bucket):
            counts[slot][token] += 1
    offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
    placed = np.array([offsets[i] + row for i, row in positions], dtype=np.int64)
    del kept
    return PartitionedPlacement(placed, arns, count - len(positions), rounds, proposed, len(parts),
                                time.perf_counter() - began, round_seconds, [reasons[i] for i in sorted(reasons)])
