"""Fleet events change the columns in place, in time proportional to the change (tombstones,
growing dictionaries, compaction): after every event the fleet must read and evaluate exactly
like a fleet built from scratch from the same ECS JSON, and like the reference evaluator."""
import copy

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import placement
from placement import Fleet
from placement.fleet import store
from tests.property.strategies import GROUPS, STRINGS, expressions, fleets

NAMES = ["stack", "zone", "cores", "ecs.capability.x", "brand-new"]


class FleetAgainstScratch(RuleBasedStateMachine):
    """The fleet under test changes event by event; the model is the ECS JSON of the same state."""

    @initialize(document=fleets(max_size=6), texts=st.lists(expressions(max_leaves=4), min_size=1, max_size=3),
                compact=st.booleans(), lazy=st.booleans())
    def start(self, document, texts, compact, lazy):
        self.compact_after, self.lazy_after = store.COMPACT_AFTER, store.LAZY_AFTER
        if compact:                        # compact as soon as dead rows outnumber the live ones
            store.COMPACT_AFTER = 0
        if lazy:                           # task indexes built on first use, as for a large fleet
            store.LAZY_AFTER = 0
        self.instances = copy.deepcopy(document["containerInstances"])
        for instance in self.instances:
            instance.setdefault("remainingResources", [{"name": "CPU", "integerValue": 4096},
                                                       {"name": "MEMORY", "integerValue": 8192}])
        self.tasks = [t for t in copy.deepcopy(document["tasks"]) if t["desiredStatus"] == "RUNNING"]
        for k, task in enumerate(self.tasks):
            task.update(taskArn=f"arn:task/{k}", cpu="0", memory="0")
        self.fleet = Fleet.from_ecs(self.instances, self.tasks)
        self.predicates = [placement.compile(text, max_length=10_000) for text in texts]
        self.serial = len(self.tasks)
        for predicate in self.predicates:            # bound now, so every later event must rebind
            predicate.evaluate(self.fleet)

    def teardown(self):
        store.COMPACT_AFTER = getattr(self, "compact_after", store.COMPACT_AFTER)
        store.LAZY_AFTER = getattr(self, "lazy_after", store.LAZY_AFTER)

    def instance(self, data):
        return self.instances[data.draw(st.integers(0, len(self.instances) - 1))]

    @rule(zone=st.sampled_from(["a", "b", STRINGS[0], "new-value"]), with_task=st.booleans())
    def register(self, zone, with_task):
        self.serial += 1
        document = {"containerInstanceArn": f"ci-new-{self.serial}", "status": "ACTIVE", "agentConnected": True,
                    "attributes": [{"name": "zone", "value": zone}, {"name": f"only-{self.serial % 3}"}],
                    "remainingResources": [{"name": "CPU", "integerValue": 1024},
                                           {"name": "MEMORY", "integerValue": 2048},
                                           {"name": "PORTS", "stringSetValue": ["22"]}]}
        tasks = [{"taskArn": f"arn:task/{self.serial}", "group": "service:web", "desiredStatus": "RUNNING",
                  "containerInstanceArn": document["containerInstanceArn"], "cpu": "128", "memory": "256"}]
        self.fleet.register(document, tasks if with_task else None)
        self.instances.append(copy.deepcopy(document))
        self.tasks += tasks if with_task else []

    @precondition(lambda self: self.instances)
    @rule(data=st.data())
    def deregister(self, data):
        instance = self.instance(data)
        self.fleet.deregister(instance["containerInstanceArn"])
        self.instances.remove(instance)
        self.tasks = [t for t in self.tasks if t["containerInstanceArn"] != instance["containerInstanceArn"]]

    @precondition(lambda self: self.instances)
    @rule(data=st.data(), name=st.sampled_from(NAMES), value=st.sampled_from(STRINGS[:6] + [None, "fresh"]),
          delete=st.booleans())
    def put_attribute(self, data, name, value, delete):
        instance = self.instance(data)
        attributes = [a for a in instance["attributes"] if a["name"] != name]
        if delete:
            self.fleet.delete_attribute(instance["containerInstanceArn"], name)
        else:
            value = f"{value}-{self.serial}" if value == "fresh" else value       # a value never seen
            self.serial += 1
            self.fleet.put_attribute(instance["containerInstanceArn"], name, value)
            attributes.append({"name": name} if value is None else {"name": name, "value": value})
        instance["attributes"] = attributes

    @precondition(lambda self: self.instances)
    @rule(data=st.data(), status=st.sampled_from(["ACTIVE", "DRAINING"]))
    def set_status(self, data, status):
        instance = self.instance(data)
        self.fleet.set_status(instance["containerInstanceArn"], status)
        instance["status"] = status

    @precondition(lambda self: self.instances)
    @rule(data=st.data(), group=st.sampled_from(GROUPS), cpu=st.sampled_from([0, 128]), port=st.sampled_from([0, 8080]))
    def start_task(self, data, group, cpu, port):
        instance = self.instance(data)
        arn = instance["containerInstanceArn"]
        if port and any(t.get("port") == port for t in self.tasks if t["containerInstanceArn"] == arn):
            return
        (task_id,) = self.fleet.start_task(arn, group, cpu=cpu, memory=64, ports=[port] if port else [])
        self.tasks.append({"taskArn": task_id, "group": group, "desiredStatus": "RUNNING", "containerInstanceArn": arn,
                           "cpu": str(cpu), "memory": "64", "port": port})
        self._resources(instance, -cpu, -64, {port} if port else set(), +1)

    @precondition(lambda self: self.tasks)
    @rule(data=st.data(), by_id=st.booleans())
    def stop_task(self, data, by_id):
        task = self.tasks[data.draw(st.integers(0, len(self.tasks) - 1))]
        instance = next(i for i in self.instances if i["containerInstanceArn"] == task["containerInstanceArn"])
        if by_id:
            self.fleet.stop_tasks([task["taskArn"]])
        else:                       # the most recent task of the group there that took the same
            same = [t for t in self.tasks if t["containerInstanceArn"] == task["containerInstanceArn"]
                    and t["group"] == task["group"] and t["cpu"] == task["cpu"] and t["memory"] == task["memory"]]
            task = same[-1]
            self.fleet.stop_task(task["containerInstanceArn"], task["group"], cpu=int(task["cpu"]),
                                 memory=int(task["memory"]))
        self.tasks.remove(task)
        self._resources(instance, int(task["cpu"]), int(task["memory"]), {task["port"]} if task.get("port") else set(),
                        -1)

    @staticmethod
    def _resources(instance, cpu, memory, ports, running):
        resources = {r["name"]: r for r in instance["remainingResources"]}
        for name, amount in (("CPU", cpu), ("MEMORY", memory)):
            resources.setdefault(name, {"name": name, "integerValue": 0})["integerValue"] += amount
        in_use = set(resources.get("PORTS", {}).get("stringSetValue", []))
        in_use = in_use | {str(p) for p in ports} if running > 0 else in_use - {str(p) for p in ports}
        resources["PORTS"] = {"name": "PORTS", "stringSetValue": sorted(in_use)}
        instance["remainingResources"] = list(resources.values())
        instance["runningTasksCount"] = max(0, instance.get("runningTasksCount", 0) + running)

    @invariant()
    def reads_like_a_fleet_built_from_scratch(self):
        if not hasattr(self, "fleet"):
            return
        scratch = Fleet.from_ecs(self.instances, [{k: v for k, v in t.items() if k != "port"} for t in self.tasks])
        assert self.fleet.arns == scratch.arns
        assert [self.fleet.position(arn) for arn in scratch.arns] == list(range(len(scratch)))
        for mine, theirs in zip(self.fleet, scratch):
            assert (mine.attributes, mine.status, mine.remaining, mine.running_tasks_count, mine.task_groups) == \
                   (theirs.attributes, theirs.status, theirs.remaining, theirs.running_tasks_count, theirs.task_groups)
        assert sorted(self.fleet.tasks.ids) == sorted(t["taskArn"] for t in self.tasks)
        for predicate in self.predicates:
            expected = predicate.evaluate(scratch)
            assert (predicate.evaluate(self.fleet) == expected).all(), predicate.source
            assert (predicate.evaluate(self.fleet, backend="reference") == expected).all(), predicate.source


FleetAgainstScratch.TestCase.settings = settings(max_examples=120, stateful_step_count=20, deadline=None,
                                                 suppress_health_check=[HealthCheck.too_slow])
test_fleet_events_read_like_a_fleet_built_from_scratch = FleetAgainstScratch.TestCase


def test_a_removed_row_is_a_tombstone_until_dead_rows_outnumber_the_live_ones(monkeypatch):
    monkeypatch.setattr(store, "COMPACT_AFTER", 2)
    fleet = Fleet.from_ecs([{"containerInstanceArn": f"ci-{i}", "attributes": [{"name": "k", "value": str(i)}]}
                            for i in range(6)])
    predicate = placement.compile("attribute:k in [1, 4, 5]")
    fleet.deregister("ci-1")
    fleet.deregister("ci-2")
    assert fleet.store.size == 6 and len(fleet) == 4 and fleet.position("ci-4") == 2
    assert fleet.ids(predicate.evaluate(fleet)) == ["ci-4", "ci-5"]
    fleet.deregister("ci-0")                          # 3 dead > max(2, 3 live)? not yet
    assert fleet.store.size == 6
    fleet.deregister("ci-3")                          # 4 dead > max(2, 2 live): compacted
    assert fleet.store.size == 2 and fleet.arns == ["ci-4", "ci-5"] and fleet.position("ci-5") == 1
    assert fleet.ids(predicate.evaluate(fleet)) == ["ci-4", "ci-5"]


def test_a_new_value_grows_the_dictionary_without_recoding_a_row():
    fleet = Fleet.from_ecs([{"containerInstanceArn": f"ci-{i}", "attributes": [{"name": "k", "value": "a"}]}
                            for i in range(300)])
    codes = fleet.store.attributes["k"].codes
    fleet.put_attribute("ci-7", "k", "zzz")            # sorts after "a": appended after the special codes
    assert fleet.store.attributes["k"].codes is not codes or codes[0] == 0
    assert int(fleet.store.attributes["k"].codes[7]) == 3 and fleet.columns.attributes["k"].dictionary == ("a", "zzz")
    for k in range(300):                              # past 256 codes the column widens to uint16, once
        fleet.put_attribute(f"ci-{k}", "k", f"v{k:03d}")
    assert fleet.store.attributes["k"].codes.dtype.name == "uint16"
    assert fleet.ids(placement.compile("attribute:k =~ v00.").evaluate(fleet)) == [f"ci-{k}" for k in range(10)]


@pytest.mark.parametrize("change, complaint", [
    (lambda f: f.stop_tasks(["nope"]), "no running task"),
    (lambda f: f.stop_task("ci-0", "service:web", 5), "cannot stop 5"),
    (lambda f: f.set_status("ci-0", ""), "status"),
    (lambda f: f.start_task("ci-0", "g", ports=[70000]), "host port"),
    (lambda f: f.start_task("ci-0", "g", count=-1), "count"),
])
def test_bad_events_are_input_errors(change, complaint):
    fleet = Fleet.from_ecs([{"containerInstanceArn": "ci-0"}],
                           [{"group": "service:web", "containerInstanceArn": "ci-0", "desiredStatus": "RUNNING"}])
    with pytest.raises(placement.InputError, match=complaint):
        change(fleet)
