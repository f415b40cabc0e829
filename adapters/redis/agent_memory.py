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
from core.domain import HistoryItem

log = logging.getLogger(__name__)

# KEYS[1] history; ARGV[1] keep N, ARGV[2] ttl s, ARGV[3..] JSON items oldest first → length.
APPEND = """
for i = 3, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('LLEN', KEYS[1])
"""


class MemoryClient(Protocol):
    """What agent memory needs of a client (``redis.asyncio.Redis`` has it)."""

    def register_script(self, script: str) -> Any: ...

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
        self._append = client.register_script(APPEND)

    async def append_history(self, session_id: str, items: Sequence[HistoryItem]) -> None:
        if not items:
            return
        # Only the newest N can survive the trim; older ones need not travel.
        encoded = [_encode(item) for item in items[-self._max_items :]]
        await self._guard(
            "append to the agent's history",
            self._append(
                [self._keys.history(session_id)], [self._max_items, self._ttl_s, *encoded]
            ),
        )

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

    async def set_previous_response_id(self, session_id: str, response_id: str) -> None:
        await self._guard(
            "store the previous response id",
            self._client.set(self._keys.response_id(session_id), response_id, ex=self._ttl_s),
        )


def _encode(item: HistoryItem) -> str:
    return json.dumps({"role": item.role, "content": item.content}, ensure_ascii=False)


def _decode(entry: str | bytes) -> HistoryItem | None:
    try:
        data = json.loads(entry)
        return HistoryItem(str(data["role"]), str(data["content"]))
    except (ValueError, TypeError, KeyError):
        log.warning("skipping an agent-history entry that is not an azuchi item: %.80r", entry)
        return None
