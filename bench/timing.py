"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time
from typing import Callable


def best_of(fn: Callable[[], object], runs: int = 3, clock: Callable[[], float] = time.perf_counter) -> float:
    """The fastest of RUNS timings of fn() on CLOCK (wall by default; ``time.process_time`` for
    CPU), in seconds (least disturbed by other load)."""
    times = []
    for _ in range(runs):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)
