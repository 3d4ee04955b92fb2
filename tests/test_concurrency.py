"""Threads: what a scheduler that embeds the library in a multi-threaded process may rely on.

A compiled predicate is shared freely and gives every thread the single-threaded answer; an
evaluation racing a thread that changes the fleet sees one whole version of it (the fleet's
readers-writer lock); a placer serves one thread at a time and refuses a second one with
``ConcurrentUseError`` instead of corrupting its state; a placer following a fleet that another
thread changes sees whole mutations and ends up exactly where the fleet is.

No sleeps synchronise anything here: threads meet at barriers and events, and a short GIL
switch interval makes them interleave finely. Every wait has a timeout, so a deadlock fails.
"""
from __future__ import annotations

import bisect
import copy
import random
import sys
import threading

import numpy as np
import pytest

import placement
from placement.errors import ConcurrentUseError, PlacementError
from placement.fleet import store as fleet_store
from placement.errors import InputError
from placement.fleet.demo import demo
from placement.fleet.store import FleetStore
from placement.place import Binpack, Demand, MemberOf, Placer, Spread
from placement.place.state import Guard

WAIT = 20.0                      # seconds any wait may take before the test counts it as a hang
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


@pytest.fixture(autouse=True)
def fine_interleaving():
    """Hand the GIL over every 20 us (5 ms by default), so threads meet inside each other's steps."""
    was = sys.getswitchinterval()
    sys.setswitchinterval(2e-5)
    yield
    sys.setswitchinterval(was)


def _run(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), f"{thread.name} did not finish: a deadlock?"


def _raising(errors: list, target):
    """``target`` in a thread, its exception kept for the test to raise."""
    def run(*args):
        try:
            target(*args)
        except BaseException as error:        # noqa: BLE001 - reported by the test thread
            errors.append(error)
    return run


# -- predicates shared by threads -----------------------------------------------------------------

SHARED_TEXTS = [
    "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d",
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1c] or runningTasksCount > 2",
    "not(attribute:ecs.os-type == linux) or agentConnected == false",
    "task:group exists and registeredAt >= 2018-01-01",
    "ec2InstanceId =~ 'i-0[0-7].*' and agentVersion >= 1.20",
]


def test_a_predicate_shared_by_eight_threads_gives_every_thread_the_single_threaded_answer():
    fleets = [demo(3000, seed=1), demo(2000, seed=2)]
    expected = {(text, k): placement.compile(text).evaluate(fleet)
                for text in SHARED_TEXTS for k, fleet in enumerate(fleets)}
    start, errors, done = threading.Barrier(8), [], []

    def evaluate(seed):
        rng = random.Random(seed)
        start.wait(WAIT)
        for round_ in range(40):
            text = rng.choice(SHARED_TEXTS)
            k = rng.randrange(len(fleets))
            # the cached predicate, or (every third round) a fresh one whose bound-plan cache fills now
            predicate = placement.compile(text if round_ % 3 else text + " " * (1 + seed + 8 * round_))
            assert np.array_equal(predicate.evaluate(fleets[k]), expected[(text, k)]), (text, k)
            assert np.array_equal(predicate.evaluate(fleets[k], threads=2), expected[(text, k)]), (text, k)
        done.append(seed)

    _run([threading.Thread(target=_raising(errors, evaluate), args=(seed,), name=f"reader-{seed}")
          for seed in range(8)])
    assert not errors, errors[0]
    assert sorted(done) == list(range(8))


# -- evaluations racing a thread that changes the fleet ------------------------------------------

STRESS_TEXTS = [
    "attribute:stack == prod",
    "attribute:stack exists and not(attribute:ecs.availability-zone == us-east-1a)",
    "task:group == service:web or runningTasksCount > 3",
    "runningTasksCount > 2 and not(task:group == service:web)",    # start_task changes both at once
    "not(task:group == service:db) and attribute:ecs.instance-type =~ m5.*",
    "ec2InstanceId =~ i-new.* or attribute:flag exists",
    "agentConnected == true and attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
]


def _new_instance(k: int, zone: str) -> dict:
    return {"containerInstanceArn": f"arn:aws:ecs:us-east-1:123456789012:container-instance/demo/new-{k}",
            "ec2InstanceId": f"i-new{k:05d}", "status": "ACTIVE", "agentConnected": k % 5 != 0,
            "attributes": [{"name": "ecs.availability-zone", "value": zone},
                           {"name": "ecs.instance-type", "value": "m5.large"},
                           {"name": "stack", "value": "prod" if k % 2 else "dev"}],
            "remainingResources": [{"name": "CPU", "integerValue": 2048}, {"name": "MEMORY", "integerValue": 8192}],
            "registeredResources": [{"name": "CPU", "integerValue": 2048}, {"name": "MEMORY", "integerValue": 8192}]}


def _mutations(arns: list[str], count: int, seed: int) -> list[tuple]:
    """A mutation sequence valid on the fleet with ``arns`` (every name and task it needs exists
    when it runs), the same every time: the test replays it on a twin fleet. The first third has
    no deregistration, so the snapshots share the live buffers (a reader that ran unlocked would
    see half a mutation); the rest deregisters often enough for tombstones and compactions."""
    rng, live, started, made = random.Random(seed), list(arns), {}, 0
    out: list[tuple] = []
    while len(out) < count:
        roll, removing = rng.random(), len(out) >= count // 3 and len(live) > 8
        if roll < 0.12:
            made += 1
            instance = _new_instance(made, rng.choice(ZONES))
            live.append(instance["containerInstanceArn"])
            out.append(("register", instance))
        elif removing and roll < 0.55:
            arn = live.pop(rng.randrange(len(live)))
            started = {key: n for key, n in started.items() if key[0] != arn}
            out.append(("deregister", arn))
        elif roll < 0.30:
            out.append(("put_attribute", rng.choice(live), "stack", rng.choice(["prod", "dev", None])))
        elif roll < 0.40:
            out.append(("put_attribute", rng.choice(live), "flag", None))
        elif roll < 0.48:
            out.append(("delete_attribute", rng.choice(live), rng.choice(["stack", "flag"])))
        elif roll < 0.55:
            out.append(("set_status", rng.choice(live), rng.choice(["ACTIVE", "DRAINING"])))
        elif roll < 0.85 or not started:
            arn, group, n = rng.choice(live), rng.choice(["service:web", "service:db"]), rng.randint(1, 3)
            started[(arn, group)] = started.get((arn, group), 0) + n
            out.append(("start_task", arn, group, n))
        else:
            (arn, group), n = rng.choice(sorted(started.items()))
            stop = rng.randint(1, n)
            started[(arn, group)] = n - stop
            if not started[(arn, group)]:
                del started[(arn, group)]
            out.append(("stop_task", arn, group, stop))
    return out


def _apply(fleet, mutation: tuple) -> None:
    name, *args = copy.deepcopy(mutation)
    getattr(fleet, name)(*args)


def test_evaluations_from_eight_threads_racing_mutations_each_see_one_whole_version(monkeypatch):
    monkeypatch.setattr(fleet_store, "COMPACT_AFTER", 16)     # compactions happen too, not only tombstones
    compactions, compact = [], FleetStore.compact

    def counted(store):
        compactions.append(compact(store))
        return compactions[-1]

    monkeypatch.setattr(FleetStore, "compact", counted)
    fleet, twin = demo(120, seed=3), demo(120, seed=3)
    mutations = _mutations(fleet.arns, 320, seed=7)
    predicates = [placement.compile(text) for text in STRESS_TEXTS]
    versions = [fleet.version]            # versions[i]: the fleet after the first i mutations
    seen = threading.Condition()
    evaluations = [0]
    records: list[tuple] = []             # (predicate, version lower bound, upper bound, exact?, mask)
    finished = threading.Event()
    start, errors = threading.Barrier(9), []

    def mutate():
        start.wait(WAIT)
        try:
            for mutation in mutations:
                _apply(fleet, mutation)
                versions.append(fleet.version)
                with seen:                    # let the readers see this version before the next one
                    mark = evaluations[0]
                    assert seen.wait_for(lambda: evaluations[0] >= mark + 4 or finished.is_set(), WAIT), \
                        "readers stalled"
                if finished.is_set():         # a reader failed
                    return
        finally:
            finished.set()

    def read(seed):
        try:
            evaluate(seed)
        except BaseException:
            finished.set()
            with seen:
                seen.notify_all()
            raise

    def evaluate(seed):
        kept = []
        start.wait(WAIT)
        k = seed
        while not finished.is_set():
            k += 1
            which = k % len(predicates)
            if k % 2:                         # the version is read around the call: a window
                before = fleet.version
                mask = predicates[which].evaluate(fleet)
                kept.append((which, before, fleet.version, False, mask))
            else:                             # held still around the call: one version exactly
                with fleet.reading():
                    version = fleet.version
                    mask = predicates[which].evaluate(fleet)
                    if k % 4 == 0:
                        assert len(fleet.ids(mask)) == int(mask.sum())
                kept.append((which, version, version, True, mask))
            with seen:
                evaluations[0] += 1
                seen.notify_all()
        records.extend(kept)

    _run([threading.Thread(target=_raising(errors, mutate), name="mutator")] +
         [threading.Thread(target=_raising(errors, read), args=(seed,), name=f"reader-{seed}") for seed in range(8)])
    assert not errors, errors[0]
    assert len(versions) == len(mutations) + 1

    expected = [[p.evaluate(twin) for p in predicates]]      # the same mutations, one thread
    for mutation in mutations:
        _apply(twin, mutation)
        expected.append([p.evaluate(twin) for p in predicates])
    assert len(twin) == len(fleet) and twin.arns == fleet.arns

    steps_seen = set()
    for which, low, high, exact, mask in records:
        first, last = bisect.bisect_right(versions, low) - 1, bisect.bisect_right(versions, high) - 1
        if exact:
            assert low in versions, "a reader holding the lock saw a version between two mutations"
        matches = [step for step in range(first, last + 1) if np.array_equal(mask, expected[step][which])]
        assert matches, (f"{STRESS_TEXTS[which]!r}: the mask matches no version of the fleet "
                         f"between mutations {first} and {last}")
        steps_seen.update(matches)
    assert len(records) >= 4 * len(mutations)
    assert len(steps_seen) > len(mutations) // 2          # most versions were really read, mid-race
    assert any(compactions)                                 # and the fleet compacted along the way


PROBE = 0.2                      # how long a probe waits for what must not happen (a broken lock lets it)


def test_a_mutation_waits_for_an_evaluation_that_is_between_its_bind_and_its_kernel_run(monkeypatch):
    fleet = demo(200, seed=12)
    arns = fleet.arns
    fleet.put_attribute(arns[0], "stack", "dev")
    fleet.put_attribute(arns[1], "stack", "prod")          # both values known: the next write is in place
    predicate = placement.compile("attribute:stack == prod")
    expected = predicate.evaluate(fleet, backend="reference")
    bound, go, changed = threading.Event(), threading.Event(), threading.Event()
    from placement.engine import bind as bind_module
    original = bind_module.bind

    def paused_bind(*args, **kwargs):
        result = original(*args, **kwargs)
        if threading.current_thread().name == "evaluator":
            bound.set()
            assert go.wait(WAIT)
        return result

    monkeypatch.setattr(bind_module, "bind", paused_bind)
    results, errors = [], []
    evaluator = threading.Thread(target=_raising(errors, lambda: results.append(predicate.evaluate(fleet))),
                                 name="evaluator")
    evaluator.start()
    assert bound.wait(WAIT)                                  # bound to this version; the kernel not run yet
    mutator = threading.Thread(target=_raising(errors, lambda: (fleet.put_attribute(arns[0], "stack", "prod"),
                                                                changed.set())), name="mutator")
    mutator.start()
    assert not changed.wait(PROBE), "a mutation ran while an evaluation was reading the fleet"
    go.set()
    for thread in (evaluator, mutator):
        thread.join(WAIT)
    assert not errors, errors[0]
    assert np.array_equal(results[0], expected)              # the version it was bound to, whole
    assert changed.is_set() and predicate.evaluate(fleet)[0]


def test_a_mutation_waits_for_a_placer_replaying_the_journal(monkeypatch):
    fleet = demo(100, seed=13)
    placer = Placer(fleet, [Binpack("memory")])
    placer.place(2, 16, 32, group=GROUP)
    replayed, go, changed = threading.Event(), threading.Event(), threading.Event()
    original = placer.state._replay

    def paused_replay():
        original()
        if threading.current_thread().name == "placer":
            replayed.set()
            assert go.wait(WAIT)

    monkeypatch.setattr(placer.state, "_replay", paused_replay)
    fleet.start_task(fleet.arns[3], "service:db", 2, cpu=8, memory=8)
    errors = []
    syncing = threading.Thread(target=_raising(errors, placer.sync), name="placer")
    syncing.start()
    assert replayed.wait(WAIT)
    mutator = threading.Thread(target=_raising(errors, lambda: (fleet.stop_task(fleet.arns[3], "service:db"),
                                                                changed.set())), name="mutator")
    mutator.start()
    assert not changed.wait(PROBE), "a mutation ran while a placer was replaying the fleet's journal"
    go.set()
    for thread in (syncing, mutator):
        thread.join(WAIT)
        assert not thread.is_alive()
    assert not errors, errors[0]
    assert placer.state.journal_cursor == fleet.store.journal_end - 1     # the stop came after the replay
    placer.sync()
    _assert_follows(placer, fleet)


# -- the placer's one-thread contract --------------------------------------------------------------

GROUP = "service:threaded"       # only the placers here run tasks of it: what they stop is theirs

class _Held:
    """Makes ``state.sync`` stop, in the thread that calls it first, until ``leave`` is set."""

    def __init__(self, state):
        self.inside, self.leave, self.original, self.thread = threading.Event(), threading.Event(), state.sync, None

    def __call__(self):
        if self.thread is None:
            self.thread = threading.current_thread()
        if threading.current_thread() is self.thread and not self.leave.is_set():
            self.inside.set()
            assert self.leave.wait(WAIT)
        return self.original()


@pytest.mark.parametrize("held_call", ["sync", "prepared place", "keyword place"])
def test_a_placer_refuses_a_second_thread_while_one_is_inside_a_call(monkeypatch, held_call):
    fleet = demo(200, seed=4)
    placer = Placer(fleet, [Spread("attribute:ecs.availability-zone"), Binpack("memory")])
    request = placer.prepare(GROUP)
    first = placer.place(3, 16, 32, group=GROUP)
    held = _Held(placer.state)
    monkeypatch.setattr(placer.state, "sync", held)
    fleet.put_attribute(fleet.arns[0], "stack", "prod")      # so that the next call catches up: and is held
    calls = {"sync": placer.sync,
             "prepared place": lambda: request.place(2, 16, 32),
             "keyword place": lambda: placer.place(2, 16, 32, group=GROUP)}
    results, errors = [], []
    inside = threading.Thread(target=_raising(errors, lambda: results.append(calls[held_call]())), name="inside")
    inside.start()
    assert held.inside.wait(WAIT)
    tasks_before = placer.state.c.tasks

    refused = {
        "place": lambda: placer.place(1, 16, 32, group=GROUP),
        "place_many": lambda: placer.place_many([1], [16], [32]),
        "prepare": lambda: placer.prepare("service:db"),
        "stop": lambda: placer.stop(first.task_ids[:1]),
        "release": lambda: placer.release(first.arns[0], GROUP, 16, 32),
        "select_to_stop": lambda: placer.select_to_stop(GROUP, 1),
        "reasons": lambda: placer.reasons(Demand(16, 32), GROUP, []),
        "sync": placer.sync,
        "PreparedRequest.place": lambda: request.place(1, 16, 32),
        "PreparedRequest.place, called on the class": lambda: type(request).place(request, 1, 16, 32),
    }
    for name, call in refused.items():
        with pytest.raises(ConcurrentUseError, match="another thread") as caught:
            call()
        assert isinstance(caught.value, PlacementError), name
    assert placer.state.c.tasks == tasks_before              # refused calls changed nothing

    held.leave.set()
    inside.join(WAIT)
    assert not inside.is_alive() and not errors, errors
    if held_call != "sync":
        assert len(results[0].positions) == 2
    # the placer is whole: the same calls now work, and its state is the fleet's
    assert len(request.place(1, 16, 32).positions) == 1
    placer.stop(first.task_ids[:1])
    assert len(placer.select_to_stop(GROUP, 1).stops) == 1
    _assert_follows(placer, fleet)


def test_a_placer_handed_from_thread_to_thread_between_calls_is_fine():
    fleet = demo(100, seed=6)
    placer = Placer(fleet, [Binpack("cpu")])
    request = placer.prepare(GROUP)
    turn, errors, placed = threading.Semaphore(1), [], []

    def use():
        for _ in range(30):
            assert turn.acquire(timeout=WAIT)
            try:
                placed.append(len(request.place(1, 8, 8).positions))
                placed.append(len(placer.place(1, 8, 8, group=GROUP).positions))
            finally:
                turn.release()

    _run([threading.Thread(target=_raising(errors, use), name=f"user-{k}") for k in range(4)])
    assert not errors, errors[0]
    assert placed == [1] * 240 and placer.state.c.tasks - placer.state.fleet_tasks == 240


def test_a_placer_in_one_thread_follows_a_fleet_another_thread_changes(monkeypatch):
    monkeypatch.setattr(fleet_store, "COMPACT_AFTER", 8)
    fleet = demo(160, seed=5)
    for arn in fleet.arns[::4]:
        fleet.put_attribute(arn, "stack", "prod")
    mutations = _mutations(fleet.arns, 400, seed=11)
    constraints = [MemberOf("attribute:stack == prod or not(attribute:stack exists)"),
                   MemberOf("not(task:group == service:db)")]
    placer = Placer(fleet, [Spread("attribute:ecs.availability-zone"), Binpack("memory")])
    request = placer.prepare(GROUP, constraints)
    assert request.reads_fleet                               # a stateful constraint: placing holds the fleet's lock
    finished, start, errors, placed = threading.Event(), threading.Barrier(2), [], [0]
    calls, called = [0], threading.Condition()

    def mutate():
        start.wait(WAIT)
        try:
            for k, mutation in enumerate(mutations):
                _apply(fleet, mutation)
                if k % 3 == 2:                # a few events, then let the placer make a call
                    with called:
                        mark = calls[0]
                        assert called.wait_for(lambda: calls[0] > mark or finished.is_set(), WAIT)
                if finished.is_set():         # the placer failed
                    return
        finally:
            finished.set()

    def place():
        try:
            placing()
        finally:
            finished.set()
            with called:
                called.notify_all()

    def placing():
        start.wait(WAIT)
        k = 0
        while not finished.is_set():
            k += 1
            result = request.place(1, 4, 8) if k % 3 else placer.place(2, 4, 8, group=GROUP,
                                                                       constraints=constraints)
            placed[0] += len(result.positions)
            if k % 17 == 0 and len(result.tasks):
                try:
                    placer.stop(result.tasks[:1])
                except InputError:        # its instance was deregistered since: the task went with it
                    pass
            if k % 29 == 0:
                placer.select_to_stop(GROUP, 1)
            with called:
                calls[0] += 1
                called.notify_all()

    _run([threading.Thread(target=_raising(errors, mutate), name="mutator"),
          threading.Thread(target=_raising(errors, place), name="placer")])
    assert not errors, errors[0]
    assert placed[0] > 0
    placer.sync()
    _assert_follows(placer, fleet)
    assert placer.state.starts == 1                          # followed event by event, never rebuilt
    fresh = Placer(fleet, [Spread("attribute:ecs.availability-zone"), Binpack("memory")])
    for constraint in constraints[:1]:                       # masks that read only the fleet: as a new placer's
        live = _live_rows(fleet)
        assert np.array_equal(placer.masks.mask(constraint).array[live], fresh.masks.mask(constraint).array[live])


def _live_rows(fleet) -> np.ndarray:
    return np.flatnonzero(fleet.store.alive[:fleet.store.size])


def _assert_follows(placer, fleet) -> None:
    """The placer's state is the fleet's plus exactly what the placer placed and did not stop."""
    state, store = placer.state, fleet.store
    assert state.journal_cursor == store.journal_end and state.c.n == store.size
    placed_cpu, placed_memory, placed_tasks = (np.zeros(store.size, dtype=np.int64) for _ in range(3))
    for number in range(state.c.tasks):
        if state.placed(number) and state.c.alive(number):
            row, _, cpu, memory, _, _, _ = state.c.task(number)
            assert store.alive[row], "a task placed by the placer is alive on a deregistered instance"
            placed_cpu[row] += cpu
            placed_memory[row] += memory
            placed_tasks[row] += 1
    live = _live_rows(fleet)
    numbers = store.numbers
    assert np.array_equal(state.c.array("cpu")[live], numbers["remaining_cpu"][live] - placed_cpu[live])
    assert np.array_equal(state.c.array("memory")[live], numbers["remaining_memory"][live] - placed_memory[live])
    assert np.array_equal(state.c.array("running")[live], numbers["running_tasks"][live] + placed_tasks[live])
    assert (state.c.array("cpu")[live] >= 0).all() and (state.c.array("memory")[live] >= 0).all()
    columns = fleet.columns
    eligible = placement.compile("agentConnected == true").evaluate(fleet) & np.array(
        [columns.status.value_at(i) == "ACTIVE" for i in range(len(fleet))], dtype=bool)
    assert np.array_equal(state.c.array("eligible")[live].astype(bool), eligible)


# -- compaction while a placer is busy in another thread -------------------------------------------

def test_a_compaction_waits_for_a_placer_that_is_inside_a_call_in_another_thread(monkeypatch):
    monkeypatch.setattr(fleet_store, "COMPACT_AFTER", 0)       # compact as soon as dead rows outnumber live ones
    fleet = demo(10, seed=8)
    placer = Placer(fleet, [Binpack("memory")])
    placer.place(4, 16, 32, group=GROUP)
    held = _Held(placer.state)
    monkeypatch.setattr(placer.state, "sync", held)
    fleet.put_attribute(fleet.arns[0], "stack", "prod")
    errors = []
    inside = threading.Thread(target=_raising(errors, placer.sync), name="inside")
    inside.start()
    assert held.inside.wait(WAIT)

    gone = fleet.arns[:6]
    for arn in gone:                                          # 6 dead, 4 live: due, but the placer is busy
        fleet.deregister(arn)
    assert len(fleet.store.dead_rows) == 6 and fleet.store.size == 10
    assert len(fleet) == 4 and fleet.arns == [a for a in demo(10, seed=8).arns if a not in gone]

    held.leave.set()
    inside.join(WAIT)
    assert not inside.is_alive() and not errors, errors
    fleet.deregister(fleet.arns[0])                           # the placer is idle now: caught up, then compacted
    assert fleet.store.dead_rows == [] and fleet.store.size == 3
    result = placer.place(3, 16, 32, group=GROUP)
    assert set(result.arns) <= set(fleet.arns) and len(result.positions) == 3
    assert placer.state.starts == 1
    _assert_follows(placer, fleet)


def test_a_placer_call_arriving_during_a_catch_up_waits_for_it_instead_of_failing(monkeypatch):
    monkeypatch.setattr(fleet_store, "COMPACT_AFTER", 0)
    fleet = demo(10, seed=9)
    placer = Placer(fleet, [Binpack("memory")])
    placer.place(2, 16, 32, group=GROUP)
    in_catch_up, go, waiting = threading.Event(), threading.Event(), threading.Event()
    original_sync, original_contended = placer.state.sync, Guard.enter_contended

    def sync():
        if threading.current_thread().name == "mutator" and not go.is_set():
            in_catch_up.set()
            assert go.wait(WAIT)
        return original_sync()

    def enter_contended(self):
        waiting.set()
        return original_contended(self)

    monkeypatch.setattr(placer.state, "sync", sync)
    monkeypatch.setattr(Guard, "enter_contended", enter_contended)
    errors, results = [], []
    mutator = threading.Thread(target=_raising(errors, lambda: [fleet.deregister(a) for a in fleet.arns[:6]]),
                               name="mutator")
    mutator.start()
    assert in_catch_up.wait(WAIT)                             # the compaction is catching the placer up
    caller = threading.Thread(target=_raising(errors, lambda: results.append(
        placer.place(2, 16, 32, group=GROUP))), name="caller")
    caller.start()
    assert waiting.wait(WAIT)                                 # the call found the guard taken ...
    go.set()
    mutator.join(WAIT)
    caller.join(WAIT)
    assert not mutator.is_alive() and not caller.is_alive()
    assert not errors, errors[0]                              # ... and waited instead of failing
    assert len(results[0].positions) == 2 and set(results[0].arns) <= set(fleet.arns)
    assert fleet.store.dead_rows == [] and placer.state.starts == 1
    _assert_follows(placer, fleet)


# -- the lock itself -------------------------------------------------------------------------------

def test_the_fleet_lock_lets_readers_in_together_and_a_writer_alone():
    fleet = demo(20, seed=10)
    lock, readers_in, release, errors = fleet.lock, threading.Barrier(3), threading.Event(), []

    def read():
        with fleet.reading():
            readers_in.wait(WAIT)                 # both readers inside at once
            assert release.wait(WAIT)

    threads = [threading.Thread(target=_raising(errors, read), name=f"r{k}") for k in range(2)]
    for thread in threads:
        thread.start()
    readers_in.wait(WAIT)
    assert lock.readers == 2
    wrote = threading.Event()
    writer = threading.Thread(target=_raising(errors, lambda: (fleet.put_attribute(fleet.arns[1], "k", "v"),
                                                                wrote.set())), name="writer")
    writer.start()
    assert not wrote.wait(0.05)                   # a weak check only: the writer must wait for the readers
    release.set()
    for thread in [*threads, writer]:
        thread.join(WAIT)
    assert wrote.is_set() and not errors and fleet[1].attributes["k"] == "v"


def test_the_fleet_lock_is_reentrant_for_its_holder_and_refuses_a_write_inside_a_read():
    fleet = demo(20, seed=10)
    with fleet.reading():
        with fleet.reading():
            mask = placement.compile("attribute:ecs.os-type exists").evaluate(fleet)
        assert len(fleet.ids(mask)) == int(mask.sum()) and fleet[0].arn == fleet.arns[0]
        with pytest.raises(RuntimeError, match="cannot change it"):
            fleet.put_attribute(fleet.arns[0], "k", "v")
    fleet.put_attribute(fleet.arns[0], "k", "v")           # nothing left held
    with fleet.lock.exclusive:                              # reads inside a write: the writer's own
        assert fleet[0].attributes["k"] == "v" and fleet.lock.writing
    assert fleet.lock.readers == 0 and not fleet.lock.writing
