"""explain and why against the reference evaluator, on random expressions and fleets: every
node's traced count is the reference count of its subexpression, the root's is evaluate's, and
why's values agree with evaluate (and the reference) on every instance."""
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import placement
from placement import Fleet
from placement.engine import reference
from tests.property.strategies import copied, expressions, fleets


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=8), fleets(max_size=10))
def test_every_node_count_is_the_reference_count_and_why_agrees_with_evaluate(text, document):
    fleet = Fleet.from_ecs(document, document["tasks"])
    predicate = placement.compile(text, max_length=10_000)
    explanation = predicate.explain(fleet)
    nodes = list(explanation.nodes())
    masks = [reference.evaluate(node.expr, fleet) for node in nodes]
    for node, mask in zip(nodes, masks):
        assert node.count == int(mask.sum()), (text, node.text)
        assert text[node.span.start:node.span.end] == node.text
    selected = predicate.evaluate(fleet)
    assert explanation.count == int(selected.sum())
    for position in range(len(fleet)):
        why = predicate.why(fleet, position)
        assert why.selected == bool(selected[position]), (text, position)
        assert [n.value for n in why.nodes()] == [bool(mask[position]) for mask in masks], (text, position)
        assert [n.count for n in why.nodes()] == [n.count for n in nodes]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=6), fleets(max_size=3), st.integers(1, 9000))
def test_traced_counts_across_blocks(text, document, copies):
    """Fleets larger than one kernel block (4096 rows): the trace counts every block, the last
    partial one included."""
    small = Fleet.from_ecs(document, document["tasks"])
    assume(len(small))
    rows = [i % len(small) for i in range(copies)]
    fleet = copied(small, copies)
    predicate = placement.compile(text, max_length=10_000)
    for node in predicate.explain(fleet).nodes():
        assert node.count == int(reference.evaluate(node.expr, small)[rows].sum()), (text, node.text)
