"""The fast placer against the reference placer, and the invariants every placement keeps."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from placement import Fleet
from placement.engine.reference import holds
from placement.place import Demand, DistinctInstance, Placer
from placement.fleet import store
from placement.place.reference import eligible, place_reference, select_to_stop_reference
from tests.property.strategies import placement_fleets, placement_requests

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference(fleet, request, random_ties=False, ephemeral=(49153, 65535)):
    strategies = request["strategies"] or None
    from placement.place.requests import Random
    return place_reference(fleet, Demand(request["cpu"], request["memory"], request["gpu"], request["ports"]),
                           request["count"], request["group"], request["constraints"],
                           strategies or [Random()], request["seed"], random_ties, ephemeral)


def fast(placer, request):
    return placer.place(request["count"], request["cpu"], request["memory"], request["gpu"], request["ports"],
                        request["group"], request["constraints"], request["seed"],
                        strategies=request["strategies"] or None)


def check_invariants(fleet, request, result):
    """Replay the placements: nothing over-committed, host ports unique, every constraint true then."""
    demand = Demand(request["cpu"], request["memory"], request["gpu"], request["ports"])
    model = Fleet(fleet.columns)
    for placement in result.placements:
        record = model[placement.position]
        assert eligible(record)
        assert record.remaining.cpu >= demand.cpu and record.remaining.memory >= demand.memory
        assert record.remaining.gpu >= demand.gpu and not set(placement.host_ports) & record.remaining.ports
        assert len(set(placement.host_ports)) == len(placement.host_ports) == len(demand.ports)
        for constraint in request["constraints"]:
            if isinstance(constraint, DistinctInstance):
                assert not record.task_groups.get(request["group"])
            else:
                assert holds(constraint.predicate.ir, record)
        model.start_task(placement.arn, request["group"], cpu=demand.cpu, memory=demand.memory,
                         gpu=demand.gpu, ports=placement.host_ports)


@SETTINGS
@given(placement_fleets(), placement_requests(), st.booleans())
def test_fast_placer_equals_reference(document, request, random_ties):
    fleet = Fleet.from_ecs(document, document["tasks"])
    expected = reference(fleet, request, random_ties)
    got = fast(Placer(fleet, random_ties=random_ties), request)
    assert [p.position for p in got.placements] == [p.position for p in expected.placements]
    assert got.host_ports.tolist() == expected.host_ports.tolist()
    assert [p.task for p in got.placements] == list(range(len(got.placements)))
    assert got.unplaced == expected.unplaced
    assert got.reasons == expected.reasons
    check_invariants(fleet, request, got)


class PlacerAgainstModel(RuleBasedStateMachine):
    """Everything a scheduler does, interleaved: placing (keyword calls, prepared requests, many
    calls at once, with dynamic ports), stopping tasks by id, scale-in, and fleet events (instances
    registered with tasks and deregistered, attributes a spread reads changed, draining, tasks
    started and stopped on the fleet, compactions). The placer follows its fleet; the reference
    placer runs on a model fleet where every placement is a started task. They agree after
    every step, task by task."""

    @initialize(document=placement_fleets(max_size=6), compact=st.booleans(),
                ephemeral=st.sampled_from([(49153, 65535), (51676, 51682), (8079, 8081)]))
    def start(self, document, compact, ephemeral):
        self.compact_after = store.COMPACT_AFTER
        if compact:
            store.COMPACT_AFTER = 0
        self.fleet = Fleet.from_ecs(document, document["tasks"])
        self.model = Fleet.from_ecs(document, document["tasks"])
        self.placer = Placer(self.fleet, ephemeral_ports=ephemeral)   # small ranges run out of ports
        self.ephemeral = ephemeral
        self.model_id = {t: t for t in self.fleet.tasks.ids}     # the placer's task id -> the model's
        self.requests: list[dict] = []
        self.prepared: list = []
        self.serial = 0

    def teardown(self):
        store.COMPACT_AFTER = getattr(self, "compact_after", store.COMPACT_AFTER)

    def record(self, request, got):
        """Check ``got`` against the reference on the model, then make its placements the model's tasks."""
        expected = reference(self.model, request, ephemeral=self.ephemeral)
        assert [p.arn for p in got.placements] == [p.arn for p in expected.placements]
        assert got.host_ports.tolist() == expected.host_ports.tolist()
        assert got.unplaced == expected.unplaced and got.reasons == expected.reasons
        for placement in got.placements:
            (model_id,) = self.model.start_task(placement.arn, request["group"], cpu=request["cpu"],
                                                memory=request["memory"], gpu=request["gpu"],
                                                ports=placement.host_ports)
            self.model_id[placement.task_id] = model_id

    @rule(request=placement_requests())
    def place(self, request):
        request["count"] = min(request["count"], 6)
        self.requests.append(request)
        self.record(request, fast(self.placer, request))

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), count=st.integers(0, 6), seed=st.integers(0, 2**64 - 1),
          shape=st.sampled_from([(0, 0, ()), (128, 256, ()), (512, 512, (0,)), (256, 0, (80, 0))]))
    def place_prepared(self, data, count, seed, shape):
        """A kind seen before, through a prepared handle, with a demand of its own."""
        request = dict(data.draw(st.sampled_from(self.requests)), count=count, seed=seed)
        request["cpu"], request["memory"], request["ports"] = shape
        handle = self.placer.prepare(request["group"], request["constraints"], request["strategies"] or None)
        self.prepared.append((handle, request))
        self.record(request, handle.place(count, request["cpu"], request["memory"], request["gpu"], request["ports"],
                                          seed))

    @precondition(lambda self: self.prepared)
    @rule(data=st.data())
    def place_many(self, data):
        calls = data.draw(st.lists(st.sampled_from(self.prepared), min_size=1, max_size=4))
        counts = [data.draw(st.integers(0, 3)) for _ in calls]
        seeds = [data.draw(st.integers(0, 2**64 - 1)) for _ in calls]
        if any(request["ports"] for _, request in calls):
            return                                   # place_many takes no ports
        batch = self.placer.place_many(counts, [r["cpu"] for _, r in calls], [r["memory"] for _, r in calls],
                                       [r["gpu"] for _, r in calls], [h for h, _ in calls], seeds=seeds)
        for i, ((_, request), count, seed) in enumerate(zip(calls, counts, seeds)):
            self.record(dict(request, count=count, seed=seed), batch[i])

    def live_ids(self) -> list[str]:
        self.placer.sync()
        return [t for t in self.model_id if self.placer.state.task_number(t) is not None]

    @precondition(lambda self: len(self.model_id))
    @rule(data=st.data())
    def stop(self, data):
        live = self.live_ids()
        if live:
            chosen = data.draw(st.lists(st.sampled_from(live), min_size=1, max_size=3, unique=True))
            self.placer.stop(chosen)
            self.model.stop_tasks([self.model_id[t] for t in chosen])

    @rule(group=st.sampled_from(["service:web", "service:api", "family:batch"]), count=st.integers(0, 4),
          strategies=st.sampled_from([None, "spread:attribute:zone", "binpack:memory", "random", "spread:instanceId",
                                      "spread:attribute:zone,binpack:cpu", "binpack:cpu,random"]),
          seed=st.integers(0, 2**64 - 1))
    def scale_in(self, group, count, strategies, seed):
        from placement.place.requests import parse_strategy_option
        chain = [parse_strategy_option(s) for s in strategies.split(",")] if strategies else None
        expected = select_to_stop_reference(self.model, group, count, chain, seed)
        got = self.placer.select_to_stop(group, count, chain, seed)
        assert [self.model_id[t] for t in got.task_ids] == expected
        assert got.short == count - len(expected)
        self.model.stop_tasks(expected)

    @rule(zone=st.sampled_from(["a", "b", "c"]), tasks=st.integers(0, 2))
    def register(self, zone, tasks):
        self.serial += 1
        arn = f"new-{self.serial}"
        document = {"containerInstanceArn": arn, "status": "ACTIVE", "agentConnected": True,
                    "runningTasksCount": tasks, "attributes": [{"name": "zone", "value": zone}],
                    "remainingResources": [{"name": "CPU", "integerValue": 1024},
                                           {"name": "MEMORY", "integerValue": 2048},
                                           {"name": "PORTS", "stringSetValue": ["22", "80"][:tasks]}]}
        running = [{"taskArn": f"{arn}/t{k}", "group": "service:web", "containerInstanceArn": arn,
                    "desiredStatus": "RUNNING", "cpu": "64", "memory": "128"} for k in range(tasks)]
        for fleet in (self.fleet, self.model):
            fleet.register(document, running)
        self.model_id.update({t["taskArn"]: t["taskArn"] for t in running})

    def an_instance(self, data) -> str:
        return self.fleet.arns[data.draw(st.integers(0, len(self.fleet) - 1))]

    @precondition(lambda self: len(self.fleet))
    @rule(data=st.data())
    def deregister(self, data):
        arn = self.an_instance(data)
        for fleet in (self.fleet, self.model):
            fleet.deregister(arn)

    @precondition(lambda self: len(self.fleet))
    @rule(data=st.data(), name=st.sampled_from(["stack", "zone"]), value=st.sampled_from(["prod", "dev", "a", "d", None]))
    def put_attribute(self, data, name, value):
        arn = self.an_instance(data)
        for fleet in (self.fleet, self.model):
            fleet.put_attribute(arn, name, value)

    @precondition(lambda self: len(self.fleet))
    @rule(data=st.data(), status=st.sampled_from(["ACTIVE", "DRAINING"]))
    def set_status(self, data, status):
        arn = self.an_instance(data)
        for fleet in (self.fleet, self.model):
            fleet.set_status(arn, status)

    @precondition(lambda self: len(self.fleet))
    @rule(data=st.data(), group=st.sampled_from(["service:web", "family:batch"]), port=st.sampled_from([0, 8080]))
    def start_fleet_task(self, data, group, port):
        """A task the fleet reports running (started elsewhere): both fleets see it."""
        arn = self.an_instance(data)
        remaining = self.model[self.model.position(arn)].remaining
        if (port and port in remaining.ports) or remaining.cpu < 64 or remaining.memory < 64:
            return
        (live,) = self.fleet.start_task(arn, group, cpu=64, memory=64, ports=[port] if port else [])
        (model,) = self.model.start_task(arn, group, cpu=64, memory=64, ports=[port] if port else [])
        self.model_id[live] = model

    @invariant()
    def nothing_over_committed(self):
        if hasattr(self, "model"):
            for record in self.model:
                assert record.remaining.cpu >= 0 and record.remaining.memory >= 0 and record.remaining.gpu >= 0


PlacerAgainstModel.TestCase.settings = settings(max_examples=150, stateful_step_count=20, deadline=None,
                                                suppress_health_check=[HealthCheck.too_slow])
test_placer_state_machine = PlacerAgainstModel.TestCase


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(placement_fleets(), st.lists(placement_requests(), min_size=1, max_size=3), st.data())
def test_place_many_equals_the_same_calls_one_by_one(document, kinds, data):
    one_by_one, batched = (Placer(Fleet.from_ecs(document, document["tasks"])) for _ in range(2))
    handles = [[p.prepare(k["group"], k["constraints"], k["strategies"] or None) for k in kinds]
               for p in (one_by_one, batched)]
    calls = data.draw(st.lists(st.tuples(st.integers(0, len(kinds) - 1), st.integers(0, 8),
                                         st.sampled_from([0, 128, 256]), st.sampled_from([0, 256, 512]),
                                         st.integers(0, 2**64 - 1)), max_size=12))
    expected = [handles[0][k].place(count, cpu, memory, 0, (), seed) for k, count, cpu, memory, seed in calls]
    got = batched.place_many([c[1] for c in calls], [c[2] for c in calls], [c[3] for c in calls],
                             requests=[handles[1][c[0]] for c in calls], seeds=[c[4] for c in calls])
    assert len(got) == len(calls)
    for i, want in enumerate(expected):
        assert got[i].arns == want.arns and got[i].unplaced == want.unplaced and got[i].reasons == want.reasons
        assert got[i].task_ids == want.task_ids
    assert got.arns == [arn for want in expected for arn in want.arns]
