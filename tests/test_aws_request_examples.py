"""Real AWS documents: every task definition, run-task and create-service example of botocore's
ECS examples file, and the AWS CLI's documented ECS examples (tests/realworld/aws_cli_requests.json);
and the committed key table equals what botocore 1.44.8's ECS model gives."""
import json
from pathlib import Path

import botocore                                  # the test extra pins botocore 1.44.8
import pytest

from placement.errors import InputError
from placement.place import ecs_model
from placement.place.requests import TaskRequest, ecs_service_default, resolve_request

EXAMPLES_FILE = Path(botocore.__file__).parent / "data" / "ecs" / "2014-11-13" / "examples-1.json"
REALWORLD = json.loads((Path(__file__).parent / "realworld" / "aws_cli_requests.json").read_text())["cases"]

# operation -> (which side of the example, what it is)
READ = {"RegisterTaskDefinition": (("input", "task_definition"), ("output", "task_definition")),
        "DescribeTaskDefinition": (("output", "task_definition"),),
        "RunTask": (("input", "request"),), "CreateService": (("input", "request"),)}


def _examples():
    examples = json.loads(EXAMPLES_FILE.read_text())["examples"]
    for operation, sides in READ.items():
        for i, example in enumerate(examples.get(operation, [])):
            for side, kind in sides:
                if side in example:
                    yield pytest.param(operation, kind, example[side], id=f"{operation}-{i}-{side}")


def _read(kind: str, document, **flags):
    try:
        return resolve_request(**{kind: document}, **flags)
    except InputError as error:
        return error


def test_the_examples_file_has_what_we_read():
    assert len(list(_examples())) >= 6


@pytest.mark.parametrize("operation, kind, document", list(_examples()))
def test_every_botocore_example_gives_a_request_or_an_input_error(operation, kind, document):
    assert isinstance(_read(kind, document), (TaskRequest, InputError))
    got = _read(kind, document, cpu=256, memory=512, group="g")      # enough flags for any of them
    assert isinstance(got, TaskRequest), got                         # valid ECS documents: none refused
    assert got.warnings == ()


def test_what_the_botocore_examples_say():
    examples = json.loads(EXAMPLES_FILE.read_text())["examples"]
    registered = examples["RegisterTaskDefinition"][0]
    for document in (registered["input"], registered["output"]):
        got = resolve_request(task_definition=document)
        assert (got.cpu, got.memory, got.ports, got.group) == (10, 10, (), "family:sleep360")
    got = resolve_request(task_definition=examples["DescribeTaskDefinition"][0]["output"])
    assert (got.cpu, got.memory, got.ports, got.group) == (20, 1000, (80,), "family:hello_world")
    got = resolve_request(examples["RunTask"][0]["input"], registered["input"])
    assert (got.count, got.group, got.cpu, got.memory) == (1, "family:sleep360", 10, 10)
    for example in examples["CreateService"]:
        got = resolve_request(example["input"], cpu=1, memory=1)
        assert got.count == 10 and got.group == f"service:{example['input']['serviceName']}"
        assert got.strategies == tuple(ecs_service_default())


@pytest.mark.parametrize("case", REALWORLD, ids=[case["id"] for case in REALWORLD])
def test_aws_cli_documented_examples(case):
    got = _read("request", case.get("request"), task_definition=case.get("task_definition"), **case.get("flags", {}))
    if "error" in case:
        assert isinstance(got, InputError) and case["error"] in got.message
    else:
        assert isinstance(got, TaskRequest), got
        assert got.to_json() == case["expect"] and got.warnings == ()


def test_the_committed_key_table_is_botocores():
    assert botocore.__version__ == ecs_model.BOTOCORE_VERSION, "the test extra pins the botocore the table is of"
    generated = ecs_model.generate()
    assert ecs_model.table() == generated
    assert ecs_model.TABLE_PATH.read_text(encoding="utf-8") == ecs_model.dump(generated)   # as regenerated


def test_the_table_covers_what_placement_reads():
    shapes = ecs_model.table()["shapes"]
    assert shapes["ContainerDefinition"]["portMappings"] == "[PortMapping]"
    assert shapes["ContainerDefinition"]["dockerLabels"] == "{}"
    assert set(shapes["PlacementConstraint"]) == {"type", "expression"}
    assert set(shapes["PlacementStrategy"]) == {"type", "field"}
    for key in ("count", "group", "placementConstraints", "placementStrategy", "launchType",
                "capacityProviderStrategy", "overrides", "taskDefinition"):
        assert key in ecs_model.members("RunTask")
    assert "desiredCount" in ecs_model.members("CreateService") and "group" not in ecs_model.members("CreateService")
