"""Host ports and scale-in (SPEC 2b): each rule on a small fleet, the fast placer and the
reference agreeing, and the `placement scale-in` command."""
import json

import pytest

import placement
from placement import Fleet, InputError
from placement.cli import main
from placement.place import Binpack, Demand, Placer, Random, Spread
from placement.place.reference import place_reference, select_to_stop_reference


def instance(i, zone="a", ports=(), cpu=4096, memory=8192, status="ACTIVE"):
    return {"containerInstanceArn": f"ci-{i}", "status": status, "agentConnected": True,
            "attributes": [{"name": "ecs.availability-zone", "value": zone}],
            "remainingResources": [{"name": "CPU", "integerValue": cpu}, {"name": "MEMORY", "integerValue": memory},
                                   {"name": "PORTS", "stringSetValue": [str(p) for p in ports]}]}


def both(fleet, count, ports, ephemeral=(49153, 65535), strategies=(Binpack("memory"),), memory=0):
    """Place with the fast placer and the reference; they must agree; the fast result."""
    got = Placer(fleet, list(strategies), ephemeral_ports=ephemeral).place(count, 0, memory, ports=ports, group="g",
                                                                             seed=1)
    expected = place_reference(fleet, Demand(0, memory, 0, tuple(ports)), count, "g", [], list(strategies), 1,
                               ephemeral=ephemeral)
    assert got.arns == expected.arns and got.host_ports.tolist() == expected.host_ports.tolist()
    assert got.unplaced == expected.unplaced and got.reasons == expected.reasons
    return got


def test_a_dynamic_port_is_the_lowest_free_one_of_the_range_and_never_a_reserved_one():
    fleet = Fleet.from_ecs([instance(0, ports=[51677])])
    got = both(fleet, 3, [0], ephemeral=(51676, 51682))
    assert got.host_ports.tolist() == [[51676], [51681], [51682]]    # 51677 in use, 51678-51680 reserved
    assert both(fleet, 4, [0], ephemeral=(51676, 51682)).unplaced == 1


def test_a_tasks_static_ports_are_taken_before_its_dynamic_ones():
    fleet = Fleet.from_ecs([instance(0)])
    got = both(fleet, 2, [0, 49153, 0])
    assert got.host_ports.tolist() == [[49154, 49153, 49155], [49156, 49153, 49157]][:1] + got.host_ports.tolist()[1:]
    assert got.arns == ["ci-0"] and got.unplaced == 1                # 49153 is taken by the first task
    assert got.reasons["ports"] == 1


def test_an_instance_fits_only_with_enough_free_ports_in_its_range():
    fleet = Fleet.from_ecs([instance(0), instance(1)])
    got = both(fleet, 3, [0, 0], ephemeral=(40000, 40003))
    assert got.arns == ["ci-0", "ci-0", "ci-1"] or got.arns == ["ci-0", "ci-1", "ci-0"]
    assert sorted(map(tuple, got.host_ports.tolist())) == [(40000, 40001), (40000, 40001), (40002, 40003)]


def test_at_most_100_reserved_ports_and_dynamic_ones_do_not_count():
    fleet = Fleet.from_ecs([instance(0, ports=range(1000, 1099))])         # 99 reserved
    assert both(fleet, 1, [80, 81]).unplaced == 1                           # 101 > 100
    assert both(fleet, 1, [80]).unplaced == 0
    assert both(fleet, 5, [0]).unplaced == 0


def test_stopping_a_task_frees_its_ports_for_the_next():
    fleet = Fleet.from_ecs([instance(0)])
    placer = Placer(fleet)
    first = placer.place(1, ports=[80, 0], group="g")
    assert placer.place(1, ports=[80], group="g").unplaced == 1
    placer.stop(first.task_ids)
    assert placer.place(1, ports=[80, 0], group="g").host_ports.tolist() == [[80, 49153]]


def test_the_ephemeral_range_is_checked():
    fleet = Fleet.from_ecs([instance(0)])
    for bad in ("61000-32768", "x-y", (0, 10), "1-70000", 5):
        with pytest.raises(InputError, match="ephemeral port range"):
            Placer(fleet, ephemeral_ports=bad)
    assert Placer(fleet, ephemeral_ports="32768-61000").ephemeral_ports == (32768, 61000)


def test_place_json_reports_host_ports_in_request_order(capsys, tmp_path):
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps({"containerInstances": [instance(0)]}))
    code = main(["place", "--fleet", str(path), "--count", "1", "--cpu", "0", "--memory", "0", "--group", "g",
                 "--port", "80", "--port", "0", "--ephemeral-ports", "32768-61000", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["placements"][0]["hostPorts"] == [80, 32768]


# -- scale-in ---------------------------------------------------------------------------------------

def scale_fleet(draining=()):
    """Three zones; tasks of service:web in the order the describe-tasks input gives them."""
    instances = [instance(i, zone, cpu=1024 * (i + 1), status="DRAINING" if i in draining else "ACTIVE")
                 for i, zone in enumerate("aabbbc")]
    layout = [0, 0, 1, 2, 3, 3, 4, 4, 4, 5]                               # rows of the tasks
    tasks = [{"taskArn": f"t{k}", "group": "service:web", "containerInstanceArn": f"ci-{row}",
              "desiredStatus": "RUNNING", "cpu": "128", "memory": "256"} for k, row in enumerate(layout)]
    tasks.append({"taskArn": "other", "group": "service:api", "containerInstanceArn": "ci-4",
                  "desiredStatus": "RUNNING"})
    return Fleet.from_ecs(instances, tasks)


def stops(fleet, count, strategies=None, seed=0):
    got = Placer(fleet).select_to_stop("service:web", count, strategies, seed)
    assert got.task_ids == select_to_stop_reference(fleet, "service:web", count, strategies, seed)
    return got.task_ids


def test_no_strategy_stops_in_the_zone_with_the_most_tasks_then_on_its_busiest_instance():
    # zone b has 6 tasks (ci-2, ci-3 x2, ci-4 x3): its busiest ci-4 loses its last task t8, then ci-3 and
    # ci-4 tie (the highest position), then ci-3; then zones a and b tie at 3 and ci-0 is the busiest
    assert stops(scale_fleet(), 4) == ["t8", "t7", "t5", "t1"]


def test_spread_balances_the_buckets_and_ties_go_to_the_highest_position():
    assert stops(scale_fleet(), 3, [Spread("attribute:ecs.availability-zone")]) == ["t8", "t7", "t6"]
    # spread(instanceId): the instance with the most tasks, ties to the highest position
    assert stops(scale_fleet(), 4, [Spread("instanceId")]) == ["t8", "t7", "t5", "t1"]


def test_binpack_stops_where_the_most_is_left_after_the_stop():
    # remaining cpu = 1024 (i + 1), plus the stopped task's 128: ci-5 (t9) has the most
    assert stops(scale_fleet(), 2, [Binpack("cpu")]) == ["t9", "t8"]


def test_tasks_on_instances_that_are_not_active_go_first():
    assert stops(scale_fleet(draining={0}), 3)[:2] == ["t1", "t0"]


def test_random_is_seeded_and_a_short_group_stops_every_task():
    fleet = scale_fleet()
    assert stops(fleet, 10, [Random()], seed=5) == stops(fleet, 10, [Random()], seed=5)
    got = Placer(fleet).select_to_stop("service:web", 12)
    assert got.short == 2 and sorted(got.task_ids) == sorted(f"t{k}" for k in range(10))
    assert got.remaining["tasks"] == 0


def test_stopped_tasks_free_what_they_took():
    fleet = scale_fleet()
    placer = Placer(fleet)
    before = placer.state.c.array("cpu")[4]
    assert placer.select_to_stop("service:web", 1).task_ids == ["t8"]
    assert placer.state.c.array("cpu")[4] == before + 128
    assert placer.select_to_stop("service:web", 1).task_ids == ["t7"]          # the state moved on


@pytest.mark.slow
@pytest.mark.parametrize("strategies", [None, [Spread("attribute:ecs.availability-zone"), Binpack("memory")],
                                        [Binpack("cpu"), Spread("instanceId")], [Spread("attribute:stack")],
                                        [Spread("attribute:ecs.instance-type"), Random()]])
def test_fast_scale_in_equals_the_reference_on_the_demo_fleet(strategies):
    fleet = placement.demo(300, 3)
    for group in ("service:web", "service:api"):
        got = Placer(fleet).select_to_stop(group, 60, strategies, seed=7)
        assert got.task_ids == select_to_stop_reference(fleet, group, 60, strategies, 7)


def test_scale_in_command(capsys, tmp_path):
    fleet = scale_fleet()
    fleet_file, tasks_file = tmp_path / "fleet.json", tmp_path / "tasks.json"
    fleet_file.write_text(json.dumps({"containerInstances": [instance(i, z) for i, z in enumerate("aabbbc")]}))
    tasks_file.write_text(json.dumps({"tasks": [{"taskArn": t, "group": g, "desiredStatus": "RUNNING",
                                                 "containerInstanceArn": f"ci-{r}"} for t, g, r in
                                                zip(fleet.tasks.ids, fleet.tasks.groups, fleet.tasks.rows.tolist())]}))
    argv = ["scale-in", "--fleet", str(fleet_file), "--tasks", str(tasks_file), "--group", "service:web"]
    assert main(argv + ["--count", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stop"] == [{"taskArn": "t8", "containerInstanceArn": "ci-4"},
                           {"taskArn": "t7", "containerInstanceArn": "ci-4"}]
    assert out["remaining"]["attribute:ecs.availability-zone"] == {"a": 3, "b": 4, "c": 1}
    assert main(argv + ["--count", "20", "--json"]) == 1 and len(json.loads(capsys.readouterr().out)["stop"]) == 10
    for bad in (["--count", "-1"], ["--count", "1", "--strategy", "binpack:disk"]):
        assert main(argv + bad + ["--json"]) == 2 and "error" in json.loads(capsys.readouterr().out)
    assert main(["scale-in", "--fleet", str(tmp_path / "missing.json"), "--group", "g", "--count", "1"]) == 2
    capsys.readouterr()
    assert main(argv + ["--count", "2"]) == 0 and "stop 2 of 2 tasks" in capsys.readouterr().out


def test_a_long_churn_reuses_task_slots_and_port_room():
    """Thousands of tasks come and go with static and dynamic ports: the state stays as large as
    the most tasks running at once, every running task keeps the ports it was given (through the
    pool's compactions), and once all have stopped the placer places as a fresh one would."""
    import random
    fleet = Fleet.from_ecs([instance(i, ports=[22, 2375]) for i in range(6)])
    placer = Placer(fleet, [Spread("instanceId")])
    rng = random.Random(7)
    running: dict[int, tuple[str, list[int]]] = {}
    peak = 0
    shapes = [(), (0,), (0, 0, 0), (8080, 0), (9000,), (0,) * 7]
    for round_ in range(3000):
        ports = rng.choice(shapes)
        got = placer.place(rng.randint(1, 4), cpu=1, memory=1, ports=ports, group=f"g{round_ % 3}")
        for k, number in enumerate(got.tasks.tolist()):
            running[number] = (got.arns[k], got.host_ports[k].tolist() if ports else [])
        peak = max(peak, len(running))
        if len(running) > 30 or rng.random() < 0.3:
            gone = rng.sample(sorted(running), rng.randint(1, len(running)))
            placer.stop(gone)
            for number in gone:
                del running[number]
        if round_ % 97 == 0:
            state = placer.state
            for number, (arn, ports_given) in running.items():
                row, _, _, _, _, origin, held = state.c.task(number)
                assert origin == -1 and fleet.store.arns[row] == arn and sorted(held) == sorted(ports_given)
                assert all(state.c.in_use(row, port) for port in held)
    state = placer.state
    assert state.c.tasks > 5000 and state.c.slots <= peak
    assert state.c.pool_size <= 4 * 7 * peak + 64
    placer.stop(sorted(running))
    fresh = Placer(fleet, [Spread("instanceId")])
    for ports in shapes + shapes[::-1]:
        again, first = placer.place(3, cpu=1, memory=1, ports=ports, group="h"), fresh.place(3, cpu=1, memory=1,
                                                                                             ports=ports, group="h")
        assert again.arns == first.arns
        assert (again.host_ports is None and first.host_ports is None) or \
            again.host_ports.tolist() == first.host_ports.tolist()
    for name in ("cpu", "memory", "running"):
        assert state.c.array(name)[:6].tolist() == fresh.state.c.array(name)[:6].tolist()
