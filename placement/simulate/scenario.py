"""Scenarios as data: what ``placement simulate SCENARIO`` runs, typed and validated.

A scenario is a YAML or JSON document (YAML needs PyYAML, the ``simulate`` extra) decoded by
msgspec into the structs below, so that a wrong type, a misspelt key or a missing field is an
``InputError`` naming where it is (``$.services[0].deploymentConfiguration.maximumPercent``).
Names follow the AWS APIs where AWS has one (``desiredCount``, ``deploymentConfiguration``,
``placementConstraints``, ``managedScaling``, ``targetTrackingScaling``...). Times are seconds,
or a string with a unit: ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``. ``SCHEMA`` (printed by
``placement simulate --schema``) documents every field; the three built-in scenarios are
``BUILTIN`` (``placement simulate web-rollout``).
"""
from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Literal, Union

import msgspec

from placement.errors import InputError

Seconds = Union[float, str]
Curve = Union[float, list[tuple[Seconds, float]]]   # a constant, or (time, value) points joined by straight lines
Metric = Literal["cpu", "memory", "requests"]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")


def seconds(value, where: str = "time") -> float:
    """A time in seconds from a number or ``"15m"``-style text."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if not match:
            raise ValueError(f"{where} must be seconds or a number with a unit (s, m, h, d), got {value!r}")
        value = float(match[1]) * _UNITS[match[2] or "s"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{where} must be a non-negative number of seconds, got {value!r}")
    return float(value)


class _Struct(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class TaskDefinition(_Struct):
    """What each task of a revision reserves, and how it behaves once placed."""
    family: str = ""                    # default: the service's name
    revision: int = 1
    cpu: int = 256                      # cpu units
    memory: int = 512                   # MiB
    gpu: int = 0
    ports: list[int] = []               # host ports; 0 is a dynamic host port
    unhealthyShare: float = 0.0         # share of its tasks that fail their health check (a bad revision)

    def __post_init__(self):
        for name in ("cpu", "memory", "gpu", "revision"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not 0.0 <= self.unhealthyShare <= 1.0:
            raise ValueError("unhealthyShare must be from 0 to 1")
        if any(not 0 <= port <= 65535 for port in self.ports):
            raise ValueError("ports must be from 0 (dynamic) to 65535")


class CircuitBreaker(_Struct):
    enable: bool = False
    rollback: bool = False


class DeploymentConfiguration(_Struct):
    minimumHealthyPercent: int = 100
    maximumPercent: int = 200
    deploymentCircuitBreaker: CircuitBreaker = msgspec.field(default_factory=CircuitBreaker)

    def __post_init__(self):
        if not 0 <= self.minimumHealthyPercent <= 100:
            raise ValueError("minimumHealthyPercent must be from 0 to 100")
        if not 100 <= self.maximumPercent <= 200:
            raise ValueError("maximumPercent must be from 100 to 200")


class Load(_Struct):
    """Offered load over time, divided evenly over the service's running tasks: ``cpu`` in cpu
    units and ``memory`` in MiB (utilisation = load / what the running tasks reserve, in %),
    ``requests`` per second (per target = load / running tasks)."""
    cpu: Curve | None = None
    memory: Curve | None = None
    requests: Curve | None = None
    noise: float = 0.0                  # each reading off by up to this share, drawn (seeded) per reading

    def __post_init__(self):
        for name in ("cpu", "memory", "requests"):
            setattr(self, name, _curve(getattr(self, name), name))
        if not 0.0 <= self.noise < 1.0:
            raise ValueError("noise must be from 0 to less than 1")


def _curve(curve, name: str):
    """A load curve with its times in seconds, checked: points in time order, values >= 0."""
    if curve is None or isinstance(curve, (int, float)):
        if curve is not None and not (math.isfinite(curve) and curve >= 0):
            raise ValueError(f"load {name} must be a non-negative number")
        return curve
    if not curve:
        raise ValueError(f"load {name} needs at least one (time, value) point")
    points = [(seconds(t, f"load {name} time"), float(v)) for t, v in curve]
    if any(b[0] < a[0] for a, b in zip(points, points[1:])):
        raise ValueError(f"load {name} points must be in time order")
    if any(not (math.isfinite(v) and v >= 0) for _, v in points):
        raise ValueError(f"load {name} values must be non-negative numbers")
    return points


class TargetTracking(_Struct):
    metric: Metric
    targetValue: float
    scaleInCooldown: Seconds = 300.0
    scaleOutCooldown: Seconds = 300.0
    disableScaleIn: bool = False

    def __post_init__(self):
        if not self.targetValue > 0:
            raise ValueError("targetValue must be positive")
        self.scaleInCooldown = seconds(self.scaleInCooldown, "scaleInCooldown")
        self.scaleOutCooldown = seconds(self.scaleOutCooldown, "scaleOutCooldown")


class StepAdjustment(_Struct):
    scalingAdjustment: int
    metricIntervalLowerBound: float | None = None
    metricIntervalUpperBound: float | None = None


class StepScaling(_Struct):
    """A CloudWatch alarm on ``metric`` against ``threshold``; when it breaches, the step whose
    interval holds ``metric - threshold`` adjusts the desired count."""
    metric: Metric
    threshold: float
    comparison: Literal["GreaterThanOrEqualToThreshold", "GreaterThanThreshold",
                        "LessThanThreshold", "LessThanOrEqualToThreshold"]
    stepAdjustments: list[StepAdjustment]
    adjustmentType: Literal["ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity"] = "ChangeInCapacity"
    cooldown: Seconds = 300.0
    minAdjustmentMagnitude: int | None = None

    def __post_init__(self):
        if not self.stepAdjustments:
            raise ValueError("stepAdjustments must not be empty")
        self.cooldown = seconds(self.cooldown, "cooldown")


class ScheduledAction(_Struct):
    at: Seconds
    minCapacity: int | None = None
    maxCapacity: int | None = None

    def __post_init__(self):
        self.at = seconds(self.at, "at")


class AutoScaling(_Struct):
    minCapacity: int
    maxCapacity: int
    targetTrackingScaling: list[TargetTracking] = []
    stepScaling: list[StepScaling] = []
    scheduledActions: list[ScheduledAction] = []

    def __post_init__(self):
        if not 0 <= self.minCapacity <= self.maxCapacity:
            raise ValueError("need 0 <= minCapacity <= maxCapacity")


class Service(_Struct):
    name: str
    taskDefinition: TaskDefinition = msgspec.field(default_factory=TaskDefinition)
    desiredCount: int = 1
    placementConstraints: list[dict] = []           # as ECS JSON: {"type": "memberOf", "expression": ...}
    placementStrategy: list[dict] | None = None     # as ECS JSON; default: the service default
    deploymentConfiguration: DeploymentConfiguration = msgspec.field(default_factory=DeploymentConfiguration)
    healthDelay: Seconds = 30.0                     # from placed to healthy
    placementTimeout: Seconds = 120.0               # a task not placed by then counts as failed to start
    capacityProvider: str | None = None
    load: Load | None = None
    autoScaling: AutoScaling | None = None
    availabilityZoneRebalancing: Literal["ENABLED", "DISABLED"] = "ENABLED"
    spreadNewRevisionOnly: bool = False             # spread counts only the incoming revision's tasks

    def __post_init__(self):
        if not self.name or not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", self.name):
            raise ValueError(f"a service name is 1-255 letters, digits, '-' or '_', got {self.name!r}")
        if self.desiredCount < 0:
            raise ValueError("desiredCount must not be negative")
        self.healthDelay = seconds(self.healthDelay, "healthDelay")
        self.placementTimeout = seconds(self.placementTimeout, "placementTimeout")


class InstanceTemplate(_Struct):
    """What a capacity provider launches: an instance's resources and attributes."""
    instanceType: str = "m5.xlarge"
    cpu: int = 4096
    memory: int = 15700
    gpu: int = 0
    attributes: dict[str, str] = {}


class ManagedScaling(_Struct):
    status: Literal["ENABLED", "DISABLED"] = "ENABLED"
    targetCapacity: int = 100
    minimumScalingStepSize: int = 1
    maximumScalingStepSize: int = 10000
    instanceWarmupPeriod: Seconds = 300.0

    def __post_init__(self):
        if not 1 <= self.targetCapacity <= 100:
            raise ValueError("targetCapacity must be from 1 to 100")
        if not 1 <= self.minimumScalingStepSize <= self.maximumScalingStepSize <= 10000:
            raise ValueError("need 1 <= minimumScalingStepSize <= maximumScalingStepSize <= 10000")
        self.instanceWarmupPeriod = seconds(self.instanceWarmupPeriod, "instanceWarmupPeriod")


class CapacityProvider(_Struct):
    name: str
    instance: InstanceTemplate = msgspec.field(default_factory=InstanceTemplate)
    zones: list[str] = msgspec.field(default_factory=lambda: ["us-east-1a", "us-east-1b", "us-east-1c"])
    initialSize: int = 0
    minSize: int = 0
    maxSize: int = 100
    managedScaling: ManagedScaling = msgspec.field(default_factory=ManagedScaling)

    def __post_init__(self):
        if not self.zones:
            raise ValueError("zones must not be empty")
        if not 0 <= self.minSize <= self.maxSize or not self.minSize <= self.initialSize <= self.maxSize:
            raise ValueError("need 0 <= minSize <= initialSize <= maxSize")


class FleetSource(_Struct):
    """The instances at the start: ``demo`` (the built-in demo fleet of N instances) or ``file``
    (ECS JSON, a table, or the ``fleet.json`` of ``placement trace``; relative to the scenario)."""
    demo: int | None = None
    demoSeed: int = 0
    file: str | None = None
    tasks: str | None = None

    def __post_init__(self):
        if (self.demo is None) == (self.file is None):
            raise ValueError("a fleet is either demo: N or file: PATH")
        if self.demo is not None and not 0 <= self.demo <= 1_000_000:
            raise ValueError("demo must be from 0 to 1,000,000 instances")


class SyntheticTrace(_Struct):
    """A generated GPU-cluster trace (``trace.synthetic_trace``) instead of a file."""
    tasks: int
    seed: int = 0
    span: Seconds = 3600.0
    meanRuntime: Seconds = 1200.0

    def __post_init__(self):
        if not 0 <= self.tasks <= 10_000_000:
            raise ValueError("tasks must be from 0 to 10,000,000")
        self.span = seconds(self.span, "span")
        self.meanRuntime = seconds(self.meanRuntime, "meanRuntime")


class TraceSource(_Struct):
    """Tasks of a trace (SPEC 4 format, ``file``; or ``synthetic``) arriving and departing
    during the run, placed with ``placementStrategy`` (default: random, as run-task)."""
    file: str | None = None
    synthetic: SyntheticTrace | None = None
    queue: bool = False
    placementStrategy: list[dict] | None = None
    capacityProvider: str | None = None

    def __post_init__(self):
        if (self.file is None) == (self.synthetic is None):
            raise ValueError("a trace is either file: PATH or synthetic: {tasks: N}")

    def read(self):
        from placement.simulate.trace import read_trace, synthetic_trace
        if self.file is not None:
            return read_trace(self.file)
        s = self.synthetic
        return synthetic_trace(s.tasks, s.seed, s.span, s.meanRuntime)


class _Action(_Struct, tag_field="type"):
    at: Seconds

    def __post_init__(self):
        self.at = seconds(self.at, "at")


class Deploy(_Action, tag="deploy"):
    """A rolling update of ``service`` to a new task definition (the next revision by default)."""
    service: str
    taskDefinition: TaskDefinition | None = None
    deploymentConfiguration: DeploymentConfiguration | None = None


class SetDesiredCount(_Action, tag="setDesiredCount"):
    service: str
    desiredCount: int

    def __post_init__(self):
        super().__post_init__()
        if self.desiredCount < 0:
            raise ValueError("desiredCount must not be negative")


class Drain(_Action, tag="drain"):
    """Set ``count`` ACTIVE instances (of ``zone`` if given; the first by position) or the
    named ``instances`` to DRAINING; ``deregister`` them once their tasks are gone."""
    count: int = 0
    zone: str | None = None
    instances: list[str] = []
    deregister: bool = False


class ZoneOutage(_Action, tag="zoneOutage"):
    """Every instance of ``zone`` is lost at once (deregistered, its tasks stopped)."""
    zone: str


class ZoneReturn(_Action, tag="zoneReturn"):
    """The instances lost in ``zone`` register again."""
    zone: str


Action = Union[Deploy, SetDesiredCount, Drain, ZoneOutage, ZoneReturn]



class Variant(_Struct):
    """The same scenario once more with an option changed on every service, reported side by
    side with the run as written (ECS's own behaviour)."""
    name: str
    spreadNewRevisionOnly: bool | None = None
    availabilityZoneRebalancing: Literal["ENABLED", "DISABLED"] | None = None
    placementStrategy: list[dict] | None = None
    seed: int | None = None


class Scenario(_Struct):
    name: str
    duration: Seconds
    description: str = ""
    seed: int = 0
    fleet: FleetSource | None = None
    capacityProviders: list[CapacityProvider] = []
    services: list[Service] = []
    events: list[Action] = []
    trace: TraceSource | None = None
    variants: list[Variant] = []
    metricsInterval: Seconds = 60.0                 # auto scaling and capacity checks
    sampleInterval: Seconds | None = None           # report samples (default: duration / 240)
    retryInterval: Seconds = 15.0                   # the service scheduler retries tasks it could not place

    def __post_init__(self):
        self.duration = seconds(self.duration, "duration")
        self.metricsInterval = seconds(self.metricsInterval, "metricsInterval")
        self.retryInterval = seconds(self.retryInterval, "retryInterval")
        if self.sampleInterval is not None:
            self.sampleInterval = seconds(self.sampleInterval, "sampleInterval")
        if self.duration <= 0 or self.metricsInterval <= 0 or self.retryInterval <= 0:
            raise ValueError("duration, metricsInterval and retryInterval must be positive")
        if self.sampleInterval is not None and self.sampleInterval <= 0:
            raise ValueError("sampleInterval must be positive")
        names = [s.name for s in self.services]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"service names must be unique: {', '.join(twice)}")
        providers = {p.name for p in self.capacityProviders}
        for where, name in [(f"service {s.name!r}", s.capacityProvider) for s in self.services] + \
                [("trace", self.trace.capacityProvider if self.trace else None)]:
            if name is not None and name not in providers:
                raise ValueError(f"{where} names capacity provider {name!r}, which the scenario does not define"
                                 + (f" (it has {', '.join(sorted(providers))})" if providers else ""))
        for k, action in enumerate(self.events):
            service = getattr(action, "service", None)
            if service is not None and service not in names:
                raise ValueError(f"events[{k}] names service {service!r}, which the scenario does not define"
                                 + (f" (it has {', '.join(names)})" if names else ""))
        if self.fleet is None and not any(p.initialSize or p.maxSize for p in self.capacityProviders):
            raise ValueError("a scenario needs a fleet or a capacity provider that can launch instances")

    def variant(self, variant: Variant) -> "Scenario":
        """This scenario with ``variant``'s options set on every service."""
        scenario = copy.deepcopy(self)
        for service in scenario.services:
            for option in ("spreadNewRevisionOnly", "availabilityZoneRebalancing", "placementStrategy"):
                value = getattr(variant, option)
                if value is not None:
                    setattr(service, option, value)
        if variant.seed is not None:
            scenario.seed = variant.seed
        scenario.variants = []
        return scenario


def from_document(document, source: str = "scenario") -> Scenario:
    """A scenario from decoded YAML / JSON, or an InputError naming the field."""
    try:
        return msgspec.convert(document, Scenario)
    except msgspec.ValidationError as error:
        raise InputError(f"{source}: {error}") from None


def read_document(path, what: str = "scenario"):
    """The document in a JSON file, or a ``.yaml`` / ``.yml`` one (with PyYAML); ``what`` names
    the file in errors. Nesting too deep for the parser is an input error too."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {what} {str(path)!r}: {error.strerror}") from None
    if path.suffix.lower() not in (".yaml", ".yml"):
        try:
            return msgspec.json.decode(text)
        except msgspec.DecodeError as error:
            raise InputError(f"{path}: not valid JSON: {error}") from None
        except RecursionError:
            raise InputError(f"{path}: not valid JSON: nested too deeply") from None
    try:
        import yaml
    except ImportError:
        raise InputError(f"a YAML {what} needs PyYAML: pip install 'placement[simulate]' "
                         f"(or write the {what} as JSON)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise InputError(f"{path}: not valid YAML: nested too deeply") from None


def read_scenario(path) -> Scenario:
    """Read a scenario file (see ``read_document``); relative fleet and trace paths are taken
    relative to the file."""
    path = Path(path)
    scenario = from_document(read_document(path), str(path))
    base = path.parent
    for holder in (scenario.fleet, scenario.trace):
        for name in ("file", "tasks"):
            value = getattr(holder, name, None)
            if value and not Path(value).is_absolute():
                setattr(holder, name, str(base / value))
    return scenario


# -- the built-in scenarios ---------------------------------------------------------------------------

LINUX_X86 = {"type": "memberOf", "expression": "attribute:ecs.os-type == linux and attribute:ecs.cpu-architecture == x86_64"}
RIDGE = [[0, 2000], ["30m", 9000], ["90m", 9000], ["2h", 3000]]      # cpu units of load over two hours


def _web_rollout(quick: bool) -> dict:
    return {
        "name": "web-rollout",
        "description": "A web service's rolling update under rising load with target tracking, a bad revision "
                       "of a second service rolled back by the circuit breaker, and a zone lost and back.",
        "duration": "1h" if quick else "2h",
        "fleet": {"demo": 120 if quick else 300},
        "services": [
            {"name": "storefront", "desiredCount": 12, "healthDelay": "60s",
             "taskDefinition": {"cpu": 512, "memory": 1024, "ports": [0]},
             "placementConstraints": [LINUX_X86],
             "load": {"cpu": RIDGE},
             "autoScaling": {"minCapacity": 6, "maxCapacity": 40,
                             "targetTrackingScaling": [{"metric": "cpu", "targetValue": 60}]},
             "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}},
            {"name": "payments", "desiredCount": 6, "healthDelay": "45s",
             "taskDefinition": {"cpu": 1024, "memory": 2048, "ports": [8443]},
             "placementConstraints": [LINUX_X86],
             "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 150,
                                         "deploymentCircuitBreaker": {"enable": True, "rollback": True}}},
        ],
        "events": [
            {"type": "deploy", "at": "20m", "service": "storefront"},
            {"type": "deploy", "at": "25m", "service": "payments",
             "taskDefinition": {"revision": 2, "cpu": 1024, "memory": 2048, "ports": [8443], "unhealthyShare": 1.0}},
            {"type": "zoneOutage", "at": "35m" if quick else "50m", "zone": "us-east-1a"},
            {"type": "zoneReturn", "at": "45m" if quick else "70m", "zone": "us-east-1a"},
            # a rollout while the zones are still uneven: ECS's spread counts the outgoing tasks
            {"type": "deploy", "at": "46m" if quick else "71m", "service": "storefront"},
        ],
        "variants": [{"name": "no zone rebalancing", "availabilityZoneRebalancing": "DISABLED"},
                     {"name": "no rebalancing, spread counts the new revision only",
                      "availabilityZoneRebalancing": "DISABLED", "spreadNewRevisionOnly": True}],
    }


def _batch_burst(quick: bool) -> dict:
    return {
        "name": "batch-burst",
        "description": "A batch service jumps from 2 to 120 tasks on a capacity provider with managed scaling: "
                       "the provider scales out, the tasks place as instances register, and empty instances go.",
        "duration": "2h" if quick else "3h",
        "capacityProviders": [{"name": "batch-pool", "initialSize": 2, "maxSize": 40,
                               "instance": {"instanceType": "m5.2xlarge", "cpu": 8192, "memory": 31000}}],
        "services": [{"name": "etl", "desiredCount": 2, "capacityProvider": "batch-pool", "healthDelay": "30s",
                      "placementTimeout": "30m",
                      "taskDefinition": {"cpu": 1024, "memory": 4096},
                      "placementStrategy": [{"type": "binpack", "field": "memory"}]}],
        "events": [{"type": "setDesiredCount", "at": "10m", "service": "etl", "desiredCount": 120},
                   {"type": "setDesiredCount", "at": "60m", "service": "etl", "desiredCount": 2}],
    }


def _gpu_trace(quick: bool) -> dict:
    return {
        "name": "gpu-trace",
        "description": "A GPU cluster's task trace (synthetic, shaped like the Alibaba GPU trace) replayed with a "
                       "queue on a GPU capacity provider that scales out while tasks wait.",
        "duration": "2h" if quick else "4h",
        "capacityProviders": [{"name": "gpu-pool", "initialSize": 8, "maxSize": 30 if quick else 60,
                               "instance": {"instanceType": "p3.16xlarge", "cpu": 65536, "memory": 499712, "gpu": 8},
                               "managedScaling": {"instanceWarmupPeriod": "3m"}}],
        "trace": {"synthetic": {"tasks": 300 if quick else 2000, "span": "1h" if quick else "3h", "meanRuntime": "20m"},
                  "queue": True, "capacityProvider": "gpu-pool",
                  "placementStrategy": [{"type": "binpack", "field": "memory"}]},
    }


def _synthetic_day(quick: bool) -> dict:
    """50 services with a day of load each, one rolling update each, scaled every minute."""
    services, events = [], []
    count = 10 if quick else 50
    for k in range(count):
        peak = 40 + (k * 37) % 160                                     # tasks needed at the peak
        cpu = (256, 512, 1024)[k % 3]
        curve = [[0, peak * cpu * 0.2], ["6h", peak * cpu * 0.3], [f"{12 + k % 5}h", peak * cpu * 0.6],
                 ["20h", peak * cpu * 0.35], ["24h", peak * cpu * 0.2]]
        services.append({"name": f"svc-{k:02d}", "desiredCount": max(2, peak // 4), "healthDelay": "40s",
                         "taskDefinition": {"cpu": cpu, "memory": cpu * 2},
                         "placementConstraints": [LINUX_X86],
                         "load": {"cpu": curve, "noise": 0.3},
                         "autoScaling": {"minCapacity": 2, "maxCapacity": peak * 2,
                                         "targetTrackingScaling": [{"metric": "cpu", "targetValue": 50,
                                                                    "scaleInCooldown": "5m"}]}})
        events.append({"type": "deploy", "at": f"{(2 + k * 20 / count) * (0.25 if quick else 1):.3f}h",
                       "service": f"svc-{k:02d}"})
    return {"name": "synthetic-day",
            "description": f"{count} services on {'1,000' if quick else '10,000'} instances over "
                           f"{'6 hours' if quick else 'a day'}: daily load curves, target tracking every minute, "
                           "one rolling update per service (the simulator's speed benchmark).",
            "duration": "6h" if quick else "24h", "sampleInterval": "15m",
            "fleet": {"demo": 1000 if quick else 10000}, "services": services, "events": events}


BUILTIN = {
    "web-rollout": "rolling updates under load, a circuit-breaker rollback, a zone outage and rebalancing",
    "batch-burst": "a batch burst that scales a capacity provider out and back in",
    "gpu-trace": "a GPU cluster's trace replayed with a queue on a scaling capacity provider",
    "synthetic-day": "a day of 50 auto-scaled services on 10,000 instances (the speed benchmark)",
}
_BUILDERS = {"web-rollout": _web_rollout, "batch-burst": _batch_burst, "gpu-trace": _gpu_trace,
             "synthetic-day": _synthetic_day}


def builtin_document(name: str, quick: bool = False) -> dict:
    """A built-in scenario as the document a user would write (``placement simulate --show``)."""
    if name not in _BUILDERS:
        raise InputError(f"no built-in scenario {name!r}; the built-ins are {', '.join(BUILTIN)}")
    return _BUILDERS[name](quick)


def builtin(name: str, quick: bool = False) -> Scenario:
    return from_document(builtin_document(name, quick), f"built-in scenario {name!r}")
