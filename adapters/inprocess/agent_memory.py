"""The agent-memory port in memory."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

from core.domain import HistoryItem
from core.errors import FenceRejected

RESPONSE_ID_TTL_S = 1_728_000  # 20 days, as the seed's Redis key


class InProcessAgentMemory:
    """A capped deque per session and response ids with an expiry time."""

    def __init__(
        self,
        max_items: int = 20,
        response_id_ttl_s: int = RESPONSE_ID_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max_items = max_items
        self._ttl = response_id_ttl_s
        self._now = clock
        self._history: dict[str, deque[HistoryItem]] = {}
        self._response_ids: dict[str, tuple[str, float]] = {}
        self._fences: dict[str, int] = {}

    def _fence(self, session_id: str, fence: int | None) -> None:
        if fence is None:
            return
        newest = self._fences.get(session_id, 0)
        if fence < newest:
            raise FenceRejected(f"agent memory of {session_id} is fenced at {newest}")
        self._fences[session_id] = fence

    async def append_history(
        self, session_id: str, items: Sequence[HistoryItem], fence: int | None = None
    ) -> None:
        self._fence(session_id, fence)
        history = self._history.setdefault(session_id, deque(maxlen=self._max_items))
        history.extend(items)

    async def recent_history(self, session_id: str) -> list[HistoryItem]:
        return list(self._history.get(session_id, ()))

    async def get_previous_response_id(self, session_id: str) -> str | None:
        entry = self._response_ids.get(session_id)
        if entry is None:
            return None
        if entry[1] <= self._now():
            del self._response_ids[session_id]
            return None
        return entry[0]

    async def set_previous_response_id(
        self, session_id: str, response_id: str, fence: int | None = None
    ) -> None:
        self._fence(session_id, fence)
        self._response_ids[session_id] = (response_id, self._now() + self._ttl)

    async def forget(self, session_id: str, fence: int | None = None) -> None:
        self._fence(session_id, fence)
        self._history.pop(session_id, None)
        self._response_ids.pop(session_id, None)
