"""Per-node counts (``explain``) and one instance's answer node by node (``why``): SPEC 1.7.

Design. ``evaluate`` runs the plan of the *simplified* expression: negations pushed to the
leaves, and/or flattened, operands on one field merged into one lookup, constants folded,
operands reordered. That is not the expression the user wrote, and carrying node ids through
every rewrite of ``simplify`` would tie each of its passes to explain. So explain traces a second
program: ``placement.engine.plan.trace_plan`` is built from the *checked but unsimplified* IR, one
node per node as written (and, or, not, simple), each with its id and span; ``bind_trace`` binds
it with the code that binds ``evaluate``'s leaves (the same dictionary tables and code ranges);
and the kernel's trace mode (``Program.trace``) runs it with the same leaf loops and the same
combine, without early exit, counting each node's true rows as it goes. Every count is what the
compiled kernel computed for that node: none comes from the reference evaluator or from Python
re-evaluating a node. The traced root and ``evaluate``'s simplified plan are two programs for one
meaning; the tests check that they agree on every instance, and every node against the
reference evaluator's count of its subexpression, on random expressions and fleets. The cost is
one pass per node over the fleet (no node is skipped), a few milliseconds at a million rows.

``why`` runs the same trace over the instance's one row, which gives every node's value, and adds
to each simple node the instance's value of its subject, read from that row of the columns. In
JSON, ``"actual"`` is that value: a string (attributes, ec2InstanceId), true / false
(agentConnected), a number (runningTasksCount), text (agentVersion ``1.14.5``, registeredAt
ISO 8601), the sorted list of the instance's groups (task:group). Absent is ``"actual": null,
"absent": true``; value-less is ``"actual": null, "valueless": true``, so that no real value can
be taken for either. In text they are ``(absent)`` and ``(value-less)``, which no value prints
as (a value in parentheses is printed quoted, as the language writes it).

Instances are named by their containerInstanceArn, by the id at the end of the ARN (whole, or
a prefix of it that only one instance has, like the 12 characters the command line prints), or
by their position in the fleet (an int; from the command line, digits that name no id).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from placement.errors import InputError, Span
from placement.fleet.columns import Columns
from placement.fleet.model import Fleet
from placement.lang import ir, trees
from placement.lang.ast import literal_text
from placement.lang.ir import Kind
from placement.values import ABSENT, INT_ABSENT, VALUELESS, format_micros, format_version, unpack_version

KINDS = ("and", "or", "not", "simple")
_DID_YOU_MEAN_UP_TO = 10_000        # fleets up to this size get a did-you-mean on unknown ids


@dataclass(frozen=True)
class Actual:
    """An instance's value of a simple node's subject, for ``why``."""

    value: object = None            # JSON-ready: str, bool, int or a list of str; None when absent / value-less
    absent: bool = False
    valueless: bool = False

    def to_json(self) -> dict:
        out: dict = {"actual": self.value}
        if self.absent:
            out["absent"] = True
        if self.valueless:
            out["valueless"] = True
        return out

    def text(self) -> str:
        if self.absent:
            return "(absent)"
        if self.valueless:
            return "(value-less)"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, list):
            return "[" + ", ".join(literal_text(g) for g in self.value) + "]" if self.value else "(no tasks)"
        return literal_text(self.value) if isinstance(self.value, str) else str(self.value)


@dataclass(frozen=True, eq=False, repr=False)
class Node(trees.Compound):
    """One node of the expression as written, with what the fleet made of it. The node keeps the
    source, not its own text: the texts of a deep tree's nodes nest, and together would be
    length x depth characters."""

    CHILDREN = "children"
    id: int                         # preorder position: the trace plan's and the kernel's node id
    kind: str                       # "and" | "or" | "not" | "simple"
    source: str = field(repr=False)
    span: Span                      # [start, end) of ``text`` in the source
    count: int                      # instances the node is true for
    children: tuple["Node", ...]
    expr: ir.Expr = field(repr=False, compare=False)    # the node's checked subexpression
    value: bool | None = None       # why: the node's value on the instance
    actual: Actual | None = None    # why, simple nodes: the instance's value of the subject

    @property
    def text(self) -> str:
        """The source text of the node, as written."""
        return self.source[self.span.start:self.span.end]

    def to_json(self) -> dict:
        def document(node: Node, children: list[dict]) -> dict:
            out: dict = {"kind": node.kind, "text": node.text, "span": node.span.as_list(), "count": node.count}
            if node.value is not None:
                out["value"] = node.value
            if node.actual is not None:
                out.update(node.actual.to_json())
            out["children"] = children
            return out
        return trees.fold(self, document)


@dataclass(frozen=True)
class Explanation:
    """``Predicate.explain`` / ``Predicate.why``: the tree, the fleet's size and, for ``why``,
    the instance (its ARN and position)."""

    source: str
    total: int
    tree: Node
    instance: str | None = None
    position: int | None = None

    @property
    def count(self) -> int:
        """How many instances the whole expression selects (``evaluate``'s count)."""
        return self.tree.count

    @property
    def selected(self) -> bool | None:
        """For ``why``: whether the instance is selected; None for ``explain``."""
        return self.tree.value

    def nodes(self) -> Iterator[Node]:
        """Every node, in preorder (the order of ``id``)."""
        stack = [self.tree]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def to_json(self) -> dict:
        """SPEC 1.7: ``{"total": N, "tree": NODE}``; ``why`` adds ``"instance": {"arn", "position"}``."""
        out: dict = {"total": self.total}
        if self.instance is not None:
            out["instance"] = {"arn": self.instance, "position": self.position}
        out["tree"] = self.tree.to_json()
        return out

    def render(self) -> str:
        """The expression drawn as a tree, a count per node (``120/200``); for ``why`` a first line
        naming the instance, and per node true / false and, on simple nodes, the actual value."""
        rows: list[tuple[str, str, str, str]] = []
        _rows(self.tree, self.total, rows)
        width = min(max(len(r[0]) for r in rows), 72)
        count_width = max(len(r[1]) for r in rows)
        lines = []
        if self.instance is not None:
            lines.append(f"instance {_short(self.instance)} (position {self.position}): "
                         f"{'selected' if self.selected else 'not selected'}")
        for label, counted, value, actual in rows:
            cells = [label.ljust(width), counted.rjust(count_width)]
            if self.instance is not None:
                cells.append(value.ljust(5))
                if actual:
                    cells.append(f"actual: {actual}")
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)


def _rows(tree: Node, total: int, rows: list) -> None:
    """Depth-first, with box-drawing prefixes: ``lead`` for a node's line, ``prefix`` for its children's."""
    stack = [(tree, "", "")]
    while stack:
        node, lead, prefix = stack.pop()
        label = node.kind if node.kind != "simple" else node.text.replace("\n", " ").replace("\r", " ")
        rows.append((lead + label, f"{node.count}/{total}",
                     "" if node.value is None else ("true" if node.value else "false"),
                     node.actual.text() if node.actual is not None else ""))
        last = len(node.children) - 1
        for i, child in reversed(list(enumerate(node.children))):
            branch, below = ("└── ", "    ") if i == last else ("├── ", "│   ")
            stack.append((child, prefix + branch, prefix + below))


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1][:12]


# -- building ------------------------------------------------------------------------------------

def _trace(predicate, fleet: Fleet):
    if not isinstance(fleet, Fleet):
        raise InputError(f"expected a Fleet, got {type(fleet).__name__}")
    from placement.engine.bind import bind_trace
    from placement.engine.plan import trace_plan
    return bind_trace(trace_plan(predicate.ir, predicate.source), fleet.columns)


def _build(bound, counts: np.ndarray, values: np.ndarray | None = None, row: int | None = None) -> Node:
    """The tree, bottom-up over the preorder (children have larger ids than their parent)."""
    plan = bound.plan
    built: dict[int, Node] = {}
    counts = counts.tolist()
    for node in reversed(plan.nodes):
        value = None if values is None else bool(values[node.id])
        actual = actual_value(node.expr, bound.columns, row) if row is not None and node.kind == "simple" else None
        built[node.id] = Node(node.id, node.kind, plan.source, node.span, counts[node.id],
                              tuple(built.pop(kid) for kid in node.children), node.expr, value, actual)
    return built[0]


def explain(predicate, fleet: Fleet) -> Explanation:
    """Every node of ``predicate`` as written, with the number of instances it is true for."""
    bound = _trace(predicate, fleet)
    return Explanation(predicate.source, len(fleet), _build(bound, bound.counts()))


def why(predicate, fleet: Fleet, instance: str | int) -> Explanation:
    """``explain``, plus every node's value on ``instance`` and each simple node's actual value."""
    position = locate(fleet, instance) if isinstance(fleet, Fleet) else None
    bound = _trace(predicate, fleet)
    tree = _build(bound, bound.counts(), bound.values(position), position)
    return Explanation(predicate.source, len(fleet), tree, fleet.columns.arns[position], position)


def actual_value(expr: ir.Expr, columns: Columns, row: int) -> Actual | None:
    """The value in ``row`` of the subject a simple expression reads (None for a constant), read
    from the columns: one row's codes, no per-fleet index built."""
    if not hasattr(expr, "field"):
        return None
    kind = expr.field.kind
    if kind is Kind.TASK_GROUP:
        return Actual(sorted(group for group, n in columns.groups.groups_at(row).items() if n > 0))
    if kind is Kind.RUNNING_TASKS:
        return Actual(int(columns.running_tasks[row]))
    if kind in (Kind.AGENT_VERSION, Kind.REGISTERED_AT):
        packed = int((columns.agent_version if kind is Kind.AGENT_VERSION else columns.registered_at)[row])
        if packed == INT_ABSENT:
            return Actual(absent=True)
        return Actual(format_version(unpack_version(packed)) if kind is Kind.AGENT_VERSION else format_micros(packed))
    if kind is Kind.ATTRIBUTE:
        column = columns.attributes.get(expr.field.name)
    else:
        column = columns.instance_id if kind is Kind.INSTANCE_ID else columns.agent_connected
    value = ABSENT if column is None else column.value_at(row)
    if value is ABSENT:
        return Actual(absent=True)
    if value is VALUELESS:
        return Actual(valueless=True)
    return Actual(bool(value) if kind is Kind.AGENT_CONNECTED else value)


def locate(fleet: Fleet, instance: str | int) -> int:
    """The position of ``instance``: an ARN, the id at the end of one (or a prefix only one
    instance's id has), or a position (an int, or a string of digits that is no whole id)."""
    n = len(fleet)
    if isinstance(instance, (int, np.integer)) and not isinstance(instance, bool):
        if not 0 <= instance < n:
            raise InputError(f"no instance at position {instance}: the fleet has positions 0 to {n - 1}"
                             if n else f"no instance at position {instance}: the fleet is empty")
        return int(instance)
    if not isinstance(instance, str) or not instance:
        raise InputError(f"an instance is an ARN, an id or a position, not {instance!r}")
    if "/" in instance:                 # an ARN (one without a slash is its own id, found below)
        try:
            return fleet.position(instance)
        except InputError:
            pass
    arns = fleet.columns.arns
    exact, prefixed = _by_id(arns, instance)
    if instance.isdigit() and not exact and int(instance) < n:
        return int(instance)            # digits: a whole id if one is, else a position, else a prefix
    found = exact or prefixed
    if len(found) > 1:
        raise InputError(f"{instance!r} names {len(found)} instances", hint="give more of the id, or the ARN")
    if found:
        return found[0]
    if instance.isdigit():
        return locate(fleet, int(instance))
    close = []
    if n <= _DID_YOU_MEAN_UP_TO:          # compared as long as what was typed: a short id to short ids
        cut = {arn.rsplit("/", 1)[-1][:max(len(instance), 12)]: None for arn in arns}
        close = difflib.get_close_matches(instance, list(cut), n=1, cutoff=0.6)
    raise InputError(f"no container instance {instance!r} in the fleet",
                     hint=f"did you mean {close[0]}?" if close else
                     "name an instance by its containerInstanceArn, the id at its end, or its position")


def _by_id(arns, instance: str) -> tuple[list[int], list[int]]:
    """Positions whose ARN's id is ``instance``, and those whose id begins with it. One
    ``str.find`` scan of the ARNs joined by newlines (a tenth of a second at a million), not a
    Python loop per instance."""
    if "\n" in instance or "/" in instance:
        return [], []
    joined = "\n" + "\n".join(arns) + "\n"
    exact: list[int] = []
    prefixed: list[int] = []
    for separator in ("/", "\n"):
        needle = separator + instance
        at = joined.find(needle)
        while at != -1:
            first = at + 1
            end = joined.find("\n", first)
            if joined.find("/", first, end) == -1:          # the last part of the ARN: its id
                row = joined.count("\n", 0, first) - 1
                (exact if end == first + len(instance) else prefixed).append(row)
            at = joined.find(needle, first)
    return sorted(exact), sorted(prefixed)
