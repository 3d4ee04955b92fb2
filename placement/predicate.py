"""The compile pipeline in one call, and the object it returns.

``compile(text)`` runs parse -> check -> simplify -> plan and returns a ``Predicate``: the
expression's source, AST, typed IR, canonical form and plan. ``evaluate`` binds the plan to a
fleet's current columns (once per fleet version) and runs the Cython kernel; the reference
evaluator is there by name (``backend="reference"``), never as a fallback. Compiled predicates
are cached by source text, plans by their simplified text, so a scheduler can call ``compile``
on every request.
"""
from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field

import numpy as np

from placement.errors import InputError, PlacementError, Problem
from placement.fleet.model import Fleet
from placement.lang import ast
from placement.lang import ir as typed_ir
from placement.lang.check import check
from placement.lang.parser import DEFAULT_MAX_LENGTH, parse
from placement.engine.plan import Plan, plan

BACKENDS = ("compiled", "reference")


@dataclass(frozen=True, eq=False)
class Predicate:
    """A checked expression, ready to evaluate."""

    source: str
    tree: ast.Expr
    ir: typed_ir.Expr
    plan: Plan
    _bound: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary, repr=False)

    @functools.cached_property
    def canonical(self) -> str:
        """The canonical form: an expression of the language with the same meaning."""
        return ast.to_text(self.tree)

    def bind(self, fleet: Fleet):
        """The plan bound to ``fleet``'s current columns; rebound when the fleet has changed."""
        if not isinstance(fleet, Fleet):
            raise InputError(f"expected a Fleet, got {type(fleet).__name__}")
        cached = self._bound.get(fleet)
        if cached is None or cached[0] != fleet.version:
            from placement.engine.bind import bind
            cached = self._bound[fleet] = (fleet.version, bind(self.plan, fleet.columns))
        return cached[1]

    def evaluate(self, fleet: Fleet, backend: str = "compiled", threads: int = 1) -> np.ndarray:
        """One bool per instance of ``fleet``, in fleet order."""
        if backend == "compiled":
            if not isinstance(threads, int) or threads < 1:
                raise InputError(f"threads must be a positive integer, got {threads!r}")
            return self.bind(fleet).run(threads)
        if backend == "reference":
            if not isinstance(fleet, Fleet):
                raise InputError(f"expected a Fleet, got {type(fleet).__name__}")
            from placement.engine import reference
            return reference.evaluate(self.ir, fleet)
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")

    def count(self, fleet: Fleet, backend: str = "compiled") -> int:
        return int(np.count_nonzero(self.evaluate(fleet, backend)))

    def explain_plan(self, fleet: Fleet | None = None) -> str:
        """The plan like a disassembly; with a fleet, also what each node became when bound."""
        return self.plan.explain() if fleet is None else self.bind(fleet).explain()

    def explain(self, fleet: Fleet):
        """Every node of the expression as written, with how many instances it is true for (SPEC 1.7):
        an ``placement.explain.tree.Explanation`` (``.to_json()``, ``.render()``)."""
        from placement.explain.tree import explain
        return explain(self, fleet)

    def why(self, fleet: Fleet, instance: str | int):
        """``explain`` with every node's value on one instance (its ARN, the id at the end of the
        ARN, or its position) and each simple expression's actual value there."""
        from placement.explain.tree import why
        return why(self, fleet, instance)

    def warnings(self, fleet: Fleet | None = None) -> list[Problem]:
        """Lint (SPEC 1.6): things that are valid but probably not what was meant."""
        from placement.explain.lint import lint
        return lint(self, fleet)

    def __repr__(self) -> str:
        return f"<Predicate {self.canonical}>"


@functools.lru_cache(maxsize=1024)
def _compile(text: str, max_length: int) -> Predicate:
    tree = parse(text, max_length)
    try:
        typed = check(tree)
    except PlacementError as error:
        error.source = text
        raise
    return Predicate(text, tree, typed, plan(typed))


def compile(text: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> Predicate:  # noqa: A001
    """Parse and check ``text``; raise ``QuerySyntaxError`` / ``QueryTypeError`` with spans."""
    if not isinstance(text, str):
        raise InputError(f"an expression must be a string, not {type(text).__name__}")
    return _compile(text, max_length)
