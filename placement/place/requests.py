"""What a placement request says: constraints, strategies and the task's demand.

The types are what the API takes (``MemberOf``, ``DistinctInstance``, ``Binpack``, ``Spread``,
``Random``); the parsers read the same things from ECS JSON exactly as task definitions,
``run-task`` and ``create-service`` requests write them, and refuse what ECS would refuse
(more than 10 constraints, more than 5 strategies, ``distinctInstance`` with an expression,
unknown types and fields) with an ``InputError`` naming the offending item.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from placement.errors import InputError

MAX_CONSTRAINTS = 10
MAX_STRATEGIES = 5
MAX_AMOUNT = 1 << 52          # cpu units, MiB or GPUs of one task: beyond any machine, safe in int64 sums
MAX_PORTS = 1024              # host ports of one task (only 100 can be reserved on an instance anyway)
MAX_TASKS = 10_000_000        # per call: result arrays are allocated up front (a task may need nothing)
_ATTRIBUTE_FIELD = re.compile(r"attribute:[A-Za-z0-9_./\\-]{1,128}\Z")


@dataclass(frozen=True)
class MemberOf:
    """Only instances where ``expression`` holds."""

    expression: str

    @property
    def predicate(self):
        from placement.predicate import compile
        return compile(self.expression)

    def __str__(self) -> str:
        return f"memberOf({self.expression})"


@dataclass(frozen=True)
class DistinctInstance:
    """Only instances running no task of the same group (earlier tasks of this call included)."""

    def __str__(self) -> str:
        return "distinctInstance"


@dataclass(frozen=True)
class Binpack:
    """Least remaining ``resource`` first (``cpu`` or ``memory``)."""

    resource: str = "memory"

    def __post_init__(self):
        if self.resource not in ("cpu", "memory"):
            raise InputError(f"binpack takes cpu or memory, not {self.resource!r}")

    def __str__(self) -> str:
        return f"binpack({self.resource})"


@dataclass(frozen=True)
class Spread:
    """Fewest tasks of the group on instances sharing the instance's value of ``field``."""

    field: str = "instanceId"

    def __post_init__(self):
        if self.field not in ("instanceId", "host") and not _ATTRIBUTE_FIELD.match(self.field):
            raise InputError(f"spread takes instanceId, host or attribute:NAME, not {self.field!r}")

    @property
    def per_instance(self) -> bool:
        return self.field in ("instanceId", "host")

    @property
    def attribute(self) -> str:
        return self.field[len("attribute:"):]

    def __str__(self) -> str:
        return f"spread({self.field})"


@dataclass(frozen=True)
class Random:
    """A seeded uniform choice among the instances still tied."""

    def __str__(self) -> str:
        return "random"


Constraint = MemberOf | DistinctInstance
Strategy = Binpack | Spread | Random


def ecs_service_default() -> list[Strategy]:
    """What ECS services do without a strategy: spread over zones, then over instances."""
    return [Spread("attribute:ecs.availability-zone"), Spread("instanceId")]


@dataclass(frozen=True)
class Demand:
    """One task's needs: cpu units, MiB, GPUs, and TCP host ports in request order, where 0 asks
    for a dynamic port (assigned from the instance's ephemeral range at placement)."""

    cpu: int = 0
    memory: int = 0
    gpu: int = 0
    ports: tuple[int, ...] = field(default=())

    def __post_init__(self):
        for name, value in (("cpu", self.cpu), ("memory", self.memory), ("gpu", self.gpu)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
                raise InputError(f"task {name} must be an integer from 0 to {MAX_AMOUNT:,}, got {value!r}")
        if self.ports or type(self.ports) is not tuple:     # () is the common case: nothing to check
            if isinstance(self.ports, (str, bytes)) or not hasattr(self.ports, "__iter__"):
                raise InputError(f"ports must be a list, got {self.ports!r}")
            ports = tuple(self.ports)
            for port in ports:
                if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < 65536:
                    raise InputError(f"host port must be an integer from 0 to 65535, got {port!r}")
            static = [p for p in ports if p != 0]
            if len(set(static)) != len(static):
                raise InputError(f"the task maps host port {sorted(static)} more than once")
            if len(ports) > MAX_PORTS:
                raise InputError(f"a task maps {len(ports)} host ports; at most {MAX_PORTS}")
            object.__setattr__(self, "ports", ports)

    @property
    def static_ports(self) -> tuple[int, ...]:
        return tuple(p for p in self.ports if p)


def check_request(constraints, strategies) -> None:
    if len(constraints) > MAX_CONSTRAINTS:
        raise InputError(f"{len(constraints)} placement constraints; ECS allows at most {MAX_CONSTRAINTS}")
    if len(strategies) > MAX_STRATEGIES:
        raise InputError(f"{len(strategies)} placement strategies; ECS allows at most {MAX_STRATEGIES}")
    for i, item in enumerate(constraints):
        if not isinstance(item, (MemberOf, DistinctInstance)):
            raise InputError(f"constraints[{i}] is {item!r}, not MemberOf(...) or DistinctInstance()")
    for i, item in enumerate(strategies):
        if not isinstance(item, (Binpack, Spread, Random)):
            raise InputError(f"strategies[{i}] is {item!r}, not Binpack, Spread or Random")


# -- ECS JSON ------------------------------------------------------------------------------------

def _typed_items(items, where: str):
    """(label, type, item) for each entry of an ECS list of ``{"type": ...}`` objects."""
    if not isinstance(items, list):
        raise InputError(f"{where} must be a list, got {type(items).__name__}")
    for i, item in enumerate(items):
        label = f"{where}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise InputError(f"{label} must be an object with a 'type', got {item!r}")
        yield label, item["type"], item


def constraints_from_json(items, where: str = "placementConstraints") -> list[Constraint]:
    out: list[Constraint] = []
    for label, kind, item in _typed_items(items, where):
        expression = item.get("expression")
        if kind == "memberOf":
            if not isinstance(expression, str) or not expression.strip():
                raise InputError(f"{label}: memberOf needs an expression")
            out.append(MemberOf(expression))
        elif kind == "distinctInstance":
            if expression not in (None, ""):
                raise InputError(f"{label}: distinctInstance takes no expression, got {expression!r}")
            out.append(DistinctInstance())
        else:
            raise InputError(f"{label}: unknown constraint type {kind!r} (memberOf or distinctInstance)")
    if len(out) > MAX_CONSTRAINTS:
        raise InputError(f"{where} has {len(out)} constraints; ECS allows at most {MAX_CONSTRAINTS}")
    return out


def strategies_from_json(items, where: str = "placementStrategy") -> list[Strategy]:
    out: list[Strategy] = []
    for label, kind, item in _typed_items(items, where):
        value = item.get("field")
        try:
            if kind == "binpack":
                if not isinstance(value, str):
                    raise InputError("binpack needs a field: cpu or memory")
                out.append(Binpack(value.lower()))
            elif kind == "spread":
                if not isinstance(value, str):
                    raise InputError("spread needs a field: instanceId, host or attribute:NAME")
                out.append(Spread(value))
            elif kind == "random":
                if value not in (None, ""):
                    raise InputError(f"random takes no field, got {value!r}")
                out.append(Random())
            else:
                raise InputError(f"unknown strategy type {kind!r} (binpack, spread or random)")
        except InputError as error:
            raise InputError(f"{label}: {error.message}") from None
    if len(out) > MAX_STRATEGIES:
        raise InputError(f"{where} has {len(out)} strategies; ECS allows at most {MAX_STRATEGIES}")
    return out


def parse_strategy_option(text: str) -> Strategy:
    """``binpack:cpu``, ``binpack:memory``, ``spread:FIELD`` or ``random`` (the command line's form)."""
    kind, _, value = text.partition(":")
    return strategies_from_json([{"type": kind, **({"field": value} if value else {})}], "--strategy")[0]


def parse_constraint_option(text: str) -> Constraint:
    """``memberOf:EXPR`` or ``distinctInstance`` (the command line's form)."""
    kind, _, expression = text.partition(":")
    return constraints_from_json([{"type": kind, **({"expression": expression} if expression else {})}],
                                 "--constraint")[0]


def _units(text, unit: int, what: str) -> int:
    """Task-level cpu / memory: ``"256"``, ``256``, ``"1 vCPU"``, ``"2 GB"``."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(vcpu|gb|mib|mb)?\s*", str(text), re.I | re.ASCII)
    if not match:
        raise InputError(f"task definition {what} {text!r} is not a number")
    number, suffix = float(match.group(1)), (match.group(2) or "").lower()
    return int(number * unit) if suffix in ("vcpu", "gb") else int(number)


def demand_from_task_definition(document) -> tuple[Demand, str | None, list[Constraint]]:
    """(demand, family, constraints) from a task definition (or describe-task-definition output).

    Task-level cpu / memory win; otherwise container cpu and memory are summed, a container's
    memory being its ``memoryReservation`` when set (what ECS reserves). Host ports are the TCP
    mappings' in container order: ``hostPort``, or the container port in host network mode; in
    bridge mode an absent or 0 ``hostPort`` is a dynamic port (0); none in awsvpc mode. GPUs are
    summed from ``resourceRequirements``.
    """
    if isinstance(document, dict) and isinstance(document.get("taskDefinition"), dict):
        document = document["taskDefinition"]
    if not isinstance(document, dict):
        raise InputError("a task definition must be a JSON object")
    containers = document.get("containerDefinitions") or []
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        raise InputError("containerDefinitions must be a list of objects")
    cpu = memory = gpu = 0
    ports: list[int] = []
    mode = document.get("networkMode", "bridge")
    for i, container in enumerate(containers):
        try:
            cpu += int(container.get("cpu") or 0)
            soft, hard = container.get("memoryReservation"), container.get("memory")
            if soft is None and hard is None and document.get("memory") is None:
                raise InputError(f"containerDefinitions[{i}] ({container.get('name', 'unnamed')}) sets neither "
                                 "memory nor memoryReservation, and the task sets no memory")
            memory += int(soft if soft is not None else hard or 0)    # ECS reserves the soft limit
            for requirement in container.get("resourceRequirements") or []:
                if requirement.get("type") == "GPU":
                    gpu += int(requirement.get("value", 0))
            for mapping in container.get("portMappings") or []:
                if mapping.get("protocol", "tcp") != "tcp" or mode == "awsvpc":
                    continue
                if mode == "host":
                    port = mapping.get("hostPort") or mapping.get("containerPort")
                else:                                   # bridge: absent or 0 is a dynamic port
                    port = mapping.get("hostPort") or 0
                ports.append(int(port))
        except (TypeError, ValueError, AttributeError):
            raise InputError(f"containerDefinitions[{i}] has a malformed cpu, memory, GPU or port") from None
    if document.get("cpu") is not None:
        cpu = _units(document["cpu"], 1024, "cpu")
    if document.get("memory") is not None:
        memory = _units(document["memory"], 1024, "memory")
    constraints = constraints_from_json(document.get("placementConstraints") or [],
                                        "taskDefinition.placementConstraints")
    return Demand(cpu, memory, gpu, tuple(ports)), document.get("family"), constraints


def request_from_json(document) -> dict:
    """The placement parts of a run-task or create-service request: count, group, constraints,
    strategies (only the keys present)."""
    if not isinstance(document, dict):
        raise InputError("a run-task / create-service request must be a JSON object")
    out: dict = {}
    count = document.get("count", document.get("desiredCount"))
    if count is not None:
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InputError(f"count must be a non-negative integer, got {count!r}")
        out["count"] = count
    if isinstance(document.get("serviceName"), str):
        out["group"] = f"service:{document['serviceName']}"
    if isinstance(document.get("group"), str):
        out["group"] = document["group"]
    if "placementConstraints" in document:
        out["constraints"] = constraints_from_json(document["placementConstraints"])
    if "placementStrategy" in document:
        out["strategies"] = strategies_from_json(document["placementStrategy"])
    return out
