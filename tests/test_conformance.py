"""The language as data: every case in tests/conformance/*.json, on every backend."""
import json
from pathlib import Path

import pytest

import placement
from placement.predicate import BACKENDS

HERE = Path(__file__).parent / "conformance"


def _cases():
    for path in sorted(HERE.glob("*.json")):
        suite = json.loads(path.read_text())
        fleets = suite.get("fleets", {})
        for case in suite["cases"]:
            fleet = fleets.get(case.get("fleet"))
            yield pytest.param(case, fleet, id=f"{path.stem}:{case['name']}")


CASES = list(_cases())


def test_the_suite_is_large_enough():
    assert len(CASES) >= 200


def _compile(case):
    return placement.compile(case["expression"], max_length=case.get("max_length", 2000))


@pytest.mark.parametrize("case, fleet_document", CASES)
def test_case(case, fleet_document):
    if "error" in case:
        with pytest.raises(placement.PlacementError) as raised:
            _compile(case)
        assert raised.value.kind == case["error"]["kind"], raised.value.render()
        if "span" in case["error"]:
            assert raised.value.span is not None and raised.value.span.as_list() == case["error"]["span"], \
                raised.value.render()
        return
    predicate = _compile(case)
    if "canonical" in case:
        assert predicate.canonical == case["canonical"]
    if "matches" in case:
        fleet = placement.Fleet.from_ecs(fleet_document, fleet_document.get("tasks"))
        for backend in BACKENDS:
            assert fleet.ids(predicate.evaluate(fleet, backend=backend)) == case["matches"], backend
