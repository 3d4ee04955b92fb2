"""The Dask backend (``placement.dask``) equals the local path, on a LocalCluster of processes.

One module-scoped ``LocalCluster(processes=True, n_workers=2, threads_per_worker=1)``; small
fleets from ``placement.demo``. Pinned down: evaluate / count / explain / select equal local
evaluation of the concatenated fleet (also over Parquet files with dictionaries of their own,
and with empty partitions); the per-worker cache compiles a canonical text once per process;
placement over partitions equals the local ``Placer`` task by task for binpack and spread
chains with memberOf / distinctInstance constraints, in one round trip (more with
``per_bucket``); a sweep's figures equal local runs of the same scenarios; bad input is one
``InputError``; ``import placement`` imports no dask.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import dask                                  # the test extra installs dask[dataframe,distributed]
import dask.dataframe as dd
import distributed
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import placement
from placement.dask import frame, sweep as sweeps
from placement.dask.place import place as dask_place
from placement.errors import InputError
from placement.place import Binpack, DistinctInstance, MemberOf, Placer, Random, Spread, ecs_service_default

pytestmark = pytest.mark.slow          # the debug-build pass skips it (see the Makefile)

EXPRESSIONS = [
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1c] and runningTasksCount > 1",
    "attribute:stack != prod",
    "not(task:group == service:web) or attribute:ecs.instance-type =~ t3.*",
    "attribute:flavor exists and (attribute:team == payments or agentConnected == true)",
    "ec2InstanceId =~ i-0.* or registeredAt < 2024-01-01",
]
ZONE = Spread("attribute:ecs.availability-zone")
CHAINS = [
    [Binpack("memory")],
    ecs_service_default(),
    [Binpack("cpu"), ZONE],
    [ZONE, Binpack("memory")],
    [Spread("attribute:stack"), Spread("attribute:ecs.instance-type"), Binpack("cpu")],   # absent is a bucket
    [Spread("host")],
]
CONSTRAINTS = [
    [],
    [MemberOf("runningTasksCount < 6")],                            # reads placed state
    [DistinctInstance()],
    [MemberOf("not(task:group == service:web) and attribute:ecs.os-type == linux")],
]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as connected:
        yield connected


def own_dictionaries(table):
    """``table`` with every dictionary column encoded afresh: only its values, its own codes."""
    columns = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column.cast(pa.string()))
        columns[name] = column
    return pa.table(columns)


def parquet_frame(tmp_path, fleet, parts: int):
    """``fleet`` as ``parts`` Parquet files, each written from its own table, read by dask."""
    table = fleet.to_arrow()
    size = -(-len(fleet) // parts)
    for k in range(parts):
        pq.write_table(own_dictionaries(table.slice(k * size, size)), tmp_path / f"part-{k}.parquet")
    return dd.read_parquet(str(tmp_path / "part-*.parquet"))


@pytest.mark.parametrize("seed", [0, 2])
def test_evaluate_count_explain_select_equal_local(client, seed):
    fleet = placement.demo(90 + 17 * seed, seed)
    ddf = frame.from_arrow(fleet.to_arrow(), npartitions=3 + seed)
    masks = dask.compute(*[frame.evaluate(text, ddf) for text in EXPRESSIONS])
    for text, mask in zip(EXPRESSIONS, masks):
        predicate = placement.compile(text)
        expected = predicate.evaluate(fleet)
        assert mask.dtype == bool and mask.to_numpy().tolist() == expected.tolist(), text
        assert frame.count(text, ddf) == int(expected.sum())
        assert frame.explain(predicate, ddf).to_json() == predicate.explain(fleet).to_json()
        chosen = frame.select(text, ddf, columns=["containerInstanceArn"]).compute()
        assert list(chosen.columns) == ["containerInstanceArn"]
        assert chosen["containerInstanceArn"].tolist() == fleet.ids(expected)


def test_parquet_files_with_their_own_dictionaries(client, tmp_path):
    fleet = placement.demo(150, 7)
    ddf = parquet_frame(tmp_path, fleet, 4)
    first = pq.read_table(tmp_path / "part-0.parquet").column("attribute:ecs.instance-type").combine_chunks()
    whole = fleet.to_arrow().column("attribute:ecs.instance-type").combine_chunks()
    assert len(first.dictionary) < len(whole.dictionary)          # the codes do differ between partitions
    for text in EXPRESSIONS:
        predicate = placement.compile(text)
        expected = predicate.evaluate(fleet)
        assert frame.evaluate(text, ddf).compute().to_numpy().tolist() == expected.tolist(), text
        assert frame.explain(text, ddf).to_json() == predicate.explain(fleet).to_json()
    rows = frame.select(EXPRESSIONS[0], ddf).compute()
    assert rows["containerInstanceArn"].tolist() == fleet.ids(placement.compile(EXPRESSIONS[0]).evaluate(fleet))


def test_evaluate_is_lazy_and_aligned_with_the_frame(client):
    fleet = placement.demo(60, 3)
    ddf = frame.from_arrow(fleet.to_arrow(), npartitions=4)
    mask = frame.evaluate(EXPRESSIONS[1], ddf)
    assert isinstance(mask, dd.Series) and mask.npartitions == ddf.npartitions
    assert ddf[mask].compute()["containerInstanceArn"].tolist() == \
        fleet.ids(placement.compile(EXPRESSIONS[1]).evaluate(fleet))


def test_empty_partitions_and_the_empty_frame(client):
    fleet = placement.demo(40, 4)
    ddf = frame.from_arrow(fleet.to_arrow(), npartitions=4)
    ddf = dd.concat([ddf, ddf.partitions[0].head(0, compute=False, npartitions=1)])      # an empty partition
    text = EXPRESSIONS[0]
    predicate = placement.compile(text)
    assert frame.count(text, ddf) == predicate.count(fleet)
    assert frame.explain(text, ddf).to_json() == predicate.explain(fleet).to_json()
    empty = frame.from_arrow(fleet.to_arrow().slice(0, 0))
    assert frame.count(text, empty) == 0
    assert frame.explain(text, empty).total == 0


def test_predicates_compile_once_per_worker_by_canonical_text(client):
    client.run(frame.clear_cache)
    fleet = placement.demo(80, 5)
    ddf = client.persist(frame.from_arrow(fleet.to_arrow(), npartitions=8))
    spelled = ["attribute:stack  ==  prod", "attribute:stack == prod", "(attribute:stack == prod)"]
    assert len({placement.compile(text).canonical for text in spelled}) == 1
    for text in spelled:
        frame.count(text, ddf)
    info = client.run(frame.cache_info)
    assert sum(i["compiled"] for i in info.values()) <= len(info)     # once per process at most
    assert all(i["size"] <= 1 for i in info.values())
    assert sum(i["hits"] for i in info.values()) + sum(i["compiled"] for i in info.values()) == 3 * 8


DEMANDS = [(30, 512, 1024, ()), (250, 1024, 2048, ()), (12, 0, 128, (8080,))]     # the middle one runs out


@pytest.mark.parametrize("seed", [0, 1])
def test_placement_over_partitions_equals_the_local_placer(client, seed):
    """Every chain, each with two of the constraint sets and demands (rotated by the seed, so the
    two seeds cover every pair of chain and constraints)."""
    fleet = placement.demo(80, seed)
    table = fleet.to_arrow()
    ddf = client.persist(frame.from_arrow(table, npartitions=3))
    for i, chain in enumerate(CHAINS):
        for j in range(2):
            constraints = CONSTRAINTS[(i + 2 * j + seed) % len(CONSTRAINTS)]
            count, cpu, memory, ports = DEMANDS[(i + j + seed) % len(DEMANDS)]
            local = Placer(placement.Fleet.from_arrow(table), chain).place(
                count=count, cpu=cpu, memory=memory, ports=ports, group="service:web", constraints=constraints)
            got = dask_place(ddf, count=count, cpu=cpu, memory=memory, ports=ports, group="service:web",
                             constraints=constraints, strategies=chain, client=client)
            said = (seed, [str(s) for s in chain], [str(c) for c in constraints], count)
            assert got.positions.tolist() == local.positions.tolist(), said
            assert got.arns == local.arns and got.unplaced == local.unplaced, said
            assert got.rounds == 1, said


def test_placement_over_parquet_partitions_with_capped_proposals(client, tmp_path):
    fleet = placement.demo(120, 9)
    ddf = parquet_frame(tmp_path, fleet, 5)
    for chain in (ecs_service_default(), [Binpack("cpu"), ZONE]):
        local = Placer(placement.Fleet.from_arrow(fleet.to_arrow()), chain).place(
            count=200, cpu=256, memory=512, group="service:api", constraints=[MemberOf("runningTasksCount < 9")])
        capped = dask_place(ddf, count=200, cpu=256, memory=512, group="service:api",
                            constraints=[MemberOf("runningTasksCount < 9")], strategies=chain, per_bucket=6)
        assert capped.positions.tolist() == local.positions.tolist()
        assert capped.unplaced == local.unplaced
        assert capped.rounds > 1                        # exactness with small answers costs round trips


def test_placement_refuses_what_it_cannot_do_exactly(client):
    ddf = frame.from_arrow(placement.demo(10, 0).to_arrow(), npartitions=2)
    for options, said in [({"strategies": [Random()]}, "random"), ({"strategies": []}, "strategies"),
                          ({"strategies": [Binpack("cpu")], "ports": (0,)}, "dynamic"),
                          ({"strategies": [Binpack("cpu")], "count": -1}, "count")]:
        with pytest.raises(InputError, match=said):
            dask_place(ddf, group="service:web", **{"count": 1, **options})



def test_placement_checks_the_request_as_the_local_placer_does():
    """No cluster: ``_checked`` runs before anything is computed."""
    from placement.dask.place import _checked
    from placement.place.requests import MAX_AMOUNT, MAX_TASKS
    chain = [Binpack("cpu")]
    request = _checked(1, 0, 0, 0, None, "g", (), (s for s in chain), None)     # a generator, read once
    assert request.ports == () and request.strategies == tuple(chain)
    for options, said in [({"count": MAX_TASKS + 1}, "count must be an integer from 0 to 10,000,000"),
                          ({"cpu": MAX_AMOUNT + 1}, "task cpu must be an integer"),
                          ({"memory": MAX_AMOUNT + 1}, "task memory must be an integer"),
                          ({"constraints": None}, "constraints must be a list"),
                          ({"ports": (80, 80)}, "more than once")]:
        values = {"count": 1, "cpu": 0, "memory": 0, "gpu": 0, "ports": (), "group": "g", "constraints": (),
                  "strategies": chain, "per_bucket": None, **options}
        with pytest.raises(InputError, match=said):
            _checked(**values)

SWEEP = """
name: small
scenario: web-rollout
quick: true
sweep:
  seed: [0, 3]
  fleet.demo: [90, 130]
  services.*.placementStrategy:
    - [{type: spread, field: "attribute:ecs.availability-zone"}, {type: spread, field: instanceId}]
    - [{type: binpack, field: memory}]
  variant: [as written, no zone rebalancing]
"""


def test_sweep_figures_equal_local_runs_of_each_scenario(client, tmp_path):
    from placement.simulate.cluster import Simulation
    from placement.simulate.scenario import builtin
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    sweep = sweeps.read_sweep(path)
    runs = sweep.runs()
    assert len(runs) == 16 and runs[0].label.startswith("seed=0, fleet.demo=90")
    result = sweeps.run_sweep(sweep, client=client)
    assert len(set(result.workers)) == 2                            # the runs did spread over both
    for run, report in zip(runs, result.reports):
        scenario = builtin("web-rollout", quick=True)
        scenario.seed, scenario.fleet.demo = run.parameters["seed"], run.parameters["fleet.demo"]
        for service in scenario.services:
            service.placementStrategy = run.parameters["services.*.placementStrategy"]
        if run.variant != sweeps.AS_WRITTEN:
            scenario = scenario.variant(next(v for v in scenario.variants if v.name == run.variant))
        local = Simulation(scenario, variant=run.label).run().report()
        assert sweeps.figures(report) == sweeps.figures(local), run.label
    written = sweeps.write(result, tmp_path / "out")
    assert [p.name for p in written] == ["results.json", "sweep.png", "report.md"]
    assert "## By parameter" in (tmp_path / "out" / "report.md").read_text()


def test_sweep_file_errors_are_one_input_error(tmp_path):
    cases = {
        "scenario: web-rollout\nquick: true\nsweep:\n  services.nosuch.desiredCount: [1]\n": "no item named",
        "scenario: web-rollout\nquick: true\nsweep:\n  fleet.demo: [-5]\n": "run 0",
        "scenario: nosuch\nsweep:\n  seed: [1]\n": "no built-in scenario",
        "scenario: web-rollout\nsweep:\n  seed: []\n": "non-empty list",
        "scenario: web-rollout\nsweep:\n  variant: [nosuch]\n": "no variant",
        "scenario: web-rollout\nsweeps:\n  seed: [1]\n": "unknown key",
        "scenario: web-rollout\nquick: true\nsweep:\n  services.².desiredCount: [1]\n": "no item named '²'",
    }
    for k, (text, said) in enumerate(cases.items()):
        path = tmp_path / f"bad{k}.yaml"
        path.write_text(text)
        with pytest.raises(InputError, match=said):
            sweeps.read_sweep(path)


def test_a_sweep_output_that_cannot_be_written_is_one_input_error(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("scenario: batch-burst\nquick: true\nsweep:\n  seed: [0]\n")
    result = sweeps.run_sweep(sweeps.read_sweep(path))
    (tmp_path / "out" / "results.json").mkdir(parents=True)            # a folder where the file goes
    with pytest.raises(InputError, match="cannot write .*results.json"):
        sweeps.write(result, tmp_path / "out")

def test_the_dask_benchmark_waits_for_the_workers_it_asked_for(monkeypatch):
    from placement.dask import bench

    class Client:                                   # one worker registered of the two asked for
        waited = []

        def scheduler_info(self):
            return {"workers": {"w0": {"nthreads": 1}}}

        def wait_for_workers(self, n):
            self.waited.append(n)

    for name in ("sweep_figures", "partition_figures", "placement_figures"):
        monkeypatch.setattr(bench, name, lambda *args: {})
    bench.measure(Client(), jobs=2)
    assert Client.waited == [2]

def test_the_worker_cache_counts_under_its_lock(monkeypatch):
    class Counted(dict):
        def __setitem__(self, key, value):
            assert frame._LOCK.locked(), f"{key} counted outside the lock"
            super().__setitem__(key, value)

    monkeypatch.setattr(frame, "_PREDICATES", {})
    monkeypatch.setattr(frame, "_STATS", Counted(compiled=0, hits=0))
    first = frame.worker_predicate("attribute:stack exists")
    assert frame.worker_predicate("attribute:stack exists") is first
    assert frame.cache_info() == {"size": 1, "compiled": 1, "hits": 1}

def test_an_unreachable_scheduler_is_one_input_error():
    from placement.dask.cluster import connect
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        with connect("tcp://127.0.0.1:9", timeout=0.5):
            pass
    with pytest.raises(InputError, match="jobs"):
        with connect(jobs=0):
            pass


def test_frame_input_errors():
    fleet = placement.demo(5, 0)
    with pytest.raises(InputError, match="dask.dataframe"):
        frame.count("attribute:stack == prod", fleet)
    with dask.config.set({"dataframe.convert-string": True}):
        printed = dd.from_pandas(fleet.to_arrow().to_pandas(), npartitions=1)
    with pytest.raises(InputError, match="arrived as text"):
        frame.count("task:group == service:web", printed)
    ddf = frame.from_arrow(fleet.to_arrow())
    with pytest.raises(InputError, match="no column"):
        frame.select("attribute:stack == prod", ddf, columns=["nosuch"])
    with pytest.raises(placement.QuerySyntaxError):
        frame.evaluate("attribute:stack ==", ddf)


def test_import_placement_imports_no_dask():
    code = ("import sys, placement, placement.cli, placement.cli.simulate, placement.cli.bench, placement.dask, "
            "placement.dask.sweep; assert not {'dask', 'distributed'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_sweep_on_jobs_and_in_process_agree(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("scenario: batch-burst\nquick: true\nsweep:\n  seed: [0, 1]\n")
    outputs = []
    for extra in ([], ["--jobs", "2"]):
        done = subprocess.run([sys.executable, "-m", "placement", "simulate", str(path), "--json", *extra],
                              capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr               # both seeds' runs succeed (exit 1: one did not)
        outputs.append(json.loads(done.stdout))
    local, remote = ([sweeps.figures(run["report"]) for run in out["runs"]] for out in outputs)
    assert local == remote
    assert outputs[1]["sweep"]["mode"] == "local cluster of 2 processes"
    np.testing.assert_equal(len(local), 2)
