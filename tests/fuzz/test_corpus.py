"""Every input of ``tests/fuzz/corpus/TARGET/`` through its target: the crashes fuzzing found stay
fixed (a target returns or raises ``PlacementError``; anything else fails here)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import targets  # noqa: E402

CASES = sorted((name, path) for name in targets.TARGETS for path in (HERE / "corpus" / name).glob("*"))


def test_every_target_has_a_corpus():
    assert {name for name, _ in CASES} == set(targets.TARGETS)


@pytest.mark.parametrize("name, path", CASES, ids=[f"{n}/{p.name}" for n, p in CASES])
def test_a_corpus_input_is_handled(name, path):
    targets.TARGETS[name](path.read_bytes())
