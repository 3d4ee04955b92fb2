"""The ranker indexes a placer keeps: one per kind of request (group, constraints, strategies),
each serving every demand of its kind (``placement.place._ranker``).

A ``Kind`` is the typed contract with the kernel: the group's counts, the constraints' masks, the
strategies as ``StrategyKind`` values with their spread counts, and the cells (the rows sharing
every spread bucket, each row's cell and each cell's buckets). ``Indexes`` builds a kind on first
use and keeps it across calls (least recently used first out, within a memory budget; prepared
requests keep theirs), points it again when an array it reads was replaced, and follows the fleet
events that move a row to another cell.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from placement.place._draws import DrawIndex, ScanIndex
from placement.place._ranker import StrategyKind
from placement.place._tree import TreeIndex
from placement.place.masks import Masks
from placement.place.requests import Binpack, DistinctInstance, MemberOf, Random
from placement.place.state import PlacementState

INDEX_MEMORY = 256 << 20    # bytes the kept indexes may take together
ROW_BYTES = 72              # about what one index takes per row (tree links, keys, maxima, cell)


class Kind:
    """One kind of request, as ``_ranker.Index`` reads it (``point`` takes these arrays)."""

    def __init__(self, state: PlacementState, masks: Masks, group: str, constraints: tuple, strategies: tuple,
                 stop: bool = False):
        self.state, self.group_name, self.constraints, self.strategies, self.stop = \
            state, group, constraints, strategies, stop
        self.group = state.group(group)
        state.group_count(self.group)
        self.mask_objects = [masks.mask(c) for c in constraints if isinstance(c, MemberOf)]
        self.distinct = any(isinstance(c, DistinctInstance) for c in constraints)
        self.stateful = any(m.stateful for m in self.mask_objects)
        self.kinds, self.attributes = chain(strategies)
        self.draws = StrategyKind.RANDOM in self.kinds
        self.spread_list = [state.spread(self.group, attribute) for attribute in self.attributes]
        self.index = None
        self.pinned = False
        self.cells_from_scratch()

    # what _ranker.Index.point reads
    @property
    def group_count(self) -> np.ndarray:
        return self.state.counts[self.group]

    @property
    def masks(self) -> list[np.ndarray]:
        return [mask.array for mask in self.mask_objects]

    @property
    def spreads(self) -> list:
        return self.spread_list

    @property
    def layout(self) -> int:
        return self.state.layout

    # -- cells -------------------------------------------------------------------------------------

    def cells_from_scratch(self) -> None:
        state = self.state
        n, capacity = state.c.n, state.c.capacity
        self.cell_of = np.zeros(capacity, dtype=np.int64)
        if not self.spread_list:
            self.cell_ids, self.cells = {(): 0}, 1
            self.cell_capacity = 1
            self.cell_bucket = np.zeros(1, dtype=np.uint32)
            return
        if len(self.spread_list) == 1:          # one spread: its bucket codes are the cells (no sort)
            codes = self.spread_list[0].bucket_of[:n]
            present = np.bincount(codes, minlength=1)
            unique = np.flatnonzero(present).astype(np.uint32).reshape(-1, 1)
            inverse = (np.cumsum(present > 0) - 1)[codes]
        else:
            unique, inverse = np.unique(np.stack([s.bucket_of[:n] for s in self.spread_list], axis=1), axis=0,
                                        return_inverse=True)
        self.cell_of[:n] = inverse.reshape(-1)
        self.cells = len(unique)
        self.cell_ids = {tuple(cell): i for i, cell in enumerate(unique.tolist())}
        self.cell_capacity = max(16, 2 * self.cells)
        self.cell_bucket = np.zeros(self.cell_capacity * len(self.spread_list), dtype=np.uint32)
        self.cell_bucket[:unique.size] = unique.reshape(-1)

    def file(self, rows) -> None:
        """Rows' cells as their buckets are now (new cells added); the index re-files them later."""
        if not self.spread_list:
            return
        grew = False
        for row in rows:
            key = tuple(int(s.bucket_of[row]) for s in self.spread_list)
            cell = self.cell_ids.get(key)
            if cell is None:
                cell = self.cell_ids[key] = self.cells
                self.cells += 1
                if self.cells > self.cell_capacity:
                    self.cell_capacity *= 2
                    grown = np.zeros(self.cell_capacity * len(self.spread_list), dtype=np.uint32)
                    grown[:len(self.cell_bucket)] = self.cell_bucket
                    self.cell_bucket = grown
                width = len(self.spread_list)
                self.cell_bucket[cell * width:(cell + 1) * width] = key
                grew = True
            self.cell_of[row] = cell
        if grew and self.index is not None:
            self.index.point(self)


def chain(strategies) -> tuple[list[StrategyKind], list[str]]:
    """The strategies as the ranker reads them, and the attributes of the spread ones. A strategy
    repeating an earlier one's key changes nothing (the instances still tied share it): left out."""
    kinds, attributes, seen = [], [], set()
    for strategy in strategies:
        if isinstance(strategy, Random):
            kind, key = StrategyKind.RANDOM, "random"
        elif isinstance(strategy, Binpack):
            kind = StrategyKind.BINPACK_CPU if strategy.resource == "cpu" else StrategyKind.BINPACK_MEMORY
            key = kind
        elif strategy.per_instance:
            kind, key = StrategyKind.SPREAD_INSTANCE, "instance"
        else:
            kind, key = StrategyKind.SPREAD_BUCKET, strategy.field
        if key not in seen:
            seen.add(key)
            kinds.append(kind)
            if kind == StrategyKind.SPREAD_BUCKET:
                attributes.append(strategy.attribute)
    return kinds, attributes


class Indexes:
    """The kinds a placer has seen, each with its index, kept current."""

    def __init__(self, state: PlacementState, masks: Masks, random_ties: bool):
        self.state, self.masks, self.random_ties = state, masks, random_ties
        self.kinds: OrderedDict[tuple, Kind] = OrderedDict()     # least recently used first
        self.limit = 2
        self.generation = 0         # changes when the state started over: every kind is gone
        self.builds = 0             # indexes built (a kept one is not rebuilt unless it fell behind)

    def kind(self, group: str, constraints: tuple, strategies: tuple, pin: bool = False) -> Kind:
        key = (group, constraints, strategies)
        found = self.kinds.get(key)
        if found is None:
            found = self.kinds[key] = Kind(self.state, self.masks, group, constraints, strategies)
            self._evict()
        else:
            self.kinds.move_to_end(key)
        found.pinned = found.pinned or pin
        return found

    def _evict(self) -> None:
        self.limit = max(2, min(32, INDEX_MEMORY // (ROW_BYTES * max(1, self.state.c.capacity))))
        loose = [key for key, kind in self.kinds.items() if not kind.pinned]
        for key in loose[:max(0, len(self.kinds) - self.limit)]:
            del self.kinds[key]

    def index(self, kind: Kind, stale: bool = False):
        """``kind``'s index, pointed at the current arrays; built if it has none (or it is ``stale``:
        behind what the change log still holds). It catches up itself when it places."""
        index = kind.index
        if index is None or stale:
            index = kind.index = self.build(kind)
        elif index.pointed != self.state.layout:
            index.point(kind)
        return index

    def build(self, kind: Kind, stop: bool = False):
        c = self.state.c
        self.builds += not stop
        if stop:
            return (ScanIndex(c, kind, False, True) if StrategyKind.RANDOM in kind.kinds
                    else TreeIndex(c, kind, True))
        if kind.kinds[:1] == [StrategyKind.RANDOM]:
            return DrawIndex(c, kind)
        if kind.draws or self.random_ties:
            return ScanIndex(c, kind, self.random_ties)
        return TreeIndex(c, kind)

    def trim_log(self) -> None:
        """Past a few times the fleet's size, the log sheds what every index has seen, and at
        least half: an index behind that is rebuilt when next used."""
        c = self.state.c
        if c.log_size <= 4 * c.n + 1024:
            return
        oldest = min((kind.index.seen for kind in self.kinds.values() if kind.index is not None), default=c.log_end)
        c.trim_log(max(oldest, c.log_start + c.log_size // 2))

    # -- what the state tells its observers ---------------------------------------------------------

    def layout_changed(self) -> None:
        pass

    def rows_added(self, rows: np.ndarray) -> None:
        for kind in self.kinds.values():
            kind.file(rows.tolist())

    def attribute_changed(self, row: int, name: str) -> None:
        for kind in self.kinds.values():
            if name in kind.attributes:
                kind.file([row])

    def grown(self) -> None:
        capacity = self.state.c.capacity
        for kind in self.kinds.values():
            grown = np.zeros(capacity, dtype=np.int64)
            grown[:min(capacity, len(kind.cell_of))] = kind.cell_of[:capacity]
            kind.cell_of = grown

    def remapped(self, keep: np.ndarray) -> None:
        for kind in self.kinds.values():
            kind.cells_from_scratch()
            kind.index = None

    def rebuilt(self) -> None:
        self.kinds.clear()
        self.generation += 1
