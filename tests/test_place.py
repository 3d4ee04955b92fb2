"""Placement: request parsing, the Placer API, and the `placement place` command."""
import json
import re

import numpy as np
import pytest

from placement import Fleet, InputError
from placement.cli import main
from placement.place import (Binpack, Demand, DistinctInstance, MemberOf, Placer, Random, Spread,
                             ecs_service_default)
from placement.place.reference import place_reference
from placement.place.requests import (constraints_from_json, demand_from_task_definition,
                                        parse_strategy_option, request_from_json, strategies_from_json)


def instance(i, zone, cpu=1024, memory=2048, **extra):
    return {"containerInstanceArn": f"ci-{i}", "status": "ACTIVE", "agentConnected": True,
            "attributes": [{"name": "ecs.availability-zone", "value": zone}],
            "remainingResources": [{"name": "CPU", "integerValue": cpu}, {"name": "MEMORY", "integerValue": memory},
                                   {"name": "PORTS", "stringSetValue": extra.pop("ports", [])}], **extra}


FLEET = {"containerInstances": [instance(0, "a"), instance(1, "a", memory=1024), instance(2, "b"),
                                instance(3, "b", status="DRAINING"), instance(4, "c", agentConnected=False),
                                instance(5, "c", ports=["80"])]}


@pytest.fixture
def fleet():
    return Fleet.from_ecs(FLEET)


def positions(result):
    return [p.position for p in result.placements]


def test_spread_then_binpack(fleet):
    result = Placer(fleet, [Spread("attribute:ecs.availability-zone"), Binpack("memory")]).place(
        4, 256, 512, group="service:web", seed=1)
    assert positions(result) == [1, 2, 5, 1]       # a (least memory), b, c, then a again


def test_ineligible_instances_are_never_chosen(fleet):
    result = Placer(fleet, [Binpack("cpu")]).place(30, 256, 256, group="g", seed=1)
    assert {p.position for p in result.placements} <= {0, 1, 2, 5}


def test_static_ports_in_use_and_taken_by_earlier_tasks(fleet):
    result = Placer(fleet, [Binpack("memory")]).place(5, 0, 0, ports=[80], group="g", seed=1)
    assert sorted(positions(result)) == [0, 1, 2] and result.unplaced == 2
    assert result.reasons["ports"] == 4            # ci-5 had 80 in use; the others took it earlier


def test_distinct_instance_counts_earlier_tasks_of_the_call(fleet):
    result = Placer(fleet, [Binpack("memory")]).place(6, 0, 0, group="g", constraints=[DistinctInstance()], seed=1)
    assert sorted(positions(result)) == [0, 1, 2, 5] and result.unplaced == 2


def test_reasons_count_each_step_and_clause(fleet):
    result = Placer(fleet).place(1, 4096, 0, group="g", seed=1)
    assert result.unplaced == 1
    assert result.reasons["ineligible"] == 2 and result.reasons["cpu"] == 4
    constraint = MemberOf("attribute:ecs.availability-zone == a and attribute:stack exists")
    result = Placer(fleet).place(1, 0, 0, group="g", constraints=[constraint], seed=1)
    (entry,) = result.reasons["constraints"]
    assert entry["removed"] == 4
    assert [c["false"] for c in entry["clauses"]] == [2, 4]


def test_release_returns_resources_and_placements_survive_fleet_changes(fleet):
    placer = Placer(fleet, [Binpack("memory")])
    first = placer.place(1, 0, 1024, group="g", seed=1)
    assert positions(first) == [1]                 # ci-1 now has 0 MiB left
    fleet.register(instance(9, "z", memory=4096))
    assert positions(placer.place(1, 0, 1024, group="g", seed=1)) == [0]   # ci-1 is still full
    placer.release("ci-1", "g", memory=1024)
    assert placer.state.c.array("memory")[1] == 1024
    assert positions(placer.place(2, 0, 1024, group="g", seed=1)) == [0, 1]
    with pytest.raises(InputError):
        placer.release("ci-2", "g", memory=1024)


def test_placed_tasks_have_ids_and_stop_frees_exactly_what_each_took(fleet):
    placer = Placer(fleet, [Binpack("memory")])
    result = placer.place(2, 100, 512, ports=[80, 0], group="g", seed=1)
    assert result.task_ids == ["placed-0", "placed-1"] and result.host_ports.tolist() == [[80, 49153]] * 2
    memory = placer.state.c.array("memory")
    assert [memory[p] for p in positions(result)] == [512, 1536]
    placer.stop(["placed-0"])
    assert memory[positions(result)[0]] == 1024 and not placer.state.c.in_use(positions(result)[0], 80)
    with pytest.raises(InputError, match="no running task"):
        placer.stop(["placed-0"])
    with pytest.raises(InputError, match="no running task"):
        placer.stop(["nope"])
    with pytest.raises(InputError) as caught:                                   # the bad one, not the one before
        placer.stop(np.array([1, 0]))
    assert re.search(r"no running task (np\.int64\()?0\)? on", str(caught.value))
    assert placer.state.c.alive(1)                                              # all or none
    with pytest.raises(InputError, match="no running task 'placed-1' on this placer \\(or named twice\\)"):
        placer.stop(["placed-1", "placed-1"])
    placer.stop(["placed-1"])


def test_stop_names_a_bad_task_given_as_a_set_or_generator(fleet):
    placer = Placer(fleet)
    placer.place(1, 0, 0, group="g", seed=1)
    with pytest.raises(InputError, match="no running task 12345 on this placer"):
        placer.stop({12345})
    with pytest.raises(InputError, match="no running task 'placed-0' on this placer \\(or named twice\\)"):
        placer.stop(t for t in ["placed-0", "placed-0"])
    assert placer.state.c.alive(0)


def test_the_same_seed_gives_the_same_random_placements(fleet):
    a = Placer(fleet).place(10, 0, 0, group="g", seed=42)
    b = Placer(fleet).place(10, 0, 0, group="g", seed=42)
    assert positions(a) == positions(b) and a.seed == 42
    assert Placer(fleet).place(1, 0, 0, group="g").seed is not None


def test_defaults():
    assert ecs_service_default() == [Spread("attribute:ecs.availability-zone"), Spread("instanceId")]
    assert Placer(Fleet.from_ecs([])).strategies == [Random()]


@pytest.mark.parametrize("call, complaint", [
    (lambda p: p.place(-1, 0, 0, group="g"), "count"),
    (lambda p: p.place(10**12, 0, 0, group="g"), "count"),
    (lambda p: p.place(1, -5, 0, group="g"), "cpu"),
    (lambda p: p.place(1, 0, 0, group=""), "group"),
    (lambda p: p.place(1, 0, 0, ports=[80, 80], group="g"), "more than once"),
    (lambda p: p.place(1, 0, 0, ports=[70000], group="g"), "port"),
    (lambda p: p.place(1, 0, 0, group="g", constraints=[MemberOf("attribute:a exists")] * 11), "at most 10"),
    (lambda p: p.place(1, 0, 0, group="g", strategies=[Random()] * 6), "at most 5"),
    (lambda p: p.place(1, 0, 0, group="g", constraints=["attribute:a exists"]), r"constraints\[0\]"),
    (lambda p: p.place(1, 0, 0, group="g", constraints="attribute:a exists"), "constraints must be a list"),
    (lambda p: p.place(1, 0, 0, group="g", strategies=[{"type": "random"}]), r"strategies\[0\]"),
    (lambda p: p.place(1, 0, 0, ports=80, group="g"), "ports must be a list"),
    (lambda p: p.place(1, True, 0, group="g"), "cpu"),
    (lambda p: p.release("ci-0", "g", ports=80), "ports must be a list"),
])
def test_bad_requests_are_input_errors(fleet, call, complaint):
    placer = Placer(fleet)
    placer.place(1, 1, 0, group="g", constraints=[MemberOf("attribute:a exists")] * 10)  # a valid kind, kept
    for _ in range(2):          # what a placer remembers of valid requests must not let a bad one through
        with pytest.raises(InputError, match=complaint):
            call(placer)


def test_a_bad_expression_in_a_constraint_is_a_syntax_error(fleet):
    from placement import QuerySyntaxError
    with pytest.raises(QuerySyntaxError):
        Placer(fleet).place(1, 0, 0, group="g", constraints=[MemberOf("attribute:a ==")])


# -- ECS JSON ----------------------------------------------------------------------------------

def test_constraints_and_strategies_from_json():
    assert constraints_from_json([{"type": "memberOf", "expression": "attribute:a exists"},
                                  {"type": "distinctInstance"}]) == [MemberOf("attribute:a exists"), DistinctInstance()]
    assert strategies_from_json([{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                 {"type": "binpack", "field": "MEMORY"}, {"type": "random"}]) == [
        Spread("attribute:ecs.availability-zone"), Binpack("memory"), Random()]
    assert parse_strategy_option("spread:host") == Spread("host")


@pytest.mark.parametrize("items, complaint", [
    ([{"type": "distinctInstance", "expression": "attribute:a exists"}], r"placementConstraints\[0\].*no expression"),
    ([{"type": "memberOf"}], "needs an expression"),
    ([{"type": "sameInstance"}], "unknown constraint type"),
    ([{"type": "memberOf", "expression": "attribute:a exists"}] * 11, "at most 10"),
    ("memberOf", "must be a list"),
])
def test_bad_constraints_json(items, complaint):
    with pytest.raises(InputError, match=complaint):
        constraints_from_json(items)


@pytest.mark.parametrize("items, complaint", [
    ([{"type": "binpack", "field": "disk"}], r"placementStrategy\[0\].*cpu or memory"),
    ([{"type": "spread", "field": "zone"}], "instanceId, host or attribute"),
    ([{"type": "spread"}], "needs a field"),
    ([{"type": "random", "field": "x"}], "no field"),
    ([{"type": "roundrobin"}], "unknown strategy type"),
    ([{"type": "random"}] * 6, "at most 5"),
])
def test_bad_strategies_json(items, complaint):
    with pytest.raises(InputError, match=complaint):
        strategies_from_json(items)


def test_task_definition_demand():
    demand, family, constraints = demand_from_task_definition({"taskDefinition": {
        "family": "web", "networkMode": "bridge",
        "containerDefinitions": [
            {"cpu": 128, "memory": 256, "portMappings": [{"containerPort": 80, "hostPort": 8080},
                                                           {"containerPort": 81, "hostPort": 0},
                                                           {"containerPort": 53, "hostPort": 53, "protocol": "udp"}]},
            {"cpu": 64, "memoryReservation": 128, "resourceRequirements": [{"type": "GPU", "value": "1"}]}],
        "placementConstraints": [{"type": "memberOf", "expression": "attribute:stack == prod"}]}})
    assert demand == Demand(192, 384, 1, (8080, 0))              # 0: the dynamic port of container port 81
    assert family == "web" and constraints == [MemberOf("attribute:stack == prod")]
    demand, _, _ = demand_from_task_definition({"cpu": "1 vCPU", "memory": "2 GB", "networkMode": "host",
                                                "containerDefinitions": [{"portMappings": [{"containerPort": 80}]}]})
    assert demand == Demand(1024, 2048, 0, (80,))
    demand, _, _ = demand_from_task_definition({"cpu": "256", "memory": "512", "networkMode": "awsvpc",
                                                "containerDefinitions": [{"portMappings": [{"containerPort": 80}]}]})
    assert demand == Demand(256, 512)


def test_run_task_and_create_service_requests():
    assert request_from_json({"count": 3, "group": "service:x", "placementStrategy": [{"type": "random"}]}) == {
        "count": 3, "group": "service:x", "strategies": [Random()]}
    assert request_from_json({"serviceName": "web", "desiredCount": 2}) == {"count": 2, "group": "service:web"}
    with pytest.raises(InputError):
        request_from_json({"count": -1})


# -- the command ---------------------------------------------------------------------------------

@pytest.fixture
def fleet_file(tmp_path):
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(FLEET))
    return str(path)


def run_json(capsys, *argv):
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_place_json_contract(capsys, fleet_file):
    code, out = run_json(capsys, "place", "--fleet", fleet_file, "--count", "3", "--cpu", "256", "--memory", "512",
                         "--group", "service:web", "--strategy", "spread:attribute:ecs.availability-zone",
                         "--strategy", "binpack:memory", "--seed", "1")
    assert code == 0
    assert out["placements"] == [{"task": t, "containerInstanceArn": arn, "taskId": f"placed-{t}", "hostPorts": []}
                                 for t, arn in enumerate(["ci-1", "ci-2", "ci-5"])]
    assert out["unplaced"] == 0 and out["reasons"] == {}


def test_place_exit_1_with_reasons_when_some_tasks_do_not_fit(capsys, fleet_file):
    code, out = run_json(capsys, "place", "--fleet", fleet_file, "--count", "3", "--cpu", "256", "--memory", "512",
                         "--group", "g", "--constraint", "memberOf:attribute:ecs.availability-zone == b",
                         "--constraint", "distinctInstance", "--seed", "1")
    assert code == 1 and len(out["placements"]) == 1 and out["unplaced"] == 2
    assert out["reasons"]["constraints"][0]["removed"] == 3


def test_place_from_request_and_task_definition(capsys, fleet_file, tmp_path):
    request = tmp_path / "run-task.json"
    request.write_text(json.dumps({"count": 2, "placementConstraints": [{"type": "distinctInstance"}],
                                   "placementStrategy": [{"type": "binpack", "field": "memory"}]}))
    definition = tmp_path / "td.json"
    definition.write_text(json.dumps({"family": "batch", "cpu": "256", "memory": "512", "containerDefinitions": []}))
    code, out = run_json(capsys, "place", "--fleet", fleet_file, "--request", str(request),
                         "--task-definition", str(definition), "--seed", "1")
    assert code == 0 and [p["containerInstanceArn"] for p in out["placements"]] == ["ci-1", "ci-0"]


@pytest.mark.parametrize("argv", [
    ["--count", "1", "--cpu", "1", "--memory", "1"],                                  # no group
    ["--count", "1", "--group", "g"],                                                 # no size
    ["--count", "1", "--cpu", "1", "--memory", "1", "--group", "g", "--strategy", "binpack:disk"],
    ["--count", "1", "--cpu", "1", "--memory", "1", "--group", "g", "--constraint", "distinctInstance:x"],
    ["--count", "1", "--cpu", "1", "--memory", "1", "--group", "g", "--constraint", "memberOf:attribute:a =="],
])
def test_place_bad_input_exits_2(capsys, fleet_file, argv):
    code, out = run_json(capsys, "place", "--fleet", fleet_file, *argv)
    assert code == 2 and "error" in out


def test_place_for_people(capsys):
    code = main(["place", "--demo", "60", "--count", "500", "--cpu", "1024", "--memory", "1024", "--group", "g",
                 "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 1 and "per availability zone" in out and "tasks not placed" in out


@pytest.mark.slow
def test_reference_and_fast_placer_agree_on_the_demo_fleet():
    import placement
    fleet = placement.demo(400, 5)
    for strategies in (ecs_service_default(), [Binpack("cpu"), Random()]):
        expected = place_reference(fleet, Demand(256, 512), 200, "service:web", [], strategies, seed=9)
        got = Placer(fleet, strategies).place(200, 256, 512, group="service:web", seed=9)
        assert positions(got) == positions(expected)


@pytest.mark.parametrize("strategies", [
    [Spread("attribute:ecs.availability-zone"), Binpack("memory")], [Binpack("cpu")], [Spread("instanceId")],
    ecs_service_default(), [Binpack("memory"), Spread("attribute:ecs.instance-type"), Spread("host")],
    [Spread("attribute:stack"), Spread("attribute:team"), Binpack("cpu")]])
def test_indexes_and_scan_agree_on_large_batches(strategies):
    import placement
    fleet = placement.demo(1500, 11)
    results = []
    for use_index in (True, False):
        placer = Placer(fleet, strategies)
        placer.use_index = use_index
        first = placer.place(4000, 64, 128, group="service:web", seed=3)
        second = placer.place(500, 512, 1024, ports=[9000], group="service:api", seed=3)
        results.append((first.positions.tolist(), second.positions.tolist(), second.reasons))
    assert results[0] == results[1]


def test_calls_in_turn_keep_every_kind_of_request_current():
    """Requests of one group alternate between spreads over different fields, binpack and random,
    with releases between: each call must see what the others placed (each kind keeps its own
    index), exactly as the reference placer on a fleet where every placement is a running task."""
    import placement
    fleet = placement.demo(120, 4)
    model = Fleet(fleet.columns)
    chains = [[Spread("attribute:ecs.availability-zone")], [Spread("attribute:ecs.instance-type")],
              [Spread("attribute:ecs.availability-zone"), Binpack("memory")], [Random(), Binpack("cpu")],
              [Spread("instanceId")]]
    placer, placed = Placer(fleet), []
    for step in range(40):
        strategies, demand = chains[step % len(chains)], Demand(64 * (step % 3), 128)
        expected = place_reference(model, demand, 3, "service:web", [], strategies, seed=step)
        got = placer.place(3, demand.cpu, demand.memory, group="service:web", strategies=strategies, seed=step)
        assert [p.arn for p in got.placements] == [p.arn for p in expected.placements], step
        for arn in got.arns:
            model.start_task(arn, "service:web", cpu=demand.cpu, memory=demand.memory)
            placed.append((arn, demand))
        if step % 4 == 3:
            arn, stopped = placed.pop(step % len(placed))
            placer.release(arn, "service:web", stopped.cpu, stopped.memory)
            model.stop_task(arn, "service:web", cpu=stopped.cpu, memory=stopped.memory)


def test_a_long_running_placer_sheds_its_change_log_and_stays_exact(fleet):
    """Thousands of calls and releases, past the point where the change log is trimmed; a kind of
    request used rarely falls behind the trimmed log and is rebuilt. Every call must match the
    reference placer on a fleet where every placement is a running task."""
    kinds = [(Demand(128, 256), [Spread("attribute:ecs.availability-zone"), Binpack("memory")]),
             (Demand(0, 512, ports=(8080,)), [Binpack("cpu")]), (Demand(64, 64, ports=(0,)), [Random()])]
    placer, model, placed = Placer(fleet), Fleet(fleet.columns), []
    for step in range(1500):
        demand, strategies = kinds[2] if step % 700 == 699 else kinds[step % 2]
        got = placer.place(1, demand.cpu, demand.memory, ports=demand.ports, group="g", strategies=strategies,
                           seed=step)
        expected = place_reference(model, demand, 1, "g", [], strategies, seed=step)
        assert got.arns == expected.arns and got.host_ports.tolist() == expected.host_ports.tolist(), step
        for arn, task_id, host in zip(got.arns, got.task_ids, got.host_ports.tolist()):
            placed.append((task_id, model.start_task(arn, "g", cpu=demand.cpu, memory=demand.memory, ports=host)[0]))
        if len(placed) > 3 or not got.arns:
            if placed:
                task_id, model_id = placed.pop(step % len(placed))
                placer.stop([task_id])
                model.stop_tasks([model_id])
    assert placer.state.c.log_start > 0


def test_a_service_request_without_strategy_spreads_like_ecs(capsys, fleet_file, tmp_path):
    request = tmp_path / "create-service.json"
    request.write_text(json.dumps({"serviceName": "web", "desiredCount": 3}))
    code, out = run_json(capsys, "place", "--fleet", fleet_file, "--request", str(request),
                         "--cpu", "0", "--memory", "0", "--seed", "1")
    assert code == 0
    assert [p["containerInstanceArn"] for p in out["placements"]] == ["ci-0", "ci-2", "ci-5"]   # zones a, b, c


def test_place_many_rebuilds_an_index_left_too_far_behind():
    """Stopping more tasks than a catch-up is worth leaves the index stale: place_many rebuilds it
    (it used to ask for the same stale index again, forever)."""
    from placement.fleet import demo_documents
    from placement.place import Binpack
    fleet = Fleet.from_ecs(demo_documents(300, 5)[0])
    placer = Placer(fleet, [Binpack("memory")])
    placer.prepare("service:web")
    first = placer.place_many([200], [16], [32])
    placer.stop(first.tasks)
    again = placer.place_many([1], [16], [32])
    assert again.placed.tolist() == [1] and again.rows.tolist() == first.rows[:1].tolist()
