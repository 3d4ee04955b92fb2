"""Fleet ingest beside ``json.loads`` of the same text, and the start-up a command-line user waits.

    python -m placement.bench.ingest [--instances 100000] [--big 1000000] [--repeat 3] [--markdown FILE]

Not part of ``placement bench`` (the peak-memory files take minutes to write and read). In one
process, on the JSON text of ``aws ecs describe-container-instances`` for ``--instances`` demo
instances (real attribute sets: about 66 attributes each, the ECS agent's capabilities
included):

- ``json.loads(text)`` alone: the floor a Python reader of the text cannot go under;
- ``msgspec.json.decode(text)`` into plain objects: the fastest generic decoder, as a peer;
- ``Fleet.from_ecs(text)``: text in, fleet out (typed decoding, checks, columns);
- ``Fleet.from_ecs(json.loads(text))``: what a caller that parses first pays in all.

Then, each in a fresh process (peak memory is per process): the peak RSS of ``from_ecs`` on a
file of ``--instances`` and of ``--big`` instances (made by repeating demo instances under new
ARNs and ids), as a multiple of the text's size; ``placement.demo(1_000_000)``; ``import
placement``; and ``placement eval EXPR --demo 1000000 --limit 5`` end to end.
In-process times follow ``timing.best_of``; a fresh process's, the best of ``--repeat``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from placement.bench.machine import describe, lines
from placement.bench.render import Table, markdown_table
from placement.bench.timing import best_of

EVAL_EXPRESSION = "attribute:ecs.instance-type =~ m5.* and attribute:ecs.availability-zone != us-east-1d"


def write_fleet(path: str, n: int, seed: int = 0) -> int:
    """An n-instance describe-container-instances file, streamed: at most 10,000 demo instances
    in memory, repeated under new ARNs and ec2 ids. Its size in bytes."""
    from placement.fleet.demo import demo_documents
    base = min(n, 10_000)
    instances = demo_documents(base, seed)[0]["containerInstances"]
    texts = [json.dumps(i) for i in instances]
    keys = [(i["containerInstanceArn"], i.get("ec2InstanceId") or "") for i in instances]
    with open(path, "w") as out:
        out.write('{"containerInstances": [')
        for k in range(n):
            text, (arn, ec2) = texts[k % base], keys[k % base]
            copy = k // base
            if copy:
                text = text.replace(arn, f"{arn}-{copy}").replace(f'"{ec2}"', f'"{ec2}-{copy}"') if ec2 else \
                    text.replace(arn, f"{arn}-{copy}")
            out.write(("," if k else "") + text)
        out.write('], "failures": []}')
    return os.path.getsize(path)


def in_process(args) -> dict:
    import msgspec

    import placement
    from placement.fleet.demo import demo_documents
    text = json.dumps(demo_documents(args.instances, 0)[0]).encode()
    readers = {"json.loads": lambda: json.loads(text), "msgspec.json.decode": lambda: msgspec.json.decode(text),
               "Fleet.from_ecs(text)": lambda: placement.Fleet.from_ecs(text),
               "Fleet.from_ecs(json.loads(text))": lambda: placement.Fleet.from_ecs(json.loads(text))}
    return {"text_mb": len(text) / 1e6, **{name: best_of(read, args.repeat).seconds for name, read in readers.items()}}


_PEAK = """
import json, sys, time
import placement
start = time.perf_counter()
if sys.argv[2] == "json.loads":
    with open(sys.argv[1], "rb") as text:
        n = len(json.loads(text.read())["containerInstances"])
else:
    n = len(placement.Fleet.from_ecs(sys.argv[1]))
# VmHWM, not ru_maxrss: the latter survives exec, so a child would report its parent's peak
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(time.perf_counter() - start, peak, n)
"""


def peak(path: str, reader: str = "from_ecs") -> tuple[float, int, int]:
    """(seconds, peak RSS bytes, instances) of ``reader`` on ``path`` in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _PEAK, path, reader], capture_output=True, text=True, check=True)
    seconds, rss, n = done.stdout.split()
    return float(seconds), int(rss), int(n)


def wall(repeat: int, argv: list[str]) -> float:
    """The best wall time of a command in a fresh process (output discarded)."""
    return best_of(lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False),
                   repeat).seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100_000, help="instances in the side-by-side text")
    parser.add_argument("--big", type=int, default=1_000_000, help="instances in the peak-memory file (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per timing; the best is kept")
    parser.add_argument("--markdown", help="also write the report as Markdown to FILE")
    args = parser.parse_args(argv)
    results = in_process(args)
    python = sys.executable
    placement_command = os.path.join(os.path.dirname(python), "placement")
    with tempfile.TemporaryDirectory() as folder:
        for label, n in (("instances", args.instances), ("big", args.big)):
            if n:
                path = os.path.join(folder, f"fleet-{n}.json")
                size = write_fleet(path, n)
                seconds, rss, count = peak(path)
                assert count == n, (count, n)
                results[f"peak {label}"] = (n, size, seconds, rss)
                if label == "instances":            # json.loads of the big file would not fit
                    seconds, rss, count = peak(path, "json.loads")
                    results["peak json.loads"] = (n, size, seconds, rss)
                os.remove(path)
    results["import placement"] = wall(args.repeat, [python, "-c", "import placement"])
    results["python -c pass"] = wall(args.repeat, [python, "-c", "pass"])
    results["demo(1_000_000)"] = min(float(subprocess.run(
        [python, "-c", "import placement, time; t = time.perf_counter(); placement.demo(1_000_000); "
                       "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True).stdout)
        for _ in range(args.repeat))
    results["eval --demo 1000000 --limit 5"] = wall(
        args.repeat, [placement_command, "eval", EVAL_EXPRESSION, "--demo", "1000000", "--limit", "5"])
    text = report(args, results)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)


def report(args, results: dict) -> str:
    floor = results["json.loads"]
    out = [f"# Fleet ingest: {args.instances:,} instances of describe-container-instances JSON "
           f"({results['text_mb']:.0f} MB), best of {args.repeat}", "",
           "Written by `python -m placement.bench.ingest --markdown benchmarks/INGEST_RESULTS.md`.", "",
           *lines(describe()), ""]
    readers = ("json.loads", "msgspec.json.decode", "Fleet.from_ecs(text)", "Fleet.from_ecs(json.loads(text))")
    rows = [(name, f"{results[name]:.2f}", f"{results[name] / floor:.2f}") for name in readers]
    out += [markdown_table(Table(("reader", "seconds", "÷ json.loads"), rows)), ""]
    rows = []
    for label, reader in (("json.loads", "json.loads (parse only)"), ("instances", "Fleet.from_ecs(path)"),
                          ("big", "Fleet.from_ecs(path)")):
        if f"peak {label}" in results:
            n, size, seconds, rss = results[f"peak {label}"]
            rows.append((reader, f"{n:,}", f"{size / 1e6:.0f}", f"{seconds:.1f}", f"{rss / 1e6:.0f}",
                         f"{rss / size:.2f}"))
    out += ["Peak memory, each in a fresh process (reading the file, decoding, building the fleet):", "",
            markdown_table(Table(("reader", "instances", "text MB", "seconds", "peak RSS MB", "peak ÷ text"), rows)),
            ""]
    base = results["import placement"]
    rows = [(name, f"{results[name]:.2f}", f"{results[name] / base:.1f}")
            for name in ("python -c pass", "import placement", "demo(1_000_000)", "eval --demo 1000000 --limit 5")]
    out += ["Start-up: wall time of a fresh process; `demo(1_000_000)` is the generation alone, timed "
            "inside the process (add the import for its wall time):", "",
            markdown_table(Table(("command", "seconds", "÷ import placement"), rows)), "",
            f"eval expression: `{EVAL_EXPRESSION}`"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
