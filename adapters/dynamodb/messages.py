"""The messages table: keys that are never reused, idempotent appends, constant-cost reads."""

from __future__ import annotations

import random
from typing import Any

import anyio

from adapters.dynamodb.errors import Caller, ConditionFailed, TransactionCancelled
from adapters.dynamodb.items import check_size, from_item, to_attr, to_item
from core.domain import AppendResult, Message, MessageDraft, Role, Usage
from core.errors import BackendUnavailable
from core.ports import Clock

MAX_KEY_ATTEMPTS = 200  # createdAt collisions tolerated for one append
BATCH_WRITE_MAX = 25  # keys per BatchWriteItem, DynamoDB's limit
MAX_UNPROCESSED_ROUNDS = 8  # BatchWriteItem retries of what DynamoDB left unprocessed
GUARD_SEPARATOR = "#client#"


class MessageLog:
    """One session's messages under ``(sessionId, createdAt)``.

    ``append`` reads the session's newest key (one Query, Limit 1), starts from
    ``max(now, newest + 1)`` and writes with ``attribute_not_exists(createdAt)``. A refused
    write means another writer took that millisecond, so it tries a later one (a random
    step, growing with each collision); nothing is ever overwritten::

        A: newest=41, now=40 → put 42 IF absent ✓
        B: newest=41, now=40 → put 42 IF absent ✗ (A has it) → put 43 or 44 IF absent ✓
        C, after A and B:      newest=44 → put 45 IF absent ✓   (later appends sort later)

    A ``clientMessageId`` is made idempotent by a guard item under the partition key
    ``<sessionId>#client#<clientMessageId>`` (createdAt 0, ``ref`` = the message's key),
    written in one transaction with the message: both land or neither does. A repeat's
    transaction fails on the guard, and the first message is read back through it.
    """

    def __init__(self, call: Caller, table: str, clock: Clock, ttl_s: int) -> None:
        self._call = call
        self._table = table
        self._clock = clock
        self._ttl_s = ttl_s

    async def append(self, draft: MessageDraft) -> AppendResult:
        sid = draft.session_id
        fields = message_fields(draft)
        # With the largest key and TTL a message can get, the check covers every attempt.
        check_size(to_item({**fields, "createdAt": 2**53, "expireAt": 2**43}), "message")
        created_at = max(self._clock.now_ms(), await self._newest(sid) + 1)
        for collisions in range(MAX_KEY_ATTEMPTS):
            expire_at = created_at // 1000 + self._ttl_s
            item = to_item({**fields, "createdAt": created_at, "expireAt": expire_at})
            try:
                if draft.client_message_id is None:
                    await self._put(item)
                else:
                    await self._put_guarded(item, draft.client_message_id, expire_at)
                return AppendResult(Message.from_draft(draft, created_at, expire_at), created=True)
            except ConditionFailed:
                pass  # another writer took this millisecond
            except TransactionCancelled as exc:
                guard, message = [*exc.reasons, "None", "None"][:2]
                if guard == "ConditionalCheckFailed":
                    return AppendResult(await self._first(sid, draft.client_message_id), False)
                if message != "ConditionalCheckFailed":
                    raise BackendUnavailable(
                        f"DynamoDB cancelled the append: {exc.reasons}"
                    ) from exc
            # Jitter spreads writers that collided together over the next milliseconds, so a
            # burst settles in a few rounds instead of one winner per round.
            step = 1 + random.randrange(2 ** min(collisions + 1, 8))
            created_at = max(self._clock.now_ms(), created_at + step)
        raise BackendUnavailable(
            f"no free createdAt in session {sid} after {MAX_KEY_ATTEMPTS} tries"
        )

    async def _put(self, item: dict[str, Any]) -> None:
        await self._call(
            "put_item",
            TableName=self._table,
            Item=item,
            ConditionExpression="attribute_not_exists(createdAt)",
        )

    async def _put_guarded(self, item: dict[str, Any], client_id: str, expire_at: int) -> None:
        guard = to_item(
            {
                "sessionId": item["sessionId"]["S"] + GUARD_SEPARATOR + client_id,
                "createdAt": 0,
                "ref": int(item["createdAt"]["N"]),
                "expireAt": expire_at,
            }
        )
        puts = [
            (guard, "attribute_not_exists(sessionId)"),
            (item, "attribute_not_exists(createdAt)"),
        ]
        await self._call(
            "transact_write_items",
            TransactItems=[
                {"Put": {"TableName": self._table, "Item": i, "ConditionExpression": c}}
                for i, c in puts
            ],
        )

    async def _first(self, session_id: str, client_id: str | None) -> Message:
        """The message that an earlier append with this clientMessageId stored."""
        guard = await self._get(session_id + GUARD_SEPARATOR + (client_id or ""), 0)
        first = await self._get(session_id, guard["ref"]) if guard else None
        if first is None:
            raise BackendUnavailable(f"the message stored with clientMessageId {client_id} is gone")
        return _message(first)

    async def _get(self, session_id: str, created_at: int) -> dict[str, Any] | None:
        response = await self._call(
            "get_item",
            TableName=self._table,
            Key={"sessionId": to_attr(session_id), "createdAt": to_attr(created_at)},
            ConsistentRead=True,
        )
        return from_item(response["Item"]) if "Item" in response else None

    async def _newest(self, session_id: str) -> int:
        items = await self._query(session_id, None, 1, newest_first=True, keys_only=True)
        return int(items[0]["createdAt"]) if items else 0

    async def last(self, session_id: str, limit: int) -> list[Message]:
        items = await self._query(session_id, None, limit, newest_first=True)
        return [_message(item) for item in reversed(items)]

    async def after(self, session_id: str, after: int | None, limit: int) -> list[Message]:
        return [
            _message(i) for i in await self._query(session_id, after, limit, newest_first=False)
        ]

    async def delete_all(self, session_id: str) -> None:
        """Every message of the session and its idempotency guard, 25 keys per
        BatchWriteItem (DynamoDB's most), pages of keys read with a keys-only Query."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "sessionId = :s",
            "ExpressionAttributeValues": {":s": to_attr(session_id)},
            "ProjectionExpression": "createdAt, clientMessageId",
            "ConsistentRead": True,
        }
        while True:
            response = await self._call("query", **params)
            keys: list[dict[str, Any]] = []
            for raw in response.get("Items", []):
                item = from_item(raw)
                keys.append({"sessionId": to_attr(session_id), "createdAt": raw["createdAt"]})
                if item.get("clientMessageId"):
                    guard = session_id + GUARD_SEPARATOR + item["clientMessageId"]
                    keys.append({"sessionId": to_attr(guard), "createdAt": to_attr(0)})
            for start in range(0, len(keys), BATCH_WRITE_MAX):
                await self._delete_batch(keys[start : start + BATCH_WRITE_MAX])
            if "LastEvaluatedKey" not in response:
                return
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    async def _delete_batch(self, keys: list[dict[str, Any]]) -> None:
        requests = [{"DeleteRequest": {"Key": key}} for key in keys]
        for attempt in range(MAX_UNPROCESSED_ROUNDS):
            response = await self._call("batch_write_item", RequestItems={self._table: requests})
            requests = response.get("UnprocessedItems", {}).get(self._table, [])
            if not requests:
                return
            await anyio.sleep(min(1.0, 0.05 * 2**attempt))  # throttled: back off, then the rest
        raise BackendUnavailable(f"DynamoDB left {len(requests)} deletes unprocessed")

    async def _query(
        self,
        session_id: str,
        after: int | None,
        limit: int,
        *,
        newest_first: bool,
        keys_only: bool = False,
    ) -> list[dict[str, Any]]:
        """One Query of at most ``limit`` items (a second only when DynamoDB's 1 MB page
        cuts the first short), so the cost follows ``limit``, never the conversation."""
        if limit <= 0:
            return []
        values = {":s": to_attr(session_id)}
        condition = "sessionId = :s"
        if after is not None:
            values[":a"] = to_attr(after)
            condition += " AND createdAt > :a"
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,  # read-your-writes: the drain loop and resumes rely on it
        }
        if keys_only:
            params["ProjectionExpression"] = "createdAt"
        items: list[dict[str, Any]] = []
        while len(items) < limit:
            response = await self._call("query", Limit=limit - len(items), **params)
            items.extend(from_item(i) for i in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items


def message_fields(draft: MessageDraft) -> dict[str, Any]:
    return {
        "sessionId": draft.session_id,
        "role": draft.role.value,
        "messageType": draft.message_type,
        "message": draft.message,
        "connectionId": draft.connection_id,
        "clientMessageId": draft.client_message_id,
        "replyId": draft.reply_id,
        "replyTo": draft.reply_to,
        "status": draft.status,
        "model": draft.model,
        "usage": draft.usage.to_wire() if draft.usage is not None else None,
        "costUsd": draft.cost_usd,
    }


def _message(v: dict[str, Any]) -> Message:
    usage = v.get("usage")
    return Message(
        session_id=v["sessionId"],
        created_at=v["createdAt"],
        role=Role(v["role"]),
        message_type=v["messageType"],
        message=v["message"],
        connection_id=v.get("connectionId"),
        client_message_id=v.get("clientMessageId"),
        reply_id=v.get("replyId"),
        reply_to=v.get("replyTo"),
        status=v.get("status"),
        model=v.get("model"),
        usage=None
        if usage is None
        else Usage(
            usage.get("inputTokens", 0),
            usage.get("outputTokens", 0),
            usage.get("cacheReadTokens", 0),
            usage.get("cacheWriteTokens", 0),
        ),
        cost_usd=None if v.get("costUsd") is None else float(v["costUsd"]),
        expire_at=v.get("expireAt"),
    )
