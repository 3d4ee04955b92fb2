"""What a placement request says: constraints, strategies and the task's demand.

The types are what the API takes (``MemberOf``, ``DistinctInstance``, ``Binpack``, ``Spread``,
``Random``); the parsers read the same things from ECS JSON exactly as task definitions,
``run-task`` and ``create-service`` requests write them, and refuse what ECS would refuse
(more than 10 constraints, more than 5 strategies, ``distinctInstance`` with an expression,
unknown types and fields) with an ``InputError`` naming the offending item.

``resolve_request`` is the one place where a request, a task definition and the command line's
flags become one ``TaskRequest`` (SPEC 2b, 3): keys are checked against the ECS model
(``ecs_model``), sizes and host ports read as ECS reserves them, the group and strategies
defaulted as ECS does; what ECS would refuse but a dry run may still read comes back as
``RequestWarning``s.
"""
from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from placement.errors import InputError, preview
from placement.values import is_unicode

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

    def __post_init__(self):
        if not isinstance(self.expression, str):
            raise InputError(f"memberOf takes an expression (a string), got {preview(self.expression)}")
        if not is_unicode(self.expression):       # a lone surrogate would reach the regex engine
            raise InputError(f"the memberOf expression {preview(self.expression)} holds a lone surrogate, "
                             "which is not Unicode")

    @property
    def predicate(self):
        from placement.predicate import compile
        return compile(self.expression)

    def __str__(self) -> str:
        return f"memberOf({self.expression})"

    def to_json(self) -> dict:
        return {"type": "memberOf", "expression": self.expression}


@dataclass(frozen=True)
class DistinctInstance:
    """Only instances running no task of the same group (earlier tasks of this call included)."""

    def __str__(self) -> str:
        return "distinctInstance"

    def to_json(self) -> dict:
        return {"type": "distinctInstance"}


@dataclass(frozen=True)
class Binpack:
    """Least remaining ``resource`` first (``cpu`` or ``memory``)."""

    resource: str = "memory"

    def __post_init__(self):
        if self.resource not in ("cpu", "memory"):
            raise InputError(f"binpack takes cpu or memory, not {preview(self.resource)}")

    def __str__(self) -> str:
        return f"binpack({self.resource})"

    def to_json(self) -> dict:
        return {"type": "binpack", "field": self.resource}


@dataclass(frozen=True)
class Spread:
    """Fewest tasks of the group on instances sharing the instance's value of ``field``."""

    field: str = "instanceId"

    def __post_init__(self):
        if self.field not in ("instanceId", "host") and not _ATTRIBUTE_FIELD.match(self.field):
            raise InputError(f"spread takes instanceId, host or attribute:NAME, not {preview(self.field)}")

    @property
    def per_instance(self) -> bool:
        return self.field in ("instanceId", "host")

    @property
    def attribute(self) -> str:
        return self.field[len("attribute:"):]

    def __str__(self) -> str:
        return f"spread({self.field})"

    def to_json(self) -> dict:
        return {"type": "spread", "field": self.field}


@dataclass(frozen=True)
class Random:
    """A seeded uniform choice among the instances still tied."""

    def __str__(self) -> str:
        return "random"

    def to_json(self) -> dict:
        return {"type": "random"}


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
                raise InputError(f"task {name} must be an integer from 0 to {MAX_AMOUNT:,}, got {preview(value)}")
        if type(self.ports) is not tuple or self.ports:     # () is the common case: nothing to check
            if isinstance(self.ports, (str, bytes)) or not hasattr(self.ports, "__iter__"):
                raise InputError(f"ports must be a list, got {preview(self.ports)}")
            ports = tuple(self.ports)
            for port in ports:
                if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < 65536:
                    raise InputError(f"host port must be an integer from 0 to 65535, got {preview(port)}")
            static = [p for p in ports if p != 0]
            if len(set(static)) != len(static):
                raise InputError(f"the task maps host port {sorted(static)} more than once")
            if len(ports) > MAX_PORTS:
                raise InputError(f"a task maps {len(ports)} host ports; at most {MAX_PORTS}")
            object.__setattr__(self, "ports", ports)

    @property
    def static_ports(self) -> tuple[int, ...]:
        return tuple(p for p in self.ports if p)


def listed(items, what: str) -> tuple:
    """An API call's list argument as a tuple; a string, a number or None is an input error."""
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise InputError(f"{what} must be a list, got {preview(items)}")
    return tuple(items)


def task_count(count) -> int:
    """A call's task count: an integer up to MAX_TASKS, since result arrays are allocated up front."""
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_TASKS:
        raise InputError(f"count must be an integer from 0 to {MAX_TASKS:,}, got {preview(count)}")
    return count


def seed_value(seed) -> int | None:
    """A seed as the ranker draws with it: None (a fresh one), or an integer taken modulo 2^64,
    as the placer's fast path takes it; anything else is an input error before it reaches C."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise InputError(f"seed must be an integer, got {preview(seed)}")
    return operator.index(seed) & 0xFFFF_FFFF_FFFF_FFFF


def check_request(constraints, strategies) -> None:
    if len(constraints) > MAX_CONSTRAINTS:
        raise InputError(f"{len(constraints)} placement constraints; ECS allows at most {MAX_CONSTRAINTS}")
    if len(strategies) > MAX_STRATEGIES:
        raise InputError(f"{len(strategies)} placement strategies; ECS allows at most {MAX_STRATEGIES}")
    for i, item in enumerate(constraints):
        if not isinstance(item, (MemberOf, DistinctInstance)):
            raise InputError(f"constraints[{i}] is {preview(item)}, not MemberOf(...) or DistinctInstance()")
    for i, item in enumerate(strategies):
        if not isinstance(item, (Binpack, Spread, Random)):
            raise InputError(f"strategies[{i}] is {preview(item)}, not Binpack, Spread or Random")


# -- ECS JSON: constraints and strategies ---------------------------------------------------------

def _constraint(item, label: str) -> Constraint:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise InputError(f"{label} must be an object with a 'type', got {preview(item)}")
    kind, expression = item["type"], item.get("expression")
    if kind == "memberOf":
        if not isinstance(expression, str) or not expression.strip():
            raise InputError(f"{label}: memberOf needs an expression")
        return MemberOf(expression)
    if kind == "distinctInstance":
        if expression not in (None, ""):
            raise InputError(f"{label}: distinctInstance takes no expression, got {preview(expression)}")
        return DistinctInstance()
    raise InputError(f"{label}: unknown constraint type {preview(kind)} (memberOf or distinctInstance)")


def _strategy(item, label: str) -> Strategy:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise InputError(f"{label} must be an object with a 'type', got {preview(item)}")
    kind, value = item["type"], item.get("field")
    try:
        if kind == "binpack":
            if not isinstance(value, str):
                raise InputError("binpack needs a field: cpu or memory")
            return Binpack(value.lower())
        if kind == "spread":
            if not isinstance(value, str):
                raise InputError("spread needs a field: instanceId, host or attribute:NAME")
            return Spread(value)
        if kind == "random":
            if value not in (None, ""):
                raise InputError(f"random takes no field, got {preview(value)}")
            return Random()
        raise InputError(f"unknown strategy type {preview(kind)} (binpack, spread or random)")
    except InputError as error:
        raise InputError(f"{label}: {error.message}") from None


def _listed(items, where: str) -> list:
    if not isinstance(items, list):
        raise InputError(f"{where} must be a list, got {type(items).__name__}")
    return items


def constraints_from_json(items, where: str = "placementConstraints") -> list[Constraint]:
    """ECS's ``placementConstraints`` list (``{"type": "memberOf", "expression": ...}``)."""
    out = [_constraint(item, f"{where}[{i}]") for i, item in enumerate(_listed(items, where))]
    if len(out) > MAX_CONSTRAINTS:
        raise InputError(f"{where} has {len(out)} constraints; ECS allows at most {MAX_CONSTRAINTS}")
    return out


def strategies_from_json(items, where: str = "placementStrategy") -> list[Strategy]:
    """ECS's ``placementStrategy`` list (``{"type": "spread", "field": ...}``)."""
    out = [_strategy(item, f"{where}[{i}]") for i, item in enumerate(_listed(items, where))]
    if len(out) > MAX_STRATEGIES:
        raise InputError(f"{where} has {len(out)} strategies; ECS allows at most {MAX_STRATEGIES}")
    return out


# -- the command line's --constraint / --strategy ------------------------------------------------

_EXPECTED = {
    "constraint": 'type=memberOf,expression="EXPR" or type=distinctInstance '
                  '(or memberOf:EXPR, distinctInstance, or ECS JSON)',
    "strategy": "type=binpack,field=cpu|memory, type=spread,field=FIELD or type=random "
                "(or binpack:memory, spread:FIELD, random, or ECS JSON)",
}
_SHORTHAND_KEY = re.compile(r"\s*([A-Za-z]\w*)\s*=")


def _shorthand(text: str, label: str, expected: str) -> dict:
    """``key=value,key=value``, the AWS CLI's shorthand for one structure. A value may be quoted
    (``"..."`` or ``'...'``, a backslash escaping the quote or itself) to hold commas and spaces;
    an unquoted value runs to the next comma."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while True:
        key = _SHORTHAND_KEY.match(text, i)
        if key is None:
            got = preview(text[i:]) if text[i:].strip() else "nothing"
            quote = " (quote a value that holds a comma)" if i and text[i:].strip() else ""
            raise InputError(f"{label}: expected KEY=VALUE at character {i + 1}, got {got}{quote}; "
                             f"expected {expected}")
        name, j = key.group(1), key.end()
        while j < n and text[j] == " ":
            j += 1
        if j < n and text[j] in "\"'":
            quote, start, j, chars = text[j], j, j + 1, []
            while j < n and text[j] != quote:
                if text[j] == "\\" and j + 1 < n and text[j + 1] in (quote, "\\"):
                    j += 1
                chars.append(text[j])
                j += 1
            if j >= n:
                raise InputError(f"{label}: the quote {quote} at character {start + 1} is never closed; "
                                 f"expected {expected}")
            value, j = "".join(chars), j + 1
            while j < n and text[j] == " ":
                j += 1
            if j < n and text[j] != ",":
                raise InputError(f"{label}: unexpected {preview(text[j:])} after the quoted value of {name}; "
                                 "separate KEY=VALUE pairs with commas")
        else:
            end = text.find(",", j)
            end = n if end < 0 else end
            value, j = text[j:end].strip(), end
        if name in out:
            raise InputError(f"{label}: {name} is given twice")
        out[name] = value
        if j >= n:
            return out
        i = j + 1                                           # past the comma


def _option_items(text, kind: str, warnings: list[str]) -> list[tuple[dict, str]]:
    """(ECS JSON object, label) for each item one ``--constraint`` / ``--strategy`` value gives:
    JSON (an object or a list), the AWS CLI shorthand, or the short ``kind[:value]`` form."""
    from placement.place import ecs_model
    expected = _EXPECTED[kind]
    if not isinstance(text, str):
        raise InputError(f"--{kind} takes a string, got {preview(text)}")
    label, stripped = f"--{kind} {preview(text)}", text.strip()
    if not stripped:
        raise InputError(f"--{kind} is empty; expected {expected}")
    if stripped[0] in "[{":
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise InputError(f"{label} is not JSON ({error.msg} at character {error.pos + 1}); "
                             f"expected {expected}") from None
        except (ValueError, RecursionError):           # a number of over 4,300 digits; deep nesting
            raise InputError(f"{label} holds a number too long or lists nested too deeply to be a {kind}") from None
        items = list(enumerate(document)) if isinstance(document, list) else [(None, document)]
    elif _SHORTHAND_KEY.match(stripped):
        items = [(None, _shorthand(stripped, label, expected))]
    else:                                                   # the short form: kind[:value]
        name, _, value = stripped.partition(":")
        items = [(None, {"type": name, **({"expression" if kind == "constraint" else "field": value} if value else {})})]
    root = "PlacementConstraint" if kind == "constraint" else "PlacementStrategy"
    out = []
    for i, item in items:
        where = label if i is None else f"{label}[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{where} must be an object with a 'type', got {preview(item)}; expected {expected}")
        item, found = ecs_model.checked(item, root, where)
        warnings.extend(found)
        out.append((item, where))
    return out


def _options(texts, kind: str, warnings: list[str]) -> list:
    """Every constraint (or strategy) the command line's values give, in order; items that are
    already ``MemberOf`` / ``Spread`` ... objects pass as they are."""
    if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
        raise InputError(f"--{kind} values must be a list of strings, got {preview(texts)}")
    ready = (MemberOf, DistinctInstance) if kind == "constraint" else (Binpack, Spread, Random)
    read = _constraint if kind == "constraint" else _strategy
    out = []
    for text in texts:
        if isinstance(text, ready):
            out.append(text)
        else:
            out.extend(read(item, where) for item, where in _option_items(text, kind, warnings))
    return out


def parse_constraint_options(text: str) -> list[Constraint]:
    """Every constraint one ``--constraint`` value gives (a JSON list gives several)."""
    return _options([text], "constraint", [])


def parse_strategy_options(text: str) -> list[Strategy]:
    """Every strategy one ``--strategy`` value gives (a JSON list gives several)."""
    return _options([text], "strategy", [])


def _one(items: list, kind: str, text: str):
    if len(items) != 1:
        raise InputError(f"--{kind} {preview(text)} gives {len(items)} {kind} items where one is expected")
    return items[0]


def parse_constraint_option(text: str) -> Constraint:
    """One constraint: ``memberOf:EXPR``, ``distinctInstance``, the AWS CLI shorthand
    ``type=memberOf,expression="EXPR"`` or its JSON ``{"type": "memberOf", ...}``."""
    return _one(parse_constraint_options(text), "constraint", text)


def parse_strategy_option(text: str) -> Strategy:
    """One strategy: ``binpack:memory``, ``spread:FIELD``, ``random``, the AWS CLI shorthand
    ``type=spread,field=FIELD`` or its JSON ``{"type": "spread", "field": ...}``."""
    return _one(parse_strategy_options(text), "strategy", text)


# -- task definitions -----------------------------------------------------------------------------

NETWORK_MODES = ("bridge", "host", "awsvpc", "none")
_AMOUNT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*\Z", re.ASCII)
_WHOLE = re.compile(r"\s*\d{1,16}\s*\Z", re.ASCII)          # 2^52 has 16 digits


def _integer(value, where: str) -> int:
    """A container's integer from 0 to 2^52 (absent = 0); a string of digits is read too, as
    CloudFormation writes it."""
    if value is None:
        return 0
    if isinstance(value, str) and _WHOLE.match(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT:
        return value
    raise InputError(f"{where} must be a whole number from 0 to 2^52, got {preview(value)}")


def _units(value, unit: str, where: str) -> int:
    """Task-level cpu (units, or ``"0.5 vCPU"``) or memory (MiB, or ``"2 GB"``): the unit is
    case-insensitive, the space optional, decimals allowed with it (the product is truncated)."""
    match = _AMOUNT.match(value) if isinstance(value, str) else None
    if match:
        number, suffix = match.group(1), match.group(2).lower()
    else:
        number, suffix = "", "?"
    plain = "cpu units (256)" if unit == "vcpu" else "MiB (512)"
    named = '"0.5 vCPU"' if unit == "vcpu" else '"2 GB"'
    integer = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if not integer and (suffix not in ("", unit) or (suffix == "" and "." in number)):
        raise InputError(f"{where} {preview(value)} is not a size: expected {plain} or {named}")
    whole, _, fraction = number.partition(".")
    if integer or len(whole.lstrip("0")) > 16:          # 2^52 has 16 digits: no int() of a long text
        amount = value if integer else None
    else:                   # 20 decimals decide the truncated product exactly; 60 digits hold it
        with localcontext(prec=60):
            amount = Decimal(f"{whole}.{fraction[:20] or 0}") * (1024 if suffix else 1)
    if amount is None or amount > MAX_AMOUNT:
        raise InputError(f"{where} {preview(value)} is larger than 2^52 {'cpu units' if unit == 'vcpu' else 'MiB'}")
    return int(amount)


def _host_ports(mappings: list, mode: str, where: str) -> list[int]:
    """The TCP host ports of one container's mappings (0 = a dynamic port), as SPEC 2b says."""
    out: list[int] = []
    if mode in ("awsvpc", "none"):                      # the task has its own interface (or none)
        return out
    for j, mapping in enumerate(mappings):
        at = f"{where}.portMappings[{j}]"
        if mapping.get("protocol") == "udp":            # ECS reads any other protocol as tcp
            continue
        span = mapping.get("containerPortRange")
        if span is not None:
            if mode == "host":
                raise InputError(f"{at}: containerPortRange needs the bridge or awsvpc network mode, not host")
            out.extend([0] * _range_size(span, f"{at}.containerPortRange"))    # bridge: each port dynamic
            continue
        if mapping.get("containerPort") is None:
            raise InputError(f"{at} has no containerPort")
        container_port = _integer(mapping["containerPort"], f"{at}.containerPort")
        host = _integer(mapping.get("hostPort"), f"{at}.hostPort")
        port = host or (container_port if mode == "host" else 0)      # bridge: absent or 0 is dynamic
        if port > 65535:
            raise InputError(f"{at}: host port {port} is above 65535")
        out.append(port)
    return out


def _range_size(span, where: str) -> int:
    match = re.fullmatch(r"\s*(\d{1,5})\s*-\s*(\d{1,5})\s*", span, re.ASCII) if isinstance(span, str) else None
    if not match or not 0 < int(match.group(1)) < int(match.group(2)) <= 65535:
        raise InputError(f"{where} must be FIRST-LAST with 1 <= FIRST < LAST <= 65535, got {preview(span)}")
    return int(match.group(2)) - int(match.group(1)) + 1


@dataclass(frozen=True)
class _Definition:
    """What placement reads of a task definition."""

    cpu: int
    memory: int
    gpu: int
    ports: tuple[int, ...]
    family: str | None
    constraints: tuple[Constraint, ...]


@dataclass(frozen=True)
class _Overrides:
    """A run-task request's ``overrides``: task-level sizes and containers' by name."""

    cpu: int | None = None
    memory: int | None = None
    containers: tuple[tuple[str, dict], ...] = ()


_REQUEST_KEYS = ("serviceName", "desiredCount", "count", "cluster", "launchType", "capacityProviderStrategy")


def _read_task_definition(document, overrides: _Overrides, warnings: list[str]) -> _Definition:
    """A RegisterTaskDefinition input, a TaskDefinition as described, or the describe response."""
    from placement.place import ecs_model
    what = "task definition"
    if not isinstance(document, dict):
        raise InputError(f"a task definition must be a JSON object, got {type(document).__name__}")
    lowered = {key.lower(): key for key in document if isinstance(key, str)}
    mistaken = [key for key in _REQUEST_KEYS if key.lower() in lowered]
    if mistaken:
        raise InputError(f"the task definition has {preview(lowered[mistaken[0].lower()])}, a key of run-task / "
                         "create-service requests", hint="pass the request as the request (--request)")
    prefix = ""
    if "taskdefinition" in lowered:                     # the describe / register response
        if isinstance(document[lowered["taskdefinition"]], str):
            raise InputError("the task definition names a task definition (taskDefinition is a string), as a "
                             "request does", hint="pass the task definition document, or the output of "
                                                  "aws ecs describe-task-definition")
        document, found = ecs_model.checked(document, "DescribeTaskDefinition", what)
        document, prefix = document.get("taskDefinition") or {}, "taskDefinition."
    else:
        document, found = ecs_model.checked(document, "TaskDefinition", what, extra=("RegisterTaskDefinition",))
    warnings.extend(found)
    mode = document.get("networkMode") or "bridge"      # bridge: the EC2 default
    if mode not in NETWORK_MODES:
        raise InputError(f"{what}: {prefix}networkMode must be {', '.join(NETWORK_MODES)}, got {preview(mode)}")
    containers = document.get("containerDefinitions") or []
    names = [c.get("name") for c in containers]
    by_name = dict(overrides.containers)
    for name in by_name:
        if name not in names:
            raise InputError(f"the request overrides container {preview(name)}, which the task definition "
                             "does not have",
                             hint=f"its containers: {', '.join(map(str, names)) or 'none'}")
    cpu = memory = gpu = 0
    ports: list[int] = []
    task_memory = overrides.memory if overrides.memory is not None else document.get("memory")
    for i, container in enumerate(containers):
        where = f"{prefix}containerDefinitions[{i}]"
        name = container.get("name") or f"#{i}"
        container = {**container, **{key: value for key, value in by_name.get(container.get("name"), {}).items()
                                     if value is not None}}
        cpu += _integer(container.get("cpu"), f"{what}: {where}.cpu")
        soft, hard = container.get("memoryReservation"), container.get("memory")
        if soft is None and hard is None and task_memory is None:
            raise InputError(f"{what}: {where} ({name}) sets neither memory nor memoryReservation, "
                             "and the task sets no memory", hint="give the container a memoryReservation")
        key = "memoryReservation" if soft is not None else "memory"     # ECS reserves the soft limit
        memory += _integer(container.get(key), f"{what}: {where}.{key}")
        for j, requirement in enumerate(container.get("resourceRequirements") or []):
            if requirement.get("type") == "GPU":
                gpu += _integer(requirement.get("value"), f"{what}: {where}.resourceRequirements[{j}].value")
        ports += _host_ports(container.get("portMappings") or [], mode, f"{what}: {where}")
    if overrides.cpu is not None:                       # task-level sizes win over the containers'
        cpu = overrides.cpu
    elif document.get("cpu") is not None:
        cpu = _units(document["cpu"], "vcpu", f"{what} {prefix}cpu")
    if overrides.memory is not None:
        memory = overrides.memory
    elif document.get("memory") is not None:
        memory = _units(document["memory"], "gb", f"{what} {prefix}memory")
    constraints = constraints_from_json(document.get("placementConstraints") or [],
                                        f"{what} {prefix}placementConstraints")
    if any(isinstance(c, DistinctInstance) for c in constraints):
        raise InputError(f"{what}: {prefix}placementConstraints may only be memberOf (ECS's task definition "
                         "constraint type)", hint="distinctInstance goes in the run-task or create-service request")
    family = document.get("family")
    if family is not None and (not isinstance(family, str) or not family):
        raise InputError(f"{what}: {prefix}family must be a name, got {preview(family)}")
    return _Definition(cpu, memory, gpu, tuple(ports), family, tuple(constraints))


# -- run-task and create-service requests ---------------------------------------------------------

MAX_RUN_TASK_COUNT = 10          # tasks per run-task call (ECS refuses more)
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


@dataclass(frozen=True)
class _Asked:
    """What placement reads of a request."""

    service: str | None                   # a create-service request's serviceName
    count: int | None
    group: str | None
    family: str | None                    # of its taskDefinition
    constraints: tuple[Constraint, ...]
    strategies: tuple[Strategy, ...]       # () when it names none
    overrides: _Overrides


def _family(reference, what: str) -> str | None:
    """``web`` of ``web``, ``web:3`` or ``arn:aws:ecs:REGION:ACCOUNT:task-definition/web:3``."""
    if reference is None:
        return None
    if isinstance(reference, dict):
        raise InputError(f"{what}: taskDefinition is an object", hint="pass a task definition document as the "
                                                                       "task definition (--task-definition)")
    tail = reference
    if isinstance(reference, str) and reference.startswith("arn:"):
        _, found, tail = reference.partition(":task-definition/")
        if not found:
            raise InputError(f"{what}: taskDefinition {preview(reference)} is not a task definition ARN "
                             "(arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)")
    family = tail.split(":", 1)[0] if isinstance(tail, str) else ""
    if not family.strip():
        raise InputError(f"{what}: taskDefinition must be FAMILY, FAMILY:REVISION or an ARN, got {preview(reference)}")
    return family


def _count(value, key: str, what: str) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise InputError(f"{what}: {key} must be a non-negative integer, got {preview(value)}")
    return value


def _read_request(document, warnings: list[str]) -> _Asked:
    """A RunTask input, or a CreateService input (it has ``serviceName``)."""
    from placement.place import ecs_model
    if not isinstance(document, dict):
        raise InputError(f"a run-task / create-service request must be a JSON object, got {type(document).__name__}")
    lowered = {key.lower(): key for key in document if isinstance(key, str)}
    if "containerdefinitions" in lowered:
        raise InputError("the request has containerDefinitions: it is a task definition",
                         hint="pass it as the task definition (--task-definition)")
    service = "servicename" in lowered
    if not service and "desiredcount" in lowered:
        raise InputError("run-task request: desiredCount is a create-service key, and the request has no serviceName",
                         hint="a create-service request names its serviceName; a run-task request gives a count")
    root, what = ("CreateService", "create-service request") if service else ("RunTask", "run-task request")
    document, found = ecs_model.checked(document, root, what)
    warnings.extend(found)
    if document.get("launchType") == "FARGATE":
        raise InputError(f"{what}: launchType FARGATE takes no placement constraints or strategies",
                         hint="placement dry-runs the EC2 launch type (drop launchType or set it to EC2)")
    for i, item in enumerate(document.get("capacityProviderStrategy") or []):
        if item.get("capacityProvider") in FARGATE_PROVIDERS:
            raise InputError(f"{what}: capacityProviderStrategy[{i}] is {item['capacityProvider']}, which takes no "
                             "placement constraints or strategies",
                             hint="placement dry-runs EC2 capacity: use an Auto Scaling group's capacity provider")
    name = document.get("serviceName")
    if service and (not isinstance(name, str) or not name):
        raise InputError(f"{what}: serviceName must be a name, got {preview(name)}")
    if document.get("schedulingStrategy") == "DAEMON":
        raise InputError(f"{what}: a DAEMON service runs one task on every instance its constraints allow, "
                         "whatever the count", hint="dry-run a REPLICA service, or a run-task with distinctInstance")
    count = _count(document.get("desiredCount" if service else "count"), "desiredCount" if service else "count", what)
    group = document.get("group")
    if group is not None and (not isinstance(group, str) or not group):
        raise InputError(f"{what}: group must be a name, got {preview(group)}")
    if service:
        group = f"service:{name}"
    overrides = document.get("overrides") or {}
    sizes = [None if overrides.get(key) is None else
             _units(overrides[key], unit, f"{what} overrides.{key}") for key, unit in (("cpu", "vcpu"), ("memory", "gb"))]
    containers = []
    for i, item in enumerate(overrides.get("containerOverrides") or []):
        if not isinstance(item.get("name"), str):
            raise InputError(f"{what}: overrides.containerOverrides[{i}] needs the name of the container it overrides")
        containers.append((item["name"], {key: item.get(key) for key in
                                          ("cpu", "memory", "memoryReservation", "resourceRequirements")}))
    constraints = constraints_from_json(document.get("placementConstraints") or [], f"{what}: placementConstraints")
    strategies = strategies_from_json(document.get("placementStrategy") or [], f"{what}: placementStrategy")
    return _Asked(name if service else None, count, group, _family(document.get("taskDefinition"), what),
                  tuple(constraints), tuple(strategies), _Overrides(*sizes, tuple(containers)))


# -- one request, from documents and flags --------------------------------------------------------

@dataclass(frozen=True)
class RequestWarning:
    """Something read that ECS would refuse or read otherwise (a case-mismatched key, count > 10)."""

    message: str

    def to_json(self) -> dict:
        return {"kind": "request", "message": self.message}


def strategy_warnings(strategies, fleet) -> list[RequestWarning]:
    """A spread over an attribute no instance has puts every task in one bucket: it spreads
    nothing, which is surely a misspelt field (said with the nearest names the fleet has)."""
    import difflib
    names = fleet.columns.attributes
    out = []
    for strategy in strategies or ():
        if isinstance(strategy, Spread) and not strategy.per_instance and strategy.attribute not in names:
            close = difflib.get_close_matches(strategy.attribute, list(names), n=1)
            out.append(RequestWarning(
                f"no instance has attribute {preview(strategy.attribute)}, so {strategy} puts every task in one bucket"
                + (f"; did you mean attribute:{close[0]}?" if close else "")))
    return out


@dataclass(frozen=True)
class TaskRequest:
    """Everything one placement call needs, resolved: pass ``strategies`` to ``Placer`` and the
    rest to ``place``."""

    count: int
    cpu: int
    memory: int
    gpu: int
    ports: tuple[int, ...]
    group: str
    constraints: tuple[Constraint, ...]
    strategies: tuple[Strategy, ...]
    warnings: tuple[RequestWarning, ...] = ()

    @property
    def demand(self) -> Demand:
        return Demand(self.cpu, self.memory, self.gpu, self.ports)

    def to_json(self) -> dict:
        return {"cpu": self.cpu, "memory": self.memory, "gpu": self.gpu, "ports": list(self.ports),
                "group": self.group, "constraints": [c.to_json() for c in self.constraints],
                "strategies": [s.to_json() for s in self.strategies], "count": self.count}


def resolve_request(request=None, task_definition=None, *, count=None, cpu=None, memory=None, gpu=None,
                    ports=(), group=None, constraints=(), strategies=()) -> TaskRequest:
    """One placement request from a run-task / create-service request and a task definition
    (parsed JSON, either may be None) and the command line's flags (None / empty = not given).

    Flags win over documents, except constraints, which add up: the task definition's, then the
    request's, then the flags'. Strategies: the flags', else the request's, else ECS's service
    default for a service, else random. The group: ``--group``, else the request's ``group``,
    ``service:NAME`` for a service, else ``family:FAMILY`` of the request's taskDefinition or the
    task definition's family. Size: flags, else the request's overrides, else the task definition.
    """
    warnings: list[str] = []
    asked = _read_request(request, warnings) if request is not None else None
    defined = (_read_task_definition(task_definition, asked.overrides if asked else _Overrides(), warnings)
               if task_definition is not None else None)
    flag_constraints = _options(constraints, "constraint", warnings)
    flag_strategies = _options(strategies, "strategy", warnings)

    family = (asked.family if asked else None) or (defined.family if defined else None)
    if asked and defined and asked.family and defined.family and asked.family != defined.family:
        warnings.append(f"the request runs task definition family {preview(asked.family)}, but the task definition "
                        f"given is of family {preview(defined.family)}; reading its resources anyway")
    group = group or (asked.group if asked else None) or (f"family:{family}" if family else None)
    if not isinstance(group, str) or not group:
        raise InputError("no task group: pass --group, or a request or task definition that names one",
                         hint="--group service:NAME or --group family:NAME")

    if defined is None and asked is not None:
        cpu = cpu if cpu is not None else asked.overrides.cpu
        memory = memory if memory is not None else asked.overrides.memory
    cpu = cpu if cpu is not None else (defined.cpu if defined else None)
    memory = memory if memory is not None else (defined.memory if defined else None)
    if cpu is None or memory is None:
        missing = " and ".join(f"--{name}" for name, value in (("cpu", cpu), ("memory", memory)) if value is None)
        raise InputError(f"no task size: pass {missing}, or --task-definition",
                         hint="cpu in units (1024 = 1 vCPU), memory in MiB")
    gpu = gpu if gpu is not None else (defined.gpu if defined else 0)
    if isinstance(ports, (str, bytes)) or not hasattr(ports, "__iter__"):
        raise InputError(f"ports must be a list, got {preview(ports)}")
    demand = Demand(cpu, memory, gpu, tuple(ports) or (defined.ports if defined else ()))

    count = count if count is not None else (asked.count if asked and asked.count is not None else 1)
    task_count(count)
    if asked and asked.service is None and count > MAX_RUN_TASK_COUNT:
        warnings.append(f"count {count} is above ECS's limit of {MAX_RUN_TASK_COUNT} tasks per run-task call; "
                        f"placing {count} anyway (ECS would refuse the call)")

    all_constraints = ((defined.constraints if defined else ()) + (asked.constraints if asked else ())
                       + tuple(flag_constraints))
    chosen = (tuple(flag_strategies) or (asked.strategies if asked else ())
              or tuple(ecs_service_default() if asked and asked.service else [Random()]))
    check_request(all_constraints, chosen)
    return TaskRequest(count, demand.cpu, demand.memory, demand.gpu, demand.ports, group, all_constraints, chosen,
                       tuple(RequestWarning(message) for message in warnings))


# -- the documents on their own (the API before resolve_request) ----------------------------------

def demand_from_task_definition(document) -> tuple[Demand, str | None, list[Constraint]]:
    """(demand, family, constraints) of a task definition, read as ``resolve_request`` reads it."""
    defined = _read_task_definition(document, _Overrides(), [])
    return Demand(defined.cpu, defined.memory, defined.gpu, defined.ports), defined.family, list(defined.constraints)


def request_from_json(document) -> dict:
    """The placement parts of a run-task or create-service request: count, group, constraints,
    strategies (only those it gives)."""
    asked = _read_request(document, [])
    out: dict = {}
    if asked.count is not None:
        out["count"] = asked.count
    if asked.group is not None:
        out["group"] = asked.group
    if asked.constraints:
        out["constraints"] = list(asked.constraints)
    if asked.strategies:
        out["strategies"] = list(asked.strategies)
    return out
