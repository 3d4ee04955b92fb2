"""Traces: the project's JSON Lines format (SPEC 4, "Traces") and converters of real traces into it.

A trace is tasks with an arrival, a departure and a demand, one JSON object a line::

    {"id": "t1", "arrival": 12.0, "departure": 80.5, "cpu": 1024, "memory": 2048, "gpu": 0,
     "group": "family:train", "constraints": [{"type": "memberOf", "expression": "..."}]}

``departure`` null runs to the end; ``gpu`` (0), ``group`` (``family:trace``) and ``constraints``
(none) are optional. Reading is strict, because a replay of a silently misread trace reports
numbers about a load nobody offered: an unknown or missing field, a wrong type, a negative demand,
a repeated id or a bad constraint is an ``InputError`` naming the line and the field. A departure
before the arrival is allowed (the replay places and frees such a task at once).

``convert_alibaba_gpu`` maps the Alibaba GPU trace (cluster-trace-gpu-v2023) onto ECS exactly as
``../shared/traces/README.md`` says; the choices that mapping leaves open are stated in
``ALIBABA_NOTES`` (printed by ``placement trace`` and repeated in the README).
"""
from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

from placement.errors import InputError, PlacementError
from placement.place.requests import MAX_AMOUNT, MemberOf, constraints_from_json
from placement.place.result import SplitMix64

DEFAULT_GROUP = "family:trace"
FIELDS = ("id", "arrival", "departure", "cpu", "memory", "gpu", "group", "constraints")
REQUIRED = ("id", "arrival", "departure", "cpu", "memory")


@dataclass(frozen=True)
class TraceTask:
    """One task of a trace: ``line`` is where it was read (0 when made in code)."""

    id: str
    arrival: float
    departure: float | None
    cpu: int
    memory: int
    gpu: int = 0
    group: str = DEFAULT_GROUP
    constraints: tuple = ()
    line: int = 0

    def to_json(self) -> dict:
        out = {"id": self.id, "arrival": self.arrival, "departure": self.departure,
               "cpu": self.cpu, "memory": self.memory, "gpu": self.gpu}
        if self.group != DEFAULT_GROUP:
            out["group"] = self.group
        if self.constraints:
            out["constraints"] = [c.to_json() for c in self.constraints]
        return out


def task_seed(run_seed: int, index: int) -> int:
    """The seed of the placement draws of the trace's task ``index`` (a replay rule both replays
    share): the ``index + 1``-th output of SplitMix64(run_seed). One seed per task, whatever the
    attempt, so a retry that cannot succeed changes nothing."""
    rng = SplitMix64(run_seed)
    rng.state = (rng.state + index * 0x9E3779B97F4A7C15) & SplitMix64.MASK
    return rng.next()


def task_seeds(run_seed: int, count: int) -> list[int]:
    """``[task_seed(run_seed, i) for i in range(count)]``, computed as arrays (uint64 wraps as the
    generator's arithmetic does)."""
    import numpy as np
    z = np.uint64(run_seed & SplitMix64.MASK) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))).tolist()


# -- reading and writing ------------------------------------------------------------------------

def read_trace(path) -> list[TraceTask]:
    """The tasks of a JSON Lines trace file, in trace order."""
    try:
        with open(path, encoding="utf-8") as file:
            return parse_trace(file, str(path))
    except OSError as error:
        raise InputError(f"cannot read trace {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"trace {str(path)!r} is not UTF-8 text: {error.reason}") from None


def parse_trace(lines: Iterable[str], name: str = "trace") -> list[TraceTask]:
    """The tasks of JSON Lines text (an iterable of lines); blank lines are skipped."""
    tasks: list[TraceTask] = []
    seen: dict[str, int] = {}
    constraints_seen: dict[str, tuple] = {}         # the same constraints, read and compiled once
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        task = _task(text, number, name, constraints_seen)
        first = seen.setdefault(task.id, number)
        if first != number:
            raise InputError(f"{name} line {number}: id {task.id!r} is already the id of line {first}")
        tasks.append(task)
    return tasks


def write_trace(tasks: Iterable[TraceTask], path) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.writelines(json.dumps(task.to_json()) + "\n" for task in tasks)


_Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    """A line as msgspec decodes it, typed (the fast path; ``_explained`` words its errors)."""

    id: str
    arrival: float
    departure: float | None
    cpu: _Amount
    memory: _Amount
    gpu: _Amount = 0
    group: str = DEFAULT_GROUP
    constraints: list | None = None


_DECODE = msgspec.json.Decoder(_Line).decode


def _task(text: str, number: int, name: str, constraints_seen: dict) -> TraceTask:
    try:
        item = _DECODE(text)
    except msgspec.DecodeError as error:
        where = f"{name} line {number}"
        _explained(text, where, constraints_seen)
        raise InputError(f"{where}: {error}") from None     # what the checks below do not word
    if not item.id or not item.group or not math.isfinite(item.arrival) or \
            (item.departure is not None and not math.isfinite(item.departure)):
        _explained(text, f"{name} line {number}", constraints_seen)
    constraints = () if not item.constraints else _constraints(item.constraints, f"{name} line {number}",
                                                               constraints_seen)
    return TraceTask(item.id, item.arrival, item.departure, item.cpu, item.memory, item.gpu, item.group,
                     constraints, number)


def _explained(text: str, where: str, constraints_seen: dict) -> None:
    """Read the line field by field, for an ``InputError`` that names the line and the field."""
    try:
        item = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: not JSON ({error.msg} at character {error.pos + 1})") from None
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a JSON object (one task), got {type(item).__name__}")
    unknown = [key for key in item if key not in FIELDS]
    if unknown:
        raise InputError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    missing = [key for key in REQUIRED if key not in item]
    if missing:
        hint = " (null if the task runs to the end)" if missing[0] == "departure" else ""
        raise InputError(f"{where}: missing field {missing[0]!r}{hint}")
    task_id = item["id"]
    if not isinstance(task_id, str) or not task_id:
        raise InputError(f"{where}: 'id' must be a non-empty string, got {task_id!r}")
    _time(item["arrival"], "arrival", where)
    if item["departure"] is not None:
        _time(item["departure"], "departure", where)
    for field in ("cpu", "memory", "gpu"):
        if field in item:
            _amount(item[field], field, where)
    group = item.get("group", DEFAULT_GROUP)
    if not isinstance(group, str) or not group:
        raise InputError(f"{where}: 'group' must be a non-empty string such as family:train, got {group!r}")
    _constraints(item.get("constraints") or [], where, constraints_seen)


def _time(value, field: str, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}: {field!r} must be a number of seconds, got {value!r}")


def _amount(value, field: str, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AMOUNT:
        raise InputError(f"{where}: {field!r} must be a whole number from 0 to {MAX_AMOUNT:,}, got {value!r}")


def _constraints(items, where: str, seen: dict) -> tuple:
    key = msgspec.json.encode(items)
    found = seen.get(key)
    if found is None:
        try:
            found = tuple(constraints_from_json(items, "'constraints'"))
            for k, constraint in enumerate(found):
                if isinstance(constraint, MemberOf):
                    try:                                    # compiled now: a bad expression is this line's error
                        _ = constraint.predicate
                    except PlacementError as error:
                        raise InputError(f"'constraints'[{k}]: {constraint.expression!r}: {error.message}") from None
        except InputError as error:
            raise InputError(f"{where}: {error.message}") from None
        seen[key] = found
    return found


# -- the Alibaba GPU trace (cluster-trace-gpu-v2023) ---------------------------------------------

ZONE_REGION = "us-east-1"
MAX_ZONES = 26
ARN_PREFIX = "arn:aws:ecs:us-east-1:000000000000:container-instance/alibaba-gpu-v2023/"
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
TASK_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
TIME_COLUMNS = ("creation_time", "deletion_time")
ALIBABA_NOTES = (
    "every row is used, whatever its pod_phase",
    ("a machine's cpu is cpu_milli / 1000 x 1024 units (rounded down), its memory memory_mib MiB, its GPUs gpu;"
     " attribute gpu-model holds its model (absent when empty); status ACTIVE, agent connected, no tasks"),
    ("a task's cpu is ceil(cpu_milli x 1024 / 1000), its memory memory_mib, its GPUs num_gpu;"
     " a task sharing a GPU (num_gpu 1, gpu_milli < 1000) takes one whole GPU (ECS has no fractional GPUs)"),
    "a non-empty gpu_spec becomes memberOf(attribute:gpu-model in [A, B]) (repeated types listed once)",
    ("a task arrives at creation_time and departs at deletion_time (an empty deletion_time: runs to the end);"
     " a file without those columns (the multigpu50 sample) arrives one task a second in row order, never departing"),
    "every task is in the group family:trace (the trace names no services)",
)


@dataclass(frozen=True)
class Converted:
    """A converted trace: the fleet as describe-container-instances JSON, the tasks, and what was assumed."""

    fleet: dict
    tasks: list[TraceTask]
    zones: str                      # how zones were assigned, in words
    notes: tuple[str, ...]


def convert_alibaba_gpu(nodes, tasks, *, zones: int = 3, seed: int | None = None,
                        saturate: bool = False) -> Converted:
    """The Alibaba GPU trace as an ECS fleet and a trace (SPEC 4 and ``../shared/traces/README.md``).
    Zones ``us-east-1a`` ... are dealt round-robin in machine order, or drawn with ``seed``
    (SplitMix64, the same on every Python); ``saturate`` drops every departure."""
    if not isinstance(zones, int) or not 1 <= zones <= MAX_ZONES:
        raise InputError(f"--zones takes 1 to {MAX_ZONES}, got {zones!r}")
    names = [f"{ZONE_REGION}{chr(ord('a') + k)}" for k in range(zones)]
    rng = None if seed is None else SplitMix64(seed)
    instances = []
    for k, row in enumerate(_csv_rows(nodes, NODE_COLUMNS)):
        where = row.pop("")
        cpu = _whole(row["cpu_milli"], "cpu_milli", where) * 1024 // 1000
        memory, gpu = _whole(row["memory_mib"], "memory_mib", where), _whole(row["gpu"], "gpu", where)
        if not row["sn"]:
            raise InputError(f"{where}: column 'sn' is empty (every machine needs a name)")
        zone = names[k % zones if rng is None else rng.choose(zones)]
        attributes = [{"name": "ecs.availability-zone", "value": zone}]
        if row["model"]:
            attributes.append({"name": "gpu-model", "value": row["model"]})
        resources = [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                     {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
                     {"name": "GPU", "type": "INTEGER", "integerValue": gpu},
                     {"name": "PORTS", "type": "STRINGSET", "stringSetValue": []}]
        instances.append({"containerInstanceArn": ARN_PREFIX + row["sn"], "ec2InstanceId": row["sn"],
                          "status": "ACTIVE", "agentConnected": True, "runningTasksCount": 0,
                          "pendingTasksCount": 0, "attributes": attributes,
                          "registeredResources": resources, "remainingResources": resources})
    out: list[TraceTask] = []
    seen: dict[str, str] = {}
    for k, row in enumerate(_csv_rows(tasks, TASK_COLUMNS)):
        where = row.pop("")
        if not row["name"]:
            raise InputError(f"{where}: column 'name' is empty (every task needs a name)")
        if row["name"] in seen:
            raise InputError(f"{where}: task {row['name']!r} is already named at {seen[row['name']]}")
        seen[row["name"]] = where
        timed = "creation_time" in row
        arrival = float(_whole(row["creation_time"], "creation_time", where)) if timed else float(k)
        departure = None
        if timed and not saturate and row["deletion_time"] != "":
            departure = float(_whole(row["deletion_time"], "deletion_time", where))
        constraints = ()
        spec = [t for t in dict.fromkeys(row.get("gpu_spec", "").split("|")) if t]
        if spec:
            constraints = (MemberOf(f"attribute:gpu-model in [{', '.join(map(_literal, spec))}]"),)
        cpu = -(-_whole(row["cpu_milli"], "cpu_milli", where) * 1024 // 1000)          # rounded up
        out.append(TraceTask(row["name"], arrival, departure, cpu, _whole(row["memory_mib"], "memory_mib", where),
                             _whole(row["num_gpu"], "num_gpu", where), DEFAULT_GROUP, constraints))
    how = f"{zones} zones ({', '.join(names)}) " + \
          ("dealt round-robin in machine order" if rng is None else f"drawn at random with seed {seed}")
    return Converted({"containerInstances": instances}, out, how, ALIBABA_NOTES)


def _csv_rows(path, columns: tuple[str, ...]):
    """The rows of a CSV file as dicts (key ``""``: where the row is, for errors), its columns checked."""
    name = Path(path).name
    try:
        file = open(path, newline="", encoding="utf-8")     # noqa: SIM115 (an open error is worded apart)
    except OSError as error:
        raise InputError(f"cannot read {str(path)!r}: {error.strerror}") from None
    with file:
        reader = csv.DictReader(file)
        header = reader.fieldnames or []
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(f"{name}: no column {missing[0]!r} (found: {', '.join(header) or 'nothing'}); "
                             f"expected {', '.join(columns)}")
        timed = [c for c in TIME_COLUMNS if c in header]
        if len(timed) == 1:
            raise InputError(f"{name}: column {timed[0]!r} without {({*TIME_COLUMNS} - {*timed}).pop()!r}")
        try:
            for row in reader:
                if None in row or None in row.values():
                    raise InputError(f"{name} line {reader.line_num}: expected {len(header)} columns")
                row[""] = f"{name} line {reader.line_num}"
                yield row
        except csv.Error as error:
            raise InputError(f"{name} line {reader.line_num}: {error}") from None


def _whole(text: str, column: str, where: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise InputError(f"{where}: column {column!r} must be a whole number 0 or more, got {text!r}")
    return int(text)


_BARE = re.compile(r"[A-Za-z0-9_.:/-]+\Z")


def _literal(value: str) -> str:
    """A value as the cluster query language reads it back: bare when it can be, else quoted."""
    if _BARE.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# Demands of a GPU cluster's tasks, as (share, cpu units, MiB, GPUs): the shapes of the Alibaba
# trace's most frequent pods, rounded (``../shared/traces/README.md``).
SYNTHETIC_SHAPES = ((0.30, 4096, 16384, 0), (0.15, 8192, 32768, 0), (0.30, 8192, 30720, 1),
                    (0.12, 16384, 61440, 2), (0.08, 32768, 122880, 4), (0.05, 65536, 245760, 8))


def synthetic_trace(count: int, seed: int = 0, span: float = 3600.0, mean_runtime: float = 1200.0) -> list[TraceTask]:
    """``count`` tasks of a GPU cluster arriving evenly at random over ``span`` seconds, with
    exponential run times of ``mean_runtime`` and the demands of ``SYNTHETIC_SHAPES``; drawn with
    SplitMix64, so the same seed gives the same trace everywhere (tests and built-in scenarios)."""
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 10_000_000:
        raise InputError(f"a synthetic trace has 0 to 10,000,000 tasks, got {count!r}")
    rng = SplitMix64(seed)

    def uniform() -> float:
        return ((rng.next() >> 11) + 0.5) / 2.0**53

    arrivals = sorted(round(span * uniform(), 3) for _ in range(count))
    tasks = []
    for k, arrival in enumerate(arrivals):
        pick, total = uniform(), 0.0
        for share, cpu, memory, gpu in SYNTHETIC_SHAPES:
            total += share
            if pick < total:
                break
        departure = round(arrival - mean_runtime * math.log(uniform()), 3)
        tasks.append(TraceTask(f"task-{k:06d}", arrival, departure, cpu, memory, gpu))
    return tasks
