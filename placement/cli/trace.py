"""``placement trace``: convert a real trace into a fleet and a JSON Lines trace (SPEC 4, "Traces")."""
from __future__ import annotations

import json
from pathlib import Path

from placement.cli.common import add_json, count, seed
from placement.cli.render import emit
from placement.cli.simulate import counted
from placement.errors import InputError

USAGE = ("placement trace alibaba-gpu-v2023 NODES.csv TASKS.csv --out DIR [--saturate] [--zones N] [--seed S]\n"
         "                       [--json]")
FORMATS = ("alibaba-gpu-v2023",)


def add(commands) -> None:
    command = commands.add_parser("trace", usage=USAGE, help="convert a real trace into a fleet and a trace",
                                  description="Convert the Alibaba GPU trace (cluster-trace-gpu-v2023) into "
                                              "DIR/fleet.json (describe-container-instances JSON) and "
                                              "DIR/tasks.jsonl (the trace format 'placement simulate' replays).")
    command.add_argument("format", choices=FORMATS, help="the trace's format: alibaba-gpu-v2023")
    command.add_argument("nodes", metavar="NODES.csv", help="the machines (openb_node_list_all_node.csv)")
    command.add_argument("tasks", metavar="TASKS.csv", help="the tasks (openb_pod_list_*.csv)")
    command.add_argument("--out", required=True, metavar="DIR",
                         help="where fleet.json and tasks.jsonl go (made if missing)")
    command.add_argument("--saturate", action="store_true",
                         help="drop every departure: tasks run to the end, so the cluster fills up")
    command.add_argument("--zones", type=count, default=3, metavar="N",
                         help="availability zones us-east-1a, ... to deal the machines into (1 to 26, default 3)")
    command.add_argument("--seed", type=seed, metavar="S",
                         help="draw each machine's zone at random with this seed (default: round-robin)")
    add_json(command)
    command.set_defaults(run=run)


def run(args) -> int:
    from placement.simulate.trace import convert_alibaba_gpu, write_trace
    converted = convert_alibaba_gpu(args.nodes, args.tasks, zones=args.zones, seed=args.seed,
                                    saturate=args.saturate)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fleet_path, trace_path = out / "fleet.json", out / "tasks.jsonl"
        fleet_path.write_text(json.dumps(converted.fleet))
        write_trace(converted.tasks, trace_path)
    except OSError as error:
        raise InputError(f"cannot write to {args.out!r}: {error.strerror}") from None
    tasks, machines = converted.tasks, converted.fleet["containerInstances"]
    times = [t.arrival for t in tasks] + [t.departure for t in tasks if t.departure is not None]
    start, end = min(times, default=0.0), max(times, default=0.0)
    summary = {
        "format": args.format, "machines": len(machines), "tasks": len(tasks),
        "gpus": sum(r["integerValue"] for m in machines for r in m["registeredResources"] if r["name"] == "GPU"),
        "gpuTasks": sum(1 for t in tasks if t.gpu), "constrainedTasks": sum(1 for t in tasks if t.constraints),
        "span": {"start": start, "end": end, "days": (end - start) / 86400},
        "saturate": args.saturate, "zones": converted.zones,
        "fleet": str(fleet_path), "trace": str(trace_path), "notes": list(converted.notes),
    }
    if args.json:
        emit(summary)
        return 0
    print(f"converted {args.format}: {counted(len(machines), 'machine')} ({summary['gpus']:,} GPUs), "
          f"{counted(len(tasks), 'task')} ({summary['gpuTasks']:,} asking for GPUs, "
          f"{summary['constrainedTasks']:,} with a GPU type constraint)")
    print(f"time span: {start:,.0f} s to {end:,.0f} s ({summary['span']['days']:.1f} days)"
          + ("; departures dropped (--saturate)" if args.saturate else ""))
    print(f"zones: {converted.zones}")
    print(f"wrote {fleet_path} and {trace_path}")
    print("mapping:")
    for note in converted.notes:
        print(f"  - {note}")
    print(f"next: placement simulate --fleet {fleet_path} --trace {trace_path}")
    return 0
