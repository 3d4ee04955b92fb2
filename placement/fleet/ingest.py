"""Fleet ingest: ECS JSON documents -> ``Columns``. Validates at the boundary, so every later
stage can trust its input: a malformed document is an ``InputError`` naming the instance and the
field, never a traceback.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from placement import values
from placement.errors import InputError
from placement.fleet.columns import Columns, DictionaryColumn, GroupColumn, TaskRecords, code_dtype
from placement.values import INT_ABSENT, VALUELESS, pack_version


NUMBERS = ("agent_version", "registered_at", "running_tasks", *Columns.RESOURCES)


@dataclass(slots=True)
class InstanceRecord:
    """One container instance as read from ECS JSON, checked: what a fleet row holds."""

    arn: str
    instance_id: str | None
    status: str | None
    connected: bool | None
    numbers: dict[str, int]                 # NUMBERS
    attributes: list[tuple[str, object]]    # (name, value or VALUELESS)
    ports: frozenset[int]


def instance_records(instances) -> list[InstanceRecord]:
    """The instances of a describe-container-instances document (or list), each checked."""
    records = [_instance(row, record)
               for row, record in enumerate(_items(instances, "containerInstances", "describe-container-instances"))]
    arns = [record.arn for record in records]
    if len(set(arns)) != len(arns):
        seen: set[str] = set()
        duplicate = next(i for i, arn in enumerate(arns) if arn in seen or seen.add(arn))
        raise InputError(f"containerInstances[{duplicate}]: duplicate containerInstanceArn {arns[duplicate]!r}")
    return records


def _instance(row: int, record) -> InstanceRecord:
    where = _Where(row, record)
    arn = where.get(record, "containerInstanceArn", str)
    if not arn:
        raise where.error("containerInstanceArn", "is missing")
    count = where.get(record, "runningTasksCount", int, 0)
    if count < 0:
        raise where.error("runningTasksCount", f"must not be negative, got {count}")
    version = where.get(where.get(record, "versionInfo", dict, {}), "agentVersion", str)
    # An agent version we cannot read compares as absent, like a non-numeric attribute.
    numbers = {"running_tasks": count, "agent_version": pack_version(values.parse_version(version) if version else None),
               "registered_at": _registered_at(where, record.get("registeredAt"))}
    in_use: frozenset[int] = frozenset()
    for prefix, field in (("remaining", "remainingResources"), ("registered", "registeredResources")):
        amounts, ports = _resources(where, record, field)
        for resource in ("cpu", "memory", "gpu"):
            numbers[f"{prefix}_{resource}"] = amounts[resource.upper()]
        if prefix == "remaining":
            in_use = ports
    return InstanceRecord(arn, where.get(record, "ec2InstanceId", str), where.get(record, "status", str),
                          where.get(record, "agentConnected", bool), numbers,
                          _attributes(where, where.get(record, "attributes", list, [])), in_use)


_NO_TASKS = TaskRecords((), np.zeros(0, dtype=np.int64), (), *(np.zeros(0, dtype=np.int64),) * 3, ())


def tasks_on(records: list[InstanceRecord], tasks, first_row: int = 0) -> TaskRecords:
    """The RUNNING tasks of a describe-tasks document on these instances (rows from ``first_row``)."""
    if tasks is None:
        return _NO_TASKS
    return _tasks(tasks, {record.arn: first_row + row for row, record in enumerate(records)})


def columns_from_ecs(instances, tasks=None) -> Columns:
    records = instance_records(instances)
    n = len(records)
    attributes: dict[str, tuple[list[int], list]] = defaultdict(lambda: ([], []))
    for row, record in enumerate(records):
        for name, value in record.attributes:
            rows, items = attributes[name]
            rows.append(row)
            items.append(value)
    numbers = {name: np.fromiter((r.numbers[name] for r in records), dtype=np.int64, count=n) for name in NUMBERS}
    running = tasks_on(records, tasks)
    group_names = tuple(sorted(set(running.groups)))
    lookup = {g: i for i, g in enumerate(group_names)}
    group_codes = np.array([lookup[g] for g in running.groups], dtype=np.int64)
    return Columns(
        arns=tuple(r.arn for r in records),
        instance_id=DictionaryColumn.from_values([r.instance_id for r in records]),
        status=DictionaryColumn.from_values([r.status for r in records]),
        agent_connected=DictionaryColumn.from_values([r.connected for r in records]),
        agent_version=numbers["agent_version"], registered_at=numbers["registered_at"],
        running_tasks=numbers["running_tasks"],
        attributes=MappingProxyType({name: _sparse_column(n, rows, items)
                                     for name, (rows, items) in sorted(attributes.items())}),
        groups=GroupColumn.from_tasks(n, running.rows, group_codes, group_names),
        resources=MappingProxyType({name: numbers[name] for name in Columns.RESOURCES}),
        ports=tuple(r.ports for r in records), tasks=running,
    ).validate()


def _sparse_column(n: int, rows: list[int], items: list) -> DictionaryColumn:
    """A column that is absent except at ``rows``."""
    dictionary = tuple(sorted({v for v in items if v is not VALUELESS}))
    lookup = {v: i for i, v in enumerate(dictionary)}
    codes = np.full(n, len(dictionary), dtype=code_dtype(len(dictionary) + 2))
    codes[rows] = [len(dictionary) + 1 if v is VALUELESS else lookup[v] for v in items]
    return DictionaryColumn(codes, dictionary)


def _items(document, key: str, command: str) -> list:
    if isinstance(document, dict):
        if key not in document:
            raise InputError(f"expected the JSON of 'aws ecs {command}': an object with {key!r} "
                             f"or a list; got an object with keys {sorted(document)[:5]}")
        document = document[key]
    if not isinstance(document, list):
        raise InputError(f"{key} must be a list, got {type(document).__name__}")
    return document


class _Where:
    """Names the instance (index and ARN) in every error about one of its fields."""

    __slots__ = ("index", "record")

    def __init__(self, index: int, record):
        if not isinstance(record, dict):
            raise InputError(f"containerInstances[{index}] must be an object, got {type(record).__name__}")
        self.index, self.record = index, record

    def error(self, field: str, problem: str) -> InputError:
        arn = self.record.get("containerInstanceArn")
        label = f"containerInstances[{self.index}]" + (f" ({arn})" if isinstance(arn, str) else "")
        return InputError(f"{label}: {field!r} {problem}")

    def get(self, record: dict, field: str, kind: type, default=None):
        value = record.get(field, default)
        if value is None:
            return default
        if type(value) is not kind and not (isinstance(value, kind) and kind is not int):
            raise self.error(field, f"must be {kind.__name__}, got {value!r}")
        return value


def _registered_at(where: _Where, raw) -> int:
    """ISO-8601 as the AWS CLI prints it, epoch seconds as the raw API returns, or a datetime."""
    if raw is None:
        return INT_ABSENT
    if isinstance(raw, dt.datetime):
        return values.datetime_to_micros(raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return round(raw * 1_000_000)
    if isinstance(raw, str):
        micros = values.parse_timestamp(raw)
        if micros is None:
            try:
                micros = values.datetime_to_micros(dt.datetime.fromisoformat(raw))
            except ValueError:
                pass
        if micros is not None:
            return micros
    raise where.error("registeredAt", f"must be an ISO-8601 time or epoch seconds, got {raw!r}")


def _attributes(where: _Where, items: list) -> list[tuple[str, object]]:
    """(name, value) per attribute; no value (or null) is value-less."""
    out = [(item["name"], VALUELESS if item.get("value") is None else item["value"]) for item in items
           if type(item) is dict and type(item.get("name")) is str and item["name"]
           and (item.get("value") is None or type(item["value"]) is str)]
    if len(out) != len(items) or len({name for name, _ in out}) != len(out):   # say which one is wrong
        seen: set[str] = set()
        for k, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or not name:
                raise where.error(f"attributes[{k}]", f"must be an object with a 'name', got {item!r}")
            value = item.get("value")
            if value is not None and not isinstance(value, str):
                raise where.error(f"attributes[{k}]", f"value must be a string, got {value!r}")
            if name in seen:
                raise where.error(f"attributes[{k}]", f"repeats the attribute {name!r}")
            seen.add(name)
    return out


def _resources(where: _Where, record: dict, field: str) -> tuple[dict[str, int], frozenset[int]]:
    amounts = {"CPU": 0, "MEMORY": 0, "GPU": 0}
    ports: set[int] = set()
    for k, item in enumerate(where.get(record, field, list, [])):
        name = item.get("name") if isinstance(item, dict) else None
        if name in amounts:
            amount = item.get("integerValue", item.get("longValue", item.get("doubleValue", 0)))
            if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount < 0:
                raise where.error(f"{field}[{k}]", f"{name} must be a non-negative number, got {amount!r}")
            amounts[name] = int(amount)
        elif name == "PORTS":
            for port in item.get("stringSetValue") or []:
                number = int(port) if isinstance(port, (str, int)) and str(port).isdigit() else -1
                if not 0 < number < 65536:
                    raise where.error(f"{field}[{k}]", f"PORTS holds {port!r}, not a port number")
                ports.add(number)
        elif not isinstance(name, str):
            raise where.error(f"{field}[{k}]", f"must be an object with a 'name', got {item!r}")
    return amounts, frozenset(ports)


def _tasks(tasks, rows: dict[str, int]) -> TaskRecords:
    """The RUNNING tasks on instances of the fleet, in input order (SPEC 2: STOPPED tasks do not
    count; Fargate tasks have no container instance), with what each took: its ``cpu`` and
    ``memory`` strings (absent = 0), its containers' GPU ids and TCP host ports bound."""
    ids, on, groups, cpu, memory, gpu, ports = [], [], [], [], [], [], []
    for k, task in enumerate(_items(tasks, "tasks", "describe-tasks") if tasks is not None else ()):
        if not isinstance(task, dict):
            raise InputError(f"tasks[{k}] must be an object, got {type(task).__name__}")
        arn, group, status = (task.get(f) for f in ("containerInstanceArn", "group", "desiredStatus"))
        for field, value in (("containerInstanceArn", arn), ("group", group), ("desiredStatus", status),
                             ("taskArn", task.get("taskArn"))):
            if value is not None and not isinstance(value, str):
                raise InputError(f"tasks[{k}]: {field!r} must be a string, got {value!r}")
        if not (arn in rows and group and status == "RUNNING"):
            continue
        ids.append(task.get("taskArn"))
        on.append(rows[arn])
        groups.append(group)
        cpu.append(_task_amount(task, "cpu", k))
        memory.append(_task_amount(task, "memory", k))
        held, gpus = set(), 0
        containers = task.get("containers") or []
        for container in containers if isinstance(containers, list) else ():
            if not isinstance(container, dict):
                continue
            gpus += len(container.get("gpuIds") or [])
            for binding in container.get("networkBindings") or []:
                port = binding.get("hostPort") if isinstance(binding, dict) else None
                if isinstance(port, int) and 0 < port < 65536 and binding.get("protocol", "tcp") == "tcp":
                    held.add(port)
        gpu.append(gpus)
        ports.append(frozenset(held))
    seen: set[str] = set()
    for task_id in ids:
        if task_id is not None and (task_id in seen or seen.add(task_id)):
            raise InputError(f"tasks: taskArn {task_id!r} appears twice")
    if None in ids:                                # made up where the input had none, stable per position
        ids = [f"task-{k}" if task_id is None else task_id for k, task_id in enumerate(ids)]
    integers = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
    return TaskRecords(tuple(ids), integers(on), tuple(groups), integers(cpu), integers(memory), integers(gpu),
                       tuple(ports))


def _task_amount(task: dict, field: str, k: int) -> int:
    value = task.get(field)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise InputError(f"tasks[{k}]: {field!r} must be a whole number of units as a string, got {value!r}")
