"""The compiled engine: binding, rebinding, plans, and refusing hostile input before any kernel runs."""
from dataclasses import replace

import numpy as np
import pytest

import placement
from placement import Fleet, InputError
from placement.engine._kernels import ColumnType, GroupMode, NodeKind, Program
from placement.fleet.columns import DictionaryColumn, GroupColumn

DOC = {"containerInstances": [
    {"containerInstanceArn": f"ci-{i}", "ec2InstanceId": f"i-{i}", "runningTasksCount": i % 3,
     "attributes": [{"name": "zone", "value": z}] + ([{"name": "gpu"}] if i % 4 == 0 else [])}
    for i, z in enumerate(["a", "b", "c", "a", "d", "e", "f", "b"])]}
TASKS = {"tasks": [{"group": "service:web", "containerInstanceArn": "ci-1", "desiredStatus": "RUNNING"}]}


@pytest.fixture
def fleet():
    return Fleet.from_ecs(DOC, TASKS)



def test_a_constant_narrowed_test_builds_no_buckets(monkeypatch):
    """A test of registeredAt that holds everywhere binds as a constant before its buckets
    (a pass over the column) are made."""
    from placement.engine import bind
    from placement.fleet import columns as columns_module
    from placement.lang import intervals
    predicate = placement.compile("registeredAt >= 2024-01-01")
    monkeypatch.setattr(columns_module, "BUCKETS_FROM", 0)
    monkeypatch.setattr(bind.intervals, "of", lambda expr: intervals.EVERYTHING)      # what binds to const
    fleet = placement.demo(20, 1)
    assert predicate.evaluate(fleet).all()
    assert fleet.columns.__dict__.get("_narrowed", {}) == {}

def test_evaluate_defaults_to_the_compiled_backend_and_matches_the_reference(fleet):
    predicate = placement.compile("attribute:zone in [a, b] and not(task:group == service:web)")
    assert fleet.ids(predicate.evaluate(fleet)) == ["ci-0", "ci-3", "ci-7"]
    assert (predicate.evaluate(fleet) == predicate.evaluate(fleet, backend="reference")).all()
    assert predicate.count(fleet) == 3


def test_a_bound_plan_is_reused_until_the_fleet_changes(fleet):
    predicate = placement.compile("attribute:zone == z")
    bound = predicate.bind(fleet)
    assert predicate.bind(fleet) is bound
    assert predicate.count(fleet) == 0
    fleet.put_attribute("ci-2", "zone", "z")
    assert predicate.bind(fleet) is not bound
    assert fleet.ids(predicate.evaluate(fleet)) == ["ci-2"]


@pytest.mark.parametrize("change, text, expected", [
    (lambda f: f.put_attribute("ci-0", "gpu", "a100"), "attribute:gpu == a100", ["ci-0"]),
    (lambda f: f.put_attribute("ci-0", "brand-new"), "attribute:brand-new exists", ["ci-0"]),
    (lambda f: f.delete_attribute("ci-0", "zone"), "attribute:zone !exists", ["ci-0"]),
    (lambda f: f.start_task("ci-5", "database"), "task:group == database", ["ci-5"]),
    (lambda f: f.stop_task("ci-1", "service:web"), "task:group exists", []),
    (lambda f: f.start_task("ci-0", "x", 2), "runningTasksCount == 2", ["ci-0", "ci-2", "ci-5"]),
    (lambda f: f.deregister("ci-0"), "attribute:zone == a", ["ci-3"]),
    (lambda f: f.register({"containerInstanceArn": "ci-9", "attributes": [{"name": "zone", "value": "a"}]}),
     "attribute:zone == a", ["ci-0", "ci-3", "ci-9"]),
])
def test_mutations_show_in_both_backends(fleet, change, text, expected):
    predicate = placement.compile(text)
    predicate.evaluate(fleet)
    change(fleet)
    assert fleet.ids(predicate.evaluate(fleet)) == expected
    assert fleet.ids(predicate.evaluate(fleet, backend="reference")) == expected


def test_bad_mutations_are_input_errors(fleet):
    with pytest.raises(InputError, match="no container instance"):
        fleet.put_attribute("nope", "zone", "a")
    with pytest.raises(InputError, match="cannot stop"):
        fleet.stop_task("ci-0", "service:web")
    with pytest.raises(InputError, match="already registered"):
        fleet.register({"containerInstanceArn": "ci-0"})
    with pytest.raises(InputError):
        fleet.put_attribute("ci-0", "", "a")


def test_explain_plan_shows_the_plan_and_what_it_became(fleet):
    predicate = placement.compile("attribute:zone != d and runningTasksCount > 0 and not(task:group == x)")
    text = predicate.explain_plan()
    assert text.splitlines()[0].startswith("plan: runningTasksCount > 0 and attribute:zone != d")
    bound = predicate.explain_plan(fleet)
    assert "runningTasksCount: 1 uint8 range" in bound and "code range" in bound
    assert "task:group: 1 groups as a uint8 bitmap" in bound
    assert "int64 range" in placement.compile("agentVersion > 1.2").explain_plan(fleet)


@pytest.mark.parametrize("groups", [3, 8, 9, 33, 64, 65, 200])
def test_task_group_tests_agree_with_the_reference_for_any_number_of_groups(groups):
    """Up to 64 groups the kernel tests a bitmap per instance; past that it walks the CSR lists."""
    placed = [(j % groups, j % 37) for j in range(max(groups, 60))]      # every group, some instances idle
    tasks = [{"group": f"g{g}", "containerInstanceArn": f"ci-{i}", "desiredStatus": "RUNNING"} for g, i in placed]
    fleet = Fleet.from_ecs([{"containerInstanceArn": f"ci-{i}"} for i in range(40)], tasks)
    kind = "bitmap" if groups <= 64 else "pairs"
    for text in ("task:group == g1", "task:group != g2", "task:group in [g0, g5]", "not(task:group =~ 'g1.*')",
                 "task:group exists", "task:group !exists", "task:group !in [g3, g4] or task:group !exists"):
        predicate = placement.compile(text)
        assert (predicate.evaluate(fleet) == predicate.evaluate(fleet, backend="reference")).all(), text
        assert kind in predicate.explain_plan(fleet)


def test_scattered_codes_use_ranges_up_to_32_then_a_table_and_stay_correct():
    fleet = Fleet.from_ecs([{"containerInstanceArn": f"ci-{i}", "ec2InstanceId": f"i-{i:02}"} for i in range(80)])
    for step, plan in ((13, "7 code range(s)"), (5, "16 code range(s)"), (2, "table lookup")):
        predicate = placement.compile(f"ec2InstanceId in [{', '.join(f'i-{i:02}' for i in range(0, 80, step))}]")
        assert plan in predicate.explain_plan(fleet)
        assert fleet.ids(predicate.evaluate(fleet)) == [f"ci-{i}" for i in range(0, 80, step)]


def test_an_attribute_no_instance_has_is_decided_at_bind(fleet):
    assert not placement.compile("attribute:missing == x").evaluate(fleet).any()
    assert placement.compile("not(attribute:missing == x)").evaluate(fleet).all()


def test_empty_and_single_row_fleets():
    empty = Fleet.from_ecs([])
    assert placement.compile("attribute:a exists or task:group !exists").evaluate(empty).shape == (0,)
    one = Fleet.from_ecs([{"containerInstanceArn": "x"}])
    assert placement.compile("task:group !exists").evaluate(one).tolist() == [True]


def test_threads_must_be_positive(fleet):
    with pytest.raises(InputError):
        placement.compile("attribute:zone exists").evaluate(fleet, threads=0)
    assert placement.compile("attribute:zone exists").evaluate(fleet, threads=2).all()


def test_unknown_backend(fleet):
    with pytest.raises(InputError, match="unknown backend"):
        placement.compile("attribute:zone exists").evaluate(fleet, backend="gpu")


# -- hostile columns: refused when the Fleet is built ------------------------------------------

def hostile(fleet, **changes):
    with pytest.raises(InputError):
        Fleet(replace(fleet.columns, **changes))


def test_codes_beyond_the_dictionary_are_refused(fleet):
    zone = fleet.columns.attributes["zone"]
    bad = zone.codes.copy()
    bad[0] = len(zone.dictionary) + 2
    hostile(fleet, attributes={"zone": DictionaryColumn(bad, zone.dictionary)})


def test_mismatched_lengths_dtypes_and_layouts_are_refused(fleet):
    zone = fleet.columns.attributes["zone"]
    hostile(fleet, attributes={"zone": DictionaryColumn(zone.codes[:-1], zone.dictionary)})
    hostile(fleet, attributes={"zone": DictionaryColumn(zone.codes.astype(np.int8), zone.dictionary)})
    hostile(fleet, attributes={"zone": DictionaryColumn(np.repeat(zone.codes, 2)[::2], zone.dictionary)})
    hostile(fleet, attributes={"zone": DictionaryColumn(zone.codes, tuple(reversed(zone.dictionary)))})
    hostile(fleet, running_tasks=fleet.columns.running_tasks.astype(np.int32))
    hostile(fleet, running_tasks=fleet.columns.running_tasks[:3])
    hostile(fleet, arns=fleet.columns.arns[:-1] + ("ci-0",))


def test_a_broken_task_group_index_is_refused(fleet):
    groups = fleet.columns.groups
    offsets = groups.offsets.copy()
    offsets[-1] += 5
    hostile(fleet, groups=GroupColumn(offsets, groups.codes, groups.counts, groups.dictionary))
    hostile(fleet, groups=GroupColumn(groups.offsets, groups.codes + 7, groups.counts, groups.dictionary))


# -- hostile programs: the kernel's own boundary ---------------------------------------------

def spec(kind, column_type=0, column=None, lo=None, span=None, table=None, offsets=None, codes=None, kids=()):
    return (kind, column_type, False, False, column, lo, span, table, offsets, codes, 0, list(kids))


@pytest.mark.parametrize("rows, specs", [
    (3, []),
    (3, [spec(NodeKind.NODE_RANGES, ColumnType.COL_U8, np.zeros(2, np.uint8), np.zeros(1, np.uint64),
              np.zeros(1, np.uint64))]),
    (3, [spec(NodeKind.NODE_RANGES, ColumnType.COL_U16, np.zeros(3, np.uint8), np.zeros(1, np.uint64),
              np.zeros(1, np.uint64))]),
    (3, [spec(NodeKind.NODE_RANGES, ColumnType.COL_U8, np.zeros(3, np.uint8), np.zeros(0, np.uint64),
              np.zeros(0, np.uint64))]),
    (3, [spec(NodeKind.NODE_TABLE, ColumnType.COL_U8, np.zeros(3, np.uint8), table=np.zeros(10, np.uint8))]),
    (3, [spec(NodeKind.NODE_TABLE, ColumnType.COL_U32, np.full(3, 20, np.uint32), table=np.zeros(10, np.uint8))]),
    (3, [spec(NodeKind.NODE_ALL, kids=[0])]),
    (3, [spec(NodeKind.NODE_ALL, kids=[5])]),
    (3, [spec(NodeKind.NODE_ANY)]),
    (3, [spec(99)]),
    (3, [spec(NodeKind.NODE_GROUP, table=np.zeros(1, np.uint8), offsets=np.array([0, 1, 2], np.int64),
              codes=np.zeros(2, np.uint32))]),
    (2, [spec(NodeKind.NODE_GROUP, table=np.zeros(1, np.uint8), offsets=np.array([0, 1, 5], np.int64),
              codes=np.zeros(2, np.uint32))]),
    (2, [spec(NodeKind.NODE_GROUP, table=np.zeros(1, np.uint8), offsets=np.array([0, 1, 2], np.int64),
              codes=np.array([0, 3], np.uint32))]),
])
def test_the_kernel_refuses_inconsistent_programs(rows, specs):
    with pytest.raises(ValueError):
        Program(rows, specs)


def test_a_valid_program_runs():
    column = np.array([0, 1, 2, 3], dtype=np.uint8)
    program = Program(4, [spec(NodeKind.NODE_RANGES, ColumnType.COL_U8, column, np.array([1], np.uint64),
                               np.array([1], np.uint64))])
    assert program.run().tolist() == [False, True, True, False]
    group = Program(2, [(NodeKind.NODE_GROUP, 0, False, False, None, None, None, np.array([0, 1], np.uint8),
                         np.array([0, 0, 2], np.int64), np.array([0, 1], np.uint32), GroupMode.GROUP_NONE, [])])
    assert group.run().tolist() == [False, False]


def test_every_kernel_build_this_cpu_can_run_matches_the_reference():
    """The portable build and, where the CPU has AVX2, the AVX2 build run the same programs."""
    import importlib
    import json
    from pathlib import Path

    from placement.engine.bind import bind
    from placement.engine.kernels import _has_avx2
    builds = [importlib.import_module("placement.engine._kernels")]
    if _has_avx2():
        try:
            builds.append(importlib.import_module("placement.engine._kernels_avx2"))
        except ImportError:                     # built on a platform without the AVX2 variant
            pass
    fleet = placement.demo(3000, 4)
    texts = [case["expression"] for path in (Path(__file__).parent / "conformance").glob("*.json")
             for case in json.loads(path.read_text())["cases"] if "matches" in case]
    for text in texts[::3] + ["attribute:ecs.instance-type =~ 'm5.*|c5.*' and runningTasksCount in [1, 3, 5, 7, 9, 11]",
                              "agentVersion >= 1.70 and registeredAt > 2024-06-01 or task:group != service:web",
                              "attribute:flavor exists", "attribute:flavor !exists",     # presence spread 32 rows a step
                              "attribute:flavor !exists and attribute:stack exists or attribute:flavor exists"]:
        predicate = placement.compile(text, max_length=10_000)
        expected = predicate.evaluate(fleet, backend="reference")
        for build in builds:
            assert (bind(predicate.plan, fleet.columns, build.Program).run() == expected).all(), (text, build)
