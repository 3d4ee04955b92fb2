"""Hostile input at the fleet, request and command-line boundary (issue 12).

Every case is bad input, and each must come back as an ``InputError`` that names the instance,
field, column, key or flag (a usage error, exit 2, on the command line), never as another
exception: nothing out of range may reach numpy or a Cython loop. A few hostile fleets are
readable, and then what reads them must agree with the reference evaluator.
"""
import json
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from placement import Fleet, InputError, QuerySyntaxError, compile, demo
from placement.cli import main
from placement.errors import preview
from placement.place import Binpack, MemberOf, Placer, Random
from placement.place.requests import demand_from_task_definition, resolve_request
from placement.values import pack_version, parse_count, parse_version

ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/demo/0"


def instance(**fields) -> dict:
    record = {"containerInstanceArn": ARN, "ec2InstanceId": "i-0", "status": "ACTIVE", "agentConnected": True,
              "versionInfo": {"agentVersion": "1.70.0"}, "attributes": [{"name": "stack", "value": "prod"}],
              "remainingResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                                     {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}]}
    record.update(fields)
    return record


def document(**fields) -> bytes:
    return json.dumps({"containerInstances": [instance(**fields)]}).encode()


def with_raw(field: str, raw: str, **fields) -> bytes:
    """The fleet JSON with ``field`` set to the JSON text ``raw`` (numbers Python would not write)."""
    return document(**{field: "@@"}, **fields).replace(b'"@@"', raw.encode())


def resource(raw: str, name: str = "CPU") -> bytes:
    return with_raw("remainingResources", f'[{{"name": "{name}", {raw}}}]')


def refused(source, tasks=None) -> str:
    with pytest.raises(InputError) as raised:
        Fleet.from_ecs(source, tasks)
    return raised.value.message


# -- numbers out of range and wrong types in fleet JSON ---------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    (resource('"integerValue": 1e300'), "'remainingResources[0].integerValue' must be int, got float"),
    (resource('"doubleValue": 1e300'), "'remainingResources[0]' CPU must be a non-negative number up to 2^52"),
    (resource('"doubleValue": 1e400'), "'remainingResources[0].doubleValue' is out of range"),
    (resource('"integerValue": NaN'), "not JSON"),
    (resource('"integerValue": Infinity'), "not JSON"),
    (resource(f'"integerValue": {2 ** 64}'), "CPU must be a non-negative number up to 2^52, got 18446744073709551616"),
    (resource(f'"longValue": {2 ** 64}', "MEMORY"), "MEMORY must be a non-negative number up to 2^52"),
    (resource('"integerValue": -1'), "CPU must be a non-negative number up to 2^52, got -1"),
    (resource('"integerValue": ' + "9" * 5000), "'remainingResources[0].integerValue' is out of range"),
    (resource('"integerValue": "12"'), "'remainingResources[0].integerValue' must be int, got str"),
    (resource('"doubleValue": true'), "'remainingResources[0].doubleValue' must be a number, got bool"),
    (resource('"stringSetValue": 5', "PORTS"), "'remainingResources[0].stringSetValue' must be a list, got int"),
    (resource('"stringSetValue": ["80", "70000"]', "PORTS"), "PORTS holds '70000', not a port number"),
    (resource('"stringSetValue": ["\\u0668\\u0660"]', "PORTS"), "not a port number"),
    (with_raw("remainingResources", '[{"name": []}]'), "'remainingResources[0].name' must be a string, got array"),
    (with_raw("runningTasksCount", str(2 ** 70)), "'runningTasksCount' must be a count from 0 to 2^52"),
    (with_raw("runningTasksCount", "-1"), "'runningTasksCount' must be a count from 0 to 2^52, got -1"),
    (with_raw("runningTasksCount", "9" * 5000), "'runningTasksCount' is out of range"),
    (with_raw("registeredAt", "1e18"), "'registeredAt' must be an ISO-8601 time or epoch seconds in years 1 to 9999"),
    (with_raw("registeredAt", "-1e12"), "'registeredAt' must be an ISO-8601 time or epoch seconds"),
    (with_raw("registeredAt", str(2 ** 64)), "'registeredAt' must be an ISO-8601 time or epoch seconds"),
    (with_raw("registeredAt", '"+999999-01-01T00:00:00"'), "'registeredAt' must be an ISO-8601 time"),
    (with_raw("registeredAt", '"9999-12-31T23:59:59-23:59"'), "'registeredAt' must be an ISO-8601 time"),
    (with_raw("registeredAt", '"0001-01-01T00:00:00+01:00"'), "'registeredAt' must be an ISO-8601 time"),
    (with_raw("registeredAt", "[" * 500 + "]" * 500), "'registeredAt' must be an ISO-8601 time or epoch seconds "
                                                     "in years 1 to 9999, got [[[...]]]"),
    (with_raw("agentConnected", "9" * 5000), "'agentConnected' is out of range"),
    (with_raw("versionInfo", '{"agentVersion": "1.1048576.0"}'), "'versionInfo.agentVersion' '1.1048576.0' has a "
                                                                 "component too large to compare"),
    (with_raw("versionInfo", '{"agentVersion": "1.' + "9" * 5000 + '"}'), "'versionInfo.agentVersion'"),
])
def test_out_of_range_and_mistyped_fleet_values_name_the_instance_and_field(text, fragment):
    message = refused(text)
    assert fragment in message
    assert "not JSON" in fragment or message.startswith("containerInstances[0]")
    assert len(message) < 400


@pytest.mark.parametrize("field, value, fragment", [
    ("runningTasksCount", 2 ** 70, "'runningTasksCount' must be a count from 0 to 2^52"),
    ("runningTasksCount", float("nan"), "'runningTasksCount' must be int, got float"),
    ("runningTasksCount", 10 ** 5000, "got <an integer of 5000 digits>"),
    ("registeredAt", float("nan"), "'registeredAt' must be an ISO-8601 time or epoch seconds"),
    ("registeredAt", float("inf"), "'registeredAt' must be an ISO-8601 time or epoch seconds"),
    ("registeredAt", 10 ** 5000, "got <an integer of 5000 digits>"),
    ("remainingResources", [{"name": "CPU", "doubleValue": float("nan")}], "CPU must be a non-negative number"),
    ("remainingResources", [{"name": "GPU", "integerValue": 10 ** 5000}], "GPU must be a non-negative number"),
], ids=lambda value: preview(value)[:30])
def test_parsed_json_with_values_json_cannot_write_is_refused_too(field, value, fragment):
    message = refused({"containerInstances": [instance(**{field: value})]})
    assert fragment in message and message.startswith("containerInstances[0]")


def test_a_registered_at_at_the_edges_of_the_range_is_read_and_shown():
    fleet = Fleet.from_ecs([instance(registeredAt="9999-12-31T23:59:59.999999Z"),
                            instance(containerInstanceArn="b", registeredAt="0001-01-01T00:00:00Z")])
    assert [r.registered_at for r in fleet] == [253_402_300_799_999_999, -62_135_596_800_000_000]
    assert compile("registeredAt > 9999-12-31T23:59:58Z").evaluate(fleet).tolist() == [True, False]
    assert "9999-12-31T23:59:59.999999Z" in str(compile("registeredAt > 2000-01-01").why(fleet, 0).render())


# -- lone surrogates -------------------------------------------------------------------------------

SURROGATE_FIELDS = [
    ("ec2InstanceId", {"ec2InstanceId": "\ud800"}, "'ec2InstanceId'"),
    ("status", {"status": "\udfff"}, "'status'"),
    ("attribute value", {"attributes": [{"name": "stack", "value": "p\ud800"}]}, "'attributes[0].value'"),
    ("attribute name", {"attributes": [{"name": "a", "value": "b"}, {"name": "s\ud800"}]}, "'attributes[1].name'"),
]


@pytest.mark.parametrize("form", ["escape in bytes", "escape in str", "str", "parsed"])
@pytest.mark.parametrize("label, fields, fragment", SURROGATE_FIELDS, ids=[f[0] for f in SURROGATE_FIELDS])
def test_a_lone_surrogate_in_a_fleet_is_refused_naming_the_instance_and_field(form, label, fields, fragment):
    """Decision: refused, not kept (RE2 patterns, Arrow tables, exports and terminals need Unicode)."""
    page = {"containerInstances": [instance(containerInstanceArn="ok"), instance(**fields)]}
    source = {"escape in bytes": json.dumps(page).encode(), "escape in str": json.dumps(page),
              "str": json.dumps(page, ensure_ascii=False), "parsed": page}[form]
    message = refused(source)
    assert message.startswith(f"containerInstances[1] ({ARN}): {fragment}") and "not valid Unicode" in message


def test_a_lone_surrogate_in_a_key_in_tasks_or_in_a_register_is_refused():
    assert "containerInstances[0] (ok): a key is not valid Unicode" in refused(
        [{"containerInstanceArn": "ok", "\ud800": 1}])
    tasks = {"tasks": [{"taskArn": "t", "containerInstanceArn": ARN, "group": "service:\udc00",
                        "desiredStatus": "RUNNING"}]}
    assert refused([instance()], tasks).startswith("tasks[0]: task group 'service:\\udc00' is not valid Unicode")
    assert refused([instance()], json.dumps(tasks).encode()).startswith("tasks[0]: task group")
    fleet = Fleet.from_ecs([instance()])
    with pytest.raises(InputError, match=r"containerInstances\[0\] \(b\): 'ec2InstanceId'.*not valid Unicode"):
        fleet.register(instance(containerInstanceArn="b", ec2InstanceId="i-\ud800"))
    assert len(fleet) == 1


def test_a_refused_surrogate_never_reaches_a_pattern_and_the_cli_says_where(tmp_path, capsys):
    path = tmp_path / "fleet.json"
    path.write_bytes(json.dumps({"containerInstances": [instance(attributes=[{"name": "stack",
                                                                               "value": "\ud800"}])]}).encode())
    with pytest.raises(InputError, match="not valid Unicode"):
        compile("attribute:stack =~ p.*").evaluate(Fleet.read(path))
    assert main(["eval", "attribute:stack =~ p.*", "--fleet", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "containerInstances[0]" in err and "'attributes[0].value'" in err and "Traceback" not in err
    assert main(["eval", "attribute:stack =~ p.*", "--fleet", str(path), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "input" and "'attributes[0].value'" in error["message"]


def test_request_files_and_memberof_with_a_lone_surrogate_are_refused(tmp_path, capsys):
    with pytest.raises(InputError, match="memberOf expression .* lone surrogate"):
        MemberOf("attribute:a =~ \ud800")
    request = tmp_path / "request.json"
    request.write_bytes(b'{"taskDefinition": "web", "group": "\\ud800"}')
    assert main(["place", "--demo", "5", "--request", str(request), "--cpu", "1", "--memory", "1"]) == 2
    assert "holds a lone surrogate escape" in capsys.readouterr().err


# -- depth, length and size ------------------------------------------------------------------------

def test_deep_nesting_is_refused_without_recursion(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100_000)
    assert "nested too deeply" in refused(path)
    assert "nested too deeply" in refused(b'{"a":' * 100_000)
    assert "nested too deeply" in refused(document(x="@@").replace(b'"@@"', b"[" * 100_000 + b"]" * 100_000))
    tasks = b'{"tasks": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert "nested too deeply" in refused([instance()], tasks)


def test_deeply_nested_scenario_and_sweep_files_are_usage_errors(tmp_path, capsys):
    for name in ("deep.json", "deep.yaml"):
        path = tmp_path / name
        path.write_bytes(b"[" * 100_000)
        assert main(["simulate", str(path)]) == 2
        assert "nested too deeply" in capsys.readouterr().err


def test_deep_parsed_values_are_shown_as_a_bounded_preview():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    message = refused({"containerInstances": [instance(registeredAt=deep)]})
    assert "got [[[...]]]" in message
    assert preview(deep) == "[[[...]]]" and preview(10 ** 5000) == "<an integer of 5000 digits>"
    assert len(preview("x" * 10 ** 6)) <= 160


@pytest.mark.parametrize("source, fragment", [
    ("", "the fleet JSON is empty"),
    ("  \n", "the fleet JSON is empty"),
    ("fleet\0.json", "cannot read fleet file 'fleet\\x00.json': a file name holds no NUL"),
    ({1: 2, "a": 3}, "got an object with keys [1, 'a']"),
    ({"x" * 10 ** 6: 1}, "got an object with keys ['xxxx"),
    ([{"containerInstanceArn": "a\nb", "runningTasksCount": -1}], "containerInstances[0] ('a\\nb'): "),
    ([{"containerInstanceArn": "a" * 10 ** 6, "runningTasksCount": -1}], "containerInstances[0] ('aaaa"),
], ids=lambda value: preview(value)[:30])
def test_odd_sources_and_hostile_arns_are_said_in_bounded_messages(source, fragment):
    message = refused(source)
    assert fragment in message and len(message) < 400


def test_a_response_failures_hostile_reason_is_shown_bounded():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    fleet = Fleet.from_ecs({"containerInstances": [instance()], "failures": [{"reason": deep, "arn": 10 ** 5000}]})
    assert fleet.warnings == ("the describe-container-instances response lists 1 failure (first: [[[...]]] "
                              "<an integer of 5000 digits>); those containerInstances are not read",)


def test_an_unknown_key_may_hold_anything_and_is_skipped():
    fleet = Fleet.from_ecs(document(x="@@").replace(b'"@@"', b"9" * 100_000))
    assert fleet.arns == [ARN]


@pytest.mark.parametrize("literal, expected", [
    ("runningTasksCount > " + "9" * 5000, [False]),
    ("runningTasksCount < " + "9" * 5000, [True]),
    ("runningTasksCount == 0" + "0" * 5000 + "3", [True]),
    ("agentVersion < 1." + "9" * 5000, [True]),
    ("agentVersion > 1." + "9" * 5000, [False]),
])
def test_literals_of_thousands_of_digits_compile_and_agree_with_the_reference(literal, expected):
    fleet = Fleet.from_ecs([instance(runningTasksCount=3)])
    predicate = compile(literal, max_length=20_000)
    assert predicate.evaluate(fleet).tolist() == expected
    assert predicate.evaluate(fleet, backend="reference").tolist() == expected
    assert parse_count("9" * 5000) == 10 ** 20 and parse_version("1." + "9" * 5000) == (1, 10 ** 20, 0)


# -- hostile fleet shapes --------------------------------------------------------------------------

def test_duplicate_arns_name_the_second_instance():
    assert refused([instance(), instance()]) == f"containerInstances[1]: duplicate containerInstanceArn '{ARN}'"


@pytest.mark.parametrize("cpu, fragment", [
    ('"-1"', "'cpu' must be a whole number of units as a string, got '-1'"),
    ('"abc"', "'cpu' must be a whole number of units as a string"),
    ('"1 vCPU"', "'cpu' must be a whole number"),
    ('"\\u0661\\u0662"', "'cpu' must be a whole number"),
    ('"' + "9" * 5000 + '"', "'cpu' must be a whole number"),
    (str(2 ** 70), "'cpu' must be a whole number"),
    ("1.5", "'cpu' must be a string, got float"),
])
def test_tasks_with_bad_cpu_strings_are_refused_naming_the_task(cpu, fragment):
    tasks = ('{"tasks": [{"taskArn": "t", "containerInstanceArn": "%s", "group": "g", "desiredStatus": "RUNNING", '
             '"cpu": %s}]}' % (ARN, cpu)).encode()
    message = refused([instance()], tasks)
    assert message.startswith("tasks[0]: ") and fragment in message


def test_tasks_on_unknown_instances_are_read_with_a_warning():
    tasks = {"tasks": [{"taskArn": f"t{k}", "containerInstanceArn": "nowhere", "group": "g",
                        "desiredStatus": "RUNNING"} for k in range(3)]}
    fleet = Fleet.from_ecs([instance()], tasks)
    assert fleet.warnings == ("3 RUNNING tasks of the tasks file run on container instances not in the fleet; "
                              "they count nowhere",)
    assert compile("task:group exists").evaluate(fleet).tolist() == [False]


def test_ten_thousand_attributes_on_one_instance_and_a_hundred_thousand_values_are_read_in_bounded_time():
    wide = [{"name": f"a{k}", "value": f"v{k}"} for k in range(10_000)]
    start = time.perf_counter()
    fleet = Fleet.from_ecs(document(attributes=wide))
    assert len(fleet.columns.attributes) == 10_000 and time.perf_counter() - start < 5
    assert compile("attribute:a9999 =~ v9.*").evaluate(fleet).tolist() == [True]
    many = [{"containerInstanceArn": f"i{k}", "attributes": [{"name": "x", "value": f"value-{k}"}]}
            for k in range(100_000)]
    start = time.perf_counter()
    fleet = Fleet.from_ecs(json.dumps(many).encode())
    assert len(fleet.columns.attributes["x"].dictionary) == 100_000 and time.perf_counter() - start < 10
    assert int(compile("attribute:x =~ value-9999.*").evaluate(fleet).sum()) == 11
    assert "repeats the attribute 'x'" in refused(document(attributes=[{"name": "x", "value": "1"}] * 100_000))


# -- agentVersion packing --------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "agentVersion > 1.1048576", "agentVersion >= 1.1048576", "agentVersion < 1.1048576", "agentVersion <= 1.1048576",
    "agentVersion == 1.1048576", "agentVersion != 1.1048576", "agentVersion > 1.1048575.1048576",
    "agentVersion < 4194304", "agentVersion > 4194304", "agentVersion > " + "9" * 30, "agentVersion < 1.0.1048576",
    "not(agentVersion > 1.1048576)", "agentVersion > 1.1048576 and agentVersion < 2.1",
])
def test_versions_too_large_to_pack_compare_as_the_reference_does(expression):
    versions = ["1.0.0", "1.1048575.1048575", "2.0", "4194303.1048575.1048575", None]
    fleet = Fleet.from_ecs([instance(containerInstanceArn=f"i{k}", versionInfo={"agentVersion": v} if v else None)
                            for k, v in enumerate(versions)])
    predicate = compile(expression)
    assert predicate.evaluate(fleet).tolist() == predicate.evaluate(fleet, backend="reference").tolist()


def test_version_keys_keep_order_and_fleet_versions_round_trip():
    versions = [(0, 0, 0), (1, 2, 3), (1, 1048575, 1048575), (1, 1048576, 0), (2, 0, 0), (4194303, 1048575, 1048575),
                (4194304, 0, 0)]
    keys = [pack_version(v) for v in versions]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) and keys[-1] == 2 ** 63 - 1
    assert pack_version((10 ** 20, 0, 0)) == keys[-1]         # past every version a fleet can hold
    fleet = Fleet.from_ecs([instance(versionInfo={"agentVersion": "4194303.1048575.1048575"})])
    assert fleet[0].agent_version == (4194303, 1048575, 1048575)


# -- Arrow, CSV and Parquet -------------------------------------------------------------------------

def table(**columns):
    return pa.table({"containerInstanceArn": pa.array(["a", "b"]), **columns})


@pytest.mark.parametrize("columns, fragment", [
    ({"runningTasksCount": pa.array([2 ** 63 - 1, 0])}, "column 'runningTasksCount' row 0: 9223372036854775807"),
    ({"runningTasksCount": pa.array([2 ** 64 - 1, 0], pa.uint64())}, "column 'runningTasksCount' row 0"),
    ({"remainingResources.CPU": pa.array([1.0, float("nan")])}, "column 'remainingResources.CPU' row 1: nan"),
    ({"remainingResources.MEMORY": pa.array([1e300, 1.0])}, "column 'remainingResources.MEMORY' row 0: 1e+300"),
    ({"registeredResources.GPU": pa.array([-1, 0])}, "column 'registeredResources.GPU' row 0: -1: negative"),
    ({"remainingResources.CPU": pa.array(["1", "2"])}, "column 'remainingResources.CPU' must hold integers"),
    ({"registeredAt": pa.array([2 ** 62, 0], pa.timestamp("us"))}, "registeredAt row 0: the instant is outside"),
    ({"registeredAt": pa.array([-2 ** 63, 0], pa.timestamp("us"))}, "registeredAt row 0: the instant is outside"),
    ({"registeredAt": pa.array([2 ** 62, 0], pa.timestamp("s"))}, "registeredAt holds an instant outside"),
    ({"registeredAt": pa.array(["9999-12-31T23:59:59-23:59", None])}, "registeredAt row 0: '9999-12-31T23:59:59"),
    ({"agentVersion": pa.array(["2.0", "1.1048576"])}, "agentVersion row 1: '1.1048576' has a component too large"),
    ({"agentVersion": pa.array(["1." + "9" * 5000, None])}, "agentVersion row 0"),
    ({"remainingResources.PORTS": pa.array([["80"], ["70000"]])}, "remainingResources.PORTS row 1: '70000'"),
    ({"remainingResources.PORTS": pa.array([["-1"], []])}, "remainingResources.PORTS row 0: '-1'"),
    ({"remainingResources.PORTS": pa.array([[80], []])}, "remainingResources.PORTS row 0: 80"),
    ({"remainingResources.PORTS": pa.array(["80", "81"])}, "remainingResources.PORTS must be a list<string>"),
    ({"attribute:a": pa.DictionaryArray.from_arrays(pa.array([0, 5], pa.int32()), pa.array(["x", "y"]),
                                                     safe=False)}, "column 'attribute:a' row 1: index 5 is outside"),
    ({"attribute:a": pa.DictionaryArray.from_arrays(pa.array([-1, 0], pa.int32()), pa.array(["y", "x"]),
                                                     safe=False)}, "column 'attribute:a' row 0: index -1 is outside"),
])
def test_hostile_arrow_columns_name_the_column_and_row(columns, fragment):
    with pytest.raises(InputError) as raised:
        Fleet.from_arrow(table(**columns))
    assert fragment in raised.value.message


def test_pandas_frames_that_arrow_cannot_hold_name_the_column():
    import pandas as pd
    frame = pd.DataFrame({"containerInstanceArn": ["a", "b"],
                          "runningTasksCount": pd.Series([2 ** 70, 1], dtype=object)})
    with pytest.raises(InputError, match="column 'runningTasksCount' cannot be read as an Arrow column"):
        Fleet.from_pandas(frame)
    frame = pd.DataFrame({"containerInstanceArn": ["a"], "attribute:x": pd.Series(["\ud800"], dtype=object)})
    with pytest.raises(InputError, match="column 'attribute:x' cannot be read"):
        Fleet.from_pandas(frame)
    with pytest.raises(InputError, match="expected a pandas.DataFrame, got int"):
        Fleet.from_pandas(5)


@pytest.mark.parametrize("body, fragment", [
    ("containerInstanceArn,runningTasksCount\na," + str(2 ** 70) + "\n", "'runningTasksCount' row 0: '118059162"),
    ("containerInstanceArn,runningTasksCount\na," + "9" * 5000 + "\n", "is not a whole number from 0 to 2^52"),
    ("containerInstanceArn,remainingResources.CPU\na," + str(2 ** 60) + "\n", "'remainingResources.CPU' row 0"),
    ("containerInstanceArn,runningTasksCount\na,\u0668\n", "'runningTasksCount' row 0: '\u0668'"),
    ("containerInstanceArn\na\na\n", "not unique"),
    ("containerInstanceArn,registeredAt\na,+10000-01-01\n", "registeredAt row 0: '+10000-01-01'"),
    ("containerInstanceArn,agentVersion\na,1.1048576\n", "agentVersion row 0: '1.1048576'"),
    ("containerInstanceArn,remainingResources.PORTS\na,80 \u0668\u0660\n", "remainingResources.PORTS row 0"),
])
def test_hostile_csv_cells_name_the_file_column_and_row(tmp_path, body, fragment):
    path = tmp_path / "fleet.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        Fleet.read(path)
    assert raised.value.message.startswith(str(path)) and fragment in raised.value.message


def test_hostile_parquet_values_are_refused(tmp_path):
    path = tmp_path / "fleet.parquet"
    pq.write_table(pa.table({"containerInstanceArn": ["a"], "remainingResources.MEMORY": [2 ** 63 - 1]}), path)
    with pytest.raises(InputError, match="'remainingResources.MEMORY' row 0: 9223372036854775807"):
        Fleet.read(path)


# -- requests and the placer's API -----------------------------------------------------------------

@pytest.fixture(scope="module")
def fleet():
    return demo(30, 1)


BAD_AMOUNTS = [-1, 2 ** 70, 2 ** 52 + 1, 1.5, float("nan"), "5", True, None, np.int64(5)]


@pytest.mark.parametrize("value", BAD_AMOUNTS, ids=repr)
@pytest.mark.parametrize("name", ["cpu", "memory", "gpu"])
def test_bad_demands_are_input_errors_on_every_placement_path(fleet, name, value):
    placer = Placer(fleet)
    with pytest.raises(InputError, match=f"task {name} must be an integer from 0 to"):
        placer.place(1, **{"cpu": 1, "memory": 1, name: value}, group="g")
    request = placer.prepare("g")
    with pytest.raises(InputError, match=f"task {name} must be an integer from 0 to"):
        request.place(1, **{"cpu": 1, "memory": 1, name: value})


@pytest.mark.parametrize("value", [-1, 2 ** 70, 10 ** 7 + 1, 1.5, "5", True, None], ids=repr)
def test_bad_counts_are_input_errors(fleet, value):
    placer = Placer(fleet)
    with pytest.raises(InputError, match="count must be an integer from 0 to 10,000,000"):
        placer.place(value, 1, 1, group="g")
    with pytest.raises(InputError, match="count must be an integer from 0 to 10,000,000"):
        placer.prepare("g").place(value, 1, 1)
    with pytest.raises(InputError, match="count must be an integer from 0 to 10,000,000"):
        placer.select_to_stop("g", value)


@pytest.mark.parametrize("ports, fragment", [
    ([70000], "host port must be an integer from 0 to 65535, got 70000"),
    ([-1], "host port must be an integer from 0 to 65535, got -1"),
    ([2 ** 70], "host port must be an integer from 0 to 65535"),
    ([1.5], "host port must be an integer from 0 to 65535, got 1.5"),
    (["80"], "host port must be an integer from 0 to 65535, got '80'"),
    ([80, 80], "maps host port [80, 80] more than once"),
    ("80", "ports must be a list, got '80'"),
    (80, "ports must be a list, got 80"),
    (range(2000), "a task maps 2000 host ports; at most 1024"),
])
def test_bad_ports_are_input_errors(fleet, ports, fragment):
    with pytest.raises(InputError) as raised:
        Placer(fleet).place(1, 1, 1, ports=ports, group="g")
    assert fragment in raised.value.message


@pytest.mark.parametrize("counts, cpus, fragment", [
    ([1], [-1], "cpus must be a list of non-negative integers"),
    ([1], [2 ** 62], "cpus must be a list of non-negative integers"),
    ([1], [1.5], "cpus must be a list of non-negative integers"),
    ([1], ["x"], "cpus must be a list of non-negative integers"),
    ([-1], [1], "counts must be a list of non-negative integers"),
    ([10 ** 7 + 1], [1], "a call places at most 10,000,000 tasks"),
    ([1, 1], [1], "one entry per call"),
])
def test_bad_batches_are_input_errors(fleet, counts, cpus, fragment):
    placer = Placer(fleet)
    placer.prepare("g")
    with pytest.raises(InputError, match=fragment):
        placer.place_many(counts, cpus, [1] * len(counts))


@pytest.mark.parametrize("seed", [-1, 2 ** 70, np.uint64(2 ** 63), 7])
def test_scale_in_takes_any_integer_seed_modulo_2_64(seed):
    placer = Placer(demo(30, 1))
    result = placer.select_to_stop("service:production", 2, [Random()], seed=seed)
    assert result.seed == int(seed) % 2 ** 64 and len(result.stops) + result.short == 2


@pytest.mark.parametrize("seed, strategies, fragment", [
    ("x", [Random()], "seed must be an integer, got 'x'"),
    (1.5, [Random()], "seed must be an integer, got 1.5"),
    (True, [Random()], "seed must be an integer, got True"),
    (None, 5, "strategies must be a list, got 5"),
    (None, "spread", "strategies must be a list, got 'spread'"),
    (None, [5], "strategies[0] is 5, not Binpack, Spread or Random"),
    (None, [Binpack("cpu")] * 6, "6 placement strategies; ECS allows at most 5"),
])
def test_bad_scale_in_arguments_are_input_errors(fleet, seed, strategies, fragment):
    with pytest.raises(InputError) as raised:
        Placer(fleet).select_to_stop("service:production", 1, strategies, seed=seed)
    assert fragment in raised.value.message


@pytest.mark.parametrize("value, fragment", [
    ("1-" + "9" * 5000, "an ephemeral port range is LOW-HIGH"),
    ("\u0661-\u0662", "an ephemeral port range is LOW-HIGH"),
    ((0, 5), "needs 1 <= low <= high <= 65535"),
    ((2 ** 70, 2 ** 71), "needs 1 <= low <= high <= 65535"),
    ((1.5, 2), "needs 1 <= low <= high <= 65535"),
    (5, "is a pair (low, high), got 5"),
])
def test_bad_ephemeral_ranges_are_input_errors(fleet, value, fragment):
    with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Placer(fleet, ephemeral_ports=value)


@pytest.mark.parametrize("n, seed, fragment", [
    (-3, 0, "a demo fleet has from 0 to 10,000,000 instances, got -3"),
    (10 ** 12, 0, "a demo fleet has from 0 to 10,000,000 instances"),
    (1.5, 0, "got 1.5"),
    (5, -1, "a demo fleet's seed is a non-negative integer, got -1"),
    (5, "x", "a demo fleet's seed is a non-negative integer, got 'x'"),
])
def test_bad_demo_sizes_and_seeds_are_input_errors(n, seed, fragment):
    with pytest.raises(InputError, match=fragment):
        demo(n, seed)


def definition(**container) -> dict:
    return {"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "memory": 512, **container}]}


@pytest.mark.parametrize("document, fragment", [
    (definition(cpu="9" * 5000), "containerDefinitions[0].cpu must be a whole number from 0 to 2^52"),
    (definition(cpu=2 ** 70), "containerDefinitions[0].cpu must be a whole number from 0 to 2^52"),
    (definition(memory="\u0661\u0662"), "containerDefinitions[0].memory must be a whole number"),
    (definition(resourceRequirements=[{"type": "GPU", "value": "9" * 5000}]), "resourceRequirements[0].value"),
    (definition(portMappings=[{"containerPort": 80, "hostPort": "9" * 5000}]), "portMappings[0].hostPort"),
    (definition(portMappings=[{"containerPortRange": "1-" + "9" * 5000}]), "containerPortRange must be FIRST-LAST"),
    ({**definition(), "cpu": "9" * 5000}, "task definition cpu '99999"),
    ({**definition(), "memory": "9" * 5000 + " GB"}, "is larger than 2^52 MiB"),
])
def test_hostile_task_definitions_name_the_field(document, fragment):
    with pytest.raises(InputError) as raised:
        demand_from_task_definition(document)
    assert fragment in raised.value.message and len(raised.value.message) < 400


@pytest.mark.parametrize("kwargs, fragment", [
    ({"constraints": ["[" * 100_000]}, "nested too deeply"),
    ({"constraints": ['{"type": "memberOf", "expression": ' + "9" * 5000 + "}"]}, "holds a number too long"),
    ({"constraints": [MemberOf("a == b")] * 11}, "11 placement constraints; ECS allows at most 10"),
    ({"count": 10 ** 5000}, "count must be an integer from 0 to 10,000,000, got <an integer of 5000 digits>"),
])
def test_hostile_request_options_are_input_errors(kwargs, fragment):
    with pytest.raises(InputError) as raised:
        resolve_request(group="g", cpu=1, memory=1, **kwargs)
    assert fragment in raised.value.message and len(raised.value.message) < 600


# -- the command line ------------------------------------------------------------------------------

SIZELESS = ["place", "--demo", "10", "--group", "g"]
PLACE = SIZELESS + ["--cpu", "1", "--memory", "1"]


@pytest.mark.parametrize("argv, fragment", [
    (SIZELESS + ["--memory", "1", "--cpu", "-1"], "argument --cpu: must not be negative"),
    (SIZELESS + ["--memory", "1", "--cpu", "nan"], "argument --cpu: expected a whole number"),
    (SIZELESS + ["--memory", "1", "--cpu", "\u0661\u0662"], "argument --cpu"),
    (PLACE + ["--count", "1e9"], "argument --count: expected a whole number, got '1e9'"),
    (PLACE + ["--count", "9" * 5000], "argument --count: '99999"),
    (PLACE + ["--gpu", "2.5"], "argument --gpu: expected a whole number"),
    (PLACE + ["--port", "-80"], "argument --port: must not be negative"),
    (PLACE + ["--seed", "x"], "argument --seed: expected a whole number, got 'x'"),
    (PLACE + ["--seed", "-1"], "argument --seed: must not be negative"),
    (PLACE + ["--seed", str(2 ** 64)], "argument --seed: takes a seed from 0 to 2^64 - 1"),
    (PLACE + ["--demo-seed", "-1"], "argument --demo-seed: must not be negative"),
    (PLACE + ["--group", "g\udcff"], "argument --group: 'g\\udcff' holds bytes that are not UTF-8 text"),
    (["eval", "attribute:a exists", "--demo", "5", "--threads", "0"], "argument --threads: takes 1 to 1024 threads"),
    (["eval", "attribute:a exists", "--demo", "5", "--threads", str(2 ** 70)], "argument --threads"),
    (["eval", "attribute:a exists", "--demo", "5", "--max-length", "-5"], "argument --max-length: must not be"),
    (["eval", "attribute:a exists", "--demo", "5", "--limit", "nan"], "argument --limit: expected a whole number"),
    (["eval", "attribute:a exists", "--demo", "-3"], "argument --demo: must not be negative"),
    (["eval", "attribute:a =~ \udcff", "--demo", "5"], "argument EXPR: 'attribute:a =~ \\udcff' holds bytes"),
    (["check", "attribute:a exists", "--max-length", "-1"], "argument --max-length: must not be negative"),
    (["demo", "--demo", "-3"], "argument --demo: must not be negative"),
    (["demo", "--demo-seed", "-5"], "argument --demo-seed: must not be negative"),
    (["scale-in", "--demo", "5", "--group", "g", "--count", "-1"], "argument --count: must not be negative"),
    (["scale-in", "--demo", "5", "--group", "g", "--count", "1", "--seed", "-1"], "argument --seed"),
    (["explain", "attribute:a exists", "--demo", "5", "--instance", "\udcff"], "argument --instance"),
    (["bench", "--jobs", "257"], "argument --jobs: takes 1 to 256 worker processes, got 257"),   # MAX_JOBS
    (["simulate", "web-rollout", "--jobs", "257"], "argument --jobs: takes 1 to 256 worker processes, got 257"),
    (["simulate", "web-rollout", "--jobs", "0"], "argument --jobs: takes 1 to 256 worker processes, got 0"),
    (["bench", "--jobs", "2", "--runs", "0"], "argument --runs: takes 1 to 10,000 runs, got 0"),
    (["bench", "--jobs", "2", "--runs", "10001"], "argument --runs: takes 1 to 10,000 runs, got 10001"),
])
def test_bad_flags_are_usage_errors_that_exit_2(capsys, argv, fragment):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and fragment in err and "Traceback" not in err
    assert main(argv + ["--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "input" and fragment in error["message"]


@pytest.mark.parametrize("argv, fragment", [
    (PLACE + ["--count", "1000000000"], "count must be an integer from 0 to 10,000,000, got 1000000000"),
    (PLACE + ["--cpu", str(2 ** 70)], "task cpu must be an integer from 0 to"),
    (PLACE + ["--port", "70000"], "host port must be an integer from 0 to 65535, got 70000"),
    (PLACE + ["--ephemeral-ports", "9-" + "9" * 5000], "an ephemeral port range is LOW-HIGH"),
    (["eval", "attribute:a exists", "--demo", str(10 ** 9)], "--demo takes a size from 0 to 1,000,000"),
    (["demo", "--demo", str(2 ** 70)], "--demo takes a size from 0 to 1,000,000"),
])
def test_bad_values_in_range_of_the_flag_type_are_input_errors_that_exit_2(capsys, argv, fragment):
    assert main(argv + ["--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "input" and fragment in error["message"]


def test_large_seeds_in_range_are_taken(capsys):
    assert main(PLACE + ["--strategy", "random", "--seed", str(2 ** 64 - 1), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 2 ** 64 - 1
    assert main(["scale-in", "--demo", "30", "--demo-seed", "1", "--group", "service:production", "--count", "1",
                 "--strategy", "random", "--seed", str(2 ** 64 - 1), "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["seed"] == 2 ** 64 - 1


@pytest.mark.parametrize("seed", [1.5, "x", True], ids=repr)
def test_a_prepared_request_refuses_a_seed_that_is_not_an_integer(fleet, seed):
    with pytest.raises(InputError, match="seed must be an integer"):
        Placer(fleet).prepare("g").place(1, 1, 1, seed=seed)


@pytest.mark.parametrize("seed", [np.int64(3), np.uint64(2 ** 63), 2 ** 70, -1], ids=repr)
def test_a_prepared_request_takes_any_integer_seed_as_the_placer_does(fleet, seed):
    prepared = Placer(fleet).prepare("g", strategies=[Random()]).place(3, 1, 1, seed=seed)
    direct = Placer(fleet).place(3, 1, 1, group="g", strategies=[Random()], seed=seed)
    assert prepared.seed == direct.seed and prepared.positions.tolist() == direct.positions.tolist()
    again = Placer(fleet).place(3, 1, 1, group="g", strategies=[Random()], seed=int(seed) % 2 ** 64)
    assert again.positions.tolist() == direct.positions.tolist()          # the draw takes it modulo 2^64


@pytest.mark.parametrize("ports", [None, (), [], np.array([], dtype=np.int64)], ids=repr)
def test_no_ports_may_be_spelled_none_or_any_empty_list(fleet, ports):
    placer = Placer(fleet)
    assert placer.prepare("g").place(1, 1, 1, ports=ports).unplaced == 0
    assert placer.place(1, 1, 1, ports=ports, group="g").unplaced == 0


@pytest.mark.parametrize("task", [2 ** 70, -1, 2 ** 63], ids=repr)
def test_stopping_a_task_number_no_placer_can_hold_is_an_input_error(fleet, task):
    with pytest.raises(InputError, match="no running task"):
        Placer(fleet).stop([task])


@pytest.mark.parametrize("call, fragment", [
    (lambda f: f.start_task(f.arns[0], "g", cpu=2 ** 63), "task cpu must be an integer from 0 to 4,503,599,627,370,496"),
    (lambda f: f.start_task(f.arns[0], "g", memory=2 ** 52 + 1), "task memory must be an integer from 0 to"),
    (lambda f: f.start_task(f.arns[0], "\ud800"), "a task needs a group name (valid Unicode)"),
    (lambda f: f.put_attribute(f.arns[0], "x", "\ud800"), "a string value or none (valid Unicode)"),
    (lambda f: f.put_attribute(f.arns[0], "\udcff", "v"), "a non-empty name and a string value"),
    (lambda f: f.delete_attribute(f.arns[0], "\ud800"), "a non-empty name (valid Unicode)"),
    (lambda f: f.set_status(f.arns[0], "DRAIN\ud800"), "a status must be a non-empty string (valid Unicode)"),
    (lambda f: Fleet.read(5), "expected a file path"),
    (lambda f: Fleet.read(None), "expected a file path"),
    (lambda f: Fleet.read("fleet.json", tasks=7), "expected a file path"),
    (lambda f: Fleet.from_polars(5), "expected a polars.DataFrame, got int"),
    (lambda f: compile("attribute:a exists").evaluate(f, threads=2 ** 70), "threads must be an integer from 1"),
    (lambda f: compile("attribute:a exists").evaluate(f, threads=1.0), "threads must be an integer from 1"),
    (lambda f: compile("attribute:a exists", max_length=-5), "max_length must be a positive integer"),
    (lambda f: compile("attribute:a exists", max_length="2000"), "max_length must be a positive integer"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_hostile_arguments_to_the_python_api_are_input_errors(call, fragment):
    fleet = demo(5, 2)                                   # its own: some calls change it
    with pytest.raises(InputError) as raised:
        call(fleet)
    assert fragment in raised.value.message


@pytest.mark.parametrize("text", ["attribute:a =~ \ud800", "attribute:a == x\udcff", "\ud800"], ids=repr)
def test_a_lone_surrogate_in_an_expression_is_a_syntax_error_with_a_printable_caret(text):
    with pytest.raises(QuerySyntaxError) as raised:
        compile(text)
    rendered = raised.value.render()
    rendered.encode("utf-8")                                    # printable: the surrogate is shown as U+FFFD
    column = next(i for i, c in enumerate(text) if 0xD800 <= ord(c) <= 0xDFFF)
    assert raised.value.span.start == column and f"column {column + 1}" in rendered
