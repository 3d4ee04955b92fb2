"""Expressions over a partitioned fleet: a ``dask.dataframe`` with one column per subject.

Input: an expression (its text or a compiled ``Predicate``) and a dask DataFrame in the layout
``Fleet.from_arrow`` reads and ``Fleet.to_arrow`` writes (``placement.fleet.tables``), for example
``dd.read_parquet`` of files each written from ``to_arrow`` with dictionaries of its own. Output:
``evaluate``, a lazy boolean dask Series aligned with the frame (same partitions and index);
``select``, the matching rows, lazily; ``count`` (an int) and ``explain`` (an ``Explanation``
with per-node counts summed over the partitions), computed.

How. The driver compiles the expression (so a syntax or type error is raised here, with its
caret, before anything is shipped) and ships its **canonical text**: a string is cheap to send
and to key a cache by, and compiles to the same meaning. Each worker process compiles it once
(``worker_predicate``: a cache keyed by the canonical text, beside ``compile``'s own), and turns
each partition into a ``Fleet`` of its own: a partition's dictionary codes differ from another's,
so the plan is **bound per partition** (``Predicate.evaluate`` binds to each fleet), never once
for the whole frame. Only the columns the expression reads travel into the partition function
(``ddf[needed]``), so a Parquet read skips the rest.

``explain`` ships the canonical text too; its tree has the same nodes in the same preorder as
the source's (``parse(str(ast)) == ast``), so the per-node counts each partition returns are
summed position by position and put on the tree *as written* (the source's spans and texts),
built on the driver from an empty fleet. Results equal local evaluation of the concatenated
fleet; ``tests/test_dask.py`` checks that on a ``LocalCluster`` of processes.
"""
from __future__ import annotations

import dataclasses
import threading

import numpy as np

from placement.dask.cluster import require_dask
from placement.errors import InputError, PlacementError
from placement.fleet.model import Fleet
from placement.lang import ir, trees
from placement.lang.parser import DEFAULT_MAX_LENGTH
from placement.predicate import Predicate, compile  # noqa: A004

ARN = "containerInstanceArn"
CACHE_SIZE = 1024
_LISTS = ("task:group", "remainingResources.PORTS")
_STRINGS = ("ec2InstanceId", "status", "agentVersion")
_INTEGERS = ("runningTasksCount", "remainingResources.CPU", "remainingResources.MEMORY", "remainingResources.GPU",
             "registeredResources.CPU", "registeredResources.MEMORY", "registeredResources.GPU")

# -- the worker side ------------------------------------------------------------------------------

_PREDICATES: dict[str, Predicate] = {}      # this process's compiled predicates, by canonical text
_STATS = {"compiled": 0, "hits": 0}
_LOCK = threading.Lock()                    # a worker may run several threads


def worker_predicate(canonical: str) -> Predicate:
    """The predicate of ``canonical`` text, compiled once in this process."""
    found = _PREDICATES.get(canonical)
    if found is not None:
        with _LOCK:                             # += on the dict is not atomic across threads
            _STATS["hits"] += 1
        return found
    predicate = compile(canonical, max_length=max(DEFAULT_MAX_LENGTH, len(canonical)))
    with _LOCK:
        if len(_PREDICATES) >= CACHE_SIZE:
            _PREDICATES.clear()
        _PREDICATES[canonical] = predicate
        _STATS["compiled"] += 1
    return predicate


def cache_info() -> dict:
    """This process's cache: how many texts it holds, compiled and found (``client.run(cache_info)``)."""
    return {"size": len(_PREDICATES), **_STATS}


def clear_cache() -> None:
    with _LOCK:
        _PREDICATES.clear()
        _STATS.update(compiled=0, hits=0)


def partition_table(frame):
    """A pandas partition as the Arrow table ``Fleet.from_arrow`` reads. A column that holds only
    nulls in this partition (an empty partition, or an attribute no instance of it has) comes
    from pandas typeless: it is given its layout's type, so that any partition reads."""
    import pandas as pd
    import pyarrow as pa
    from placement.fleet.tables import arrow_from_pandas
    wide = [name for name, dtype in frame.dtypes.items()
            if isinstance(dtype, pd.CategoricalDtype) and len(dtype.categories) > len(frame)]
    if wide:                    # a slice of a bigger frame keeps every category: only this partition's
        frame = frame.assign(**{name: frame[name].cat.remove_unused_categories() for name in wide})
    table = arrow_from_pandas(frame)
    for name in _LISTS:
        if name in table.column_names and (pa.types.is_string(table.schema.field(name).type)
                                           or pa.types.is_large_string(table.schema.field(name).type)):
            raise InputError(f"column {name!r} arrived as text, not lists: dask's convert-string turned the lists "
                             "into their printed form", hint="build the frame with placement.dask.from_arrow, or "
                             "under dask.config.set({'dataframe.convert-string': False}), or read it from Parquet")
    for position, column in enumerate(table.schema):
        if pa.types.is_dictionary(column.type) and pa.types.is_null(column.type.value_type):
            table = table.set_column(position, column.name, pa.nulls(len(table)))   # no value in this partition
        elif not pa.types.is_null(column.type):
            continue
        if column.name.startswith("attribute:"):
            continue                        # a typeless attribute column reads as absent
        name = column.name
        kind = (pa.list_(pa.string()) if name in _LISTS else pa.string() if name in _STRINGS or name == ARN
                else pa.bool_() if name == "agentConnected" else pa.timestamp("us", tz="UTC")
                if name == "registeredAt" else pa.int64() if name in _INTEGERS else None)
        if kind is not None:
            table = table.set_column(position, name, pa.nulls(len(table), kind))
    return table


def partition_fleet(frame) -> Fleet:
    return Fleet.from_arrow(partition_table(frame))


def _mask(frame, canonical: str):
    import pandas as pd
    values = worker_predicate(canonical).evaluate(partition_fleet(frame)) if len(frame) else np.zeros(0, bool)
    return pd.Series(values, index=frame.index, dtype=bool)


def _count(frame, canonical: str) -> int:
    return int(worker_predicate(canonical).count(partition_fleet(frame))) if len(frame) else 0


def _node_counts(frame, canonical: str) -> tuple[int, np.ndarray | None]:
    """(rows, per-node counts in preorder); None for an empty partition (it adds nothing)."""
    if not len(frame):
        return 0, None
    explanation = worker_predicate(canonical).explain(partition_fleet(frame))
    return len(frame), np.array([node.count for node in explanation.nodes()], dtype=np.int64)


def _add(*parts):
    rows = sum(part[0] for part in parts)
    counts = [part[1] for part in parts if part[1] is not None]
    return rows, (np.sum(counts, axis=0) if counts else None)


def _select(frame, canonical: str, columns):
    chosen = frame[_mask(frame, canonical).to_numpy()]
    return chosen if columns is None else chosen[columns]


# -- the driver side ------------------------------------------------------------------------------

def from_arrow(table, npartitions: int = 1):
    """A dask DataFrame of a fleet table (``Fleet.to_arrow``'s layout) in ``npartitions`` partitions,
    its list columns kept as lists (dask's convert-string would print them as text)."""
    require_dask()
    import dask
    import dask.dataframe as dd
    import pyarrow as pa
    if not isinstance(table, pa.Table):
        raise InputError(f"expected a pyarrow.Table, got {type(table).__name__}")
    if not isinstance(npartitions, int) or isinstance(npartitions, bool) or npartitions < 1:
        raise InputError(f"npartitions must be a positive integer, got {npartitions!r}")
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_pandas(table.to_pandas(), npartitions=npartitions, sort=False)


def predicate_of(expr) -> Predicate:
    if isinstance(expr, Predicate):
        return expr
    if isinstance(expr, str):
        return compile(expr)
    raise InputError(f"an expression is its text or a compiled Predicate, not {type(expr).__name__}")


def _frame(ddf):
    require_dask()
    import dask.dataframe as dd
    if not isinstance(ddf, dd.DataFrame):
        raise InputError(f"expected a dask.dataframe.DataFrame fleet, got {type(ddf).__name__}")
    if ARN not in ddf.columns:
        raise InputError(f"a fleet frame needs a {ARN} column (the layout of Fleet.to_arrow)")
    return ddf


def columns_read(predicate: Predicate) -> list[str]:
    """The columns an expression reads: its subjects' columns, and the ARN that a fleet needs."""
    return [ARN, *sorted({str(leaf.field) for leaf in ir.leaves(predicate.ir)} - {ARN})]


def _projected(ddf, predicate: Predicate, extra=()):
    wanted = [name for name in dict.fromkeys([*columns_read(predicate), *extra]) if name in ddf.columns]
    return ddf[wanted]


def evaluate(expr, ddf):
    """One bool per row of ``ddf``, as a lazy dask Series aligned with it (same partitions, same index)."""
    import pandas as pd
    predicate = predicate_of(expr)
    ddf = _frame(ddf)
    return _projected(ddf, predicate).map_partitions(_mask, predicate.canonical, meta=pd.Series([], dtype=bool),
                                                     enforce_metadata=False)


def count(expr, ddf) -> int:
    """How many rows of ``ddf`` the expression selects (computed)."""
    import dask
    predicate = predicate_of(expr)
    parts = _projected(_frame(ddf), predicate).to_delayed()
    counts = [dask.delayed(_count)(part, predicate.canonical) for part in parts]
    return int(dask.delayed(sum)(counts).compute()) if counts else 0


def explain(expr, ddf):
    """``Predicate.explain`` over the whole frame: every node as written with how many rows it is
    true for, summed over the partitions (computed; an ``placement.explain.tree.Explanation``)."""
    import dask
    predicate = predicate_of(expr)
    parts = _projected(_frame(ddf), predicate).to_delayed()
    shipped = predicate.canonical
    rows, counts = dask.delayed(_add)(*[dask.delayed(_node_counts)(part, shipped) for part in parts]).compute() \
        if parts else (0, None)
    return explanation_with(predicate, rows, counts)


def explanation_with(predicate: Predicate, rows: int, counts) -> "object":
    """The explanation tree of ``predicate`` as written, with these per-node counts (preorder)."""
    import pyarrow as pa
    empty = Fleet.from_arrow(pa.table({ARN: pa.array([], pa.string())}))
    shape = predicate.explain(empty)
    nodes = list(shape.nodes())
    if counts is None:
        counts = np.zeros(len(nodes), dtype=np.int64)
    if len(counts) != len(nodes):           # the canonical text must keep the tree's shape
        raise PlacementError(f"internal: the shipped expression has {len(counts)} nodes, the source {len(nodes)}")
    counted = counts.tolist()
    tree = trees.fold(shape.tree, lambda node, kids: dataclasses.replace(node, count=counted[node.id],
                                                                         children=tuple(kids)))
    return dataclasses.replace(shape, total=int(rows), tree=tree)


def select(expr, ddf, columns=None):
    """The rows of ``ddf`` the expression selects, lazily (``columns``: only these, in this order)."""
    predicate = predicate_of(expr)
    ddf = _frame(ddf)
    if columns is not None:
        if isinstance(columns, str):
            columns = [columns]
        columns = list(columns)
        unknown = [name for name in columns if name not in ddf.columns]
        if unknown or not all(isinstance(name, str) for name in columns):
            raise InputError(f"select: no column {unknown[0] if unknown else columns!r} in the fleet frame")
    source = _projected(ddf, predicate, columns) if columns is not None else ddf
    meta = ddf._meta if columns is None else ddf._meta[columns]
    return source.map_partitions(_select, predicate.canonical, columns, meta=meta, enforce_metadata=False)
