"""The ranker's kept indexes and their boundary.

An index kept across calls re-files only the rows logged since it last ran; after many rows
changed at once (a bulk of fleet events, on fleets large enough for the changed rows to share
tree paths and Fenwick blocks) it must rank exactly like an index built from scratch. And every
array handed to a kernel is checked before any loop runs."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement import Fleet
from placement.place import Binpack, MemberOf, Placer, Random, Spread
from placement.place._state import State
from placement.place._tree import TreeIndex

CHAINS = [[Binpack("memory")], [Spread("attribute:zone"), Binpack("cpu")], [Spread("instanceId")],
          [Binpack("cpu"), Spread("attribute:zone"), Spread("instanceId")], [Random()],
          [Spread("attribute:zone"), Random()]]


def fleet_of(rng, n: int) -> Fleet:
    return Fleet.from_ecs([{
        "containerInstanceArn": f"ci-{i}", "status": "ACTIVE" if rng.random() < 0.9 else "DRAINING",
        "agentConnected": True, "attributes": [{"name": "zone", "value": "abcd"[int(rng.integers(4))]}],
        "remainingResources": [{"name": "CPU", "integerValue": int(rng.integers(0, 9)) * 128},
                               {"name": "MEMORY", "integerValue": int(rng.integers(0, 9)) * 256}]}
        for i in range(n)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CHAINS), st.integers(1, 400), st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_a_kept_index_ranks_like_a_new_one_after_bulk_changes(chain, n, seed, rounds):
    rng = np.random.default_rng(seed)
    fleet = fleet_of(rng, n)
    kept = Placer(fleet, chain).prepare("g", [MemberOf("attribute:zone != d")])
    kept.placer.stop(kept.place(int(rng.integers(0, 2 * n)), 64, 128, seed=seed).task_ids)   # built, used, undone
    started = []
    for _ in range(rounds):                 # many rows change between two calls of the kept index
        for row in rng.integers(0, n, int(rng.integers(1, 2 * n + 1))).tolist():
            arn = f"ci-{row}"
            if rng.random() < 0.3 and started:
                fleet.stop_tasks([started.pop(int(rng.integers(len(started))))])
            else:
                started += fleet.start_task(arn, "g", cpu=int(rng.integers(0, 3)) * 64, memory=64)
            if rng.random() < 0.1:
                fleet.put_attribute(arn, "zone", "abcd"[int(rng.integers(4))])
        new = Placer(fleet, chain).prepare("g", [MemberOf("attribute:zone != d")])
        demand = (int(rng.integers(0, 4)) * 64, int(rng.integers(0, 4)) * 128)
        count = int(rng.integers(1, n + 1))
        got = kept.place(count, *demand, seed=seed)
        assert got.arns == new.place(count, *demand, seed=seed).arns
        kept.placer.stop(got.task_ids)              # the kept placer is the fleet again, for the next round


class Spec:
    """A hand-made kind of request, for handing the kernel arrays that do not fit."""

    def __init__(self, n, **changes):
        self.group, self.group_count, self.masks, self.distinct = 0, np.zeros(n, dtype=np.int64), [], False
        self.kinds, self.spreads, self.layout = [0], [], 0
        self.cell_of, self.cell_bucket, self.cells, self.cell_capacity = (np.zeros(n, dtype=np.int64),
                                                                         np.zeros(1, dtype=np.uint32), 1, 1)
        self.__dict__.update(changes)


def test_the_kernels_refuse_arrays_that_do_not_fit_before_any_loop():
    n = 5
    state = State(n)
    state.use_rows(n)
    state.add_group()
    TreeIndex(state, Spec(n))                                    # fits
    bad = [dict(group=3), dict(group_count=np.zeros(n - 1, dtype=np.int64)),
           dict(group_count=np.zeros(n, dtype=np.int32)), dict(masks=[np.ones(n, dtype=bool)]),
           dict(masks=[np.ones(2 * n, dtype=np.uint8)[::2]]), dict(kinds=[9]), dict(kinds=[0] * 6),
           dict(kinds=[3], spreads=[]), dict(cell_of=np.full(n, 4, dtype=np.int64)), dict(cells=7),
           dict(cell_of=np.zeros(n - 1, dtype=np.int64))]
    for changes in bad:
        with pytest.raises(ValueError):
            TreeIndex(state, Spec(n, **changes))
    index = TreeIndex(state, Spec(n))
    for call in (lambda: index.place(-1, 0, 0, 0, (), 0), lambda: index.place(1, -5, 0, 0, (), 0),
                 lambda: index.place(1, 0, 0, 0, (80, 80), 0), lambda: index.place(1, 0, 0, 0, (70000,), 0)):
        with pytest.raises(ValueError):
            call()
    for call in (lambda: state.adopt([n], [0], [0], [0], [0], [()], False),
                 lambda: state.adopt([0], [1], [0], [0], [0], [()], False),
                 lambda: state.adopt([0], [0], [-1], [0], [0], [()], False),
                 lambda: state.touch([n]), lambda: state.load([-1], 0, 0, 0, 0, 0, 0), lambda: state.use_rows(n + 1),
                 lambda: state.reserve_ports(0, [70000]), lambda: state.set_counters(0, np.zeros(1, np.int64), [], [])):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(KeyError):
        state.stop_many([0])                                     # no such task: nothing stopped
    with pytest.raises(ValueError, match="ephemeral"):
        State(n, 61000, 32768)
