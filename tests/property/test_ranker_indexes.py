"""The ranker's kept indexes: after any set of rows changed at once (resources, task counts,
allowed) and ``update(rows)``, an index ranks exactly like one built from scratch.

Hypothesis draws the sizes and a seed; numpy draws the arrays from it, so each example is cheap
and large enough (up to 400 rows, hundreds changed) for several changed rows to share heap paths,
the case a row-by-row repair gets wrong."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement.place._ranker import DrawIndex, HeapIndex, StrategyKind
from placement.place.placer import _cells

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHAINS = [[StrategyKind.BINPACK_MEMORY], [StrategyKind.SPREAD_BUCKET, StrategyKind.BINPACK_CPU],
          [StrategyKind.SPREAD_INSTANCE], [StrategyKind.BINPACK_CPU, StrategyKind.SPREAD_BUCKET,
                                           StrategyKind.SPREAD_INSTANCE], [StrategyKind.RANDOM]]


def make(chain, state, bucket_of, bucket_count):
    ranking = [(kind, bucket_of, bucket_count) if kind == StrategyKind.SPREAD_BUCKET else (kind, None, None)
               for kind in chain]
    if chain[0] == StrategyKind.RANDOM:
        return DrawIndex(state, ranking, 2, 2, 0, False)
    cell_of, cells = _cells(ranking, len(state["cpu"]))
    return HeapIndex(state, ranking, cell_of, cells, 2, 2, 0, False)


@SETTINGS
@given(st.sampled_from(CHAINS), st.integers(1, 400), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.integers(1, 3), st.integers(1, 600))
def test_an_updated_index_ranks_like_a_new_one(chain, n, buckets, seed, rounds, count):
    rng = np.random.default_rng(seed)
    state = {"cpu": rng.integers(0, 9, n), "memory": rng.integers(0, 9, n), "gpu": np.zeros(n, dtype=np.int64),
             "group_count": rng.integers(0, 4, n), "allowed": (rng.random(n) < 0.8).astype(np.uint8)}
    bucket_of = rng.integers(0, buckets, n).astype(np.uint32)
    bucket_count = np.bincount(bucket_of, weights=state["group_count"], minlength=buckets).astype(np.int64)
    kept = make(chain, state, bucket_of, bucket_count)
    for _ in range(rounds):                # change many rows at once, then tell the index
        rows = rng.integers(0, n, rng.integers(1, 2 * n + 1))
        state["cpu"][rows] = rng.integers(0, 9, len(rows))
        state["memory"][rows] = rng.integers(0, 9, len(rows))
        state["allowed"][rows] = rng.random(len(rows)) < 0.8
        grown = rng.integers(0, 3, len(rows))
        np.add.at(state["group_count"], rows, grown)
        np.add.at(bucket_count, bucket_of[rows], grown)
        kept.update(rows)
        new = make(chain, {name: array.copy() for name, array in state.items()}, bucket_of, bucket_count.copy())
        assert len(kept) == len(new)
        results = []
        for index in (kept, new):
            chosen = np.empty(count, dtype=np.int64)
            placed = index.place(count, chosen, seed, np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64))[0]
            results.append(chosen[:placed].tolist())
        assert results[0] == results[1]


def test_the_kernels_refuse_arrays_that_do_not_fit_before_any_loop():
    import pytest
    n = 5
    state = {"cpu": np.zeros(n, dtype=np.int64), "memory": np.zeros(n, dtype=np.int64),
             "gpu": np.zeros(n, dtype=np.int64), "group_count": np.zeros(n, dtype=np.int64),
             "allowed": np.ones(n, dtype=np.uint8), "tallies": [np.zeros(n, dtype=np.int64)]}
    bucket = (StrategyKind.SPREAD_BUCKET, np.zeros(n, dtype=np.uint32), np.zeros(1, dtype=np.int64))
    cells = np.zeros(n, dtype=np.int64)
    index = HeapIndex(state, [bucket], cells, 1, 0, 0, 0, False)
    out = np.empty(3, dtype=np.int64)
    bad = [
        lambda: HeapIndex(dict(state, cpu=np.zeros(n - 1, dtype=np.int64)), [], cells, 1, 0, 0, 0, False),
        lambda: HeapIndex(dict(state, memory=np.zeros(n, dtype=np.int32)), [], cells, 1, 0, 0, 0, False),
        lambda: HeapIndex(dict(state, allowed=np.ones(2 * n, dtype=np.uint8)[::2]), [], cells, 1, 0, 0, 0, False),
        lambda: HeapIndex(dict(state, tallies=[state["group_count"]]), [], cells, 1, 0, 0, 0, False),
        lambda: HeapIndex(state, [(StrategyKind.SPREAD_BUCKET, np.full(n, 3, dtype=np.uint32), bucket[2])],
                          cells, 1, 0, 0, 0, False),
        lambda: HeapIndex(state, [], np.full(n, 2, dtype=np.int64), 2, 0, 0, 0, False),
        lambda: HeapIndex(state, [], cells[:-1], 1, 0, 0, 0, False),
        lambda: HeapIndex(state, [(StrategyKind.RANDOM, None, None)], cells, 1, 0, 0, 0, False),
        lambda: DrawIndex(state, [(StrategyKind.BINPACK_CPU, None, None)], 0, 0, 0, False),
        lambda: index.update(np.array([n])),
        lambda: index.update(np.array([-1])),
        lambda: index.place(4, out, 0, out, out),
        lambda: index.place(3, out, 0, out[:1], out),
    ]
    for call in bad:
        with pytest.raises(ValueError):
            call()
    assert index.place(3, out, 0, out.copy(), out.copy())[0] == 3
