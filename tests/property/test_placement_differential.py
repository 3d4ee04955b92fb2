"""The fast placer against the reference placer, and the invariants every placement keeps."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from placement import Fleet
from placement.engine.reference import holds
from placement.place import Demand, DistinctInstance, Placer
from placement.place.reference import eligible, place_reference
from tests.property.strategies import placement_fleets, placement_requests

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference(fleet, request, random_ties=False):
    strategies = request["strategies"] or None
    from placement.place.requests import Random
    return place_reference(fleet, Demand(request["cpu"], request["memory"], request["gpu"], request["ports"]),
                           request["count"], request["group"], request["constraints"],
                           strategies or [Random()], request["seed"], random_ties)


def fast(placer, request):
    return placer.place(request["count"], request["cpu"], request["memory"], request["gpu"], request["ports"],
                        request["group"], request["constraints"], request["seed"],
                        strategies=request["strategies"] or None)


def check_invariants(fleet, request, result):
    """Replay the placements: nothing over-committed, ports unique, every constraint true then."""
    demand = Demand(request["cpu"], request["memory"], request["gpu"], request["ports"])
    model = Fleet(fleet.columns)
    for placement in result.placements:
        record = model[placement.position]
        assert eligible(record)
        assert record.remaining.cpu >= demand.cpu and record.remaining.memory >= demand.memory
        assert record.remaining.gpu >= demand.gpu and not set(demand.ports) & record.remaining.ports
        for constraint in request["constraints"]:
            if isinstance(constraint, DistinctInstance):
                assert not record.task_groups.get(request["group"])
            else:
                assert holds(constraint.predicate.ir, record)
        model.start_task(placement.arn, request["group"], cpu=demand.cpu, memory=demand.memory,
                         gpu=demand.gpu, ports=demand.ports)


@SETTINGS
@given(placement_fleets(), placement_requests(), st.booleans())
def test_fast_placer_equals_reference(document, request, random_ties):
    fleet = Fleet.from_ecs(document, document["tasks"])
    expected = reference(fleet, request, random_ties)
    got = fast(Placer(fleet, random_ties=random_ties), request)
    assert [p.position for p in got.placements] == [p.position for p in expected.placements]
    assert [p.task for p in got.placements] == list(range(len(got.placements)))
    assert got.unplaced == expected.unplaced
    assert got.reasons == expected.reasons
    check_invariants(fleet, request, got)


class PlacerAgainstModel(RuleBasedStateMachine):
    """place / release / register / deregister / put-attribute interleaved: the Placer (state kept
    in its ledger) and the reference placer on a model fleet (placements recorded as tasks) agree
    after every step. Requests are repeated too, so the placer's kept indexes must catch up with
    whatever happened since they last ran."""

    @initialize(document=placement_fleets(max_size=6))
    def start(self, document):
        self.fleet = Fleet.from_ecs(document, document["tasks"])
        self.model = Fleet(self.fleet.columns)
        self.placer = Placer(self.fleet)
        self.placed: list[tuple[str, str, Demand]] = []
        self.requests: list[dict] = []
        self.serial = 0

    @rule(request=placement_requests())
    def place(self, request):
        request["count"] = min(request["count"], 6)
        self.requests.append(request)
        self.place_request(request)

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), count=st.integers(0, 6), seed=st.integers(0, 2**64 - 1))
    def place_again(self, data, count, seed):
        request = dict(data.draw(st.sampled_from(self.requests)), count=count, seed=seed)
        self.place_request(request)

    def place_request(self, request):
        expected = reference(self.model, request)
        got = fast(self.placer, request)
        assert [p.arn for p in got.placements] == [p.arn for p in expected.placements]
        assert got.reasons == expected.reasons
        demand = Demand(request["cpu"], request["memory"], request["gpu"], request["ports"])
        for placement in got.placements:
            self.model.start_task(placement.arn, request["group"], cpu=demand.cpu, memory=demand.memory,
                                  gpu=demand.gpu, ports=demand.ports)
            self.placed.append((placement.arn, request["group"], demand))

    @precondition(lambda self: self.placed)
    @rule(data=st.data())
    def release(self, data):
        arn, group, demand = self.placed.pop(data.draw(st.integers(0, len(self.placed) - 1)))
        self.placer.release(arn, group, demand.cpu, demand.memory, demand.gpu, demand.ports)
        self.model.stop_task(arn, group, cpu=demand.cpu, memory=demand.memory, gpu=demand.gpu, ports=demand.ports)

    @rule(zone=st.sampled_from(["a", "b", "c"]))
    def register(self, zone):
        self.serial += 1
        document = {"containerInstanceArn": f"new-{self.serial}", "status": "ACTIVE", "agentConnected": True,
                    "attributes": [{"name": "zone", "value": zone}],
                    "remainingResources": [{"name": "CPU", "integerValue": 1024},
                                           {"name": "MEMORY", "integerValue": 2048}]}
        self.fleet.register(document)
        self.model.register(document)

    @precondition(lambda self: len(self.fleet))
    @rule(data=st.data())
    def deregister(self, data):
        arn = self.fleet.arns[data.draw(st.integers(0, len(self.fleet) - 1))]
        self.fleet.deregister(arn)
        self.model.deregister(arn)
        self.placed = [p for p in self.placed if p[0] != arn]

    @precondition(lambda self: len(self.fleet))
    @rule(data=st.data(), value=st.sampled_from(["prod", "dev", None]))
    def put_attribute(self, data, value):
        arn = self.fleet.arns[data.draw(st.integers(0, len(self.fleet) - 1))]
        self.fleet.put_attribute(arn, "stack", value)
        self.model.put_attribute(arn, "stack", value)

    @invariant()
    def nothing_over_committed(self):
        if hasattr(self, "model"):
            for record in self.model:
                assert record.remaining.cpu >= 0 and record.remaining.memory >= 0 and record.remaining.gpu >= 0


PlacerAgainstModel.TestCase.settings = settings(max_examples=150, stateful_step_count=16, deadline=None,
                                                suppress_health_check=[HealthCheck.too_slow])
test_placer_state_machine = PlacerAgainstModel.TestCase
