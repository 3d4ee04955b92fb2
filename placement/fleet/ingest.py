"""Fleet ingest: ECS JSON documents -> ``Fleet``. Validates at the boundary, so that every later
stage can trust its input: a malformed document is an ``InputError`` naming the instance and
the field, never a traceback.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from types import MappingProxyType

from placement import values
from placement.errors import InputError
from placement.fleet.model import Fleet, Instance, Resources


def fleet_from_ecs(instances, tasks=None) -> Fleet:
    records = _items(instances, "containerInstances", "describe-container-instances")
    groups = _task_groups(tasks)
    return Fleet(_instance(i, record, groups) for i, record in enumerate(records))


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

    def __init__(self, index: int, record: dict):
        self.label = f"containerInstances[{index}]"
        arn = record.get("containerInstanceArn")
        if isinstance(arn, str):
            self.label += f" ({arn})"

    def error(self, field: str, problem: str) -> InputError:
        return InputError(f"{self.label}: {field!r} {problem}")

    def get(self, record: dict, field: str, kind, default=None):
        value = record.get(field, default)
        if value is None:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.error(field, f"must be {names}, got {value!r}")
        return value


def _instance(index: int, record, groups: dict[str, Counter]) -> Instance:
    if not isinstance(record, dict):
        raise InputError(f"containerInstances[{index}] must be an object, got {type(record).__name__}")
    where = _Where(index, record)
    arn = where.get(record, "containerInstanceArn", str)
    if not arn:
        raise where.error("containerInstanceArn", "is missing")
    count = where.get(record, "runningTasksCount", int, 0)
    if count < 0:
        raise where.error("runningTasksCount", f"must not be negative, got {count}")
    version_info = where.get(record, "versionInfo", dict, {})
    version_text = where.get(version_info, "agentVersion", str)
    return Instance(
        arn=arn,
        ec2_instance_id=where.get(record, "ec2InstanceId", str),
        status=where.get(record, "status", str),
        agent_connected=where.get(record, "agentConnected", bool),
        # An agent version we cannot read compares as absent, like a non-numeric attribute.
        agent_version=values.parse_version(version_text) if version_text else None,
        registered_at=_registered_at(where, record.get("registeredAt")),
        running_tasks_count=count,
        attributes=_attributes(where, where.get(record, "attributes", list, [])),
        task_groups=MappingProxyType(dict(groups.get(arn, {}))),
        remaining=_resources(where, record, "remainingResources"),
        registered=_resources(where, record, "registeredResources"),
    )


def _registered_at(where: _Where, raw) -> int | None:
    """ISO-8601 as the AWS CLI prints it, epoch seconds as the raw API returns, or a datetime."""
    if raw is None:
        return None
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


def _attributes(where: _Where, items: list) -> MappingProxyType:
    attributes: dict[str, str | None] = {}
    for k, item in enumerate(items):
        field = f"attributes[{k}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise where.error(field, f"must be an object with a 'name', got {item!r}")
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            raise where.error(field, f"value must be a string, got {value!r}")
        if item["name"] in attributes:
            raise where.error(field, f"repeats the attribute {item['name']!r}")
        attributes[item["name"]] = value          # no value (or null): a value-less attribute
    return MappingProxyType(attributes)


def _resources(where: _Where, record: dict, field: str) -> Resources:
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
    return Resources(amounts["CPU"], amounts["MEMORY"], amounts["GPU"], frozenset(ports))


def _task_groups(tasks) -> dict[str, Counter]:
    """RUNNING tasks per instance ARN and group (SPEC 2: STOPPED tasks do not count)."""
    groups: dict[str, Counter] = defaultdict(Counter)
    if tasks is None:
        return groups
    for k, task in enumerate(_items(tasks, "tasks", "describe-tasks")):
        if not isinstance(task, dict):
            raise InputError(f"tasks[{k}] must be an object, got {type(task).__name__}")
        arn, group, status = (task.get(f) for f in ("containerInstanceArn", "group", "desiredStatus"))
        for field, value in (("containerInstanceArn", arn), ("group", group), ("desiredStatus", status)):
            if value is not None and not isinstance(value, str):
                raise InputError(f"tasks[{k}]: {field!r} must be a string, got {value!r}")
        if arn and group and status == "RUNNING":     # Fargate tasks have no container instance
            groups[arn][group] += 1
    return groups
