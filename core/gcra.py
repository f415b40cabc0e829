"""A token bucket kept as one number: GCRA, the generic cell rate algorithm.

A bucket of ``capacity`` takes that refills one take every ``interval_ms`` is the same as
one timestamp, the *theoretical arrival time* (TAT): the moment the bucket would be full
again. A take at ``now`` is allowed while ``TAT <= now + (capacity - 1) * interval``; it
moves TAT to ``max(TAT, now) + interval``. A missing TAT (or one in the past) is a full
bucket, so the stored number may expire at TAT itself. Every limits adapter keeps this
one number per key (a Lua script, one SQL row, two conditional DynamoDB writes); this
module is the arithmetic they agree on.
"""

from __future__ import annotations


def tolerance_ms(capacity: int, interval_ms: int) -> int:
    return max(capacity - 1, 0) * interval_ms


def gcra(tat: int | None, capacity: int, interval_ms: int, now_ms: int) -> tuple[int | None, int]:
    """``(new TAT, 0)`` when the take is allowed, ``(None, wait ms)`` when it is not."""
    base = now_ms if tat is None or tat < now_ms else tat
    wait = base - tolerance_ms(capacity, interval_ms) - now_ms
    if wait > 0:
        return None, wait
    return base + interval_ms, 0
