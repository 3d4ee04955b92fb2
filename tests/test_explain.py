"""explain and why (SPEC 1.7): the tree as written, JSON shapes, golden renderings, instance
lookup, actual values, the command, and the trace mode against the reference evaluator."""
import importlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import placement
from placement import Fleet, InputError
from placement.cli import main
from placement.engine import reference
from placement.engine.bind import bind_trace
from placement.engine.kernels import _has_avx2
from placement.engine.plan import trace_plan
from placement.explain.tree import Explanation, locate

GOLDEN = Path(__file__).parent / "golden" / "explain.txt"
ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/"
FLEET = {"containerInstances": [
    {"containerInstanceArn": ARN + "a1b2c3d4e5f60718293a4b5c6d7e8f90", "ec2InstanceId": "i-1", "agentConnected": True,
     "versionInfo": {"agentVersion": "1.14.5"}, "registeredAt": "2018-06-18T22:28:28Z", "runningTasksCount": 2,
     "attributes": [{"name": "stack", "value": "prod"}, {"name": "ecs.instance-type", "value": "t2.micro"},
                    {"name": "ecs.capability.x"}, {"name": "zone", "value": "us-east-1a"}]},
    {"containerInstanceArn": ARN + "a1b2c3d4e5f7aaaabbbbccccddddeeee", "ec2InstanceId": "i-2", "agentConnected": False,
     "versionInfo": {"agentVersion": "1.9.0"}, "runningTasksCount": 0,
     "attributes": [{"name": "stack", "value": "dev"}, {"name": "ecs.instance-type", "value": "m5.large"},
                    {"name": "zone", "value": "us-east-1d"}]},
    {"containerInstanceArn": ARN + "ffff0000111122223333444455556666", "runningTasksCount": 1,
     "attributes": [{"name": "ecs.instance-type", "value": "t2.small"}, {"name": "stack"},
                    {"name": "zone", "value": "us east 1b"}]},
    {"containerInstanceArn": "ci-4", "ec2InstanceId": "i-4", "agentConnected": True,
     "attributes": [{"name": "stack", "value": "prod"}, {"name": "ecs.instance-type", "value": "c5.xlarge"}]},
]}
TASKS = {"tasks": [
    {"group": "service:web", "containerInstanceArn": ARN + "a1b2c3d4e5f60718293a4b5c6d7e8f90", "desiredStatus": "RUNNING"},
    {"group": "database", "containerInstanceArn": ARN + "a1b2c3d4e5f60718293a4b5c6d7e8f90", "desiredStatus": "RUNNING"},
    {"group": "service:api", "containerInstanceArn": ARN + "ffff0000111122223333444455556666", "desiredStatus": "RUNNING"},
]}
EXPRESSIONS = [
    "attribute:stack == prod",
    "attribute:ecs.instance-type =~ t2.* and attribute:zone != us-east-1d",
    "(attribute:stack == prod or runningTasksCount > 0) and not (task:group == service:web)",
    "not(attribute:stack == prod) && !(attribute:ecs.capability.x exists) || agentVersion < 1.14",
    "attribute:stack != prod and (attribute:zone in ['us east 1b', us-east-1d] or registeredAt >= 2018-01-01)",
    "attribute:ecs.capability.x == true or task:group exists and agentConnected == false or ec2InstanceId == i-4",
]


@pytest.fixture(scope="module")
def fleet():
    return Fleet.from_ecs(FLEET, TASKS)


def walk(node):
    yield node
    for child in node["children"]:
        yield from walk(child)


# -- the tree as written ---------------------------------------------------------------------------

def test_explain_json_is_the_spec_shape(fleet):
    text = EXPRESSIONS[2]
    document = placement.compile(text).explain(fleet).to_json()
    assert set(document) == {"total", "tree"} and document["total"] == 4
    for node in walk(document["tree"]):
        assert set(node) == {"kind", "text", "span", "count", "children"}
        assert node["kind"] in ("and", "or", "not", "simple")
        start, end = node["span"]
        assert text[start:end] == node["text"]
        assert isinstance(node["count"], int) and 0 <= node["count"] <= 4
        assert (node["kind"] == "simple") == (node["children"] == [])
    tree = document["tree"]
    assert [tree["kind"], *(c["kind"] for c in tree["children"])] == ["and", "or", "not"]
    assert tree["children"][0]["text"] == "attribute:stack == prod or runningTasksCount > 0"
    assert tree["children"][1]["text"] == "not (task:group == service:web)"      # the whole not(...), balanced
    assert tree["text"] == text
    assert tree["count"] == placement.compile(text).count(fleet)
    json.dumps(document)


def test_the_tree_is_the_expression_as_written_not_the_simplified_one(fleet):
    """simplify would push the not inward, merge the two stack leaves and reorder: explain does not."""
    text = "not(attribute:stack == a or attribute:stack == b) and (task:group == g and runningTasksCount < 3)"
    tree = placement.compile(text).explain(fleet).tree
    assert [n.kind for n in placement.compile(text).explain(fleet).nodes()] == [
        "and", "not", "or", "simple", "simple", "and", "simple", "simple"]
    assert [c.text for c in tree.children] == ["not(attribute:stack == a or attribute:stack == b)",
                                               "task:group == g and runningTasksCount < 3"]


def test_text_is_as_written_spellings_and_spacing_kept(fleet):
    text = "attribute:stack==prod  AND  NOT attribute:zone EQUALS 'us east 1b'"
    nodes = list(placement.compile(text).explain(fleet).nodes())
    assert [n.text for n in nodes] == [text, "attribute:stack==prod", "NOT attribute:zone EQUALS 'us east 1b'",
                                       "attribute:zone EQUALS 'us east 1b'"]


def test_parentheses_inside_quotes_do_not_widen_spans(fleet):
    text = "(attribute:stack == 'a(' or attribute:zone =~ '(x|y)\\)') and attribute:stack exists"
    nodes = list(placement.compile(text).explain(fleet).nodes())
    assert [n.text for n in nodes] == [text, "attribute:stack == 'a(' or attribute:zone =~ '(x|y)\\)'",
                                       "attribute:stack == 'a('", "attribute:zone =~ '(x|y)\\)'",
                                       "attribute:stack exists"]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_every_count_is_the_reference_count_of_its_subexpression(fleet, text):
    explanation = placement.compile(text).explain(fleet)
    for node in explanation.nodes():
        assert node.count == int(reference.evaluate(node.expr, fleet).sum()), node.text
    assert explanation.count == placement.compile(text).count(fleet)


def test_every_kernel_build_traces_the_same_counts():
    fleet = placement.demo(5000, 2)                 # more than one block of 4096 rows
    builds = [importlib.import_module("placement.engine._kernels")]
    if _has_avx2():
        try:
            builds.append(importlib.import_module("placement.engine._kernels_avx2"))
        except ImportError:
            pass
    text = ("(attribute:ecs.instance-type =~ t.* or runningTasksCount in [1, 3, 5, 7, 9]) and "
            "not(task:group == service:web) and agentVersion >= 1.20 or registeredAt < 2024-01-01")
    predicate = placement.compile(text)
    plan = trace_plan(predicate.ir, text)
    expected = [int(reference.evaluate(node.expr, fleet).sum()) for node in plan.nodes]
    for build in builds:
        bound = bind_trace(plan, fleet.columns, build.Program)
        assert bound.counts().tolist() == expected, build
        assert bound.program.trace(10, 4100).tolist() == [
            int(reference.evaluate(node.expr, fleet)[10:4100].sum()) for node in plan.nodes]


def test_the_trace_plan_lists_ids_spans_and_what_each_node_became(fleet):
    text = "attribute:stack == prod and not(runningTasksCount > 1)"
    bound = bind_trace(trace_plan(placement.compile(text).ir, text), fleet.columns)
    assert bound.explain().splitlines() == [
        f"trace plan: {text}",
        f"  #0 and [0, 54) {text}",
        "    #1 simple [0, 23) attribute:stack == prod",
        "    #2 not [28, 54) not(runningTasksCount > 1)",
        "      #3 simple [32, 53) runningTasksCount > 1",
        "bound:", "  #0 and", "  #1 attribute:stack: 2 values, uint8, 1 code range(s)", "  #2 not",
        "  #3 runningTasksCount: 1 uint8 range(s)"]


def test_an_empty_fleet_explains_with_zero_counts():
    fleet = Fleet.from_ecs({"containerInstances": []})
    document = placement.compile("attribute:a == b or not(task:group exists)").explain(fleet).to_json()
    assert document["total"] == 0 and {n["count"] for n in walk(document["tree"])} == {0}


def test_deep_nesting_explains():
    text = "not(" * 40 + "attribute:stack == prod" + ")" * 40
    fleet = Fleet.from_ecs(FLEET, TASKS)
    nodes = list(placement.compile(text).explain(fleet).nodes())
    assert len(nodes) == 41 and nodes[0].text == text and nodes[-1].text == "attribute:stack == prod"
    assert nodes[0].count == 2 and nodes[1].count == 2                      # 40 nots: the leaf again


def test_explain_needs_a_fleet():
    with pytest.raises(InputError):
        placement.compile("attribute:a exists").explain("not a fleet")


# -- why -------------------------------------------------------------------------------------------

def test_why_json_adds_value_everywhere_and_actual_on_simple_nodes(fleet):
    text = EXPRESSIONS[2]
    document = placement.compile(text).why(fleet, 0).to_json()
    assert set(document) == {"total", "instance", "tree"}
    assert document["instance"] == {"arn": ARN + "a1b2c3d4e5f60718293a4b5c6d7e8f90", "position": 0}
    for node in walk(document["tree"]):
        assert isinstance(node["value"], bool)
        assert ("actual" in node) == (node["kind"] == "simple")
    leaves = [n for n in walk(document["tree"]) if n["kind"] == "simple"]
    assert [(n["text"], n["value"], n["actual"]) for n in leaves] == [
        ("attribute:stack == prod", True, "prod"), ("runningTasksCount > 0", True, 2),
        ("task:group == service:web", True, ["database", "service:web"])]
    assert document["tree"]["value"] is False


def test_actual_values_absent_and_valueless_are_said_as_such(fleet):
    text = ("attribute:stack == prod or attribute:ecs.capability.x exists or agentVersion > 1 or "
            "registeredAt > 2018-01-01 or agentConnected == true or ec2InstanceId == i-1 or task:group exists")
    def actuals(position):
        return [{k: v for k, v in n.items() if k in ("actual", "absent", "valueless")}
                for n in walk(placement.compile(text).why(fleet, position).to_json()["tree"]) if n["kind"] == "simple"]
    assert actuals(0) == [{"actual": "prod"}, {"actual": None, "valueless": True}, {"actual": "1.14.5"},
                          {"actual": "2018-06-18T22:28:28Z"}, {"actual": True}, {"actual": "i-1"},
                          {"actual": ["database", "service:web"]}]
    assert actuals(2) == [{"actual": None, "valueless": True}, {"actual": None, "absent": True},
                          {"actual": None, "absent": True}, {"actual": None, "absent": True},
                          {"actual": None, "absent": True}, {"actual": None, "absent": True},
                          {"actual": ["service:api"]}]
    assert actuals(1)[-1] == {"actual": []}


def test_why_agrees_with_evaluate_on_every_instance(fleet):
    for text in EXPRESSIONS:
        predicate = placement.compile(text)
        mask = predicate.evaluate(fleet)
        for position in range(len(fleet)):
            explanation = predicate.why(fleet, position)
            assert explanation.selected == bool(mask[position])
            for node in explanation.nodes():
                assert node.value == reference.holds(node.expr, fleet[position]), (text, node.text)


@pytest.mark.parametrize("name, position", [
    (ARN + "ffff0000111122223333444455556666", 2),    # the ARN
    ("ffff0000111122223333444455556666", 2),          # the id at its end
    ("ffff00001111", 2),                              # the 12 characters listings show
    ("a1b2c3d4e5f6", 0),                              # a prefix only one id has (the other is a1b2c3d4e5f7)
    ("ci-4", 3),                                      # an ARN without a slash is its own id
    (3, 3), ("3", 3),                                 # positions
])
def test_instances_are_found_by_arn_id_prefix_or_position(fleet, name, position):
    assert locate(fleet, name) == position


@pytest.mark.parametrize("name, message", [
    ("a1b2c3d4e5", "names 2 instances"),
    ("ffff00001112", "no container instance 'ffff00001112'"),
    (9, "no instance at position 9"), ("-1", "no container instance '-1'"), ("", "an instance is"),
])
def test_unknown_or_ambiguous_instances_are_input_errors(fleet, name, message):
    with pytest.raises(InputError) as raised:
        placement.compile("attribute:a exists").why(fleet, name)
    assert message in str(raised.value)


def test_an_unknown_id_gets_a_did_you_mean(fleet):
    with pytest.raises(InputError) as raised:
        locate(fleet, "ffff00001112")
    assert raised.value.hint == "did you mean ffff00001111?"


# -- golden renderings -----------------------------------------------------------------------------

def rendered(fleet) -> str:
    """Every expression explained, then explained for instance 0 and 2, as the command prints them."""
    out = ["# placement explain on tests/test_explain.py's FLEET; regenerate with UPDATE_GOLDEN=1"]
    for text in EXPRESSIONS:
        predicate = placement.compile(text)
        out += [f"=== {text}", predicate.explain(fleet).render()]
        for position in (0, 2):
            out += [f"--- why {position}", predicate.why(fleet, position).render()]
    return "\n".join(out) + "\n"


def test_golden_renderings(fleet):
    text = rendered(fleet)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_the_rendering_is_a_box_drawn_tree_with_aligned_counts(fleet):
    lines = placement.compile(EXPRESSIONS[2]).explain(fleet).render().splitlines()
    assert [line.rsplit(" ", 1)[0].rstrip() for line in lines] == [
        "and", "├── or", "│   ├── attribute:stack == prod", "│   └── runningTasksCount > 0", "└── not",
        "    └── task:group == service:web"]
    assert len({len(line) for line in lines}) == 1                        # counts right-aligned in a column
    assert lines[0].endswith(" 2/4")


# -- the command -----------------------------------------------------------------------------------

@pytest.fixture
def fleet_files(tmp_path):
    fleet_path, tasks_path = tmp_path / "fleet.json", tmp_path / "tasks.json"
    fleet_path.write_text(json.dumps(FLEET))
    tasks_path.write_text(json.dumps(TASKS))
    return ["--fleet", str(fleet_path), "--tasks", str(tasks_path)]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_command_json_and_exit_codes(capsys, fleet_files):
    code, out, _ = run(capsys, "explain", EXPRESSIONS[2], *fleet_files, "--json")
    document = json.loads(out)
    assert code == 0 and document["total"] == 4 and document["tree"]["count"] == 2
    assert document["tree"] == placement.compile(EXPRESSIONS[2]).explain(Fleet.from_ecs(FLEET, TASKS)).to_json()["tree"]
    assert document["warnings"] == [] or all("message" in w for w in document["warnings"])
    code, out, _ = run(capsys, "explain", "attribute:stack == nothing-has-this", *fleet_files, "--json")
    assert code == 1 and json.loads(out)["tree"]["count"] == 0


def test_command_instance_exit_code_is_whether_it_is_selected(capsys, fleet_files):
    code, out, _ = run(capsys, "explain", "attribute:stack == prod", *fleet_files, "--instance", "a1b2c3d4e5f6")
    assert code == 0 and out.splitlines()[0] == "instance a1b2c3d4e5f6 (position 0): selected"
    code, out, _ = run(capsys, "explain", "attribute:stack == prod", *fleet_files, "--instance", "1", "--json")
    document = json.loads(out)
    assert code == 1 and document["tree"]["value"] is False and document["tree"]["actual"] == "dev"
    assert document["instance"]["position"] == 1


def test_command_unknown_instance_is_bad_input_naming_it(capsys, fleet_files):
    code, _, err = run(capsys, "explain", "attribute:stack == prod", *fleet_files, "--instance", "ffff00001112")
    assert code == 2 and "'ffff00001112'" in err and "did you mean ffff00001111?" in err
    code, out, _ = run(capsys, "explain", "attribute:stack == prod", *fleet_files, "--instance", "nope", "--json")
    assert code == 2 and json.loads(out)["error"]["kind"] == "input" and "'nope'" in json.loads(out)["error"]["message"]


def test_command_bad_expression_and_length(capsys):
    code, _, err = run(capsys, "explain", "attribute:stack ==", "--demo", "10")
    assert code == 2 and "syntax error" in err
    code, out, _ = run(capsys, "explain", "attribute:stack == " + "x" * 2000, "--demo", "10", "--json")
    assert code == 2 and "--max-length" in json.loads(out)["error"]["hint"]
    code, out, _ = run(capsys, "explain", "attribute:stack == " + "x" * 2000, "--demo", "10", "--max-length", "3000",
                       "--json")
    assert code == 1 and json.loads(out)["total"] == 10


def test_command_for_people_on_the_demo_fleet(capsys):
    code, out, err = run(capsys, "explain", "attribute:ecs.instance-type =~ t.* and not(task:group == service:web)",
                         "--demo", "60", "--demo-seed", "3")
    lines = out.splitlines()
    assert code in (0, 1) and lines[0].startswith("and ") and lines[1].startswith("├── ")
    assert lines[-1].endswith("of 60 instances match") or lines[-1].endswith("of 60 instances matches")


def test_digits_are_a_position_unless_they_are_a_whole_id():
    fleet = Fleet.from_ecs([{"containerInstanceArn": f"arn:aws:ecs:r:1:container-instance/c/{i}"}
                            for i in ("10aa", "20bb", "2", "cc")])
    assert locate(fleet, "1") == 1                     # a position, though "10aa" begins with 1
    assert locate(fleet, "2") == 2                     # a whole id wins over position 2... which it also is
    assert locate(fleet, "3") == 3
    assert locate(fleet, "10aa") == 0 and locate(fleet, "20") == 1   # ids, and a prefix past the positions
