"""A run's results for people and for the next run: results.json (the whole document, which
``--compare`` reads back), report.md (the tables with their ratios) and PNG plots.

The report is built once as ``Section``s of sentences and tables; ``markdown`` writes them for
report.md, and the command line prints the same sections as plain tables. matplotlib is
imported only to draw, so a run without it still writes the rest, and says why there are no
plots.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from placement.bench.evaluation import BIND_RUN, FLOOR, PLACEMENT, PLACEMENT_BITS
from placement.bench.machine import lines as machine_lines
from placement.bench.placement import FAST
from placement.bench.workloads import size_label

INSTALL_HINT = "pip install 'placement[bench]'"


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass
class Section:
    title: str
    notes: list[str] = field(default_factory=list)          # sentences before the tables
    tables: list[Table] = field(default_factory=list)
    listing: list[str] = field(default_factory=list)        # preformatted lines after them (plans)


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 0.95 else f"{value:.2f}x"


# -- the sections -----------------------------------------------------------------------------------

def sections(results: dict) -> list[Section]:
    """The report: a summary first (all that the command prints when it writes files), then each part."""
    out = [summary_section(results), run_section(results)]
    for entry in results.get("evaluation", ()):
        out.append(evaluation_section(entry))
    if "placement" in results:
        out += placement_sections(results["placement"])
    if "simulation" in results:
        out.append(simulation_section(results["simulation"]))
    if "plots" in results:
        plots = results["plots"]
        out.append(Section("Plots", [f"![{Path(p).stem}]({p})" for p in plots["files"]] if plots["files"]
                           else [plots["skipped"]]))
    if "comparison" in results:
        out.append(comparison_section(results["comparison"]))
    return out


def run_section(results: dict) -> Section:
    notes = []
    if "command" in results:
        notes.append(f"run: {results['started']}: `{results['command']}` ({results['wallSeconds']:.0f} s of measuring)")
    notes += machine_lines(results["machine"])
    notes.append("Every time is the best of its rounds after one warm-up, the garbage collector off while timing "
                 "(placement.bench.timing). The machine may be shared: read the ratios of one run, not absolute "
                 "times across runs.")
    for method, reason in results.get("skipped", {}).items():
        notes.append(f"skipped: {method}: {reason}")
    return Section("Run", notes)


def summary_section(results: dict) -> Section:
    """One line per part: the ratios a reader looks for first, and whether every method agreed."""
    notes = []
    for entry in results.get("evaluation", ()):
        ratios = {name: peer_ratio(entry, name)[1] for name in entry["workloads"]}
        worst = min(ratios, key=ratios.__getitem__)
        notes.append(f"evaluation, {entry['rows']:,} rows: the best peer takes {ratio(geomean(list(ratios.values())))} "
                     f"placement's time (geometric mean over {len(ratios)} workloads; least: {worst} "
                     f"{ratio(ratios[worst])})")
    for row in results.get("placement", {}).get("stream", ()):
        if "skipped" not in row:
            name, _, calls, many = stream_ratios(row)
            notes.append(f"placement, {row['chain']}: place() {ratio(calls)}, place_many {ratio(many)} the "
                         f"placements/s of the fastest baseline ({name})")
    simulation = results.get("simulation", {})
    for trace in simulation.get("traces", ()):
        if "skipped" not in trace:
            notes.append(f"simulation, trace {trace['name']}: {trace['decisionsPerSecond']:,.0f} decisions/s, "
                         f"p99 {_micros(trace['latencyMicroseconds']['p99'])} us")
    scenarios = simulation.get("scenarios")
    if isinstance(scenarios, list):
        notes += [f"simulation, scenario {s['name']}: {s['decisionsPerSecond'] or 0:,.0f} decisions/s, "
                  f"{s['wallSeconds']:.2f} s" for s in scenarios]
    elif scenarios:
        notes.append(f"simulation, scenarios: skipped: {scenarios['skipped']}")
    if "comparison" in results:
        notes += comparison_lines(results["comparison"])
    failures = results.get("failures", ())
    agreement = results.get("agreement")
    if agreement is not None:
        notes.append("every method agreed on every workload (checked)" if agreement["all"] else
                     f"DISAGREEMENT: {len(failures)} method(s) did not give the fast path's answer")
    return Section("Summary", notes, listing=[f"FAILED {failure}" for failure in failures])


def peer_ratio(entry: dict, workload: str, single_thread_only: bool = False) -> tuple[str | None, float | None]:
    """The fastest peer on ``workload`` and its time over placement's (above 1: placement is faster)."""
    ms = entry["workloads"][workload]["ms"]
    names = [n for n in entry["methods"] if not n.startswith("placement") and n != FLOOR
             and (n in entry["singleThreadPeers"] or not single_thread_only)]
    if not names:
        return None, None
    best = min(names, key=ms.__getitem__)
    return best, ms[best] / placement_ms(ms)


def placement_ms(ms: dict) -> float:
    """Placement's time in its faster result form: the bool mask, or packed bits (Arrow's
    validity layout) where a run records them — what a peer that answers in bits is set against."""
    return min(ms[PLACEMENT], ms.get(PLACEMENT_BITS, ms[PLACEMENT]))


def evaluation_section(entry: dict) -> Section:
    methods = entry["methods"]
    timings = Table(("workload", "selects", *(f"{n} (ms)" for n in methods)),
                    [(name, f"{w['selects']:.1%}", *(f"{w['ms'][n]:.3f}" for n in methods))
                     for name, w in entry["workloads"].items()])
    rows, overall, overall_single, slower = [], [], [], []
    for name, w in entry["workloads"].items():
        ms, ours = w["ms"], w["ms"][PLACEMENT]
        (best, times), (single, single_times) = peer_ratio(entry, name), peer_ratio(entry, name, True)
        overall.append(times)
        if single:
            overall_single.append(single_times)
        rows.append((name, best, ratio(times), single or "-", ratio(single_times) if single else "-",
                     ratio(ms[best] / ours), ratio(ours / ms[FLOOR]), ratio(ms[BIND_RUN] / ours)))
        if times < 1:
            slower += [f"{name}: {best} {ms[best]:.3f} ms < placement {placement_ms(ms):.3f} ms; plan:",
                       *("    " + line for line in w["plan"].splitlines())]
    ratios = Table(("workload", "best peer", "best peer / placement", "best 1-thread peer",
                    "best 1-thread peer / placement", "best peer / placement bool", "placement bool / floor",
                    "bind+run / placement bool"), rows)
    notes = [f"{entry['rows']:,} rows, best of {entry['rounds']}; times in milliseconds. Ratios above 1 mean "
             "placement is faster.",
             "placement 1t / 2t: pred.evaluate(fleet) with the plan already bound (a scheduler's steady state), "
             "a bool mask; placement bits: pred.evaluate(fleet, out='bits'), packed bits in Arrow's validity layout. "
             "'best peer / placement' sets each peer against placement's faster form; "
             "bind+run: bind, then run on 1 thread. floor: np.add.reduce over every column the expression reads, "
             "in its stored dtype.",
             "Peers return their native boolean result; turning it into a numpy mask for the check is not timed. "
             "Data conversion, once, untimed: " + ", ".join(f"{k} {v:.0f} ms" for k, v in entry["setupMs"].items())
             + ".",
             f"geometric mean over workloads of best-peer / placement: {ratio(geomean(overall))}"]
    if overall_single:
        notes.append(f"geometric mean over workloads of best-1-thread-peer / placement: "
                     f"{ratio(geomean(overall_single))}")
    if slower:
        notes.append("Where a peer beat placement: see the plans below.")
    return Section(f"Evaluation: {entry['label']} rows", notes, [timings, ratios], slower)


def stream_ratios(row: dict) -> tuple[str, float, float, float]:
    """The fastest baseline among those that ran the whole stream (one that ran only its first
    tasks had an emptier fleet, which flatters it), its placements per second, and the rates of
    place() per call and of place_many as multiples of it."""
    rates = row["placementsPerSecond"]
    baselines = {m: r for m, r in rates.items() if m not in FAST and m not in row["tasks"]}
    name = max(baselines, key=baselines.__getitem__)
    return name, rates[name], rates[FAST[0]] / rates[name], rates[FAST[2]] / rates[name]


def stream_row(row: dict, methods: list[str]) -> tuple[str, ...]:
    name, _, calls, many = stream_ratios(row)
    return (row["chain"], *(f"{row['placementsPerSecond'][m]:,.0f}" for m in methods), name, ratio(calls), ratio(many))


def placement_sections(section: dict) -> list[Section]:
    label = size_label(section["instances"])
    stream = [row for row in section["stream"] if "skipped" not in row]
    headline = [f"mixed stream, {row['chain']}: skipped: {row['skipped']}" for row in section["stream"]
                if "skipped" in row]
    for row in stream:
        name, best, calls, many = stream_ratios(row)
        headline.append(f"mixed stream, {row['chain']}: place() {ratio(calls)} and place_many {ratio(many)} the "
                        f"fastest baseline ({name}, {best:,.0f}/s)")
    single = section["single"]
    headline.append(f"single calls: skipped: {single['skipped']}" if "skipped" in single else
                    f"single-task place(1), a shape per call, spread(AZ)+binpack(memory): "
                    f"{single['prepared place(1)']:,.0f} decisions/s prepared, {single['keyword place(1)']:,.0f} "
                    "keyword")
    scaling = [s for s in section["scaling"] if "us" in s]
    if len(scaling) > 1:
        headline.append(f"cost per call from {scaling[0]['instances']:,} to {scaling[-1]['instances']:,} instances: "
                        f"{scaling[-1]['us'] / scaling[0]['us']:.2f}x")
    events = section["events"]
    headline.append(f"fleet events: skipped: {events['skipped']}" if "skipped" in events else
                    f"fleet events: {events['eventsPerSecond']:,.0f} events/s on {events['instances']:,} instances "
                    f"with a live placer; index rebuilds {events['indexBuilds']}, state rebuilds "
                    f"{events['stateStarts']}")
    scale_in = section["scaleIn"]
    headline.append(f"scale-in: skipped: {scale_in['skipped']}" if "skipped" in scale_in else
                    f"scale-in, {scale_in['stops']:,} of a {scale_in['tasks']:,}-task service on "
                    f"{scale_in['instances']:,} instances: " +
                    ", ".join(f"{k} {v:.1f} ms" for k, v in scale_in["ms"].items()))
    out = [Section(f"Placement: {label} instances", headline)]
    if stream:
        methods = list(stream[0]["placementsPerSecond"])
        table = Table(("strategy", *(f"{m} (placements/s)" for m in methods), "fastest baseline",
                       "place() / fastest", "place_many / fastest"),
                      [stream_row(row, methods) for row in stream])
        fewer = ", ".join(f"{m} {n:,}" for m, n in stream[0]["tasks"].items())
        notes = [f"{section['tasks']:,} tasks in {section['calls']:,} calls; after every {section['chunk']:,} calls "
                 f"the oldest tasks beyond {stream[0]['cap']:,} depart (stops timed too); constraint "
                 f"{section['constraint']}; every method must choose the same instance for every task (checked)."]
        if fewer:
            notes.append(f"the pure-Python baselines are measured on the stream's first tasks only ({fewer}): the "
                         "fleet is emptier there, which favours them, so the ratios are to the fastest baseline "
                         "that ran the whole stream.")
        out.append(Section("Placement: mixed stream", notes, [table]))
    if section["scaling"]:
        first = scaling[0]["us"] if scaling else None
        out.append(Section("Placement: scaling", [
            "place(1) with a shape per call, then a stop, spread(AZ)+binpack(memory)"], [Table(
                ("instances", "us per call", "growth vs first", "placer start-up (ms, once)"),
                [(f"{s['instances']:,}", f"{s['us']:.2f}" if "us" in s else f"skipped: {s['skipped']}",
                  f"{s['us'] / first:.2f}x" if "us" in s else "-", f"{s['startMs']:,.0f}")
                 for s in section["scaling"]])]))
    return out


def _micros(value) -> str:
    return "-" if value is None else f"{value:,.1f}"


def simulation_section(section: dict) -> Section:
    done = [t for t in section["traces"] if "skipped" not in t]
    notes = [f"trace {t['name']}: skipped: {t['skipped']}" for t in section["traces"] if "skipped" in t]
    notes.insert(0, "Trace replays by the replay rules (SPEC 4), strategy spread(AZ)+binpack(memory); latency is "
                    "one placement decision.")
    tables = [Table(("trace", "instances", "tasks", "placed", "unplaced", "decisions", "decisions/s", "wall s",
                     "p50 us", "p99 us", "max us"),
                    [(t["name"], f"{t['instances']:,}", f"{t['tasks']:,}", f"{t['placed']:,}", f"{t['unplaced']:,}",
                      f"{t['decisions']:,}", f"{t['decisionsPerSecond']:,.0f}", f"{t['wallSeconds']:.3f}",
                      *(_micros(t["latencyMicroseconds"][k]) for k in ("p50", "p99", "max"))) for t in done])]
    scenarios = section["scenarios"]
    if isinstance(scenarios, dict):
        notes.append(f"scenarios: skipped: {scenarios['skipped']}")
    else:
        tables.append(Table(("scenario", "events", "decisions", "decisions/s", "wall s", "loop s", "placer s",
                             "p50 us", "p99 us", "max us"),
                            [(s["name"], f"{s['events']:,}", f"{s['decisions']:,}",
                              f"{s['decisionsPerSecond']:,.0f}" if s["decisionsPerSecond"] else "-",
                              f"{s['wallSeconds']:.3f}", f"{s['loopSeconds']:.3f}", f"{s['placerSeconds']:.3f}",
                              *(_micros(s["latencyMicroseconds"][k]) for k in ("p50", "p99", "max")))
                             for s in scenarios]))
    return Section("Simulation", notes, tables)


def comparison_lines(comparison: dict) -> list[str]:
    """Per section, placement's speed-up beside the peers' and baselines' (the machine's drift)."""
    drift = comparison["drift"]
    return [f"{section}: placement {ratio(value)} as fast as in {comparison['against']} (geometric mean of its "
            "figures)" + (f"; peers and baselines {ratio(drift[section])} (the machine's drift)" if section in drift
                          else "") for section, value in comparison["geomean"].items()]


def comparison_section(comparison: dict) -> Section:
    notes = [f"against {comparison['against']}" + (f" (commit {comparison['commit']})" if comparison.get("commit")
                                                  else ""),
             "speed-up: old / new for times, new / old for rates; above 1 is faster now.",
             *comparison_lines(comparison)]
    if comparison["missing"]:
        notes.append(f"{len(comparison['missing'])} figure(s) of one run only, not compared")
    return Section("Compared with an earlier run", notes, [Table(
        ("figure", "old", "new", "speed-up", "measures"),
        [(row["figure"], f"{row['old']:,.4g}", f"{row['new']:,.4g}", ratio(row["speedup"]),
          "placement" if row["placement"] else "a peer or baseline") for row in comparison["rows"]])])


def agreement(results: dict) -> dict:
    """Whether every method agreed, per workload checked (results.json's ``agreement``)."""
    workloads = {f"evaluation {entry['label']} {name}": w["agreed"]
                 for entry in results.get("evaluation", ()) for name, w in entry["workloads"].items()}
    label = size_label(results["placement"]["instances"]) if "placement" in results else ""
    workloads.update({f"placement {label} {row['chain']}": all(row["agreed"].values())
                      for row in results.get("placement", {}).get("stream", ()) if "skipped" not in row})
    return {"all": all(workloads.values()), "workloads": workloads}


# -- Markdown, files ------------------------------------------------------------------------------------

def markdown(results: dict) -> str:
    parts = ["# placement bench results", ""]
    for section in sections(results):
        parts += [f"## {section.title}", "", *(f"- {note}" if not note.startswith("![") else note
                                               for note in section.notes), ""]
        for table in section.tables:
            parts += [markdown_table(table), ""]
        if section.listing:
            parts += ["```", *section.listing, "```", ""]
    return "\n".join(parts)


def markdown_table(table: Table) -> str:
    lines = ["| " + " | ".join(table.header) + " |", "|" + "|".join("---" for _ in table.header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in table.rows])


def write(results: dict, out: Path) -> list[Path]:
    """results.json, report.md and the plots into ``out`` (made if missing); the files written."""
    out.mkdir(parents=True, exist_ok=True)
    results["plots"] = draw(results, out)
    paths = [out / "results.json", out / "report.md"]
    paths[0].write_text(json.dumps(results, indent=1) + "\n")
    paths[1].write_text(markdown(results))
    return paths + [out / name for name in results["plots"]["files"]]


def publish(results: dict, markdown_path: str | None) -> int:
    """For the modules' own entry points: the report as Markdown on stdout (and in a file when
    asked); 1 when a method disagreed."""
    results["agreement"] = agreement(results)
    text = markdown(results)
    print(text)
    if markdown_path:
        Path(markdown_path).write_text(text)
    failures = results["failures"]
    for failure in failures:
        print(f"MISMATCH {failure}", file=sys.stderr)
    return 1 if failures else 0


# -- plots --------------------------------------------------------------------------------------------

def draw(results: dict, out: Path) -> dict:
    """The PNGs that the results have data for, drawn into ``out``: ``{"files": [...]}``, with
    ``"skipped"`` saying why when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        return {"files": [], "skipped": f"no plots: matplotlib is not installed ({error}); {INSTALL_HINT}"}
    files = []
    for name, plot in (("evaluation.png", plot_evaluation), ("placement.png", plot_placement),
                       ("latency.png", plot_latency), ("scaling.png", plot_scaling)):
        figure = plot(results, Figure)
        if figure is not None:
            figure.savefig(out / name, dpi=110, bbox_inches="tight")
            files.append(name)
    return {"files": files}


def plot_evaluation(results: dict, Figure):
    """Time per workload, one marker per method, at the largest size: left is faster."""
    if not results.get("evaluation"):
        return None
    entry = results["evaluation"][-1]
    workloads = list(entry["workloads"])
    figure = Figure(figsize=(9, 0.45 * len(workloads) + 1.8))
    axes = figure.subplots()
    markers = "oDs^v<>phP*X"
    for k, method in enumerate(entry["methods"]):
        times = [entry["workloads"][w]["ms"][method] for w in workloads]
        ours = method == PLACEMENT
        axes.plot(times, range(len(workloads)), linestyle="none", marker="o" if ours else markers[k % len(markers)],
                  markersize=9 if ours else 6, color="black" if ours else None, label=method, zorder=3 if ours else 2)
    axes.set_xscale("log")
    axes.set_yticks(range(len(workloads)), workloads)
    axes.invert_yaxis()
    axes.grid(axis="x", which="both", alpha=0.3)
    axes.set_xlabel("milliseconds per evaluation (log scale; left is faster)")
    axes.set_title(f"Evaluating each workload on {entry['rows']:,} instances")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return figure


def plot_placement(results: dict, Figure):
    """Placements per second of every method, per strategy chain: longer is faster."""
    stream = [row for row in results.get("placement", {}).get("stream", ()) if "skipped" not in row]
    if not stream:
        return None
    methods = list(stream[0]["placementsPerSecond"])
    labels = [f"{m}\n(first {stream[0]['tasks'][m]:,} tasks)" if m in stream[0]["tasks"] else m for m in methods]
    figure = Figure(figsize=(9, 0.5 * len(methods) * len(stream) + 1.5))
    axes = figure.subplots()
    height = 0.8 / len(stream)
    for k, row in enumerate(stream):
        rates = [row["placementsPerSecond"][m] for m in methods]
        axes.barh([i + k * height for i in range(len(methods))], rates, height, label=row["chain"])
    axes.set_xscale("log")
    axes.set_yticks([i + height * (len(stream) - 1) / 2 for i in range(len(methods))], labels)
    axes.invert_yaxis()
    axes.grid(axis="x", which="both", alpha=0.3)
    axes.set_xlabel("placements per second (log scale; longer is faster)")
    axes.set_title(f"Mixed stream of {results['placement']['tasks']:,} tasks on "
                   f"{results['placement']['instances']:,} instances")
    axes.legend(loc="lower right", fontsize="small")
    return figure


def plot_latency(results: dict, Figure):
    """The CDF of one decision's latency in each trace replay and scenario."""
    simulation = results.get("simulation", {})
    scenarios = simulation.get("scenarios")
    runs = [(f"trace {t['name']}", t) for t in simulation.get("traces", ())]
    runs += [(f"scenario {s['name']}", s) for s in (scenarios if isinstance(scenarios, list) else ())]
    runs = [(label, run["latencyCdf"]) for label, run in runs if run.get("latencyCdf")]
    if not runs:
        return None
    figure = Figure(figsize=(8, 4.5))
    axes = figure.subplots()
    for label, cdf in runs:
        microseconds, shares = zip(*cdf)
        axes.step(microseconds, shares, where="post", label=label)
    axes.set_xscale("log")
    axes.set_ylim(0, 1.01)
    axes.grid(which="both", alpha=0.3)
    axes.set_xlabel("microseconds per placement decision (log scale)")
    axes.set_ylabel("share of decisions at most this long")
    axes.set_title("Latency of one placement decision in the simulation")
    axes.legend(loc="lower right", fontsize="small")
    return figure


def plot_scaling(results: dict, Figure):
    """With more than one size: evaluation time (geometric mean over workloads) per method, and
    the single-call placement cost, against the fleet's size."""
    entries = results.get("evaluation", ())
    scaling = [s for s in results.get("placement", {}).get("scaling", ()) if "us" in s]
    if len(entries) < 2 and len(scaling) < 2:
        return None
    figure = Figure(figsize=(11, 4.5))
    left, right = figure.subplots(1, 2)
    for method in entries[0]["methods"] if len(entries) > 1 else ():
        sizes = [e["rows"] for e in entries if method in e["methods"]]
        means = [geomean([w["ms"][method] for w in e["workloads"].values()]) for e in entries if method in e["methods"]]
        left.plot(sizes, means, marker="o", label=method, linewidth=2.5 if method == PLACEMENT else 1,
                  color="black" if method == PLACEMENT else None)
    left.set_title("Evaluation: geometric mean over workloads")
    left.set_ylabel("milliseconds (log scale)")
    if len(scaling) > 1:
        right.plot([s["instances"] for s in scaling], [s["us"] for s in scaling], marker="o", color="black")
    right.set_title("Placement: place(1) + stop")
    right.set_ylabel("microseconds per call")
    right.set_ylim(bottom=0)
    left.set_yscale("log")
    for axes in (left, right):
        axes.set_xscale("log")
        axes.grid(which="both", alpha=0.3)
        axes.set_xlabel("instances (log scale)")
    if len(entries) > 1:
        left.legend(fontsize="x-small")
    return figure
