"""The fleet's readers-writer lock: many readers at once, or one writer alone.

A ``Fleet`` changes in place (``placement.fleet.store``): a snapshot shares the live buffers, so a
reader that ran while a mutation wrote could see half of it. Mutations take this lock
exclusively; readers (an evaluation's bind and kernel run, a placer catching up with the
journal, explain) share it. Why a lock and not copy-on-write versions: a version that stays
valid while the next one is written needs its own buffers, and the copy would make every event
cost the size of the fleet instead of what it changed.

- **Cheap both ways.** A reader that finds no writer takes the lock without a mutex: it enters
  itself in ``_readers`` and then looks at ``_writing``, while a writer (one at a time: they
  take turns on ``_turn``) sets ``_writing`` and then looks at ``_readers``; whichever comes
  second sees the other (each step is one operation under the GIL, and CPython runs them in
  order). Only a reader that finds a writer, or a writer that finds readers, waits on the
  condition. (Under a free-threaded CPython this ordering argument needs revisiting.)
- **Fair both ways.** A waiting writer holds arriving readers back (evaluating threads cannot
  starve a mutation), and a writer that finishes lets the readers waiting at that moment in
  before the next writer (a busy writer cannot starve the readers).
- **Re-entrant for the thread that holds it**: a read inside a read, a read inside a write, a
  write inside a write. A write inside a read raises ``RuntimeError``: it would wait for itself.

``shared`` and ``exclusive`` are context managers (``with lock.shared:``); hot paths call
``acquire_read`` / ``release_read`` themselves.
"""
from __future__ import annotations

import threading
from threading import get_ident


class ReadWriteLock:
    """Many readers or one writer; see the module docstring."""

    __slots__ = ("_readers", "_writer", "_depth", "_writing", "_waiting", "_admitted", "_turn", "_mutex",
                 "_changed", "shared", "exclusive")

    def __init__(self) -> None:
        self._readers: dict[int, int] = {}     # thread -> how many times it holds the lock shared
        self._writer: int | None = None        # the thread that holds it exclusively
        self._depth = 0                        # how many times the writer holds it (its reads included)
        self._writing = False                  # a writer has its turn (in, or waiting for readers to leave)
        self._waiting = 0                      # readers waiting for a writer to finish
        self._admitted = 0                     # of those, how many the last writer let in (not yet in)
        self._turn = threading.Lock()          # writers take turns on it, one at a time
        self._mutex = threading.Lock()         # guards the waiting counts; taken directly (no Python frame)
        self._changed = threading.Condition(self._mutex)
        self.shared, self.exclusive = _Shared(self), _Exclusive(self)

    # -- readers -------------------------------------------------------------------------------------

    def acquire_read(self) -> None:
        me = get_ident()
        readers = self._readers
        held = readers.get(me)
        if held is not None:                   # a read inside a read: no writer can be in
            readers[me] = held + 1
            return
        if self._writer == me:                 # a read inside this thread's write
            self._depth += 1
            return
        readers[me] = 1
        if self._writing:                      # a writer is in, or waits for the readers to leave
            self._read_after_writer(me)

    def _read_after_writer(self, me: int) -> None:
        changed = self._changed
        self._mutex.acquire()
        try:
            del self._readers[me]
            changed.notify_all()               # the writer may be waiting for the readers to leave
            self._waiting += 1
            try:
                while self._writer is not None or (self._writing and not self._admitted):
                    changed.wait()
            except BaseException:              # interrupted: give up a place a writer may wait for
                self._waiting -= 1
                self._admitted = min(self._admitted, self._waiting)
                changed.notify_all()
                raise
            self._waiting -= 1
            if self._admitted:
                self._admitted -= 1
            self._readers[me] = 1
        finally:
            self._mutex.release()

    def release_read(self) -> None:
        me = get_ident()
        readers = self._readers
        held = readers.get(me)
        if held is None:
            if self._writer != me:
                raise RuntimeError("release_read: this thread does not hold the fleet's lock")
            self._depth -= 1                   # the end of a read inside a write
            return
        if held > 1:
            readers[me] = held - 1
            return
        del readers[me]
        if self._writing:                      # the writer may be waiting for this reader
            self._mutex.acquire()
            self._changed.notify_all()
            self._mutex.release()

    # -- writers -------------------------------------------------------------------------------------

    def acquire_write(self) -> None:
        me = get_ident()
        if self._writer == me:
            self._depth += 1
            return
        if me in self._readers:
            raise RuntimeError("a thread that is reading the fleet cannot change it (it would wait for itself)")
        self._turn.acquire()
        self._writing = True                   # from here on, arriving readers step back
        if self._readers or self._admitted:
            self._wait_for_readers()
        self._writer, self._depth = me, 1

    def _wait_for_readers(self) -> None:
        changed = self._changed
        self._mutex.acquire()
        try:
            while self._readers or self._admitted:
                changed.wait()
        except BaseException:
            self._writing = False
            changed.notify_all()
            self._turn.release()
            raise
        finally:
            self._mutex.release()

    def release_write(self) -> None:
        if self._writer != get_ident():
            raise RuntimeError("release_write: this thread does not hold the fleet's lock")
        self._depth -= 1
        if self._depth:
            return
        self._writer = None
        self._writing = False
        if self._waiting:                      # the readers waiting now go before the next writer
            self._mutex.acquire()
            self._admitted = self._waiting
            self._changed.notify_all()
            self._mutex.release()
        self._turn.release()

    # -- for tests and diagnostics ---------------------------------------------------------------------

    @property
    def readers(self) -> int:
        """How many threads hold the lock shared now."""
        return len(self._readers)

    @property
    def writing(self) -> bool:
        """Whether a thread holds the lock exclusively now."""
        return self._writer is not None

    def __repr__(self) -> str:
        return f"<ReadWriteLock readers={self.readers} writing={self.writing} waiting readers={self._waiting}>"


class _Shared:
    __slots__ = ("lock",)

    def __init__(self, lock: ReadWriteLock):
        self.lock = lock

    def __enter__(self) -> None:
        self.lock.acquire_read()

    def __exit__(self, *exc) -> None:
        self.lock.release_read()


class _Exclusive:
    __slots__ = ("lock",)

    def __init__(self, lock: ReadWriteLock):
        self.lock = lock

    def __enter__(self) -> None:
        self.lock.acquire_write()

    def __exit__(self, *exc) -> None:
        self.lock.release_write()
