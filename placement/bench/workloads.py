"""What the benchmarks run on: fleets of any size and the named workload expressions.

``scaled_fleet(n, seed)`` builds one realistic demo fleet of at most 20,000 instances and
replicates its rows up to ``n`` (so that every size has the same value shares as the committed
results were measured on, whatever the generator draws at larger sizes); every
row then gets its own containerInstanceArn and ec2InstanceId, so the instance-id column has
``n`` distinct values like a real fleet's. Results are cached per (n, seed) in-process.

``WORKLOADS`` maps a short name to an expression; the literals were chosen from the demo
fleet's real dictionaries so that each one selects a non-trivial share of the rows
(``python -m placement.bench.workloads`` prints the shares).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

import placement
from placement.fleet.columns import DictionaryColumn, code_dtype

DEMO_ROWS = 20_000
ARN_PREFIX = "arn:aws:ecs:us-east-1:123456789012:container-instance/bench/"

WORKLOADS: dict[str, str] = {
    "equality": "attribute:ecs.instance-type == m5.large",
    "in-list": "attribute:ecs.availability-zone in [us-east-1a, us-east-1c, us-east-1f]",
    "regex-prefix": "attribute:ecs.instance-type =~ t3.*",
    "regex-alternation": r"attribute:ecs.instance-type =~ '(m5|c5|r5)\.(x|2x)?large'",
    "in-five": ("attribute:ecs.instance-type in [c5.2xlarge, g5.xlarge, m6g.large, p3.2xlarge, t2.micro]"),
    "count-range": "runningTasksCount >= 1 and runningTasksCount <= 3",
    "registered-since": "registeredAt >= 2024-06-01",
    "exists-sparse": "attribute:flavor exists",
    "compound-4": ("attribute:ecs.cpu-architecture == x86_64 and attribute:ecs.availability-zone != us-east-1d"
                   " and not(attribute:stack == dev) or attribute:team in [payments, search]"),
    "anti-affinity": "not(task:group == service:web) and attribute:ecs.os-type == linux",
    "not-equals-absent": "attribute:stack != prod",
}

MIN_SHARE, MAX_SHARE = 0.001, 0.999


@functools.lru_cache(maxsize=8)
def demo_fleet(n: int, seed: int = 0) -> placement.Fleet:
    return placement.demo(n, seed)


@functools.lru_cache(maxsize=8)
def scaled_fleet(n: int, seed: int = 0) -> placement.Fleet:
    """A fleet of exactly ``n`` rows: the demo fleet's rows repeated, each with a unique identity."""
    base = demo_fleet(min(n, DEMO_ROWS), seed)
    if n <= len(base):
        return base
    replicated = base.columns.take(replicated_rows(n, len(base)))
    return placement.Fleet(dataclasses.replace(
        replicated, arns=unique_arns(n), instance_id=unique_instance_ids(n, seed)))


@functools.lru_cache(maxsize=8)
def scaled_arrow(n: int, seed: int = 0):
    """``scaled_fleet(n, seed).to_arrow()``, built by replicating the demo fleet's Arrow table.

    ``Fleet.to_arrow`` loops in Python per row (about 17 s for 1M rows); taking rows of the
    small table gives the same table in about a second.
    """
    import pyarrow as pa
    base = demo_fleet(min(n, DEMO_ROWS), seed)
    table = base.to_arrow()
    if n <= len(base):
        return table
    table = table.take(pa.array(replicated_rows(n, len(base))))
    ids = unique_instance_ids(n, seed)
    table = table.set_column(table.column_names.index("containerInstanceArn"), "containerInstanceArn",
                             pa.array(unique_arns(n), pa.string()))
    return table.set_column(table.column_names.index("ec2InstanceId"), "ec2InstanceId",
                            pa.DictionaryArray.from_arrays(ids.codes.astype(np.int32),
                                                           pa.array(ids.dictionary, pa.string())))


def replicated_rows(n: int, k: int) -> np.ndarray:
    """Row positions 0..k-1, 0..k-1, ... cut at ``n``."""
    return np.resize(np.arange(k), n)


def unique_arns(n: int) -> tuple[str, ...]:
    return tuple(f"{ARN_PREFIX}{i:032x}" for i in range(n))


def unique_instance_ids(n: int, seed: int) -> DictionaryColumn:
    """``n`` distinct ids ``i-`` + 17 hex digits, shuffled over the rows.

    Row ``r`` gets the id with number ``order[r]``; fixed-width hex sorts like its number, so
    the sorted dictionary is the ids in numeric order and ``order`` is already the codes.
    """
    order = np.random.default_rng(seed).permutation(n)
    dictionary = tuple(f"i-{k:017x}" for k in range(n))
    return DictionaryColumn(order.astype(code_dtype(n + 2)), dictionary)


def shares(fleet: placement.Fleet) -> dict[str, float]:
    """The fraction of ``fleet`` each workload selects."""
    return {name: float(placement.compile(text).evaluate(fleet).mean()) for name, text in WORKLOADS.items()}


def check_shares(fleet: placement.Fleet) -> dict[str, float]:
    """``shares``, raising if a workload selects (almost) nothing or (almost) everything."""
    found = shares(fleet)
    trivial = {name: share for name, share in found.items() if not MIN_SHARE <= share <= MAX_SHARE}
    if trivial:
        raise AssertionError(f"workloads with a trivial selection: {trivial}")
    return found


def size_label(n: int) -> str:
    """``10k``, ``1M``: a fleet size as the reports and test ids write it."""
    return f"{n // 1_000_000}M" if n and n % 1_000_000 == 0 else f"{n // 1000}k" if n and n % 1000 == 0 else str(n)


if __name__ == "__main__":
    for name, share in check_shares(scaled_fleet(100_000)).items():
        print(f"{name:20s} {share:7.2%}  {WORKLOADS[name]}")
