"""Lint: findings about a valid expression that is probably not what its author meant (SPEC 1.6).

Every finding is a ``Problem`` with a ``code``, a ``message``, the ``span`` of the token it is
about (the value, the attribute name, the operator; a clause or the whole expression only when
the finding is about that) and a ``hint``: the clause rewritten as it was probably meant, or,
where no rewrite says it, what to do. Findings are ordered inner before outer, left to right:
a token's findings come before its clause's, a clause's before the expression's.

Rules, by code:

text only (no fleet needed)
  ``glob-pattern``            ``=~ g4*``: a ``*`` after a plain character repeats that character
  ``typographic``             ``‘t3.large’``, ``us–east–1a``: curly quotes or dashes meant as ASCII
  ``capability-equals-true``  ``attribute:ecs.capability.x == true``: capabilities have no value
  ``contradiction`` / ``tautology``  what the optimiser folds to false / true
with a fleet (read from its column dictionaries, never from instance records)
  ``case-mismatch``           a literal or pattern that matches no value, but one does ignoring case
  ``near-miss``               a literal that matches no value, one or two edits from one that does
  ``unknown-attribute``       an attribute no instance has, when names close to it exist
  ``negation-skips-absent``   ``!=`` / ``!in`` / ``!~`` where some instances lack the value
  ``task-group-without-tasks`` ``task:group`` on a fleet that came without its tasks
  ``clause-selects-nothing`` / ``clause-selects-everything``  an operand of and / or that is
                              decided on this fleet

**Decisions** where SPEC 1.6 is silent:
- ``== true`` is judged by the fleet where the fleet has the attribute (value-less there: warn;
  a real ``true`` value there: quiet) and by the name (``*.capability.*``) otherwise.
- An attribute no instance has is reported only when some existing name is close to it (a
  typo); a custom attribute this fleet simply lacks is not a typo, and the clause rule or the
  match count already says it selects nothing.
- A near-miss needs evidence of a typo: the literal holds a word (two or more letters) or a
  character that no value of the column uses. ``t3.small`` beside ``t2.small``, ``us-east-1d``
  beside ``us-east-1a``, ``c5.large`` beside ``c5.xlarge`` and ``m5.large`` are other values the
  fleet lacks, not typos. Literals of 1-2 characters get no near-miss, 3-5 one edit, longer two.
- The clause rule looks at operands of ``and`` / ``or`` only: what the whole expression selects
  is the answer ``eval`` gives, not a lint. It skips an empty fleet, clauses inside a
  contradiction or tautology (already reported), ``task:group`` clauses on a fleet without tasks,
  and a compound clause whose own operand was reported already.
- ``!=`` on ``task:group`` counts instances running no task as lacking it (SPEC 1.5's decision).
- A hint that rewrites the and / or around a clause (the clause left out) is given only when that
  and / or is written in at most 2,000 characters; a longer one (a raised limit) gets the advice
  to leave the clause out instead, as every clause's hint would repeat the whole expression.

Lint works at any depth in n log n: which parts the optimiser decides comes from one pass of
``simplify.constant_parts``, and the clause rule reads every node's count from one trace of the
expression as written (the kernel's trace mode, as ``explain`` does).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from placement.errors import PlacementError, Problem, Span
from placement.explain import suggest
from placement.fleet.columns import DictionaryColumn
from placement.fleet.model import Fleet
from placement.lang import ast, ir
from placement.lang.ast import Op
from placement.lang.check import check
from placement.lang.ir import Kind
from placement.lang.parser import DEFAULT_MAX_LENGTH
from placement.lang.simplify import constant_parts, simplify, single_field
from placement.lang.trees import preorder

_NEGATIVE = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN, Op.NOT_MATCHES: Op.MATCHES}
_STRING_KINDS = (Kind.ATTRIBUTE, Kind.INSTANCE_ID, Kind.TASK_GROUP)
_ORDERING = (Op.GT, Op.GE, Op.LT, Op.LE)
# Rank of each rule among findings with the same span (token rules before clause rules).
_RANK = {code: k for k, code in enumerate((
    "unknown-attribute", "task-group-without-tasks", "negation-skips-absent", "typographic", "glob-pattern",
    "capability-equals-true", "case-mismatch", "near-miss", "clause-selects-nothing",
    "clause-selects-everything", "contradiction", "tautology"))}


def lint(predicate, fleet: Fleet | None = None) -> list[Problem]:
    """The findings of SPEC 1.6 about ``predicate`` (a compiled ``Predicate``), with ``fleet``
    the fleet-aware ones too, inner before outer and left to right."""
    linter = _Linter(predicate.source, fleet)
    found = list(linter.constants(predicate.ir))
    for comparison in _comparisons(predicate.tree):
        found.extend(linter.comparison(comparison))
    if fleet is not None:
        found.extend(linter.clauses(predicate))
    found.sort(key=lambda p: (p.span.end, -p.span.start, _RANK.get(p.code, 99)))
    return found


def _comparisons(tree: ast.Expr) -> Iterator[ast.Comparison]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Comparison):
            yield node
        elif isinstance(node, ast.Not):
            stack.append(node.operand)
        else:
            stack.extend(reversed(node.operands))


@dataclass
class _Field:
    """What the fleet has for one subject: its values as a dictionary column (None: it has
    none to compare), how many instances lack a value, and whether the subject is known."""

    column: DictionaryColumn | None
    lacking: int
    total: int


class _Linter:
    def __init__(self, source: str, fleet: Fleet | None):
        self.source = source
        self.decided: set[Span] = set()    # what the optimiser decided: the clause rule stays out
        self.fleet = fleet
        self.columns = fleet.columns if fleet is not None else None
        self.total = len(fleet) if fleet is not None else 0
        given = getattr(fleet, "tasks_given", None)
        self.has_tasks = fleet is not None and (given if given is not None else (
            len(self.columns.groups.dictionary) > 0 or (self.columns.tasks is not None and len(self.columns.tasks) > 0)))

    # -- helpers --------------------------------------------------------------------------

    def text(self, span: Span) -> str:
        return self.source[span.start:span.end]

    def splice(self, clause: Span, token: Span, replacement: str, word: bool = False) -> str:
        """The clause's text with ``token`` replaced; ``word``: the replacement is a word
        operator, which needs the spaces a symbol could do without (``stack!in[x]``)."""
        before, after = self.source[clause.start:token.start], self.source[token.end:clause.end]
        if word and before[-1:] and not before[-1].isspace():
            replacement = " " + replacement
        if word and after[:1] and not after[0].isspace() and after[0] not in "[('\"":
            replacement += " "
        return before + replacement + after

    def literal_as(self, literal: ast.Literal, value: str) -> str:
        """``value`` written in place of ``literal``, quoted the way the author quoted it."""
        if literal.quoted:
            quote = self.source[literal.span.start]
            return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
        return ast.literal_text(value)

    def field_facts(self, field: ir.Field) -> _Field:
        columns, n = self.columns, self.total
        if field.kind is Kind.ATTRIBUTE:
            column = columns.attributes.get(field.name)
            if column is None:
                return _Field(None, n, n)
            lacking = suggest.absent_count(column) + suggest.valueless_count(column)
            return _Field(column, lacking, n)
        if field.kind is Kind.INSTANCE_ID:
            column = columns.instance_id
            return _Field(column, suggest.absent_count(column), n)
        groups = columns.groups
        column = groups.__dict__.get("_lint_column")
        if column is None:           # one code per (instance, group) pair: counts are instances per group
            column = groups.__dict__["_lint_column"] = DictionaryColumn(groups.codes, groups.dictionary)
        idle = int(np.count_nonzero(np.diff(groups.offsets) == 0))
        return _Field(column, idle, n)

    def attribute_exists(self, name: str) -> bool:
        column = self.columns.attributes.get(name)
        return column is not None and suggest.has_any(column)

    # -- the optimiser's findings ---------------------------------------------------------

    def constants(self, expr: ir.Expr) -> Iterator[Problem]:
        """Parts the optimiser decides without looking at an instance: the outermost ones only
        (a contradiction inside a contradiction is one finding)."""
        verdicts = constant_parts(expr)
        stack: list[tuple[ir.Expr, ir.Expr | None]] = [(expr, None)]
        while stack:
            node, parent = stack.pop()
            verdict = verdicts.get(id(node))
            if verdict is not None:
                yield self.constant(node, parent, verdict)
            elif isinstance(node, (ir.And, ir.Or)):
                stack.extend((o, node) for o in reversed(node.operands))
            elif isinstance(node, ir.Not):
                stack.append((node.operand, node))

    def constant(self, node: ir.Expr, parent: ir.Expr | None, value: bool) -> Problem:
        self.decided.add(node.span)
        span = node.span
        part = node
        consequence = ""
        if isinstance(node, (ir.And, ir.Or)):      # name the operands that decide it, when some do
            group = _deciding_group(node, value)
            if group is not None and len(group) < len(node.operands):
                part = group[0] if len(group) == 1 else type(node)(tuple(group), node.span)
                span = Span(min(o.span.start for o in group), max(o.span.end for o in group))
                consequence = f", so the {'or' if isinstance(node, ir.Or) else 'and'} around it is too"
        text = ir.to_text(part)
        if value:
            message = f"{text} is true on every instance (a tautology){consequence}"
            if isinstance(parent, ir.And) and _rewritable(parent):
                hint = ir.to_text(_without(parent, node))
            else:
                hint = "leave it out: every instance satisfies it"
            return Problem(message, span, hint=hint, code="tautology")
        message = f"{text} is false on every instance (a contradiction){consequence}"
        hint = "no instance can satisfy it: check the values, or join the clauses with or"
        equalities = isinstance(part, ir.And) and all(
            isinstance(o, ir.OneOf) and not o.negated for o in part.operands) and single_field(part) is not None
        if equalities:
            values = frozenset().union(*(o.values for o in part.operands))
            joined = ir.OneOf(part.operands[0].field, values)
            if part is node:
                hint = ir.to_text(joined)
            else:
                rest = [o for o in node.operands if o not in part.operands]
                hint = ir.to_text(ir.And((joined, *rest)))
            message += "; did you mean or?"
        elif isinstance(parent, ir.Or) and _rewritable(parent):
            hint = ir.to_text(_without(parent, node))
        return Problem(message, span, hint=hint, code="contradiction")

    # -- one simple expression ------------------------------------------------------------

    def comparison(self, node: ast.Comparison) -> Iterator[Problem]:
        leaf = check(node)
        field = leaf.field
        facts = None
        if self.fleet is not None and field.kind in _STRING_KINDS:
            facts = yield from self.subject(node, field)
        if facts is not None and node.op in _NEGATIVE and facts.lacking:
            yield self.negation(node, field, facts)
        for literal in node.args:
            yield from self.value(node, leaf, literal, facts)

    def subject(self, node: ast.Comparison, field: ir.Field):
        """Findings about the subject; returns the field's facts, or None when its values
        cannot be judged (an unknown attribute, a fleet without tasks)."""
        if field.kind is Kind.TASK_GROUP and not self.has_tasks:
            yield Problem("task:group is read from the fleet's tasks, and this fleet came without any, so "
                          "every instance looks idle", node.subject_span,
                          hint="give the tasks too: --tasks FILE (the JSON of 'aws ecs describe-tasks'), "
                               "or Fleet.from_ecs(instances, tasks=...)",
                          code="task-group-without-tasks")
            return None
        if field.kind is Kind.ATTRIBUTE and not self.attribute_exists(field.name):
            names = [name for name in self.columns.attributes if self.attribute_exists(name)]
            close = suggest.near_names(field.name, names)
            if close:
                start = node.subject_span.start + len("attribute:")
                span = Span(start, node.subject_span.end)
                listed = ", ".join(close)
                yield Problem(f"no instance of the fleet has the attribute {field.name!r}; the nearest names "
                              f"that exist: {listed}", span,
                              hint=self.checked(self.splice(node.span, span, close[0])),
                              code="unknown-attribute")
                return None
        return self.field_facts(field)

    def negation(self, node: ast.Comparison, field: ir.Field, facts: _Field) -> Problem:
        positive = _NEGATIVE[node.op].value
        op_span = node.op_span
        rewritten = "not(" + self.splice(node.span, op_span, positive, word=positive[0].isalpha()) + ")"
        if field.kind is Kind.TASK_GROUP:
            what = f"{facts.lacking} of {facts.total} instances run no task"
        elif facts.lacking == facts.total:
            what = f"no instance of the fleet has a value for {field}"
        else:
            what = f"{facts.lacking} of {facts.total} instances have no value for {field}"
        message = (f"{what}, and {node.op.value} is false on them (a missing value matches no comparison); "
                   f"to select them too, write {rewritten}")
        return Problem(message, op_span, hint=self.checked(rewritten), code="negation-skips-absent")

    def value(self, node: ast.Comparison, leaf: ir.Leaf, literal: ast.Literal, facts: _Field | None):
        field = leaf.field
        text = literal.value
        column = facts.column if facts is not None else None
        present = column is not None and isinstance(text, str) and field.kind in _STRING_KINDS and \
            node.op not in _ORDERING and suggest.value_count(column, text) > 0
        # typographic quotes and dashes: surely meant as ASCII, unless the fleet has the value as written
        marks = suggest.typographic(text) if field.kind in _STRING_KINDS else []
        if marks and not present:
            ascii_token = suggest.ascii_text(self.text(literal.span))
            rewritten = self.checked(self.splice(node.span, literal.span, ascii_token)) or \
                self.checked(self.splice(node.span, literal.span, self.literal_as(literal, suggest.ascii_text(text))))
            message = (f"{self.text(literal.span)} holds typographic characters: "
                       f"{suggest.describe_typographic(marks)}; the language reads them as part of the value")
            yield Problem(message, literal.span, hint=rewritten, code="typographic")
            return
        if isinstance(leaf, ir.Match):
            yield from self.pattern(node, leaf, literal, column)
            return
        if not isinstance(leaf, ir.OneOf) or field.kind not in _STRING_KINDS:
            return
        if text == "true" and not leaf.negated and field.kind is Kind.ATTRIBUTE:
            problem = self.equals_true(node, field, literal, column)
            if problem is not None:
                yield problem
                return
        if column is None or present or not text:
            return
        allowed = suggest.allowed_edits(text)
        # searched two edits wide, then judged with swaps as one edit (tset / test)
        near = suggest.near_values(column, text, 2 if allowed else 0)
        cased = [value for distance, _, value in near if distance == 0]
        subject = str(field)
        if cased:
            listed = ", ".join(repr(v) for v in cased[:3])
            yield Problem(f"{text!r} matches no {subject} value in the fleet, but {listed} does "
                          f"(values are compared case-sensitively)", literal.span,
                          hint=self.checked(self.splice(node.span, literal.span, self.literal_as(literal, cased[0]))),
                          code="case-mismatch")
            return
        typos = sorted((suggest.word_distance(text.lower(), value.lower()), k, value)
                       for k, (distance, _, value) in enumerate(near) if distance > 0)
        typos = [(distance, value) for distance, _, value in typos if distance <= allowed and
                 suggest.typo_sized(text, value) and suggest.looks_misspelt(text, value, column)]
        typos = [value for distance, value in typos if distance == typos[0][0]]
        if typos:
            listed = ", ".join(repr(v) for v in typos[:3])
            yield Problem(f"{text!r} matches no {subject} value in the fleet; did you mean {listed}?", literal.span,
                          hint=self.checked(self.splice(node.span, literal.span, self.literal_as(literal, typos[0]))),
                          code="near-miss")

    def equals_true(self, node, field: ir.Field, literal: ast.Literal, column) -> Problem | None:
        """``== true`` on an attribute that has no value: judged by the fleet where it has the
        attribute, by the name (``*.capability.*``) otherwise."""
        rewritten = self.checked(self.text(node.subject_span) + " exists")
        if column is not None and suggest.absent_count(column) < self.total:
            if suggest.value_count(column, "true") or not suggest.valueless_count(column):
                return None
            message = (f"{field} has no value on the {suggest.valueless_count(column)} instances that have it "
                       f"(like most capability attributes, it is only present or absent), so comparing it "
                       f"with true is false on every instance; test its presence with exists")
        elif ".capability." in f".{field.name}":
            message = (f"{field} is a capability attribute, which has no value (it is only present or absent), "
                       f"so comparing it with true is false on every instance; test its presence with exists")
        else:
            return None
        return Problem(message, literal.span, hint=rewritten, code="capability-equals-true")

    def pattern(self, node: ast.Comparison, leaf: ir.Match, literal: ast.Literal, column) -> Iterator[Problem]:
        pattern = leaf.pattern
        stars = suggest.glob_stars(pattern)
        if stars:
            fixed = suggest.glob_rewrite(pattern, stars)
            at = stars[0]
            before = pattern[at - 1]
            prefix = pattern[:at - 1]
            examples = ", ".join(repr(prefix + before * k) for k in (0, 1, 2))
            message = (f"{pattern!r} looks like a glob, but {node.op.value} takes a regular expression, where "
                       f"{before}* means zero or more {before!r}: it matches only {examples}, ... (the whole "
                       f"value); for values starting with {prefix + before!r}, write {fixed!r}")
            yield Problem(message, literal.span,
                          hint=self.checked(self.splice(node.span, literal.span, self.literal_as(literal, fixed))),
                          code="glob-pattern")
            return
        if column is None or len(column.dictionary) > suggest.VOCABULARY_LIMIT or leaf.field.kind not in _STRING_KINDS:
            return
        from placement.lang.patterns import PatternError, compile_pattern
        counts = suggest.entry_counts(column)
        values = [v for v, c in zip(column.dictionary, counts.tolist()) if c and isinstance(v, str)]
        regex = compile_pattern(pattern)
        if not values or any(regex.fullmatch(v) for v in values):
            return
        try:
            folded = compile_pattern("(?i)" + pattern)
        except PatternError:
            return
        hits = [v for v in values if folded.fullmatch(v)]
        if not hits:
            return
        fixed = next((p for p in (pattern.lower(), pattern.upper())
                      if p != pattern and _compiles(p) and any(compile_pattern(p).fullmatch(v) for v in hits)),
                     "(?i)" + pattern)
        listed = ", ".join(repr(v) for v in hits[:3])
        yield Problem(f"{pattern!r} matches no {leaf.field} value in the fleet, but ignoring case it matches "
                      f"{listed}{', ...' if len(hits) > 3 else ''} (patterns are case-sensitive)", literal.span,
                      hint=self.checked(self.splice(node.span, literal.span, self.literal_as(literal, fixed))),
                      code="case-mismatch")

    def checked(self, text: str) -> str | None:
        """``text`` when it is a valid expression, else None (a hint must never be wrong)."""
        from placement.predicate import compile
        try:
            compile(text, max_length=max(len(text), 2000))
        except PlacementError:
            return None
        return text

    # -- clauses decided by the fleet -----------------------------------------------------

    def clauses(self, predicate) -> Iterator[Problem]:
        """Operands of and / or that select every instance or none. Every node's count comes
        from one trace of the expression as written (``explain``'s), and the checked IR has one
        node per AST node in the same preorder, so position ``i`` of both walks is one node."""
        tree = predicate.tree
        if not self.total or isinstance(tree, (ast.Comparison, ast.Not)):
            return
        from placement.engine.bind import bind_trace
        from placement.engine.plan import trace_plan
        traced = trace_plan(predicate.ir, predicate.source)
        counts = bind_trace(traced, self.columns).counts().tolist()
        order = list(preorder(tree))
        inside = [False] * len(order)           # in a part the optimiser decided (reported already)
        for position, (node, parent) in enumerate(order):
            inside[position] = node.span in self.decided or (parent is not None and inside[parent])
        reads_groups = [False] * len(order)     # has a task:group leaf
        reported_below = [False] * len(order)   # holds a clause reported here
        for position in reversed(range(len(order))):          # children before their parent
            node, parent = order[position]
            kids = traced.nodes[position].children
            reads_groups[position] = any(reads_groups[k] for k in kids) or (
                isinstance(node, ast.Comparison) and node.subject == "task:group")
            below = any(reported_below[k] for k in kids)
            reported_below[position] = below
            if parent is None or not isinstance(order[parent][0], (ast.And, ast.Or)) or below or inside[position]:
                continue
            if not self.has_tasks and reads_groups[position]:
                continue
            if 0 < counts[position] < self.total:
                continue
            reported_below[position] = True
            yield self.decided_clause(node, order[parent][0], counts[position] == self.total)

    def decided_clause(self, node: ast.Expr, parent: ast.And | ast.Or, everything: bool) -> Problem:
        text = self.text(node.span)
        n = self.total
        junction = "and" if isinstance(parent, ast.And) else "or"
        without = ast.to_text(_without(parent, node)) if _rewritable(parent) else \
            f"leave out {text}: the {junction} around it is the same without it"
        if everything:
            selects = f"{text} selects every instance of the fleet ({n})"
            if junction == "and":
                message, hint = f"{selects}, so it changes nothing in the and around it", without
            else:
                message = f"{selects}, so the or around it selects every instance too"
                hint = "see what it selects with 'placement eval': the or filters nothing out"
            return Problem(message, node.span, hint=hint, code="clause-selects-everything")
        selects = f"{text} selects no instance of the fleet ({n})"
        if junction == "or":
            message, hint = f"{selects}, so it adds nothing to the or around it", without
        else:
            message = f"{selects}, so the and around it selects none either"
            hint = "see what it selects with 'placement eval': no instance satisfies it"
        return Problem(message, node.span, hint=hint, code="clause-selects-nothing")


def _rewritable(junction: ast.Expr | ir.Expr) -> bool:
    """Whether a hint may spell out ``junction`` rewritten: not when it is longer than an ECS
    expression may be, as each of its clauses would repeat the whole of it."""
    return junction.span is None or junction.span.end - junction.span.start <= DEFAULT_MAX_LENGTH


def _without(junction, node):
    """The and / or ``junction`` (AST or IR) without its operand ``node``."""
    rest = tuple(o for o in junction.operands if o is not node)
    return rest[0] if len(rest) == 1 else type(junction)(rest, junction.span)


def _deciding_group(node: ir.And | ir.Or, value: bool) -> list[ir.Expr] | None:
    """The operands on one field that alone fold ``node`` to ``value`` (its absorbing element)."""
    absorbing = isinstance(node, ir.Or)
    if value != absorbing:
        return None
    groups: dict = {}
    for operand in node.operands:
        field = single_field(operand)
        if field is not None:
            groups.setdefault(field, []).append(operand)
    for group in groups.values():
        verdict = simplify(type(node)(tuple(group), node.span))
        if isinstance(verdict, ir.Const) and verdict.value == value:
            return group
    return None


def _compiles(pattern: str) -> bool:
    from placement.lang.patterns import PatternError, compile_pattern
    try:
        compile_pattern(pattern)
    except PatternError:
        return False
    return True
