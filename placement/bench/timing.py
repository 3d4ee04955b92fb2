"""The one timing rule every figure of the harness follows.

A method is called once as a warm-up (caches, lazy imports, thread pools), then timed for
``rounds`` rounds with ``time.perf_counter_ns``, the garbage collector off inside each timed
window, and the best round is kept: on a shared machine the other jobs only ever add time, so
the fastest round is the closest to the method's own cost. A slow method stops repeating once
its timed rounds have taken ``budget_s`` (it always gets one); one whose warm-up alone takes
longer than the budget (a whole simulated day) is timed by that round, which is then mostly
steady state, rather than run twice. The collector is left to run between rounds (a full
collection before each would cost more than the rounds on a large fleet). What a round needs but should not
be charged for (a fresh placer, copies of the baselines' state) is built by ``setup`` before
the clock starts; one method runs at a time, since the thread pools of polars and DuckDB are
still spinning for a while after they return.
"""
from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Timing:
    seconds: float          # the best timed round
    rounds: int             # timed rounds after the warm-up; 0: the warm-up alone, longer than the budget
    result: Any             # what the best round returned, for the caller's checks and reports


def best_of(run: Callable, rounds: int, budget_s: float = math.inf, setup: Callable | None = None) -> Timing:
    """``run()``, or ``run(setup())`` with ``setup`` untimed, by the rule above."""
    def timed_round():
        prepared = () if setup is None else (setup(),)
        gc.disable()
        try:
            start = time.perf_counter_ns()
            result = run(*prepared)
            return time.perf_counter_ns() - start, result
        finally:
            gc.enable()

    elapsed, result = timed_round()
    if elapsed > budget_s * 1e9:
        return Timing(elapsed / 1e9, 0, result)
    best, best_result, spent, done = math.inf, None, 0, 0
    while done < max(1, rounds):
        elapsed, result = timed_round()
        if elapsed < best:
            best, best_result = elapsed, result
        spent, done = spent + elapsed, done + 1
        if spent > budget_s * 1e9:
            break
    return Timing(best / 1e9, done, best_result)
