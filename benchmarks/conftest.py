"""Fleet sizes for the benchmark suite (``pytest benchmarks``).

Every test that takes a ``rows`` argument runs once per size. By default only 10,000 rows, so
that the suite, which the normal test run executes once per test as a smoke test
(``--benchmark-disable``), stays fast. ``--benchmark-enable`` or ``PLACEMENT_BENCH_LARGE=1``
adds 100,000 and 1,000,000 rows; ``PLACEMENT_BENCH_SIZES=1000,50000`` picks sizes explicitly.
"""
from __future__ import annotations

import os

from placement.bench.workloads import size_label

SMOKE_SIZES = (10_000,)
FULL_SIZES = (10_000, 100_000, 1_000_000)


def bench_sizes(config) -> tuple[int, ...]:
    explicit = os.environ.get("PLACEMENT_BENCH_SIZES")
    if explicit:
        return tuple(int(size.replace("_", "")) for size in explicit.split(","))
    if os.environ.get("PLACEMENT_BENCH_LARGE") == "1" or config.getoption("benchmark_enable", default=False):
        return FULL_SIZES
    return SMOKE_SIZES


def pytest_generate_tests(metafunc):
    if "rows" in metafunc.fixturenames:
        sizes = bench_sizes(metafunc.config)
        metafunc.parametrize("rows", sizes, ids=[size_label(n) for n in sizes])
