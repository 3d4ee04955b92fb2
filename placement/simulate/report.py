"""A scenario's runs as files a person reads: ``results.json``, ``report.md`` and PNG plots.

Input: the report dicts of ``Simulation.report()``, one per run (the scenario as written and each
variant). Output: the side-by-side comparison of the runs, then each run's speed, utilisation,
services, deployments, capacity providers and unplaced reasons, as Markdown, and the plots it
links. The formatting helpers (``clock``, ``micros``, ``percent``, ``comparison``) are shared
with the command's terminal summary, which lives in ``placement.cli.simulate`` because printing
with the command's tables belongs to the cli stage.

matplotlib is optional (the ``simulate`` extra) and imported only to draw; the plots carry no
timestamp or software tag, so a rerun of the same reports writes the same bytes.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

UTILISATION_ROWS = 12           # samples shown per run in report.md
LISTED = 20                     # rows of a long listing (scaling activity) before "and N more"
TOP_SERVICES = 6                # services drawn in rollout.png and skew.png
NO_MATPLOTLIB = "plots need matplotlib: pip install 'placement[simulate]'"
_STYLES = ("-", "--", ":", "-.")
_OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": "small"}   # legends beside the data


# -- words for numbers --------------------------------------------------------------------------

def clock(t: float) -> str:
    """Simulated time as a person says it: ``45s``, ``25m``, ``1h05m``, ``2h00m30s``."""
    total = round(t)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m" + (f"{s:02d}s" if s else "")
    if m:
        return f"{m}m" + (f"{s:02d}s" if s else "")
    return f"{s}s"


def micros(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} µs" if value < 10_000 else f"{value / 1000:,.1f} ms"


def percent(share) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def rate(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def left_unplaced(report: dict) -> int:
    """Tasks without a place when the run ended: those still waiting (the last sample is taken at
    the end) and a trace's tasks recorded unplaced, which are never retried. ``unplaced`` counts
    every task that could not be placed when asked, also those a new instance took later."""
    waiting = report["samples"][-1]["waiting"] if report["samples"] else 0
    return waiting + report.get("trace", {}).get("unplaced", 0)


def succeeded(report: dict) -> bool:
    """What the command's exit code says: every deployment completed and nothing left unplaced."""
    return left_unplaced(report) == 0 and all(d["status"] == "COMPLETED" for d in report["deployments"])


def outcome(report: dict) -> str:
    """``ok``, or what kept the run from it."""
    failed = Counter(d["status"] for d in report["deployments"] if d["status"] != "COMPLETED")
    said = [f"{n} {status}" for status, n in sorted(failed.items())]
    if left_unplaced(report):
        said.append(f"{left_unplaced(report):,} left unplaced")
    return ", ".join(said) or "ok"


def comparison(reports: list[dict]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The runs side by side: a header of run names and one row per measure, cells as text."""
    def row(label, cell):
        return (label, *(cell(r) for r in reports))

    rows = [
        row("outcome", outcome),
        row("seed", lambda r: str(r["seed"])),
        row("instances (start -> end)",
            lambda r: f"{r['fleet']['instances']:,} -> {_last(r, 'instances', r['fleet']['instances']):,}"),
        row("tasks running at the end", lambda r: f"{_last(r, 'running', 0):,}"),
        row("peak cpu / memory", lambda r: f"{percent(_peak(r, 'cpu'))} / {percent(_peak(r, 'memory'))}"),
        row("deployments", lambda r: _statuses(r) or "-"),
        row("not placed when asked", lambda r: f"{r['unplaced']:,}"),
        row("left unplaced at the end", lambda r: f"{left_unplaced(r):,}"),
        row("failed to start", lambda r: f"{r['failedToStart']:,}"),
    ]
    names = sorted({name for r in reports for name in r["services"]})
    rows += [row(f"zone skew {name} (max / final)", lambda r, name=name: _skew(r, name)) for name in names]
    if any(r["capacityProviders"] for r in reports):
        rows.append(row("instances launched / terminated", lambda r: "{:,} / {:,}".format(
            sum(p["launched"] for p in r["capacityProviders"].values()),
            sum(p["terminated"] for p in r["capacityProviders"].values()))))
    rows += [
        row("decisions", lambda r: f"{r['decisions']:,}"),
        row("decisions / s", lambda r: rate(r["decisionsPerSecond"])),
        row("simulated s / wall s", lambda r: rate(r["simulatedPerWallSecond"])),
        row("latency p50 / p99", lambda r: f"{micros(r['latencyMicroseconds']['p50'])} / "
                                           f"{micros(r['latencyMicroseconds']['p99'])}"),
        row("wall time", lambda r: f"{r['wallSeconds']:.2f} s"),
    ]
    return ("", *(r["variant"] for r in reports)), rows


def _last(report: dict, key: str, default):
    return report["samples"][-1][key] if report["samples"] else default


def _peak(report: dict, key: str):
    return max((s[key] for s in report["samples"]), default=None)


def _statuses(report: dict) -> str:
    counts = Counter(d["status"] for d in report["deployments"])
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def _skew(report: dict, name: str) -> str:
    service = report["services"].get(name)
    return "-" if service is None else f"{service['maxZoneSkew']} / {service['finalZoneSkew']}"


def evenly(items: list, k: int) -> list:
    """``k`` items spread evenly over ``items``, the first and the last among them."""
    if len(items) <= k:
        return list(items)
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


# -- report.md ----------------------------------------------------------------------------------

def markdown(reports: list[dict], plots: list[str] | None = ()) -> str:
    """report.md: the comparison, the ``plots`` (file names beside it; ``None``: they could not
    be drawn, said with the way to get them), then every run in turn."""
    first = reports[0]
    out = [f"# Simulation: {first['scenario']}", ""]
    if first["description"]:
        out += [first["description"], ""]
    out += [f"{len(reports)} run{'s' if len(reports) != 1 else ''} of {clock(first['duration'])} simulated "
            "time; every placement made by the library's placer.", ""]
    out += [_md_table(*comparison(reports)), ""]
    if plots is None:
        out += [f"*{NO_MATPLOTLIB}*", ""]
    elif plots:
        out += ["## Plots", ""] + [f"![{Path(name).stem}]({name})" for name in plots] + [""]
    for report in reports:
        out += _run_section(report)
    return "\n".join(out).rstrip() + "\n"


def _run_section(report: dict) -> list[str]:
    out = [f"## Run: {report['variant']}", "", "### Speed", ""]
    latency = report["latencyMicroseconds"]
    out += [f"- {report['decisions']:,} decisions in {report['wallSeconds']:.3f} s of wall time: "
            f"{rate(report['decisionsPerSecond'])} decisions a second, "
            f"{rate(report['simulatedPerWallSecond'])} simulated seconds per wall second",
            f"- decision latency: p50 {micros(latency['p50'])}, p99 {micros(latency['p99'])}, "
            f"max {micros(latency['max'])}",
            f"- wall time: {report['loopSeconds']:.3f} s in the event loop, "
            f"{report['placerSeconds']:.3f} s in the placer",
            f"- events: {report['eventsTotal']:,}"
            + (" (" + ", ".join(f"{kind} {n:,}" for kind, n in sorted(report["events"].items())) + ")"
               if report["events"] else ""), ""]
    fleet = report["fleet"]
    out += ["### Utilisation over time", "",
            f"At the start: {fleet['instances']:,} instances, {fleet['cpu']:,} cpu units, "
            f"{fleet['memory']:,} MiB, {fleet['gpu']:,} GPUs. Shares of the active instances' capacity in use; "
            "fragmentation is the share of free cpu / memory on instances where no waiting task fits.", ""]
    if report["samples"]:
        out += [_md_table(("t", "instances", "running", "waiting", "cpu", "memory", "GPU", "fragmentation"), [
            (clock(s["t"]), f"{s['instances']:,}", f"{s['running']:,}", f"{s['waiting']:,}", percent(s["cpu"]),
             percent(s["memory"]), percent(s["gpu"]), _fragmentation(s["fragmentation"]))
            for s in evenly(report["samples"], UTILISATION_ROWS)]), ""]
    else:
        out += ["No samples.", ""]
    if report["services"]:
        out += ["### Services", "", _md_table(
            ("service", "desired", "running", "placed", "stopped", "unplaced", "failed to start",
             "zone skew max", "zone skew final", "scaling activity"),
            [(name, f"{s['desired']:,}", f"{s['running']:,}", f"{s['placed']:,}", f"{s['stopped']:,}",
              f"{s['unplaced']:,}", f"{s['failedToStart']:,}", str(s["maxZoneSkew"]), str(s["finalZoneSkew"]),
              str(len(s["scaling"]))) for name, s in report["services"].items()]), ""]
        scaling = [(name, a) for name, s in report["services"].items() for a in s["scaling"]]
        if scaling:
            out += ["Scaling activity:", ""] + _listed(
                ("t", "service", "desired", "cause"),
                [(clock(a["t"]), name, f"{a['from']} -> {a['to']}", a["cause"])
                 for name, a in sorted(scaling, key=lambda item: item[1]["t"])])
    if report["deployments"]:
        out += ["### Deployments", "", _md_table(
            ("service", "revision", "start", "end", "status", "failures / threshold", "zone skew at the end",
             "reason"),
            [(d["service"], str(d["revision"]), clock(d["start"]), "-" if d["end"] is None else clock(d["end"]),
              d["status"], f"{d['failures']} / {d['threshold']}",
              "-" if d.get("zoneSkew") is None else str(d["zoneSkew"]), d["reason"] or "-")
             for d in report["deployments"]]), ""]
    if report["capacityProviders"]:
        providers = report["capacityProviders"]
        out += ["### Capacity providers", "", _md_table(
            ("provider", "instances at the end", "launched", "terminated", "scaling activity"),
            [(name, f"{p['instances']:,}", f"{p['launched']:,}", f"{p['terminated']:,}", str(len(p["activity"])))
             for name, p in providers.items()]), ""]
        activity = [(name, a) for name, p in providers.items() for a in p["activity"]]
        if activity:
            out += ["Scaling activity (CapacityProviderReservation, instances):", ""] + _listed(
                ("t", "provider", "reservation", "instances"),
                [(clock(a["t"]), name, f"{a['reservation']:.0f}%", f"{a['from']} -> {a['to']}")
                 for name, a in sorted(activity, key=lambda item: item[1]["t"])])
    out += ["### Unplaced", "",
            f"{report['unplaced']:,} tasks could not be placed when asked, {left_unplaced(report):,} were left "
            f"unplaced at the end, {report['failedToStart']:,} failed to start."]
    if report["reasons"]:
        out += ["", _md_table(("reason", "tasks"), [
            (reason, f"{n:,}") for reason, n in sorted(report["reasons"].items(), key=lambda item: -item[1])])]
    return out + [""]


def _fragmentation(value) -> str:
    return "-" if value is None else f"{percent(value['cpu'])} / {percent(value['memory'])}"


def _listed(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A table of at most ``LISTED`` rows; the rest are in results.json."""
    out = [_md_table(header, rows[:LISTED])]
    if len(rows) > LISTED:
        out += ["", f"... and {len(rows) - LISTED:,} more (results.json lists all)"]
    return out + [""]


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(header), "|" + "---|" * len(header), *(line(row) for row in rows)])


# -- the files ----------------------------------------------------------------------------------

def write_results(reports: list[dict], out_dir) -> list[Path]:
    """Write results.json (``{"runs": reports}``), the plots and report.md into ``out_dir``
    (made if missing); the paths written, in that order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / "results.json"
    results.write_text(json.dumps({"runs": reports}, indent=2) + "\n")
    plots = draw_plots(reports, out_dir)
    report = out_dir / "report.md"
    report.write_text(markdown(reports, None if plots is None else [p.name for p in plots]))
    return [results, *(plots or []), report]


def draw_plots(reports: list[dict], out_dir: Path) -> list[Path] | None:
    """The PNGs that have something to show, or ``None`` without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    scale, unit = _time_unit(max((r["duration"] for r in reports), default=0.0))
    written = []

    def save(figure, name):
        figure.tight_layout()
        path = out_dir / name
        figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
        written.append(path)

    if any(r["samples"] for r in reports):
        save(_utilisation(Figure(figsize=(11, 4.5)), reports, scale, unit), "utilisation.png")
    if any(r["services"] for r in reports):
        save(_rollout(Figure(figsize=(11, max(4.5, 3.2 * len(reports)))), reports, scale, unit), "rollout.png")
    if any(r["latencyCdf"] for r in reports):
        save(_latency(Figure(figsize=(9, 4.5)), reports), "latency.png")
    if any(r["services"] for r in reports):
        save(_skew_plot(Figure(figsize=(11, 4.5)), reports, scale, unit), "skew.png")
    return written


def _time_unit(duration: float) -> tuple[float, str]:
    return (60.0, "minutes") if duration <= 3 * 3600 else (3600.0, "hours")


def _style(k: int) -> str:
    return _STYLES[k % len(_STYLES)]


def _utilisation(figure, reports, scale, unit):
    axes = figure.add_subplot()
    gpu = any(s["gpu"] for r in reports for s in r["samples"])
    colors = {"cpu": "C0", "memory": "C1", **({"gpu": "C2"} if gpu else {})}
    for k, report in enumerate(reports):
        times = [s["t"] / scale for s in report["samples"]]
        for resource, color in colors.items():
            axes.plot(times, [s[resource] for s in report["samples"]], color=color, linestyle=_style(k))
    axes.set(xlabel=f"simulated time ({unit})", ylabel="share of capacity in use", ylim=(0, 1.05),
             title="utilisation of the active instances")
    _legend(axes, colors, reports)
    axes.grid(alpha=0.3)
    return figure


def _legend(axes, colors: dict[str, str], reports) -> None:
    """What each colour is, then (when there are several runs) what run each line style is."""
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=color, label=name) for name, color in colors.items()]
    if len(reports) > 1:
        handles += [Line2D([], [], color="black", linestyle=_style(k), label=report["variant"])
                    for k, report in enumerate(reports)]
    axes.legend(handles=handles, **_OUTSIDE)


def _rollout(figure, reports, scale, unit):
    """One panel per run: tasks running per service and revision, the desired count a wide pale line."""
    top = _top_services(reports)
    colors = {name: f"C{k % 10}" for k, name in enumerate(top)}
    panels = figure.subplots(len(reports), 1, sharex=True, squeeze=False)[:, 0]
    for axes, report in zip(panels, reports):
        times = [s["t"] / scale for s in report["samples"]]
        for name in top:
            series = [s["services"].get(name, {}) for s in report["samples"]]
            revisions = sorted({rev for point in series for rev in point.get("byRevision", {})}, key=int)
            for k, revision in enumerate(revisions):       # a gap where the revision has no tasks listed
                axes.plot(times, [point.get("byRevision", {}).get(revision, math.nan) for point in series],
                          color=colors[name], linestyle=_style(k), drawstyle="steps-post",
                          label=f"{name} rev {revision}")
            axes.plot(times, [point.get("desired", math.nan) for point in series], color=colors[name],
                      linewidth=4, alpha=0.15, drawstyle="steps-post")
        axes.set(ylabel="tasks running", title=f"rollout: {report['variant']} (wide pale line: desired)")
        axes.grid(alpha=0.3)
        if axes.has_data():
            axes.legend(**_OUTSIDE)
    panels[-1].set_xlabel(f"simulated time ({unit})")
    return figure


def _top_services(reports) -> list[str]:
    """The services with the most desired tasks, at most ``TOP_SERVICES``, by name within that."""
    desired = Counter()
    for report in reports:
        for name, service in report["services"].items():
            desired[name] = max(desired[name], service["desired"],
                                *(s["services"].get(name, {}).get("desired", 0) for s in report["samples"]))
    return sorted(sorted(desired), key=lambda name: -desired[name])[:TOP_SERVICES]


def _latency(figure, reports):
    axes = figure.add_subplot()
    for k, report in enumerate(reports):
        points = report["latencyCdf"]
        if points:
            axes.step([x for x, _ in points], [share for _, share in points], where="post",
                      linestyle=_style(k), label=report["variant"])
    axes.set_xscale("log")
    axes.set(xlabel="decision latency (µs)", ylabel="share of decisions", ylim=(0, 1.02),
             title="decision latency, cumulative")
    axes.legend(**_OUTSIDE)
    axes.grid(alpha=0.3, which="both")
    return figure


def _skew_plot(figure, reports, scale, unit):
    """Zone skew over time of the top services: a colour per service, a line style per run."""
    axes = figure.add_subplot()
    names = _top_services(reports)
    colors = {name: f"C{c % 10}" for c, name in enumerate(names)}
    for k, report in enumerate(reports):
        times = [s["t"] / scale for s in report["samples"]]
        for name in names:
            if name in report["services"]:
                axes.plot(times, [s["services"].get(name, {}).get("zoneSkew", 0) for s in report["samples"]],
                          color=colors[name], linestyle=_style(k), drawstyle="steps-post")
    top = max((s["services"].get(name, {}).get("zoneSkew", 0) for r in reports for s in r["samples"]
               for name in names), default=0)
    axes.set(xlabel=f"simulated time ({unit})", ylabel="zone skew (tasks)", ylim=(0, max(1, top) * 1.1),
             title="zone skew per service")
    axes.yaxis.get_major_locator().set_params(integer=True)
    _legend(axes, colors, reports)
    axes.grid(alpha=0.3)
    return figure
