"""The compile pipeline in one call, and the object it returns.

``compile(text)`` runs parse -> check -> simplify -> plan and returns a ``Predicate``: the
expression's source, AST, typed IR, canonical form and plan. ``evaluate`` binds the plan to a
fleet's current columns (once per fleet version) and runs the Cython kernel; the reference
evaluator is there by name (``backend="reference"``), never as a fallback. Compiled predicates
are cached by source text, plans by their simplified text, so a scheduler can call ``compile``
on every request.

Threads: a ``Predicate`` and its plan are immutable and shared freely. The one thing an
evaluation writes is the bound-plan cache (per fleet: the fleet version it was bound for and the
``Bound``), an immutable pair replaced whole under a lock held only to fill it, never while a
kernel runs; a thread that finds it stale binds its own. ``evaluate`` holds the fleet's lock
shared from bind to the end of the kernel run (a mutation waits; other evaluations do not), and
the kernel runs without the GIL (``Program.run``: ``with nogil``), so evaluations in several
threads run at the same time.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from dataclasses import dataclass, field

import numpy as np

from placement.errors import InputError, PlacementError, Problem, preview
from placement.fleet.model import Fleet
from placement.lang import ast
from placement.lang import ir as typed_ir
from placement.lang.check import check
from placement.lang.parser import DEFAULT_MAX_LENGTH, parse
from placement.engine.plan import Plan, plan

BACKENDS = ("compiled", "reference")
OUTPUTS = ("bool", "bits")
MAX_THREADS = 1024
_FILLING = threading.Lock()      # held only to replace an entry of a bound-plan cache


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
        """The plan bound to ``fleet``'s current columns; rebound when the fleet has changed.
        It reads the fleet's buffers: run it inside ``with fleet.reading():`` when other
        threads may change the fleet (``evaluate`` does)."""
        if not isinstance(fleet, Fleet):
            raise InputError(f"expected a Fleet, got {type(fleet).__name__}")
        with fleet.lock.shared:
            return self._bound_now(fleet)

    def _bound_now(self, fleet: Fleet):
        """``bind`` for a caller that holds the fleet's lock (shared or exclusive)."""
        version = fleet.version
        cached = self._bound.get(fleet)          # one immutable (version, Bound) pair, read once
        if cached is not None and cached[0] == version:
            return cached[1]
        from placement.engine.bind import bind
        bound = bind(self.plan, fleet.columns)
        with _FILLING:                           # versions only grow: never replace a newer entry
            now = self._bound.get(fleet)
            if now is None or now[0] < version:
                self._bound[fleet] = (version, bound)
        return bound

    def evaluate(self, fleet: Fleet, backend: str = "compiled", threads: int = 1, out: str = "bool") -> np.ndarray:
        """One bool per instance of ``fleet``, in fleet order, for one version of the fleet
        (mutations in other threads wait for the evaluation; other evaluations do not).
        ``out="bits"``: the same as ⌈n / 8⌉ uint8 of packed bits, LSB first — Arrow's validity
        layout, so ``pyarrow.BooleanArray.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])``
        wraps it without a copy (``placement.fleet.tables.boolean_array`` does)."""
        if out not in OUTPUTS:
            raise InputError(f"unknown out {out!r}; choose one of {', '.join(OUTPUTS)}")
        if backend == "compiled":
            if type(threads) is not int or not 1 <= threads <= MAX_THREADS:
                raise InputError(f"threads must be an integer from 1 to {MAX_THREADS}, got {preview(threads)}")
            if not isinstance(fleet, Fleet):
                raise InputError(f"expected a Fleet, got {type(fleet).__name__}")
            lock = fleet.lock
            lock.acquire_read()
            try:
                return self._bound_now(fleet).run(threads, out == "bits")     # the kernel releases the GIL
            finally:
                lock.release_read()
        if backend == "reference":
            if not isinstance(fleet, Fleet):
                raise InputError(f"expected a Fleet, got {type(fleet).__name__}")
            from placement.engine import reference
            with fleet.lock.shared:
                mask = reference.evaluate(self.ir, fleet)
            return np.packbits(mask, bitorder="little") if out == "bits" else mask
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")

    def count(self, fleet: Fleet, backend: str = "compiled") -> int:
        bits = self.evaluate(fleet, backend, out="bits")          # an eighth of the bytes to count
        return int(np.bitwise_count(bits).sum(dtype=np.int64))

    def explain_plan(self, fleet: Fleet | None = None) -> str:
        """The plan like a disassembly; with a fleet, also what each node became when bound."""
        if fleet is None:
            return self.plan.explain()
        with _reading(fleet):
            return self.bind(fleet).explain()

    def explain(self, fleet: Fleet):
        """Every node of the expression as written, with how many instances it is true for (SPEC 1.7):
        an ``placement.explain.tree.Explanation`` (``.to_json()``, ``.render()``)."""
        from placement.explain.tree import explain
        with _reading(fleet):
            return explain(self, fleet)

    def why(self, fleet: Fleet, instance: str | int):
        """``explain`` with every node's value on one instance (its ARN, the id at the end of the
        ARN, or its position) and each simple expression's actual value there."""
        from placement.explain.tree import why
        with _reading(fleet):
            return why(self, fleet, instance)

    def warnings(self, fleet: Fleet | None = None) -> list[Problem]:
        """Lint (SPEC 1.6): things that are valid but probably not what was meant."""
        from placement.explain.lint import lint
        with _reading(fleet):
            return lint(self, fleet)

    def __repr__(self) -> str:
        return f"<Predicate {self.canonical}>"


def _reading(fleet):
    """The fleet's shared lock, for the explain and lint passes that read it several times."""
    return fleet.reading() if isinstance(fleet, Fleet) else contextlib.nullcontext()


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
