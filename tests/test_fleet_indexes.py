"""The fleet's lookup indexes: ARN -> row (``FleetStore.position``), task id -> task
(``TaskTable.index``), both ``StringIndex`` hash tables over the string buffers, and each row's
live tasks (``TaskLinks``). They must answer exactly as the dicts they replace through registers,
deregisters, compactions, task starts and stops, whatever the strings (unicode, look-alikes that
pack to the same bytes) and whatever the hash (every string colliding included), and stay small."""
from __future__ import annotations

import contextlib
import threading
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import placement
from placement import Fleet
from placement.errors import InputError
from placement.fleet import store as fleet_store
from placement.fleet import strings
from placement.fleet.store import TaskTable
from placement.fleet.strings import StringBuffer, StringIndex

# strings that pack alike or nearly: "i-abc" (odd hex) and "i-0abc" (even) hold the same bytes
LOOKALIKES = ["i-abc", "i-0abc", "i-ABC", "i-00abc", "x/abc", "x-abc", "x:abc", "abc", "0abc", "", "/", "-",
              "task-7", "task-07", "task-10", "héllo/wörld", "snow☃man-ff", "\ud800", "x/\udfff", "emoji/😀",
              "a\x00b", "arn:aws:ecs:us-east-1:123456789012:container-instance/demo/" + "0f" * 16,
              "arn:aws:ecs:us-east-1:123456789012:container-instance/demo/" + "0F" * 16, "ff" * 300]
HASHES = {
    "python": hash,
    "constant": lambda text: 7,                     # every string collides
    "two buckets": lambda text: len(text) & 1,
    "negative": lambda text: -(1 << 63) + (hash(text) & 3),
}


@contextlib.contextmanager
def hashed_by(function):
    was = strings.text_hash
    strings.text_hash = function
    try:
        yield
    finally:
        strings.text_hash = was


texts = st.one_of(st.text(st.characters(codec=None, exclude_categories=()), max_size=12),
                  st.builds(lambda head, digits: head + digits,
                            st.sampled_from(["", "i-", "i-0", "arn:x/", "task-", "a/b-"]),
                            st.text("0123456789abcdefA", max_size=10)),
                  st.sampled_from(LOOKALIKES))


# -- StringIndex on its own ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(HASHES))
def test_every_string_is_found_at_its_row_and_no_other_is(name):
    with hashed_by(HASHES[name]):
        buffer = StringBuffer(LOOKALIKES)
        index = StringIndex.build(buffer)
        assert len(index) == len(LOOKALIKES)
        for row, text in enumerate(LOOKALIKES):
            assert index.find(text) == row and index[text] == row and text in index and index.get(text) == row
        for missing in ["i-0ABC", "i-abcd", "task-70", "x/\ud800", "héllo/wörl", "ff" * 299, "0" + "ff" * 300]:
            assert index.find(missing) == -1 and missing not in index and index.get(missing, "no") == "no"
            with pytest.raises(KeyError):
                index[missing]
        for odd in [None, 7, b"i-abc", ("i-abc",), ["i-abc"], 1.5]:
            assert index.find(odd) == -1 and odd not in index
            with pytest.raises(KeyError):
                index[odd]


def test_a_str_subclass_is_looked_up_as_the_string_it_holds():
    class Tricky(str):
        def __hash__(self):
            return 1

        def __eq__(self, other):
            return False

    index = StringIndex.build(StringBuffer(LOOKALIKES))
    assert index.find(Tricky("i-0abc")) == 1 and Tricky("emoji/😀") in index


def test_rows_filed_one_by_one_many_at_once_and_taken_out():
    buffer = StringBuffer()
    index = StringIndex(buffer, np.zeros(0, np.uint32), np.zeros(0, np.int64))
    names = [f"arn:x/{k:08x}" for k in range(5000)]
    for row, name in enumerate(names[:100]):              # one by one, through several table growths
        buffer.append(name)
        index.add(row, name)
    buffer.extend(names[100:])
    index.add_many(100, names[100:])                       # vectorised, and grown once
    assert all(index.find(name) == row for row, name in enumerate(names))
    for row in range(0, 5000, 3):
        index.discard(row)
    index.discard(0)                                       # twice: ignored
    assert len(index) == 5000 - len(range(0, 5000, 3))
    assert all(index.find(name) == (-1 if row % 3 == 0 else row) for row, name in enumerate(names))
    assert index.slots.dtype == np.int32 and index.hashes.dtype == np.uint32
    assert index.slots.nbytes <= 2 * 4 * 5000 + 64 + 4 * 16 * 5000 // 10   # about 2 slots a row filed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hash_name=st.sampled_from(sorted(HASHES)),
       ops=st.lists(st.one_of(st.tuples(st.just("add"), texts), st.tuples(st.just("add many"), st.lists(texts)),
                              st.tuples(st.just("discard"), st.integers(0, 1000)), st.just(("compact",))),
                    max_size=40))
def test_an_index_answers_as_a_dict_through_any_changes(hash_name, ops):
    with hashed_by(HASHES[hash_name]):
        buffer = StringBuffer()
        index = StringIndex.build(buffer)
        model: dict[str, int] = {}
        gone: set[str] = set()
        for op, *args in ops:
            if op == "add" and args[0] not in model:
                model[args[0]] = buffer.append(args[0])
                index.add(model[args[0]], args[0])
            elif op == "add many":
                new = list(dict.fromkeys(t for t in args[0] if t not in model))
                first = len(buffer)
                buffer.extend(new)
                index.add_many(first, new)
                model.update(zip(new, range(first, first + len(new))))
            elif op == "discard" and model:
                text = sorted(model, key=model.get)[args[0] % len(model)]
                index.discard(model.pop(text))
                gone.add(text)
            elif op == "compact":                          # as FleetStore._compact: rows renumbered
                keep = np.array(sorted(model.values()), dtype=np.int64)
                buffer = buffer.kept(keep)
                index = index.kept(keep, buffer)
                model = {text: k for k, text in enumerate(sorted(model, key=model.get))}
            assert len(index) == len(model)
            for text, row in model.items():
                assert index.find(text) == row and buffer[row] == text
            for text in gone - model.keys():
                assert index.find(text) == -1
        rebuilt = StringIndex.build(buffer, np.array(sorted(model.values()), dtype=np.int64))
        assert all(rebuilt.find(text) == row for text, row in model.items())


# -- the fleet's ARN index -------------------------------------------------------------------------

def _instance(arn: str, zone: str = "a") -> dict:
    return {"containerInstanceArn": arn, "status": "ACTIVE", "agentConnected": True,
            "attributes": [{"name": "zone", "value": zone}],
            "remainingResources": [{"name": "CPU", "integerValue": 4096}, {"name": "MEMORY", "integerValue": 8192}]}


def _check_positions(fleet: Fleet, gone=()) -> None:
    arns = fleet.arns
    assert [fleet.position(arn) for arn in arns] == list(range(len(arns)))
    for arn in gone:
        with pytest.raises(InputError, match="no container instance"):
            fleet.position(arn)


def test_lookups_follow_registers_deregisters_and_a_compaction():
    fleet = placement.demo(5000, seed=3)
    store = fleet.store
    arns = fleet.arns
    fleet.put_attribute(arns[10], "x", "y")                 # builds the ARN index
    index = store._position
    rng = np.random.default_rng(5)
    leaving = [arns[k] for k in rng.permutation(5000)[:fleet_store.COMPACT_AFTER + 200].tolist()]
    for k, arn in enumerate(leaving[:1000]):
        fleet.deregister(arn)
        if k % 100 == 0:
            fleet.register(_instance(f"{arn}-again-{k}"))
    assert store._position is index and store.dead_rows          # kept in place: nothing rebuilt
    _check_positions(fleet, leaving[:1000:97])
    size = store.size
    for arn in leaving[1000:]:
        fleet.deregister(arn)
    assert store.size < size                                       # compacted (and some dead since)
    assert store._position is not index
    _check_positions(fleet, leaving[::211])
    fleet.register([_instance(arn) for arn in leaving[:3]])        # back, at new rows
    fleet.put_attribute(leaving[0], "x", "z")
    assert fleet[fleet.position(leaving[0])].attributes["x"] == "z"
    _check_positions(fleet, leaving[3::500])
    with pytest.raises(InputError, match="already registered"):
        fleet.register(_instance(leaving[1]))
    for bad in [None, 5, ["x"], b"arn", arns[0][:-1], arns[0] + "0"]:
        if bad not in fleet.arns:
            with pytest.raises(InputError, match="no container instance"):
                fleet.put_attribute(bad, "x", "y")


UNICODE_ARNS = ["arn:aws:ecs:eu-west-1:1:container-instance/çluster/" + "ab" * 16, "ci-héllo/wörld",
                "ci-snow☃man-ff", "ci-emoji/😀", "i-abc", "i-0abc", "i-ABC", "ci/00", "ci/0", "ci-ω-0"]


@pytest.mark.parametrize("name", sorted(HASHES))
def test_unicode_and_look_alike_arns_under_any_hash(name, monkeypatch):
    monkeypatch.setattr(fleet_store, "COMPACT_AFTER", 0)
    with hashed_by(HASHES[name]):
        fleet = Fleet.from_ecs([_instance(arn) for arn in UNICODE_ARNS])
        for k, arn in enumerate(UNICODE_ARNS):
            fleet.put_attribute(arn, "k", str(k))
        assert [fleet[fleet.position(arn)].attributes["k"] for arn in UNICODE_ARNS] == \
            [str(k) for k in range(len(UNICODE_ARNS))]
        fleet.deregister("i-abc")
        fleet.deregister("ci/0")
        _check_positions(fleet, ["i-abc", "ci/0"])
        assert fleet.position("i-0abc") == 4 and fleet.position("ci/00") == 6
        for arn in UNICODE_ARNS[:6]:                     # compacted as soon as dead rows outnumber the live
            if arn != "i-abc":
                fleet.deregister(arn)
        fleet.register([_instance("i-abc"), _instance("ci/0")])
        _check_positions(fleet, UNICODE_ARNS[:4])
        assert fleet.arns == ["i-ABC", "ci/00", "ci-ω-0", "i-abc", "ci/0"]


def test_every_arn_colliding_on_a_demo_fleet(monkeypatch):
    monkeypatch.setattr(fleet_store, "COMPACT_AFTER", 0)
    with hashed_by(HASHES["constant"]):
        fleet = placement.demo(150, seed=1)
        arns = fleet.arns
        for arn in arns[::7]:
            fleet.put_attribute(arn, "x", arn[-4:])
        started = fleet.start_task(arns[3], "service:c", 3, cpu=1)
        fleet.stop_task(arns[3], "service:c", cpu=1)
        fleet.stop_tasks([started[0]])
        assert fleet[3].task_groups.get("service:c") == 1
        for arn in arns[:100]:
            fleet.deregister(arn)
        _check_positions(fleet, arns[:100:9])
        assert fleet[fleet.position(arns[105])].attributes["x"] == arns[105][-4:]


def test_concurrent_readers_build_one_index_each_whole():
    fleet = placement.demo(20_000, seed=2)
    arns = fleet.arns
    barrier = threading.Barrier(4, timeout=20)
    errors: list = []

    def read(offset):
        try:
            barrier.wait()
            for k in range(offset, 20_000, 997):
                assert fleet.position(arns[k]) == k
        except Exception as error:               # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=read, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive()                 # finished, not timed out (its asserts then ran)
    assert not errors and len(fleet.store._position) == 20_000


# -- task ids and each row's tasks -----------------------------------------------------------------

def _add(table: TaskTable, ids, row: int = 0, group: str = "g") -> range:
    n = len(ids)
    return table.add(ids, [row] * n, [group] * n, [0] * n, [0] * n, [0] * n, [frozenset()] * n)


def test_a_repeated_task_id_is_refused_with_the_dicts_messages(monkeypatch):
    monkeypatch.setattr(fleet_store, "LAZY_AFTER", 0)
    table = TaskTable()
    _add(table, ["t-a", "t-b", "t-a", "t-c"])                  # a fleet's first tasks: checked on first use
    with pytest.raises(InputError, match=r"tasks: taskArn 't-a' appears twice"):
        table.index
    table = TaskTable()
    _add(table, ["t-a", "t-b"])
    with pytest.raises(InputError, match=r"task 't-b' is already in the fleet"):
        _add(table, ["t-c", "t-b"])
    with pytest.raises(InputError, match=r"task 't-d' is already in the fleet"):
        _add(table, ["t-d", "t-d"])
    assert table.size == 2 and table.index.get("t-c") is None and table.index["t-b"] == 1
    _add(table, [None, "t-c"])                                 # a made-up id: task-<number>
    assert table.index["task-2"] == 2 and table.index.get("t-c") == 3
    assert table.add_one(0, "g", 0, 0, 0, frozenset()) == range(4, 5) and table.index["task-4"] == 4


@pytest.mark.parametrize("name", sorted(HASHES))
def test_task_ids_are_found_after_many_starts_under_any_hash(name, monkeypatch):
    monkeypatch.setattr(fleet_store, "LAZY_AFTER", 8)
    with hashed_by(HASHES[name]):
        table = TaskTable()
        first = [f"arn:task/c/{k:x}" for k in range(40)] + ["t-é", "task-07", "i-abc", "i-0abc"]
        _add(table, first)                                   # lazy: indexed on first use
        assert table._index is None
        for k in range(60):
            table.add_one(k % 5, "g", 0, 0, 0, frozenset())
        _add(table, [f"more-{k}" for k in range(100)], row=2)  # more than LAZY_AFTER, not the first
        ids = table.ids.tolist()
        assert len(set(ids)) == table.size == 204
        assert all(table.index[task_id] == k for k, task_id in enumerate(ids))
        assert table.index["task-45"] == 45 and table.index["task-07"] == 41 and table.index.get("task-7") is None
        assert "i-0ABC" not in table.index and table.index.get("nope") is None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hash_name=st.sampled_from(sorted(HASHES)), compact=st.booleans(), lazy=st.booleans(),
       ops=st.lists(st.tuples(st.sampled_from(["start", "start", "stop", "stop id", "deregister", "register"]),
                              st.integers(0, 5), st.sampled_from(["a", "b"]), st.sampled_from([0, 1]),
                              st.integers(1, 3)), max_size=30))
def test_each_rows_tasks_follow_starts_stops_and_deregisters(hash_name, compact, lazy, ops):
    saved = fleet_store.COMPACT_AFTER, fleet_store.LAZY_AFTER
    fleet_store.COMPACT_AFTER, fleet_store.LAZY_AFTER = (0 if compact else saved[0]), (0 if lazy else saved[1])
    try:
        with hashed_by(HASHES[hash_name]):
            arns = [f"ci-{k}" for k in range(4)]
            tasks = [{"taskArn": f"arn:task/{k}", "group": "ab"[k % 2], "desiredStatus": "RUNNING",
                      "containerInstanceArn": arns[k % 3], "cpu": "0", "memory": "0"} for k in range(7)]
            fleet = Fleet.from_ecs([_instance(arn) for arn in arns], tasks)
            model = [(t["taskArn"], t["containerInstanceArn"], t["group"], 0) for t in tasks]   # in start order
            serial = 0
            for op, k, group, cpu, count in ops:
                if not fleet.arns:
                    break
                arn = fleet.arns[k % len(fleet.arns)]
                if op == "start":
                    for task_id in fleet.start_task(arn, group, count, cpu=cpu):
                        model.append((task_id, arn, group, cpu))
                elif op == "stop":
                    same = [m for m in model if m[1:] == (arn, group, cpu)]
                    if len(same) < count:
                        with pytest.raises(InputError, match="cannot stop"):
                            fleet.stop_task(arn, group, count, cpu=cpu)
                    else:
                        fleet.stop_task(arn, group, count, cpu=cpu)
                        for m in same[-count:]:                    # the most recent ones
                            model.remove(m)
                elif op == "stop id" and model:
                    m = model[k % len(model)]
                    fleet.stop_tasks([m[0]])
                    model.remove(m)
                    with pytest.raises(InputError, match="no running task"):
                        fleet.stop_tasks([m[0]])
                elif op == "deregister":
                    fleet.deregister(arn)
                    model = [m for m in model if m[1] != arn]
                elif op == "register":
                    serial += 1
                    fleet.register(_instance(f"ci-new-{serial}"))
            store = fleet.store
            table = store.tasks
            for arn in fleet.arns:
                row = store.position[arn]
                on = [m for m in model if m[1] == arn]
                assert [table.ids[t] for t in table.on_row(row)] == [m[0] for m in on]
                assert fleet[fleet.position(arn)].task_groups == dict(sorted(Counter(m[2] for m in on).items()))
            assert sorted(fleet.tasks.ids) == sorted(m[0] for m in model)
    finally:
        fleet_store.COMPACT_AFTER, fleet_store.LAZY_AFTER = saved


def test_stop_task_takes_the_most_recent_matching_ones_first():
    fleet = Fleet.from_ecs([_instance("ci-0"), _instance("ci-1")])
    a = fleet.start_task("ci-0", "g", 2, cpu=1)
    b = fleet.start_task("ci-0", "g", 2, cpu=2)
    c = fleet.start_task("ci-0", "h", 1, cpu=1)
    d = fleet.start_task("ci-1", "g", 1, cpu=1)
    table, row = fleet.store.tasks, fleet.store.position["ci-0"]
    fleet.stop_task("ci-0", "g", cpu=1)                            # a[1], not b or c
    assert [table.ids[t] for t in table.on_row(row)] == [a[0], *b, *c]
    fleet.stop_task("ci-0", "g", 2)                                # b, newest first
    assert [table.ids[t] for t in table.on_row(row)] == [a[0], *c]
    with pytest.raises(InputError, match="runs 1 such tasks of 'g'; cannot stop 2"):
        fleet.stop_task("ci-0", "g", 2)
    with pytest.raises(InputError, match="runs 0 such tasks of 'nope'"):
        fleet.stop_task("ci-0", "nope")
    fleet.stop_tasks([c[0], a[0]])
    assert table.on_row(row) == [] and table.row_counts(row) == {}
    assert [table.ids[t] for t in table.on_row(fleet.store.position["ci-1"])] == d


def test_stopping_no_tasks_changes_nothing():
    fleet = Fleet.from_ecs([_instance("ci-0")])
    fleet.start_task("ci-0", "g", 3)
    record = fleet[0]
    fleet.stop_task("ci-0", "g", 0)
    assert fleet[0] is record and fleet[0].task_groups == {"g": 3}      # the kept record: nothing changed
    with pytest.raises(InputError):
        fleet.stop_task("ci-nope", "g", 0)


def test_a_made_up_task_id_is_fresh_when_a_given_taskarn_is_spelt_like_one():
    tasks = [{"taskArn": id_, "group": "g", "desiredStatus": "RUNNING", "containerInstanceArn": "ci-0",
              "cpu": "0", "memory": "0"} for id_ in ("task-2", "task-2-1")]
    fleet = Fleet.from_ecs([_instance("ci-0")], tasks)
    assert fleet.start_task("ci-0", "g") == ["task-2-2"]                # task 2, whose task-2 was given
    assert fleet.start_task("ci-0", "g", 2) == ["task-3", "task-4"]
    assert fleet[0].task_groups == {"g": 5}
    table = TaskTable()
    assert [table.ids[t] for t in _add(table, [None, "task-0"])] == ["task-0-1", "task-0"]   # given in the batch


def test_indexes_are_kept_not_rebuilt_by_each_event():
    fleet = placement.demo(3000, seed=4)
    arn = fleet.arns[7]
    fleet.stop_tasks(fleet.start_task(arn, "g"))
    store = fleet.store
    position, index, links = store._position, store.tasks._index, store.tasks._stacks
    for k in range(50):
        started = fleet.start_task(arn, "g", 2)
        fleet.stop_task(arn, "g")
        fleet.stop_tasks(started[:1])
        fleet.register(_instance(f"ci-extra-{k}"))
        fleet.deregister(fleet.arns[k])
    assert store._position is position and store.tasks._index is index and store.tasks._stacks is links


# -- what they cost ----------------------------------------------------------------------------------

def test_the_indexes_cost_a_few_bytes_an_instance():
    from placement.bench.memory import fleet_breakdown
    n = 30_000
    fleet = placement.demo(n, seed=0)
    arn = fleet.store.arns[0]
    fleet.stop_tasks(fleet.start_task(arn, "service:memory-check"))   # what the memory bench does
    _, parts = fleet_breakdown(fleet)
    parts = dict(parts)
    assert parts["ARN index"] / n <= 24, parts["ARN index"] / n
    assert parts["task indexes"] / n <= 60, parts["task indexes"] / n
