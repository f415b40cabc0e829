"""The agent-memory port on DynamoDB (the lean profile)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio

from adapters.backoff import full_jitter
from adapters.dynamodb.errors import Caller, ConditionFailed, RetryPolicy
from adapters.dynamodb.items import MAX_ITEM_BYTES, check_size, item_size, to_attr, to_item
from core.domain import HistoryItem
from core.errors import BackendUnavailable, FenceRejected

log = logging.getLogger(__name__)

RESPONSE_ID_TTL_S = 1_728_000  # 20 days, as the seed's Redis key
HISTORY_TTL_S = 1_728_000  # a session's history outlives its last write by this much
MAX_CONFLICTS = 20  # concurrent appends to one history tolerated before giving up


class DynamoAgentMemory:
    """Two items per session in the ``agent_memory`` table (key ``sessionId`` + ``kind``):

    - ``history``: ``items`` (a list of ``{role, content}``, newest last, at most
      ``max_items``) and ``version``. An append reads both, writes the trimmed list with
      ``version + 1`` on condition that ``version`` is still what it read, and starts over
      when another append came between: appending and trimming are one atomic write.
    - ``response``: ``responseId`` and ``expiresAtMs``. DynamoDB's TTL (``expireAt``, epoch
      seconds) deletes expired items late, up to days late, so reads check the expiry too.

    Fencing: each item keeps the newest ``fence`` that wrote it; a fenced write is refused
    (``FenceRejected``) when the item holds a newer one. The history checks it on the item
    it read (the ``version`` condition makes that read the one it replaces); the response
    id, with a condition on its own item.

    Two items rather than one because DynamoDB bills a read by the whole item's size: the
    response id is read every turn and must not cost as much as the history. The history
    keeps the newest items that fit in one 400 KB item (a history of very long replies may
    keep fewer than ``max_items``).
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        max_items: int = 20,
        response_id_ttl_s: int = RESPONSE_ID_TTL_S,
        history_ttl_s: int = HISTORY_TTL_S,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._call = Caller(client, retry)
        self._table = table
        self._max_items = max_items
        self._response_ttl_s = response_id_ttl_s
        self._history_ttl_s = history_ttl_s
        self._clock = clock

    def _key(self, session_id: str, kind: str) -> dict[str, Any]:
        return {"sessionId": to_attr(session_id), "kind": to_attr(kind)}

    async def _get(self, session_id: str, kind: str) -> dict[str, Any]:
        response = await self._call(
            "get_item", TableName=self._table, Key=self._key(session_id, kind), ConsistentRead=True
        )
        item: dict[str, Any] = response.get("Item", {})
        return item

    async def append_history(
        self, session_id: str, items: Sequence[HistoryItem], fence: int | None = None
    ) -> None:
        if not items:
            return
        for conflict in range(MAX_CONFLICTS):
            stored = await self._get(session_id, "history")
            newest = int(stored["fence"]["N"]) if "fence" in stored else 0
            if fence is not None and fence < newest:
                raise FenceRejected(f"agent memory of {session_id} is fenced at {newest}")
            version = int(stored["version"]["N"]) if "version" in stored else None
            history = [*stored.get("items", {}).get("L", []), *map(_to_attr, items)]
            history = self._fit(session_id, history[-self._max_items :])
            expire_at = math.ceil(self._clock()) + self._history_ttl_s
            condition = "attribute_not_exists(version)" if version is None else "version = :v"
            values = {
                ":items": {"L": history},
                ":next": to_attr((version or 0) + 1),
                ":ttl": to_attr(expire_at),
                ":fence": to_attr(max(newest, fence or 0)),
            }
            if version is not None:
                values[":v"] = to_attr(version)
            try:
                await self._call(
                    "update_item",
                    TableName=self._table,
                    Key=self._key(session_id, "history"),
                    UpdateExpression=(
                        "SET #items = :items, version = :next, expireAt = :ttl, fence = :fence"
                    ),
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#items": "items"},
                    ExpressionAttributeValues=values,
                )
                return
            except ConditionFailed:
                # Another append won the race: read its result and apply ours on top.
                await anyio.sleep(full_jitter(conflict, 0.005, 0.32))
        raise BackendUnavailable(
            f"agent memory of session {session_id} changed under {MAX_CONFLICTS} appends in a row"
        )

    def _fit(self, session_id: str, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Drops the oldest items until the history item fits in DynamoDB's 400 KB."""
        overhead = 200  # keys, version, TTL and the names of the attributes
        budget = MAX_ITEM_BYTES - overhead
        kept = list(history)
        while kept and item_size({"items": {"L": kept}}) > budget:
            kept.pop(0)
        if len(kept) < len(history):
            log.warning("history of %s cut to %d items to fit 400 KB", session_id, len(kept))
        return kept

    async def recent_history(self, session_id: str) -> list[HistoryItem]:
        stored = await self._get(session_id, "history")
        return [
            HistoryItem(entry["M"]["role"]["S"], entry["M"]["content"]["S"])
            for entry in stored.get("items", {}).get("L", [])
        ]

    async def get_previous_response_id(self, session_id: str) -> str | None:
        stored = await self._get(session_id, "response")
        if "responseId" not in stored:
            return None
        if int(stored["expiresAtMs"]["N"]) <= int(self._clock() * 1000):
            return None  # expired; TTL will delete it later
        value: str = stored["responseId"]["S"]
        return value

    async def set_previous_response_id(
        self, session_id: str, response_id: str, fence: int | None = None
    ) -> None:
        expires = self._clock() + self._response_ttl_s
        item = to_item(
            {
                "sessionId": session_id,
                "kind": "response",
                "responseId": response_id,
                "expiresAtMs": int(expires * 1000),
                "expireAt": math.ceil(expires),  # TTL: epoch seconds, never before expiresAtMs
                "fence": fence,
            }
        )
        check_size(item, "previous response id")
        if fence is None:
            await self._call("put_item", TableName=self._table, Item=item)
            return
        try:
            await self._call(
                "put_item",
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(fence) OR fence <= :f",
                ExpressionAttributeValues={":f": to_attr(fence)},
            )
        except ConditionFailed:
            raise FenceRejected(f"agent memory of {session_id} is fenced above {fence}") from None


def _to_attr(item: HistoryItem) -> dict[str, Any]:
    return to_attr({"role": item.role, "content": item.content})
