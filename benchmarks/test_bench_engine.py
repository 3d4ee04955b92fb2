"""pytest-benchmark suite for the engine: compile, bind, run, and the reference evaluator.

    pytest benchmarks --benchmark-enable                  # 10k, 100k and 1M rows
    pytest benchmarks                                     # each test once, 10k rows (smoke)

Groups: ``compile`` (every ECS documentation example, cold with every cache cleared before
each round, and cached), ``bind`` (each workload), ``run`` (each workload x size, compiled
kernel with 1 and 2 threads), ``reference`` (the pure-Python oracle on 10k rows, for scale) and
``explain`` (trace plan, bind and the trace run: what ``Predicate.explain`` costs) and ``lint``
(the fleet-aware rules, read from the columns' dictionaries).
Fleet sizes come from ``conftest.py``; workloads from ``placement.bench.workloads``.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import placement
from placement.engine import plan as plan_stage
from placement.engine.bind import bind
from placement.examples import ECS_DOC_EXAMPLES
from placement.bench.workloads import WORKLOADS, check_shares, scaled_fleet
from placement.lang import patterns

REFERENCE_ROWS = 10_000
COLD_ROUNDS = 20
WORKLOAD_NAMES = list(WORKLOADS)


def example_id(text: str) -> str:
    """A short test id for an expression: its words, joined with dashes."""
    return "-".join(re.findall(r"[A-Za-z0-9]+", text.replace("attribute:", "").replace("ecs.", "")))[:48]


def clear_compile_caches() -> None:
    placement.predicate._compile.cache_clear()
    plan_stage._plan_for.cache_clear()
    patterns.compile_pattern.cache_clear()


# -- compile --------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="compile")
@pytest.mark.parametrize("text", ECS_DOC_EXAMPLES, ids=[example_id(t) for t in ECS_DOC_EXAMPLES])
def test_compile_cold(benchmark, text):
    predicate = benchmark.pedantic(placement.compile, args=(text,), setup=clear_compile_caches,
                                   rounds=COLD_ROUNDS, iterations=1)
    assert predicate.source == text


@pytest.mark.benchmark(group="compile")
@pytest.mark.parametrize("text", ECS_DOC_EXAMPLES, ids=[example_id(t) for t in ECS_DOC_EXAMPLES])
def test_compile_cached(benchmark, text):
    placement.compile(text)
    assert benchmark(placement.compile, text).source == text


# -- bind -----------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="bind")
@pytest.mark.parametrize("workload", WORKLOAD_NAMES)
def test_bind(benchmark, workload, rows):
    fleet = scaled_fleet(rows)
    predicate = placement.compile(WORKLOADS[workload])
    bound = benchmark(bind, predicate.plan, fleet.columns)
    assert bound.program.rows == rows


# -- run ------------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="run")
@pytest.mark.parametrize("threads", [1, 2], ids=["1t", "2t"])
@pytest.mark.parametrize("workload", WORKLOAD_NAMES)
def test_run(benchmark, workload, rows, threads):
    fleet = scaled_fleet(rows)
    bound = bind(placement.compile(WORKLOADS[workload]).plan, fleet.columns)
    mask = benchmark(bound.run, threads)
    assert mask.dtype == np.bool_ and mask.shape == (rows,)


# -- reference ------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="reference")
@pytest.mark.parametrize("workload", WORKLOAD_NAMES)
def test_reference(benchmark, workload):
    fleet = scaled_fleet(REFERENCE_ROWS)
    predicate = placement.compile(WORKLOADS[workload])
    mask = benchmark.pedantic(predicate.evaluate, args=(fleet,), kwargs={"backend": "reference"},
                              rounds=3, iterations=1, warmup_rounds=1)
    assert np.array_equal(mask, predicate.evaluate(fleet))


# -- the workloads themselves ---------------------------------------------------------------------

def test_every_workload_selects_a_nontrivial_share():
    check_shares(scaled_fleet(REFERENCE_ROWS))


# -- explain --------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="explain")
@pytest.mark.parametrize("workload", WORKLOAD_NAMES)
def test_explain(benchmark, workload, rows):
    """Trace plan, bind and the kernel's trace mode: every node of the expression as written."""
    fleet = scaled_fleet(rows)
    predicate = placement.compile(WORKLOADS[workload])
    explanation = benchmark(predicate.explain, fleet)
    assert explanation.total == rows and explanation.count == predicate.count(fleet)


# -- lint -----------------------------------------------------------------------------------------

LINT_CASES = {          # expression, and the token rules it must trigger on the demo fleet
    "typos": ("attribute:ecs.os-type == LINUX and attribute:stack != prod and task:group == databases",
              {"case-mismatch", "near-miss", "negation-skips-absent"}),
    "ids-and-names": ("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890'] or attribute:ecs.os-tpye == linux",
                      {"unknown-attribute"}),
    "glob-near-miss": ("attribute:ecs.instance-type =~ g4* and attribute:ecs.instance-type != t3.larg",
                       {"glob-pattern", "near-miss"}),
}


@pytest.mark.benchmark(group="lint")
@pytest.mark.parametrize("case", list(LINT_CASES))
def test_lint(benchmark, case, rows):
    """The fleet-aware lint on the shipped demo fleet (its dictionaries are what the rules read)."""
    text, expected = LINT_CASES[case]
    fleet = placement.demo(rows)
    warnings = benchmark(placement.compile(text).warnings, fleet)
    assert expected <= {w.code for w in warnings}, case
