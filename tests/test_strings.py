"""StringColumn, StringBuffer and the shared-value columns: every str round-trips exactly, the
buffers behave as the tuples they replace, and a fleet keeps no str per row."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import placement
from placement.errors import InputError
from placement.fleet.shared import GrowingPortLists, GrowingShared, PortLists, SharedColumn
from placement.fleet.strings import HEX, ODD, RAW, StringBuffer, StringColumn, split

ODD_STRINGS = ["", "/", "-", ":", "a", "0", "00", "0a", "ABC", "abc", "i-0abcdef0123456789", "i-abcd1234",
               "arn:aws:ecs:us-east-1:123456789012:container-instance/demo/" + "0f" * 16, "task-7", "task-10",
               "héllo/wörld", "snow☃man-ff", "\ud800", "x/\udfff", "emoji/😀", "a\x00b", "tab\tsep-ab",
               "ends-with-dash-", "trailing/", "deadbeef", "DEADBEEF", "0x1f", "a b-cd", "ff" * 300]

texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
idlike = st.builds(lambda head, digits: head + digits,
                   st.sampled_from(["", "i-", "arn:aws:ecs:r:1:task/c/", "task-", "x:", "a/b-"]),
                   st.text("0123456789abcdef", max_size=34))
strings = st.lists(st.one_of(texts, idlike), max_size=60)


def test_odd_strings_round_trip_through_a_column_and_a_buffer():
    column = StringColumn.from_strings(ODD_STRINGS)
    assert column.tolist() == ODD_STRINGS and list(column) == ODD_STRINGS
    assert [column[i] for i in range(len(column))] == ODD_STRINGS
    assert column == ODD_STRINGS and column == tuple(ODD_STRINGS) and not column != ODD_STRINGS
    buffer = StringBuffer()
    for text in ODD_STRINGS:
        buffer.append(text)
    assert buffer.tolist() == ODD_STRINGS and [buffer[i] for i in range(len(buffer))] == ODD_STRINGS


def test_the_split_packs_lowercase_hex_tails_and_keeps_the_rest_as_utf8():
    assert split("arn:x/" + "ab" * 16) == ("arn:x/", HEX, bytes.fromhex("ab" * 16))
    assert split("i-0abcdef0123456789") == ("i-", ODD, bytes.fromhex("00abcdef0123456789"))
    assert split("i-ABCD") == ("i-", RAW, b"ABCD")
    assert split("\ud800") == ("", RAW, "\ud800".encode("utf-8", "surrogatepass"))
    with pytest.raises(InputError):
        split(b"bytes")


def test_an_arn_takes_its_packed_bytes_and_a_shared_head():
    arns = [f"arn:aws:ecs:us-east-1:123456789012:container-instance/demo/{k:032x}" for k in range(1000)]
    column = StringColumn.from_strings(arns)
    assert len(column.heads) == 1 and len(column.data) == 16 * 1000 and column.offsets.dtype == np.uint32
    assert column.nbytes == 1000 * (16 + 4 + 1) + 4


@settings(max_examples=200, deadline=None)
@given(strings)
def test_any_strings_round_trip(values):
    column = StringColumn.from_strings(values)
    assert column.tolist() == values and len(column) == len(values)
    assert column == values and (column == values + ["x"]) is False
    for i, value in enumerate(values):
        assert column[i] == value and column[i - len(values)] == value
        assert column.index(value) == values.index(value) and value in column
    duplicate = column.duplicate()
    assert (duplicate is None) == (len(set(values)) == len(values))
    assert duplicate is None or values.count(duplicate) >= 2          # a value that really repeats


@settings(max_examples=100, deadline=None)
@given(strings, st.data())
def test_take_slices_and_concatenation_match_the_list(values, data):
    column = StringColumn.from_strings(values)
    rows = data.draw(st.lists(st.integers(0, max(0, len(values) - 1)), max_size=20)) if values else []
    assert column.take(np.array(rows, dtype=np.int64)).tolist() == [values[r] for r in rows]
    assert column[1:-1:2] == values[1:-1:2] and column[::-1] == values[::-1]
    other = data.draw(strings)
    joined = StringColumn.concat([column, StringColumn.from_strings(other)])
    assert joined == values + other and column + tuple(other) == values + other
    assert tuple(other) + column == other + values


@settings(max_examples=100, deadline=None)
@given(strings, strings)
def test_a_buffer_grows_by_appends_and_extends_and_its_snapshots_stay_put(first, more):
    buffer = StringBuffer(first)
    before = buffer.column()
    for value in more:
        buffer.append(value)
    buffer.extend(StringColumn.from_strings(more))
    buffer += more
    assert buffer.tolist() == first + more * 3 and before == first
    assert buffer[len(first):len(first) + len(more)] == more
    kept = np.arange(0, len(buffer), 2)
    assert buffer.kept(kept).tolist() == (first + more * 3)[::2]


def test_columns_equal_across_encodings_and_are_not_strings():
    a = StringColumn.from_strings(["i-abcd1234", "i-0abc"])
    b = StringColumn.concat([StringColumn.from_strings(["i-abcd1234"]), StringColumn.from_strings(["i-0abc"])])
    assert a == b and hash(a) == hash(("i-abcd1234", "i-0abc"))
    assert (a == "i-abcd1234") is False and a != ["i-abcd1234"]
    assert "nope" not in a and 3 not in a and None not in a
    with pytest.raises(ValueError):
        a.index("i-0abd")
    with pytest.raises(IndexError):
        a[2]


def test_from_hex_writes_no_string():
    column = StringColumn.from_hex("arn:x/", np.arange(32, dtype=np.uint8).reshape(2, 16))
    assert column.tolist() == ["arn:x/" + bytes(range(16)).hex(), "arn:x/" + bytes(range(16, 32)).hex()]
    with pytest.raises(InputError):
        StringColumn.from_hex("no-separator-x", np.zeros((1, 2), np.uint8))


def test_shared_values_and_port_lists_behave_as_tuples_of_sets():
    sets = [frozenset(), frozenset({22, 80}), frozenset(), frozenset({8080}), frozenset({22, 80})]
    shared = SharedColumn.from_values(sets)
    assert shared == sets and len(shared.values) == 3 and shared.take([1, 3]) == [sets[1], sets[3]]
    ports = PortLists.from_sets(sets)
    assert ports == sets and PortLists.from_sets(shared) == sets and ports.take([4, 0]) == [sets[4], sets[0]]
    growing = GrowingShared(sets)
    growing[0] = frozenset({1})
    growing.append(frozenset({2}))
    assert growing.column() == [frozenset({1}), *sets[1:], frozenset({2})] and shared == sets
    lists = GrowingPortLists(sets)
    lists.append(frozenset({443}))
    lists.extend(shared)
    assert lists.column() == sets + [frozenset({443})] + sets and lists[-1] == sets[-1]


def test_a_port_table_is_pruned_when_it_outgrows_the_rows():
    growing = GrowingShared([frozenset()] * 10)
    for k in range(5000):
        growing[k % 10] = frozenset({k + 1})
    assert len(growing.values) <= 1024 + 20 + 1
    assert growing.column() == [frozenset({4991 + k}) for k in range(10)]


def test_a_demo_fleet_keeps_no_str_per_row():
    fleet = placement.demo(2000)
    store = fleet.store
    assert isinstance(store.arns, StringBuffer) and isinstance(store.tasks.ids, StringBuffer)
    assert isinstance(fleet.columns.arns, StringColumn)
    assert isinstance(fleet.columns.instance_id.dictionary, StringColumn)
    from placement.fleet.demo import demo_documents
    documents = demo_documents(2000)
    assert fleet.arns == [ci["containerInstanceArn"] for ci in documents[0]["containerInstances"]]
    assert list(fleet.columns.instance_id.dictionary) == sorted(ci["ec2InstanceId"]
                                                                for ci in documents[0]["containerInstances"])


def test_the_store_appends_removes_and_compacts_with_string_buffers():
    fleet = placement.demo(50)
    arns = fleet.arns
    doc = {"containerInstanceArn": "arn:aws:ecs:us-east-1:1:container-instance/demo/ünïcode-Ⅻ",
           "ec2InstanceId": "i-NEW", "status": "ACTIVE", "agentConnected": True,
           "remainingResources": [], "registeredResources": []}
    fleet.register(doc)
    assert fleet.arns == arns + [doc["containerInstanceArn"]]
    assert fleet[len(fleet) - 1].ec2_instance_id == "i-NEW"
    ids = fleet.start_task(doc["containerInstanceArn"], "service:x", 2, cpu=70000, memory=5, ports=[8080])
    assert ids == fleet.tasks.ids[-2:] and int(fleet.tasks.cpu[-1]) == 70000 and fleet.tasks.cpu.dtype == np.int64
    assert fleet.tasks.ports[-1] == frozenset({8080})
    for arn in arns[:40]:
        fleet.deregister(arn)
    assert fleet.arns == arns[40:] + [doc["containerInstanceArn"]]
    assert fleet.position(doc["containerInstanceArn"]) == 10
    assert fleet.columns.arns == fleet.arns
