"""simplify: golden forms, and meaning preserved on random input."""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import placement
from placement import Fleet
from placement.engine import reference
from placement.lang import ir
from placement.lang.simplify import simplify
from tests.property.strategies import expressions, fleets

GOLDEN = [line.split(" ; ") for line in (Path(__file__).parent / "golden" / "simplify.txt").read_text().splitlines()
          if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("text, expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_simplified_forms(text, expected):
    assert ir.to_text(simplify(placement.compile(text).ir)) == expected


def test_equal_meanings_share_one_plan():
    assert placement.compile("attribute:a==x").plan is placement.compile("attribute:a EQUALS 'x'").plan
    assert placement.compile("not(not(attribute:a == x))").plan is placement.compile("attribute:a == x").plan


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=8), fleets(max_size=8))
def test_simplify_preserves_meaning(text, document):
    fleet = Fleet.from_ecs(document, document["tasks"])
    typed = placement.compile(text, max_length=10_000).ir
    assert (reference.evaluate(simplify(typed), fleet) == reference.evaluate(typed, fleet)).all()
