"""Fleets from Arrow, pandas and polars tables, and back."""
import numpy as np
import pyarrow as pa
import pytest

import placement
from placement import Fleet, InputError

EXPRESSIONS = ["attribute:ecs.instance-type =~ t3.* and attribute:stack != prod",
               "not(task:group == service:web) and runningTasksCount < 3",
               "agentVersion >= 1.70 or registeredAt < 2024-06-01",
               "attribute:ecs.capability.task-eni exists and agentConnected == true"]


@pytest.fixture(scope="module")
def demo():
    return placement.demo(500, 3)


def same_fleet(a: Fleet, b: Fleet):
    assert a.arns == b.arns
    for x, y in zip(a, b):
        assert x.__dict__ == y.__dict__
    for text in EXPRESSIONS:
        predicate = placement.compile(text)
        assert (predicate.evaluate(a) == predicate.evaluate(b)).all()


def test_arrow_round_trip(demo):
    same_fleet(demo, Fleet.from_arrow(demo.to_arrow()))


def test_pandas_round_trip(demo):
    same_fleet(demo, Fleet.from_pandas(demo.to_arrow().to_pandas()))


def test_polars_round_trip(demo):
    polars = pytest.importorskip("polars")
    same_fleet(demo, Fleet.from_polars(polars.from_arrow(demo.to_arrow())))


def test_plain_string_columns_nulls_and_bool_capabilities():
    table = pa.table({
        "containerInstanceArn": ["a", "b", "c"],
        "attribute:stack": ["prod", None, "dev"],
        "attribute:ecs.capability.x": [True, False, None],
        "task:group": [["service:web", "service:web"], None, []],
        "runningTasksCount": [2, 0, 1],
    })
    fleet = Fleet.from_arrow(table)
    assert dict(fleet[0].attributes) == {"stack": "prod", "ecs.capability.x": None}
    assert dict(fleet[1].attributes) == {}
    assert dict(fleet[0].task_groups) == {"service:web": 2}
    assert fleet.ids(placement.compile("attribute:stack != prod").evaluate(fleet)) == ["c"]
    assert fleet.ids(placement.compile("attribute:ecs.capability.x exists").evaluate(fleet)) == ["a"]


def test_a_sorted_dictionary_without_nulls_is_used_without_copying():
    indices = pa.array([0, 1, 1, 0], type=pa.int8())
    column = pa.DictionaryArray.from_arrays(indices, pa.array(["a", "b"]))
    table = pa.table({"containerInstanceArn": ["1", "2", "3", "4"], "attribute:z": column})
    codes = Fleet.from_arrow(table).columns.attributes["z"].codes
    assert codes.dtype == np.uint8 and codes.tolist() == [0, 1, 1, 0]
    assert codes.ctypes.data == table.column("attribute:z").chunk(0).indices.buffers()[1].address


def test_an_unsorted_dictionary_is_recoded():
    column = pa.DictionaryArray.from_arrays(pa.array([0, 1, None], type=pa.int32()), pa.array(["z", "a"]))
    fleet = Fleet.from_arrow(pa.table({"containerInstanceArn": ["1", "2", "3"], "attribute:k": column}))
    assert [i.attributes.get("k") for i in fleet] == ["z", "a", None]


@pytest.mark.parametrize("table, complaint", [
    (pa.table({"arn": ["a"]}), "unknown fleet column"),
    (pa.table({"attribute:x": ["a"]}), "containerInstanceArn"),
    (pa.table({"containerInstanceArn": ["a", None]}), "without nulls"),
    (pa.table({"containerInstanceArn": ["a", "a"]}), "not unique"),
    (pa.table({"containerInstanceArn": ["a"], "attribute:x": [1]}), "must hold strings"),
    (pa.table({"containerInstanceArn": ["a"], "runningTasksCount": ["1"]}), "must hold integers"),
    (pa.table({"containerInstanceArn": ["a"], "runningTasksCount": [-1]}), "negative"),
    (pa.table({"containerInstanceArn": ["a"], "agentConnected": ["yes"]}), "bool"),
    (pa.table({"containerInstanceArn": ["a"], "registeredAt": ["yesterday"]}), "ISO-8601"),
    (pa.table({"containerInstanceArn": ["a"], "task:group": ["web"]}), "list<string>"),
])
def test_malformed_tables_are_input_errors(table, complaint):
    with pytest.raises(InputError, match=complaint):
        Fleet.from_arrow(table)


def test_not_a_table():
    with pytest.raises(InputError):
        Fleet.from_arrow({"containerInstanceArn": ["a"]})


def test_a_mixed_valueless_column_cannot_be_exported():
    fleet = Fleet.from_ecs([{"containerInstanceArn": "a", "attributes": [{"name": "x", "value": "1"}]},
                            {"containerInstanceArn": "b", "attributes": [{"name": "x"}]}])
    with pytest.raises(InputError, match="value-less"):
        fleet.to_arrow()
