"""The cluster simulation against the ECS rules by their documented examples (SPEC 4), with the
invariants checked after every event: never more running than maximumPercent allows, never a
healthy task stopped below minimumHealthyPercent, no instance over-committed, every placed task's
constraints held where it went; and a trace in the loop equal to the plain replay, task by task."""
from __future__ import annotations

import json

import numpy as np
import pytest

import placement
from placement import Fleet
from placement.errors import InputError
from placement.place.requests import MemberOf
from placement.simulate.cluster import Simulation, breaker_threshold, curve_at, run_scenario
from placement.simulate.replay import replay
from placement.simulate.scenario import BUILTIN, builtin, from_document, read_scenario
from placement.simulate.trace import TraceTask, synthetic_trace, write_trace

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


def _instances(count: int, cpu: int = 4096, memory: int = 8192, zones=ZONES, prefix: str = "ci"):
    resources = [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                 {"name": "MEMORY", "type": "INTEGER", "integerValue": memory}]
    return [{"containerInstanceArn": f"{prefix}-{k}", "ec2InstanceId": f"i-{k}", "status": "ACTIVE",
             "agentConnected": True,
             "attributes": [{"name": "ecs.availability-zone", "value": zones[k % len(zones)]},
                            {"name": "ecs.os-type", "value": "linux" if k % 4 else "windows"}],
             "registeredResources": resources, "remainingResources": resources} for k in range(count)]


def _write_fleet(tmp_path, instances, tasks=None) -> dict:
    """The scenario's ``fleet``: the instances (and tasks) written as ECS JSON files."""
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps({"containerInstances": instances}))
    source = {"file": str(path)}
    if tasks is not None:
        (tmp_path / "tasks.json").write_text(json.dumps({"tasks": tasks}))
        source["tasks"] = str(tmp_path / "tasks.json")
    return source


class Checked(Simulation):
    """A simulation that checks the invariants at every event it emits."""

    def emit(self, event: str, **fields) -> None:
        super().emit(event, **fields)
        state = self.placer.state
        state.sync()
        n = state.c.n
        for resource in ("cpu", "memory", "gpu"):
            assert (state.c.array(resource)[:n] >= 0).all(), f"{resource} over-committed after {event}"
        if event == "place" and "service" in fields:
            service = self.services[fields["service"]]
            most = service.desired * service.spec.deploymentConfiguration.maximumPercent // 100
            assert service.running() <= most + service.rebalancing, \
                f"{service.spec.name}: {service.running()} running, above the maximum, after {event}"
        if event == "stop" and fields.get("reason") == "replaced" and self.last_stopped_healthy:
            service = next(s for s in self.services.values() if s.spec.name in self.last_stopped_service)
            least = -(-service.desired * service.spec.deploymentConfiguration.minimumHealthyPercent // 100)
            assert service.healthy() >= least, f"{service.spec.name}: below the minimum healthy after a stop"
        if event == "place" and "service" in fields:
            service = self.services[fields["service"]]
            for constraint in service.constraints:
                if isinstance(constraint, MemberOf):
                    selected = placement.compile(constraint.expression).evaluate(self.fleet)
                    assert selected[self.fleet.position(fields["instance"])], \
                        f"{fields['task']} placed where {constraint.expression!r} does not hold"

    def stop(self, task, reason: str) -> None:
        self.last_stopped_service, self.last_stopped_healthy = task.service.spec.name, task.healthy
        super().stop(task, reason)


def _run(document: dict, fleet: dict | None = None, cls=Checked) -> Simulation:
    scenario = from_document({**document, "fleet": fleet} if fleet else document)
    return cls(scenario, events=True).run()


def _service_events(run: Simulation, name: str):
    return [e for e in run.events_json() if e.get("service") == name]


def _web(desired=4, minimum=100, maximum=200, **more) -> dict:
    return {"name": "web", "desiredCount": desired, "healthDelay": 30,
            "taskDefinition": {"cpu": 256, "memory": 512},
            "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
            "deploymentConfiguration": {"minimumHealthyPercent": minimum, "maximumPercent": maximum}, **more}


def _scenario(services, events=(), duration=600, **more) -> dict:
    return {"name": "test", "duration": duration, "services": list(services), "events": list(events), **more}


def _after_deploy(run: Simulation, name: str = "web") -> list[str]:
    events = _service_events(run, name)
    start = next(k for k, e in enumerate(events) if e["event"] == "deployment" and e["revision"] == 2)
    return [e["event"] for e in events[start + 1:] if e["event"] in ("place", "stop")]


# -- rolling updates ----------------------------------------------------------------------------------

def test_desired_4_minimum_50_stops_2_old_tasks_before_starting(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(12))
    run = _run(_scenario([_web(4, 50, 100)], [{"type": "deploy", "at": 100, "service": "web"}]), fleet)
    assert _after_deploy(run)[:4] == ["stop", "stop", "place", "place"]
    assert [d["status"] for d in run.report()["deployments"]] == ["COMPLETED", "COMPLETED"]


def test_desired_4_maximum_200_starts_4_new_tasks_before_stopping(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(12))
    run = _run(_scenario([_web(4, 100, 200)], [{"type": "deploy", "at": 100, "service": "web"}]), fleet)
    assert _after_deploy(run)[:5] == ["place"] * 4 + ["stop"]
    web = run.services["web"]
    assert len(web.primary.tasks) == 4 and all(t.deployment.revision == 2 for t in web.primary.tasks.values())


@pytest.mark.parametrize("desired, threshold", [(1, 10), (25, 13), (400, 200), (20, 10), (21, 11)])
def test_the_circuit_breaker_threshold(desired, threshold):
    assert breaker_threshold(desired) == threshold


def test_a_failing_revision_trips_the_breaker_and_rolls_back(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(30))
    web = _web(4, 100, 200)
    web["deploymentConfiguration"]["deploymentCircuitBreaker"] = {"enable": True, "rollback": True}
    bad = {"type": "deploy", "at": 100, "service": "web",
           "taskDefinition": {"revision": 2, "cpu": 256, "memory": 512, "unhealthyShare": 1.0}}
    run = _run(_scenario([web], [bad], duration=3600), fleet)
    deployments = run.report()["deployments"]
    assert [(d["revision"], d["status"]) for d in deployments] == [(1, "COMPLETED"), (2, "ROLLED_BACK"),
                                                                   (1, "COMPLETED")]
    assert deployments[1]["failures"] == deployments[1]["threshold"] == 10
    assert all(t.deployment.revision == 1 for t in run.services["web"].primary.tasks.values())
    assert run.services["web"].running() == 4


def test_a_failing_revision_without_rollback_is_failed_and_the_old_tasks_stay(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(30))
    web = _web(4, 100, 200)
    web["deploymentConfiguration"]["deploymentCircuitBreaker"] = {"enable": True}
    bad = {"type": "deploy", "at": 100, "service": "web",
           "taskDefinition": {"revision": 2, "cpu": 256, "memory": 512, "unhealthyShare": 1.0}}
    run = _run(_scenario([web], [bad], duration=3600), fleet)
    assert [d["status"] for d in run.report()["deployments"]] == ["COMPLETED", "FAILED"]
    old = [t for d in run.services["web"].deployments for t in d.tasks.values() if t.deployment.revision == 1]
    assert len(old) == 4 and all(t.healthy for t in old)


def test_a_task_never_placed_counts_toward_the_breaker_once_per_timeout(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(8, cpu=512))     # 6 linux instances
    web = _web(4, 100, 200, placementTimeout=60)
    web["deploymentConfiguration"]["deploymentCircuitBreaker"] = {"enable": True, "rollback": True}
    big = {"type": "deploy", "at": 100, "service": "web", "taskDefinition": {"cpu": 4096, "memory": 512}}
    run = _run(_scenario([web], [big], duration=3600), fleet)
    failed = run.report()["deployments"][1]
    assert failed["status"] == "ROLLED_BACK" and failed["failures"] >= 10
    assert "placement timeout" in failed["reason"]


def test_maximum_100_and_minimum_100_is_reported_stuck_once(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(12))
    run = _run(_scenario([_web(4, 100, 100)], [{"type": "deploy", "at": 100, "service": "web"}], duration=3600),
               fleet)
    stuck = [e for e in run.events_json() if e["event"] == "deployment" and e["status"] == "STUCK"]
    assert len(stuck) == 1 and stuck[0]["t"] == 100
    assert run.report()["deployments"][-1]["status"] == "STUCK"
    assert run.report()["loopEvents"] < 200                     # reported, not looped on


# -- scaling ------------------------------------------------------------------------------------------

def test_target_tracking_asks_for_ceil_of_running_times_metric_over_target(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(30))
    web = _web(2, 100, 200, load={"cpu": 2560},
               autoScaling={"minCapacity": 1, "maxCapacity": 50,
                            "targetTrackingScaling": [{"metric": "cpu", "targetValue": 50}]})
    run = _run(_scenario([web], duration=300), fleet)
    # 2 tasks of 256 cpu units under 2,560 units of load: 500 % each; ceil(2 x 500 / 50) = 20
    assert run.services["web"].scaling[0] == {"t": 60.0, "from": 2, "to": 20,
                                              "cause": "target tracking cpu 500.0 vs 50"}
    assert run.services["web"].desired == 20 and run.services["web"].running() == 20


def test_scale_in_waits_for_the_cooldown_and_never_during_a_deployment(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(30))
    web = _web(10, 100, 200, load={"cpu": 256},
               autoScaling={"minCapacity": 1, "maxCapacity": 50,
                            "targetTrackingScaling": [{"metric": "cpu", "targetValue": 50,
                                                       "scaleInCooldown": 600}]})
    run = _run(_scenario([web], [{"type": "deploy", "at": 30, "service": "web"}], duration=1500), fleet)
    scaling = run.services["web"].scaling
    deployed = next(d for d in run.report()["deployments"] if d["revision"] == 2)
    assert scaling[0]["t"] >= deployed["end"] and scaling[0]["to"] == 2
    assert len(scaling) == 1                                    # the cooldown holds the next one back


def test_step_scaling_adjusts_by_the_breach(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(30))
    web = _web(4, 100, 200, load={"cpu": [[0, 512], [600, 2048]]},
               autoScaling={"minCapacity": 1, "maxCapacity": 50, "stepScaling": [
                   {"metric": "cpu", "threshold": 70, "comparison": "GreaterThanOrEqualToThreshold",
                    "cooldown": 0, "stepAdjustments": [
                        {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 50, "scalingAdjustment": 1},
                        {"metricIntervalLowerBound": 50, "scalingAdjustment": 3}]}]})
    run = _run(_scenario([web], duration=400), fleet)
    # minute by minute: 4 tasks at 60 % (no breach), then 85 % (+1), then 100 % (+1)...
    steps = [(s["from"], s["to"]) for s in run.services["web"].scaling]
    assert steps and all(b - a in (1, 3) for a, b in steps)


def test_scheduled_actions_clamp_the_desired_count(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(30))
    web = _web(2, autoScaling={"minCapacity": 1, "maxCapacity": 10,
                               "scheduledActions": [{"at": "2m", "minCapacity": 6},
                                                    {"at": "5m", "minCapacity": 1, "maxCapacity": 3}]})
    run = _run(_scenario([web], duration=600), fleet)
    assert [(s["t"], s["to"]) for s in run.services["web"].scaling] == [(120.0, 6), (300.0, 3)]


def _burst(target=100, initial=2) -> dict:
    return _scenario(
        [{"name": "etl", "desiredCount": 10, "capacityProvider": "pool", "placementTimeout": "1h",
          "taskDefinition": {"cpu": 512, "memory": 1024}}],
        [{"type": "setDesiredCount", "at": 3600, "service": "etl", "desiredCount": 0}],
        duration=7200,
        capacityProviders=[{"name": "pool", "initialSize": initial, "maxSize": 20,
                            "instance": {"cpu": 1024, "memory": 4096},
                            "managedScaling": {"targetCapacity": target, "instanceWarmupPeriod": 120}}])


def test_capacity_reservation_is_m_over_n(tmp_path):
    run = _run(_burst())
    activity = run.providers["pool"].activity
    # 2 instances hold 4 tasks; 6 wait, 3 more instances' worth: M = 5, N = 2
    assert activity[0] == {"t": 60.0, "reservation": 250.0, "from": 2, "to": 5}
    assert run.services["etl"].running() == 0 and run.report()["services"]["etl"]["placed"] == 10


def test_a_target_under_100_keeps_spare_instances(tmp_path):
    run = _run(_burst(target=50))
    assert run.providers["pool"].activity[0]["to"] == 10        # ceil(5 x 100 / 50)


def test_no_instances_and_tasks_waiting_starts_2(tmp_path):
    run = _run(_burst(initial=0))
    assert run.providers["pool"].activity[0] == {"t": 60.0, "reservation": 0.0, "from": 0, "to": 2}


def test_managed_scale_in_removes_only_empty_instances(tmp_path):
    run = _run(_burst())
    on: dict[str, int] = {}
    for event in run.events_json():
        if event["event"] == "place":
            on[event["instance"]] = on.get(event["instance"], 0) + 1
        elif event["event"] == "stop":
            on[event["instance"]] -= 1
        elif event["event"] == "deregister":
            assert on.get(event["instance"], 0) == 0
    assert run.providers["pool"].terminated == 5 and not run.providers["pool"].arns


# -- drains, zones, spread ----------------------------------------------------------------------------

def test_a_drain_starts_replacements_first_then_deregisters_the_empty_instance(tmp_path):
    fleet = _write_fleet(tmp_path, _instances(12))
    run = _run(_scenario([_web(6)], duration=900), fleet)
    busy = next(iter({t.arn for t in run.services["web"].primary.tasks.values()}))
    fleet = _write_fleet(tmp_path, _instances(12))
    run = _run(_scenario([_web(6)], [{"type": "drain", "at": 120, "instances": [busy], "deregister": True}],
                         duration=900), fleet)
    after = [(e["event"], e["instance"]) for e in run.events_json()
             if e["t"] >= 120 and e["event"] in ("place", "stop", "deregister")]
    stops = [k for k, (event, arn) in enumerate(after) if event == "stop" and arn == busy]
    assert after[0][0] == "place" and stops and after.index(("deregister", busy)) > max(stops)
    assert all(t.arn != busy for t in run.tasks.values()) and run.services["web"].running() == 6


def test_zone_rebalancing_restores_the_balance_after_a_zone_returns(tmp_path):
    def final_skew(rebalancing: str) -> int:
        fleet = _write_fleet(tmp_path, _instances(24))
        web = _web(9, availabilityZoneRebalancing=rebalancing)
        run = _run(_scenario([web], [{"type": "zoneOutage", "at": 100, "zone": "us-east-1a"},
                                     {"type": "zoneReturn", "at": 400, "zone": "us-east-1a"}], duration=1800), fleet)
        return run.report()["services"]["web"]["finalZoneSkew"]
    assert final_skew("ENABLED") <= 1
    assert final_skew("DISABLED") >= 3


def test_spread_of_the_new_revision_only_is_not_skewed_by_outgoing_tasks(tmp_path):
    instances = _instances(30)
    old = [{"taskArn": f"old-{k}", "group": "service:web", "desiredStatus": "RUNNING",
            "containerInstanceArn": instances[3 * k + 1]["containerInstanceArn"],     # all in us-east-1b
            "cpu": "256", "memory": "512"} for k in range(6)]

    def new_revision_zones(only_new: bool) -> dict:
        fleet = _write_fleet(tmp_path, instances, old)
        web = _web(6, 100, 200, spreadNewRevisionOnly=only_new, availabilityZoneRebalancing="DISABLED")
        run = _run(_scenario([web], [{"type": "deploy", "at": 60, "service": "web"}], duration=600), fleet)
        zones: dict = {}
        for task in run.services["web"].primary.tasks.values():
            zones[task.zone] = zones.get(task.zone, 0) + 1
        return zones
    assert new_revision_zones(False) == {"us-east-1a": 3, "us-east-1c": 3}       # ECS: the old tasks count
    assert new_revision_zones(True) == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}


def test_the_fleets_tasks_of_a_service_are_adopted_as_its_first_revision(tmp_path):
    instances = _instances(6)
    old = [{"taskArn": f"old-{k}", "group": "service:web", "desiredStatus": "RUNNING",
            "containerInstanceArn": instances[k]["containerInstanceArn"], "cpu": "256", "memory": "512"}
           for k in range(1, 4)]
    fleet = _write_fleet(tmp_path, instances, old)
    run = _run(_scenario([_web(2)], duration=120), fleet)
    stops = [e for e in run.events_json() if e["event"] == "stop"]
    assert len(stops) == 1 and stops[0]["task"].startswith("old-") and stops[0]["reason"] == "scale-in"
    assert run.services["web"].running() == 2


# -- traces -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("queue", [False, True])
def test_a_trace_in_the_loop_places_as_the_plain_replay_task_by_task(tmp_path, queue):
    instances = _instances(20, cpu=65536, memory=262144)
    for record in instances:
        record["registeredResources"].append({"name": "GPU", "type": "INTEGER", "integerValue": 4})
        record["remainingResources"] = record["registeredResources"]
    fleet_path = _write_fleet(tmp_path, instances)["file"]
    tasks = synthetic_trace(400, seed=3, span=3000, mean_runtime=900)
    write_trace(tasks, tmp_path / "trace.jsonl")
    plain = replay(Fleet.read(fleet_path), tasks, queue=queue, seed=5)
    arns = plain.arns
    expected = [(t, kind, tasks[i].id) + ((arns[d],) if kind != "unplaced" else ())
                for t, kind, i, d in plain.events]
    end = max(t.departure for t in tasks)              # where the replay reports the tasks still waiting
    run = _run({"name": "trace", "duration": end, "seed": 5, "fleet": {"file": fleet_path},
                "trace": {"file": str(tmp_path / "trace.jsonl"), "queue": queue}}, cls=Simulation)
    got = [(e["t"], e["event"], e["task"]) + ((e["instance"],) if e["event"] != "unplaced" else ())
           for e in run.events_json() if e["event"] in ("place", "unplaced", "stop")]
    assert got == expected
    assert plain.report()["unplaced"] > 0                      # the trace does not fit: the queue matters


def test_a_synthetic_trace_is_the_same_for_the_same_seed():
    assert synthetic_trace(50, seed=1) == synthetic_trace(50, seed=1) != synthetic_trace(50, seed=2)
    assert all(isinstance(t, TraceTask) and t.departure > t.arrival for t in synthetic_trace(50))


# -- scenarios ----------------------------------------------------------------------------------------

def test_load_curves_are_straight_lines_between_points():
    points = [(0.0, 10.0), (100.0, 20.0), (100.0, 50.0), (200.0, 0.0)]
    assert [curve_at(points, t) for t in (-5, 0, 50, 100, 150, 250)] == [10.0, 10.0, 15.0, 20.0, 25.0, 0.0]
    assert curve_at(7, 1e9) == 7.0 and curve_at(None, 0) == 0.0


@pytest.mark.parametrize("change, message", [
    ({"duration": "10x"}, "seconds or a number with a unit"),
    ({"services": [{"name": "a"}, {"name": "a"}]}, "service names must be unique: a"),
    ({"services": [{"name": "a", "capacityProvider": "nope"}]}, "names capacity provider 'nope'"),
    ({"events": [{"type": "deploy", "at": 1, "service": "ghost"}]}, "events[0] names service 'ghost'"),
    ({"events": [{"type": "explode", "at": 1}]}, "$.events[0].type"),
    ({"services": [{"name": "a", "deploymentConfiguration": {"maximumPercent": 300}}]}, "maximumPercent"),
    ({"services": [{"name": "a", "load": {"cpu": [[10, 1], [5, 2]]}}]}, "in time order"),
    ({"fleet": {"demo": 5, "file": "x.json"}}, "either demo: N or file: PATH"),
])
def test_a_bad_scenario_is_an_input_error_saying_where(change, message):
    document = {"name": "bad", "duration": 60, "fleet": {"demo": 5}, **change}
    with pytest.raises(InputError) as error:
        from_document(document)
    assert message in str(error.value)


def test_relative_paths_in_a_scenario_file_are_taken_from_its_folder(tmp_path):
    _write_fleet(tmp_path, _instances(3))
    (tmp_path / "s.json").write_text(json.dumps({"name": "s", "duration": 60, "fleet": {"file": "fleet.json"}}))
    assert read_scenario(tmp_path / "s.json").fleet.file == str(tmp_path / "fleet.json")


@pytest.mark.parametrize("name", list(BUILTIN))
def test_every_built_in_runs_quick_with_the_invariants_held(name):
    scenario = builtin(name, quick=True)
    runs = [Checked(scenario, events=True).run()]
    for variant in scenario.variants:
        runs.append(Checked(scenario.variant(variant), variant=variant.name, events=True).run())
    for run in runs:
        report = run.report()
        assert report["eventsTotal"] == len(run.events_json()) > 0
        assert report["decisions"] > 0 and report["samples"][-1]["t"] == report["duration"]
        assert json.loads(json.dumps(report)) == report


def test_the_same_seed_gives_the_same_events():
    first, second = (run_scenario(builtin("web-rollout", quick=True), events=True) for _ in range(2))
    assert [r.events_json() for r in first] == [r.events_json() for r in second]
    assert np.diff([s["t"] for s in first[0].report()["samples"]]).min() > 0
