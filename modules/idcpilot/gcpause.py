"""Bulk reading without the cyclic garbage collector running all the while.

Reading a 100,000-host estate and its lock allocates a few million small objects, none of them
garbage; CPython's collector still walks the young ones every 700 allocations and the whole heap
now and then, which cost about 1.1 of the 4.6 CPU seconds of ``inventory --host`` on the bench
estate (bench/bench_catalogue.py). Reference counting still frees everything as usual; only the
search for reference cycles waits until the block ends, and the loaders' limits bound what a
file can make meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic collector off (restored after, also on error; nests)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
