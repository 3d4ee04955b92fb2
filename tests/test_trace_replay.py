"""Traces and their replay (SPEC 4): the JSON Lines format read strictly, the Alibaba GPU trace
converted as ../shared/traces/README.md maps it, the replay equal to the reference replay event
by event (equal times, zero-length tasks, the queue), nothing ever over-committed, and the
``trace`` and ``simulate`` commands end to end. Small traces and CSVs are made here: a fresh
clone has no ../shared."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement import Fleet, InputError
from placement.cli import main
from placement.place.reference import eligible
from placement.place.requests import Binpack, DistinctInstance, MemberOf, Random, Spread
from placement.simulate.reference import replay_reference
from placement.simulate.replay import replay
from placement.simulate.trace import (
    TraceTask,
    convert_alibaba_gpu,
    parse_trace,
    read_trace,
    task_seed,
    task_seeds,
    write_trace,
)
from tests.property.strategies import placement_fleets

NODES = """sn,cpu_milli,memory_mib,gpu,model
node-0,32000,262144,0,
node-1,96000,786432,8,V100M32
node-2,8000,65536,1,T4
node-3,1000,1024,2,T4
"""
PODS = """name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
pod-0,12000,16384,1,1000,,LS,Running,0,100,0
pod-1,6000,12288,1,460,V100M16|V100M32|V100M32,LS,Failed,10,50,
pod-2,1,100,0,0,,BE,Pending,20,20,
pod-3,88000,1024,8,1000,T4,LS,Succeeded,30,,30
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- the converter ---------------------------------------------------------------------------------

def test_alibaba_machines_become_container_instances(tmp_path):
    converted = convert_alibaba_gpu(_write(tmp_path, "nodes.csv", NODES), _write(tmp_path, "pods.csv", PODS))
    fleet = Fleet.from_ecs(converted.fleet)
    assert fleet.arns[1].endswith("/node-1") and fleet[1].ec2_instance_id == "node-1"
    assert [i.remaining.cpu for i in fleet] == [32768, 98304, 8192, 1024]       # cpu_milli / 1000 x 1024
    assert [i.registered.memory for i in fleet] == [262144, 786432, 65536, 1024]
    assert [i.remaining.gpu for i in fleet] == [0, 8, 1, 2]
    assert "gpu-model" not in fleet[0].attributes and fleet[1].attributes["gpu-model"] == "V100M32"
    assert [i.attributes["ecs.availability-zone"] for i in fleet] == ["us-east-1a", "us-east-1b", "us-east-1c",
                                                                      "us-east-1a"]
    assert "round-robin" in converted.zones
    assert all(i.status == "ACTIVE" and i.agent_connected for i in fleet)


def test_alibaba_zones_can_be_drawn_with_a_seed(tmp_path):
    nodes = _write(tmp_path, "nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\n" +
                   "".join(f"n{i},1000,1,0,\n" for i in range(40)))
    pods = _write(tmp_path, "pods.csv", PODS)
    zones = [[a["value"] for m in convert_alibaba_gpu(nodes, pods, zones=2, seed=seed).fleet["containerInstances"]
              for a in m["attributes"] if a["name"] == "ecs.availability-zone"] for seed in (7, 7, 8)]
    assert zones[0] == zones[1] != zones[2] and set(zones[0]) == {"us-east-1a", "us-east-1b"}
    assert "seed 7" in convert_alibaba_gpu(nodes, pods, seed=7).zones
    with pytest.raises(InputError, match="--zones takes 1 to 26"):
        convert_alibaba_gpu(nodes, pods, zones=0)


def test_alibaba_pods_become_trace_tasks(tmp_path):
    converted = convert_alibaba_gpu(_write(tmp_path, "nodes.csv", NODES), _write(tmp_path, "pods.csv", PODS))
    tasks = converted.tasks
    assert [t.id for t in tasks] == ["pod-0", "pod-1", "pod-2", "pod-3"]      # every pod_phase is used
    assert [t.cpu for t in tasks] == [12288, 6144, 2, 90112]                 # ceil(cpu_milli x 1024 / 1000)
    assert [t.memory for t in tasks] == [16384, 12288, 100, 1024]
    assert [t.gpu for t in tasks] == [1, 1, 0, 8]                            # gpu_milli 460: one whole GPU
    assert tasks[1].constraints == (MemberOf("attribute:gpu-model in [V100M16, V100M32]"),)
    assert tasks[3].constraints == (MemberOf("attribute:gpu-model in [T4]"),) and not tasks[0].constraints
    assert [(t.arrival, t.departure) for t in tasks] == [(0, 100), (10, 50), (20, 20), (30, None)]
    assert all(t.group == "family:trace" for t in tasks)
    saturated = convert_alibaba_gpu(_write(tmp_path, "nodes.csv", NODES), _write(tmp_path, "pods.csv", PODS),
                                    saturate=True).tasks
    assert [t.departure for t in saturated] == [None] * 4
    assert [t.arrival for t in saturated] == [0, 10, 20, 30]


def test_alibaba_sample_without_times_arrives_in_row_order(tmp_path):
    pods = _write(tmp_path, "pods.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,1,8,1000\n"
                                        "p1,1000,1,1,500\n")
    tasks = convert_alibaba_gpu(_write(tmp_path, "nodes.csv", NODES), pods).tasks
    assert [(t.arrival, t.departure, t.gpu) for t in tasks] == [(0, None, 8), (1, None, 1)]


@pytest.mark.parametrize("nodes, pods, message", [
    (NODES.replace("gpu,model", "gpus,model"), PODS, "nodes.csv: no column 'gpu'"),
    (NODES.replace("node-2,8000", "node-2,8k"), PODS, "nodes.csv line 4: column 'cpu_milli' must be a whole number"),
    (NODES, PODS.replace("pod-2,1,100,0", "pod-2,-1,100,0"), "pods.csv line 4: column 'cpu_milli'"),
    (NODES, PODS.replace("pod-3", "pod-0"), "pods.csv line 5: task 'pod-0' is already named at pods.csv line 2"),
    (NODES, PODS.replace(",0,100,0\n", ",0,100\n"), "pods.csv line 2: expected 11 columns"),
])
def test_alibaba_bad_csv_names_the_line_and_column(tmp_path, nodes, pods, message):
    with pytest.raises(InputError, match=message):
        convert_alibaba_gpu(_write(tmp_path, "nodes.csv", nodes), _write(tmp_path, "pods.csv", pods))


# -- the trace format --------------------------------------------------------------------------------

def test_a_trace_reads_back_what_was_written(tmp_path):
    tasks = [TraceTask("a", 0.0, 5.5, 1024, 2048, 1, "family:train",
                       (MemberOf("attribute:gpu-model == T4"), DistinctInstance())),
             TraceTask("b", 1.0, None, 0, 0)]
    write_trace(tasks, tmp_path / "t.jsonl")
    back = read_trace(tmp_path / "t.jsonl")
    assert [(t.id, t.arrival, t.departure, t.cpu, t.memory, t.gpu, t.group, t.constraints) for t in back] == \
        [(t.id, t.arrival, t.departure, t.cpu, t.memory, t.gpu, t.group, t.constraints) for t in tasks]
    assert [t.line for t in back] == [1, 2]
    assert json.loads((tmp_path / "t.jsonl").read_text().splitlines()[1]) == \
        {"id": "b", "arrival": 1.0, "departure": None, "cpu": 0, "memory": 0, "gpu": 0}


def test_optional_fields_default_and_blank_lines_are_skipped():
    tasks = parse_trace(['{"id": "x", "arrival": 3, "departure": 1, "cpu": 1, "memory": 2}', "", "  \n",
                         '{"id": "y", "arrival": 4, "departure": null, "cpu": 0, "memory": 0, "constraints": []}'])
    assert [(t.gpu, t.group, t.constraints, t.line) for t in tasks] == [(0, "family:trace", (), 1),
                                                                         (0, "family:trace", (), 4)]
    assert tasks[0].departure == 1.0                     # a departure before the arrival is allowed


GOOD = {"id": "t", "arrival": 0, "departure": 1, "cpu": 1, "memory": 1}


@pytest.mark.parametrize("change, message", [
    ({"cpu": -1}, "'cpu' must be a whole number"),
    ({"memory": 1.5}, "'memory' must be a whole number"),
    ({"gpu": True}, "'gpu' must be a whole number"),
    ({"arrival": "soon"}, "'arrival' must be a number of seconds"),
    ({"departure": "x"}, "'departure' must be a number of seconds"),
    ({"id": ""}, "'id' must be a non-empty string"),
    ({"id": 3}, "'id' must be a non-empty string"),
    ({"group": ""}, "'group' must be a non-empty string"),
    ({"cpus": 1}, "unknown field 'cpus'"),
    ({"constraints": {"type": "memberOf"}}, "'constraints' must be a list"),
    ({"constraints": [{"type": "memberOf", "expression": "attribute:a =="}]}, "'constraints'\\[0\\]"),
    ({"constraints": [{"type": "distinctInstance", "expression": "x"}]}, "distinctInstance takes no expression"),
    ({"constraints": [{"type": "memberof"}]}, "unknown constraint type 'memberof'"),
])
def test_a_bad_line_is_an_input_error_naming_the_line_and_the_field(change, message):
    lines = [json.dumps({**GOOD, "id": "first"}), json.dumps({**GOOD, **change})]
    with pytest.raises(InputError, match=f"tasks.jsonl line 2: .*{message}"):
        parse_trace(lines, "tasks.jsonl")


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 1: not JSON"),
    ("[1, 2]", "line 1: expected a JSON object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "memory"}), "line 1: missing field 'memory'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "departure"}),
     "line 1: missing field 'departure' \\(null if the task runs to the end\\)"),
])
def test_malformed_and_incomplete_lines(line, message):
    with pytest.raises(InputError, match=message):
        parse_trace([line])


def test_a_repeated_id_names_both_lines():
    with pytest.raises(InputError, match="line 3: id 't' is already the id of line 1"):
        parse_trace([json.dumps(GOOD), json.dumps({**GOOD, "id": "u"}), json.dumps(GOOD)])


def test_a_missing_trace_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read trace"):
        read_trace(tmp_path / "nope.jsonl")


def test_task_seeds_as_arrays_equal_the_scalar_rule():
    for run_seed in (0, 1, 2**64 - 1, -5, 2**70 + 3):
        assert task_seeds(run_seed, 20) == [task_seed(run_seed, i) for i in range(20)]


# -- the replay ---------------------------------------------------------------------------------------

def _fleet(*cpu_memory_gpu, model=None):
    return Fleet.from_ecs({"containerInstances": [
        {"containerInstanceArn": f"ci-{i}", "status": "ACTIVE", "agentConnected": True,
         "attributes": [{"name": "zone", "value": "ab"[i % 2]}] + ([{"name": "gpu-model", "value": model[i]}]
                                                                    if model else []),
         "remainingResources": [{"name": "CPU", "type": "INTEGER", "integerValue": c},
                                {"name": "MEMORY", "type": "INTEGER", "integerValue": m},
                                {"name": "GPU", "type": "INTEGER", "integerValue": g}]}
        for i, (c, m, g) in enumerate(cpu_memory_gpu)]})


def _task(name, arrival, departure, cpu=1, memory=1, gpu=0, group="family:trace", constraints=()):
    return TraceTask(name, float(arrival), None if departure is None else float(departure), cpu, memory, gpu,
                     group, tuple(constraints))


def _both(fleet_of, tasks, strategies=None, queue=False, seed=0):
    """The fast replay's events, checked equal to the reference replay's."""
    run = replay(fleet_of(), tasks, strategies, queue=queue, seed=seed)
    assert run.events == replay_reference(fleet_of(), tasks, strategies, queue=queue, seed=seed)
    return run


def _brief(run):
    return [(t, kind, run.tasks[i].id, detail if kind == "unplaced" else run.arns[detail])
            for t, kind, i, detail in run.events]


def test_at_equal_times_departures_come_first():
    tasks = [_task("a", 0, 5, cpu=10), _task("b", 5, None, cpu=10)]
    run = _both(lambda: _fleet((10, 10, 0)), tasks, [Binpack("cpu")])
    assert _brief(run) == [(0.0, "place", "a", "ci-0"), (5.0, "stop", "a", "ci-0"), (5.0, "place", "b", "ci-0")]


def test_an_unplaced_task_is_not_retried_without_the_queue():
    tasks = [_task("a", 0, 5, cpu=10), _task("b", 1, 9, cpu=10)]
    run = _both(lambda: _fleet((10, 10, 0)), tasks, [Binpack("cpu")])
    assert [e[:3] for e in _brief(run)] == [(0.0, "place", "a"), (1.0, "unplaced", "b"), (5.0, "stop", "a")]
    assert run.events[1][3] == "0/1 instance is available: 1 insufficient cpu."
    report = run.report()
    assert (report["placed"], report["unplaced"], report["reasons"]) == (1, 1, {"cpu": 1})


def test_the_queue_retries_after_a_departure_and_drops_at_the_departure_time():
    tasks = [_task("a", 0, 5, cpu=10), _task("b", 1, 9, cpu=10), _task("c", 2, 4, cpu=10),
             _task("d", 3, None, cpu=10)]
    run = _both(lambda: _fleet((10, 10, 0)), tasks, [Binpack("cpu")], queue=True)
    assert [e[:3] for e in _brief(run)] == [(0.0, "place", "a"), (4.0, "unplaced", "c"), (5.0, "stop", "a"),
                                            (5.0, "place", "b"), (9.0, "stop", "b"), (9.0, "place", "d")]
    assert run.report()["waiting"] == {"placedAfterWaiting": 2, "dropped": 1, "waitingAtEnd": 0}


def test_a_small_waiting_task_may_pass_a_big_one_and_the_rest_wait_to_the_end():
    tasks = [_task("a", 0, 5, cpu=8), _task("b", 0, None, cpu=2), _task("big", 1, None, cpu=10),
             _task("small", 2, None, cpu=3), _task("also", 3, None, cpu=6)]
    run = _both(lambda: _fleet((10, 10, 0)), tasks, [Binpack("cpu")], queue=True)
    assert [e[:3] for e in _brief(run)] == [(0.0, "place", "a"), (0.0, "place", "b"), (5.0, "stop", "a"),
                                            (5.0, "place", "small"), (5.0, "unplaced", "big"),
                                            (5.0, "unplaced", "also")]
    assert run.report()["waiting"] == {"placedAfterWaiting": 1, "dropped": 0, "waitingAtEnd": 2}


def test_a_task_departing_no_later_than_it_arrives_is_placed_and_freed_at_once():
    tasks = [_task("zero", 1, 1, cpu=10), _task("before", 2, 0, cpu=10), _task("after", 2, 3, cpu=10)]
    run = _both(lambda: _fleet((10, 10, 0)), tasks, [Binpack("cpu")], queue=True)
    assert [e[:3] for e in _brief(run)] == [(1.0, "place", "zero"), (1.0, "stop", "zero"), (2.0, "place", "before"),
                                            (2.0, "stop", "before"), (2.0, "place", "after"), (3.0, "stop", "after")]
    assert run.report()["peak"]["running"] == 1


def test_a_stop_frees_exactly_what_the_task_took():
    tasks = [_task("a", 0, 2, cpu=6, memory=6, gpu=1), _task("b", 1, None, cpu=4, memory=4, gpu=1),
             _task("c", 3, None, cpu=6, memory=6, gpu=1), _task("d", 4, None, cpu=0, memory=0, gpu=0),
             _task("e", 5, None, cpu=1, memory=0, gpu=0)]
    run = _both(lambda: _fleet((10, 10, 2)), tasks, [Binpack("memory")])
    assert [e[1] for e in run.events] == ["place", "place", "stop", "place", "place", "unplaced"]
    assert run.report()["peak"] == {"t": 4.0, "running": 3, "cpu": 1.0, "memory": 1.0, "gpu": 1.0}


def test_constraints_of_the_task_and_strategies_of_the_run_both_apply():
    def fleet_of():
        return _fleet((10, 10, 1), (10, 10, 1), (10, 10, 1), model=["T4", "P100", "T4"])
    t4 = MemberOf("attribute:gpu-model in [T4]")
    tasks = [_task(f"t{i}", i, None, gpu=1, constraints=[t4]) for i in range(3)]
    run = _both(fleet_of, tasks, [Spread("attribute:zone")])
    assert [e[3] for e in run.events[:2]] == [0, 2] and run.events[2][1] == "unplaced"
    assert run.report()["reasons"] == {"GPUs + memberOf(attribute:gpu-model in [T4])": 1}


def test_no_strategy_is_random_and_seeded():
    def fleet_of():
        return _fleet(*[(10, 10, 0)] * 8)
    tasks = [_task(f"t{i}", i, None) for i in range(12)]
    runs = [_both(fleet_of, tasks, seed=seed) for seed in (3, 3, 4)]
    assert runs[0].events == runs[1].events != runs[2].events
    assert runs[0].report()["seed"] == 3 and runs[0].report()["strategies"] == [{"type": "random"}]
    assert _both(fleet_of, tasks, [Binpack("cpu")]).report()["seed"] is None


def test_the_report_samples_utilisation_over_the_span():
    tasks = [_task("a", 0, 90, cpu=5), _task("b", 45, None, cpu=5)]
    report = _both(lambda: _fleet((10, 10, 0)), tasks, [Binpack("cpu")]).report()
    assert [(p["t"], p["running"], p["cpu"]) for p in report["utilisation"][::3]] == \
        [(0.0, 1, 0.5), (30.0, 1, 0.5), (60.0, 2, 1.0), (90.0, 1, 0.5)]
    assert report["span"] == {"start": 0.0, "end": 90.0} and report["decisions"] == 2
    assert set(report["latencyMicroseconds"]) == {"p50", "p99", "max"}


def test_an_empty_trace_and_an_empty_fleet():
    assert _both(lambda: _fleet((1, 1, 0)), []).events == []
    run = _both(lambda: _fleet(), [_task("a", 0, 1)])
    assert run.events == [(0.0, "unplaced", 0, "0/0 instances are available.")]


# -- the replay against the reference, and its invariants ---------------------------------------------

CONSTRAINTS = [(), (DistinctInstance(),), (MemberOf("attribute:zone in [a, b]"),), (MemberOf("runningTasksCount < 2"),),
               (MemberOf("not(task:group == service:web)"),), (MemberOf("task:group == family:batch"),),
               (MemberOf("attribute:stack == prod"), DistinctInstance())]
STRATEGIES = [[], [Random()], [Binpack("memory")], [Binpack("cpu"), Spread("instanceId")],
              [Spread("attribute:zone"), Binpack("memory")], [Spread("attribute:zone"), Random()]]


@st.composite
def traces(draw):
    tasks = []
    for i in range(draw(st.integers(0, 14))):
        arrival = draw(st.integers(0, 6))
        length = draw(st.sampled_from([None, -1, 0, 1, 1, 2, 3, 5]))
        tasks.append(_task(f"t{i}", arrival, None if length is None else arrival + length,
                           draw(st.sampled_from([0, 128, 256, 512, 1024])), draw(st.sampled_from([0, 256, 512, 1024])),
                           draw(st.sampled_from([0, 0, 0, 1])),
                           draw(st.sampled_from(["family:batch", "service:web", "service:api"])),
                           draw(st.sampled_from(CONSTRAINTS))))
    return tasks


@st.composite
def contended_fleets(draw):
    """A few ACTIVE instances with room for a few tasks each, so that tasks wait for one another."""
    return {"tasks": [], "containerInstances": [
        {"containerInstanceArn": f"ci-{i}", "status": "ACTIVE", "agentConnected": True,
         "attributes": [{"name": "zone", "value": draw(st.sampled_from("ab"))}],
         "remainingResources": [
             {"name": "CPU", "type": "INTEGER", "integerValue": draw(st.sampled_from([1024, 1536, 2048]))},
             {"name": "MEMORY", "type": "INTEGER", "integerValue": draw(st.sampled_from([1024, 2048]))},
             {"name": "GPU", "type": "INTEGER", "integerValue": draw(st.integers(0, 2))}]}
        for i in range(draw(st.integers(1, 3)))]}


def check_never_over_committed(fleet, run):
    """Follow the events: a task is placed at most once, stopped only where it runs, on an eligible
    instance, and no instance ever holds more than it had free."""
    free = [[i.remaining.cpu, i.remaining.memory, i.remaining.gpu] for i in fleet]
    where, done = {}, set()
    for t, kind, i, detail in run.events:
        task = run.tasks[i]
        demand = (task.cpu, task.memory, task.gpu)
        if kind == "place":
            assert i not in where and i not in done and eligible(fleet[detail])
            where[i] = detail
            free[detail] = [f - d for f, d in zip(free[detail], demand)]
            assert min(free[detail]) >= 0, (t, task.id, free[detail])
        elif kind == "stop":
            assert where.pop(i) == detail
            done.add(i)
            free[detail] = [f + d for f, d in zip(free[detail], demand)]
        else:
            assert i not in where and i not in done
            done.add(i)
    times = [e[0] for e in run.events]
    assert times == sorted(times)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(placement_fleets(max_size=5), contended_fleets()), traces(), st.sampled_from(STRATEGIES),
       st.booleans(), st.integers(0, 2**64 - 1))
def test_the_replay_equals_the_reference_replay_event_by_event(document, tasks, strategies, queue, seed):
    def fleet_of():
        return Fleet.from_ecs(document, document["tasks"])
    run = _both(fleet_of, tasks, strategies, queue, seed)
    check_never_over_committed(fleet_of(), run)
    report = run.report()
    assert report["placed"] + report["unplaced"] == len(tasks)        # every task ends placed or unplaced
    assert report["unplaced"] == sum(report["reasons"].values())


# -- the commands --------------------------------------------------------------------------------------

def _converted(tmp_path, *extra):
    nodes, pods = _write(tmp_path, "nodes.csv", NODES), _write(tmp_path, "pods.csv", PODS)
    return main(["trace", "alibaba-gpu-v2023", str(nodes), str(pods), "--out", str(tmp_path / "out"), *extra])


def test_trace_command_writes_a_fleet_and_a_trace(tmp_path, capsys):
    assert _converted(tmp_path, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["machines"], out["tasks"], out["gpuTasks"], out["constrainedTasks"]) == (4, 4, 3, 2)
    assert out["span"] == {"start": 0.0, "end": 100.0, "days": 100 / 86400} and not out["saturate"]
    assert "round-robin" in out["zones"] and any("whole GPU" in note for note in out["notes"])
    assert len(Fleet.read(out["fleet"])) == 4 and len(read_trace(out["trace"])) == 4
    assert _converted(tmp_path, "--saturate", "--zones", "2", "--seed", "5") == 0
    text = capsys.readouterr().out
    assert "4 machines (11 GPUs), 4 tasks" in text and "drawn at random with seed 5" in text
    assert "departures dropped (--saturate)" in text and "next: placement simulate --fleet" in text


def test_trace_command_bad_input_exits_2(tmp_path, capsys):
    code = main(["trace", "alibaba-gpu-v2023", str(tmp_path / "no.csv"), str(tmp_path / "no.csv"),
                 "--out", str(tmp_path), "--json"])
    assert code == 2 and "cannot read" in json.loads(capsys.readouterr().out)["error"]["message"]


def test_simulate_command_end_to_end(tmp_path, capsys):
    _converted(tmp_path)
    capsys.readouterr()
    out = tmp_path / "out"
    events = tmp_path / "events.jsonl"
    argv = ["simulate", "--fleet", str(out / "fleet.json"), "--trace", str(out / "tasks.jsonl")]
    code = main([*argv, "--strategy", "binpack:memory", "--events-out", str(events), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1                                      # pod-3 asks for 88 cpus: no machine has them free
    assert (report["tasks"], report["placed"], report["unplaced"]) == (4, 3, 1)
    assert report["reasons"] == {"cpu": 1}
    assert report["strategies"] == [{"type": "binpack", "field": "memory"}] and report["seed"] is None
    assert {"fleet", "span", "peak", "utilisation", "decisions", "wallSeconds", "decisionsPerSecond",
            "latencyMicroseconds", "readSeconds", "commandSeconds", "eventsOut", "warnings"} <= set(report)
    assert report["fleet"]["instances"] == 4 and report["fleet"]["gpu"] == 11
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines[0] == {"t": 0.0, "event": "place", "task": "pod-0", "instance": lines[0]["instance"]}
    assert [(e["t"], e["event"], e["task"]) for e in lines] == [
        (0.0, "place", "pod-0"), (10.0, "place", "pod-1"), (20.0, "place", "pod-2"), (20.0, "stop", "pod-2"),
        (30.0, "unplaced", "pod-3"), (50.0, "stop", "pod-1"), (100.0, "stop", "pod-0")]
    assert lines[4]["reason"].startswith("0/4 instances are available: ")
    assert main([*argv, "--queue"]) == 1
    text = capsys.readouterr().out
    assert "replayed 4 tasks" in text and "strategy random, seed 0, waiting tasks queued" in text
    assert "peak: 2 tasks running" in text and "over time:" in text and "latency p50" in text


def test_simulate_exit_codes(tmp_path, capsys):
    trace = _write(tmp_path, "t.jsonl", json.dumps({**GOOD, "cpu": 0, "memory": 0}) + "\n")
    assert main(["simulate", "--demo", "5", "--trace", str(trace)]) == 0
    bad = _write(tmp_path, "bad.jsonl", json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "id": "u", "cpu": -1}) + "\n")
    capsys.readouterr()
    assert main(["simulate", "--demo", "5", "--trace", str(bad), "--json"]) == 2
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert "bad.jsonl line 2: 'cpu' must be a whole number" in message
    assert main(["simulate", "--demo", "5", "--trace", str(trace), "--strategy", "binpack:gpu"]) == 2
