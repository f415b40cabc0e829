"""The agent-memory port on Redis: a capped list of JSON turns and the previous response id.

Appending is one Lua script (RPUSH, LTRIM to the newest N, EXPIRE), so two replies' appends
can interleave only as whole batches and the list never holds more than N items, not even
for an instant another reader could see. The history key takes the response id's TTL
(20 days by default) on every append: an idle session's memory goes away by itself, and
the reply service rebuilds it from the durable store if it is needed again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from adapters.redis.client import Guard
from adapters.redis.keys import RedisKeys
from adapters.redis.scripts import KeyedScript, ScriptingClient
from core.domain import HistoryItem
from core.errors import FenceRejected

log = logging.getLogger(__name__)

# Fencing, in both scripts: ARGV fence '' for an unfenced write; else refused (-1, nothing
# written) when the session's fence key holds a newer one, and recorded when it is newer.
FENCE = """
local function fenced(key, fence, ttl)
  if fence == '' then
    return false
  end
  local newest = tonumber(redis.call('GET', key) or '0')
  if tonumber(fence) < newest then
    return true
  end
  redis.call('SET', key, fence, 'EX', ttl)
  return false
end
"""

# KEYS[1] history, KEYS[2] fence; ARGV[1] keep N, ARGV[2] ttl s, ARGV[3] fence,
# ARGV[4..] JSON items oldest first → length, or -1 when fenced off.
APPEND = (
    FENCE
    + """
if fenced(KEYS[2], ARGV[3], ARGV[2]) then
  return -1
end
for i = 4, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('LLEN', KEYS[1])
"""
)

# KEYS[1] response id, KEYS[2] fence; ARGV[1] id, ARGV[2] ttl s, ARGV[3] fence → 1, or -1.
SET_RESPONSE_ID = (
    FENCE
    + """
if fenced(KEYS[2], ARGV[3], ARGV[2]) then
  return -1
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
)

# KEYS[1] history, KEYS[2] response id, KEYS[3] fence; ARGV[1] ttl s, ARGV[2] fence → 1, or -1.
FORGET = (
    FENCE
    + """
if fenced(KEYS[3], ARGV[2], ARGV[1]) then
  return -1
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""
)


class MemoryClient(ScriptingClient, Protocol):
    """What agent memory needs of a client (``redis.asyncio.Redis`` and ``RedisCluster``)."""

    def lrange(self, name: str, start: int, end: int) -> Awaitable[Any]: ...

    def get(self, name: str) -> Awaitable[Any]: ...

    def set(self, name: str, value: str, ex: int | None = None) -> Awaitable[Any]: ...


class RedisAgentMemory:
    """``AgentMemory`` on Redis/Valkey (DESIGN §3 keys). Raises ``BackendUnavailable`` when
    Redis cannot be reached within the deadline."""

    def __init__(
        self,
        client: MemoryClient,
        keys: RedisKeys | None = None,
        *,
        max_items: int = 20,
        response_id_ttl_s: int = 1_728_000,
        deadline_s: float = 3.0,
    ) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._client = client
        self._keys = keys or RedisKeys()
        self._max_items = max_items
        self._ttl_s = response_id_ttl_s
        self._guard = Guard(deadline_s)
        self._append = KeyedScript(client, APPEND)
        self._set_response_id = KeyedScript(client, SET_RESPONSE_ID)
        self._forget = KeyedScript(client, FORGET)

    async def append_history(
        self, session_id: str, items: Sequence[HistoryItem], fence: int | None = None
    ) -> None:
        if not items:
            return
        # Only the newest N can survive the trim; older ones need not travel.
        encoded = [_encode(item) for item in items[-self._max_items :]]
        keys = [self._keys.history(session_id), self._keys.memory_fence(session_id)]
        length = await self._guard(
            "append to the agent's history",
            self._append(keys, [self._max_items, self._ttl_s, _fence_arg(fence), *encoded]),
        )
        if int(length) < 0:
            raise FenceRejected(f"agent memory of {session_id} is fenced above {fence}")

    async def recent_history(self, session_id: str) -> list[HistoryItem]:
        raw = await self._guard(
            "read the agent's history", self._client.lrange(self._keys.history(session_id), 0, -1)
        )
        items = [_decode(entry) for entry in raw]
        return [item for item in items if item is not None]

    async def get_previous_response_id(self, session_id: str) -> str | None:
        value = await self._guard(
            "read the previous response id", self._client.get(self._keys.response_id(session_id))
        )
        return None if value is None else str(value)

    async def set_previous_response_id(
        self, session_id: str, response_id: str, fence: int | None = None
    ) -> None:
        keys = [self._keys.response_id(session_id), self._keys.memory_fence(session_id)]
        done = await self._guard(
            "store the previous response id",
            self._set_response_id(keys, [response_id, self._ttl_s, _fence_arg(fence)]),
        )
        if int(done) < 0:
            raise FenceRejected(f"agent memory of {session_id} is fenced above {fence}")

    async def forget(self, session_id: str, fence: int | None = None) -> None:
        keys = [
            self._keys.history(session_id),
            self._keys.response_id(session_id),
            self._keys.memory_fence(session_id),
        ]
        done = await self._guard(
            "forget the agent's history", self._forget(keys, [self._ttl_s, _fence_arg(fence)])
        )
        if int(done) < 0:
            raise FenceRejected(f"agent memory of {session_id} is fenced above {fence}")


def _fence_arg(fence: int | None) -> str:
    return "" if fence is None else str(fence)


def _encode(item: HistoryItem) -> str:
    return json.dumps({"role": item.role, "content": item.content}, ensure_ascii=False)


def _decode(entry: str | bytes) -> HistoryItem | None:
    try:
        data = json.loads(entry)
        return HistoryItem(str(data["role"]), str(data["content"]))
    except (ValueError, TypeError, KeyError):
        log.warning("skipping an agent-history entry that is not an azuchi item: %.80r", entry)
        return None
