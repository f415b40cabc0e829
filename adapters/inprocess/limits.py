"""The limits counters in this process's memory (tests, experiments, one-process runs)."""

from __future__ import annotations

import time

from core.gcra import gcra

_PRUNE_EVERY = 1024  # writes between sweeps of expired counters


class InProcessLimitCounters:
    """``LimitCounters`` in dicts. Atomic because each call runs without an await."""

    def __init__(self) -> None:
        self._tats: dict[str, int] = {}
        self._totals: dict[str, tuple[int, int]] = {}  # key -> (total, expire_at_s)
        self._writes = 0

    async def take(self, key: str, capacity: int, interval_ms: int, now_ms: int) -> int:
        tat, wait = gcra(self._tats.get(key), capacity, interval_ms, now_ms)
        if tat is not None:
            self._tats[key] = tat
            self._wrote(now_ms)
        return wait

    async def add(self, key: str, amount: int, expire_at_s: int) -> int:
        now_s = int(time.time())
        total, expires = self._totals.get(key, (0, expire_at_s))
        if expires <= now_s:
            total = 0
        self._totals[key] = (total + amount, expire_at_s)
        self._wrote(now_s * 1000)
        return total + amount

    async def total(self, key: str, now_ms: int) -> int:
        total, expires = self._totals.get(key, (0, 0))
        return total if expires * 1000 > now_ms else 0

    def _wrote(self, now_ms: int) -> None:
        self._writes += 1
        if self._writes % _PRUNE_EVERY:
            return
        for key in [k for k, tat in self._tats.items() if tat <= now_ms]:
            del self._tats[key]
        for key in [k for k, (_, exp) in self._totals.items() if exp * 1000 <= now_ms]:
            del self._totals[key]
