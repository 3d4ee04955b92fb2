"""Real expressions: the ECS documentation's examples and memberOf expressions found in public
infrastructure code (tests/realworld/*.json, each with its source and expected validity)."""
import json
from pathlib import Path

import pytest

import placement
from placement.lang import ast
from placement.lang.parser import parse

HERE = Path(__file__).parent / "realworld"
DOCS = json.loads((HERE / "ecs_doc_examples.json").read_text())["examples"]
CODE = json.loads((HERE / "expressions.json").read_text())["expressions"]


def _params(items, prefix):
    return [pytest.param(item, id=f"{prefix}{i}") for i, item in enumerate(items)]


@pytest.mark.parametrize("item", _params(DOCS, "docs") + _params(CODE, "code"))
def test_real_expression(item):
    text = item["expression"]
    if item["valid"]:
        predicate = placement.compile(text)
        assert parse(predicate.canonical) == predicate.tree
        assert ast.to_text(parse(predicate.canonical)) == predicate.canonical
    else:
        with pytest.raises(placement.PlacementError) as raised:
            placement.compile(text)
        assert raised.value.kind == item["error_kind"], (item.get("note"), raised.value.render())


def test_every_documentation_example_in_the_demo_is_a_real_one():
    from placement.examples import ECS_DOC_EXAMPLES
    documented = {item["expression"] for item in DOCS if item["valid"]}
    assert set(ECS_DOC_EXAMPLES) <= documented
