"""The compile pipeline in one call, and the object it returns.

``compile(text)`` runs parse -> check and returns a ``Predicate``: the expression's source, AST,
typed IR and canonical form, which evaluates against a ``Fleet``. Compiled predicates are
cached by source text and limit, so a scheduler can call ``compile`` on every request.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from placement.errors import InputError, PlacementError, Problem
from placement.fleet.model import Fleet
from placement.lang import ast, ir
from placement.lang.check import check
from placement.lang.parser import DEFAULT_MAX_LENGTH, parse

BACKENDS = ("reference",)


@dataclass(frozen=True, eq=False)
class Predicate:
    """A checked expression, ready to evaluate."""

    source: str
    tree: ast.Expr
    ir: ir.Expr

    @property
    def canonical(self) -> str:
        """The canonical form: an expression of the language with the same meaning."""
        return ast.to_text(self.tree)

    def evaluate(self, fleet: Fleet, backend: str = "reference") -> np.ndarray:
        """One bool per instance of ``fleet``, in fleet order."""
        if not isinstance(fleet, Fleet):
            raise InputError(f"evaluate() needs a Fleet, got {type(fleet).__name__}")
        if backend == "reference":
            from placement.engine import reference
            return reference.evaluate(self.ir, fleet)
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")

    def count(self, fleet: Fleet, backend: str = "reference") -> int:
        return int(np.count_nonzero(self.evaluate(fleet, backend)))

    def warnings(self, fleet: Fleet | None = None) -> list[Problem]:
        """Lint (SPEC 1.6): things that are valid but probably not what was meant."""
        from placement.explain import lint
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
    return Predicate(text, tree, typed)


def compile(text: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> Predicate:  # noqa: A001
    """Parse and check ``text``; raise ``QuerySyntaxError`` / ``QueryTypeError`` with spans."""
    if not isinstance(text, str):
        raise InputError(f"an expression must be a string, not {type(text).__name__}")
    return _compile(text, max_length)
