"""The machine and software a run measured, so that a figure can be read (and compared) with
what produced it: the CPU, the cores this process may use, the versions of Python, placement,
numpy and each peer, and the git commit of the source when it is a checkout."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import placement

LIBRARIES = ("numpy", "pandas", "polars", "pyarrow", "duckdb", "matplotlib")


def describe() -> dict:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(), "logicalCores": os.cpu_count(), "usableCores": usable,
        "architecture": platform.machine(), "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "placement": placement.__version__,
        "libraries": {name: installed_version(name) for name in LIBRARIES},
        "commit": git_commit(),
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def installed_version(name: str) -> str | None:
    """The distribution's version, read from its metadata (importing polars or DuckDB only to
    ask would start their thread pools before the run)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the checkout placement runs from, ``+dirty`` when it has changes; None for an
    installed package or without git."""
    source = Path(placement.__file__).resolve().parents[1]
    if not (source / ".git").exists():             # an installed copy: any repository above is another's
        return None
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=source,
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def lines(machine: dict) -> list[str]:
    """The machine in two lines, as the reports state it."""
    versions = {"python": machine["python"], "placement": machine["placement"],
                **{k: v for k, v in machine["libraries"].items() if v}}
    commit = f", commit {machine['commit']}" if machine.get("commit") else ""
    return [f"machine: {machine['cpu']}, {machine['logicalCores']} logical cores ({machine['usableCores']} usable), "
            f"{machine['architecture']}, {machine['os']}",
            "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + commit]
