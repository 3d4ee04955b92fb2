"""Every form of fleet input SPEC 3 names, and the real AWS documents no one here wrote.

botocore's shipped ECS examples (`examples-1.json`, botocore 1.44.8 is a test dependency) and the
outputs documented in the AWS CLI's ECS examples are read as they are: a fleet, or an input error,
never a traceback.
"""
import datetime as dt
import io
import json
import os
from pathlib import Path

import botocore
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement import Fleet, InputError, compile
from placement.fleet import ingest
from placement.fleet.demo import demo_documents
from placement.values import parse_timestamp
from tests.property import strategies

REALWORLD = Path(__file__).parent / "realworld"
BOTOCORE_EXAMPLES = json.loads((Path(botocore.__file__).parent / "data/ecs/2014-11-13/examples-1.json").read_text())["examples"]
CLI_EXAMPLES = json.loads((REALWORLD / "aws_cli_fleet_examples.json").read_text())["examples"]


def instance(arn="ci-1", **fields):
    return {"containerInstanceArn": arn, **fields}


def same_fleet(a: Fleet, b: Fleet) -> bool:
    return a.arns == b.arns and list(map(_plain, a)) == list(map(_plain, b))


def _plain(record):
    return (record.arn, record.ec2_instance_id, record.status, record.agent_connected, record.agent_version,
            record.registered_at, record.running_tasks_count, dict(record.attributes), dict(record.task_groups),
            record.remaining, record.registered)


# -- the forms -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def documents():
    return demo_documents(30, 3)


@pytest.fixture(scope="module")
def parsed(documents):
    return Fleet.from_ecs(*documents)


def test_text_bytes_paths_and_file_objects_read_the_same_fleet(tmp_path, documents, parsed):
    fleet_text, tasks_text = (json.dumps(d) for d in documents)
    (tmp_path / "fleet.json").write_text(fleet_text)
    (tmp_path / "tasks.json").write_text(tasks_text)
    for fleet_source, tasks_source in [
            (fleet_text, tasks_text), (fleet_text.encode(), tasks_text.encode()),
            (tmp_path / "fleet.json", tmp_path / "tasks.json"),
            (str(tmp_path / "fleet.json"), str(tmp_path / "tasks.json")),
            (io.BytesIO(fleet_text.encode()), io.BytesIO(tasks_text.encode()))]:
        assert same_fleet(Fleet.from_ecs(fleet_source, tasks_source), parsed)
    assert same_fleet(Fleet.read(tmp_path / "fleet.json", tmp_path / "tasks.json"), parsed)


def test_pages_and_concatenated_documents_are_joined_in_order(documents, parsed):
    fleet_doc, tasks_doc = documents
    instances, tasks = fleet_doc["containerInstances"], tasks_doc["tasks"]
    pages = [{"containerInstances": instances[:10], "failures": []}, {"containerInstances": instances[10:]}]
    task_pages = [{"tasks": tasks[:7]}, {"tasks": tasks[7:]}]
    assert same_fleet(Fleet.from_ecs(pages, task_pages), parsed)
    assert same_fleet(Fleet.from_ecs(json.dumps(pages), json.dumps(task_pages)), parsed)
    concatenated = "\n".join(json.dumps(page, indent=2) for page in pages)      # `aws ... ` run twice, >>
    assert same_fleet(Fleet.from_ecs(concatenated, "".join(map(json.dumps, task_pages))), parsed)
    assert same_fleet(Fleet.from_ecs(json.dumps(instances), json.dumps(tasks)), parsed)


def test_a_lone_instance_object_is_a_fleet_of_one():
    assert Fleet.from_ecs(instance(status="ACTIVE")).arns == ["ci-1"]
    assert Fleet.from_ecs(json.dumps(instance(status="ACTIVE"))).arns == ["ci-1"]


def test_boto3_responses_with_datetimes_and_response_metadata():
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    response = {"containerInstances": [instance(registeredAt=when, status="ACTIVE")], "failures": [],
                "ResponseMetadata": {"RequestId": "x", "HTTPStatusCode": 200}}
    tasks = {"tasks": [{"taskArn": "t-1", "containerInstanceArn": "ci-1", "group": "service:web",
                        "desiredStatus": "RUNNING", "createdAt": when, "startedAt": when}]}
    fleet = Fleet.from_ecs(response, tasks)
    assert fleet[0].registered_at == parse_timestamp("2024-05-01T19:30:00Z")
    assert compile("registeredAt >= 2024-05-01T19:30:00Z").evaluate(fleet).all()
    assert dict(fleet[0].task_groups) == {"service:web": 1}


def test_gpus_as_an_integer_count_or_a_stringset_of_ids():
    ids = ["GPU-aaaa", "GPU-bbbb", "GPU-cccc", "GPU-dddd"]
    fleet = Fleet.from_ecs([
        instance("a", registeredResources=[{"name": "GPU", "type": "INTEGER", "integerValue": 8}],
                 remainingResources=[{"name": "GPU", "type": "INTEGER", "integerValue": 2}]),
        instance("b", registeredResources=[{"name": "GPU", "type": "STRINGSET", "stringSetValue": ids}],
                 remainingResources=[{"name": "GPU", "type": "STRINGSET", "stringSetValue": ids[:3],
                                      "integerValue": 0}])])
    assert [r.registered.gpu for r in fleet] == [8, 4]
    assert [r.remaining.gpu for r in fleet] == [2, 3]


def test_standard_input_is_read_for_dash(monkeypatch, documents, parsed):
    fleet_text = json.dumps(documents[0]).encode()

    class Stdin:
        buffer = io.BytesIO(fleet_text)
    monkeypatch.setattr("sys.stdin", Stdin)
    assert same_fleet(Fleet.read("-", None), Fleet.from_ecs(documents[0]))


@pytest.mark.parametrize("text, complaint", [
    ("", "the fleet JSON is empty"),
    ('{"containerInstances": [', "not JSON"),
    ('{"containerInstances": []}\n{"containerInstances": [}', "line 2, column 25"),
    ('{"containerInstances": [{"containerInstanceArn": "a", "remainingResources": '
     '[{"name": "CPU", "integerValue": "12"}]}]}',
     "containerInstances[0] (a): 'remainingResources[0].integerValue' must be int, got str"),
    ('[{"containerInstanceArn": "a", "attributes": [{"name": []}]}]',
     "containerInstances[0] (a): 'attributes[0].name' must be a string, got array"),
    ('[{"containerInstanceArn": "a", "remainingResources": [{"name": "MEMORY", "doubleValue": 1e300}]}]',
     "MEMORY must be a non-negative number up to 2^52"),
    ('[{"containerInstanceArn": "a", "registeredAt": 1e18}]', "'registeredAt' must be an ISO-8601 time"),
    ('[{"containerInstanceArn": "a", "runningTasksCount": 1180591620717411303424}]', "runningTasksCount"),
    ('{"tasks": []}', "expected the JSON of 'aws ecs describe-container-instances'"),
    ('[{"containerInstanceArn": "a", "remainingResources": [{"name": "CPU", "integerValue": ' + "9" * 5000 + "}]}]",
     "containerInstances[0]: 'remainingResources[0].integerValue' is out of range"),
    ('[{"containerInstanceArn": "a", "remainingResources": [{"name": "CPU", "doubleValue": 1e400}]}]',
     "'remainingResources[0].doubleValue' is out of range"),
    ("[" * 100_000, "nested too deeply"),
    ('"just a string"', "containerInstances"),
])
def test_bad_text_is_an_input_error_with_a_place(text, complaint):
    with pytest.raises(InputError) as raised:
        Fleet.from_ecs(text if text.lstrip()[:1] in "{[" and text else text.encode())
    assert complaint in raised.value.message


def test_lone_surrogates_in_parsed_json_are_refused():
    document = json.loads('[{"containerInstanceArn": "a", "attributes": [{"name": "x", "value": "\\ud800"}]}]')
    with pytest.raises(InputError, match="not valid Unicode"):
        Fleet.from_ecs(document)
    with pytest.raises(InputError, match="not valid Unicode"):
        Fleet.from_ecs([]).register(document)
    tasks = json.loads('[{"containerInstanceArn": "a", "group": "service:\\udc00", "desiredStatus": "RUNNING"}]')
    with pytest.raises(InputError, match="task group"):
        Fleet.from_ecs([{"containerInstanceArn": "a"}], tasks)


def test_an_unreadable_path_names_the_file(tmp_path):
    with pytest.raises(InputError, match="cannot read fleet file .*missing.json"):
        Fleet.read(tmp_path / "missing.json")


# -- real documents ------------------------------------------------------------------------------------

def test_botocore_describe_container_instances_and_describe_tasks_examples():
    (fleet_example,) = BOTOCORE_EXAMPLES["DescribeContainerInstances"]
    (tasks_example,) = BOTOCORE_EXAMPLES["DescribeTasks"]
    fleet = Fleet.from_ecs(fleet_example["output"], tasks_example["output"])
    (record,) = fleet
    assert record.remaining.cpu == 1948 and record.remaining.memory == 3668
    assert record.remaining.ports == frozenset({22, 80, 2375, 2376, 51678})
    assert record.status == "ACTIVE" and record.running_tasks_count == 1
    # The example task runs on another cluster's instance: it counts nowhere here.
    assert dict(record.task_groups) == {}
    assert Fleet.from_ecs(json.dumps(fleet_example["output"]), json.dumps(tasks_example["output"])).arns == fleet.arns


@pytest.mark.parametrize("example", [e for e in CLI_EXAMPLES if e["command"] == "describe-container-instances"],
                         ids=lambda e: os.path.basename(e["source"]))
def test_aws_cli_documented_fleets(example, tmp_path):
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(example["output"], indent="\t"))
    fleet = Fleet.read(path, None)
    assert len(fleet) == 1 and fleet[0].ec2_instance_id.startswith("i-")
    assert compile("ec2InstanceId =~ i-.*").evaluate(fleet).all()


def test_aws_cli_documented_fargate_task_counts_on_no_instance():
    (tasks,) = [e["output"] for e in CLI_EXAMPLES if e["command"] == "describe-tasks"]
    fleet = Fleet.from_ecs(CLI_EXAMPLES[0]["output"], tasks)
    assert len(fleet.tasks) == 0               # a Fargate task has no container instance


# -- the batched path against the one-by-one path ------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=strategies.fleets(max_size=12), batch=st.sampled_from([1, 2, 5, 8192]))
def test_batched_ingest_equals_registering_one_by_one(monkeypatch, document, batch):
    monkeypatch.setattr(ingest, "_BATCH", batch)
    instances = document["containerInstances"]
    tasks = [{**task, "taskArn": f"t-{k}"} for k, task in enumerate(document["tasks"])]
    document = {**document, "tasks": tasks}
    at_once = Fleet.from_ecs(document, {"tasks": tasks})
    from_text = Fleet.from_ecs(json.dumps(document).encode(), json.dumps(tasks))
    one_by_one = Fleet.from_ecs([])
    for record in instances:
        one_by_one.register(record, {"tasks": [t for t in tasks if t["containerInstanceArn"] == record["containerInstanceArn"]]})
    assert same_fleet(at_once, from_text) and same_fleet(at_once, one_by_one)
    for text in ("attribute:stack exists", "attribute:zone == x", "ec2InstanceId == i-1", "agentVersion >= 1.14.0",
                 "registeredAt > 2018-06-18T22:28:28Z", "task:group == service:web", "attribute:team !exists"):
        predicate = compile(text)
        assert (predicate.evaluate(at_once) == predicate.evaluate(one_by_one)).all()


@pytest.mark.parametrize("struct, shape", [
    (ingest.ContainerInstance, "ContainerInstance"), (ingest.Resource, "Resource"), (ingest.Attribute, "Attribute"),
    (ingest.VersionInfo, "VersionInfo"), (ingest.Task, "Task"), (ingest.Container, "Container"),
    (ingest.NetworkBinding, "NetworkBinding")])
def test_every_field_read_is_a_member_of_botocores_shape(struct, shape):
    import botocore.session
    model = botocore.session.get_session().get_service_model("ecs").shape_for(shape)
    assert set(struct.__struct_fields__) <= set(model.members), set(struct.__struct_fields__) - set(model.members)


def test_what_ingest_leaves_out_is_said_in_the_fleets_warnings():
    (fleet_example,) = BOTOCORE_EXAMPLES["DescribeContainerInstances"]
    (tasks_example,) = BOTOCORE_EXAMPLES["DescribeTasks"]
    fleet = Fleet.from_ecs(fleet_example["output"], tasks_example["output"])
    assert fleet.warnings == ("1 RUNNING task of the tasks file runs on container instances not in the fleet; "
                              "they count nowhere",)
    assert fleet.tasks_given and compile("task:group exists").warnings(fleet) == []   # not "came without tasks"
    response = {"containerInstances": [instance("a")], "failures": [{"arn": "arn:x", "reason": "MISSING"}]}
    for source in (response, json.dumps(response)):
        assert Fleet.from_ecs(source).warnings == (
            "the describe-container-instances response lists 1 failure (first: MISSING arn:x); "
            "those containerInstances are not read",)
    ungrouped = [{"taskArn": "t", "containerInstanceArn": "a", "desiredStatus": "RUNNING"},
                 {"taskArn": "s", "containerInstanceArn": "a", "desiredStatus": "STOPPED"}]
    assert Fleet.from_ecs([instance("a")], ungrouped).warnings == (
        "1 RUNNING task on the fleet has no group; task:group cannot see them",)
    assert Fleet.from_ecs([instance("a")]).warnings == () and Fleet.from_ecs([instance("a")]).tasks_given is False
