"""Constraint masks: where each ``memberOf`` holds, per fleet row, always from the compiled engine.

A constraint that reads only the fleet is bound to the fleet's capacity view and run once; after
that, only the rows a fleet event touched are evaluated again (``Program.evaluate_rows``), and it
is bound again when a column it reads got new buffers or new values. A constraint that reads
state placement changes (``runningTasksCount``, ``task:group``) is bound to the placement state
instead, and the C state evaluates it again for every row whose tasks change
(``State.set_programs``). Masks are uint8 over the state's capacity: the indexes read them.
"""
from __future__ import annotations

import numpy as np

from placement.engine import _kernels
from placement.engine.bind import bind
from placement.engine.plan import plan
from placement.lang.ir import Field, Kind
from placement.lang.simplify import fields
from placement.place.requests import MemberOf
from placement.place.state import PlacementState

STATEFUL = {Kind.RUNNING_TASKS, Kind.TASK_GROUP}


def reads_placed_state(expr) -> bool:
    """Whether placing a task can change ``expr`` on the instance it lands on."""
    return bool({f.kind for f in fields(expr)} & STATEFUL)


class Mask:
    """One constraint's mask, the program it comes from, and what that program was bound to."""

    __slots__ = ("predicate", "stateful", "fields", "array", "program", "bound_to")

    def __init__(self, predicate, capacity: int):
        self.predicate = predicate
        self.fields: frozenset[Field] = fields(predicate.ir)
        self.stateful = bool({f.kind for f in self.fields} & STATEFUL)
        self.array = np.zeros(capacity, dtype=np.uint8)
        self.program = None
        self.bound_to = None


class Masks:
    """The masks of every constraint a placer has been asked for, kept current."""

    def __init__(self, state: PlacementState):
        self.state = state
        self.masks: dict[str, Mask] = {}          # by canonical text
        self.reading: dict[str, list[Mask]] = {}  # attribute -> the masks that read it
        self.checked = None                       # the store's bindings when every mask was last current

    def mask(self, constraint: MemberOf) -> Mask:
        predicate = constraint.predicate
        found = self.masks.get(predicate.canonical)
        if found is None:
            found = self.masks[predicate.canonical] = Mask(predicate, self.state.c.capacity)
            for field in found.fields:
                if field.kind is Kind.ATTRIBUTE:
                    self.reading.setdefault(field.name, []).append(found)
            self._bind(found, everything=True)
            if found.stateful:
                self._program_stateful()
        return found

    def _columns(self, mask: Mask) -> list:
        """The store's dictionary columns the mask's program reads (None: not there yet)."""
        store = self.state.store
        return [store.attributes.get(f.name) if f.kind is Kind.ATTRIBUTE
                else store.instance_id if f.kind is Kind.INSTANCE_ID else store.agent_connected
                for f in mask.fields if f.kind in (Kind.ATTRIBUTE, Kind.INSTANCE_ID, Kind.AGENT_CONNECTED)]

    def _signature(self, mask: Mask) -> tuple:
        """What a bound program depends on: the store's number buffers, and each column it reads
        (the same column object, with the same buffer and values)."""
        return (self.state.store.epoch, *((None, None, None) if c is None else (c, c.codes, c.layout)
                                          for c in self._columns(mask)))

    def _stale(self, mask: Mask) -> bool:
        bound = mask.bound_to
        if bound[0] != self.state.store.epoch:
            return True
        for column, (was, codes, layout) in zip(self._columns(mask), bound[1:]):
            if column is not was or (column is not None and (column.codes is not codes or column.layout != layout)):
                return True
        return False

    def _bind(self, mask: Mask, everything: bool = False) -> None:
        state = self.state
        mask.program = bind(mask.predicate.plan, state.store.capacity_view(), _kernels.Program,
                            state if mask.stateful else None).program
        mask.bound_to = self._signature(mask)
        if everything:
            mask.array[:] = mask.program.run()

    def _program_stateful(self) -> None:
        self.state.c.set_programs([(m.program, m.array) for m in self.masks.values() if m.stateful])

    def _current(self) -> None:
        """Bind again every program whose columns or arrays changed since it was bound."""
        if self.checked == self.state.store.bindings:
            return
        self.checked = self.state.store.bindings
        stale = [m for m in self.masks.values() if self._stale(m)]
        for mask in stale:
            self._bind(mask)
        if any(m.stateful for m in stale):
            self._program_stateful()

    def clause(self, expr) -> np.ndarray:
        """Where a typed expression (a clause of a constraint) holds now, per row in use (bool)."""
        state = self.state
        program = bind(plan(expr), state.store.capacity_view(), _kernels.Program,
                       state if reads_placed_state(expr) else None).program
        return program.run()[:state.c.n]

    # -- what the state tells its observers ---------------------------------------------------------

    def layout_changed(self) -> None:
        self._current()

    def rows_added(self, rows: np.ndarray) -> None:
        self._current()
        for mask in self.masks.values():
            if not mask.stateful:                  # stateful ones: the state evaluates its rows
                mask.program.evaluate_rows(rows, mask.array)

    def attribute_changed(self, row: int, name: str) -> None:
        touched = self.reading.get(name)
        if not touched:
            return
        self._current()
        for mask in touched:
            if not mask.stateful:
                mask.program.evaluate_rows(np.array([row], dtype=np.int64), mask.array)

    def grown(self) -> None:
        self._resize(None)

    def remapped(self, keep: np.ndarray) -> None:
        self._resize(keep)

    def _resize(self, keep) -> None:
        capacity = self.state.c.capacity
        for mask in self.masks.values():
            moved = np.zeros(capacity, dtype=np.uint8)
            kept = mask.array if keep is None else mask.array[keep]
            moved[:min(capacity, len(kept))] = kept[:capacity]
            mask.array = moved
            self._bind(mask)
        self._program_stateful()
        self.checked = None

    def rebuilt(self) -> None:
        self.masks.clear()
        self.reading.clear()
