"""The checker: subject / operator table, literal types, collected type errors."""
import itertools

import pytest

import placement
from placement.errors import QueryTypeError, Span
from placement.lang import ir
from placement.lang.ast import Op
from placement.lang.check import ALLOWED
from placement.lang.ir import Kind

# One well-typed argument per subject kind and operator family.
GOOD_ARGUMENT = {
    Kind.ATTRIBUTE: {"value": "x", "order": "4", "pattern": "x.*"},
    Kind.INSTANCE_ID: {"value": "i-1", "pattern": "i-.*"},
    Kind.AGENT_CONNECTED: {"value": "true", "pattern": "tr.*"},
    Kind.AGENT_VERSION: {"value": "1.14.5", "order": "1.14"},
    Kind.REGISTERED_AT: {"value": "2018-06-18", "order": "2018-06-18T22:28:28Z"},
    Kind.RUNNING_TASKS: {"value": "3", "order": "3"},
    Kind.TASK_GROUP: {"value": "service:web", "pattern": "service:.*"},
}
SUBJECT = {kind: ("attribute:stack" if kind is Kind.ATTRIBUTE else kind.value) for kind in Kind}


def expression(kind: Kind, op: Op) -> str:
    args = GOOD_ARGUMENT[kind]
    if op.is_unary:
        return f"{SUBJECT[kind]} {op.value}"
    if op in (Op.MATCHES, Op.NOT_MATCHES):
        arg = args.get("pattern", "x")
    elif op in (Op.GT, Op.GE, Op.LT, Op.LE):
        arg = args.get("order", "x")
    else:
        arg = args["value"]
    return f"{SUBJECT[kind]} {op.value} " + (f"[{arg}]" if op.takes_list else arg)


@pytest.mark.parametrize("kind, op", list(itertools.product(Kind, Op)))
def test_every_subject_operator_pair_is_allowed_or_a_type_error_at_the_operator(kind, op):
    text = expression(kind, op)
    if op in ALLOWED[kind]:
        placement.compile(text)
    else:
        with pytest.raises(QueryTypeError) as raised:
            placement.compile(text)
        start = len(SUBJECT[kind]) + 1
        assert raised.value.span == Span(start, start + len(op.value))
        assert SUBJECT[kind] in raised.value.message and op.value in raised.value.message


def type_error(text: str) -> QueryTypeError:
    with pytest.raises(QueryTypeError) as raised:
        placement.compile(text)
    return raised.value


@pytest.mark.parametrize("text, bad", [
    ("runningTasksCount > abc", "abc"),
    ("runningTasksCount == -1", "-1"),
    ("runningTasksCount == \u0663", "\u0663"),
    ("attribute:cores > \u0663", "\u0663"),
    ("agentVersion > 1.\u0663", "1.\u0663"),
    ("runningTasksCount in [1, x]", "x"),
    ("agentConnected == maybe", "maybe"),
    ("agentConnected == TRUE", "TRUE"),
    ("agentVersion > 1.2.3.4", "1.2.3.4"),
    ("agentVersion == v1", "v1"),
    ("registeredAt > 2018-13-01", "2018-13-01"),
    ("registeredAt > yesterday", "yesterday"),
    ("registeredAt < '2018-06-18 22:28:28'", "'2018-06-18 22:28:28'"),
    ("attribute:cores > four", "four"),
    ("attribute:x =~ '(a)\\1'", "'(a)\\1'"),
    ("attribute:x =~ '(?=a)'", "'(?=a)'"),
    ("attribute:x =~ '(?<=a)b'", "'(?<=a)b'"),
    ("attribute:x =~ '(unclosed'", "'(unclosed'"),
])
def test_bad_literals_are_type_errors_spanning_the_literal(text, bad):
    error = type_error(text)
    assert text[error.span.start:error.span.end] == bad


def test_the_error_for_upper_case_true_suggests_lower_case():
    assert "true" in type_error("agentConnected == TRUE").hint


def test_unsupported_regex_constructs_are_named():
    assert "backreferences" in type_error("attribute:x =~ '(a)\\1'").message
    assert "lookahead" in type_error("attribute:x =~ '(?=a)'").message


@pytest.mark.parametrize("text, hint", [
    ("ecs.instance-type == t2.micro", "attribute:ecs.instance-type"),
    ("runningtaskscount == 1", "runningTasksCount"),
    ("agentVersoin > 1", "agentVersion"),
    ("host == x", None),
])
def test_unknown_subjects_are_type_errors_with_a_guess(text, hint):
    error = type_error(text)
    assert "unknown subject" in error.message
    assert error.span == Span(0, text.index(" "))
    if hint:
        assert hint in error.hint


@pytest.mark.parametrize("name", ["a:b", "", "x" * 129, "a@b" * 0 + "a,b" * 0 + "a:"])
def test_invalid_attribute_names(name):
    assert "invalid attribute name" in type_error(f"attribute:{name} exists").message


def test_attribute_names_allow_the_ecs_character_set():
    placement.compile("attribute:com.amazonaws.ecs.capability/x_y\\z-1 exists")
    placement.compile("attribute:" + "x" * 128 + " exists")


def test_all_type_errors_are_collected_leftmost_first():
    error = type_error("runningTasksCount > abc and host == x or agentVersion =~ 1")
    assert [p.message.split(":")[0] for p in error.problems] == [
        "runningTasksCount >", "unknown subject 'host'", "operator =~ is not allowed on agentVersion"]
    assert error.span == error.problems[0].span
    assert len(error.to_json()["errors"]) == 3


def test_literals_are_typed_in_the_ir():
    assert placement.compile("agentVersion > 1.9").ir == ir.Order(ir.Field(Kind.AGENT_VERSION), ">", (1, 9, 0))
    assert placement.compile("runningTasksCount in [1, 2]").ir == ir.OneOf(ir.Field(Kind.RUNNING_TASKS),
                                                                         frozenset({1, 2}))
    assert placement.compile("agentConnected != false").ir == ir.OneOf(ir.Field(Kind.AGENT_CONNECTED),
                                                                     frozenset({False}), negated=True)
    at = placement.compile("registeredAt >= 2018-06-18T22:28:28+02:00").ir.value
    assert at == placement.compile("registeredAt >= 2018-06-18T20:28:28Z").ir.value


def test_quoted_and_bare_literals_type_alike():
    assert placement.compile("runningTasksCount == '3'").ir == placement.compile("runningTasksCount == 3").ir
