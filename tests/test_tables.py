"""Fleets from Arrow, pandas and polars tables and from table files (CSV, Parquet, Arrow IPC), and back."""
import numpy as np
import pyarrow as pa
import pytest

import placement
from placement import Fleet, InputError
from placement.fleet.tables import TABLE_SUFFIXES, VALUELESS_TOKEN, read_table_file, write_table_file

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
    import polars                                # the test extra installs it
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


# -- table files --------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_table_file_round_trip(demo, tmp_path, suffix):
    path = tmp_path / f"fleet{suffix}"
    write_table_file(demo, path)
    fleet = read_table_file(path)
    same_fleet(demo, fleet)
    assert fleet.warnings == ()
    assert Fleet.read(str(path)).arns == demo.arns


def test_an_arrow_stream_file_is_read(demo, tmp_path):
    path = tmp_path / "fleet.arrow"
    table = demo.to_arrow()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    same_fleet(demo, read_table_file(path))


def write(tmp_path, text, name="fleet.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_cells_are_text_empty_is_absent_and_the_token_is_value_less(tmp_path):
    path = write(tmp_path, "containerInstanceArn,status,agentConnected,attribute:rack,attribute:gpu,attribute:spot,"
                           "task:group,runningTasksCount,remainingResources.CPU,registeredResources.CPU,"
                           "remainingResources.MEMORY,registeredResources.MEMORY,remainingResources.PORTS\n"
                           f"a,ACTIVE,true,007,{VALUELESS_TOKEN},true,service:web service:web,2,512,1024,100,200,22 80\n"
                           "b,DRAINING,FALSE,,,false,,0,1024,1024,200,200,\n"
                           f'c,ACTIVE,,"",{VALUELESS_TOKEN},,  ,0,0,0,0,0,\n')
    fleet = read_table_file(path)
    a, b, c = fleet
    assert dict(a.attributes) == {"rack": "007", "gpu": None, "spot": "true"}    # "007" is no number
    assert dict(b.attributes) == {"spot": "false"} and dict(c.attributes) == {"gpu": None}
    assert (a.agent_connected, b.agent_connected, c.agent_connected) == (True, False, None)
    assert dict(a.task_groups) == {"service:web": 2} and dict(b.task_groups) == {} == dict(c.task_groups)
    assert a.remaining.ports == frozenset({22, 80}) and (a.remaining.cpu, a.registered.memory) == (512, 200)
    assert fleet.ids(placement.compile("attribute:rack == 007").evaluate(fleet)) == ["a"]
    assert fleet.ids(placement.compile("attribute:gpu exists").evaluate(fleet)) == ["a", "c"]
    assert fleet.warnings == ()


def test_missing_columns_are_defaults_with_a_warning_each(tmp_path):
    path = write(tmp_path, "containerInstanceArn,attribute:stack,registeredResources.CPU,remainingResources.MEMORY\n"
                           "a,prod,2048,4096\nb,dev,1024,512\n")
    fleet = read_table_file(path)
    assert [(i.status, i.agent_connected) for i in fleet] == [("ACTIVE", True)] * 2
    assert [(i.remaining.cpu, i.registered.cpu, i.remaining.memory, i.registered.memory) for i in fleet] == \
        [(2048, 2048, 4096, 4096), (1024, 1024, 512, 512)]
    warnings = fleet.warnings
    assert len(warnings) == 4 and all(w.startswith("fleet.csv: no ") for w in warnings)
    for column, default in (("'status'", "every instance ACTIVE"), ("'agentConnected'", "connected"),
                            ("'remainingResources.CPU'", "equal to 'registeredResources.CPU'"),
                            ("'registeredResources.MEMORY'", "equal to 'remainingResources.MEMORY'")):
        assert any(column in w and default in w for w in warnings), (column, warnings)
    from placement.place import Placer
    placed = Placer(fleet).place(2, 512, 256, group="service:web")
    assert len(placed.placements) == 2                     # the defaults make it placeable


def test_a_table_without_resources_assumes_zero(tmp_path):
    fleet = read_table_file(write(tmp_path, "containerInstanceArn\na\n"))
    assert len(fleet.warnings) == 6 and sum("assumed 0" in w for w in fleet.warnings) == 4
    assert fleet[0].remaining.cpu == 0 and fleet[0].status == "ACTIVE"


def test_parquet_with_missing_columns_warns_too(tmp_path):
    import pyarrow.parquet as pq
    path = tmp_path / "fleet.parquet"
    pq.write_table(pa.table({"containerInstanceArn": ["a"], "status": ["ACTIVE"], "agentConnected": [True],
                             "remainingResources.CPU": [1.0], "registeredResources.CPU": [2.0]}), path)
    fleet = read_table_file(path)
    assert (fleet[0].remaining.cpu, fleet[0].registered.cpu) == (1, 2)     # whole floats are read (pandas)
    assert len(fleet.warnings) == 2 and all("MEMORY" in w for w in fleet.warnings)


@pytest.mark.parametrize("text, complaint", [
    ("attribute:stack\nprod\n", "containerInstanceArn column"),
    ("containerInstanceArn,remainingResources.CPU\na,1\nb,1.5\n", "'remainingResources.CPU' row 1: '1.5' is not a whole"),
    ("containerInstanceArn,runningTasksCount\na,x\n", "'runningTasksCount' row 0: 'x'"),
    ("containerInstanceArn,agentConnected\na,yes\n", "'agentConnected' row 0: 'yes' is not true or false"),
    (f"containerInstanceArn,attribute:x\na,{VALUELESS_TOKEN}\nb,1\n", "'attribute:x' row 1"),
    ("containerInstanceArn,containerInstanceArn\na,b\n", "appears more than once"),
    ("containerInstanceArn,colour\na,red\n", "unknown fleet column"),
    ("containerInstanceArn,registeredAt\na,yesterday\n", "ISO-8601"),
    ("containerInstanceArn,status\na\nb,ACTIVE,extra\n", "not a CSV fleet table"),
    ("", "empty"),
])
def test_bad_csv_files_are_input_errors_naming_the_file(tmp_path, text, complaint):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match="fleet.csv") as raised:
        read_table_file(path)
    assert complaint in raised.value.message, raised.value.message


@pytest.mark.parametrize("name", ["fleet.parquet", "fleet.feather", "fleet.arrow", "fleet.ipc"])
def test_a_file_that_is_not_the_format_is_an_input_error(tmp_path, name):
    path = write(tmp_path, "containerInstanceArn\na\n", name)
    with pytest.raises(InputError, match=name):
        read_table_file(path)


def test_unreadable_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="missing.csv.*cannot read"):
        read_table_file(tmp_path / "missing.csv")
    (tmp_path / "latin1.csv").write_bytes(b"containerInstanceArn,attribute:x\na,caf\xe9\n")
    with pytest.raises(InputError, match="UTF-8"):
        read_table_file(tmp_path / "latin1.csv")


def test_without_pyarrow_the_error_says_what_to_install(tmp_path, monkeypatch):
    import sys
    path = write(tmp_path, "containerInstanceArn\na\n")
    for module in ("pyarrow", "pyarrow.compute", "pyarrow.csv"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(InputError, match=r"fleet.csv.*pip install 'placement\[arrow\]'"):
        read_table_file(path)
