"""Memory (stage: bench): what a fleet costs per instance, and whether a scheduler's loop leaks.

``deep_size(obj)`` walks everything reachable from ``obj`` and counts each object once: every
Python object at ``sys.getsizeof``, and every numpy buffer once, however many arrays view it (a
view's data is counted at the array that owns it, or at the bytes / buffer object it was made
from). Shared code and singletons (modules, classes, functions) are not counted: they are the
program's, not the fleet's. ``fleet_breakdown(fleet)`` names the parts of a fleet's store in one
order with one ``seen`` set, so a buffer shared by two parts is counted in the first.

``python -m placement.bench.memory --rows N`` prints, for ``placement.demo(N)``: RSS before and
after building and the peak, bytes per instance by component as built, after a first
``evaluate`` (the snapshot it caches) and after a first mutation by ARN (the indexes it builds);
then the RSS growth over ``--evaluations`` ``Predicate.evaluate`` calls and ``--placements``
``Placer.prepare(...).place(1)`` calls on a small fleet (``--growth-rows``), each task with a
dynamic host port and stopped again (in batches) so the fleet never fills. ``--json`` prints the same as JSON. The
results are committed in ``benchmarks/MEMORY_RESULTS.md``.
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import types
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
         types.MethodWrapperType, types.WrapperDescriptorType, types.GetSetDescriptorType,
         types.MemberDescriptorType, property, staticmethod, classmethod)
_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None), range, slice)


@dataclass
class Size:
    """Bytes, in all and per kind of object (``ndarray`` data counted under ``ndarray``)."""

    total: int = 0
    by_kind: Counter = field(default_factory=Counter)

    def add(self, kind: str, nbytes: int) -> None:
        self.total += nbytes
        self.by_kind[kind] += nbytes


def _owner(array: np.ndarray):
    """The object that holds ``array``'s data: the base array that owns it, or what it was made from."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array if array.base is None else array.base


def deep_size(obj, seen: set | None = None, size: Size | None = None) -> Size:
    """Everything reachable from ``obj`` not in ``seen`` (which it extends), counted once."""
    seen = set() if seen is None else seen
    size = Size() if size is None else size
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, _SKIP):
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            size.add("ndarray header", sys.getsizeof(o) - (o.nbytes if o.base is None else 0))
            owner = _owner(o)
            if owner is o:
                size.add("ndarray", o.nbytes)
            elif isinstance(owner, np.ndarray):
                if id(owner) not in seen:
                    seen.add(id(owner))
                    size.add("ndarray", owner.nbytes)
            elif isinstance(owner, (bytes, bytearray)):
                if id(owner) not in seen:
                    seen.add(id(owner))
                    size.add("ndarray", sys.getsizeof(owner))
            elif id(owner) not in seen:                      # mmap, an Arrow buffer, ...: its view
                seen.add(id(owner))
                size.add("ndarray", o.nbytes)
            continue
        if isinstance(o, memoryview):
            size.add("memoryview", sys.getsizeof(o))
            stack.append(o.obj)
            continue
        size.add(type(o).__name__, sys.getsizeof(o))
        if isinstance(o, _ATOMS):
            continue
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif isinstance(o, types.MappingProxyType):
            stack.extend(o.keys())
            stack.extend(o.values())
        else:
            d = getattr(o, "__dict__", None)
            if isinstance(d, dict):
                stack.append(d)
            for cls in type(o).__mro__:
                for slot in cls.__dict__.get("__slots__", ()):
                    if slot not in ("__dict__", "__weakref__") and hasattr(o, slot):
                        stack.append(getattr(o, slot))
    return size


def fleet_parts(fleet) -> list[tuple[str, object]]:
    """The parts of a fleet, in the order they are counted."""
    store = fleet.store
    tasks = store.tasks
    return [
        ("containerInstanceArn", store.arns),
        ("ec2InstanceId codes", store.instance_id.codes),
        ("ec2InstanceId dictionary", store.instance_id),
        ("status, agentConnected", (store.status, store.agent_connected)),
        ("attributes", store.attributes),
        ("numbers (int64)", (store.numbers, store.alive)),
        ("ports in use", store.ports),
        ("task ids", tasks.ids),
        ("task arrays", tuple(getattr(tasks, name) for name in ("rows", "group", "cpu", "memory", "gpu", "alive"))),
        ("task ports", tasks.ports),
        ("task indexes", (tasks._index, tasks._stacks, tasks._row_groups)),
        ("ARN index", store._position),
        ("snapshot cache", store._cache),
        ("journal", store.journal),
        ("rest", fleet),
    ]


def fleet_breakdown(fleet) -> tuple[Size, list[tuple[str, int]]]:
    """(the fleet's deep size, bytes per named part), one ``seen`` set throughout."""
    gc.collect()
    seen: set = set()
    size = Size()
    parts = []
    for name, part in fleet_parts(fleet):
        before = size.total
        deep_size(part, seen, size)
        parts.append((name, size.total - before))
    return size, parts


def rss_mib() -> float:
    """The resident set size now, MiB (Linux; elsewhere the peak)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2 ** 20
    except OSError:
        return peak_rss_mib()


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 1024


def _per_instance(size: Size, parts, n: int) -> dict:
    n = max(1, n)
    kinds = {k: round(v / n, 1) for k, v in size.by_kind.most_common() if v / n >= 0.05}
    return {"total": round(size.total / n, 1), "parts": {k: round(v / n, 1) for k, v in parts}, "kinds": kinds}


def fleet_memory(rows: int, seed: int = 0) -> dict:
    """Build ``placement.demo(rows)``: RSS around it, and bytes per instance as built, after a
    first evaluate and after a first mutation by ARN."""
    import placement
    gc.collect()
    rss_before, peak_before = rss_mib(), peak_rss_mib()
    started = time.perf_counter()
    fleet = placement.demo(rows, seed)
    built_s = time.perf_counter() - started
    gc.collect()
    rss_after, peak = rss_mib(), peak_rss_mib()
    out = {"rows": rows, "build_s": round(built_s, 2), "rss_before_mib": round(rss_before, 1),
           "rss_after_mib": round(rss_after, 1), "peak_rss_mib": round(peak, 1),
           "peak_was_mib": round(peak_before, 1), "tasks": int(fleet.store.tasks.size)}
    out["as_built"] = _per_instance(*fleet_breakdown(fleet), rows)
    placement.compile("attribute:ecs.instance-type =~ m5.* and attribute:stack == prod").evaluate(fleet)
    out["after_evaluate"] = _per_instance(*fleet_breakdown(fleet), rows)
    if rows:
        arn = fleet.store.arns[0]
        fleet.stop_tasks(fleet.start_task(arn, "service:memory-check"))
        out["after_mutation"] = _per_instance(*fleet_breakdown(fleet), rows)
    out["rss_end_mib"] = round(rss_mib(), 1)
    return out


def rss_growth(rows: int = 1000, evaluations: int = 1_000_000, placements: int = 1_000_000,
               stop_every: int = 100, seed: int = 0) -> dict:
    """RSS (MiB) before and after ``evaluations`` evaluate calls and ``placements`` placements of
    one task with a dynamic host port (stopped again every ``stop_every``) on ``placement.demo(rows)``."""
    import placement
    from placement.place.placer import Placer
    from placement.place.requests import Binpack
    fleet = placement.demo(rows, seed)
    predicate = placement.compile("attribute:ecs.instance-type =~ m5.* and attribute:ecs.availability-zone != "
                                  "us-east-1d and not(attribute:stack == dev)")
    out: dict = {"rows": rows}
    warm = max(1, min(evaluations, 10_000))
    for _ in range(warm):
        predicate.evaluate(fleet)
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    for _ in range(evaluations):
        predicate.evaluate(fleet)
    seconds = time.perf_counter() - started
    gc.collect()
    out["evaluate"] = {"calls": evaluations, "rss_before_mib": round(before, 2), "rss_after_mib": round(rss_mib(), 2),
                       "growth_mib": round(rss_mib() - before, 2), "us_per_call": round(1e6 * seconds / max(1, evaluations), 2)}

    placer = Placer(fleet, [Binpack("memory")])
    request = placer.prepare("service:memory-check", explain=False)
    place, stop = request.place, placer.stop

    def run(count: int) -> None:
        held = []
        for k in range(count):
            result = place(1, cpu=16, memory=32, ports=(0,))
            held.append(result.tasks)
            if len(held) == stop_every or k == count - 1:
                stop(np.concatenate(held))
                held = []

    run(max(1, min(placements, 10_000)))
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    run(placements)
    seconds = time.perf_counter() - started
    gc.collect()
    out["place"] = {"calls": placements, "stop_every": stop_every, "rss_before_mib": round(before, 2),
                    "rss_after_mib": round(rss_mib(), 2), "growth_mib": round(rss_mib() - before, 2),
                    "us_per_call": round(1e6 * seconds / max(1, placements), 2)}
    return out


def _print(report: dict) -> None:
    fleet = report.get("fleet")
    if fleet:
        print(f"placement.demo({fleet['rows']:,}): {fleet['tasks']:,} tasks, built in {fleet['build_s']} s; "
              f"RSS {fleet['rss_before_mib']} -> {fleet['rss_after_mib']} MiB, peak {fleet['peak_rss_mib']} MiB")
        stages = [s for s in ("as_built", "after_evaluate", "after_mutation") if s in fleet]
        print(f"\nbytes per instance  {'':28s}" + "".join(f"{s:>16s}" for s in stages))
        for name in fleet["as_built"]["parts"]:
            print(f"  {name:46s}" + "".join(f"{fleet[s]['parts'][name]:16.1f}" for s in stages))
        print(f"  {'total':46s}" + "".join(f"{fleet[s]['total']:16.1f}" for s in stages))
        print("\nby kind of object, as built: " + ", ".join(f"{k} {v}" for k, v in fleet["as_built"]["kinds"].items()))
    growth = report.get("growth")
    if growth:
        print(f"\nRSS growth on demo({growth['rows']:,}):")
        for key in ("evaluate", "place"):
            g = growth.get(key)
            if g:
                print(f"  {g['calls']:>10,} {key:8s} {g['rss_before_mib']:9.1f} -> {g['rss_after_mib']:9.1f} MiB: "
                      f"{g['growth_mib']:+.2f} MiB ({g['us_per_call']} us a call)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m placement.bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="instances in the demo fleet measured (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evaluations", type=int, default=1_000_000, help="evaluate calls in the growth check")
    parser.add_argument("--placements", type=int, default=1_000_000, help="placements in the growth check")
    parser.add_argument("--growth-rows", type=int, default=1000, help="instances in the growth check's fleet")
    parser.add_argument("--stop-every", type=int, default=100, help="placed tasks stopped in batches of this many")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = {}
    if args.rows:
        report["fleet"] = fleet_memory(args.rows, args.seed)
    if args.evaluations or args.placements:
        report["growth"] = rss_growth(args.growth_rows, args.evaluations, args.placements, args.stop_every, args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
