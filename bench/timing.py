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


def print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    """A two-column table (measure, value) under TITLE, as the lab benchmarks print their figures."""
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}")
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  ---------")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
