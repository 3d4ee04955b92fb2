"""``--compare OLD.json``: each figure of this run beside the same figure of an earlier one.

``figures`` flattens a results.json into named figures, each a time (lower is better) or a
rate (higher is better), and whether it measures placement's own code or a peer's or a
baseline's; ``compare`` pairs the figures both runs have and gives each a speed-up that reads
the same way whatever the unit: old / new for times, new / old for rates, so above 1 is faster
now. The summary is the geometric mean per section of placement's own figures, beside that of
the peers and baselines, which did not change between the runs: their speed-up is the
machine's drift. Figures of one run only (a peer installed since, another size) are counted,
not compared.
"""
from __future__ import annotations

import json
from pathlib import Path

from placement.bench.placement import FAST
from placement.bench.render import geomean
from placement.bench.workloads import size_label
from placement.errors import InputError

TIME, RATE = "time", "rate"
SECTIONS = ("evaluation", "placement", "simulation")


def figures(results: dict) -> dict[str, tuple[float, str, bool]]:
    """``name -> (value, TIME or RATE, placement's own)`` for every figure in ``results``."""
    out: dict[str, tuple[float, str, bool]] = {}
    for entry in results.get("evaluation", ()):
        for workload, w in entry["workloads"].items():
            for method, ms in w["ms"].items():
                ours = method.startswith("placement")
                out[f"evaluation {entry['label']} {workload} {method} (ms)"] = (ms, TIME, ours)
    section = results.get("placement")
    if section:
        label = size_label(section["instances"])
        for row in section["stream"]:
            for method, rate in row.get("placementsPerSecond", {}).items():
                out[f"placement {label} {row['chain']} {method} (placements/s)"] = (rate, RATE, method in FAST)
        for name, rate in section["single"].items():
            if name != "skipped":
                out[f"placement {label} {name} (decisions/s)"] = (rate, RATE, True)
        for row in section["scaling"]:
            if "us" in row:
                out[f"placement scaling {size_label(row['instances'])} place(1)+stop (us)"] = (row["us"], TIME, True)
        if "eventsPerSecond" in section["events"]:
            out[f"placement {size_label(section['events']['instances'])} fleet events (events/s)"] = (
                section["events"]["eventsPerSecond"], RATE, True)
        for name, ms in section["scaleIn"].get("ms", {}).items():
            out[f"placement scale-in {name} (ms)"] = (ms, TIME, True)
    simulation = results.get("simulation", {})
    scenarios = simulation.get("scenarios")
    for row in [*simulation.get("traces", ()), *(scenarios if isinstance(scenarios, list) else ())]:
        if row.get("decisionsPerSecond"):
            out[f"simulation {row['name']} (decisions/s)"] = (row["decisionsPerSecond"], RATE, True)
        if row.get("latencyMicroseconds", {}).get("p99"):
            out[f"simulation {row['name']} p99 latency (us)"] = (row["latencyMicroseconds"]["p99"], TIME, True)
    return out


def read_results(path: str) -> dict:
    """An earlier run's results.json, or bad input saying what is wrong with the file."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise InputError(f"cannot read --compare file {path!r}: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"--compare file {path!r} is not JSON: {error}") from None
    if not isinstance(document, dict) or "machine" not in document or not any(s in document for s in SECTIONS):
        raise InputError(f"--compare file {path!r} is not the results.json of 'placement bench'")
    return document


def compare(new: dict, old: dict, against: str) -> dict:
    """The ``comparison`` entry of results.json: one row per figure both runs have, and per
    section the geometric mean speed-up of placement's figures (``geomean``) and of the others
    (``drift``)."""
    now, before = figures(new), figures(old)
    rows = []
    for name, (value, kind, ours) in now.items():
        if name in before and value > 0 and before[name][0] > 0:
            old_value = before[name][0]
            rows.append({"figure": name, "old": old_value, "new": value, "placement": ours,
                         "speedup": old_value / value if kind == TIME else value / old_value})

    def means(ours: bool) -> dict[str, float]:
        speedups = {section: [r["speedup"] for r in rows if r["figure"].startswith(section + " ")
                              and r["placement"] == ours] for section in SECTIONS}
        return {section: geomean(values) for section, values in speedups.items() if values}
    return {"against": against, "commit": old.get("machine", {}).get("commit"), "rows": rows,
            "geomean": means(True), "drift": means(False), "missing": sorted(set(now) ^ set(before))}
