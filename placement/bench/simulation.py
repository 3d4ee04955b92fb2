"""How fast the simulation decides: trace replays (SPEC 4, "Replay rules") and the built-in
scenarios of the scenario engine, each as decisions per second, wall time and the latency of
one decision.

- a **generated trace**: tasks of the stream's shapes (``placement.SHAPES``) arriving one a
  second, living an exponential time sized so that about a quarter of them run at once (never
  more than half of what the fleet holds), a fifth of them under ``placement.CONSTRAINT``;
- the **Alibaba GPU trace** (``../shared/traces/alibaba-gpu-v2023``, or ``$PLACEMENT_TRACES``),
  when it is there and the run is not ``--quick``: converted by ``convert_alibaba_gpu`` and
  replayed with its own times, then saturated (every departure dropped);
- the **scenarios** (``placement.simulate.scenario.BUILTIN``), run by
  ``placement.simulate.cluster.simulate``; an install without that engine reports them skipped.

Every replay is strategy ``spread(AZ)+binpack(memory)``, the same as ``placement simulate
--strategy spread:attribute:ecs.availability-zone --strategy binpack:memory``, and timed by
``timing.best_of``; the report of the best round is kept, with the latency CDF of its decisions
(``[microseconds, share of decisions at most that long]`` pairs, as the scenario engine's
``latencyCdf``) for the plot.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

import placement
from placement.bench.placement import CHAINS, CONSTRAINT, SHAPES, WEIGHTS
from placement.bench.timing import best_of
from placement.errors import InputError

STRATEGY = "spread(AZ)+binpack(memory)"
ALIBABA = "alibaba-gpu-v2023"
ALIBABA_FILES = ("openb_node_list_all_node.csv", "openb_pod_list_default.csv")
SCENARIO_MODULES = ("placement.simulate.scenario", "placement.simulate.cluster")
NO_ENGINE = "scenario engine not available"
SCENARIO_KEYS = ("wallSeconds", "loopSeconds", "placerSeconds", "decisions", "decisionsPerSecond",
                 "latencyMicroseconds")
CDF_SHARES = tuple(k / 100 for k in range(1, 100)) + (0.995, 0.999, 1.0)


# -- traces ------------------------------------------------------------------------------------------

def generated_trace(fleet: placement.Fleet, tasks: int, seed: int = 0) -> list:
    """``tasks`` trace tasks sized for ``fleet`` (see the module's docstring)."""
    from placement.simulate.trace import TraceTask
    rng = np.random.default_rng(seed)
    shapes = np.array(SHAPES)[rng.choice(len(SHAPES), size=tasks, p=np.array(WEIGHTS) / sum(WEIGHTS))]
    resources = fleet.columns.resources
    mean_cpu, mean_memory = shapes.mean(axis=0)
    holds = min(resources["remaining_cpu"].sum() / mean_cpu, resources["remaining_memory"].sum() / mean_memory)
    lifetime = max(1.0, min(tasks / 4, holds / 2))        # running at once: arrivals a second x lifetime
    arrivals = np.arange(tasks, dtype=float)
    departures = arrivals + rng.exponential(lifetime, size=tasks).round(3)
    constrained = rng.random(tasks) < 0.2
    return [TraceTask(f"task-{k}", float(arrivals[k]), float(departures[k]), int(shapes[k, 0]), int(shapes[k, 1]),
                      group="service:web" if constrained[k] else "family:batch",
                      constraints=(CONSTRAINT,) if constrained[k] else ())
            for k in range(tasks)]


def replayed(name: str, fleet: placement.Fleet, tasks: list, rounds: int, budget_s: float) -> dict:
    """One trace replayed by the replay rules: its report's figures and the latency quantiles."""
    from placement.simulate.replay import replay
    timing = best_of(lambda: replay(fleet, tasks, CHAINS[STRATEGY]), rounds, budget_s)
    report = timing.result.report()
    latencies = sorted(timing.result.latencies_ns)
    return {"name": name, "tasks": report["tasks"], "instances": len(fleet), "strategy": STRATEGY,
            "placed": report["placed"], "unplaced": report["unplaced"], "decisions": report["decisions"],
            "wallSeconds": timing.seconds, "decisionsPerSecond": report["decisions"] / timing.seconds,
            "latencyMicroseconds": report["latencyMicroseconds"], "rounds": timing.rounds,
            "latencyCdf": latency_cdf(latencies)}


def latency_cdf(ordered: list[int]) -> list[list[float]]:
    """``[microseconds, share]`` at the nearest ranks of ``CDF_SHARES`` of sorted nanoseconds."""
    n = len(ordered)
    ranks = sorted({max(0, math.ceil(share * n) - 1) for share in CDF_SHARES}) if n else []
    return [[ordered[r] / 1000.0, (r + 1) / n] for r in ranks]


def traces_directory() -> Path | None:
    """Where the real traces are: ``$PLACEMENT_TRACES``, else ``../shared/traces`` beside the
    checkout placement runs from; None when neither exists."""
    configured = os.environ.get("PLACEMENT_TRACES")
    checkout = Path(placement.__file__).resolve().parents[1]
    folder = Path(configured) if configured else checkout.parent / "shared" / "traces"
    return folder.resolve() if folder.is_dir() else None


def real_traces(quick: bool, rounds: int, budget_s: float) -> list[dict]:
    """The Alibaba trace with its own times and saturated, or one row saying why not."""
    if quick:
        return [{"name": ALIBABA, "skipped": "not run with --quick"}]
    folder = traces_directory()
    paths = [folder / ALIBABA / name for name in ALIBABA_FILES] if folder else []
    if not paths or not all(path.is_file() for path in paths):
        where = folder / ALIBABA if folder else "$PLACEMENT_TRACES or ../shared/traces"
        return [{"name": ALIBABA, "skipped": f"no trace at {where}"}]
    from placement.simulate.trace import convert_alibaba_gpu
    rows = []
    for saturate in (False, True):
        converted = convert_alibaba_gpu(*paths, saturate=saturate)
        fleet = placement.Fleet.from_ecs(converted.fleet)
        name = f"{ALIBABA} {'saturated' if saturate else 'own times'}"
        rows.append(replayed(name, fleet, converted.tasks, rounds, budget_s))
    return rows


# -- scenarios ---------------------------------------------------------------------------------------

def scenario_engine():
    """``(BUILTIN, builtin, simulate)``, or None where this install has no scenario engine."""
    try:
        from placement.simulate.cluster import simulate
        from placement.simulate.scenario import BUILTIN, builtin
    except ImportError as error:
        if error.name in SCENARIO_MODULES:
            return None
        raise
    return BUILTIN, builtin, simulate


def chosen_scenarios(requested: list[str]) -> tuple[str, ...]:
    """The scenarios to run: ``requested``, or every built-in; an unknown name is bad input.
    Without the engine, nothing to choose (the section says it is skipped)."""
    engine = scenario_engine()
    if engine is None:
        return tuple(requested)
    names = engine[0]
    unknown = [name for name in requested if name not in names]
    if unknown:
        raise InputError(f"unknown scenario {unknown[0]!r}; the built-in scenarios: {', '.join(names)}")
    return tuple(requested) or tuple(names)


def scenarios(names: tuple[str, ...], quick: bool, rounds: int, budget_s: float) -> list[dict] | dict:
    engine = scenario_engine()
    if engine is None:
        return {"skipped": NO_ENGINE}
    _, builtin, simulate = engine
    rows = []
    for name in names:
        scenario = builtin(name, quick=quick)
        timing = best_of(lambda: simulate(scenario), rounds, budget_s)
        report = timing.result.report()
        events = report["events"]                   # a count, or counts per kind of event
        rows.append({"name": name, "rounds": timing.rounds, **{key: report[key] for key in SCENARIO_KEYS},
                     "events": sum(events.values()) if isinstance(events, dict) else events,
                     "latencyCdf": report.get("latencyCdf", [])})
    return rows


# -- the section -------------------------------------------------------------------------------------

def measure(fleet: placement.Fleet, trace_tasks: int, scenario_names: tuple[str, ...], quick: bool,
            rounds: int, budget_s: float) -> dict:
    """The ``simulation`` section of results.json."""
    generated = replayed(f"generated ({trace_tasks:,} tasks)", fleet, generated_trace(fleet, trace_tasks),
                         rounds, budget_s)
    return {"traces": [generated, *real_traces(quick, rounds, budget_s)],
            "scenarios": scenarios(scenario_names, quick, rounds, budget_s)}
