"""The cyclic garbage collector tuned for one long-running server process.

Python's defaults (a young collection every 700 container allocations) suit short scripts.
A server streaming hundreds of replies allocates tens of thousands of containers a second,
and each young collection promotes whatever is alive at that instant (a reply's tasks,
cancel scopes, timers and frames, which live for seconds) into the older generations; the
full collections that follow walk every object of every session, and stop the event loop
for as long (measured at 800 streaming sessions: 22 % of the process's CPU in the collector,
full collections of about 200 ms each; bench/loop_bench.py, docs/load-testing.md).

A larger young generation lets the short-lived objects die by reference counting before any
collection sees them, so few are promoted and full collections become rare; the objects of
start-up (modules, the app, its adapters) are frozen out of every collection. Memory held by
unreachable cycles is reclaimed later, not never.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # container allocations between young collections (Python: 700)


def tune_for_serving(young: int = YOUNG_THRESHOLD) -> tuple[int, int, int]:
    """Freezes what start-up allocated and raises the young generation's threshold (the
    older ones keep Python's); returns the thresholds set. Call once, after the app is
    built and before serving."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(max(young, 1), older, oldest)
    return gc.get_threshold()
