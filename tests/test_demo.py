"""The demo generator's documents look like, and are as consistent as, real ECS CLI output;
``demo(n, seed)``, built straight into columns, is exactly the fleet of those documents; and the
demo fleet gives every ECS documentation example something to select.
"""
import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import numpy as np
import pytest

import placement
from placement import Fleet
from placement.fleet.demo import demo, demo_documents

CAPABILITY = re.compile(r"^(com\.amazonaws\.ecs\.capability\.|ecs\.capability\.)")
VALUED_CAPABILITIES = {"ecs.capability.cni-plugin-version"}
GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*\.")  # m6g., c6g., t4g., m7g., r6g. (not g4dn., g5.)
LEGACY_AGENT = "1.14.4"  # the legacy pool's AMI (2017): short EC2 ids, older Docker, registered 2017-18
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$")
# vCPUs and GiB from the EC2 instance type pages, for the types we spot-check.
SIZES = {"t2.micro": (1, 1), "t3.medium": (2, 4), "m5.large": (2, 8), "m5.xlarge": (4, 16),
         "c5.xlarge": (4, 8), "r5.large": (2, 16), "m6g.large": (2, 8), "g4dn.xlarge": (4, 16),
         "p3.2xlarge": (8, 61), "p3.8xlarge": (32, 244)}
GPUS = {"g4dn.xlarge": 1, "g5.xlarge": 1, "p3.2xlarge": 1, "p3.8xlarge": 4}


@pytest.fixture(scope="module")
def docs():
    return demo_documents(3000, seed=7)


def instances(docs):
    return docs[0]["containerInstances"]


def attrs(inst):
    return {a["name"]: a for a in inst["attributes"]}


def resource(inst, field, name):
    for item in inst[field]:
        if item["name"] == name:
            return item["stringSetValue"] if item["type"] == "STRINGSET" else item["integerValue"]
    return None


def test_document_shapes(docs):
    ci, tasks = docs
    assert set(ci) == {"containerInstances", "failures"} and ci["failures"] == []
    assert set(tasks) == {"tasks", "failures"} and tasks["failures"] == []
    assert len(ci["containerInstances"]) == 3000


def test_deterministic_and_seeded():
    assert json.dumps(demo_documents(300, 1)) == json.dumps(demo_documents(300, 1))
    assert json.dumps(demo_documents(300, 1)) != json.dumps(demo_documents(300, 2))


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_fleets(n):
    ci, tasks = demo_documents(n, seed=3)
    assert len(ci["containerInstances"]) == n
    arns = {i["containerInstanceArn"] for i in ci["containerInstances"]}
    assert all(t["containerInstanceArn"] in arns for t in tasks["tasks"])
    json.dumps((ci, tasks))


def test_negative_n_is_refused():
    with pytest.raises(placement.InputError, match="from 0 to 10,000,000 instances"):
        demo_documents(-1)


def test_ids_and_arns(docs):
    arn = re.compile(r"^arn:aws:ecs:us-east-1:123456789012:container-instance/demo/[0-9a-f]{32}$")
    insts = instances(docs)
    assert all(arn.match(i["containerInstanceArn"]) for i in insts)
    legacy = [i for i in insts if i["versionInfo"]["agentVersion"] == LEGACY_AGENT]
    assert all(re.match(r"^i-[0-9a-f]{17}$", i["ec2InstanceId"]) for i in insts if i not in legacy)
    assert legacy and all(re.match(r"^i-[0-9a-f]{8}$", i["ec2InstanceId"]) for i in legacy)
    assert "i-abcd1234" in {i["ec2InstanceId"] for i in legacy}  # the id the ECS documentation uses
    assert len({i["containerInstanceArn"] for i in insts}) == len(insts)
    assert len({i["ec2InstanceId"] for i in insts}) == len(insts)
    task_arns = [t["taskArn"] for t in docs[1]["tasks"]]
    assert len(set(task_arns)) == len(task_arns)
    assert all(re.match(r"^arn:aws:ecs:us-east-1:123456789012:task/demo/[0-9a-f]{32}$", a) for a in task_arns)


def test_cluster_and_region_are_used():
    ci, tasks = demo_documents(50, seed=1, cluster="prod-eu", region="eu-west-1")
    for inst in ci["containerInstances"]:
        assert inst["containerInstanceArn"].startswith("arn:aws:ecs:eu-west-1:123456789012:container-instance/prod-eu/")
        assert re.match(r"^eu-west-1[a-f]$", attrs(inst)["ecs.availability-zone"]["value"])
    assert {t["clusterArn"] for t in tasks["tasks"]} == {"arn:aws:ecs:eu-west-1:123456789012:cluster/prod-eu"}


def test_running_tasks_count_counts_desired_running_only(docs):
    running = Counter(t["containerInstanceArn"] for t in docs[1]["tasks"] if t["desiredStatus"] == "RUNNING")
    statuses = Counter(t["desiredStatus"] for t in docs[1]["tasks"])
    assert statuses["STOPPED"] > 0 and set(statuses) == {"RUNNING", "STOPPED"}
    for inst in instances(docs):
        assert inst["runningTasksCount"] == running[inst["containerInstanceArn"]]
        assert inst["pendingTasksCount"] == 0
        assert "agentUpdateStatus" not in inst
    assert any(i["runningTasksCount"] == 0 for i in instances(docs))


def test_tasks_look_like_describe_tasks(docs):
    groups = Counter(t["group"] for t in docs[1]["tasks"])
    assert {"service:web", "service:api", "service:worker", "family:batch-etl", "service:cache"} <= set(groups)
    for t in docs[1]["tasks"]:
        assert t["cpu"].isdigit() and t["memory"].isdigit()
        assert t["lastStatus"] == t["desiredStatus"]
        assert ISO.match(t["createdAt"]) and ISO.match(t["startedAt"])
        if t["desiredStatus"] == "STOPPED":
            assert t["stoppedReason"] and ISO.match(t["stoppedAt"])


def test_remaining_is_registered_minus_running_tasks(docs):
    used = defaultdict(lambda: [0, 0])
    for t in docs[1]["tasks"]:
        if t["desiredStatus"] == "RUNNING":
            used[t["containerInstanceArn"]][0] += int(t["cpu"])
            used[t["containerInstanceArn"]][1] += int(t["memory"])
    for inst in instances(docs):
        for k, name in enumerate(("CPU", "MEMORY")):
            reg, rem = resource(inst, "registeredResources", name), resource(inst, "remainingResources", name)
            assert 0 <= rem <= reg
            assert reg - rem == used[inst["containerInstanceArn"]][k]
        reg_gpu, rem_gpu = resource(inst, "registeredResources", "GPU"), resource(inst, "remainingResources", "GPU")
        itype = attrs(inst)["ecs.instance-type"]["value"]
        assert reg_gpu == GPUS.get(itype)
        if reg_gpu:
            assert 0 <= rem_gpu <= reg_gpu


def test_resources_match_the_instance_type(docs):
    seen = set()
    for inst in instances(docs):
        itype = attrs(inst)["ecs.instance-type"]["value"]
        if itype in SIZES:
            vcpu, gib = SIZES[itype]
            assert resource(inst, "registeredResources", "CPU") == 1024 * vcpu
            assert 0.8 * gib * 1024 < resource(inst, "registeredResources", "MEMORY") < gib * 1024
            seen.add(itype)
        for item in inst["registeredResources"] + inst["remainingResources"]:
            assert item["type"] == ("STRINGSET" if item["name"].startswith("PORTS") else "INTEGER")
    assert len(seen) >= 6


def test_ports_are_unique_strings_and_include_static_host_ports(docs):
    static = defaultdict(set)
    for t in docs[1]["tasks"]:
        if t["desiredStatus"] == "RUNNING":
            for c in t["containers"]:
                static[t["containerInstanceArn"]] |= {str(b["hostPort"]) for b in c["networkBindings"]
                                                      if b["hostPort"] == b["containerPort"]}
    in_use = 0
    for inst in instances(docs):
        reg, rem = resource(inst, "registeredResources", "PORTS"), resource(inst, "remainingResources", "PORTS")
        for ports in (reg, rem):
            assert all(isinstance(p, str) and p.isdigit() for p in ports)
            assert len(ports) == len(set(ports))
        # ECS lists the *taken* ports in remainingResources: the reserved ones plus static host ports.
        assert set(reg) <= set(rem)
        assert set(rem) - set(reg) == static[inst["containerInstanceArn"]]
        in_use += len(rem) > len(reg)
        if attrs(inst)["ecs.os-type"]["value"] == "linux":
            assert reg == ["22", "2375", "2376", "51678", "51679"]
    assert in_use > 0


def test_architecture_follows_instance_type(docs):
    for inst in instances(docs):
        a = attrs(inst)
        graviton = bool(GRAVITON.match(a["ecs.instance-type"]["value"]))
        assert (a["ecs.cpu-architecture"]["value"] == "arm64") == graviton
        assert a["ecs.cpu-architecture"]["value"] in ("arm64", "x86_64")


def test_windows_only_on_x86(docs):
    windows = 0
    for inst in instances(docs):
        a = attrs(inst)
        if a["ecs.os-type"]["value"] == "windows":
            windows += 1
            assert a["ecs.cpu-architecture"]["value"] == "x86_64"
            assert a["ecs.os-family"]["value"].startswith("WINDOWS_SERVER_")
            assert a["ecs.instance-type"]["value"] not in GPUS
        else:
            assert (a["ecs.os-type"]["value"], a["ecs.os-family"]["value"]) == ("linux", "LINUX")
    assert windows > 0


def test_value_less_attributes_have_no_value_key(docs):
    for inst in instances(docs):
        names = [a["name"] for a in inst["attributes"]]
        assert len(names) == len(set(names))
        for a in inst["attributes"]:
            if CAPABILITY.match(a["name"]) and a["name"] not in VALUED_CAPABILITIES:
                assert "value" not in a, a
            else:
                assert isinstance(a["value"], str) and a["value"], a
        assert "com.amazonaws.ecs.capability.logging-driver.awslogs" in names
        assert "com.amazonaws.ecs.capability.ecr-auth" in names


def test_docker_api_capabilities_are_a_contiguous_range(docs):
    for inst in instances(docs)[:300]:
        minors = sorted(int(a["name"].rsplit(".", 1)[1]) for a in inst["attributes"]
                        if a["name"].startswith("com.amazonaws.ecs.capability.docker-remote-api.1."))
        assert minors == list(range(minors[0], minors[-1] + 1))
        legacy = inst["versionInfo"]["agentVersion"] == LEGACY_AGENT   # Docker 17.03
        assert minors[0] <= 24 and minors[-1] >= (25 if legacy else 41)


def test_gpu_instances_report_their_driver(docs):
    for inst in instances(docs):
        a = attrs(inst)
        driver = [n for n in a if n.startswith("ecs.capability.nvidia-driver-version.")]
        assert bool(driver) == (a["ecs.instance-type"]["value"] in GPUS)


def test_custom_attributes_are_sometimes_absent(docs):
    counts = Counter(name for inst in instances(docs) for name in attrs(inst) if name in ("stack", "team", "flavor"))
    n = len(instances(docs))
    assert 0.75 * n < counts["stack"] < 0.95 * n  # ~15% lack it
    assert 0.45 * n < counts["team"] < 0.75 * n   # ~40% lack it
    assert 0 < counts["flavor"] < 0.1 * n
    assert {attrs(i)["stack"]["value"] for i in instances(docs) if "stack" in attrs(i)} == {"prod", "staging", "dev"}


def test_placement_attributes(docs):
    subnet_of = {}
    for inst in instances(docs):
        a = attrs(inst)
        az = a["ecs.availability-zone"]["value"]
        assert re.match(r"^us-east-1[a-f]$", az)
        assert subnet_of.setdefault(az, a["ecs.subnet-id"]["value"]) == a["ecs.subnet-id"]["value"]
        assert re.match(r"^ami-[0-9a-f]{17}$", a["ecs.ami-id"]["value"])
        assert re.match(r"^vpc-[0-9a-f]{17}$", a["ecs.vpc-id"]["value"])
        assert re.match(r"^\d+\.\d+\.\d+$", inst["versionInfo"]["agentVersion"])
    assert len(subnet_of) == 6
    amis = {attrs(i)["ecs.ami-id"]["value"] for i in instances(docs)}
    assert 5 <= len(amis) <= 40


def test_status_and_connectivity_vary(docs):
    status = Counter(i["status"] for i in instances(docs))
    assert set(status) == {"ACTIVE", "DRAINING"} and status["ACTIVE"] > 0.9 * len(instances(docs))
    connected = Counter(i["agentConnected"] for i in instances(docs))
    assert connected[True] > 0.9 * len(instances(docs)) and connected[False] > 0


def test_registered_at_is_cli_iso_within_two_years(docs):
    times, legacy = [], []
    for inst in instances(docs):
        assert ISO.match(inst["registeredAt"]), inst["registeredAt"]
        stamp = datetime.fromisoformat(inst["registeredAt"])
        (legacy if inst["versionInfo"]["agentVersion"] == LEGACY_AGENT else times).append(stamp)
    assert max(times) - min(times) > timedelta(days=365)
    assert max(times) - min(times) < timedelta(days=2 * 366)
    # the legacy pool was launched in 2017-18 and has run since
    assert datetime.fromisoformat("2017-09-01T00:00:00+00:00") <= min(legacy)
    assert max(legacy) < datetime.fromisoformat("2018-07-01T00:00:00+00:00")


def test_json_round_trip(docs):
    for doc in docs:
        assert json.loads(json.dumps(doc)) == doc


def test_the_legacy_pool_is_about_three_percent_and_stratified(docs):
    legacy = [i for i in instances(docs) if i["versionInfo"]["agentVersion"] == LEGACY_AGENT]
    assert len(legacy) == 90                                   # 3% of 3000, a quota
    types = Counter(attrs(i)["ecs.instance-type"]["value"] for i in legacy)
    assert types == {"t2.small": 30, "t2.medium": 30, "g2.2xlarge": 30}
    assert {attrs(i)["ecs.availability-zone"]["value"] for i in legacy} == {"us-east-1a", "us-east-1b", "us-east-1c"}
    for inst in legacy:   # agent 1.14 predates GPU support, task ENIs and the ecs.capability names
        assert resource(inst, "registeredResources", "GPU") is None
        assert not any(n.startswith("ecs.capability.") for n in attrs(inst))


def decoded(column):
    return [column.value_of(int(code)) for code in column.codes]


@pytest.mark.parametrize("n, seed", [(0, 0), (1, 0), (1, 4), (7, 1), (7, 2), (200, 0), (200, 3), (2000, 5)])
def test_demo_is_the_fleet_of_its_documents(n, seed):
    """The columnar generator and Fleet.from_ecs over the documents give the same fleet."""
    got, expected = demo(n, seed).columns, Fleet.from_ecs(*demo_documents(n, seed)).columns
    assert got.arns == expected.arns
    for name in ("instance_id", "status", "agent_connected"):
        assert decoded(getattr(got, name)) == decoded(getattr(expected, name)), name
        assert getattr(got, name).dictionary == getattr(expected, name).dictionary, name
    for name in ("agent_version", "registered_at", "running_tasks"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    assert list(got.attributes) == list(expected.attributes)       # absent ones included: same names
    for name, column in got.attributes.items():
        assert decoded(column) == decoded(expected.attributes[name]), name
        assert column.dictionary == expected.attributes[name].dictionary, name
    for name in got.RESOURCES:
        assert np.array_equal(got.resources[name], expected.resources[name]), name
    assert got.ports == expected.ports
    assert got.groups.dictionary == expected.groups.dictionary
    for name in ("offsets", "codes", "counts"):
        assert np.array_equal(getattr(got.groups, name), getattr(expected.groups, name)), name
    assert got.tasks.ids == expected.tasks.ids and got.tasks.groups == expected.tasks.groups
    assert got.tasks.ports == expected.tasks.ports
    for name in ("rows", "cpu", "memory", "gpu"):
        assert np.array_equal(getattr(got.tasks, name), getattr(expected.tasks, name)), name


def test_demo_has_value_less_absent_and_gpu_tasks():
    columns = demo(2000, 5).columns
    valueless = columns.attributes["ecs.capability.task-eni"]
    assert set(decoded(valueless)) == {placement.values.VALUELESS, placement.values.ABSENT}  # legacy lack it
    assert int(columns.tasks.gpu.sum()) > 0 and int(columns.resources["remaining_gpu"].sum()) < \
        int(columns.resources["registered_gpu"].sum())


@pytest.mark.parametrize("seed", range(5))
def test_every_documentation_example_selects_some_of_the_demo_fleet(seed):
    """placement demo shows the ECS documentation's examples on demo(200): each must find
    something, and a filter must not find everything (that reads as a broken fleet)."""
    from placement.examples import ECS_DOC_EXAMPLES, FLEET_EXAMPLES
    fleet = demo(200, seed)
    for text in ECS_DOC_EXAMPLES + FLEET_EXAMPLES:
        count = int(placement.compile(text).evaluate(fleet).sum())
        assert 0 < count < len(fleet), (text, count)
