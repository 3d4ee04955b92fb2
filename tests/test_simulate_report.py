"""A scenario's report (``placement.simulate.report``) and the scenario mode of ``placement
simulate``: report.md puts the runs side by side and then tells each run; results.json holds the
reports as they were; every plot is a real PNG, linked from report.md, and drawn the same on a
rerun; without matplotlib there are no plots and report.md says how to get them; the terminal
summary and its progress bar; the command's listing, schema and usage errors. The last section
runs the built-in scenarios end to end through ``placement.simulate.cluster``."""
import io
import json
import sys
import types

import msgspec

import placement.simulate
from placement.cli import main
from placement.cli.render import progress_bar
from placement.cli.simulate import print_summary
from placement.simulate.report import NO_MATPLOTLIB, clock, evenly, markdown, succeeded, write_results
from placement.simulate.scenario import BUILTIN

PNG = b"\x89PNG\r\n\x1a\n"
DURATION = 1800.0


def _samples(n: int, waiting_at_end: int = 0) -> list[dict]:
    """``n`` samples over the run: web rolls from revision 1 to 2, api stays on revision 1."""
    out = []
    for i in range(n):
        t = i * DURATION / (n - 1)
        new = min(6, i)
        out.append({"t": t, "instances": 10 + i // 10, "running": 10,
                    "waiting": waiting_at_end if i == n - 1 else i % 3,
                    "cpu": 0.2 + 0.01 * i, "memory": 0.3, "gpu": 0.0,
                    "fragmentation": {"cpu": 0.1, "memory": 0.05} if i % 3 else None,
                    "services": {
                        "web": {"desired": 6, "running": 6, "healthy": 6, "zoneSkew": i % 2,
                                "byRevision": {"1": 6 - new, "2": new}},
                        "api": {"desired": 4, "running": 4, "healthy": 4, "zoneSkew": 1, "byRevision": {"1": 4}}}})
    return out


def _run(variant: str, seed: int = 0, status: str = "COMPLETED", unplaced: int = 0) -> dict:
    return {
        "scenario": "web-rollout", "variant": variant, "description": "a rolling update of web",
        "seed": seed, "duration": DURATION,
        "fleet": {"instances": 10, "cpu": 40960, "memory": 157000, "gpu": 0},
        "events": {"place": 40, "stop": 30, "deployment": 2}, "eventsTotal": 72,
        "decisions": 45, "wallSeconds": 0.25, "loopSeconds": 0.2, "placerSeconds": 0.05,
        "decisionsPerSecond": 180.0, "simulatedPerWallSecond": 7200.0,
        "latencyMicroseconds": {"p50": 40.0, "p99": 900.0, "max": 12500.0},
        "latencyCdf": [[10.0 * 1.1 ** k, (k + 1) / 100] for k in range(100)],
        "samples": _samples(31, waiting_at_end=unplaced),
        "services": {
            "web": {"desired": 6, "running": 6, "placed": 12, "stopped": 6, "unplaced": unplaced,
                    "failedToStart": 3, "reasons": {"cpu": 2, "memory | ports": 1} if unplaced else {},
                    "maxZoneSkew": 2, "finalZoneSkew": 0,
                    "scaling": [{"t": 600.0, "from": 4, "to": 6, "cause": "target tracking cpu 80 > 60"}]},
            "api": {"desired": 4, "running": 4, "placed": 4, "stopped": 0, "unplaced": 0, "failedToStart": 0,
                    "reasons": {}, "maxZoneSkew": 1, "finalZoneSkew": 1, "scaling": []}},
        "deployments": [
            {"service": "web", "revision": 2, "start": 300.0, "end": 1260.0 if status != "IN_PROGRESS" else None,
             "status": status, "reason": None if status == "COMPLETED" else "circuit breaker: 10 tasks failed",
             "failures": 3, "threshold": 10}],
        "capacityProviders": {"asg": {"instances": 13, "launched": 5, "terminated": 2, "activity": [
            {"t": 60.0 * k, "reservation": 150.0, "from": 10 + k, "to": 11 + k} for k in range(25)]}},
        "unplaced": unplaced, "failedToStart": 3, "reasons": {"cpu": 2, "memory | ports": 1} if unplaced else {},
    }


def _empty() -> dict:
    """A run with nothing in it: no services, no deployments, no decisions, no samples."""
    return {**_run("as written"), "events": {}, "eventsTotal": 0, "decisions": 0, "decisionsPerSecond": None,
            "simulatedPerWallSecond": None, "latencyMicroseconds": {"p50": None, "p99": None, "max": None},
            "latencyCdf": [], "samples": [], "services": {}, "deployments": [], "capacityProviders": {},
            "unplaced": 0, "failedToStart": 0, "reasons": {}}


def _two_runs() -> list[dict]:
    return [_run("as written"), _run("spread new revision only", seed=3, status="ROLLED_BACK", unplaced=3)]


# -- words ----------------------------------------------------------------------------------------

def test_simulated_time_is_said_in_its_largest_units():
    assert [clock(t) for t in (0, 45, 60, 90, 1500, 3600, 3900, 7230.4)] == [
        "0s", "45s", "1m", "1m30s", "25m", "1h00m", "1h05m", "2h00m30s"]


def test_evenly_keeps_the_first_and_the_last():
    assert evenly(list(range(31)), 12)[0] == 0 and evenly(list(range(31)), 12)[-1] == 30
    assert len(set(evenly(list(range(31)), 12))) == 12
    assert evenly([1, 2], 12) == [1, 2]


def test_a_run_succeeds_when_every_deployment_completed_and_nothing_is_left_unplaced():
    runs = _two_runs()
    assert succeeded(runs[0]) and not succeeded(runs[1])
    assert succeeded(_empty())
    assert succeeded({**_run("x"), "unplaced": 5})              # waited for an instance, then placed
    assert not succeeded({**_run("x"), "trace": {"unplaced": 1}})  # a trace's unplaced task is not retried
    assert not succeeded(_run("x", status="IN_PROGRESS"))


# -- report.md ------------------------------------------------------------------------------------

def _table_after(text: str, heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after ``heading``, the header row first."""
    lines = text[text.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        if not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_report_md_puts_the_runs_side_by_side_then_tells_each():
    text = markdown(_two_runs())
    assert text.startswith("# Simulation: web-rollout\n\na rolling update of web\n")
    summary = _table_after(text, "# Simulation")
    assert summary[0] == ["", "as written", "spread new revision only"]
    rows = {row[0]: row[1:] for row in summary[1:]}
    assert rows["outcome"] == ["ok", "1 ROLLED_BACK, 3 left unplaced"]
    assert rows["not placed when asked"] == rows["left unplaced at the end"] == ["0", "3"]
    assert rows["seed"] == ["0", "3"]
    assert rows["deployments"] == ["1 COMPLETED", "1 ROLLED_BACK"]
    assert rows["zone skew web (max / final)"] == ["2 / 0", "2 / 0"]
    assert rows["instances (start -> end)"] == ["10 -> 13", "10 -> 13"]
    assert rows["instances launched / terminated"] == ["5 / 2", "5 / 2"]
    assert rows["latency p50 / p99"] == ["40 µs / 900 µs", "40 µs / 900 µs"]
    assert text.index("## Run: as written") < text.index("## Run: spread new revision only")
    assert "## Plots" not in text and NO_MATPLOTLIB not in text


def test_report_md_tells_a_runs_speed_utilisation_services_deployments_and_providers():
    text = markdown(_two_runs())
    run = text[text.index("## Run: spread new revision only"):]
    assert "- 45 decisions in 0.250 s of wall time: 180 decisions a second, 7,200 simulated seconds" in run
    assert "- decision latency: p50 40 µs, p99 900 µs, max 12.5 ms" in run
    assert "- wall time: 0.200 s in the event loop, 0.050 s in the placer" in run
    utilisation = _table_after(run, "### Utilisation over time")
    assert utilisation[0] == ["t", "instances", "running", "waiting", "cpu", "memory", "GPU", "fragmentation"]
    assert len(utilisation) == 1 + 12 and utilisation[1][0] == "0s" and utilisation[-1][0] == "30m"
    assert utilisation[1][-1] == "-" and "10.0% / 5.0%" in {row[-1] for row in utilisation}
    services = {row[0]: row for row in _table_after(run, "### Services")[1:]}
    assert services["web"] == ["web", "6", "6", "12", "6", "3", "3", "2", "0", "1"]
    assert "target tracking cpu 80 > 60" in run
    deployments = _table_after(run, "### Deployments")
    assert deployments[1] == ["web", "2", "5m", "21m", "ROLLED_BACK", "3 / 10", "-", "circuit breaker: 10 tasks failed"]
    assert _table_after(run, "### Capacity providers")[1] == ["asg", "13", "5", "2", "25"]
    assert "... and 5 more (results.json lists all)" in run          # 25 activities, 20 listed
    reasons = _table_after(run, "### Unplaced")
    assert reasons[1:] == [["cpu", "2"], ["memory \\| ports", "1"]]     # a | in a cell is escaped


def test_an_empty_run_is_reported_without_its_missing_parts():
    text = markdown([_empty()])
    assert _table_after(text, "# Simulation")[0] == ["", "as written"]
    for absent in ("### Services", "### Deployments", "### Capacity providers", "zone skew", "launched"):
        assert absent not in text
    assert "No samples." in text and "0 tasks could not be placed when asked, 0 were left unplaced" in text
    assert "p50 -, p99 -, max -" in text


# -- the files ------------------------------------------------------------------------------------

def test_results_json_holds_the_reports_as_they_were(tmp_path):
    runs = _two_runs()
    written = write_results(runs, tmp_path / "out")
    assert written[0] == tmp_path / "out" / "results.json" and written[-1].name == "report.md"
    assert json.loads(written[0].read_text()) == {"runs": runs}


def test_every_plot_is_a_png_and_report_md_links_it(tmp_path):
    import matplotlib.image
    written = write_results(_two_runs(), tmp_path)
    plots = [path for path in written if path.suffix == ".png"]
    assert [path.name for path in plots] == ["utilisation.png", "rollout.png", "latency.png", "skew.png"]
    report = (tmp_path / "report.md").read_text()
    for path in plots:
        assert path.read_bytes().startswith(PNG)
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100 and image.shape[2] in (3, 4)
        assert f"![{path.stem}]({path.name})" in report
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(path.name for path in written)


def test_a_rerun_draws_the_same_bytes(tmp_path):
    first = write_results(_two_runs(), tmp_path / "a")
    second = write_results(_two_runs(), tmp_path / "b")
    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in second]


def test_an_empty_run_draws_nothing(tmp_path):
    written = write_results([_empty()], tmp_path)
    assert [path.name for path in written] == ["results.json", "report.md"]
    text = (tmp_path / "report.md").read_text()
    assert "## Plots" not in text and NO_MATPLOTLIB not in text


def test_a_run_without_services_plots_utilisation_and_latency_only(tmp_path):
    run = {**_run("as written"), "services": {}, "deployments": [],
           "samples": [{**s, "services": {}} for s in _samples(5)]}
    assert [path.name for path in write_results([run], tmp_path) if path.suffix == ".png"] == [
        "utilisation.png", "latency.png"]


def test_without_matplotlib_no_plots_and_report_md_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    written = write_results(_two_runs(), tmp_path)
    assert [path.name for path in written] == ["results.json", "report.md"]
    assert not list(tmp_path.glob("*.png"))
    text = (tmp_path / "report.md").read_text()
    assert NO_MATPLOTLIB in text and ".png" not in text


# -- the terminal ---------------------------------------------------------------------------------

def test_the_summary_tells_each_run_then_puts_them_side_by_side():
    out = io.StringIO()
    print_summary(_two_runs(), out)
    text = out.getvalue()
    assert text.startswith("web-rollout: a rolling update of web\n")
    assert "\nas written: ok; 30m simulated, 45 decisions in 0.25 s (180 a second" in text
    assert "\nspread new revision only: 1 ROLLED_BACK, 3 left unplaced;" in text
    assert "  web: 6 of 6 running, 3 failed to start, zone skew max 2 final 0, 1 scaling action" in text
    assert "  deployment web revision 2 from 5m: COMPLETED at 21m, failures 3/10\n" in text
    assert "  capacity provider asg: 13 instances, 5 launched, 2 terminated" in text
    assert "        2  not placed when asked: cpu" in text
    side = text[text.index("side by side:"):].splitlines()
    assert side[1].split() == ["as", "written", "spread", "new", "revision", "only"]
    assert side[2].split()[:3] == ["outcome", "ok", "1"]


def test_the_summary_of_one_run_has_no_side_by_side():
    out = io.StringIO()
    print_summary([_empty()], out)
    assert "side by side" not in out.getvalue() and "as written: ok" in out.getvalue()


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_is_drawn_in_place_on_a_terminal_and_wiped():
    terminal = _Terminal()
    with progress_bar("simulating web-rollout", stream=terminal) as update:
        update(0.5, "t=15m")
        update(0.5, "t=15m")                       # the same text: not drawn again
        update(1.0, "t=30m")
    text = terminal.getvalue()
    half, done = ("simulating web-rollout [##########..........] 50% t=15m",
                  "simulating web-rollout [####################] 100% t=30m")
    assert text == f"\r{half}\r{done}\r{' ' * len(done)}\r"
    pipe = io.StringIO()
    with progress_bar("simulating", stream=pipe) as update:
        assert update is None
    assert pipe.getvalue() == ""


# -- the command: listing, schema and bad input ---------------------------------------------------

def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_built_in_with_its_description(capsys):
    code, out, _ = _cli(capsys, "simulate", "--list")
    assert code == 0
    for name, description in BUILTIN.items():
        assert any(line.startswith(name) and line.rstrip().endswith(description) for line in out.splitlines())
    code, out, _ = _cli(capsys, "simulate", "--list", "--json")
    assert code == 0 and json.loads(out) == {"scenarios": [{"name": n, "description": d} for n, d in BUILTIN.items()]}


def test_schema_is_the_scenarios_json_schema(capsys):
    code, out, _ = _cli(capsys, "simulate", "--schema")
    schema = json.loads(out)
    assert code == 0 and "Scenario" in schema["$defs"] and schema["$ref"] == "#/$defs/Scenario"
    assert "desiredCount" in schema["$defs"]["Service"]["properties"]


def test_a_scenario_and_a_trace_are_one_or_the_other(capsys):
    code, _, err = _cli(capsys, "simulate", "web-rollout", "--trace", "t.jsonl", "--demo", "3")
    assert code == 2 and err.startswith("usage: placement simulate SCENARIO")
    assert "argument --trace: not allowed with argument SCENARIO" in err
    code, _, err = _cli(capsys, "simulate")
    assert code == 2 and "one of the arguments SCENARIO --trace --list --schema is required" in err
    code, _, err = _cli(capsys, "simulate", "--list", "--schema")
    assert code == 2 and "not allowed with" in err


def test_options_of_the_other_mode_are_refused(capsys):
    name = next(iter(BUILTIN))
    for argv, message in [
        (["simulate", name, "--demo", "5"], "--demo does not go with SCENARIO; a scenario names its own fleet"),
        (["simulate", name, "--seed", "3"], "--seed does not go with SCENARIO"),
        (["simulate", "--trace", "t.jsonl", "--demo", "5", "--quick"], "--quick does not go with --trace"),
        (["simulate", "--trace", "t.jsonl"], "--trace needs a fleet: --fleet FILE or --demo N"),
        (["simulate", "--list", "--out", "dir"], "--out does not go with --list"),
        (["simulate", "--schema", "--events-out", "e.jsonl"], "--events-out does not go with --schema"),
    ]:
        code, out, _ = _cli(capsys, *argv, "--json")
        assert code == 2 and message in json.loads(out)["error"]["message"], argv


def test_an_unknown_scenario_gets_the_nearest_built_in(capsys):
    name = next(iter(BUILTIN))
    code, _, err = _cli(capsys, "simulate", name[:-1])
    assert code == 2 and f"no built-in scenario {name[:-1]!r} and no such file (did you mean {name}?)" in err
    assert f"the built-ins: {', '.join(BUILTIN)}" in err
    code, out, _ = _cli(capsys, "simulate", "zzzzzz", "--json")
    message = json.loads(out)["error"]["message"]
    assert code == 2 and "did you mean" not in message and "the built-ins:" in message


def test_a_missing_scenario_file_is_said(capsys, tmp_path):
    code, out, _ = _cli(capsys, "simulate", str(tmp_path / "nothing.yaml"), "--json")
    assert code == 2 and "cannot read scenario" in json.loads(out)["error"]["message"]


def _scenario_file(tmp_path, text: str, name: str = "scenario.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


SCENARIO_YAML = """name: small
duration: 10m
fleet: {demo: 12}
services:
  - name: web
    desiredCount: 3
"""


def test_a_misspelt_key_in_a_scenario_file_is_named_with_where_it_is(capsys, tmp_path):
    path = _scenario_file(tmp_path, SCENARIO_YAML.replace("desiredCount", "desiredCont"))
    code, _, err = _cli(capsys, "simulate", path)
    assert code == 2 and "desiredCont" in err and "$.services[0]" in err


def test_a_wrong_type_in_a_scenario_file_is_named_with_where_it_is(capsys, tmp_path):
    path = _scenario_file(tmp_path, SCENARIO_YAML.replace("desiredCount: 3", "desiredCount: three"))
    code, out, _ = _cli(capsys, "simulate", path, "--json")
    message = json.loads(out)["error"]["message"]
    assert code == 2 and "$.services[0].desiredCount" in message and "int" in message
    path = _scenario_file(tmp_path, json.dumps({"name": "x", "duration": "soon", "fleet": {"demo": 1}}), "bad.json")
    code, out, _ = _cli(capsys, "simulate", path, "--json")
    assert code == 2 and "duration" in json.loads(out)["error"]["message"]


def test_quick_goes_with_a_built_in_only(capsys, tmp_path):
    code, out, _ = _cli(capsys, "simulate", _scenario_file(tmp_path, SCENARIO_YAML), "--quick", "--json")
    assert code == 2 and "--quick goes with a built-in scenario" in json.loads(out)["error"]["message"]


# -- the command around a simulation (a stand-in for the cluster, to pin what the command does) ----

class _Simulation:
    def __init__(self, report: dict):
        self._report = report

    def report(self) -> dict:
        return self._report

    def events_json(self) -> list[dict]:
        return [{"t": 0.0, "event": "place", "task": "web-1", "instance": "arn:ci/1"},
                {"t": 5.0, "event": "stop", "task": "web-1", "instance": "arn:ci/1"}]


def _stand_in(monkeypatch, reports: list[dict]) -> list:
    """Replace the cluster by one that returns ``reports``; the calls' keywords are recorded."""
    calls = []

    def run_scenario(scenario, *, progress=None, events=False):
        calls.append({"scenario": scenario, "progress": progress, "events": events})
        if progress is not None:
            progress(scenario.duration / 2, scenario.duration)
        return [_Simulation(report) for report in reports]

    module = types.SimpleNamespace(run_scenario=run_scenario)
    monkeypatch.setitem(sys.modules, "placement.simulate.cluster", module)
    monkeypatch.setattr(placement.simulate, "cluster", module, raising=False)
    return calls


def test_the_command_writes_events_of_every_run_and_the_results(capsys, tmp_path, monkeypatch):
    calls = _stand_in(monkeypatch, _two_runs())
    events = tmp_path / "events.jsonl"
    code, out, err = _cli(capsys, "simulate", _scenario_file(tmp_path, SCENARIO_YAML), "--out", str(tmp_path / "out"),
                          "--events-out", str(events), "--json")
    assert code == 1                                   # the variant rolled back and left tasks unplaced
    assert calls[0]["events"] is True and calls[0]["progress"] is None and err == ""
    document = json.loads(out)
    assert document["runs"] == _two_runs() and document["eventsOut"] == str(events)
    assert [name.rsplit("/", 1)[-1] for name in document["files"]] == [
        "results.json", "utilisation.png", "rollout.png", "latency.png", "skew.png", "report.md"]
    lines = [msgspec.json.decode(line) for line in events.read_bytes().splitlines()]
    assert [(e["run"], e["event"]) for e in lines] == [
        ("as written", "place"), ("as written", "stop"),
        ("spread new revision only", "place"), ("spread new revision only", "stop")]


def test_the_command_exits_0_when_every_run_succeeded(capsys, tmp_path, monkeypatch):
    calls = _stand_in(monkeypatch, [_run("as written")])
    events = tmp_path / "events.jsonl"
    code, out, _ = _cli(capsys, "simulate", _scenario_file(tmp_path, SCENARIO_YAML), "--events-out", str(events))
    assert code == 0 and calls[0]["scenario"].name == "small"
    assert "as written: ok" in out and f"events written to {events}" in out and "side by side" not in out
    assert "run" not in json.loads(events.read_text().splitlines()[0])      # one run: no run field


def test_the_command_shows_a_bar_to_a_person_at_a_terminal_only(capsys, tmp_path, monkeypatch):
    calls = _stand_in(monkeypatch, [_run("as written")])
    path = _scenario_file(tmp_path, SCENARIO_YAML)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["simulate", path]) == 0
    assert "simulating small [##########..........] 50% t=5m" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r")
    assert main(["simulate", path, "--json"]) == 0
    assert calls[-1]["progress"] is None


# -- end to end: the built-in scenarios through placement.simulate.cluster -------------------------
# These run the real simulation (placement/simulate/cluster.py, written alongside this file).

def test_every_built_in_runs_quick_end_to_end(capsys, tmp_path):
    for name in BUILTIN:
        out_dir, events = tmp_path / name, tmp_path / f"{name}.jsonl"
        code, out, _ = _cli(capsys, "simulate", name, "--quick", "--out", str(out_dir), "--events-out", str(events),
                            "--json")
        document = json.loads(out)
        runs = document["runs"]
        assert code == (0 if all(succeeded(run) for run in runs) else 1), name
        assert runs[0]["variant"] == "as written" and all(run["scenario"] == name for run in runs)
        assert json.loads((out_dir / "results.json").read_text()) == {"runs": runs}
        report = (out_dir / "report.md").read_text()
        for run in runs:
            assert f"## Run: {run['variant']}" in report
            assert run["samples"] and run["samples"][-1]["t"] <= run["duration"]
            assert all(0.0 <= s[r] <= 1.0 for s in run["samples"] for r in ("cpu", "memory", "gpu"))
        for png in out_dir.glob("*.png"):
            assert png.read_bytes().startswith(PNG) and f"({png.name})" in report
        lines = [json.loads(line) for line in events.read_text().splitlines()]
        assert lines and all({"t", "event"} <= set(line) for line in lines)
        assert all(("run" in line) == (len(runs) > 1) for line in lines)
        assert sum(run["eventsTotal"] for run in runs) == len(lines), name


def test_a_built_in_prints_a_summary_for_a_person(capsys):
    name = next(iter(BUILTIN))
    code, out, _ = _cli(capsys, "simulate", name, "--quick")
    assert code in (0, 1) and out.startswith(name) and "as written: " in out and "latency p50" in out


def test_a_scenario_file_with_a_rolling_update_completes(capsys, tmp_path):
    path = _scenario_file(tmp_path, SCENARIO_YAML + "events:\n  - {type: deploy, at: 2m, service: web}\n")
    code, out, _ = _cli(capsys, "simulate", path, "--json")
    [run] = json.loads(out)["runs"]
    assert code == 0 and run["scenario"] == "small" and 0 < run["fleet"]["instances"] <= 12   # the ACTIVE ones
    assert ("web", 2, "COMPLETED") in [(d["service"], d["revision"], d["status"]) for d in run["deployments"]]
    assert run["services"]["web"]["running"] == 3 and run["unplaced"] == 0
