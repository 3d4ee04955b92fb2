"""The same expressions evaluated by other libraries, for ``placement.bench.evaluation``.

The ECS meaning (SPEC 1.5) is written once, in ``Peer.express``: it turns placement's typed IR
(``pred.ir``, *before* placement's optimiser, so no peer borrows its rewrites) into calls of a
few primitives, and every peer implements only those primitives, each returning a boolean
without nulls:

* ``one_of(field, values)`` / ``matches(field, pattern)``: the value exists, has a value and is
  in ``values`` / fully matches ``pattern``; false where the attribute is absent or value-less;
* ``has_value(field)`` (exists and is not value-less) and ``exists(field)``;
* ``compare(field, op, value)`` for ``runningTasksCount`` and ``registeredAt``, false where the
  value is absent; ``one_of`` and ``has_value`` take those two fields as well;
* ``group_any(values | pattern)``: some running task's group is in ``values`` / matches, and
  ``group_nonempty()``: the instance runs a task;
* ``all_of`` / ``any_of`` / ``negate`` / ``const``: plain two-valued logic.

The negative operators are then ``has_value and not positive`` (the absent rule), and
``not(...)`` is plain negation, so ``not(task:group == g)`` is true on instances without tasks.

Each peer gets its data in its own best form, converted once before timing: numpy reads
placement's own code arrays; pandas and polars get categorical columns; DuckDB and pyarrow get
the Arrow table (dictionary arrays). Where a library exposes the dictionary, per-value string
work (regexes, ``in`` lists) runs once per dictionary entry, as placement's bind does: pandas
does this by itself for ``.str`` on categoricals, polars and pyarrow are written that way here
(polars would otherwise cast 1M categoricals to strings; pyarrow has no regex kernel for
dictionary arrays). ``evaluate`` returns the library's native boolean result (ndarray, Series,
Arrow table); ``to_mask`` turns it into a numpy mask for the correctness check, untimed.

``registeredAt`` values reach the peers as int64 microseconds since the epoch (UTC), the IR's
form; each peer compares on its native column: numpy on ``Columns.registered_at`` without its
``INT_ABSENT`` rows, the Arrow-based peers on the ``timestamp[us, UTC]`` column (null where
absent) against a literal of that type (``pd.Timestamp``, a polars datetime literal, a DuckDB
``TIMESTAMPTZ`` literal, a pyarrow timestamp scalar).

Supported subjects: ``attribute:*``, ``runningTasksCount``, ``registeredAt`` and ``task:group``;
any other (``agentVersion``, ...) raises ``ValueError`` rather than answer wrongly.
"""
from __future__ import annotations

import datetime as dt
import functools
import operator
import re

import numpy as np

from placement.fleet.columns import Columns
from placement.values import INT_ABSENT
from placement.lang import ir
from placement.lang.ir import Field, Kind

GROUPS = "task:group"
RUNNING = "runningTasksCount"
SUPPORTED = frozenset({Kind.ATTRIBUTE, Kind.RUNNING_TASKS, Kind.REGISTERED_AT, Kind.TASK_GROUP})
NUMERIC = frozenset({Kind.RUNNING_TASKS, Kind.REGISTERED_AT})       # int64 columns, ordered
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def arrow_name(field: Field) -> str:
    """The column that holds ``field`` in ``Fleet.to_arrow()``."""
    if field.kind in SUPPORTED:
        return str(field)
    raise ValueError(f"{field} is not read by any benchmark workload, so the peers do not map it")


def fields_of(expr: ir.Expr) -> list[Field]:
    """Every field ``expr`` reads, in order of first appearance."""
    if isinstance(expr, (ir.And, ir.Or)):
        found = [f for o in expr.operands for f in fields_of(o)]
    elif isinstance(expr, ir.Not):
        found = fields_of(expr.operand)
    elif isinstance(expr, ir.Const):
        found = []
    else:
        found = [expr.field]
    return list(dict.fromkeys(found))


def instant(micros: int) -> dt.datetime:
    """A ``registeredAt`` IR value (microseconds since the epoch) as an aware UTC datetime, exactly."""
    return _EPOCH + dt.timedelta(microseconds=micros)


def full_match_regex(pattern: str) -> str:
    """``pattern`` anchored, for libraries whose regex search is unanchored."""
    return f"^(?:{pattern})$"


class Peer:
    """ECS semantics over a library's primitives; subclasses implement the primitives."""

    name = "peer"

    def evaluate(self, expr: ir.Expr):
        """The library's native boolean result for ``expr`` (what is timed)."""
        return self.express(expr)

    def express(self, expr: ir.Expr):
        """``expr`` in the library's terms: an array, a lazy expression or SQL text."""
        if isinstance(expr, ir.And):
            return self.all_of([self.express(o) for o in expr.operands])
        if isinstance(expr, ir.Or):
            return self.any_of([self.express(o) for o in expr.operands])
        if isinstance(expr, ir.Not):
            return self.negate(self.express(expr.operand))
        if isinstance(expr, ir.Const):
            return self.const(expr.value)
        return self.leaf(expr)

    def leaf(self, leaf: ir.Leaf):
        arrow_name(leaf.field)                  # raises for a subject the peers do not map
        groups = leaf.field.kind is Kind.TASK_GROUP
        if isinstance(leaf, ir.Exists):
            present = self.group_nonempty() if groups else self.exists(leaf.field)
            return present if leaf.present else self.negate(present)
        if isinstance(leaf, ir.Order):
            if leaf.field.kind not in NUMERIC:
                raise ValueError(f"{self.name}: ordering on {leaf.field} is not in the benchmark workloads")
            return self.compare(leaf.field, leaf.op, leaf.value)
        if isinstance(leaf, ir.OneOf):
            values = sorted(leaf.values)
            positive = self.group_any(values=values) if groups else self.one_of(leaf.field, values)
        else:
            positive = self.group_any(pattern=leaf.pattern) if groups else self.matches(leaf.field, leaf.pattern)
        if not leaf.negated:
            return positive
        valued = self.group_nonempty() if groups else self.has_value(leaf.field)
        return self.all_of([valued, self.negate(positive)])

    def to_mask(self, result) -> np.ndarray:
        return np.asarray(result, dtype=bool)

    # boolean combinators for array-like results (numpy, pandas); lazy peers override them
    def all_of(self, items):
        return functools.reduce(operator.and_, items)

    def any_of(self, items):
        return functools.reduce(operator.or_, items)

    def negate(self, item):
        return ~item


# -- numpy: placement's own code arrays, one lookup table per leaf ---------------------------------

class NumpyPeer(Peer):
    """Hand-written numpy: ``table[codes]`` per leaf over placement's columns, combined with & | ~."""

    name = "numpy"

    def __init__(self, columns: Columns):
        self.columns = columns
        self.n = len(columns)
        self.parents = np.repeat(np.arange(self.n), np.diff(columns.groups.offsets))  # row of each pair

    def _dictionary(self, field: Field):
        return self.columns.attributes.get(field.name)

    def _lookup(self, field: Field, value_test) -> np.ndarray:
        column = self._dictionary(field)
        if column is None:
            return np.zeros(self.n, dtype=bool)
        table = column.table([value_test(v) for v in column.dictionary])   # absent, value-less: false
        return table[column.codes]

    def _numbers(self, field: Field) -> np.ndarray | None:
        """The int64 column of a numeric field (``INT_ABSENT`` where absent), else None."""
        if field.kind is Kind.RUNNING_TASKS:
            return self.columns.running_tasks
        return self.columns.registered_at if field.kind is Kind.REGISTERED_AT else None

    def one_of(self, field, values):
        numbers = self._numbers(field)
        if numbers is not None:
            return np.isin(numbers, values) & (numbers != INT_ABSENT)
        wanted = set(values)
        return self._lookup(field, wanted.__contains__)

    def matches(self, field, pattern):
        regex = re.compile(pattern)
        return self._lookup(field, lambda v: regex.fullmatch(v) is not None)

    def has_value(self, field):
        numbers = self._numbers(field)
        if numbers is not None:
            return numbers != INT_ABSENT
        column = self._dictionary(field)
        return np.zeros(self.n, dtype=bool) if column is None else column.codes < column.absent_code

    def exists(self, field):
        column = self._dictionary(field)
        return np.zeros(self.n, dtype=bool) if column is None else column.codes != column.absent_code

    def compare(self, field, op, value):
        numbers = self._numbers(field)
        return _COMPARE[op](numbers, value) & (numbers != INT_ABSENT)

    def group_any(self, values=None, pattern=None):
        groups = self.columns.groups
        regex = re.compile(pattern) if pattern is not None else None
        table = np.array([g in values if regex is None else regex.fullmatch(g) is not None
                          for g in groups.dictionary] or [False], dtype=bool)
        mask = np.zeros(self.n, dtype=bool)
        mask[self.parents[table[groups.codes]]] = True
        return mask

    def group_nonempty(self):
        offsets = self.columns.groups.offsets
        return offsets[1:] > offsets[:-1]

    def const(self, value):
        return np.full(self.n, value)


# -- pandas: categorical columns; task:group as a long (row, group) frame ---------------------------

class PandasPeer(Peer):
    name = "pandas"

    def __init__(self, table):
        import pandas as pd
        self.pd = pd
        self.n = table.num_rows
        self.frame = table.drop_columns([GROUPS]).to_pandas() if GROUPS in table.column_names else table.to_pandas()
        self.long = _long_groups(table, pd) if GROUPS in table.column_names else None

    def _series(self, field):
        name = arrow_name(field)
        return self.frame[name] if name in self.frame.columns else None

    def _never(self):
        return self.pd.Series(np.zeros(self.n, dtype=bool))

    def _literal(self, field, value):
        return self.pd.Timestamp(instant(value)) if field.kind is Kind.REGISTERED_AT else value

    def one_of(self, field, values):
        s = self._series(field)
        if s is None or s.dtype == bool:
            return self._never()
        values = [self._literal(field, v) for v in values]     # NaT equals nothing
        return s == values[0] if len(values) == 1 else s.isin(values)

    def matches(self, field, pattern):
        s = self._series(field)
        if s is None or s.dtype == bool:
            return self._never()
        return s.str.fullmatch(pattern, na=False).astype(bool)

    def has_value(self, field):
        s = self._series(field)
        return self._never() if s is None or s.dtype == bool else s.notna()

    def exists(self, field):
        s = self._series(field)
        return self._never() if s is None else s if s.dtype == bool else s.notna()

    def compare(self, field, op, value):
        return _COMPARE[op](self.frame[arrow_name(field)], self._literal(field, value))   # NaT: false

    def group_any(self, values=None, pattern=None):
        groups = self.long["group"]
        hit = groups.isin(values) if pattern is None else groups.str.fullmatch(pattern, na=False).astype(bool)
        mask = np.zeros(self.n, dtype=bool)
        mask[self.long["row"].to_numpy()[hit.to_numpy()]] = True
        return self.pd.Series(mask)

    def group_nonempty(self):
        mask = np.zeros(self.n, dtype=bool)
        mask[self.long["row"].to_numpy()] = True
        return self.pd.Series(mask)

    def const(self, value):
        return self.pd.Series(np.full(self.n, value))


def _long_groups(table, pd):
    """``task:group`` exploded: one (row, categorical group) pair per running task."""
    import pyarrow.compute as pc
    column = table.column(GROUPS).combine_chunks()
    return pd.DataFrame({"row": pc.list_parent_indices(column).to_numpy(),
                         "group": pc.list_flatten(column).to_pandas().astype("category")})


# -- polars: categorical columns, expressions, one select ------------------------------------------

class PolarsPeer(Peer):
    """Polars expressions; ``task:group`` as List(Categorical); one ``select`` per workload."""

    name = "polars"

    def __init__(self, table):
        import polars as pl
        self.pl = pl
        frame = pl.from_arrow(table)
        if GROUPS in frame.columns:
            frame = frame.with_columns(pl.col(GROUPS).cast(pl.List(pl.Categorical)))
        self.frame = frame

    def evaluate(self, expr):
        return self.frame.select(self.express(expr).alias("mask")).to_series()

    def to_mask(self, result):
        return result.to_numpy()

    def _kind(self, field):
        dtype = self.frame.schema.get(arrow_name(field))
        return None if dtype is None else "valueless" if dtype == self.pl.Boolean else "valued"

    def _never(self):
        return self.pl.repeat(False, self.pl.len())

    def _literal(self, field, value):
        return self.pl.lit(instant(value)) if field.kind is Kind.REGISTERED_AT else value

    def one_of(self, field, values):
        if field.kind not in NUMERIC and self._kind(field) != "valued":
            return self._never()
        if field.kind is Kind.REGISTERED_AT:
            values = self.pl.Series([instant(v) for v in values], dtype=self.frame.schema[arrow_name(field)]).implode()
        return self.pl.col(arrow_name(field)).is_in(values).fill_null(False)

    def matches(self, field, pattern):
        if self._kind(field) != "valued":
            return self._never()
        name = arrow_name(field)
        categories = self.frame.schema[name].categories.to_series()    # over the dictionary
        matching = categories.filter(categories.str.contains(full_match_regex(pattern)))
        return self.pl.col(name).is_in(matching.implode()).fill_null(False)

    def has_value(self, field):
        kind = self._kind(field)
        return self._never() if kind != "valued" else self.pl.col(arrow_name(field)).is_not_null()

    def exists(self, field):
        kind = self._kind(field)
        if kind is None:
            return self._never()
        column = self.pl.col(arrow_name(field))
        return column.fill_null(False) if kind == "valueless" else column.is_not_null()

    def compare(self, field, op, value):
        return _COMPARE[op](self.pl.col(arrow_name(field)), self._literal(field, value)).fill_null(False)

    def group_any(self, values=None, pattern=None):
        element = self.pl.element()
        test = element.is_in(values) if pattern is None else element.cast(self.pl.String).str.contains(
            full_match_regex(pattern))
        return self.pl.col(GROUPS).list.eval(test).list.any().fill_null(False)

    def group_nonempty(self):
        return (self.pl.col(GROUPS).list.len() > 0).fill_null(False)

    def all_of(self, items):
        return self.pl.all_horizontal(items)

    def any_of(self, items):
        return self.pl.any_horizontal(items)

    def negate(self, item):
        return ~item

    def const(self, value):
        return self.pl.repeat(value, self.pl.len())


# -- DuckDB: SQL over the registered Arrow table ---------------------------------------------------

class DuckdbPeer(Peer):
    """One SQL ``SELECT <mask> FROM fleet`` over the Arrow table; ``threads`` per connection."""

    def __init__(self, table, threads: int | None):
        import duckdb
        self.connection = duckdb.connect()
        if threads is not None:
            self.connection.execute(f"SET threads={threads}")
        self.threads = self.connection.sql("SELECT current_setting('threads')").fetchall()[0][0]
        self.name = f"duckdb {self.threads}t"
        self.types = {name: table.schema.field(name).type for name in table.column_names}
        self.connection.register("fleet", table)

    def sql(self, expr) -> str:
        return f"SELECT {self.express(expr)} AS mask FROM fleet"

    def evaluate(self, expr):
        return self.connection.sql(self.sql(expr)).to_arrow_table()

    def to_mask(self, result):
        return result.column("mask").to_numpy()

    def _kind(self, field):
        import pyarrow as pa
        dtype = self.types.get(arrow_name(field))
        return None if dtype is None else "valueless" if pa.types.is_boolean(dtype) else "valued"

    def one_of(self, field, values):
        if field.kind not in NUMERIC and self._kind(field) != "valued":
            return "false"
        items = ", ".join(_sql_value(field, v) for v in values)
        if len(values) > 4:     # DuckDB 2.0 with 2 threads answers a long IN (or list_contains) wrongly
            equalities = " OR ".join(f"{_sql_name(field)} = {_sql_value(field, v)}" for v in values)
            return f"coalesce({equalities}, false)"
        return f"coalesce({_sql_name(field)} IN ({items}), false)"

    def matches(self, field, pattern):
        if self._kind(field) != "valued":
            return "false"
        return f"coalesce(regexp_full_match({_sql_name(field)}, {_sql_literal(pattern)}), false)"

    def has_value(self, field):
        return f"({_sql_name(field)} IS NOT NULL)" if self._kind(field) == "valued" else "false"

    def exists(self, field):
        kind = self._kind(field)
        if kind is None:
            return "false"
        return f"coalesce({_sql_name(field)}, false)" if kind == "valueless" else f"({_sql_name(field)} IS NOT NULL)"

    def compare(self, field, op, value):
        return f"coalesce({_sql_name(field)} {op} {_sql_value(field, value)}, false)"

    def group_any(self, values=None, pattern=None):
        column = _sql_name(GROUPS)
        if pattern is None:
            items = ", ".join(_sql_literal(v) for v in values)
            return f"coalesce(list_has_any({column}, [{items}]), false)"
        test = f"list_filter({column}, lambda g: regexp_full_match(g, {_sql_literal(pattern)}))"
        return f"coalesce(len({test}) > 0, false)"

    def group_nonempty(self):
        return f"coalesce(len({_sql_name(GROUPS)}) > 0, false)"

    def all_of(self, items):
        return "(" + " AND ".join(items) + ")"

    def any_of(self, items):
        return "(" + " OR ".join(items) + ")"

    def negate(self, item):
        return f"(NOT {item})"

    def const(self, value):
        return "true" if value else "false"


def _sql_name(field_or_name) -> str:
    name = field_or_name if isinstance(field_or_name, str) else arrow_name(field_or_name)
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(value) -> str:
    return str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def _sql_value(field: Field, value) -> str:
    """An IR value as a literal of the field's column type (``registeredAt``: TIMESTAMPTZ with offset)."""
    if field.kind is Kind.REGISTERED_AT:
        return f"TIMESTAMPTZ '{instant(value).isoformat(sep=' ', timespec='microseconds')}'"
    return _sql_literal(value)


# -- pyarrow.compute: lookup tables over the dictionary, taken by the indices ----------------------

class ArrowPeer(Peer):
    """pyarrow.compute kernels; dictionary columns as ``take(lookup table, indices)``."""

    name = "pyarrow"

    def __init__(self, table):
        import pyarrow as pa
        import pyarrow.compute as pc
        self.pa, self.pc = pa, pc
        self.n = table.num_rows
        self.arrays = {name: table.column(name).combine_chunks() for name in table.column_names}

    def to_mask(self, result):
        return result.to_numpy(zero_copy_only=False)

    def _array(self, field):
        return self.arrays.get(arrow_name(field))

    def _valued(self, field):
        array = self._array(field)
        return array if array is not None and self.pa.types.is_dictionary(array.type) else None

    def _never(self):
        return self.const(False)

    def _lookup(self, array, table):
        return self.pc.take(table, array.indices).fill_null(False)

    def _numbers(self, field):
        """The int64 / timestamp array of a numeric field (null where absent), else None."""
        return self._array(field) if field.kind in NUMERIC else None

    def one_of(self, field, values):
        pc = self.pc
        numbers = self._numbers(field)
        if numbers is not None:     # int64 values become the column's type (timestamp[us, UTC])
            return pc.is_in(numbers, value_set=self.pa.array(values, numbers.type)).fill_null(False)
        array = self._valued(field)
        if array is None:
            return self._never()
        return self._lookup(array, pc.is_in(array.dictionary, value_set=self.pa.array(values, self.pa.string())))

    def matches(self, field, pattern):
        array = self._valued(field)
        if array is None:
            return self._never()
        return self._lookup(array, self.pc.match_substring_regex(array.dictionary, full_match_regex(pattern)))

    def has_value(self, field):
        array = self._valued(field) if field.kind not in NUMERIC else self._numbers(field)
        return self._never() if array is None else self.pc.is_valid(array)

    def exists(self, field):
        array = self._array(field)
        if array is None:
            return self._never()
        return array.fill_null(False) if self.pa.types.is_boolean(array.type) else self.pc.is_valid(array)

    def compare(self, field, op, value):
        name = {">": "greater", ">=": "greater_equal", "<": "less", "<=": "less_equal"}[op]
        array = self._numbers(field)
        return getattr(self.pc, name)(array, self.pa.scalar(value, array.type)).fill_null(False)

    def group_any(self, values=None, pattern=None):
        pc, groups = self.pc, self.arrays[GROUPS]
        names = pc.list_flatten(groups)
        hit = (pc.is_in(names, value_set=self.pa.array(values, self.pa.string())) if pattern is None
               else pc.match_substring_regex(names, full_match_regex(pattern)))
        rows = pc.filter(pc.list_parent_indices(groups), hit).to_numpy()
        mask = np.zeros(self.n, dtype=bool)
        mask[rows] = True                      # Arrow has no scatter; numpy sets the selected rows
        return self.pa.array(mask)

    def group_nonempty(self):
        return self.pc.greater(self.pc.list_value_length(self.arrays[GROUPS]), 0).fill_null(False)

    def all_of(self, items):
        return functools.reduce(self.pc.and_, items)

    def any_of(self, items):
        return functools.reduce(self.pc.or_, items)

    def negate(self, item):
        return self.pc.invert(item)

    def const(self, value):
        return self.pa.array(np.full(self.n, value))
