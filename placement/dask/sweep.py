"""Simulation sweeps: many independent runs of a scenario, fanned out on Dask, gathered into one report.

Input: a **sweep file** (YAML or JSON), a base scenario and parameter lists whose cross product
gives the runs::

    name: rollout-sweep               # optional; default: the file's name
    scenario: web-rollout             # a built-in, a scenario file (relative to this file), or a mapping
    quick: true                       # the short version of a built-in
    sweep:                            # the runs: every combination, the first parameter slowest
      seed: [0, 1, 2, 3]
      fleet.demo: [120, 240]
      services.storefront.desiredCount: [8, 12]
      services.*.placementStrategy:   # "*": every service; a name picks one; a number, a list item
        - [{type: spread, field: attribute:ecs.availability-zone}, {type: spread, field: instanceId}]
        - [{type: binpack, field: memory}]
      variant: [as written, no zone rebalancing]   # the scenario's own variants, by name

A parameter is a dotted path into the scenario document (missing mappings are made on the way;
``services.NAME`` and ``capacityProviders.NAME`` pick the item of that name). ``variant`` builds
on the scenario format's variants: the named one's options are set (``as written``: none). A
variant not named under ``sweep`` is not run, since a sweep is the side by side. Each run's
scenario is checked on the driver before anything is sent, so a bad value is an ``InputError``
naming the run and the field. Output: a ``SweepResult``, each run's parameters and report
(``Simulation.report()``), a summary table across the runs and one per parameter, written as
``results.json``, ``report.md`` and ``sweep.png``.

Execution: ``client.map`` of ``run_point`` over the runs (one task each, ``pure=False``), on the
cluster at ``address`` or on a ``LocalCluster`` of ``jobs`` processes; without either, one after
the other in this process (no dask needed). A run is a function of its document alone, the seed
included, so the same sweep gives the same figures wherever its runs go: ``figures(report)``
(the report without its timings) equals a local run's.
"""
from __future__ import annotations

import copy
import itertools
import json
import math
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from placement.errors import InputError, PlacementError, made_folder, write_text
from placement.simulate.scenario import read_document

SWEEP_FILES = (".yaml", ".yml", ".json")
MAX_RUNS = 10_000
AS_WRITTEN = "as written"
TIMINGS = ("wallSeconds", "loopSeconds", "placerSeconds", "decisionsPerSecond", "simulatedPerWallSecond",
           "latencyMicroseconds", "latencyCdf")
_PATH_KEYS = (("fleet", "file"), ("fleet", "tasks"), ("trace", "file"))
_NAMED_LISTS = ("services", "capacityProviders", "variants")


# -- reading ------------------------------------------------------------------------------------------

def is_sweep_file(name: str) -> bool:
    """Whether ``name`` is a readable YAML / JSON file whose top level has ``sweep:``."""
    path = Path(name)
    if path.suffix.lower() not in SWEEP_FILES or not path.is_file():
        return False
    try:
        document = read_document(path, "sweep file")
    except InputError:
        return False
    return isinstance(document, dict) and "sweep" in document


def _resolve(document: dict, base: Path) -> None:
    """Relative fleet and trace files, relative to ``base`` (as ``read_scenario`` does)."""
    for holder, key in _PATH_KEYS:
        part = document.get(holder)
        if isinstance(part, dict) and isinstance(part.get(key), str) and not Path(part[key]).is_absolute():
            part[key] = str(base / part[key])


@dataclass(frozen=True)
class Run:
    """One point of the sweep: its parameter values, scenario document and label."""

    index: int
    parameters: dict
    document: dict
    variant: str | None
    label: str


@dataclass
class Sweep:
    name: str
    base: dict                      # the scenario document, variants included
    parameters: dict                # path -> list of values, in the file's order
    source: str = "sweep"
    folder: Path = field(default_factory=Path)

    def runs(self) -> list[Run]:
        """Every combination of the parameters' values (the first parameter slowest), checked."""
        from placement.simulate.scenario import from_document
        names = list(self.parameters)
        runs = []
        for index, values in enumerate(itertools.product(*(self.parameters[n] for n in names))):
            point = dict(zip(names, values))
            document = copy.deepcopy(self.base)
            variant = point.get("variant")
            for path, value in point.items():
                if path != "variant":
                    _set(document, path, value, f"{self.source}: sweep parameter {path!r}")
            _resolve(document, self.folder)
            label = run_label(point)
            scenario = from_document(document, f"{self.source}: run {index} ({label})")
            if variant is not None and variant != AS_WRITTEN and variant not in [v.name for v in scenario.variants]:
                known = ", ".join([AS_WRITTEN, *(v.name for v in scenario.variants)])
                raise InputError(f"{self.source}: run {index}: the scenario has no variant {variant!r} (it has {known})")
            runs.append(Run(index, point, document, variant, label))
        return runs


def read_sweep(path) -> Sweep:
    """A sweep file, checked: its base scenario, its parameters and every run's scenario."""
    path = Path(path)
    document = read_document(path, "sweep file")
    return sweep_from_document(document, str(path), path.parent)


def sweep_from_document(document, source: str = "sweep", folder: Path | None = None) -> Sweep:
    folder = Path(folder) if folder is not None else Path.cwd()
    if not isinstance(document, dict):
        raise InputError(f"{source}: a sweep file is a mapping with scenario: and sweep:")
    unknown = sorted(set(document) - {"name", "scenario", "quick", "sweep", "description"})
    if unknown:
        raise InputError(f"{source}: unknown key {unknown[0]!r}; a sweep file has name, scenario, quick and sweep")
    quick = document.get("quick", False)
    if not isinstance(quick, bool):
        raise InputError(f"{source}: quick is true or false, got {quick!r}")
    base = _base_scenario(document.get("scenario"), quick, source, folder)
    parameters = document.get("sweep")
    if not isinstance(parameters, dict) or not parameters:
        raise InputError(f"{source}: sweep: maps each parameter (a dotted path such as fleet.demo) to a list of values")
    for name, values in parameters.items():
        if not isinstance(name, str) or not name or any(not part for part in name.split(".")):
            raise InputError(f"{source}: sweep parameter {name!r} is not a dotted path like services.web.desiredCount")
        if not isinstance(values, list) or not values:
            raise InputError(f"{source}: sweep parameter {name!r} needs a non-empty list of values")
        if name == "variant" and any(not isinstance(v, str) for v in values):
            raise InputError(f"{source}: variant takes variant names (or {AS_WRITTEN!r})")
    total = math.prod(len(values) for values in parameters.values())
    if total > MAX_RUNS:
        raise InputError(f"{source}: the sweep has {total:,} runs; at most {MAX_RUNS:,}")
    name = document.get("name") or Path(source).stem
    sweep = Sweep(str(name), base, dict(parameters), source, folder)
    sweep.runs()                                         # every run checked now, before any is sent
    return sweep


def _base_scenario(given, quick: bool, source: str, folder: Path) -> dict:
    from placement.simulate.scenario import BUILTIN, builtin_document
    if isinstance(given, dict):
        if quick:
            raise InputError(f"{source}: quick goes with a built-in scenario")
        document = copy.deepcopy(given)
        _resolve(document, folder)
        return document
    if not isinstance(given, str) or not given:
        raise InputError(f"{source}: scenario: names a built-in ({', '.join(BUILTIN)}), a scenario file, "
                         "or is a scenario mapping")
    if given in BUILTIN:
        return builtin_document(given, quick)
    if quick:
        raise InputError(f"{source}: quick goes with a built-in scenario; a scenario file runs as written")
    path = Path(given) if Path(given).is_absolute() else folder / given
    if not path.is_file():
        raise InputError(f"{source}: no built-in scenario {given!r} and no file {str(path)!r}; "
                         f"the built-ins: {', '.join(BUILTIN)}")
    document = read_document(path, "sweep file")
    if not isinstance(document, dict):
        raise InputError(f"{path}: a scenario is a mapping")
    _resolve(document, path.parent)
    return document


def _set(document: dict, path: str, value, where: str) -> None:
    """Set ``path`` (dotted; ``*`` every list item, a name the item of that name, a number an
    index) to ``value`` in ``document``."""
    parts = path.split(".")
    nodes = [document]
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        following = []
        for node in nodes:
            if isinstance(node, dict):
                if last:
                    node[part] = copy.deepcopy(value)
                    continue
                if part not in node:
                    node[part] = [] if part in _NAMED_LISTS else {}
                following.append(node[part])
            elif isinstance(node, list):
                if part == "*":
                    items = list(node)
                elif part.isascii() and part.isdigit():     # not "²", which int() refuses
                    if int(part) >= len(node):
                        raise InputError(f"{where}: item {part} is past the end of a list of {len(node)}")
                    items = [node[int(part)]]
                else:
                    items = [item for item in node if isinstance(item, dict) and item.get("name") == part]
                    if not items:
                        names = [item.get("name") for item in node if isinstance(item, dict)]
                        raise InputError(f"{where}: no item named {part!r}"
                                         + (f" (there are {', '.join(map(str, names))})" if names else ""))
                if last:
                    raise InputError(f"{where}: names a whole item; name one of its fields")
                following.extend(items)
            else:
                raise InputError(f"{where}: {'.'.join(parts[:depth])} is a value, not a mapping or list")
        nodes = following


def run_label(point: dict) -> str:
    """``seed=1, fleet.demo=240, no zone rebalancing``: a run named by its parameter values."""
    if not point:
        return AS_WRITTEN
    return ", ".join(str(value) if name == "variant" else f"{name}={value_text(value)}"
                     for name, value in point.items())


def value_text(value) -> str:
    """A swept value in few characters: a strategy chain as ``spread(...)+binpack(memory)``."""
    if isinstance(value, list) and value and all(isinstance(v, dict) and "type" in v for v in value):
        return "+".join(f"{v['type']}({v['field']})" if v.get("field") else str(v["type"]) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


# -- running ------------------------------------------------------------------------------------------

def run_point(document: dict, variant: str | None, label: str) -> dict:
    """One run, wherever it runs: the report, and how long it took there and where."""
    from placement.simulate.cluster import Simulation
    from placement.simulate.scenario import from_document
    began = time.perf_counter()
    scenario = from_document(document, label)
    if variant is not None and variant != AS_WRITTEN:
        scenario = scenario.variant(next(v for v in scenario.variants if v.name == variant))
    report = Simulation(scenario, variant=label).run().report()
    return {"report": report, "seconds": time.perf_counter() - began, "worker": f"{socket.gethostname()}:{os.getpid()}"}


def figures(report: dict) -> dict:
    """A run's report without its timings: what the same seed must reproduce anywhere."""
    return {key: value for key, value in report.items() if key not in TIMINGS}


@dataclass
class SweepResult:
    sweep: Sweep
    runs: list[Run]
    reports: list[dict]
    seconds: list[float]            # each run's own time where it ran
    workers: list[str]
    wall: float                     # the whole sweep, submit to gather
    mode: str                       # "in-process", "local cluster of N", or the scheduler's address

    @property
    def succeeded(self) -> bool:
        from placement.simulate.report import succeeded
        return all(succeeded(report) for report in self.reports)

    def overhead_per_run(self, workers: int) -> float:
        """Wall time beyond the runs' own time, per run, with ``workers`` running at once."""
        return max(0.0, (self.wall * workers - sum(self.seconds)) / max(1, len(self.runs)))

    def to_json(self) -> dict:
        return {"sweep": {"name": self.sweep.name, "source": self.sweep.source, "parameters": self.sweep.parameters,
                          "runs": len(self.runs), "mode": self.mode, "wallSeconds": self.wall},
                "summary": [dict(zip(SUMMARY_HEADER, row)) for row in summary_rows(self)],
                "runs": [{"index": run.index, "label": run.label, "parameters": run.parameters,
                          "seconds": seconds, "worker": worker, "report": report}
                         for run, report, seconds, worker in zip(self.runs, self.reports, self.seconds, self.workers)]}


def run_sweep(sweep: Sweep, *, client=None, address: str | None = None, jobs: int | None = None,
              progress=None, runs: list[Run] | None = None) -> SweepResult:
    """Every run of ``sweep``: with ``client.map`` on ``client``, on the scheduler at ``address``,
    on a local cluster of ``jobs`` processes, or (none given) one after the other here.
    ``progress(done, total)`` is called as runs finish."""
    runs = sweep.runs() if runs is None else runs
    began = time.perf_counter()
    if client is None and address is None and jobs is None:
        answers = []
        for k, run in enumerate(runs):
            answers.append(run_point(run.document, run.variant, run.label))
            if progress:
                progress(k + 1, len(runs))
        mode = "in-process"
    elif client is not None:
        answers, mode = _mapped(client, runs, progress), f"Dask cluster at {client.scheduler.address}"
    else:
        from placement.dask.cluster import connect
        with connect(address, jobs) as connected:
            began = time.perf_counter()                 # a local cluster's start is not the sweep's time
            answers = _mapped(connected, runs, progress)
        mode = f"Dask cluster at {address}" if address is not None else f"local cluster of {jobs} processes"
    wall = time.perf_counter() - began
    return SweepResult(sweep, runs, [a["report"] for a in answers], [a["seconds"] for a in answers],
                       [a["worker"] for a in answers], wall, mode)


def _mapped(client, runs: list[Run], progress) -> list[dict]:
    from distributed import as_completed
    futures = client.map(run_point, [r.document for r in runs], [r.variant for r in runs], [r.label for r in runs],
                         pure=False)
    done = 0
    try:
        for future in as_completed(futures):
            future.result()                     # a run's error, raised here with its own type
            done += 1
            if progress:
                progress(done, len(runs))
        return client.gather(futures)
    except PlacementError:
        client.cancel(futures)
        raise


# -- reporting ----------------------------------------------------------------------------------------

SUMMARY_HEADER = ("run", "outcome", "not placed when asked", "left unplaced", "failed to start", "peak cpu",
                  "peak memory", "max zone skew", "instances launched", "decisions", "seconds")
_NUMERIC = SUMMARY_HEADER[2:]


def _figures_row(report: dict, seconds: float) -> tuple:
    from placement.simulate.report import left_unplaced, outcome
    samples = report["samples"]
    return (outcome(report), report["unplaced"], left_unplaced(report), report["failedToStart"],
            max((s["cpu"] for s in samples), default=0.0), max((s["memory"] for s in samples), default=0.0),
            max((s["maxZoneSkew"] for s in report["services"].values()), default=0),
            sum(p["launched"] for p in report["capacityProviders"].values()), report["decisions"], seconds)


def summary_rows(result: SweepResult) -> list[tuple]:
    return [(run.label, *_figures_row(report, seconds))
            for run, report, seconds in zip(result.runs, result.reports, result.seconds)]


def by_parameter(result: SweepResult) -> list[tuple]:
    """Per parameter and value: the mean of each numeric figure over the runs with that value."""
    rows = []
    figures_of = [_figures_row(report, seconds)[1:] for report, seconds in zip(result.reports, result.seconds)]
    for name, values in result.sweep.parameters.items():
        for value in values:
            picked = [f for run, f in zip(result.runs, figures_of) if run.parameters[name] == value]
            means = [sum(f[k] for f in picked) / len(picked) for k in range(len(_NUMERIC))] if picked else []
            rows.append((name, value_text(value), len(picked), *means))
    return rows


def _cell(header: str, value) -> str:
    if header in ("peak cpu", "peak memory"):
        return f"{100 * value:.1f}%"
    if header == "seconds":
        return f"{value:.2f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}" \
        if isinstance(value, int) else str(value)


def tables(result: SweepResult) -> list[tuple[str, tuple, list[tuple]]]:
    """(title, header, rows as text) of the summary and of the means per parameter value."""
    runs = [tuple(_cell(h, v) for h, v in zip(SUMMARY_HEADER, row)) for row in summary_rows(result)]
    header = ("parameter", "value", "runs", *(f"mean {h}" for h in _NUMERIC))
    means = [(name, value, str(n), *(_cell(h, v) for h, v in zip(_NUMERIC, rest)))
             for name, value, n, *rest in by_parameter(result)]
    return [("Runs", SUMMARY_HEADER, runs), ("By parameter", header, means)]


def markdown(result: SweepResult, plot: str | None) -> str:
    from placement.simulate.report import _md_table
    first = result.reports[0] if result.reports else {"scenario": "?", "duration": 0}
    from placement.simulate.report import clock
    out = [f"# Sweep: {result.sweep.name}", "",
           f"{len(result.runs)} runs of scenario {first['scenario']} ({clock(first['duration'])} simulated each) "
           f"over {', '.join(result.sweep.parameters)}; {result.mode}, {result.wall:.2f} s of wall time, "
           f"{sum(result.seconds):.2f} s in the runs.", ""]
    for title, header, rows in tables(result):
        out += [f"## {title}", "", _md_table(header, rows), ""]
    if plot:
        out += ["## Plot", "", f"![sweep]({plot})", ""]
    out += ["Every run's full report (samples, services, deployments) is in results.json.", ""]
    return "\n".join(out)


def write(result: SweepResult, out_dir) -> list[Path]:
    """results.json, sweep.png (with matplotlib) and report.md in ``out_dir``; the paths written."""
    folder = made_folder(out_dir)
    results = write_text(folder / "results.json", json.dumps(result.to_json(), indent=2, default=str) + "\n")
    try:
        plot = _plot(result, folder / "sweep.png")
    except OSError as error:
        raise InputError(f"cannot write {str(folder / 'sweep.png')!r}: {error.strerror}") from None
    report = write_text(folder / "report.md", markdown(result, plot.name if plot else None))
    return [results, *([plot] if plot else []), report]


def _plot(result: SweepResult, path: Path) -> Path | None:
    """One panel per parameter: the mean of three figures at each of its values."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    names = list(result.sweep.parameters)
    rows = by_parameter(result)
    figure = Figure(figsize=(4.2 * len(names), 3.6))
    shown = (("not placed when asked", 3), ("failed to start", 5), ("max zone skew", 8))
    for k, name in enumerate(names):
        axes = figure.add_subplot(1, len(names), k + 1)
        mine = [row for row in rows if row[0] == name]
        labels = [row[1] if len(row[1]) <= 18 else row[1][:17] + "…" for row in mine]
        for figure_name, column in shown:
            axes.plot(range(len(mine)), [row[column] for row in mine], marker="o", label=figure_name)
        axes.set_xticks(range(len(mine)), labels, rotation=30, ha="right", fontsize="small")
        axes.set(title=name, ylabel="mean over runs" if k == 0 else None)
        axes.grid(alpha=0.3)
    figure.axes[0].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
    return path
