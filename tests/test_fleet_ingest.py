"""Fleet ingest from ECS JSON: what is read, and the errors malformed documents get."""
import datetime as dt

import pytest

from placement import Fleet, InputError
from placement.values import parse_timestamp


def instance(**fields):
    return {"containerInstanceArn": "ci-1", **fields}


def test_reads_the_describe_container_instances_document_and_the_bare_list():
    document = {"containerInstances": [instance(), instance(containerInstanceArn="ci-2")], "failures": []}
    assert Fleet.from_ecs(document).arns == ["ci-1", "ci-2"]
    assert Fleet.from_ecs(document["containerInstances"]).arns == ["ci-1", "ci-2"]


def test_reads_every_field_the_language_uses():
    fleet = Fleet.from_ecs([instance(
        ec2InstanceId="i-0abc", status="ACTIVE", agentConnected=True, runningTasksCount=2,
        registeredAt="2018-06-18T22:28:28.123000+00:00", versionInfo={"agentVersion": "1.14.5"},
        attributes=[{"name": "stack", "value": "prod"}, {"name": "ecs.capability.x"}],
        remainingResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 512},
                            {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024},
                            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "80"]}])])
    (record,) = fleet
    assert record.ec2_instance_id == "i-0abc" and record.agent_connected is True
    assert record.agent_version == (1, 14, 5) and record.running_tasks_count == 2
    assert record.registered_at == parse_timestamp("2018-06-18T22:28:28.123Z")
    assert dict(record.attributes) == {"stack": "prod", "ecs.capability.x": None}
    assert record.remaining.cpu == 512 and record.remaining.memory == 1024
    assert record.remaining.ports == frozenset({22, 80})


@pytest.mark.parametrize("raw", [
    "2018-06-18T22:28:28+00:00", "2018-06-18T15:28:28-07:00", 1529360908, 1529360908.0,
    dt.datetime(2018, 6, 18, 22, 28, 28, tzinfo=dt.timezone.utc), dt.datetime(2018, 6, 18, 22, 28, 28)])
def test_registered_at_accepts_cli_strings_epoch_seconds_and_datetimes(raw):
    (record,) = Fleet.from_ecs([instance(registeredAt=raw)])
    assert record.registered_at == parse_timestamp("2018-06-18T22:28:28Z")


def test_only_running_tasks_on_fleet_instances_count_toward_groups():
    tasks = {"tasks": [
        {"group": "service:web", "containerInstanceArn": "ci-1", "desiredStatus": "RUNNING"},
        {"group": "service:web", "containerInstanceArn": "ci-1", "desiredStatus": "RUNNING"},
        {"group": "service:api", "containerInstanceArn": "ci-1", "desiredStatus": "STOPPED"},
        {"group": "service:db", "containerInstanceArn": "elsewhere", "desiredStatus": "RUNNING"},
        {"group": "family:fargate", "desiredStatus": "RUNNING"},
    ]}
    (record,) = Fleet.from_ecs([instance()], tasks)
    assert dict(record.task_groups) == {"service:web": 2}


@pytest.mark.parametrize("document, complaint", [
    ({"instances": []}, "containerInstances"),
    ("nope", "cannot read fleet file 'nope'"),
    ({"containerInstances": "nope"}, "must be a list"),
    ([42], "containerInstances[0] must be an object"),
    ([{}], "'containerInstanceArn' is missing"),
    ([instance(runningTasksCount="3")], "'runningTasksCount' must be int"),
    ([instance(runningTasksCount=-1)], "must be a count from 0 to 2^52, got -1"),
    ([instance(agentConnected="yes")], "'agentConnected' must be bool"),
    ([instance(registeredAt="last tuesday")], "'registeredAt' must be an ISO-8601 time"),
    ([instance(attributes=[{"value": "x"}])], "'attributes[0]' must be an object with a 'name'"),
    ([instance(attributes=[{"name": "a", "value": 3}])], "'attributes[0].value' must be a string"),
    ([instance(attributes=[{"name": "a"}, {"name": "a"}])], "repeats the attribute 'a'"),
    ([instance(remainingResources=[{"name": "CPU", "integerValue": -5}])], "CPU must be a non-negative"),
    ([instance(remainingResources=[{"name": "PORTS", "stringSetValue": ["http"]}])], "not a port number"),
    ([instance(), instance()], "duplicate containerInstanceArn"),
])
def test_malformed_documents_are_input_errors_naming_instance_and_field(document, complaint):
    with pytest.raises(InputError) as raised:
        Fleet.from_ecs(document)
    assert complaint in raised.value.message
    if isinstance(document, list) and document and isinstance(document[0], dict) and document[0]:
        assert "ci-1" in raised.value.message


def test_malformed_tasks_are_input_errors():
    with pytest.raises(InputError, match="tasks\\[0\\]: 'group' must be a string"):
        Fleet.from_ecs([instance()], [{"group": 7, "containerInstanceArn": "ci-1", "desiredStatus": "RUNNING"}])


def test_ids_checks_the_mask_shape():
    fleet = Fleet.from_ecs([instance()])
    assert fleet.ids([True]) == ["ci-1"]
    with pytest.raises(InputError):
        fleet.ids([True, False])
