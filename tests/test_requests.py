"""Requests and task definitions as ECS writes them (SPEC 2b, 3): sizes, ports, groups, strict
keys, Fargate, counts, the command line's shorthand, and resolve_request's precedence."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement.errors import InputError
from placement.place import ecs_model
from placement.place.requests import (Binpack, DistinctInstance, MemberOf, Random, RequestWarning, Spread,
                                      TaskRequest, ecs_service_default, parse_constraint_option,
                                      parse_constraint_options, parse_strategy_option, parse_strategy_options,
                                      resolve_request)


def td(*containers, **task):
    return {"family": "web", "containerDefinitions": list(containers), **task}


def container(name="app", **fields):
    return {"name": name, "image": "nginx", **fields}


def error_of(*args, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        resolve_request(*args, **kwargs)
    return caught.value


def messages(request: TaskRequest) -> list[str]:
    return [w.message for w in request.warnings]


# -- sizes ---------------------------------------------------------------------------------------

def test_memory_reservation_is_what_ecs_reserves():
    got = resolve_request(None, td(container(memory=2000, memoryReservation=100, cpu=256)))
    assert (got.cpu, got.memory) == (256, 100)


def test_containers_are_summed_without_task_level_sizes():
    got = resolve_request(None, td(container("a", cpu=128, memory=256), container("b", memoryReservation=64),
                                   container("c", cpu=10, memory=20, memoryReservation=30)))
    assert (got.cpu, got.memory) == (138, 350)


@pytest.mark.parametrize("cpu, memory, expected", [
    ("1 vCPU", "2 GB", (1024, 2048)), ("0.5 vCPU", "1GB", (512, 1024)), ("2 vcpu", "0.5 gb", (2048, 512)),
    ("0.25VCPU", "1.5 GB", (256, 1536)), ("256", "512", (256, 512)), (256, 512, (256, 512)),
    (" 1024 ", "3 Gb", (1024, 3072)),
])
def test_task_level_sizes_win(cpu, memory, expected):
    got = resolve_request(None, td(container(cpu=10, memory=20), cpu=cpu, memory=memory))
    assert (got.cpu, got.memory) == expected


@pytest.mark.parametrize("cpu, memory, complaint", [
    ("2 GB", "512", "cpu '2 GB' is not a size"), ("256", "1 vCPU", "memory '1 vCPU' is not a size"),
    ("1.5", "512", "cpu units"), ("lots", "512", "not a size"), (True, "512", "not a size"),
    ("256", "-5", "not a size"), ("256", 1.5, "not a size"),
])
def test_bad_task_level_sizes(cpu, memory, complaint):
    assert complaint in error_of(None, td(container(memory=1), cpu=cpu, memory=memory)).message


def test_a_container_without_memory_is_an_error_naming_it_unless_the_task_sets_memory():
    error = error_of(None, td(container("sidecar", cpu=10)))
    assert "sidecar" in error.message and "containerDefinitions[0]" in error.message
    assert resolve_request(None, td(container("sidecar", cpu=10), memory="512")).memory == 512


@pytest.mark.parametrize("fields, complaint", [
    ({"cpu": "ten", "memory": 1}, "containerDefinitions[0].cpu must be a whole number"),
    ({"memory": -1}, "containerDefinitions[0].memory must be a whole number"),
    ({"memory": 1.5}, "whole number"),
    ({"memory": 1, "resourceRequirements": [{"type": "GPU", "value": "one"}]}, "resourceRequirements[0].value"),
])
def test_bad_container_numbers(fields, complaint):
    assert complaint in error_of(None, td(container(**fields))).message


def test_gpus_are_summed_from_resource_requirements():
    got = resolve_request(None, td(
        container("a", memory=1, resourceRequirements=[{"type": "GPU", "value": "2"},
                                                       {"type": "InferenceAccelerator", "value": "dev1"}]),
        container("b", memory=1, resourceRequirements=[{"type": "GPU", "value": "1"}])))
    assert got.gpu == 3


# -- ports ---------------------------------------------------------------------------------------

MAPPINGS = [{"containerPort": 80}, {"containerPort": 81, "hostPort": 8081}, {"containerPort": 82, "hostPort": 0},
            {"containerPort": 53, "protocol": "udp"}, {"containerPort": 443, "protocol": "TCP"}]


@pytest.mark.parametrize("mode, ports", [
    (None, (0, 8081, 0, 0)),                  # bridge, the default: absent or 0 is dynamic
    ("bridge", (0, 8081, 0, 0)),
    ("host", (80, 8081, 82, 443)),            # the container port when hostPort is absent or 0
    ("awsvpc", ()), ("none", ()),
])
def test_host_ports_per_network_mode(mode, ports):
    definition = td(container(memory=1, portMappings=MAPPINGS), **({"networkMode": mode} if mode else {}))
    assert resolve_request(None, definition).ports == ports


def test_port_ranges_are_dynamic_in_bridge_mode_and_refused_in_host_mode():
    mapping = {"containerPortRange": "8000-8002"}
    assert resolve_request(None, td(container(memory=1, portMappings=[mapping]))).ports == (0, 0, 0)
    assert "host" in error_of(None, td(container(memory=1, portMappings=[mapping]), networkMode="host")).message
    assert "FIRST-LAST" in error_of(None, td(container(memory=1, portMappings=[{"containerPortRange": "9-3"}]))).message


@pytest.mark.parametrize("definition, complaint", [
    (td(container(memory=1, portMappings=[{"hostPort": 80}])), "has no containerPort"),
    (td(container(memory=1, portMappings=[{"containerPort": 80, "hostPort": 70000}])), "above 65535"),
    (td(container(memory=1, portMappings=[{"containerPort": 80, "hostPort": 80}]),
        container("b", memory=1, portMappings=[{"containerPort": 80, "hostPort": 80}])), "more than once"),
    (td(container(memory=1), networkMode="nat"), "networkMode must be"),
])
def test_bad_ports(definition, complaint):
    assert complaint in error_of(None, definition).message


# -- the three shapes of a task definition -------------------------------------------------------

DESCRIBED = {"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", "revision": 3,
             "status": "ACTIVE", "compatibilities": ["EC2"], "registeredAt": "2024-01-01T00:00:00Z",
             "registeredBy": "arn:aws:iam::123456789012:root",
             "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
             **td(container(memory=64, cpu=32, dockerLabels={"any key": "x"},
                            logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "g"}}))}


def test_a_described_task_definition_and_the_response_are_read():
    for document in (DESCRIBED, {"taskDefinition": DESCRIBED, "tags": [{"key": "k", "value": "v"}]},
                     {**td(container(memory=64, cpu=32)), "tags": [{"key": "k", "value": "v"}]}):
        got = resolve_request(None, document)
        assert (got.cpu, got.memory, got.group, got.warnings) == (32, 64, "family:web", ())


def test_unknown_keys_name_the_path_and_the_nearest_key():
    error = error_of(None, td(container(memory=1, portMapping=[{"containerPort": 80}])))
    assert "'portMapping'" in error.message and "containerDefinitions[0].portMapping" in error.message
    assert "did you mean portMappings?" in error.message
    error = error_of(None, {"taskDefinition": td(container(memory=1, portMappings=[{"containerPort": 80,
                                                                                     "hostport": 1, "hostPot": 2}]))})
    assert "taskDefinition.containerDefinitions[0].portMappings[0].hostPot" in error.message
    error = error_of({"placementConstraint": [{"type": "distinctInstance"}]}, td(container(memory=1)))
    assert "did you mean placementConstraints?" in error.message
    error = error_of({"zzzzzz": 1}, cpu=0, memory=0, group="g")
    assert "'zzzzzz'" in error.message and "nearest" in error.message and "count" in error.hint


def test_free_form_maps_are_not_checked_but_their_place_is():
    assert resolve_request(None, DESCRIBED).memory == 64
    error = error_of(None, td(container(memory=1, dockerLabels=["not", "a", "map"])))
    assert "dockerLabels must be an object" in error.message
    error = error_of(None, td(container(memory=1, portMappings={"containerPort": 80})))
    assert "portMappings must be a list" in error.message


def test_a_case_mismatched_key_is_read_with_a_warning_naming_it():
    got = resolve_request({"PlacementConstraints": [{"Type": "memberOf", "Expression": "attribute:a exists"}]},
                          td(container(memory=1)))
    assert got.constraints == (MemberOf("attribute:a exists"),)
    assert any("'PlacementConstraints'" in m and "placementConstraints" in m for m in messages(got))
    assert any("'Type'" in m for m in messages(got)) and len(got.warnings) == 3
    got = resolve_request(None, {"Family": "web", "ContainerDefinitions": [{"Name": "a", "Memory": 7}]})
    assert got.memory == 7 and got.group == "family:web" and len(got.warnings) == 4


def test_a_key_in_two_spellings_is_an_error():
    assert "repeats" in error_of({"count": 1, "Count": 2}, cpu=0, memory=0, group="g").message


def test_a_document_in_the_wrong_place_says_so():
    assert "--task-definition" in error_of(td(container(memory=1))).hint
    assert "--request" in error_of(None, {"count": 2, **td(container(memory=1))}).hint
    assert "describe-task-definition" in error_of(None, {"taskDefinition": "web:3"}).hint
    assert "--task-definition" in error_of({"taskDefinition": {"family": "x"}}, cpu=0, memory=0).hint
    assert "a JSON object" in error_of([td(container(memory=1))], cpu=0, memory=0, group="g").message


def test_task_definition_constraints_are_memberof_only():
    definition = td(container(memory=1), placementConstraints=[{"type": "distinctInstance"}])
    assert "distinctInstance goes in the run-task" in error_of(None, definition).hint


# -- requests ------------------------------------------------------------------------------------

def test_run_task_group_defaults_to_the_family():
    for reference in ("web:3", "web", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"):
        assert resolve_request({"taskDefinition": reference}, cpu=1, memory=1).group == "family:web"
    assert resolve_request(None, td(container(memory=1))).group == "family:web"
    assert resolve_request({"count": 2}, td(container(memory=1))).group == "family:web"
    assert resolve_request({"taskDefinition": "web:3", "group": "batch"}, cpu=1, memory=1).group == "batch"
    assert "not a task definition ARN" in error_of({"taskDefinition": "arn:aws:ecs:x:1:service/web"},
                                                   cpu=1, memory=1).message


def test_a_family_that_differs_from_the_task_definition_is_warned():
    got = resolve_request({"taskDefinition": "api:1"}, td(container(memory=1)))
    assert got.group == "family:api" and "'web'" in messages(got)[0]


def test_services_place_desired_count_in_their_group_with_the_service_default():
    got = resolve_request({"serviceName": "web", "desiredCount": 3, "taskDefinition": "web:1"}, cpu=1, memory=1)
    assert (got.count, got.group, got.strategies) == (3, "service:web", tuple(ecs_service_default()))
    got = resolve_request({"serviceName": "web"}, cpu=1, memory=1)
    assert got.count == 1 and got.strategies == tuple(ecs_service_default())
    got = resolve_request({"serviceName": "web", "placementStrategy": []}, cpu=1, memory=1)
    assert got.strategies == tuple(ecs_service_default())
    got = resolve_request({"serviceName": "web", "placementStrategy": [{"type": "binpack", "field": "cpu"}]},
                          cpu=1, memory=1)
    assert got.strategies == (Binpack("cpu"),)
    assert "create-service key" in error_of({"desiredCount": 3}, cpu=1, memory=1, group="g").message


def test_run_task_without_strategy_is_random():
    assert resolve_request({"taskDefinition": "web"}, cpu=1, memory=1).strategies == (Random(),)
    assert resolve_request(cpu=1, memory=1, group="g").strategies == (Random(),)


def test_count_above_ten_is_read_with_a_warning():
    got = resolve_request({"taskDefinition": "web", "count": 11}, cpu=1, memory=1)
    assert got.count == 11 and "limit of 10" in messages(got)[0]
    assert resolve_request({"taskDefinition": "web", "count": 10}, cpu=1, memory=1).warnings == ()
    assert resolve_request({"serviceName": "s", "desiredCount": 50}, cpu=1, memory=1).warnings == ()
    assert resolve_request(count=50, cpu=1, memory=1, group="g").warnings == ()       # a plain dry run
    assert "limit of 10" in messages(resolve_request({"taskDefinition": "web"}, count=12, cpu=1, memory=1))[0]


@pytest.mark.parametrize("request_", [
    {"taskDefinition": "web", "launchType": "FARGATE"},
    {"serviceName": "web", "launchType": "FARGATE"},
    {"taskDefinition": "web", "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]},
    {"serviceName": "web", "capacityProviderStrategy": [{"capacityProvider": "asg", "weight": 1},
                                                         {"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
])
def test_fargate_is_an_input_error(request_):
    error = error_of(request_, cpu=1, memory=1)
    assert "FARGATE" in error.message and "placement constraints or strategies" in error.message


def test_ec2_and_ec2_capacity_providers_are_fine():
    assert resolve_request({"taskDefinition": "web", "launchType": "EC2"}, cpu=1, memory=1).count == 1
    assert resolve_request({"serviceName": "web", "capacityProviderStrategy": [{"capacityProvider": "asg"}]},
                           cpu=1, memory=1).group == "service:web"


def test_a_daemon_service_is_refused():
    assert "DAEMON" in error_of({"serviceName": "d", "schedulingStrategy": "DAEMON"}, cpu=1, memory=1).message


def test_request_constraints_add_to_the_task_definitions_and_flags_add_to_both():
    definition = td(container(memory=1), placementConstraints=[{"type": "memberOf", "expression": "attribute:a exists"}])
    request = {"taskDefinition": "web", "placementConstraints": [{"type": "distinctInstance"}]}
    got = resolve_request(request, definition, constraints=["memberOf:attribute:b exists"])
    assert got.constraints == (MemberOf("attribute:a exists"), DistinctInstance(), MemberOf("attribute:b exists"))
    too_many = [{"type": "memberOf", "expression": f"attribute:a{i} exists"} for i in range(6)]
    assert "at most 10" in error_of({"placementConstraints": too_many},
                                    td(container(memory=1), placementConstraints=too_many[:5])).message


def test_overrides_resize_the_task():
    definition = td(container("a", cpu=10, memory=20), container("b", cpu=1, memory=2))
    got = resolve_request({"taskDefinition": "web", "overrides": {"containerOverrides": [
        {"name": "a", "cpu": 100, "memoryReservation": 5, "resourceRequirements": [{"type": "GPU", "value": "1"}]}]}},
        definition)
    assert (got.cpu, got.memory, got.gpu) == (101, 7, 1)
    got = resolve_request({"taskDefinition": "web", "overrides": {"cpu": "1 vCPU", "memory": "512"}}, definition)
    assert (got.cpu, got.memory) == (1024, 512)
    got = resolve_request({"taskDefinition": "web", "overrides": {"cpu": "256", "memory": "1GB"}})
    assert (got.cpu, got.memory) == (256, 1024)
    assert "'zzz'" in error_of({"overrides": {"containerOverrides": [{"name": "zzz"}]}}, definition).message


def test_flags_override_documents():
    definition = td(container(cpu=10, memory=20, portMappings=[{"containerPort": 80, "hostPort": 80}],
                              resourceRequirements=[{"type": "GPU", "value": "1"}]))
    request = {"taskDefinition": "web", "count": 3, "group": "batch",
               "placementStrategy": [{"type": "binpack", "field": "memory"}]}
    got = resolve_request(request, definition, count=5, cpu=1, memory=2, gpu=0, ports=[0, 8080], group="g",
                          strategies=["type=spread,field=host"])
    assert (got.count, got.cpu, got.memory, got.gpu, got.ports, got.group, got.strategies) == (
        5, 1, 2, 0, (0, 8080), "g", (Spread("host"),))
    got = resolve_request(request, definition)
    assert (got.count, got.cpu, got.memory, got.gpu, got.ports, got.group, got.strategies) == (
        3, 10, 20, 1, (80,), "batch", (Binpack("memory"),))


def test_what_the_command_line_composed_before():
    """The ``place --request --task-definition`` case of tests/test_place.py, through resolve_request."""
    got = resolve_request({"count": 2, "placementConstraints": [{"type": "distinctInstance"}],
                           "placementStrategy": [{"type": "binpack", "field": "memory"}]},
                          {"family": "batch", "cpu": "256", "memory": "512", "containerDefinitions": []})
    assert got == TaskRequest(2, 256, 512, 0, (), "family:batch", (DistinctInstance(),), (Binpack("memory"),))


@pytest.mark.parametrize("kwargs, complaint, hint", [
    ({"cpu": 1, "memory": 1}, "no task group", "--group"),
    ({"group": "g"}, "pass --cpu and --memory", "MiB"),
    ({"group": "g", "cpu": 1}, "pass --memory,", "MiB"),
    ({"group": "g", "cpu": -1, "memory": 1}, "task cpu", None),
    ({"group": "g", "cpu": 1, "memory": 1, "count": -1}, "count", None),
    ({"group": "g", "cpu": 1, "memory": 1, "ports": 80}, "ports must be a list", None),
    ({"group": "g", "cpu": 1, "memory": 1, "ports": [80, 80]}, "more than once", None),
    ({"group": "g", "cpu": 1, "memory": 1, "strategies": ["random"] * 6}, "at most 5", None),
    ({"group": "g", "cpu": 1, "memory": 1, "constraints": "distinctInstance"}, "list of strings", None),
])
def test_bad_flags(kwargs, complaint, hint):
    error = error_of(**kwargs)
    assert complaint in error.message and (hint is None or hint in error.hint)


def test_the_json_contract():
    got = resolve_request({"taskDefinition": "web", "count": 11},
                          td(container(memory=64, portMappings=[{"containerPort": 80}])),
                          constraints=["type=distinctInstance", 'type=memberOf,expression="attribute:a in (x, y)"'],
                          strategies=["type=spread,field=attribute:ecs.availability-zone", "binpack:memory"])
    assert got.to_json() == {
        "cpu": 0, "memory": 64, "gpu": 0, "ports": [0], "group": "family:web",
        "constraints": [{"type": "distinctInstance"}, {"type": "memberOf", "expression": "attribute:a in (x, y)"}],
        "strategies": [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                       {"type": "binpack", "field": "memory"}], "count": 11}
    assert list(got.to_json()) == ["cpu", "memory", "gpu", "ports", "group", "constraints", "strategies", "count"]
    assert got.warnings[0].to_json() == {"kind": "request", "message": got.warnings[0].message}
    assert isinstance(got.warnings[0], RequestWarning)
    json.dumps(got.to_json())


# -- the command line's --constraint / --strategy ------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("memberOf:attribute:x == y", MemberOf("attribute:x == y")),
    ("distinctInstance", DistinctInstance()),
    ('type=memberOf,expression="attribute:x == y"', MemberOf("attribute:x == y")),
    ("type=memberOf,expression='attribute:x in (a, b)'", MemberOf("attribute:x in (a, b)")),
    ("type=memberOf, expression = attribute:x == y", MemberOf("attribute:x == y")),
    ('expression="a \\" b",type=memberOf', MemberOf('a " b')),
    ("type=distinctInstance", DistinctInstance()),
    ('{"type": "memberOf", "expression": "attribute:x =~ t2.*"}', MemberOf("attribute:x =~ t2.*")),
    ('[{"type": "distinctInstance"}]', DistinctInstance()),
])
def test_constraint_options(text, expected):
    assert parse_constraint_option(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("binpack:memory", Binpack("memory")), ("spread:attribute:ecs.availability-zone",
                                            Spread("attribute:ecs.availability-zone")),
    ("random", Random()), ("type=spread,field=attribute:ecs.availability-zone", Spread("attribute:ecs.availability-zone")),
    ("type=binpack,field=memory", Binpack("memory")), ("type=random", Random()), ("type=spread,field=instanceId",
                                                                                  Spread("instanceId")),
    ('{"type": "binpack", "field": "cpu"}', Binpack("cpu")),
])
def test_strategy_options(text, expected):
    assert parse_strategy_option(text) == expected


def test_a_json_list_gives_several():
    text = '[{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field": "host"}]'
    assert parse_strategy_options(text) == [Spread("attribute:ecs.availability-zone"), Spread("host")]
    assert resolve_request(cpu=1, memory=1, group="g", strategies=[text]).strategies == (
        Spread("attribute:ecs.availability-zone"), Spread("host"))
    assert "gives 2" in pytest.raises(InputError, parse_strategy_option, text).value.message
    assert parse_constraint_options('[{"type": "distinctInstance"}, {"type": "memberOf", "expression": "a"}]') == [
        DistinctInstance(), MemberOf("a")]


@pytest.mark.parametrize("text, complaint", [
    ('type=memberOf,expression="attribute:x', "never closed"),
    ("type=memberOf,expression=attribute:x in (a, b)", "quote a value that holds a comma"),
    ("type=memberOf,", "got nothing"),
    ("type=memberOf,expresion=attribute:x", "did you mean expression?"),
    ("type=memberOf,type=distinctInstance", "given twice"),
    ('type="memberOf"x', "separate KEY=VALUE pairs with commas"),
    ("type=sameInstance", "unknown constraint type 'sameInstance'"),
    ("type=distinctInstance,expression=x", "takes no expression"),
    ("type=memberOf", "needs an expression"),
    ('{"type": "memberOf", "expression": ', "is not JSON"),
    ('["memberOf"]', "must be an object"),
    ("", "is empty"),
])
def test_bad_constraint_options(text, complaint):
    with pytest.raises(InputError) as caught:
        parse_constraint_option(text)
    assert complaint in caught.value.message and "--constraint" in caught.value.message


@pytest.mark.parametrize("text, complaint", [
    ("type=binpack,field=disk", "cpu or memory"), ("type=spread", "needs a field"),
    ("type=spread,feild=host", "did you mean field?"), ("type=roundrobin", "unknown strategy type"),
    ("{bad}", "is not JSON"), ("type=random,field=x", "no field"),
])
def test_bad_strategy_options(text, complaint):
    with pytest.raises(InputError) as caught:
        parse_strategy_option(text)
    assert complaint in caught.value.message and "--strategy" in caught.value.message


# -- properties ----------------------------------------------------------------------------------

RUN_TASK_KEYS = {key.lower() for key in ecs_model.members("RunTask")}
CONTAINER_KEYS = {key.lower() for key in ecs_model.table()["shapes"]["ContainerDefinition"]}


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_any_key_outside_the_model_is_refused(key):
    if key.lower() not in RUN_TASK_KEYS | {"servicename", "desiredcount", "containerdefinitions"}:
        error = error_of({key: 1}, cpu=1, memory=1, group="g")
        assert repr(key) in error.message
    if key.lower() not in CONTAINER_KEYS:
        error = error_of(None, td(container(memory=1, **{key: 1})))
        assert repr(key) in error.message and "containerDefinitions[0]" in error.message


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(ecs_model.table()["shapes"]["ContainerDefinition"])), st.data())
def test_any_case_mismatch_of_a_known_key_is_read_with_a_warning(key, data):
    flips = data.draw(st.lists(st.booleans(), min_size=len(key), max_size=len(key)))
    written = "".join(c.swapcase() if flip else c for c, flip in zip(key, flips))
    value = {"memory": 5, "memoryReservation": 5, "cpu": 3}.get(key)
    definition = td({written: value} if key == "memory" else {"memory": 5, written: value})
    got = resolve_request(None, definition)
    assert got.memory == 5
    assert any(repr(written) in m for m in messages(got)) == (written != key)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1).filter(lambda s: s.strip()), st.sampled_from(['"', "'"]))
def test_quoted_shorthand_values_come_back_exactly(expression, quote):
    escaped = expression.replace("\\", "\\\\").replace(quote, "\\" + quote)
    assert parse_constraint_option(f"type=memberOf,expression={quote}{escaped}{quote}") == MemberOf(expression)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_option_text_gives_a_constraint_or_an_input_error(text):
    for parse in (parse_constraint_options, parse_strategy_options):
        try:
            parse(text)
        except InputError:
            pass
