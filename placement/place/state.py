"""The placement state: the one source of truth for what placing and stopping tasks changes,
and how it follows its fleet.

``PlacementState`` owns the C ``State`` (remaining resources, ports, running counts, the tasks
themselves, the change log) and the counters it keeps per group: the group's tasks per instance,
its spread counts per bucket of an attribute, and per stateful ``task:group`` leaf the tasks the
leaf names. It starts as a copy of the fleet's own state and follows the fleet by replaying its
journal, each event costing what it changed; placements and stops change it directly. Its
observers (the masks, the indexes) hear of rows added, attributes changed, arrays regrown and
rows remapped, in that order. Task ids: a fleet task keeps its id (its taskArn); a placed one is
``placed-N``. Rows are the fleet store's physical rows (tombstones included).

Threads: the state reads the fleet's store only under the fleet's lock, shared (the copy it
starts from, every replay of the journal), so another thread's mutation is never seen half
done and the journal it replays is whole. Between replays it reads only its own arrays. The
state belongs to one placer and one thread at a time (``guard``, the placer's ``Guard``): a
fleet mutation that must compact catches the state up from its own thread, and keeps the
placer out until the rows have moved, only when it can take the guard without waiting
(``before_compaction``); otherwise it puts the compaction off.
"""
from __future__ import annotations

import threading

import numpy as np

from placement.engine.bind import group_hits
from placement.errors import ConcurrentUseError
from placement.fleet.model import Fleet
from placement.lang import ir
from placement.place._state import State
from placement.place.ports import DEFAULT_EPHEMERAL

PLACED = "placed-"


class Guard:
    """One thread at a time inside a placer, tested without waiting. The guard is one token in a
    list: ``take`` is ``list.pop`` (one step under the GIL, so a test-and-set; IndexError when
    the token is out) and ``give(token)`` is ``list.append``: about 30 ns together, against about
    150 ns for ``Lock.acquire(False)`` and ``release``, which matters on a prepared request's
    fast path.
    ``catch_ups`` is odd while a fleet mutation in another thread holds the token to catch the
    state up and compact (``hold`` to ``let_go``); ``enter_contended`` waits for that and refuses
    anything else."""

    __slots__ = ("take", "give", "_token", "catch_ups", "_handed")

    def __init__(self) -> None:
        self._token = [True]
        self.take, self.give = self._token.pop, self._token.append
        self.catch_ups = 0
        self._handed = threading.Condition()

    @property
    def held(self) -> bool:
        return not self._token

    def enter_contended(self):
        """Called when ``take`` found the token out: returns it (taken) once a catch-up in
        progress is over, else raises ``ConcurrentUseError`` (another thread is inside)."""
        while True:
            seen = self.catch_ups
            if seen & 1:                           # a fleet mutation is catching the state up: a moment
                with self._handed:
                    while self.catch_ups == seen:
                        self._handed.wait()
                continue
            try:
                return self.take()                 # whoever held it has let go
            except IndexError:
                pass
            if self.catch_ups == seen:             # no catch-up came or went: another caller is inside
                raise ConcurrentUseError(
                    "this Placer is inside a call in another thread; a placer is one scheduler's state "
                    "and serves one thread at a time (give each thread its own, or serialise the calls)") from None

    def hold(self, sync) -> bool:
        """Take the token if it is free now and ``sync()``: True, and the token stays taken until
        ``let_go`` (the compaction moves the rows the owner's next call would read meanwhile).
        False when the owner is inside a call: nothing taken."""
        self.catch_ups += 1                        # odd: a caller finding the token out waits
        try:
            self.take()
        except IndexError:
            self._caught_up()
            return False
        try:
            sync()
        except BaseException:
            self.let_go()
            raise
        return True

    def let_go(self) -> None:
        """The end of ``hold``: the token back, and callers waiting for it woken."""
        self.give(True)
        self._caught_up()

    def _caught_up(self) -> None:
        with self._handed:
            self.catch_ups += 1
            self._handed.notify_all()


class Spread:
    """One group's spread over one attribute: each row's bucket, and the group's tasks per bucket."""

    __slots__ = ("group", "attribute", "bucket_of", "counts")

    def __init__(self, group: int, attribute: str, bucket_of: np.ndarray, counts: np.ndarray):
        self.group, self.attribute, self.bucket_of, self.counts = group, attribute, bucket_of, counts


def _regrown(array: np.ndarray, capacity: int, keep=None, fill=0) -> np.ndarray:
    out = np.full(capacity, fill, dtype=array.dtype)
    kept = array if keep is None else array[keep]
    out[:min(capacity, len(kept))] = kept[:capacity]
    return out


class PlacementState:
    """What placement changes, over the physical rows of ``fleet``, with dynamic host ports from
    ``ephemeral`` (low, high). ``observers``: objects told of changes (see the module docstring)."""

    def __init__(self, fleet: Fleet, ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL, guard=None):
        self.fleet, self.store, self.ephemeral = fleet, fleet.store, ephemeral
        self.observers: list = []
        self.layout = 0                     # changes whenever an array an index points into is replaced
        self.starts = 0                     # times the state was built from the fleet (once, normally)
        self.guard: Guard | None = guard    # held by the owner while it uses the state (None: no owner)
        with fleet.reading():               # one version to copy, and no event before we listen
            self.store.tasks.build_indexes()    # task events are what a live placer follows
            self._start()
            self.store.listeners.add(self)

    def _start(self) -> None:
        self.starts += 1
        store = self.store
        self.c = State(store.capacity, *self.ephemeral)
        self.c.use_rows(store.size)
        self.groups: dict[str, int] = {}
        self.group_names: list[str] = []
        self.counts: dict[int, np.ndarray] = {}            # group -> its tasks per row
        self.bucket_of: dict[str, np.ndarray] = {}         # attribute -> bucket per row
        self.spreads: dict[tuple[int, str], Spread] = {}
        self.spreads_over: dict[str, list[Spread]] = {}      # attribute -> its spreads, every group
        self.hits: dict[str, tuple[ir.Leaf, np.ndarray]] = {}  # stateful leaf -> the tasks it names per row
        self.number_of = np.zeros(0, dtype=np.int64)        # the store's task index -> task number (-1)
        self.fleet_numbers = np.zeros(0, dtype=np.int64)    # numbers of the fleet's tasks adopted, ascending,
        self.fleet_origins = np.zeros(0, dtype=np.int64)    # and their store task indices (stopped ones too)
        self.fleet_tasks = 0
        self._store_groups: list[int] = []
        self.journal_cursor = store.journal_end
        self.layout += 1
        self._copy(np.arange(store.size, dtype=np.int64), everything=True)

    # -- what the engine's bind reads (placement.engine.bind.PlacedState) -----------------------------

    @property
    def running(self) -> np.ndarray:
        return self.c.array("running")

    @property
    def group_total(self) -> np.ndarray:
        return self.c.array("group_total")

    def group_hits(self, leaf: ir.Leaf) -> np.ndarray:
        """Per row, the tasks in groups ``leaf`` names; kept current from now on."""
        key = ir.to_text(leaf)
        if key not in self.hits:
            flags = np.array(group_hits(leaf, self.group_names) or [False], dtype=np.uint8)
            counts = np.zeros(self.c.capacity, dtype=np.int64)
            self.c.count_tasks(flags, counts)
            self.hits[key] = (leaf, counts)
            for code in np.flatnonzero(flags[:len(self.group_names)]).tolist():
                self._point_counters(code)
        return self.hits[key][1]

    # -- groups and their counters ----------------------------------------------------------------

    def group(self, name: str) -> int:
        """The code of group ``name`` (new groups get one)."""
        code = self.groups.get(name)
        if code is None:
            code = self.groups[name] = self.c.add_group()
            self.group_names.append(name)
            if any(group_hits(leaf, (name,))[0] for leaf, _ in self.hits.values()):
                self._point_counters(code)
        return code

    def group_count(self, code: int) -> np.ndarray:
        """Tasks of group ``code`` per row, kept current from now on."""
        counts = self.counts.get(code)
        if counts is None:
            flags = np.zeros(len(self.group_names), dtype=np.uint8)
            flags[code] = 1
            counts = self.counts[code] = np.zeros(self.c.capacity, dtype=np.int64)
            self.c.count_tasks(flags, counts)
            self._point_counters(code)
        return counts

    def spread(self, code: int, attribute: str) -> Spread:
        """Group ``code``'s spread counts over ``attribute`` (absent and value-less are buckets too)."""
        spread = self.spreads.get((code, attribute))
        if spread is None:
            bucket_of = self._buckets(attribute)
            size = max(16, 2 * int(bucket_of[:self.c.n].max(initial=0)) + 2)
            counts = np.bincount(bucket_of[:self.c.n], weights=self.group_count(code)[:self.c.n],
                                 minlength=size).astype(np.int64)
            spread = self.spreads[(code, attribute)] = Spread(code, attribute, bucket_of, counts)
            self.spreads_over.setdefault(attribute, []).append(spread)
            self._point_counters(code)
        return spread

    def _buckets(self, attribute: str) -> np.ndarray:
        bucket_of = self.bucket_of.get(attribute)
        if bucket_of is None:
            bucket_of = self.bucket_of[attribute] = np.zeros(self.c.capacity, dtype=np.uint32)
            column = self.store.attributes.get(attribute)
            if column is not None:
                bucket_of[:self.c.n] = column.codes[:self.c.n]
        return bucket_of

    def _point_counters(self, code: int) -> None:
        name = self.group_names[code]
        tallies = [counts for leaf, counts in self.hits.values() if group_hits(leaf, (name,))[0]]
        buckets = [(s.bucket_of, s.counts) for (group, _), s in self.spreads.items() if group == code]
        self.c.set_counters(code, self.counts.get(code), tallies, buckets)

    def _point_all(self) -> None:
        for code in range(len(self.group_names)):
            self._point_counters(code)
        self.layout += 1

    # -- following the fleet ------------------------------------------------------------------------

    def before_compaction(self) -> bool:
        """The fleet is about to compact (called in the mutating thread, under the fleet's lock
        held exclusively): catch up now and keep the owner out until ``after_compaction``,
        unless the owner is inside a call in another thread; then False, and the compaction
        waits. An owner's call arriving meanwhile waits instead of taking it for concurrent use
        (``Guard.hold``)."""
        if self.guard is None:
            self.sync()
            return True
        return self.guard.hold(self.sync)

    def after_compaction(self) -> None:
        """The compaction that ``before_compaction`` said yes to is over (or was called off)."""
        if self.guard is not None:
            self.guard.let_go()

    def sync(self) -> None:
        """Replay the fleet's journal since the last sync (holding the fleet's lock, shared)."""
        if self.journal_cursor == self.store.journal_end:
            return
        lock = self.fleet.lock
        lock.acquire_read()
        try:
            self._replay()
        finally:
            lock.release_read()

    def _replay(self) -> None:
        store = self.store
        if self.journal_cursor == store.journal_end:
            return
        if self.journal_cursor < store.journal_start:     # fell behind the trimmed journal
            if self.c.tasks - self.fleet_tasks:              # placed tasks
                raise RuntimeError("the fleet's journal was trimmed past a placer with placed tasks")
            self._start()
            self._tell("rebuilt")
            return
        events = store.journal[self.journal_cursor - store.journal_start:]
        self.journal_cursor = store.journal_end
        if events[0][0] == "compact":                     # only ever first: listeners catch up before one
            self._remap(events[0][1])
            events = events[1:]
        if store.capacity != self.c.capacity:
            self._grow(store.capacity)
        if store.size > self.c.n:
            self.c.use_rows(store.size)
        self._tell("layout_changed")
        copied: set[int] = set()
        for event in events:
            kind = event[0]
            if kind == "add":
                rows = np.arange(event[1], event[1] + event[2], dtype=np.int64)
                self._copy(rows)
                copied.update(rows.tolist())
                self._tell("rows_added", rows)
            elif kind == "remove":
                self._kill(event[1])
            elif kind == "attribute":
                self._attribute(event[1], event[2])
            elif kind == "status":
                self._status(event[1])
            elif kind == "start":
                alive, rows = store.tasks.alive, store.tasks.rows
                started = [t for t in range(event[1], event[1] + event[2])
                           if alive[t] and not (copied and int(rows[t]) in copied)]
                if len(started) == 1:
                    self._adopt_one(started[0], started=True)
                elif started:
                    self._adopt(np.array(started, dtype=np.int64), started=True)
            elif kind == "stop":                          # a task copied with its row was never adopted
                task = event[1]
                number = int(self.number_of[task]) if task < len(self.number_of) else -1
                if number >= 0 and self.c.alive(number):
                    self.c.stop(number)

    def _tell(self, what: str, *args) -> None:
        for observer in self.observers:
            getattr(observer, what)(*args)

    def _copy(self, rows: np.ndarray, everything: bool = False) -> None:
        """Rows as the fleet has them now: its own state, and the tasks it runs on them."""
        if len(rows) == 1:
            return self._copy_one(int(rows[0]))
        store, c = self.store, self.c
        numbers = store.numbers
        alive = store.alive[rows].astype(bool)
        active = self._is(store.status, "ACTIVE", rows) & alive
        eligible = active & self._is(store.agent_connected, True, rows)
        c.load(rows, numbers["remaining_cpu"][rows], numbers["remaining_memory"][rows],
               numbers["remaining_gpu"][rows], numbers["running_tasks"][rows], eligible, active)
        ports, same = store.ports, {}
        for row in rows[alive].tolist():
            if ports[row]:
                same.setdefault(ports[row], []).append(row)
        c.ports.expect(sum(len(on) * len(held) for held, on in same.items()))
        for held, on in same.items():
            c.ports.reserve_rows(on, held)
        for attribute in self.bucket_of:
            self._rebucket(rows, attribute)
        tasks = store.tasks
        if everything:
            live = np.flatnonzero(tasks.alive[:tasks.size])
        else:
            live = np.array(sorted(t for row in rows[alive].tolist() for t in tasks.on_row(row)), dtype=np.int64)
        self._adopt(live, started=False, log=False)           # the rows are touched next, once each
        c.touch(rows)

    def _copy_one(self, row: int) -> None:
        """``_copy`` of one row (what registering an instance costs)."""
        store, c = self.store, self.c
        numbers = store.numbers
        alive = bool(store.alive[row])
        active = alive and store.status.codes[row] == store.status.find("ACTIVE")
        eligible = active and store.agent_connected.codes[row] == store.agent_connected.find(True)
        c.load_row(row, int(numbers["remaining_cpu"][row]), int(numbers["remaining_memory"][row]),
                   int(numbers["remaining_gpu"][row]), int(numbers["running_tasks"][row]), eligible, active)
        if alive and store.ports[row]:
            c.reserve_ports(row, store.ports[row])
        for attribute in self.bucket_of:
            self._rebucket_row(row, attribute)
        if alive:
            for task in store.tasks.on_row(row):
                self._adopt_one(task, started=False)
        c.touch_row(row)

    @staticmethod
    def _is(column, value, rows: np.ndarray) -> np.ndarray:
        code = column.find(value)
        return column.codes[rows] == code if code is not None else np.zeros(len(rows), dtype=bool)

    def _adopt_one(self, task: int, started: bool) -> None:
        table = self.store.tasks
        groups = self._store_groups if len(self._store_groups) == len(table.names) else self._groups_of_store()
        number = self.c.adopt_one(table.rows[task], groups[table.group[task]], table.cpu[task], table.memory[task],
                                  table.gpu[task], table.ports[task], started, task)
        if task >= len(self.number_of) or self.fleet_tasks >= len(self.fleet_numbers):
            return self._link(np.array([task], dtype=np.int64), number)
        self.number_of[task] = number
        self.fleet_numbers[self.fleet_tasks], self.fleet_origins[self.fleet_tasks] = number, task
        self.fleet_tasks += 1

    def _groups_of_store(self) -> list[int]:
        """This state's code of each group the store's task table names."""
        names = self.store.tasks.names
        codes = self._store_groups
        while len(codes) < len(names):
            codes.append(self.group(names[len(codes)]))
        return codes

    def _adopt(self, tasks: np.ndarray, started: bool, log: bool = True) -> None:
        """The fleet's tasks ``tasks`` (its task indices, in order) into this state."""
        if len(tasks) == 1:
            return self._adopt_one(int(tasks[0]), started)
        if not len(tasks):
            return
        table = self.store.tasks
        codes = np.array(self._groups_of_store() or [0], dtype=np.int64)
        first = self.c.adopt(table.rows[tasks], codes[table.group[tasks]], table.cpu[tasks], table.memory[tasks],
                             table.gpu[tasks], [table.ports[t] for t in tasks.tolist()], started, log, tasks)
        self._link(tasks, first)

    def _link(self, tasks: np.ndarray, first: int) -> None:
        """The store's tasks ``tasks`` are this state's ``first``, ``first + 1``, ..."""
        numbers = np.arange(first, first + len(tasks), dtype=np.int64)
        if self.store.tasks.size > len(self.number_of):
            self.number_of = _regrown(self.number_of, 2 * self.store.tasks.size, fill=-1)
        end = self.fleet_tasks + len(tasks)
        if end > len(self.fleet_numbers):
            self.fleet_numbers = _regrown(self.fleet_numbers, 2 * end)
            self.fleet_origins = _regrown(self.fleet_origins, 2 * end)
        self.number_of[tasks] = numbers
        self.fleet_numbers[self.fleet_tasks:end], self.fleet_origins[self.fleet_tasks:end] = numbers, tasks
        self.fleet_tasks = end

    def _kill(self, row: int) -> None:
        """A deregistered instance: its tasks stop counting; it takes no more."""
        for task in self.c.tasks_on(row):
            self.c.stop(task)
        self.c.load_row(row, 0, 0, 0, 0, False, False)
        self.c.touch_row(row)

    def _status(self, row: int) -> None:
        self._copy_flags(row)
        self.c.touch_row(row)

    def _copy_flags(self, row: int) -> None:
        rows = np.array([row], dtype=np.int64)
        c, store = self.c, self.store
        active = bool(store.alive[row]) and bool(self._is(store.status, "ACTIVE", rows)[0])
        eligible = active and bool(self._is(store.agent_connected, True, rows)[0])
        c.array("eligible")[row], c.array("active")[row] = eligible, active

    def _attribute(self, row: int, name: str) -> None:
        if name in self.bucket_of:
            self._rebucket_row(row, name)
        self._tell("attribute_changed", row, name)
        self.c.touch_row(row)

    def _rebucket_row(self, row: int, attribute: str) -> None:
        """``_rebucket`` of one row."""
        column = self.store.attributes.get(attribute)
        bucket_of = self.bucket_of[attribute]
        now, was = (int(column.codes[row]) if column is not None else 0), int(bucket_of[row])
        if now == was:
            return
        spreads = self.spreads_over.get(attribute, ())
        if spreads and now >= len(spreads[0].counts):
            for spread in spreads:
                spread.counts = _regrown(spread.counts, 2 * (now + 1))
            self._point_all()
        for spread in spreads:
            tasks = int(self.counts[spread.group][row])
            spread.counts[was] -= tasks
            spread.counts[now] += tasks
        bucket_of[row] = now

    def _rebucket(self, rows: np.ndarray, attribute: str) -> None:
        """Rows' buckets for ``attribute`` as the fleet has them now; their tasks move with them."""
        column = self.store.attributes.get(attribute)
        bucket_of = self.bucket_of[attribute]
        now = column.codes[rows].astype(np.uint32) if column is not None else np.zeros(len(rows), dtype=np.uint32)
        moved = now != bucket_of[rows]
        if not moved.any():
            return
        spreads = self.spreads_over.get(attribute, [])
        top = int(now.max()) + 1
        if spreads and top > len(spreads[0].counts):
            for spread in spreads:
                spread.counts = _regrown(spread.counts, 2 * top)
            self._point_all()
        changed = rows[moved]
        for spread in spreads:
            tasks = self.counts[spread.group][changed]
            np.subtract.at(spread.counts, bucket_of[changed], tasks)
            np.add.at(spread.counts, now[moved], tasks)
        bucket_of[changed] = now[moved]

    def _grow(self, capacity: int) -> None:
        self.c.grow(capacity)
        self._resize(capacity, None)
        self._tell("grown")

    def _remap(self, old_to_new: np.ndarray) -> None:
        """The fleet compacted its rows: follow, keeping every task (and its number)."""
        capacity = self.store.capacity
        keep = np.flatnonzero(old_to_new[:self.c.n] >= 0)
        self.c.remap(old_to_new[:self.c.n], capacity)
        self._resize(capacity, keep)
        self._tell("remapped", keep)

    def _resize(self, capacity: int, keep) -> None:
        for code in self.counts:
            self.counts[code] = _regrown(self.counts[code], capacity, keep)
        for attribute in self.bucket_of:
            self.bucket_of[attribute] = _regrown(self.bucket_of[attribute], capacity, keep)
        for spread in self.spreads.values():
            spread.bucket_of = self.bucket_of[spread.attribute]
        for key, (leaf, counts) in self.hits.items():
            self.hits[key] = (leaf, _regrown(counts, capacity, keep))
        self._point_all()

    # -- tasks --------------------------------------------------------------------------------------

    def placed(self, number: int) -> bool:
        """Whether task ``number`` was placed here (not one of the fleet's), running or not."""
        return self._origin(number) < 0

    def _origin(self, number: int) -> int:
        """Task ``number``'s index in the store's tasks (-1: placed here)."""
        origin = self.c.origin(number)
        if origin == -2:                                   # not running: the fleet's record of its tasks
            at = int(np.searchsorted(self.fleet_numbers[:self.fleet_tasks], number))
            found = at < self.fleet_tasks and self.fleet_numbers[at] == number
            origin = int(self.fleet_origins[at]) if found else -1
        return origin

    def task_id(self, number: int, origin: int | None = None) -> str:
        """Task ``number``'s id (``origin``: its store index when known, -1 placed)."""
        origin = self._origin(number) if origin is None else origin
        return f"{PLACED}{number}" if origin < 0 else self.store.tasks.ids[origin]

    def task_number(self, task_id) -> int | None:
        """The number of a live task given by its id (or its number), else None."""
        if isinstance(task_id, (int, np.integer)) and not isinstance(task_id, bool):
            number = int(task_id)
        elif isinstance(task_id, str) and task_id.startswith(PLACED) and task_id[len(PLACED):].isdigit():
            number = int(task_id[len(PLACED):])
            if not self.placed(number):
                return None
        elif isinstance(task_id, str):
            task = self.store.tasks.index.get(task_id)
            number = int(self.number_of[task]) if task is not None and task < len(self.number_of) else -1
        else:
            return None
        return number if self.c.alive(number) else None
