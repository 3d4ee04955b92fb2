"""pytest-benchmark suite for the placer, on the workloads of ``placement.bench.placement``.

    pytest benchmarks/test_placement.py --benchmark-enable      # timed
    pytest benchmarks/test_placement.py                         # each test once (smoke, a few s)

Groups: ``place-stream`` (the mixed stream through place() per call and through place_many, at
``rows`` instances), ``place-single`` (one place(1) with a shape per call), ``scale-in``
(select_to_stop of 1,000 tasks) and ``fleet-events`` (a put-attribute and a task start and stop
followed by a place(1)). The side-by-side comparison with the baselines is ``placement bench``;
here they are only checked to make the placer's decisions.
"""
from __future__ import annotations

import numpy as np
import pytest

from placement import Fleet
from placement.bench.baselines import BASELINES
from placement.bench.placement import (
    AZ,
    CHAINS,
    Settings,
    fast_calls,
    fast_many,
    fresh,
    mixed_stream,
    shapes_per_call,
    start_state,
)
from placement.bench.workloads import scaled_fleet
from placement.place import Placer, Spread

STREAM_TASKS = 20_000
CHUNK, CAP = Settings().chunk, Settings().cap


@pytest.mark.benchmark(group="place-stream")
@pytest.mark.parametrize("name", list(CHAINS))
@pytest.mark.parametrize("method", ["calls", "many"])
def test_place_stream(benchmark, rows, name, method):
    fleet, calls = scaled_fleet(rows), mixed_stream(STREAM_TASKS)
    run = fast_calls if method == "calls" else fast_many
    placed = benchmark.pedantic(run, setup=lambda: ((fresh(fleet, CHAINS[name]), calls, CHUNK, CAP), {}), rounds=3,
                                iterations=1)
    assert len(placed) == STREAM_TASKS


@pytest.mark.benchmark(group="place-single")
def test_place_single(benchmark, rows):
    placer, request = fresh(scaled_fleet(rows), CHAINS["spread(AZ)+binpack(memory)"])
    demands = iter(shapes_per_call(1_000_000))
    result = benchmark(lambda: request.place(1, *next(demands)))
    assert result.unplaced == 0 and len(result.positions) == 1


@pytest.mark.benchmark(group="scale-in")
def test_scale_in(benchmark):
    fleet = scaled_fleet(10_000)

    def setup():
        placer = Placer(fleet, [Spread(AZ), Spread("instanceId")])
        placer.place(10_000, 16, 32, group="service:scale")
        return (placer,), {}
    result = benchmark.pedantic(lambda p: p.select_to_stop("service:scale", 1_000), setup=setup, rounds=5)
    assert len(result.stops) == 1_000


@pytest.mark.benchmark(group="fleet-events")
def test_fleet_events(benchmark, rows):
    fleet = Fleet(scaled_fleet(rows).columns)
    placer, request = fresh(fleet, CHAINS["spread(AZ)+binpack(memory)"])
    arns = fleet.arns
    counter = iter(range(10**9))

    def events():
        k = next(counter)
        arn = arns[k % len(arns)]
        fleet.put_attribute(arn, "stack", ("prod", "dev")[k % 2])
        fleet.stop_tasks(fleet.start_task(arn, "service:api", cpu=16, memory=32))
        return request.place(1, 16, 32)
    assert benchmark(events).unplaced == 0
    assert placer.indexes.builds == 1 and placer.state.starts == 1      # followed, never rebuilt


def test_the_baselines_make_the_placers_decisions_on_a_small_stream():
    """Every baseline of ``placement bench``, on a stream small enough for the slow ones: task
    by task the same instances as the fast placer, through both of its paths."""
    fleet = scaled_fleet(1_000)
    calls = mixed_stream(3_000, seed=4)
    chunk, cap = 200, 600                                           # departures early and often
    for name, chain in CHAINS.items():
        expected = fast_calls(fresh(fleet, chain), calls, chunk, cap)
        assert np.array_equal(fast_many(fresh(fleet, chain), calls, chunk, cap), expected), name
        assert np.array_equal(fast_calls(fresh(fleet, chain), calls, chunk, cap, keyword=True), expected), name
        spread = name != "binpack(memory)"
        for baseline_class in BASELINES:
            baseline = baseline_class(start_state(fleet, spread), spread)
            assert np.array_equal(baseline.run(calls, chunk, cap), expected), (name, baseline.name)
