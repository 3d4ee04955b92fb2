"""Stage ``simplify``: ``ir.Expr`` -> an equivalent, cheaper ``ir.Expr``. Passes, in order:

1. push negations (``_push``): De Morgan and double negation down to the leaves; ``not(a exists)``
   becomes ``a !exists``. A negated comparison stays ``not(a == x)``: it is *not* ``a != x``,
   the two differ exactly where ``a`` is absent or value-less (the absent rule).
2. fold (``_Folder``), bottom-up: nested and/or of the same kind become one node (flatten); its operands
   lose duplicates; those that read the same single field are gathered into one subtree (one
   lookup table at bind time); subtrees that are constant are decided (contradictions and
   tautologies, exact for numeric fields and for string fields compared without patterns);
   constants fold; operands are ordered cheapest first.

Both passes are n log n in the size of the expression whatever its shape (SPEC 1.1 allows any
depth). Fold carries up, with each folded subtree, the field it reads, its cost and its exact
truth on every value of that field (``intervals.Keys`` for numeric fields, ``_Strings`` for the
others), and joins its operands' truths in place, the largest kept and the smaller ones merged
into it, instead of recomputing a subtree's fields, cost and truth at every level above it.
Flattening is done inside fold rather than before it so that every node as written still gets
its verdict: ``constant_parts`` hands lint, from the same one pass, each node that simplify
alone would fold to a constant.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from placement.lang import intervals, ir, trees
from placement.lang.ir import Field, Kind
from placement.lang.semantics import leaf_holds
from placement.values import ABSENT, VALUELESS

MIXED = "mixed"          # what a subtree reads when it reads more than one field


def simplify(expr: ir.Expr) -> ir.Expr:
    pushed, _ = _push(expr)
    return _Folder().run(pushed)


def constant_parts(expr: ir.Expr) -> dict[int, bool]:
    """For each node of ``expr`` (by ``id``, while ``expr`` lives) that ``simplify`` of that node
    alone folds to a constant, the constant; all found in one pass over ``expr``."""
    pushed, origin = _push(expr)
    folder = _Folder()
    folder.run(pushed)
    return {node_id: folder.verdicts[id(became)] != negated
            for node_id, (became, negated) in origin.items() if id(became) in folder.verdicts}


def _push(expr: ir.Expr) -> tuple[ir.Expr, dict[int, tuple[ir.Expr, bool]]]:
    """``expr`` with negations pushed to the leaves and, for each of its nodes (by ``id``), the
    node it became and whether it was negated on the way."""
    origin: dict[int, tuple[ir.Expr, bool]] = {}

    def below(item):
        node, negate = item
        if isinstance(node, ir.Not):
            return ((node.operand, not negate),)
        if isinstance(node, (ir.And, ir.Or)):
            return tuple((o, negate) for o in node.operands)
        return ()

    def build(item, operands: list[ir.Expr]) -> ir.Expr:
        node, negate = item
        if isinstance(node, ir.Not):
            result = operands[0]
        elif isinstance(node, (ir.And, ir.Or)):
            kind = type(node) if not negate else (ir.Or if isinstance(node, ir.And) else ir.And)
            result = kind(tuple(operands), node.span)
        elif not negate:
            result = node
        elif isinstance(node, ir.Const):
            result = ir.Const(not node.value, node.span)
        elif isinstance(node, ir.Exists):     # exists / !exists are total: their negation is exact
            result = ir.Exists(node.field, not node.present, node.span)
        else:
            result = ir.Not(node, node.span)
        origin[id(node)] = (result, negate)
        return result

    return trees.fold((expr, False), build, below), origin


# -- what a subtree reads -------------------------------------------------------------------------

def fields(expr: ir.Expr) -> frozenset[Field]:
    return frozenset(leaf.field for leaf in ir.leaves(expr))


def single_field(expr: ir.Expr) -> Field | None:
    """The one scalar field ``expr`` reads, if it reads exactly one (task:group is a set)."""
    return scalar(joined_reads([leaf.field for leaf in ir.leaves(expr)]))


def reads_of(node: ir.Expr, operand_reads: list) -> Field | str | None:
    """What ``node`` reads, from what its operands read: no field (None), one ``Field``, or
    ``MIXED``. The bottom-up form of ``fields``, for passes that walk a tree once."""
    if isinstance(node, (ir.Not, ir.And, ir.Or)):
        return joined_reads(operand_reads)
    return None if isinstance(node, ir.Const) else node.field


def joined_reads(reads: list) -> Field | str | None:
    """What a subtree reads whose parts read ``reads``."""
    found = None
    for read in reads:
        if read is None:
            continue
        if read is MIXED or (found is not None and read != found):
            return MIXED
        found = read
    return found


def scalar(read) -> Field | None:
    """The field of a read that is one scalar field, else None."""
    return read if isinstance(read, Field) and read.kind is not Kind.TASK_GROUP else None


def _cost(field: Field | None) -> int:
    """A rough per-row cost: numeric ranges < dictionary lookups < task:group sets."""
    if field is None:
        return 6                 # a task:group leaf walks the instance's groups
    return 1 if field.kind in intervals.NUMERIC_KINDS else 2


# -- the exact truth of a subtree over one string field ------------------------------------------

class _Other(str):
    """A string equal to no literal (compares unequal to everything but itself)."""

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__


_OTHER = _Other()


class _Strings:
    """A subtree over one string field (or agentConnected) on every value the field can have:
    absent, value-less, a value no literal names (``other``), and ``flipped``, the literals where
    the truth is ``not other``; each read from ``leaf_holds`` on those values, so the absent rule
    is written once. Only equality and presence have one: a pattern or a numeric reading of
    strings has no finite description (its truth is None, undecided)."""

    __slots__ = ("absent", "valueless", "other", "flipped")

    def __init__(self, leaf: ir.Exists | ir.OneOf):
        self.absent, self.valueless = leaf_holds(leaf, ABSENT), leaf_holds(leaf, VALUELESS)
        self.other = leaf_holds(leaf, _OTHER)
        literals = leaf.values if isinstance(leaf, ir.OneOf) else ()
        self.flipped = {v for v in literals if leaf_holds(leaf, v) != self.other}

    def negated(self) -> "_Strings":
        self.absent, self.valueless, self.other = not self.absent, not self.valueless, not self.other
        return self

    def decided(self, field: Field) -> bool | None:
        if field.kind is Kind.AGENT_CONNECTED:         # no value-less nor other values
            seen = {self.absent} | {self.other != (v in self.flipped) for v in (True, False)}
        else:
            seen = {True, False} if self.flipped else {self.absent, self.valueless, self.other}
        return seen.pop() if len(seen) == 1 else None


def _join_strings(conjunction: bool, parts: list[_Strings]) -> _Strings:
    """The and (``conjunction``) or the or of ``parts``, in place in the part with the most
    flipped literals: the work is the size of the others."""
    if not conjunction:                   # a or b = not(not a and not b); negation is O(1)
        return _join_strings(True, [part.negated() for part in parts]).negated()
    base = max(parts, key=lambda part: len(part.flipped))
    rest = [part for part in parts if part is not base]
    base.absent = all(part.absent for part in parts)
    base.valueless = all(part.valueless for part in parts)
    if all(part.other for part in rest):  # each of the rest is false on its flipped literals only
        for part in rest:
            if base.other:
                base.flipped |= part.flipped
            else:
                base.flipped -= part.flipped
        return base
    # Some part is false on every value but its flipped literals: only literals that every such
    # part flips, no part true elsewhere flips, and the base holds on can be true.
    falsy = [part for part in rest if not part.other]
    listed = Counter(v for part in falsy for v in part.flipped)
    excluded = set().union(*(part.flipped for part in rest if part.other))
    base.flipped = {v for v, n in listed.items()
                    if n == len(falsy) and v not in excluded and base.other != (v in base.flipped)}
    base.other = False
    return base


def _truth_of(leaf: ir.Expr):
    """The exact truth of a leaf or a negated leaf, or None when it has none."""
    negate = isinstance(leaf, ir.Not)
    if negate:
        leaf = leaf.operand
    if leaf.field.kind in intervals.NUMERIC_KINDS:
        keys = intervals.of_leaf(leaf)
        return keys.complement() if negate else keys
    if leaf.field.kind is Kind.TASK_GROUP or isinstance(leaf, (ir.Match, ir.Order)):
        return None
    truth = _Strings(leaf)
    return truth.negated() if negate else truth


def _join(conjunction: bool, parts: list):
    if any(part is None for part in parts):
        return None
    if isinstance(parts[0], intervals.Keys):
        return intervals.join(conjunction, parts)
    return _join_strings(conjunction, parts)


def _verdict(field: Field, truth) -> bool | None:
    return None if truth is None else truth.decided(field)


# -- fold -----------------------------------------------------------------------------------------

@dataclass
class _Folded:
    """A folded subtree and what its parent's fold needs of it: what it reads, its cost, its
    exact truth (when it reads one scalar field and has one) and its place in the flattened
    order (post-order positions of the subtrees of one and/or run left to right)."""

    expr: ir.Expr
    reads: Field | str | None
    cost: int
    truth: object
    position: int


class _Group:
    """The operands of one flattened and/or that read one scalar field, their joined truth and
    its verdict."""

    __slots__ = ("operands", "truth", "verdict")

    def __init__(self, operands: list[_Folded], truth, verdict):
        self.operands, self.truth, self.verdict = operands, truth, verdict


class _Cluster:
    """Nested and/or of one kind being flattened: its operands so far, gathered by field, with
    the counts that say whether the whole is decided."""

    def __init__(self, kind: type):
        self.kind = kind
        self.absorbing = kind is ir.Or              # and: False absorbs; or: True
        self.groups: dict[Field, _Group] = {}
        self.others: list[_Folded] = []
        self.absorbed = False                       # an operand folded to the absorbing constant
        self.absorbing_groups = 0
        self.open_groups = 0                        # groups that are not decided
        self.size = 0
        self.span = None
        self.position = 0

    def verdict(self) -> bool | None:
        if self.absorbed or self.absorbing_groups:
            return self.absorbing
        if not self.open_groups and not self.others:
            return not self.absorbing
        return None

    def add(self, operand: _Folded) -> None:
        self.size += 1
        if isinstance(operand.expr, ir.Const):
            self.absorbed |= operand.expr.value == self.absorbing
            return
        field = scalar(operand.reads)
        if field is None:
            self.others.append(operand)
        else:
            self._add_group(field, _Group([operand], operand.truth, _verdict(field, operand.truth)))

    def merge(self, other: "_Cluster") -> None:
        """Take in the operands of ``other``, a smaller cluster of the same kind."""
        self.size += other.size
        self.absorbed |= other.absorbed
        self.others.extend(other.others)
        for field, group in other.groups.items():
            self._add_group(field, group)

    def _count(self, group: _Group, step: int) -> None:
        if group.verdict is None:
            self.open_groups += step
        elif group.verdict == self.absorbing:
            self.absorbing_groups += step

    def _add_group(self, field: Field, group: _Group) -> None:
        known = self.groups.get(field)
        if known is None:
            self.groups[field] = group
            self._count(group, 1)
            return
        self._count(known, -1)
        if len(known.operands) < len(group.operands):
            known.operands, group.operands = group.operands, known.operands
        known.operands.extend(group.operands)
        known.truth = _join(self.kind is ir.And, [known.truth, group.truth])
        known.verdict = _verdict(field, known.truth)
        self._count(known, 1)

    def finish(self) -> _Folded:
        """The folded node: its operands in the flattened order, duplicates dropped, one subtree
        per field, decided groups left out, cheapest first."""
        verdict = self.verdict()
        if verdict is not None:
            return _Folded(ir.Const(verdict, self.span), None, 0, None, self.position)
        operands = sorted([o for group in self.groups.values() for o in group.operands] + self.others,
                          key=lambda o: o.position)
        seen: set[ir.Expr] = set()
        by_field: dict[Field, list[_Folded]] = {}
        others: list[_Folded] = []
        for operand in operands:
            if operand.expr in seen:
                continue
            seen.add(operand.expr)
            field = scalar(operand.reads)
            (by_field.setdefault(field, []) if field is not None else others).append(operand)
        merged: list[_Folded] = []
        for field, group in by_field.items():
            truth = self.groups[field].truth
            if self.groups[field].verdict is not None:
                continue                            # neutral: an absorbing one decided the whole
            node = group[0].expr if len(group) == 1 else self.kind(tuple(o.expr for o in group), self.span)
            merged.append(_Folded(node, field, _cost(field), truth, self.position))
        merged.extend(others)
        if len(merged) == 1:
            only = merged[0]
            return _Folded(only.expr, only.reads, only.cost, only.truth, self.position)
        merged.sort(key=lambda o: o.cost)
        return _Folded(self.kind(tuple(o.expr for o in merged), self.span), joined_reads([o.reads for o in merged]),
                       sum(o.cost for o in merged), None, self.position)


class _Folder:
    """One bottom-up pass over a negation-pushed expression; ``verdicts`` keeps, by ``id`` of
    each node, the constant that node alone folds to, where it folds to one."""

    def __init__(self):
        self.verdicts: dict[int, bool] = {}
        self.position = 0

    def run(self, pushed: ir.Expr) -> ir.Expr:
        return self._finished(trees.fold(pushed, self._node)).expr

    @staticmethod
    def _finished(item: _Folded | _Cluster) -> _Folded:
        return item.finish() if isinstance(item, _Cluster) else item

    def _node(self, node: ir.Expr, operands: list) -> _Folded | _Cluster:
        self.position += 1
        if not isinstance(node, (ir.And, ir.Or)):
            folded = self._leaf(node)
            if isinstance(folded.expr, ir.Const):
                self.verdicts[id(node)] = folded.expr.value
            return folded
        kind = type(node)
        same = [o for o in operands if isinstance(o, _Cluster) and o.kind is kind]
        cluster = max(same, key=lambda c: c.size) if same else _Cluster(kind)
        for operand in operands:
            if operand is cluster:
                continue
            if isinstance(operand, _Cluster) and operand.kind is kind:
                cluster.merge(operand)
            else:
                cluster.add(self._finished(operand))
        cluster.span, cluster.position = node.span, self.position
        verdict = cluster.verdict()
        if verdict is not None:
            self.verdicts[id(node)] = verdict
        return cluster

    def _leaf(self, node: ir.Expr) -> _Folded:
        if isinstance(node, ir.Const):
            return _Folded(node, None, 0, None, self.position)
        field = (node.operand if isinstance(node, ir.Not) else node).field
        truth = _truth_of(node)
        verdict = _verdict(field, truth)
        if verdict is not None:
            return _Folded(ir.Const(verdict, node.span), None, 0, None, self.position)
        return _Folded(node, field, _cost(scalar(field)), truth, self.position)
