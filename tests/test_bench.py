"""``placement bench`` end to end: a quick run writes results.json with every section, report.md
and real PNGs, with every method agreeing; one that disagrees is a failure naming it;
``--compare`` gives each figure's speed-up; a user's fleet is benchmarked as it is; bad input
exits 2 saying what is wrong; a peer, matplotlib or the scenario engine that cannot be imported
is reported skipped, never a crash. One quick run is
shared by the tests that read it (it takes most of this file's time)."""
import contextlib
import io
import json
import struct
import sys

import matplotlib.image
import numpy as np
import pytest

from placement import Fleet
from placement.bench import baselines, evaluation, peers, render, simulation
from placement.bench import placement as placing
from placement.bench.timing import best_of
from placement.bench.workloads import WORKLOADS, scaled_arrow, scaled_fleet
from placement.cli import main
from placement.cli.bench import parse_sizes
from placement.errors import InputError
from placement.fleet import demo_documents
from placement.simulate.scenario import BUILTIN

pytestmark = pytest.mark.slow          # the debug-build pass skips it (see the Makefile)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECTIONS = {"machine", "evaluation", "placement", "simulation", "agreement", "skipped"}
PEERS = {"numpy", "pandas", "polars 2t", "duckdb 1t", "pyarrow 1t"}



def test_a_slower_workload_says_the_placement_time_its_ratio_used():
    """The ratio sets a peer against placement's faster form (bits here), so the line does too."""
    ms = {evaluation.PLACEMENT: 4.0, evaluation.PLACEMENT_BITS: 2.0, "numpy": 1.5, evaluation.FLOOR: 0.5,
          evaluation.BIND_RUN: 5.0}
    entry = {"methods": list(ms), "rows": 100, "rounds": 1, "label": "100", "setupMs": {}, "singleThreadPeers": [],
             "workloads": {"w": {"selects": 0.5, "ms": ms, "plan": "a plan"}}}
    assert render.evaluation_section(entry).listing[0] == "w: numpy 1.500 ms < placement 2.000 ms; plan:"

@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``placement bench --quick --out DIR``, as a newcomer runs it: (exit code, stdout, DIR)."""
    out = tmp_path_factory.mktemp("bench") / "quick"
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        code = main(["bench", "--quick", "--out", str(out)])
    return code, stdout.getvalue(), out


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", path
    return struct.unpack(">II", data[16:24])


def test_a_quick_run_writes_every_section_and_every_method_agreed(quick_run):
    code, stdout, out = quick_run
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    assert SECTIONS <= set(doc) and doc["quick"] and doc["failures"] == []
    assert doc["agreement"]["all"] and all(doc["agreement"]["workloads"].values())
    assert len(doc["agreement"]["workloads"]) == len(WORKLOADS) + 2          # every workload, both chains
    (entry,) = doc["evaluation"]
    assert entry["rows"] == 10_000 and set(entry["workloads"]) == set(WORKLOADS)
    assert PEERS | {"placement 1t", "floor"} <= set(entry["methods"])
    assert all(ms > 0 for w in entry["workloads"].values() for ms in w["ms"].values())
    stream = doc["placement"]["stream"]
    assert [row["chain"] for row in stream] == ["binpack(memory)", "spread(AZ)+binpack(memory)"]
    assert all(len(row["placementsPerSecond"]) == 6 and all(row["agreed"].values()) for row in stream)
    assert doc["placement"]["events"]["indexBuilds"] == 0
    generated, alibaba = doc["simulation"]["traces"]
    latency = generated["latencyMicroseconds"]
    assert generated["decisionsPerSecond"] > 0 and latency["p50"] <= latency["p99"] <= latency["max"]
    assert alibaba == {"name": "alibaba-gpu-v2023", "skipped": "not run with --quick"}
    scenarios = doc["simulation"]["scenarios"]
    assert [s["name"] for s in scenarios] == list(BUILTIN)
    assert all(s["decisions"] >= 0 and s["wallSeconds"] > 0 and "p99" in s["latencyMicroseconds"] for s in scenarios)
    assert doc["skipped"] == {} and "polars 1t (subprocess)" in entry["singleThreadPeers"]
    assert "== Summary ==" in stdout and "every method agreed" in stdout and f"wrote {out / 'results.json'}" in stdout


def test_a_quick_run_draws_real_plots_and_links_them_from_the_report(quick_run):
    _, _, out = quick_run
    doc = json.loads((out / "results.json").read_text())
    files = doc["plots"]["files"]
    assert {"evaluation.png", "placement.png", "latency.png"} <= set(files)
    report = (out / "report.md").read_text()
    for name in files:
        width, height = _png_size(out / name)
        assert width > 100 and height > 100
        assert matplotlib.image.imread(out / name).shape[:2] == (height, width)
        assert f"]({name})" in report
    assert "## Evaluation: 10k rows" in report and "| workload | best peer |" in report
    assert "## Placement: mixed stream" in report and "## Simulation" in report


def test_compare_gives_each_figure_its_speed_up_and_json_is_the_results_file(quick_run, tmp_path, capsys):
    _, _, first = quick_run
    out = tmp_path / "second"
    code = main(["bench", "--quick", "--scenario", "web-rollout", "--out", str(out),
                 "--compare", str(first / "results.json"), "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and printed == json.loads((out / "results.json").read_text())
    comparison = printed["comparison"]
    assert comparison["against"] == str(first / "results.json")
    names = {row["figure"] for row in comparison["rows"]}
    assert "evaluation 10k equality placement 1t (ms)" in names
    assert "placement 10k binpack(memory) place_many per chunk (placements/s)" in names
    assert "simulation web-rollout (decisions/s)" in names
    assert all(row["speedup"] > 0 for row in comparison["rows"])
    assert set(comparison["geomean"]) == {"evaluation", "placement", "simulation"}
    assert set(comparison["drift"]) == {"evaluation", "placement"}         # the peers' and baselines' speed-up
    assert "simulation batch-burst (decisions/s)" in comparison["missing"]      # only the first run had it
    assert "## Compared with an earlier run" in (out / "report.md").read_text()


def test_a_users_fleet_is_benchmarked_as_it_is(tmp_path, capsys):
    instances, tasks = demo_documents(2_000, 5)
    (tmp_path / "fleet.json").write_text(json.dumps(instances))
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    code = main(["bench", "--quick", "--fleet", str(tmp_path / "fleet.json"), "--tasks", str(tmp_path / "tasks.json"),
                 "--scenario", "web-rollout", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["fleet"] == str(tmp_path / "fleet.json") and doc["sizes"] == [2_000]
    assert doc["evaluation"][0]["rows"] == 2_000 and doc["placement"]["instances"] == 2_000
    assert [s["instances"] for s in doc["placement"]["scaling"]] == [2_000]
    assert doc["simulation"]["traces"][0]["instances"] == 2_000
    assert doc["agreement"]["all"] and len(doc["agreement"]["workloads"]) == len(WORKLOADS) + 2


def test_the_stream_keeps_what_a_small_fleet_holds():
    fleet = Fleet.from_ecs(demo_documents(100, 5)[0])
    start = placing.start_state(fleet, spread=False)
    assert 0 < placing.stream_cap(start, 40_000) < 40_000
    assert placing.stream_cap(placing.start_state(scaled_fleet(10_000), spread=False), 40_000) == 40_000


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "10q"], "--sizes takes fleet sizes from 1 to 10M separated by commas, like 10k,100k,1M; got '10q'"),
    (["--scenario", "no-such"], "unknown scenario 'no-such'; the built-in scenarios: " + ", ".join(BUILTIN)),
    (["--compare", "missing.json"], "cannot read --compare file 'missing.json': No such file or directory"),
    (["--fleet", "fleet.json", "--sizes", "10k"], "--sizes goes with generated fleets"),
])
def test_bad_input_exits_2_saying_what_is_wrong(capsys, argv, message):
    assert main(["bench", "--quick", *argv]) == 2
    assert message in capsys.readouterr().err
    assert main(["bench", "--quick", *argv, "--json"]) == 2
    assert message in json.loads(capsys.readouterr().out)["error"]["message"]


def test_a_compare_file_that_is_not_results_is_bad_input(tmp_path, capsys):
    (tmp_path / "other.json").write_text('{"containerInstances": []}')
    (tmp_path / "broken.json").write_text("{")
    assert main(["bench", "--compare", str(tmp_path / "other.json")]) == 2
    assert "is not the results.json of 'placement bench'" in capsys.readouterr().err
    assert main(["bench", "--compare", str(tmp_path / "broken.json")]) == 2
    assert "is not JSON" in capsys.readouterr().err


def test_sizes_read_as_people_write_them():
    assert parse_sizes("10k,1M, 100_000,10k") == [10_000, 100_000, 1_000_000]
    assert parse_sizes("1.5k") == [1_500]
    for bad in ("", "0", "1.2345k", "20M", "10 k"):
        with pytest.raises(InputError):
            parse_sizes(bad)


def test_a_missing_peer_and_missing_matplotlib_are_reported_skipped(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "polars", None)          # import polars now raises ImportError
    for name in ("matplotlib", "matplotlib.figure"):                # already imported by this file
        monkeypatch.setitem(sys.modules, name, None)
    fleet, skipped, failures = scaled_fleet(2_000), {}, []
    entry = evaluation.measure(fleet, lambda: scaled_arrow(2_000), 1, ["--rows", "2000"], skipped, failures)
    assert not failures and "polars" in skipped and skipped["polars"].startswith("not installed (")
    assert not any(name.startswith("polars") for name in entry["methods"])
    assert {"numpy", "pandas", "duckdb 1t", "pyarrow 1t"} <= set(entry["methods"])
    results = {"machine": {"cpu": "x", "logicalCores": 2, "usableCores": 2, "architecture": "x86_64", "os": "Linux",
                           "python": "3", "placement": "0", "libraries": {}, "commit": None},
               "evaluation": [entry], "skipped": skipped, "failures": failures}
    written = render.write(results, tmp_path)
    assert [path.name for path in written] == ["results.json", "report.md"]
    report = (tmp_path / "report.md").read_text()
    assert "skipped: polars: not installed (" in report
    assert "no plots: matplotlib is not installed" in report and "placement[bench]" in report
    assert json.loads((tmp_path / "results.json").read_text())["skipped"]["polars"] == skipped["polars"]


def test_without_the_scenario_engine_the_scenarios_are_skipped(monkeypatch):
    monkeypatch.setitem(sys.modules, "placement.simulate.cluster", None)
    assert simulation.scenario_engine() is None
    assert simulation.chosen_scenarios(["anything"]) == ("anything",)    # nothing to check the names against
    assert simulation.scenarios(("web-rollout",), True, 1, 1.0) == {"skipped": "scenario engine not available"}


def test_the_timing_rule_stops_slow_methods_at_the_budget():
    calls = []
    timing = best_of(lambda: calls.append(sum(range(200_000))), rounds=1_000, budget_s=0.02)
    assert 1 <= timing.rounds < 1_000 and len(calls) == timing.rounds + 1          # the warm-up, then the rounds
    timing = best_of(lambda: sum(range(2_000_000)), rounds=5, budget_s=1e-6)
    assert timing.rounds == 0 and timing.seconds > 0                               # its warm-up was its round
    assert best_of(lambda p: p * 2, rounds=3, setup=lambda: 21).result == 42


def test_a_method_that_disagrees_is_a_failure_naming_it(monkeypatch):
    wrong = peers.NumpyPeer.evaluate
    monkeypatch.setattr(peers.NumpyPeer, "evaluate", lambda self, expr: ~np.asarray(wrong(self, expr)))
    monkeypatch.setattr(baselines.SortedListBaseline, "run", lambda self, *stream: np.zeros(10, dtype=np.int64))
    failures = []
    results = {"evaluation": [evaluation.measure(scaled_fleet(1_000), lambda: scaled_arrow(1_000), 1, None, {},
                                                 failures)],
               "placement": {"instances": 1_000, "stream": placing.measure_stream(
                   scaled_fleet(1_000), placing.mixed_stream(300), placing.QUICK, failures)}}
    assert len(failures) == len(WORKLOADS) + 2
    assert failures[0].startswith("evaluation 1k equality: numpy: ") and "rows differ from placement" in failures[0]
    assert failures[-1].startswith("placement 1k spread(AZ)+binpack(memory): sorted list differs from the fast placer")
    agreement = render.agreement(results)
    assert not agreement["all"] and not any(agreement["workloads"].values())


@pytest.mark.parametrize("text", ["registeredAt >= 2024-06-01", "registeredAt < 2024-06-01T12:30:00+02:00",
                                  "registeredAt <= 2023-01-01", "registeredAt > 0001-01-01",
                                  "registeredAt == {some}", "registeredAt != {some}",
                                  "not(registeredAt == {some}) and runningTasksCount != 2"])
def test_every_peer_compares_registered_at_as_placement_does_absent_rows_included(text):
    import dataclasses
    import placement
    from placement.values import INT_ABSENT, format_micros
    base = scaled_fleet(1_000)
    instants = base.columns.registered_at.copy()
    instants[::7] = INT_ABSENT                                      # absent: every comparison false
    fleet = Fleet(dataclasses.replace(base.columns, registered_at=instants))
    table = fleet.to_arrow()
    pred = placement.compile(text.format(some=format_micros(int(instants[3]))))
    expected = np.asarray(pred.evaluate(fleet))
    assert 0 < expected.sum() < len(fleet)
    for peer in (peers.NumpyPeer(fleet.columns), peers.PandasPeer(table), peers.PolarsPeer(table),
                 peers.DuckdbPeer(table, 1), peers.ArrowPeer(table)):
        assert np.array_equal(np.asarray(peer.to_mask(peer.evaluate(pred.ir)), dtype=bool), expected), peer.name
