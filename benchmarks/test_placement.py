"""pytest-benchmark suite for the placer.

    pytest benchmarks/test_placement.py --benchmark-enable      # timed
    pytest benchmarks/test_placement.py                         # each test once (smoke, a few s)

Groups:

- ``place-batch``: one ``Placer.place(10_000, ...)`` call on 10,000 instances, per strategy
  chain. Each round gets a new ``Placer`` whose one-time state build is done in the untimed
  setup (``place(0)``, which places nothing); the placements are checked against the
  sorted-list baseline of ``compare_placement.py`` (not timed);
- ``place-single``: one ``place(1, ...)`` call with a memberOf constraint on 10,000 instances
  (one long-lived placer: each call consumes resources, 10,000 instances hold over a million
  such tasks);
- ``place-reference``: the pure-Python reference placer on 1,000 instances, 200 tasks; with a
  spread strategy it is O(tasks x instances^2), about 1 s per task, so 20 tasks there. Its
  placements are checked against the fast placer's.

With benchmarks disabled (the normal test run) each body runs once; the reference then places
a few tasks only.
"""
from __future__ import annotations

import numpy as np
import pytest

from placement.place import Binpack, Demand, Placer, Spread
from placement.place.reference import place_reference

from compare_placement import (CPU, GROUP, MEMORY, SINGLE_CONSTRAINT, SortedListBaseline, start_state,
                               strategy_chains, supported)
from workloads import scaled_fleet

INSTANCES = 10_000
TASKS = 10_000
REFERENCE_INSTANCES = 1_000
REFERENCE_TASKS = 200
REFERENCE_SPREAD_TASKS = 20
SMOKE_REFERENCE_TASKS = (20, 1)      # (without, with a spread strategy) when benchmarks are disabled
CHAINS = strategy_chains()
NAMES = list(CHAINS)


def fresh_placer(fleet, strategies, constraints=()) -> Placer:
    placer = Placer(fleet, strategies=strategies)
    placer.place(0, CPU, MEMORY, group=GROUP, constraints=list(constraints), seed=1)
    return placer


def place_batch(placer: Placer, count: int):
    return placer.place(count, CPU, MEMORY, group=GROUP, seed=1)


@pytest.mark.benchmark(group="place-batch")
@pytest.mark.parametrize("name", NAMES)
def test_place_batch(benchmark, name):
    fleet, strategies = scaled_fleet(INSTANCES), CHAINS[name]
    result = benchmark.pedantic(place_batch, setup=lambda: ((fresh_placer(fleet, strategies), TASKS), {}),
                                rounds=5 if name == "random" else 20, iterations=1)
    assert result.unplaced == 0 and len(result.positions) == TASKS
    if supported(strategies):
        baseline = SortedListBaseline(start_state(fleet, strategies), strategies, TASKS)
        assert np.array_equal(baseline.run(baseline.setup()), result.positions)


@pytest.mark.benchmark(group="place-single")
@pytest.mark.parametrize("name", NAMES)
def test_place_single(benchmark, name):
    fleet, constraints = scaled_fleet(INSTANCES), [SINGLE_CONSTRAINT]
    placer = fresh_placer(fleet, CHAINS[name], constraints)
    result = benchmark(placer.place, 1, CPU, MEMORY, group=GROUP, constraints=constraints, seed=1)
    assert result.unplaced == 0 and len(result.positions) == 1
    row = int(result.positions[0])
    assert SINGLE_CONSTRAINT.predicate.evaluate(fleet)[row]


@pytest.mark.benchmark(group="place-reference")
@pytest.mark.parametrize("name", ["binpack(memory)", "spread(AZ)+binpack(memory)", "random"])
def test_place_reference(benchmark, name):
    fleet, strategies = scaled_fleet(REFERENCE_INSTANCES), CHAINS[name]
    spread = any(isinstance(s, Spread) for s in strategies)
    if benchmark.enabled:
        tasks = REFERENCE_SPREAD_TASKS if spread else REFERENCE_TASKS
    else:
        tasks = SMOKE_REFERENCE_TASKS[spread]
    result = benchmark.pedantic(place_reference, args=(fleet, Demand(CPU, MEMORY), tasks, GROUP, [], strategies, 1),
                                rounds=1, iterations=1)
    fast = fresh_placer(fleet, strategies).place(tasks, CPU, MEMORY, group=GROUP, seed=1)
    assert result.unplaced == 0 and np.array_equal(result.positions, fast.positions)


def test_baselines_agree_on_a_small_fleet():
    """The two baselines of ``compare_placement.py`` match the placer on a small fleet, every
    supported chain, including one that binpacks cpu (so a baseline cannot be fast by being wrong)."""
    from compare_placement import NumpyBaseline
    fleet = scaled_fleet(REFERENCE_INSTANCES)
    chains = {**CHAINS, "spread(AZ)+binpack(cpu)": [Spread("attribute:ecs.availability-zone"), Binpack("cpu")]}
    for name, strategies in chains.items():
        if not supported(strategies):
            continue
        expected = fresh_placer(fleet, strategies).place(500, CPU, MEMORY, group=GROUP, seed=1).positions
        start = start_state(fleet, strategies)
        for baseline_class in (NumpyBaseline, SortedListBaseline):
            baseline = baseline_class(start, strategies, 500)
            assert np.array_equal(baseline.run(baseline.setup()), expected), (name, baseline.name)
