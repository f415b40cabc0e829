"""The agent-memory port on DynamoDB (the lean profile)."""

from __future__ import annotations

import dataclasses
import logging
import math
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from adapters.dynamodb.errors import Caller, ConditionFailed, RetryPolicy
from adapters.dynamodb.items import (
    MAX_ITEM_BYTES,
    check_size,
    from_attr,
    item_size,
    to_attr,
    to_item,
)
from core.domain import HistoryItem
from core.errors import BackendUnavailable, FenceRejected

log = logging.getLogger(__name__)

RESPONSE_ID_TTL_S = 1_728_000  # 20 days, as the seed's Redis key
HISTORY_TTL_S = 1_728_000  # a history entry outlives its write by this much (TTL deletes are free)
HISTORY_PREFIX = "history#"  # sort keys of history items; "response" is the response id
MAX_KEY_ATTEMPTS = 5  # sort-key collisions tolerated for one append (random suffix: ~never)
_FIELDS = tuple(f.name for f in dataclasses.fields(HistoryItem))


class DynamoAgentMemory:
    """Per session in the ``agent_memory`` table (key ``sessionId`` + ``kind``):

    - one item per append, ``kind = history#<µs>#<random>``, holding that append's
      ``entries`` (the user message and the reply, usually). An append is one PutItem of
      what is new, never a rewrite of what is stored, so a turn costs the size of the turn
      whatever the history holds; one item per append makes the append atomic (a question
      is never stored without its answer). The cap is applied when reading: one Query,
      newest first, of the fewest items that hold the newest ``max_items`` entries (a
      second Query only when appends held single entries). Entries past the cap are
      never read again and TTL deletes them (``expireAt``, 20 days; deletes by TTL are
      free where a DeleteItem would be a billed write).
    - ``response``: ``responseId`` and ``expiresAtMs``. DynamoDB's TTL deletes expired items
      late, up to days late, so reads check the expiry too.
    - ``forget`` (a turn taken back) puts one marker item among the history items (a
      ``history#`` key without ``entries``): reads stop at it, so everything older is
      forgotten for one small write, and TTL deletes it all later; the response item is
      deleted.

    Fencing: a fenced append first raises the session's ``kind = fence`` item to its fence
    (one small conditional UpdateItem, refused with ``FenceRejected`` when a newer fence
    wrote), then puts its entries; the response id's put carries the same condition on its
    own item. The check and the put are two writes: a holder paused exactly between them
    can still add one append after a newer holder wrote (the lease keeper stops a paused
    holder at its next beat; docs/recovery.md).

    Order: sort keys grow with the writer's clock (µs, never repeating within an instance).
    Appends of one session are made by the holder of its lock, one after another, so
    cross-writer order rests on clocks agreeing to well within a reply, as the lease does.
    An entry's attributes are ``HistoryItem``'s fields by name, so typed entries (a field
    added with a default) are stored and read back without a schema change. A write that
    must be refused once a newer writer exists (a fence) can take its condition on the
    PutItem (``attribute_not_exists(kind)`` is already there).
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
        self._last_us = 0

    def _key(self, session_id: str, kind: str) -> dict[str, Any]:
        return {"sessionId": to_attr(session_id), "kind": to_attr(kind)}

    def _next_kind(self) -> str:
        self._last_us = max(int(self._clock() * 1_000_000), self._last_us + 1)
        return f"{HISTORY_PREFIX}{self._last_us:017d}#{secrets.token_hex(4)}"

    async def append_history(
        self, session_id: str, items: Sequence[HistoryItem], fence: int | None = None
    ) -> None:
        if not items:
            return
        if fence is not None:
            await self._raise_fence(session_id, fence)
        entries = self._fit(session_id, [_entry(item) for item in items[-self._max_items :]])
        if not entries:
            return
        expire_at = math.ceil(self._clock()) + self._history_ttl_s
        for _ in range(MAX_KEY_ATTEMPTS):
            item = {
                **self._key(session_id, self._next_kind()),
                "entries": {"L": entries},
                "expireAt": to_attr(expire_at),
            }
            try:
                await self._call(
                    "put_item",
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(kind)",  # never overwrite
                )
                return
            except ConditionFailed:
                continue  # the same µs and random suffix: take the next key
        raise BackendUnavailable(f"no free history key in session {session_id}")

    async def _raise_fence(self, session_id: str, fence: int) -> None:
        try:
            await self._call(
                "update_item",
                TableName=self._table,
                Key=self._key(session_id, "fence"),
                UpdateExpression="SET fence = :f, expireAt = :ttl",
                ConditionExpression="attribute_not_exists(fence) OR fence <= :f",
                ExpressionAttributeValues={
                    ":f": to_attr(fence),
                    ":ttl": to_attr(math.ceil(self._clock()) + self._history_ttl_s),
                },
            )
        except ConditionFailed:
            raise FenceRejected(f"agent memory of {session_id} is fenced above {fence}") from None

    def _fit(self, session_id: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Drops the oldest entries until the append's item fits in DynamoDB's 400 KB."""
        budget = MAX_ITEM_BYTES - 200  # keys, TTL and the names of the attributes
        kept = list(entries)
        while kept and item_size({"entries": {"L": kept}}) > budget:
            kept.pop(0)
        if len(kept) < len(entries):
            log.warning("history of %s cut to %d items to fit 400 KB", session_id, len(kept))
        return kept

    async def recent_history(self, session_id: str) -> list[HistoryItem]:
        """The newest ``max_items`` entries, oldest first. An append usually holds two
        entries, so the first Query asks for half the cap in items."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "sessionId = :s AND begins_with(kind, :h)",
            "ExpressionAttributeValues": {":s": to_attr(session_id), ":h": to_attr(HISTORY_PREFIX)},
            "ScanIndexForward": False,
            "ConsistentRead": True,  # the next turn of a session may start a moment later
        }
        newest_first: list[HistoryItem] = []
        limit = max(1, math.ceil(self._max_items / 2))
        while len(newest_first) < self._max_items:
            response = await self._call("query", Limit=limit, **params)
            forgotten = False
            for stored in response.get("Items", []):
                if "entries" not in stored:  # forget's marker: nothing older counts
                    forgotten = True
                    break
                newest_first.extend(reversed([_item(e) for e in stored["entries"]["L"]]))
            if forgotten or "LastEvaluatedKey" not in response:
                break
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            limit = self._max_items - len(newest_first)  # at least one entry per item
        return list(reversed(newest_first[: self._max_items]))

    async def get_previous_response_id(self, session_id: str) -> str | None:
        response = await self._call(
            "get_item",
            TableName=self._table,
            Key=self._key(session_id, "response"),
            ConsistentRead=True,
        )
        stored = response.get("Item", {})
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

    async def forget(self, session_id: str, fence: int | None = None) -> None:
        if fence is not None:
            await self._raise_fence(session_id, fence)
        expire_at = math.ceil(self._clock()) + self._history_ttl_s
        for _ in range(MAX_KEY_ATTEMPTS):
            marker = {**self._key(session_id, self._next_kind()), "expireAt": to_attr(expire_at)}
            try:
                await self._call(
                    "put_item",
                    TableName=self._table,
                    Item=marker,
                    ConditionExpression="attribute_not_exists(kind)",
                )
                break
            except ConditionFailed:
                continue
        else:
            raise BackendUnavailable(f"no free history key in session {session_id}")
        await self._call(
            "delete_item", TableName=self._table, Key=self._key(session_id, "response")
        )


def _entry(item: HistoryItem) -> dict[str, Any]:
    return to_attr({name: getattr(item, name) for name in _FIELDS})


def _item(entry: dict[str, Any]) -> HistoryItem:
    values = from_attr(entry)
    return HistoryItem(**{name: values[name] for name in _FIELDS if name in values})
