"""The limits counters on Redis/Valkey: a bucket's TAT (core/gcra.py) or a total per key.

Each call is one Lua script on one key, so it is atomic on a cluster too, and every key
carries its expiry: a bucket's key lives until its TAT (a full bucket is a missing key),
a total until its window closes.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from adapters.redis.client import Guard
from adapters.redis.keys import RedisKeys

# KEYS[1] bucket; ARGV[1] capacity, ARGV[2] interval ms, ARGV[3] now ms → 0 taken, else
# the ms to wait (nothing written). Integral doubles hold epoch ms exactly.
TAKE = """
local now = tonumber(ARGV[3])
local interval = tonumber(ARGV[2])
local base = tonumber(redis.call('GET', KEYS[1]) or '0')
if base < now then
  base = now
end
local wait = base - (tonumber(ARGV[1]) - 1) * interval - now
if wait > 0 then
  return wait
end
local tat = base + interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', string.format('%d', tat - now))
return 0
"""

# KEYS[1] total; ARGV[1] amount, ARGV[2] expire at (epoch s) → the new total.
ADD = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return total
"""


class LimitsClient(Protocol):
    """What the counters need of a client (``redis.asyncio.Redis`` has it)."""

    def register_script(self, script: str) -> Any: ...

    def get(self, name: str) -> Awaitable[Any]: ...


class RedisLimitCounters:
    """``LimitCounters`` on Redis/Valkey. Raises ``BackendUnavailable`` when Redis cannot
    be reached within the deadline."""

    def __init__(
        self, client: LimitsClient, keys: RedisKeys | None = None, *, deadline_s: float = 3.0
    ) -> None:
        self._client = client
        self._keys = keys or RedisKeys()
        self._guard = Guard(deadline_s)
        self._take = client.register_script(TAKE)
        self._add = client.register_script(ADD)

    async def take(self, key: str, capacity: int, interval_ms: int, now_ms: int) -> int:
        wait = await self._guard(
            "count a limit", self._take([self._keys.limit(key)], [capacity, interval_ms, now_ms])
        )
        return int(wait)

    async def add(self, key: str, amount: int, expire_at_s: int) -> int:
        total = await self._guard(
            "add to a limit's total", self._add([self._keys.limit(key)], [amount, expire_at_s])
        )
        return int(total)

    async def total(self, key: str, now_ms: int) -> int:
        value = await self._guard("read a limit's total", self._client.get(self._keys.limit(key)))
        return 0 if value is None else int(value)
