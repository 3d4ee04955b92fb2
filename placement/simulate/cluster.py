"""An ECS cluster over simulated time (SPEC 4): services, rolling updates, service and cluster
auto scaling, drains, zone outages and task traces, every decision made by the library's
``Placer`` (prepared requests, ``select_to_stop``), never by a copy of its logic.

The loop is a heap of timed events (``heapq``; equal times in the order they were scheduled).
What moves the cluster:

- **the service scheduler** (``_reconcile``), run for a service whenever something it depends
  on changed: it starts the primary deployment's missing tasks within ``maximumPercent`` (tasks
  waiting for placement count as running), stops retiring tasks (an older revision's, or on a
  draining instance) while ``minimumHealthyPercent`` of the desired count stays healthy
  (unhealthy ones first, then the oldest placed), stops an excess beyond the desired count with
  ``select_to_stop``, retries what it could not place every ``retryInterval``, and moves one task
  at a time to restore the zone balance (``availabilityZoneRebalancing``);
- **tasks** are healthy ``healthDelay`` after placement; a share ``unhealthyShare`` of a revision's
  tasks (seeded draws) fails its health check then and is stopped;
- **the circuit breaker** counts a deployment's tasks that failed to start: a health-check
  failure, or a task not placed within ``placementTimeout`` of being asked for; at
  ``min(200, max(10, ceil(desired / 2)))`` the deployment is FAILED, and with rollback the last
  completed revision is deployed again;
- **every ``metricsInterval``**: service auto scaling from the load model (target tracking, step
  scaling; scheduled actions at their times) and managed cluster scaling of each capacity
  provider (``CapacityProviderReservation``), then a report sample when one is due.

Modelling choices where SPEC is silent are listed in ``MODEL`` (the report and the README repeat
them).
"""
from __future__ import annotations

import heapq
import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from placement.errors import InputError, PlacementError
from placement.fleet.model import Fleet
from placement.place.placer import Placer
from placement.place.requests import MemberOf, Random, Spread, constraints_from_json, ecs_service_default, \
    strategies_from_json
from placement.simulate.trace import task_seeds
from placement.simulate.replay import timeline
from placement.place.result import SplitMix64
from placement.place.state import PLACED
from placement.simulate.replay import reason_kind
from placement.simulate.scenario import Deploy, Drain, Scenario, ScheduledAction, Service, SetDesiredCount, \
    TaskDefinition, ZoneOutage, ZoneReturn

ZONE = "ecs.availability-zone"
SCALE_IN_DATAPOINTS = 15            # managed cluster scaling scales in after 15 low minutes (CloudWatch's alarm)
CDF_POINTS = 100
SAMPLES = 240                       # report samples over a run unless the scenario says sampleInterval

MODEL = (
    "Tasks waiting for placement count toward maximumPercent; healthy means placed healthDelay ago.",
    "Retiring tasks (an older revision's, or on a draining instance) stop unhealthy first, then oldest placed.",
    "An excess beyond the desired count stops by select_to_stop (SPEC 2b scale-in), pending tasks first.",
    "A task not placed within placementTimeout counts once toward the circuit breaker and is asked for anew.",
    "A deployment is STUCK when it can neither start (maximumPercent) nor stop (minimumHealthyPercent) a task.",
    "Target tracking: proposal = ceil(running x metric / target), from the load divided over running tasks; "
    "with none running, ceil(load / (reservation x target)).",
    "Scale-in waits scaleInCooldown after any scaling of the service; scale-out is never held back "
    "(the proposal does not grow with tasks still starting).",
    "Step scaling: a policy whose adjustments are all >= 0 votes only for scale-out.",
    "Capacity provider: M = instances running a task + instances launching, plus the waiting tasks binpacked "
    "(first fit decreasing) onto the template when tasks wait; scale-in after 15 consecutive low minutes, "
    "empty instances only, highest launched first.",
    "A zone outage makes its instances INACTIVE (their tasks stop); a zone return makes them ACTIVE again.",
    "Zone rebalancing runs when a service is steady and its chain starts with spread on the zone: one task "
    "is started in the zone with the fewest, and when healthy one is stopped by select_to_stop.",
    "spreadNewRevisionOnly: each revision deployed after the first forms its own group "
    "service:NAME@REVISION, so spread counts only its tasks; otherwise every revision shares service:NAME, as ECS.",
)


def _ceil(x: float) -> int:
    """ceil, forgiving the float noise of a product that is an integer (4 x 75 / 50)."""
    return math.ceil(round(x, 9))


def breaker_threshold(desired: int) -> int:
    """Tasks that may fail to start before the circuit breaker trips (SPEC 4)."""
    return min(200, max(10, math.ceil(0.5 * desired)))


def curve_at(curve, t: float) -> float:
    """A load curve's value at ``t``: a constant, or straight lines between (time, value) points."""
    if curve is None:
        return 0.0
    if isinstance(curve, (int, float)):
        return float(curve)
    points = curve
    if t <= points[0][0]:
        return float(points[0][1])
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t <= t1:
            return float(v0 + (v1 - v0) * (t - t0) / (t1 - t0)) if t1 > t0 else float(v1)
    return float(points[-1][1])


@dataclass(eq=False)
class Task:
    number: int
    service: "ServiceRun"
    deployment: "DeploymentRun"
    arn: str
    zone: str
    placed_at: float
    healthy: bool = False
    rebalance: bool = False             # started to restore the zone balance


@dataclass(eq=False)
class DeploymentRun:
    service: "ServiceRun"
    revision: int
    definition: TaskDefinition
    group: str
    request: object
    start: float
    threshold: int
    rollback_of: int | None = None
    zone_skew: int | None = None                      # most minus fewest tasks per zone when it ended
    status: str = "IN_PROGRESS"
    reason: str | None = None
    end: float | None = None
    failures: int = 0
    tasks: dict = field(default_factory=dict)         # number -> Task
    pending: list = field(default_factory=list)       # since when each waiting task was asked for
    zone_requests: dict = field(default_factory=dict)  # zone -> the request pinned to it (rebalancing)

    def to_json(self) -> dict:
        return {"service": self.service.spec.name, "revision": self.revision, "start": self.start,
                "end": self.end, "status": self.status, "reason": self.reason, "failures": self.failures,
                "threshold": self.threshold, "zoneSkew": self.zone_skew,
                **({"rollbackOf": self.rollback_of} if self.rollback_of else {})}


@dataclass(eq=False)
class ServiceRun:
    spec: Service
    strategies: list
    constraints: list
    desired: int
    minimum: int
    maximum: int
    deployments: list = field(default_factory=list)   # the live ones, the primary last
    history: list = field(default_factory=list)       # every deployment, in order
    completed: TaskDefinition | None = None
    zones: Counter = field(default_factory=Counter)   # running tasks per zone
    placed: int = 0
    stopped: int = 0
    unplaced: int = 0
    failed: int = 0
    reasons: Counter = field(default_factory=Counter)
    scaling: list = field(default_factory=list)
    last_scaled: float = -math.inf
    step_last: dict = field(default_factory=dict)     # step policy index -> time of its last adjustment
    max_skew: int = 0
    scheduled_retry: bool = False
    rebalancing: int = 0                              # rebalance tasks started, not yet healthy
    stuck_reported: bool = False
    reconcile_due: bool = False                       # a pass is scheduled for now
    next_rebalance: float = 0.0                       # after a try that found no room
    reading: tuple = (None, 1.0)                      # ((time, metric), noise factor) of the last reading

    @property
    def primary(self) -> DeploymentRun:
        return self.deployments[-1]

    def running(self) -> int:
        return sum(len(d.tasks) for d in self.deployments)

    def healthy(self) -> int:
        return sum(1 for d in self.deployments for task in d.tasks.values() if task.healthy)

    def in_deployment(self) -> bool:
        return len(self.deployments) > 1 or self.primary.status == "IN_PROGRESS"


@dataclass(eq=False)
class ProviderRun:
    spec: object
    launched: int = 0
    terminated: int = 0
    launching: int = 0
    arns: list = field(default_factory=list)          # registered, in launch order
    low: int = 0                                      # consecutive minutes below the target
    activity: list = field(default_factory=list)


class Simulation:
    """One run of a scenario: ``run()`` it, then ``report()`` and ``events_json()``."""

    def __init__(self, scenario: Scenario, fleet: Fleet | None = None, *, variant: str = "as written",
                 events: bool = False, progress=None):
        self.scenario, self.variant, self.progress = scenario, variant, progress
        self.keep_events = events
        self.log: list[dict] = []
        self.counts: Counter = Counter()
        self.fleet = fleet if fleet is not None else _fleet(scenario)
        self.placer = Placer(self.fleet)
        self.rng = SplitMix64(scenario.seed)
        self.heap: list = []
        self.sequence = 0
        self.now = 0.0
        self.latencies: list[int] = []
        self.placer_ns = 0
        self.tasks: dict[int, Task] = {}
        self.zone_of: dict[str, str] = {}
        self.status_of: dict[str, str] = {}
        self.draining: dict[str, bool] = {}            # arn -> deregister once empty
        self.lost: dict[str, list[str]] = {}           # zone -> the instances its outage made INACTIVE
        self.samples: list[dict] = []
        self.providers = {p.name: ProviderRun(p) for p in scenario.capacityProviders}
        self.services: dict[str, ServiceRun] = {}
        self.trace = None
        self.active_zones: list[str] | None = None
        self.adopted: dict[str, int] = {}               # the fleet's task ids the services took over -> number
        self.wall_s = 0.0
        self.handled = 0                                # events the loop took off its heap
        self._read_fleet_zones()
        self.start = _capacity(self.placer, self.fleet)

    # -- the loop -------------------------------------------------------------------------------------

    def at(self, t: float, handler, *args) -> None:
        self.sequence += 1
        heapq.heappush(self.heap, (t, self.sequence, handler, args))

    def emit(self, event: str, **fields) -> None:
        self.counts[event] += 1
        if self.keep_events:
            self.log.append({"t": self.now, "event": event, **fields})

    def run(self) -> "Simulation":
        began = time.perf_counter()
        scenario = self.scenario
        for provider in self.providers.values():
            for _ in range(provider.spec.initialSize):
                self._launch(provider, warm=True)
        for spec in scenario.services:
            self._create_service(spec)
        for action in scenario.events:
            self.at(action.at, self._action, action)
        for spec in scenario.services:
            for k, scheduled in enumerate(spec.autoScaling.scheduledActions if spec.autoScaling else ()):
                self.at(scheduled.at, self._scheduled, self.services[spec.name], scheduled)
        if scenario.trace is not None:
            self.trace = TraceRun(self, scenario.trace)
        interval = scenario.metricsInterval
        self.at(interval, self._metrics)
        sample_every = scenario.sampleInterval or scenario.duration / SAMPLES
        self.next_sample = 0.0
        self.sample_every = sample_every
        self._sample()
        heap, duration = self.heap, scenario.duration
        last_progress = time.perf_counter()
        while heap and heap[0][0] <= duration:
            t, _, handler, args = heapq.heappop(heap)
            self.handled += 1
            if t > self.next_sample:
                self._sample_until(t)
            self.now = t
            handler(*args)
            if self.progress is not None and time.perf_counter() - last_progress > 0.1:
                self.progress(t, duration)
                last_progress = time.perf_counter()
        self._sample_until(duration, last=True)
        self.now = duration
        if self.trace is not None:
            self.trace.finish()
        if self.samples[-1]["t"] < duration:
            self._sample()
        self.wall_s = time.perf_counter() - began
        if self.progress is not None:
            self.progress(duration, duration)
        return self

    def _sample_until(self, t: float, last: bool = False) -> None:
        while self.next_sample < t or (last and self.next_sample <= t):
            keep, self.now = self.now, self.next_sample
            self._sample()
            self.now = keep

    # -- placing and stopping, timed ------------------------------------------------------------------

    def place(self, request, count: int, definition: TaskDefinition, seed):
        began = time.perf_counter_ns()
        result = request.place(count, definition.cpu, definition.memory, definition.gpu, tuple(definition.ports), seed)
        spent = time.perf_counter_ns() - began
        self.latencies.append(spent)
        self.placer_ns += spent
        return result

    def stop(self, task: Task, reason: str) -> None:
        began = time.perf_counter_ns()
        self.placer.stop(np.array([task.number], dtype=np.int64))
        self.placer_ns += time.perf_counter_ns() - began
        self._forget(task)
        self.emit("stop", task=self.placer.state.task_id(task.number), instance=task.arn,
                  service=task.service.spec.name, reason=reason)

    def _forget(self, task: Task) -> None:
        del self.tasks[task.number]
        service = task.service
        del task.deployment.tasks[task.number]
        service.zones[task.zone] -= 1
        service.stopped += 1
        if task.rebalance and not task.healthy:
            service.rebalancing -= 1

    def seed(self):
        return self.rng.next()

    # -- services -------------------------------------------------------------------------------------

    def _create_service(self, spec: Service) -> None:
        where = f"service {spec.name!r}"
        constraints = constraints_from_json(spec.placementConstraints, f"{where} placementConstraints")
        strategies = (strategies_from_json(spec.placementStrategy, f"{where} placementStrategy")
                      if spec.placementStrategy is not None else ecs_service_default())
        scaling = spec.autoScaling
        minimum, maximum = (scaling.minCapacity, scaling.maxCapacity) if scaling else (0, 10**9)
        service = ServiceRun(spec, strategies, constraints, min(max(spec.desiredCount, minimum), maximum),
                             minimum, maximum)
        self.services[spec.name] = service
        self._deploy(service, spec.taskDefinition)
        self._adopt(service)
        self._reconcile(service)

    def _adopt(self, service: ServiceRun) -> None:
        """The fleet's running tasks of the service's group are its first revision's, healthy."""
        tasks, state = self.fleet.store.tasks, self.placer.state
        code = tasks.name_code.get(service.primary.group)
        if code is None:
            return
        state.sync()
        n = tasks.size
        live = np.flatnonzero(tasks.alive[:n].astype(bool) & (tasks.group[:n] == code))
        arns = self.fleet.store.arns
        for index, row in zip(live.tolist(), tasks.rows[live].tolist()):
            number = int(state.number_of[index])
            task = self._placed(service, service.primary, number, arns[row], event=False)
            task.healthy = True
            self.adopted[tasks.ids[index]] = number

    def _deploy(self, service: ServiceRun, definition: TaskDefinition, rollback_of: int | None = None) -> None:
        name = service.spec.name
        group = f"service:{name}"                       # the first revision's, and every revision's in ECS
        if service.spec.spreadNewRevisionOnly and service.history:
            group = f"{group}@{definition.revision}"
        try:
            request = self.placer.prepare(group, service.constraints, service.strategies)
        except PlacementError as error:                 # say which service, keep the caret
            raise type(error)(f"service {name!r}: {error.message}", source=error.source, span=error.span,
                              hint=error.hint) from None
        threshold = breaker_threshold(service.desired)
        deployment = DeploymentRun(service, definition.revision, definition, group, request, self.now, threshold,
                                   rollback_of)
        for old in service.deployments:
            if old.status == "IN_PROGRESS":
                old.status, old.end, old.reason = "STOPPED", self.now, f"replaced by revision {definition.revision}"
            old.pending.clear()
        service.deployments.append(deployment)
        service.history.append(deployment)
        service.stuck_reported = False
        self.emit("deployment", service=name, revision=definition.revision, status="IN_PROGRESS",
                  **({"rollbackOf": rollback_of} if rollback_of else {}))

    def _reconcile(self, service: ServiceRun) -> None:
        """One pass of the service scheduler (see the module docstring)."""
        primary = service.primary
        desired = service.desired
        config = service.spec.deploymentConfiguration
        most = math.floor(desired * config.maximumPercent / 100)
        least = math.ceil(desired * config.minimumHealthyPercent / 100)
        launching = primary.status not in ("FAILED", "ROLLED_BACK")
        started = self._start_missing(service, most) if launching else False
        retiring = [task for d in service.deployments for task in d.tasks.values()
                    if (d is not primary and launching) or task.arn in self.draining] \
            if len(service.deployments) > 1 or self.draining else ()
        stopped = False
        if retiring:
            healthy = service.healthy()
            retiring.sort(key=lambda task: (task.healthy, task.placed_at, task.number))
            for task in retiring:
                if task.healthy and healthy - 1 < least:
                    break
                healthy -= task.healthy
                self.stop(task, "replaced" if task.deployment is not primary else "instance draining")
                stopped = True
            if stopped and launching:
                self._start_missing(service, most)
            self._deregister_drained()
        keep = self._keeping(service)
        if keep > desired and not retiring:
            self._scale_in(service, keep - desired)
            stopped = True
        if len(service.deployments) > 1 and not any(d.tasks for d in service.deployments[:-1]):
            service.deployments = [primary]
        if primary.status == "IN_PROGRESS":
            self._check_done(service)
            if not (started or stopped) and primary.status == "IN_PROGRESS":
                self._check_stuck(service, most, least)
        if primary.status != "IN_PROGRESS" and len(service.deployments) == 1 and not primary.pending:
            self._rebalance(service, most)

    def _keeping(self, service: ServiceRun) -> int:
        """The primary's tasks that stay: those not on a draining instance."""
        primary = service.primary
        if not self.draining:
            return len(primary.tasks)
        return sum(1 for task in primary.tasks.values() if task.arn not in self.draining)

    def _start_missing(self, service: ServiceRun, most: int) -> bool:
        """Ask for the primary's missing tasks within the maximum, and place what waits."""
        primary = service.primary
        need = service.desired - self._keeping(service) - len(primary.pending)
        if need < 0 and primary.pending:                    # asked for more than is needed now
            del primary.pending[need:]
        start = min(need, most - service.running() - len(primary.pending))
        if start > 0:
            primary.pending.extend([self.now] * start)
        placed = bool(primary.pending) and self._place_pending(service)
        return start > 0 or placed

    def _place_pending(self, service: ServiceRun) -> bool:
        primary = service.primary
        count = len(primary.pending)
        result = self.place(primary.request, count, primary.definition,
                            self.seed() if primary.request.draws else None)
        placed = len(result.positions)
        arns = self.fleet.store.arns
        numbers = result.tasks
        if placed:
            for number, row in zip(numbers.tolist(), result.rows.tolist()):
                self._placed(service, primary, number, arns[row])
            del primary.pending[:placed]
        if primary.pending:
            kind = reason_kind(result.reasons)
            asked = primary.pending.count(self.now)         # tasks asked for now (or anew) not placed
            service.unplaced += asked
            service.reasons[kind] += asked
            self.emit("unplaced", service=service.spec.name, count=len(primary.pending), reason=kind)
            timeout = service.spec.placementTimeout
            late = [k for k, since in enumerate(primary.pending) if self.now - since >= timeout]
            if late:
                for k in late:
                    primary.pending[k] = self.now
                self._failed(service, primary, len(late), "not placed within the placement timeout")
            if not service.scheduled_retry and primary.pending:
                service.scheduled_retry = True
                self.at(self.now + self.scenario.retryInterval, self._retry, service)
        return placed > 0

    def _placed(self, service: ServiceRun, deployment: DeploymentRun, number: int, arn: str,
                rebalance: bool = False, event: bool = True) -> Task:
        zone = self.zone_of.get(arn, "-")
        task = Task(number, service, deployment, arn, zone, self.now, rebalance=rebalance)
        self.tasks[number] = task
        deployment.tasks[number] = task
        service.zones[zone] += 1
        if event:
            service.placed += 1
            self.emit("place", task=self.placer.state.task_id(number), instance=arn, service=service.spec.name,
                      revision=deployment.revision)
            self.at(self.now + service.spec.healthDelay, self._healthy, task)
        return task

    def _retry(self, service: ServiceRun) -> None:
        service.scheduled_retry = False
        self._reconcile(service)

    def _healthy(self, task: Task) -> None:
        if self.tasks.get(task.number) is not task:
            return                                          # stopped before it was healthy
        service, deployment = task.service, task.deployment
        share = deployment.definition.unhealthyShare
        if share and (self.rng.next() >> 11) / 2.0**53 < share:
            self.stop(task, "health check failed")
            self._failed(service, deployment, 1, "health check failed")
            self._reconcile(service)
            return
        task.healthy = True
        if task.rebalance:
            service.rebalancing -= 1
            self._finish_rebalance(service)
        if not service.reconcile_due:                    # the tasks placed together are healthy together: one pass
            service.reconcile_due = True
            self.at(self.now, self._due, service)

    def _due(self, service: ServiceRun) -> None:
        service.reconcile_due = False
        self._reconcile(service)

    def _failed(self, service: ServiceRun, deployment: DeploymentRun, count: int, why: str) -> None:
        service.failed += count
        deployment.failures += count
        breaker = service.spec.deploymentConfiguration.deploymentCircuitBreaker
        if not breaker.enable or deployment.status != "IN_PROGRESS" or deployment.failures < deployment.threshold:
            return
        deployment.pending.clear()
        deployment.end = self.now
        deployment.reason = f"circuit breaker: {deployment.failures} tasks failed to start ({why})"
        previous = service.completed
        if breaker.rollback and previous is not None and previous.revision != deployment.revision:
            deployment.status = "ROLLED_BACK"
            self.emit("deployment", service=service.spec.name, revision=deployment.revision, status="ROLLED_BACK",
                      reason=deployment.reason)
            self._deploy(service, previous, rollback_of=deployment.revision)
        else:
            deployment.status = "FAILED"
            self.emit("deployment", service=service.spec.name, revision=deployment.revision, status="FAILED",
                      reason=deployment.reason)

    def _check_done(self, service: ServiceRun) -> None:
        primary = service.primary
        if len(service.deployments) > 1 or primary.pending:
            return
        steady = [task for task in primary.tasks.values() if task.healthy and task.arn not in self.draining]
        if len(steady) >= service.desired:
            primary.status, primary.end = "COMPLETED", self.now
            primary.zone_skew = self._skew(service)
            service.completed = primary.definition
            self.emit("deployment", service=service.spec.name, revision=primary.revision, status="COMPLETED")

    def _check_stuck(self, service: ServiceRun, most: int, least: int) -> None:
        """No task can start (the maximum) and none can stop (the minimum), and nothing is on its
        way to change that (a task becoming healthy, a retry): report once, do not loop."""
        primary = service.primary
        waiting_health = any(not task.healthy for d in service.deployments for task in d.tasks.values())
        if service.stuck_reported or waiting_health or primary.pending or service.scheduled_retry:
            return
        if most - service.running() <= 0 and service.healthy() - least <= 0:
            service.stuck_reported = True
            primary.status, primary.end = "STUCK", self.now
            primary.reason = (f"cannot start a task (maximumPercent allows {most} running) nor stop one "
                              f"(minimumHealthyPercent keeps {least} healthy)")
            self.emit("deployment", service=service.spec.name, revision=primary.revision, status="STUCK",
                      reason=primary.reason)

    def _scale_in(self, service: ServiceRun, count: int) -> None:
        began = time.perf_counter_ns()
        result = self.placer.select_to_stop(service.primary.group, count, seed=self.seed())
        spent = time.perf_counter_ns() - began
        self.latencies.append(spent)
        self.placer_ns += spent
        for stop in result.stops:
            task_id = stop.task_id
            number = int(task_id[len(PLACED):]) if task_id.startswith(PLACED) else self.adopted.get(task_id)
            task = self.tasks.get(number)
            if task is None:                                # a fleet task of the group the service did not adopt
                continue
            self._forget(task)
            self.emit("stop", task=stop.task_id, instance=stop.arn, service=service.spec.name, reason="scale-in")

    # -- zone rebalancing -----------------------------------------------------------------------------

    def _zones(self) -> list[str]:
        """The zones with an ACTIVE instance (kept until an instance's status changes)."""
        if self.active_zones is None:
            self.active_zones = sorted({zone for arn, zone in self.zone_of.items()
                                        if self.status_of.get(arn) == "ACTIVE"})
        return self.active_zones

    def _skew(self, service: ServiceRun) -> int:
        """The most minus the fewest of the service's tasks in a zone with an ACTIVE instance."""
        counts = [service.zones.get(zone, 0) for zone in self._zones()] or [0]
        return max(counts) - min(counts)

    def _rebalance(self, service: ServiceRun, most: int) -> None:
        if service.spec.availabilityZoneRebalancing != "ENABLED" or service.rebalancing or not service.strategies:
            return
        first = service.strategies[0]
        if not (isinstance(first, Spread) and first.field == f"attribute:{ZONE}"):
            return
        zones = self._zones()
        if len(zones) < 2 or service.running() + 1 > most:
            return
        counts = {zone: service.zones.get(zone, 0) for zone in zones}
        low = min(zones, key=lambda zone: (counts[zone], zone))
        high = max(counts.values())
        service.max_skew = max(service.max_skew, high - counts[low])
        if high - counts[low] <= 1 or self.now < service.next_rebalance:
            return
        primary = service.primary
        request = primary.zone_requests.get(low)
        if request is None:
            pinned = [*service.constraints, MemberOf(f"attribute:{ZONE} == {low}")]
            request = primary.zone_requests[low] = self.placer.prepare(primary.group, pinned, service.strategies,
                                                                       explain=False)
        result = self.place(request, 1, primary.definition, self.seed() if request.draws else None)
        if not len(result.positions):                   # no room in that zone: try again next minute
            service.next_rebalance = self.now + self.scenario.metricsInterval
        else:
            service.rebalancing += 1
            number, row = int(result.tasks[0]), int(result.rows[0])
            self._placed(service, primary, number, self.fleet.store.arns[row], rebalance=True)
            self.emit("rebalance", service=service.spec.name, zone=low)

    def _finish_rebalance(self, service: ServiceRun) -> None:
        """The task moved in is healthy: one comes out where the most are (the scale-in rule)."""
        if service.running() > service.desired:
            self._scale_in(service, service.running() - service.desired)

    # -- auto scaling ---------------------------------------------------------------------------------

    def _offered(self, service: ServiceRun, metric: str, t: float) -> float:
        """The load offered to the service now: its curve, off by the reading's noise."""
        load = service.spec.load
        if load is None:
            return 0.0
        offered = curve_at(getattr(load, metric), t)
        if load.noise:
            key = (t, metric)
            if service.reading[0] != key:               # one draw per reading, shared by the policies
                service.reading = (key, 1.0 + load.noise * (2.0 * (self.rng.next() >> 11) / 2.0**53 - 1.0))
            offered *= service.reading[1]
        return offered

    def _metric(self, service: ServiceRun, metric: str, t: float) -> tuple[float, int]:
        """The metric's value and the number of tasks it is averaged over."""
        running = service.running()
        offered = self._offered(service, metric, t)
        if metric == "requests":
            return (offered / running if running else math.inf if offered else 0.0), running
        reserved = getattr(service.primary.definition, metric) or 1
        return (100.0 * offered / (running * reserved) if running else math.inf if offered else 0.0), running

    def _proposal(self, service: ServiceRun, policy, t: float) -> int:
        value, running = self._metric(service, policy.metric, t)
        if running:
            return _ceil(running * value / policy.targetValue)
        offered = self._offered(service, policy.metric, t)
        if policy.metric == "requests":
            return _ceil(offered / policy.targetValue)
        reserved = getattr(service.primary.definition, policy.metric) or 1
        return _ceil(100.0 * offered / (reserved * policy.targetValue))

    def _step(self, service: ServiceRun, k: int, policy, t: float) -> int | None:
        """The desired count a step policy asks for now, or None (no breach, or in its cooldown)."""
        value, _ = self._metric(service, policy.metric, t)
        breached = {"GreaterThanOrEqualToThreshold": value >= policy.threshold,
                    "GreaterThanThreshold": value > policy.threshold,
                    "LessThanThreshold": value < policy.threshold,
                    "LessThanOrEqualToThreshold": value <= policy.threshold}[policy.comparison]
        if not breached or t - service.step_last.get(k, -math.inf) < policy.cooldown:
            return None
        delta = value - policy.threshold
        for step in policy.stepAdjustments:
            lower = -math.inf if step.metricIntervalLowerBound is None else step.metricIntervalLowerBound
            upper = math.inf if step.metricIntervalUpperBound is None else step.metricIntervalUpperBound
            if lower <= delta < upper or (delta == upper == math.inf):
                adjustment = step.scalingAdjustment
                break
        else:
            return None
        current = service.desired
        if policy.adjustmentType == "ExactCapacity":
            return adjustment
        if policy.adjustmentType == "PercentChangeInCapacity":
            change = int(current * adjustment / 100)
            magnitude = policy.minAdjustmentMagnitude or 0
            if adjustment and abs(change) < magnitude:
                change = magnitude if adjustment > 0 else -magnitude
            return current + change
        return current + adjustment

    def _autoscale(self, service: ServiceRun, t: float) -> None:
        scaling = service.spec.autoScaling
        if scaling is None:
            return
        current = service.desired
        outs, ins, all_in, causes = [], [], True, {}
        for policy in scaling.targetTrackingScaling:
            proposal = self._proposal(service, policy, t)
            value, _ = self._metric(service, policy.metric, t)
            cause = f"target tracking {policy.metric} {value:.1f} vs {policy.targetValue:g}"
            if proposal > current:
                outs.append(proposal)
                causes[proposal] = cause
            if policy.disableScaleIn:
                continue
            if proposal < current:
                ins.append(proposal)
                causes.setdefault(proposal, cause)
            else:
                all_in = False
        for k, policy in enumerate(scaling.stepScaling):
            asked = self._step(service, k, policy, t)
            if asked is None:
                continue
            cause = f"step scaling {policy.metric} {self._metric(service, policy.metric, t)[0]:.1f} vs {policy.threshold:g}"
            if asked > current:
                outs.append(asked)
                causes[asked] = cause
                service.step_last[k] = t
            elif asked < current and (policy.adjustmentType == "ExactCapacity"
                                      or any(s.scalingAdjustment < 0 for s in policy.stepAdjustments)):
                ins.append(asked)
                causes.setdefault(asked, cause)
                service.step_last[k] = t
        if outs:
            self._set_desired(service, max(outs), causes[max(outs)])
        elif ins and all_in and not service.in_deployment():
            cooldown = max([p.scaleInCooldown for p in scaling.targetTrackingScaling] or [0.0])
            if t - service.last_scaled >= cooldown:
                self._set_desired(service, max(ins), causes[max(ins)])

    def _set_desired(self, service: ServiceRun, count: int, cause: str) -> None:
        count = min(max(count, service.minimum), service.maximum)
        if count == service.desired:
            return
        service.scaling.append({"t": self.now, "from": service.desired, "to": count, "cause": cause})
        self.emit("scale", service=service.spec.name, **{"from": service.desired, "to": count}, cause=cause)
        service.desired = count
        service.last_scaled = self.now
        self._reconcile(service)

    def _scheduled(self, service: ServiceRun, action: ScheduledAction) -> None:
        if action.minCapacity is not None:
            service.minimum = action.minCapacity
        if action.maxCapacity is not None:
            service.maximum = action.maxCapacity
        if service.minimum > service.maximum:
            service.maximum = service.minimum
        self._set_desired(service, service.desired, "scheduled action")

    # -- the minute tick ------------------------------------------------------------------------------

    def _metrics(self) -> None:
        t = self.now
        for service in self.services.values():
            self._autoscale(service, t)
        for provider in self.providers.values():
            self._managed_scaling(provider)
        self.at(t + self.scenario.metricsInterval, self._metrics)

    # -- capacity providers ---------------------------------------------------------------------------

    def _waiting_for(self, provider: ProviderRun) -> list[TaskDefinition]:
        waiting = []
        for service in self.services.values():
            if service.spec.capacityProvider == provider.spec.name:
                waiting += [service.primary.definition] * len(service.primary.pending)
        if self.trace is not None:
            waiting += self.trace.waiting_for(provider.spec.name)
        return waiting

    def _managed_scaling(self, provider: ProviderRun) -> None:
        spec, scaling = provider.spec, provider.spec.managedScaling
        if scaling.status != "ENABLED":
            return
        n = len(provider.arns) + provider.launching
        waiting = self._waiting_for(provider)
        if n == 0:
            if waiting:
                self._scale_provider(provider, min(2, spec.maxSize), 0.0)
            return
        self.placer.sync()
        running = self.placer.state.c.array("running")
        position = self.fleet.store.position
        busy = sum(1 for arn in provider.arns if running[position[arn]] > 0) + provider.launching
        # waiting tasks need new instances beyond those already launching (at least one when none launch)
        m = n + max(0 if provider.launching else 1, _bins(waiting, spec.instance) - provider.launching) \
            if waiting else busy
        reservation = 100.0 * m / n
        wanted = _ceil(m * 100 / scaling.targetCapacity)
        if wanted > n:
            provider.low = 0
            step = min(max(wanted - n, scaling.minimumScalingStepSize), scaling.maximumScalingStepSize)
            self._scale_provider(provider, min(step, spec.maxSize - n), reservation)
        elif wanted < n:
            provider.low += 1
            if provider.low >= SCALE_IN_DATAPOINTS:
                provider.low = 0
                empty = [arn for arn in provider.arns if running[position[arn]] == 0]
                self._scale_provider(provider, -min(n - wanted, len(empty), n - spec.minSize), reservation, empty)
        else:
            provider.low = 0

    def _scale_provider(self, provider: ProviderRun, step: int, reservation: float, empty=()) -> None:
        if step == 0:
            return
        n = len(provider.arns) + provider.launching
        provider.activity.append({"t": self.now, "reservation": reservation, "from": n, "to": n + step})
        self.emit("scale", capacityProvider=provider.spec.name, **{"from": n, "to": n + step},
                  reservation=round(reservation, 3))
        if step > 0:
            for _ in range(step):
                self._launch(provider)
            return
        for arn in list(reversed(empty))[:-step]:
            provider.arns.remove(arn)
            provider.terminated += 1
            self._deregister(arn)

    def _launch(self, provider: ProviderRun, warm: bool = False) -> None:
        provider.launched += 1
        provider.launching += 1
        k = provider.launched
        if warm:
            self._register(provider, k)
        else:
            self.at(self.now + provider.spec.managedScaling.instanceWarmupPeriod, self._register, provider, k)

    def _register(self, provider: ProviderRun, k: int) -> None:
        spec = provider.spec
        template = spec.instance
        zone = spec.zones[(k - 1) % len(spec.zones)]
        arn = f"arn:aws:ecs:us-east-1:123456789012:container-instance/sim/{spec.name}-{k}"
        resources = [{"name": "CPU", "type": "INTEGER", "integerValue": template.cpu},
                     {"name": "MEMORY", "type": "INTEGER", "integerValue": template.memory},
                     {"name": "GPU", "type": "INTEGER", "integerValue": template.gpu},
                     {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"]}]
        attributes = {"ecs.instance-type": template.instanceType, "ecs.os-type": "linux",
                      "ecs.cpu-architecture": "x86_64", **template.attributes, ZONE: zone}
        self.fleet.register({"containerInstanceArn": arn, "ec2InstanceId": f"i-{spec.name}-{k:06d}",
                             "status": "ACTIVE", "agentConnected": True, "runningTasksCount": 0,
                             "pendingTasksCount": 0,
                             "attributes": [{"name": n, "value": v} for n, v in attributes.items()],
                             "registeredResources": resources, "remainingResources": resources})
        provider.launching -= 1
        provider.arns.append(arn)
        self.zone_of[arn], self.status_of[arn] = zone, "ACTIVE"
        self.active_zones = None
        self.emit("register", instance=arn, capacityProvider=spec.name, zone=zone)
        self._capacity_changed()

    def _capacity_changed(self) -> None:
        for service in self.services.values():
            if service.primary.pending or not service.in_deployment():
                self._reconcile(service)
        if self.trace is not None:
            self.trace.retry()

    def _deregister(self, arn: str) -> None:
        self.fleet.deregister(arn)
        self.zone_of.pop(arn, None)
        self.status_of.pop(arn, None)
        self.draining.pop(arn, None)
        self.active_zones = None
        self.emit("deregister", instance=arn)

    # -- scripted actions -----------------------------------------------------------------------------

    def _action(self, action) -> None:
        if isinstance(action, Deploy):
            service = self.services[action.service]
            base = service.primary.definition
            definition = action.taskDefinition or TaskDefinition(**{f: getattr(base, f) for f in base.__struct_fields__})
            if action.taskDefinition is None or action.taskDefinition.revision <= base.revision:
                definition = _with_revision(definition, max(d.revision for d in service.deployments) + 1)
            if action.deploymentConfiguration is not None:
                service.spec.deploymentConfiguration = action.deploymentConfiguration
            self._deploy(service, definition)
            self._reconcile(service)
        elif isinstance(action, SetDesiredCount):
            service = self.services[action.service]
            self._set_desired(service, action.desiredCount, "desired count set")
        elif isinstance(action, Drain):
            self._drain(action)
        elif isinstance(action, ZoneOutage):
            self._outage(action.zone)
        elif isinstance(action, ZoneReturn):
            self._zone_return(action.zone)

    def _drain(self, action: Drain) -> None:
        arns = list(action.instances)
        unknown = [arn for arn in arns if arn not in self.status_of]
        if unknown:
            raise InputError(f"drain at t={action.at:g}: no instance {unknown[0]!r} in the fleet")
        if action.count:
            arns += [arn for arn, status in self.status_of.items()
                     if status == "ACTIVE" and (action.zone is None or self.zone_of.get(arn) == action.zone)
                     and arn not in arns][:action.count]
        for arn in arns:
            self.fleet.set_status(arn, "DRAINING")
            self.status_of[arn] = "DRAINING"
            self.draining[arn] = action.deregister
            self.emit("drain", instance=arn)
        self.active_zones = None
        for service in self.services.values():
            self._reconcile(service)
        self._deregister_drained()

    def _deregister_drained(self) -> None:
        if not any(self.draining.values()):
            return
        held = {task.arn for task in self.tasks.values()}
        for arn, deregister in list(self.draining.items()):
            if deregister and arn not in held:
                self._deregister(arn)

    def _outage(self, zone: str) -> None:
        arns = [arn for arn, z in self.zone_of.items() if z == zone and self.status_of.get(arn) == "ACTIVE"]
        if not arns:
            raise InputError(f"zoneOutage at t={self.now:g}: no ACTIVE instance in zone {zone!r}")
        lost = set(arns)
        for task in [task for task in self.tasks.values() if task.arn in lost]:
            self.stop(task, "instance lost")
        for arn in arns:
            self.fleet.set_status(arn, "INACTIVE")
            self.status_of[arn] = "INACTIVE"
        self.lost[zone] = arns
        self.active_zones = None
        self.emit("zoneOutage", zone=zone, instances=len(arns))
        for service in self.services.values():
            self._reconcile(service)

    def _zone_return(self, zone: str) -> None:
        for arn in self.lost.pop(zone, []):
            if arn in self.status_of:
                self.fleet.set_status(arn, "ACTIVE")
                self.status_of[arn] = "ACTIVE"
        self.active_zones = None
        self.emit("zoneReturn", zone=zone)
        self._capacity_changed()
        for service in self.services.values():
            self._reconcile(service)

    # -- the report -----------------------------------------------------------------------------------

    def _read_fleet_zones(self) -> None:
        fleet = self.fleet
        store = fleet.store
        column = store.attributes.get(ZONE)
        live = store.alive[:store.size].astype(bool)
        for row in np.flatnonzero(live).tolist():
            arn = store.arns[row]
            value = column.value_at(row) if column is not None else None
            self.zone_of[arn] = value if isinstance(value, str) else "-"
            status = store.status.value_at(row)
            self.status_of[arn] = status if isinstance(status, str) else "-"

    def _sample(self) -> None:
        t = self.now
        self.next_sample = t + self.sample_every
        state = self.placer.state
        state.sync()
        c = state.c
        n = c.n
        eligible = c.array("eligible")[:n].astype(bool)
        store = self.fleet.store
        registered = {name: store.numbers[f"registered_{name}"][:n] for name in ("cpu", "memory", "gpu")} \
            if "registered_cpu" in store.numbers else None
        free = {name: c.array(name)[:n] for name in ("cpu", "memory", "gpu")}
        point = {"t": t, "instances": int(eligible.sum()),
                 "running": len(self.tasks) + (len(self.trace.running) if self.trace is not None else 0)}
        waiting = [(s.primary.definition.cpu, s.primary.definition.memory, s.primary.definition.gpu)
                   for s in self.services.values() for _ in s.primary.pending]
        if self.trace is not None:
            waiting += self.trace.waiting_demands()
        point["waiting"] = len(waiting)
        for name in ("cpu", "memory", "gpu"):
            total = int(registered[name][eligible].sum()) if registered is not None else self.start[name]
            point[name] = (1.0 - int(free[name][eligible].sum()) / total) if total > 0 else 0.0
        point["fragmentation"] = _fragmentation(free, eligible, waiting) if waiting else None
        services = {}
        for name, service in self.services.items():
            skew = self._skew(service)
            service.max_skew = max(service.max_skew, skew)
            revisions = Counter()
            for d in service.deployments:
                revisions[str(d.revision)] += len(d.tasks)
            services[name] = {"desired": service.desired, "running": service.running(),
                              "healthy": service.healthy(), "byRevision": dict(revisions), "zoneSkew": skew}
        point["services"] = services
        self.samples.append(point)

    def report(self) -> dict:
        latency = sorted(self.latencies)
        wall = self.wall_s
        placer = self.placer_ns / 1e9
        services = {}
        for name, service in self.services.items():
            last = self.samples[-1]["services"][name] if self.samples else {"zoneSkew": 0}
            services[name] = {"desired": service.desired, "running": service.running(), "placed": service.placed,
                              "stopped": service.stopped, "unplaced": service.unplaced,
                              "failedToStart": service.failed, "reasons": dict(service.reasons.most_common()),
                              "maxZoneSkew": service.max_skew, "finalZoneSkew": last["zoneSkew"],
                              "scaling": service.scaling}
        all_deployments = [d.to_json() for service in self.services.values() for d in service.history]
        reasons = Counter()
        for service in self.services.values():
            reasons.update(service.reasons)
        if self.trace is not None:
            reasons.update(self.trace.reasons)
        out = {
            "scenario": self.scenario.name, "variant": self.variant, "description": self.scenario.description,
            "seed": self.scenario.seed, "duration": self.scenario.duration,
            "fleet": {"instances": self.start["instances"], "cpu": self.start["cpu"],
                      "memory": self.start["memory"], "gpu": self.start["gpu"]},
            "events": dict(sorted(self.counts.items())), "eventsTotal": sum(self.counts.values()),
            "loopEvents": self.handled,
            "decisions": len(latency), "wallSeconds": wall, "loopSeconds": max(0.0, wall - placer),
            "placerSeconds": placer,
            "decisionsPerSecond": len(latency) / wall if wall > 0 else None,
            "simulatedPerWallSecond": self.scenario.duration / wall if wall > 0 else None,
            "latencyMicroseconds": {"p50": _rank(latency, 0.5), "p99": _rank(latency, 0.99),
                                    "max": _rank(latency, 1.0)},
            "latencyCdf": _cdf(latency),
            "samples": self.samples, "services": services, "deployments": all_deployments,
            "capacityProviders": {name: {"instances": len(p.arns), "launched": p.launched,
                                         "terminated": p.terminated, "activity": p.activity}
                                  for name, p in self.providers.items()},
            "unplaced": sum(s.unplaced for s in self.services.values()) + (self.trace.unplaced if self.trace else 0),
            "failedToStart": sum(s.failed for s in self.services.values()),
            "reasons": dict(reasons.most_common()),
            "model": list(MODEL),
        }
        if self.trace is not None:
            out["trace"] = self.trace.report()
        return out

    def events_json(self) -> list[dict]:
        return self.log


class TraceRun:
    """A trace's tasks in the loop, by SPEC 4's replay rules (``replay.py`` is the same without
    the rest of the cluster): an arrival is placed at once with the trace's strategies and its own
    constraints, or recorded unplaced (with ``queue``: it waits, retried in arrival order after
    every departure and whenever an instance registers, dropped at its departure time)."""

    def __init__(self, simulation: Simulation, source):
        self.simulation = simulation
        self.tasks = source.read()
        self.provider = source.capacityProvider
        self.queue = source.queue
        strategies = (strategies_from_json(source.placementStrategy, "trace placementStrategy")
                      if source.placementStrategy is not None else [Random()])
        prepared: dict[tuple, object] = {}
        self.requests = []
        for task in self.tasks:
            key = (task.group, task.constraints)
            if key not in prepared:
                prepared[key] = simulation.placer.prepare(task.group, task.constraints, strategies)
            self.requests.append(prepared[key])
        draws = any(request.draws for request in prepared.values())
        self.seeds = task_seeds(simulation.scenario.seed, len(self.tasks)) if draws else [None] * len(self.tasks)
        self.running: dict[int, int] = {}               # trace index -> the placer's task number
        self.waiting: list[int] = []
        self.reason_of: dict[int, str] = {}             # trace index -> why its last try failed
        self.reasons: Counter = Counter()
        self.placed = self.unplaced = self.dropped = self.waiting_at_end = 0
        for t, kind, i in timeline(self.tasks):
            simulation.at(t, self._depart if kind == 0 else self._arrive, i)

    def _try(self, i: int) -> bool:
        task, simulation = self.tasks[i], self.simulation
        began = time.perf_counter_ns()
        result = self.requests[i].place(1, task.cpu, task.memory, task.gpu, (), self.seeds[i])
        spent = time.perf_counter_ns() - began
        simulation.latencies.append(spent)
        simulation.placer_ns += spent
        if result.unplaced:
            self.reason_of[i] = reason_kind(result.reasons)
            return False
        number, row = int(result.tasks[0]), int(result.rows[0])
        self.reason_of.pop(i, None)
        self.running[i] = number
        self.placed += 1
        simulation.emit("place", task=task.id, instance=simulation.fleet.store.arns[row])
        return True

    def _arrive(self, i: int) -> None:
        task = self.tasks[i]
        if self._try(i):
            if task.departure is not None and task.departure <= task.arrival:
                self._stop(i)
        elif self.queue and (task.departure is None or task.departure > task.arrival):
            self.waiting.append(i)
            if task.departure is not None:
                self.simulation.at(task.departure, self._drop, i)
        else:
            self._unplaced(i)

    def _unplaced(self, i: int) -> None:
        self.unplaced += 1
        reason = self.reason_of.pop(i)
        self.reasons[reason] += 1
        self.simulation.emit("unplaced", task=self.tasks[i].id, reason=reason)

    def _drop(self, i: int) -> None:
        if i in self.waiting:
            self.waiting.remove(i)
            self.dropped += 1
            self._unplaced(i)

    def _stop(self, i: int) -> None:
        simulation = self.simulation
        number = self.running.pop(i)
        row = simulation.placer.state.c.task(number)[0]
        arn = simulation.fleet.store.arns[row]
        began = time.perf_counter_ns()
        simulation.placer.stop(np.array([number], dtype=np.int64))
        simulation.placer_ns += time.perf_counter_ns() - began
        simulation.emit("stop", task=self.tasks[i].id, instance=arn)

    def _depart(self, i: int) -> None:
        if i in self.running:
            self._stop(i)
            self.retry()

    def retry(self) -> None:
        if self.waiting:
            self.waiting = [i for i in self.waiting if not self._try(i)]

    def finish(self) -> None:
        """Tasks still waiting when the run ends are unplaced then (as the replay reports them)."""
        for i in self.waiting:
            self._unplaced(i)
        self.waiting_at_end, self.waiting = len(self.waiting), []

    def waiting_demands(self) -> list[tuple[int, int, int]]:
        return [(self.tasks[i].cpu, self.tasks[i].memory, self.tasks[i].gpu) for i in self.waiting]

    def waiting_for(self, provider: str) -> list[TaskDefinition]:
        if provider != self.provider:
            return []
        return [TaskDefinition(cpu=cpu, memory=memory, gpu=gpu) for cpu, memory, gpu in self.waiting_demands()]

    def report(self) -> dict:
        return {"tasks": len(self.tasks), "placed": self.placed, "unplaced": self.unplaced,
                "dropped": self.dropped, "waitingAtEnd": self.waiting_at_end, "running": len(self.running),
                "reasons": dict(self.reasons.most_common())}


def _with_revision(definition: TaskDefinition, revision: int) -> TaskDefinition:
    fields = {f: getattr(definition, f) for f in definition.__struct_fields__}
    fields["revision"] = revision
    return TaskDefinition(**fields)


def _bins(waiting: list[TaskDefinition], template) -> int:
    """How many template instances the waiting tasks fill, first fit decreasing on (cpu, memory, gpu)."""
    bins: list[list[int]] = []
    for d in sorted(waiting, key=lambda d: (d.gpu, d.memory, d.cpu), reverse=True):
        for room in bins:
            if room[0] >= d.cpu and room[1] >= d.memory and room[2] >= d.gpu:
                room[0] -= d.cpu
                room[1] -= d.memory
                room[2] -= d.gpu
                break
        else:
            if d.cpu > template.cpu or d.memory > template.memory or d.gpu > template.gpu:
                continue                                    # no instance of the template takes it
            bins.append([template.cpu - d.cpu, template.memory - d.memory, template.gpu - d.gpu])
    return len(bins)


def _fragmentation(free: dict, eligible: np.ndarray, waiting: list[tuple[int, int, int]]) -> dict:
    """The share of free cpu and memory on eligible instances where no waiting task fits."""
    fits = np.zeros(len(eligible), dtype=bool)
    for cpu, memory, gpu in set(waiting):
        fits |= (free["cpu"] >= cpu) & (free["memory"] >= memory) & (free["gpu"] >= gpu)
    unusable = eligible & ~fits
    out = {}
    for name in ("cpu", "memory"):
        total = int(free[name][eligible].sum())
        out[name] = int(free[name][unusable].sum()) / total if total > 0 else 0.0
    return out


def _rank(ordered: list[int], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] / 1000.0


def _cdf(ordered: list[int]) -> list[list[float]]:
    n = len(ordered)
    if not n:
        return []
    ranks = sorted({max(0, math.ceil(n * k / CDF_POINTS) - 1) for k in range(1, CDF_POINTS + 1)})
    return [[ordered[r] / 1000.0, (r + 1) / n] for r in ranks]


def _capacity(placer: Placer, fleet: Fleet) -> dict:
    state = placer.state
    state.sync()
    c = state.c
    eligible = c.array("eligible")[:c.n].astype(bool)
    return {"instances": int(eligible.sum()),
            **{name: int(c.array(name)[:c.n][eligible].sum()) for name in ("cpu", "memory", "gpu")}}


def _fleet(scenario: Scenario) -> Fleet:
    source = scenario.fleet
    if source is None:
        return Fleet.from_ecs({"containerInstances": []})
    if source.demo is not None:
        from placement.fleet.demo import demo
        return demo(source.demo, source.demoSeed)
    return Fleet.read(source.file, source.tasks)


def run_scenario(scenario: Scenario, *, progress=None, events: bool = False) -> list[Simulation]:
    """The scenario as written, then once per variant, side by side."""
    runs = [Simulation(scenario, events=events, progress=progress).run()]
    for variant in scenario.variants:
        runs.append(Simulation(scenario.variant(variant), variant=variant.name, events=events,
                               progress=progress).run())
    return runs


def simulate(scenario: Scenario, **options) -> Simulation:
    """The scenario as written (no variants)."""
    return Simulation(scenario, **options).run()
