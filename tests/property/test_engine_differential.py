"""The compiled engine against the reference evaluator, on random expressions and fleets."""
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import placement
from placement import Fleet
from tests.property.strategies import copied, expressions, fleets

SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def agree(predicate, fleet, threads=1):
    compiled = predicate.evaluate(fleet, threads=threads)
    reference = predicate.evaluate(fleet, backend="reference")
    assert compiled.dtype == bool and compiled.shape == (len(fleet),)
    assert (compiled == reference).all(), (predicate.canonical, predicate.explain_plan(fleet))


@SETTINGS
@given(expressions(max_leaves=8), fleets(max_size=10))
def test_compiled_equals_reference(text, document):
    fleet = Fleet.from_ecs(document, document["tasks"])
    agree(placement.compile(text, max_length=10_000), fleet)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=6), fleets(max_size=3), st.integers(1, 9000))
def test_compiled_equals_reference_across_blocks_and_threads(text, document, copies):
    """Fleets larger than one kernel block (4096 rows), in one thread and in two."""
    small = Fleet.from_ecs(document, document["tasks"])
    assume(len(small))
    fleet = copied(small, copies) if copies > 1 else small
    predicate = placement.compile(text, max_length=10_000)
    expected = predicate.evaluate(small, backend="reference")[[i % len(small) for i in range(len(fleet))]]
    for threads in (1, 2):
        assert (predicate.evaluate(fleet, threads=threads) == expected).all()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=6), fleets(max_size=6), st.data())
def test_compiled_equals_reference_after_mutations(text, document, data):
    fleet = Fleet.from_ecs(document, document["tasks"])
    predicate = placement.compile(text, max_length=10_000)
    agree(predicate, fleet)                             # bound once, then the fleet changes
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["put", "valueless", "delete", "start", "stop", "register", "deregister"]))
        if action == "register":
            fleet.register({"containerInstanceArn": f"new-{fleet.version}", "attributes": [
                {"name": "stack", "value": data.draw(st.sampled_from(["prod", "qa"]))}, {"name": "zone"}]})
            continue
        if not len(fleet):
            continue
        arn = fleet.arns[data.draw(st.integers(0, len(fleet) - 1))]
        name = data.draw(st.sampled_from(["stack", "zone", "cores", "brand-new"]))
        group = data.draw(st.sampled_from(["service:web", "database", "service:new"]))
        if action == "put":
            fleet.put_attribute(arn, name, data.draw(st.sampled_from(["prod", "PROD", "4", "zzz", "a b"])))
        elif action == "valueless":
            fleet.put_attribute(arn, name)
        elif action == "delete":
            fleet.delete_attribute(arn, name)
        elif action == "start":
            fleet.start_task(arn, group)
        elif action == "stop" and fleet[fleet.position(arn)].task_groups.get(group):
            fleet.stop_task(arn, group)
        elif action == "deregister":
            fleet.deregister(arn)
    agree(predicate, fleet)
