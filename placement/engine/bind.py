"""Stage ``bind``: ``Plan`` x ``Columns`` -> ``Bound``, a kernel ``Program`` ready to run.

Each ``ColumnTest`` over a string column is evaluated once per **dictionary entry** (plus the
absent and value-less codes) into a boolean table, with numpy over the dictionary: no string is
touched per instance. A table that is true exactly where the row has the attribute (``exists``,
or false exactly there) reads the column's presence bitmap, a bit per row. A table whose true
entries form at most ``MAX_RANGES`` runs of codes (or whose false entries do) becomes range
compares, which vectorise; otherwise the kernel gathers from the table. Numeric tests become int64 ranges from ``intervals``. After bind nothing can fail.

``bind_trace`` binds a trace plan (``plan.trace_plan``, the expression as written) for the
kernel's trace mode: one kernel node per node, each leaf bound by the same ``_leaf_spec``.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from placement.engine.kernels import ColumnType, GroupMode, NodeKind, Program
from placement.engine.plan import All, Any, ColumnTest, Const, GroupTest, Node, Plan, TracePlan
from placement.fleet.columns import Columns, DictionaryColumn
from placement.lang import intervals, ir, trees
from placement.lang.ir import Kind
from placement.lang.patterns import compile_pattern
from placement.values import INT_MAX, parse_number

MAX_RANGES = 32         # up to here, range compares (eight a pass) beat a table gather (see benchmarks)
_MASK64 = (1 << 64) - 1
_COLUMN_TYPE = {np.dtype(np.uint8): ColumnType.COL_U8, np.dtype(np.uint16): ColumnType.COL_U16,
                np.dtype(np.uint32): ColumnType.COL_U32}
_TABLE_SIZE = {ColumnType.COL_U8: 1 << 8, ColumnType.COL_U16: 1 << 16}
NARROWED = {Kind.AGENT_VERSION: "agent_version", Kind.REGISTERED_AT: "registered_at"}
_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True, eq=False)
class Bound:
    plan: Plan
    columns: Columns
    program: Program
    notes: tuple[str, ...]          # what each node became, for explain

    def run(self, threads: int = 1, packed: bool = False):
        return self.program.run(threads, packed)

    def explain(self) -> str:
        return "\n".join((self.plan.explain(), "bound:", *(f"  {note}" for note in self.notes)))


class PlacedState(Protocol):
    """What a placer keeps of the state placement changes, one int64 per row of the columns:
    ``runningTasksCount`` and, per ``task:group`` leaf, the tasks on the row whose group it names."""

    running: np.ndarray
    group_total: np.ndarray

    def group_hits(self, leaf: ir.Leaf) -> np.ndarray: ...


def bind(plan: Plan, columns: Columns, program: type = Program, state: PlacedState | None = None) -> Bound:
    """``program``: the kernel build to bind for (the one ``placement.engine.kernels`` chose).
    With ``state``, ``runningTasksCount`` and ``task:group`` read it instead of the columns."""
    specs: list[tuple | None] = []
    notes: list[str] = []
    _emit(plan.root, columns, specs, notes, state)
    return Bound(plan, columns, program(len(columns), specs), tuple(notes))


def _spec(kind, column_type=0, invert=False, value=False, column=None, lo=None, span=None, table=None,
          offsets=None, group_codes=None, mode=0, children=()):
    return (kind, column_type, invert, value, column, lo, span, table, offsets, group_codes, mode, list(children))


def _emit(root: Node, columns: Columns, specs: list, notes: list[str], state=None) -> None:
    """The kernel's nodes in preorder: a parent's slot comes first, its children follow."""
    index_at: list[int] = []                # preorder position -> index in specs
    for node, parent in trees.preorder(root):
        index = len(specs)
        index_at.append(index)
        if parent is not None:
            specs[index_at[parent]][11].append(index)
        if isinstance(node, (All, Any)):
            specs.append(_spec(NodeKind.NODE_ALL if isinstance(node, All) else NodeKind.NODE_ANY))
            continue
        specs.append(None)
        if isinstance(node, Const):
            specs[index], note = _spec(NodeKind.NODE_CONST, value=node.value), "const"
        elif isinstance(node, GroupTest) and state is not None:
            specs[index], note = _placed_group_spec(node, state, specs)
        elif isinstance(node, GroupTest):
            specs[index], note = _group_spec(node, columns)
        elif node.field.kind is Kind.RUNNING_TASKS and state is not None:
            specs[index], note = _count_spec(intervals.of(node.expr), state.running), "runningTasksCount: placed state"
        elif node.field.kind in NARROWED and isinstance(columns, Columns):
            specs[index], note = _narrowed_spec(node, columns, specs)
        else:
            specs[index], note = _leaf_spec(node, columns)
        notes.append(f"#{index} {note}")


def _leaf_spec(node: ColumnTest | GroupTest, columns: Columns):
    if isinstance(node, GroupTest):
        return _group_spec(node, columns)
    if node.field.kind in intervals.NUMERIC_KINDS:
        return _numeric_spec(node, columns)
    return _dictionary_spec(node, columns)


# -- the trace mode -------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class TraceBound:
    """A trace plan bound to columns: kernel node ``i`` is trace node ``i``."""

    plan: TracePlan
    columns: Columns
    program: Program
    notes: tuple[str, ...]

    def counts(self) -> np.ndarray:
        """Per trace node, the rows it is true for (int64), from the kernel's trace mode."""
        return self.program.trace()

    def values(self, row: int) -> np.ndarray:
        """Per trace node, its value (bool) on ``row``: the trace mode over that one row."""
        return self.program.trace(row, row + 1).astype(bool)

    def explain(self) -> str:
        return "\n".join((self.plan.explain(), "bound:", *(f"  {note}" for note in self.notes)))


def bind_trace(plan: TracePlan, columns: Columns, program: type = Program) -> TraceBound:
    """Every node of the expression as written becomes one kernel node, in the same order:
    and / or are ``all`` / ``any``, not is a one-operand ``all`` inverted, and each simple
    expression is bound by the code that binds ``evaluate``'s leaves."""
    specs: list[tuple] = []
    notes: list[str] = []
    for node in plan.nodes:
        if node.kind == "simple":
            spec, note = ((_spec(NodeKind.NODE_CONST, value=node.test.value), "const")
                          if isinstance(node.test, Const) else _leaf_spec(node.test, columns))
        else:
            kind = NodeKind.NODE_ANY if node.kind == "or" else NodeKind.NODE_ALL
            spec, note = _spec(kind, invert=node.kind == "not", children=node.children), node.kind
        specs.append(spec)
        notes.append(f"#{node.id} {note}")
    return TraceBound(plan, columns, program(len(columns), specs), tuple(notes))


def _ranges_spec(column, column_type: int, runs, invert: bool):
    lo = np.array([a & _MASK64 for a, _ in runs], dtype=np.uint64)
    span = np.array([b - a for a, b in runs], dtype=np.uint64)
    return _spec(NodeKind.NODE_RANGES, column_type, invert, column=column, lo=lo, span=span)


def _numeric_spec(node: ColumnTest, columns: Columns):
    keys = intervals.of(node.expr)
    if not keys or keys == intervals.EVERYTHING:
        return _spec(NodeKind.NODE_CONST, value=bool(keys)), f"const {bool(keys)} for {node.field}"
    if node.field.kind is Kind.RUNNING_TASKS:
        narrow = columns.narrow_running_tasks()
        if narrow.dtype != np.int64:       # counts are never absent nor negative: clip to the width
            top = np.iinfo(narrow.dtype).max
            runs = [(max(lo, 0), min(hi, top)) for lo, hi in keys if max(lo, 0) <= min(hi, top)]
            if not runs or runs == [(0, top)]:
                return _spec(NodeKind.NODE_CONST, value=bool(runs)), f"const {bool(runs)} for {node.field}"
            return (_ranges_spec(narrow, _COLUMN_TYPE[narrow.dtype], runs, False),
                    f"{node.field}: {len(runs)} {narrow.dtype} range(s)")
    column = {Kind.AGENT_VERSION: columns.agent_version, Kind.REGISTERED_AT: columns.registered_at,
              Kind.RUNNING_TASKS: columns.running_tasks}[node.field.kind]
    outside = intervals.complement(keys)
    invert = len(outside) < len(keys)
    runs = outside if invert else keys
    return _ranges_spec(column, ColumnType.COL_I64, runs, invert), f"{node.field}: {len(runs)} int64 range(s)" + (
        ", inverted" if invert else "")


def _narrowed_spec(node: ColumnTest, columns: Columns, specs: list):
    """A range test on agentVersion or registeredAt through the column's uint16 ``Buckets``:
    rows whose bucket lies strictly inside a range's end buckets are in; rows in an end bucket
    are checked against the int64 value, which the kernel skips for blocks with none of them.
    Appends the operands to ``specs`` (after this node's slot, as preorder needs)."""
    spec, note = _numeric_spec(node, columns)
    if spec[0] != NodeKind.NODE_RANGES:           # a constant: no buckets (a pass over the column) for it
        return spec, note
    name = NARROWED[node.field.kind]
    buckets = columns.narrowed(name)
    if buckets is None:
        return spec, note
    lo, span, invert = spec[5].tolist(), spec[6].tolist(), spec[2]
    runs = [(_signed(a), _signed(a) + b) for a, b in zip(lo, span)]
    inside, ends = [], set()
    for a, b in runs:
        first, last = buckets.bucket(a), buckets.bucket(b)
        for end in {first, last}:          # an end bucket wholly inside the range needs no check
            low, high = buckets.values_of(end)
            if a <= low and high <= b:
                inside.append((end, end))
            elif not (high < a or b < low):
                ends.add(end)
        if first + 1 <= last - 1:
            inside.append((first + 1, last - 1))
    inside = _merged(inside)
    if not ends:
        if not inside:
            return _spec(NodeKind.NODE_CONST, value=invert), f"const {invert} for {node.field} (no row in range)"
        return _ranges_spec(buckets.codes, ColumnType.COL_U16, inside, invert), f"{note}, as uint16 buckets"
    def exact_test(at: int) -> list:           # in an end bucket, and in range by the int64 value
        return [_spec(NodeKind.NODE_ALL, children=[at + 1, at + 2]),
                _ranges_spec(buckets.codes, ColumnType.COL_U16, [(e, e) for e in sorted(ends)], False),
                _ranges_spec(getattr(columns, name), ColumnType.COL_I64, runs, False)]

    at = len(specs)
    if not inside:
        specs += exact_test(at)[1:]
        return _spec(NodeKind.NODE_ALL, invert=invert, children=[at, at + 1]), f"{note}, through {len(ends)} uint16 end bucket(s)"
    specs += [_ranges_spec(buckets.codes, ColumnType.COL_U16, inside, False), *exact_test(at + 1)]
    return (_spec(NodeKind.NODE_ANY, invert=invert, children=[at, at + 1]),
            f"{note}, through uint16 buckets of width {buckets.width}")


def _merged(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for first, last in sorted(runs):
        if out and first <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return [(first, last) for first, last in out]


def _signed(pattern: int) -> int:
    return pattern - (1 << 64) if pattern >= 1 << 63 else pattern


def _count_spec(keys, counts: np.ndarray):
    """Ranges over an int64 count (never negative) that ``keys`` selects."""
    if not keys or keys == intervals.EVERYTHING:
        return _spec(NodeKind.NODE_CONST, value=bool(keys))
    outside = intervals.complement(keys)
    invert = len(outside) < len(keys)
    return _ranges_spec(counts, ColumnType.COL_I64, outside if invert else keys, invert)


def _placed_group_spec(node: GroupTest, state, specs: list):
    """A ``task:group`` leaf over a placer's counts: tasks on the row (``exists``), tasks in a
    group the leaf names (``==``, ``in``, ``=~``), or, negated, tasks but none of those."""
    leaf, some = node.leaf, [(1, INT_MAX)]
    if isinstance(leaf, ir.Exists):
        spec = _ranges_spec(state.group_total, ColumnType.COL_I64, some if leaf.present else [(0, 0)], node.invert)
        return spec, "task:group: placed state"
    hits = state.group_hits(leaf)
    if not leaf.negated:
        return _ranges_spec(hits, ColumnType.COL_I64, some, node.invert), "task:group: placed state"
    children = [len(specs), len(specs) + 1]             # runs a task, and none the leaf names
    specs += [_ranges_spec(state.group_total, ColumnType.COL_I64, some, False),
              _ranges_spec(hits, ColumnType.COL_I64, [(0, 0)], False)]
    return _spec(NodeKind.NODE_ALL, invert=node.invert, children=children), "task:group: placed state"


def _dictionary_column(field: ir.Field, columns: Columns) -> DictionaryColumn | None:
    if field.kind is Kind.ATTRIBUTE:
        return columns.attributes.get(field.name)
    return columns.instance_id if field.kind is Kind.INSTANCE_ID else columns.agent_connected


def _dictionary_spec(node: ColumnTest, columns: Columns):
    column = _dictionary_column(node.field, columns) or DictionaryColumn.absent(len(columns))
    table = dictionary_table(node.expr, column)
    if table.all() or not table.any():
        value = bool(table[0])
        return _spec(NodeKind.NODE_CONST, value=value), f"const {value} for {node.field} (decided by its dictionary)"
    where = f"{node.field}: {len(column.dictionary)} values, {column.codes.dtype.name}"
    present = table[column.valueless_code]
    if table[column.absent_code] != present and (len(table) == 2 or np.all(np.delete(table, column.absent_code) == present)):
        return (_spec(NodeKind.NODE_PRESENCE, invert=not present, column=column.presence()),
                f"{where}, presence bitmap" + ("" if present else ", inverted"))
    column_type = _COLUMN_TYPE[column.codes.dtype]
    runs_true = _runs(table)
    runs_false = _complement(runs_true, len(table))
    invert = len(runs_false) < len(runs_true)
    runs = runs_false if invert else runs_true
    if len(runs) <= MAX_RANGES:
        return _ranges_spec(column.codes, column_type, runs, invert), f"{where}, {len(runs)} code range(s)" + (
            ", inverted" if invert else "")
    padded = np.zeros(_TABLE_SIZE.get(column_type, len(table)), dtype=np.uint8)
    padded[:len(table)] = table
    return _spec(NodeKind.NODE_TABLE, column_type, column=column.codes, table=padded), f"{where}, table lookup"


def _runs(table: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (first, last) code runs where ``table`` is true."""
    if len(table) > 512:          # numpy wins on large dictionaries, a loop on the usual small ones
        edges = np.flatnonzero(np.diff(np.concatenate(([False], table, [False])).astype(np.int8)))
        return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]
    runs, start = [], None
    for code, value in enumerate(table.tolist()):
        if value and start is None:
            start = code
        elif not value and start is not None:
            runs.append((start, code - 1))
            start = None
    if start is not None:
        runs.append((start, len(table) - 1))
    return runs


def _complement(runs: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The runs of codes in ``range(size)`` outside ``runs``."""
    out, start = [], 0
    for first, last in runs:
        if first > start:
            out.append((start, first - 1))
        start = last + 1
    if start < size:
        out.append((start, size - 1))
    return out


def dictionary_table(expr: ir.Expr, column: DictionaryColumn) -> np.ndarray:
    """``expr`` on every code of ``column`` (its values, absent and value-less), in code order."""
    truth, absent, valueless = _on_dictionary(expr, column)
    return column.table(truth, absent, valueless)


def _on_dictionary(expr: ir.Expr, column: DictionaryColumn) -> tuple[np.ndarray, bool, bool]:
    """``expr`` on each dictionary entry, on an absent value and on a value-less one."""
    size = len(column.dictionary)

    def truth(node: ir.Expr, parts: list[tuple[np.ndarray, bool, bool]]) -> tuple[np.ndarray, bool, bool]:
        if isinstance(node, ir.Const):
            return np.full(size, node.value), node.value, node.value
        if isinstance(node, ir.Not):
            values, absent, valueless = parts[0]
            return ~values, not absent, not valueless
        if isinstance(node, (ir.And, ir.Or)):
            every = isinstance(node, ir.And)
            combine, fold = (np.logical_and, all) if every else (np.logical_or, any)
            return (functools.reduce(combine, (p[0] for p in parts)), fold(p[1] for p in parts),
                    fold(p[2] for p in parts))
        if isinstance(node, ir.Exists):        # values and value-less exist; absent does not
            return np.full(size, node.present), not node.present, node.present
        values = np.zeros(size, dtype=bool)
        if isinstance(node, ir.OneOf):
            for value in node.values:
                code = column.code_of(value)
                if code is not None:
                    values[code if code < column.absent_code else code - 2] = True
        elif isinstance(node, ir.Match):
            values = _matches(column, node.pattern)
        else:
            values = _COMPARE[node.op](_numbers(column), node.value)
        if getattr(node, "negated", False):
            values = ~values
        return values, False, False            # absent and value-less stay false: the absent rule

    return trees.fold(expr, truth)


def _matches(column: DictionaryColumn, pattern: str) -> np.ndarray:
    regex = compile_pattern(pattern)
    texts = (("true" if v else "false") if isinstance(v, bool) else v for v in column.dictionary)
    return np.fromiter((regex.fullmatch(t) is not None for t in texts), dtype=bool, count=len(column.dictionary))


def _numbers(column: DictionaryColumn) -> np.ndarray:
    """The dictionary read as numbers (NaN where it is not one: NaN compares false)."""
    cached = column.__dict__.get("_numbers")
    if cached is None:
        parsed = (parse_number(v) for v in column.dictionary)
        cached = np.fromiter((np.nan if v is None else v for v in parsed), dtype=float, count=len(column.dictionary))
        column.__dict__["_numbers"] = cached
    return cached


def _group_spec(node: GroupTest, columns: Columns):
    leaf, groups = node.leaf, columns.groups
    bitmap = groups.bitmap()
    if bitmap is not None:
        return _bits_spec(node, groups, bitmap)
    table = np.zeros(max(1, len(groups.dictionary)), dtype=np.uint8)
    if isinstance(leaf, ir.Exists):
        mode = GroupMode.GROUP_NONEMPTY if leaf.present else GroupMode.GROUP_EMPTY
    else:
        table[:len(groups.dictionary)] = group_hits(leaf, groups.dictionary)
        mode = GroupMode.GROUP_NONE if leaf.negated else GroupMode.GROUP_ANY
    spec = _spec(NodeKind.NODE_GROUP, invert=node.invert, table=table, offsets=groups.offsets,
                 group_codes=groups.codes, mode=mode)
    return spec, f"task:group: {len(groups.dictionary)} groups, {len(groups.codes)} (instance, group) pairs"


def group_hits(leaf: ir.Leaf, dictionary) -> list[bool]:
    """Which of the group names in ``dictionary`` the leaf's values or pattern name."""
    if isinstance(leaf, ir.OneOf):
        return [group in leaf.values for group in dictionary]
    regex = compile_pattern(leaf.pattern)
    return [regex.fullmatch(group) is not None for group in dictionary]


def _bits_spec(node: GroupTest, groups, bitmap: np.ndarray):
    leaf = node.leaf
    mask = 0
    if isinstance(leaf, ir.Exists):
        mode = GroupMode.GROUP_NONEMPTY if leaf.present else GroupMode.GROUP_EMPTY
    else:
        mask = sum(1 << code for code, hit in enumerate(group_hits(leaf, groups.dictionary)) if hit)
        mode = GroupMode.GROUP_NONE if leaf.negated else GroupMode.GROUP_ANY
    column_type = {1: ColumnType.COL_U8, 2: ColumnType.COL_U16, 4: ColumnType.COL_U32,
                   8: ColumnType.COL_I64}[bitmap.dtype.itemsize]
    spec = _spec(NodeKind.NODE_BITS, column_type, node.invert, column=bitmap,
                 lo=np.array([mask], dtype=np.uint64), mode=mode)
    return spec, f"task:group: {len(groups.dictionary)} groups as a {bitmap.dtype} bitmap"
