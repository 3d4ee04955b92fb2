"""Properties of the language front end, on random input."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import placement
from placement import Fleet, PlacementError
from placement.lang import ast
from placement.lang.parser import parse
from tests.property.strategies import expressions, fleets

FRAGMENTS = ["attribute:", "stack", "ecs.instance-type", " ", "==", "!=", "=~", "!~", "!", "in", "!in",
             "exists", "!exists", "[", "]", ",", "(", ")", "'", '"', "\\", "and", "or", "not", "&&", "||",
             "&", "|", "t2.*", "task:group", "runningTasksCount", ">", "<=", "3", "true", "TRUE",
             "agentVersion", "1.2", "registeredAt", "2018-06-18", "${x}", "{{", "<n>", "\n", "@", "é", "\x00"]
SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join)))
def test_any_text_either_compiles_or_raises_a_placement_error_with_a_span_inside_it(text):
    try:
        placement.compile(text)
    except PlacementError as error:
        assert error.kind in ("syntax", "type")
        for problem in error.problems:
            assert problem.span is not None
            assert 0 <= problem.span.start <= problem.span.end <= len(text)
        assert error.render()


@SETTINGS
@given(expressions())
def test_random_well_typed_expressions_compile(text):
    placement.compile(text, max_length=10_000)


@SETTINGS
@given(expressions())
def test_the_canonical_form_parses_back_to_the_same_tree(text):
    tree = parse(text, max_length=10_000)
    printed = ast.to_text(tree)
    assert parse(printed, max_length=10_000) == tree
    assert ast.to_text(parse(printed, max_length=10_000)) == printed


@SETTINGS
@given(expressions(max_leaves=6), fleets())
def test_the_canonical_form_selects_the_same_instances(text, document):
    fleet = Fleet.from_ecs(document, document["tasks"])
    predicate = placement.compile(text, max_length=10_000)
    again = placement.compile(predicate.canonical, max_length=10_000)
    assert (predicate.evaluate(fleet) == again.evaluate(fleet)).all()


@SETTINGS
@given(expressions(max_leaves=4), expressions(max_leaves=4), fleets())
def test_boolean_operators_are_plain_boolean_logic(a, b, document):
    fleet = Fleet.from_ecs(document, document["tasks"])
    mask_a = placement.compile(a, max_length=10_000).evaluate(fleet)
    mask_b = placement.compile(b, max_length=10_000).evaluate(fleet)
    assert (placement.compile(f"({a}) and ({b})", max_length=10_000).evaluate(fleet) == (mask_a & mask_b)).all()
    assert (placement.compile(f"({a}) or ({b})", max_length=10_000).evaluate(fleet) == (mask_a | mask_b)).all()
    assert (placement.compile(f"not({a})", max_length=10_000).evaluate(fleet) == ~mask_a).all()


@SETTINGS
@given(st.sampled_from(["stack", "zone", "cores"]), st.sampled_from(["prod", "a b", "4"]), fleets())
def test_not_equal_differs_from_not_equals_exactly_where_the_value_is_missing(name, value, document):
    fleet = Fleet.from_ecs(document)
    literal = ast.literal_text(value)
    not_equal = placement.compile(f"attribute:{name} != {literal}").evaluate(fleet)
    negated = placement.compile(f"not(attribute:{name} == {literal})").evaluate(fleet)
    missing = [name not in i.attributes or i.attributes[name] is None for i in fleet]
    assert ((not_equal != negated) == missing).all()
