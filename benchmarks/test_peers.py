"""The peers of ``placement.bench.evaluation`` must mean what placement means, operator by operator.

``placement bench`` checks the benchmark workloads at full size; this checks every operator,
the absent rule, value-less attributes, attributes no instance has and ``task:group``'s set
semantics on a small fleet, so a peer cannot be fast by being wrong. Needs the ``bench`` (or ``peers``)
extra, which the ``test`` extra includes.
"""
from __future__ import annotations

import duckdb  # noqa: F401    the peers, imported here: a missing one fails, never skips
import numpy as np
import pandas  # noqa: F401
import polars  # noqa: F401
import pyarrow  # noqa: F401
import pytest

import placement
from placement.bench import peers
from placement.bench.workloads import WORKLOADS, scaled_arrow, scaled_fleet

ROWS = 5_000
SEMANTICS = (
    "attribute:ecs.capability.task-eni exists",
    "attribute:ecs.capability.task-eni !exists",
    "attribute:ecs.capability.task-eni == x",
    "attribute:ecs.capability.task-eni != x",
    "attribute:nosuch != x",
    "not(attribute:nosuch == x)",
    "attribute:nosuch !exists",
    "attribute:team !in [payments, search]",
    "attribute:ecs.instance-type !~ 't3.*'",
    "attribute:stack == prod or attribute:flavor != canary",
    "task:group != service:web",
    "task:group !~ 'service:.*'",
    "task:group exists",
    "task:group !exists",
    "task:group in [service:web, service:api]",
    "task:group =~ 'family:.*'",
    "runningTasksCount in [0, 5]",
    "runningTasksCount > 4 or attribute:flavor == canary",
    "not(attribute:stack == prod) and not(task:group == service:cache)",
    *WORKLOADS.values(),
)


@pytest.fixture(scope="module")
def every_peer():
    fleet, table = scaled_fleet(ROWS), scaled_arrow(ROWS)
    return fleet, [peers.NumpyPeer(fleet.columns), peers.PandasPeer(table), peers.PolarsPeer(table),
                   peers.DuckdbPeer(table, 1), peers.ArrowPeer(table)]


@pytest.mark.parametrize("text", SEMANTICS)
def test_every_peer_selects_placements_rows(every_peer, text):
    fleet, all_peers = every_peer
    predicate = placement.compile(text)
    expected = predicate.evaluate(fleet)
    for peer in all_peers:
        mask = np.asarray(peer.to_mask(peer.evaluate(predicate.ir)), dtype=bool)
        assert np.array_equal(mask, expected), f"{peer.name} differs on {text!r}"
