"""The messages table: keys that are never reused, idempotent appends, constant-cost reads."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import anyio

from adapters.dynamodb.errors import Caller, TransactionCancelled
from adapters.dynamodb.items import check_size, from_item, to_attr, to_item
from core.domain import AppendResult, Message, MessageDraft, Rewind, Role, Usage
from core.errors import BackendUnavailable, FenceRejected
from core.ports import Clock
from core.text import require_storable

MAX_NUMBER = 10**38  # DynamoDB Numbers hold 38 significant digits; createdAt stays far below
MAX_KEY_ATTEMPTS = 200  # createdAt collisions tolerated for one append
BATCH_WRITE_MAX = 25  # keys per BatchWriteItem, DynamoDB's limit
MAX_UNPROCESSED_ROUNDS = 8  # BatchWriteItem retries of what DynamoDB left unprocessed
GUARD_SEPARATOR = "#client#"
# A fenced write's condition on the session item: no newer fence has written.
FENCE_CONDITION = "(attribute_not_exists(fence) OR fence <= :f)"


def _contended(exc: BackendUnavailable) -> bool:
    """True when retries ran out only because other transactions held the same items."""
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return False
    reasons = [r.get("Code") for r in response.get("CancellationReasons") or []]
    return "TransactionConflict" in reasons and "ConditionalCheckFailed" not in reasons


def _put(table: str, item: dict[str, Any], condition: str) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": condition}}


class MessageLog:
    """One session's messages under ``(sessionId, createdAt)``.

    ``append`` reads the session's newest key (one Query, Limit 1), starts from
    ``max(now, newest + 1)`` and writes, in one transaction, the message with
    ``attribute_not_exists(createdAt)`` and the session item's high-water mark ``lastKey``
    with ``lastKey < :k``. A refused message means another writer took that millisecond,
    so it tries a later one (a random step, growing with each collision); a refused mark
    means a writer whose clock is ahead committed a larger key first, so it starts again
    above that key. Nothing is ever overwritten, and keys follow commit order::

        A: newest=41, now=40 → put 42 IF absent, lastKey 41 < 42 ✓
        B: newest=41, now=40 → put 42 IF absent ✗ (A has it) → put 43 or 44 IF absent ✓
        C: newest=44, now=90 (clock ahead) → put 90 ✓  lastKey = 90
        D: newest=44, now=50 (read before C wrote) → put 50, lastKey 90 < 50 ✗ → put 91 ✓

    Without the mark, D's message would sit at 50, below keys (C's 90, a marker moved to
    it, a client's cursor) read before D committed: a USER message stored but never
    answered. The same update carries what the message moves on the session: ``lastUserAt``
    for a USER message, ``answeredAt`` for a reply's final message (``finish_reply``), and
    the writer's ``fence`` (a condition ``fence <= :f``: a newer holder's fence refuses it).

    A ``clientMessageId`` is made idempotent by a guard item under the partition key
    ``<sessionId>#client#<clientMessageId>`` (createdAt 0, ``ref`` = the message's key),
    written in the same transaction: a repeat's transaction fails on the guard, and the
    first message is read back through it.
    """

    def __init__(
        self, call: Caller, table: str, clock: Clock, ttl_s: int, sessions_table: str
    ) -> None:
        self._call = call
        self._table = table
        self._clock = clock
        self._ttl_s = ttl_s
        self._sessions = sessions_table

    async def append(self, draft: MessageDraft, answers: int | None = None) -> AppendResult:
        require_storable(draft)  # DynamoDB would refuse it, but only as a vendor error
        sid = draft.session_id
        fields = message_fields(draft)
        # With the largest key and TTL a message can get, the check covers every attempt.
        check_size(to_item({**fields, "createdAt": 2**53, "expireAt": 2**43}), "message")
        created_at = max(self._clock.now_ms(), await self._newest(sid) + 1)
        for collisions in range(MAX_KEY_ATTEMPTS):
            expire_at = created_at // 1000 + self._ttl_s
            item = to_item({**fields, "createdAt": created_at, "expireAt": expire_at})
            try:
                await self._transact(item, draft, expire_at, answers)
                return AppendResult(Message.from_draft(draft, created_at, expire_at), created=True)
            except BackendUnavailable as exc:
                if not _contended(exc):
                    raise
                # Many writers on one session item: its transactions run one at a time.
                # Wait a random while (growing) and go on from a fresh key.
                await anyio.sleep(random.uniform(0, min(0.005 * 2**collisions, 0.25)))
                created_at = max(self._clock.now_ms(), await self._newest(sid) + 1)
                continue
            except TransactionCancelled as exc:
                reasons = [*exc.reasons, "None", "None", "None"]
                guard = reasons.pop(0) if draft.client_message_id is not None else "None"
                message, mark = reasons[0], reasons[1]
                if guard == "ConditionalCheckFailed":
                    return AppendResult(await self._first(sid, draft.client_message_id), False)
                if mark == "ConditionalCheckFailed":
                    mark_at, answers = await self._refused_mark(draft, answers)
                    created_at = max(self._clock.now_ms(), created_at + 1, mark_at + 1)
                    continue
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

    async def _refused_mark(
        self, draft: MessageDraft, answers: int | None
    ) -> tuple[int, int | None]:
        """Why the session update was refused: a newer fence (raised), an answer already
        recorded (dropped), or a larger key (returned, to start above it)."""
        response = await self._call(
            "get_item",
            TableName=self._sessions,
            Key={"sessionId": to_attr(draft.session_id)},
            ConsistentRead=True,
        )
        v = from_item(response.get("Item", {}))
        if draft.fence is not None and v.get("fence", 0) > draft.fence:
            raise FenceRejected(
                f"fence {draft.fence} is older than {v['fence']} in session {draft.session_id}"
            )
        if answers is not None and v.get("answeredAt", 0) >= answers:
            answers = None
        return int(v.get("lastKey", 0)), answers

    async def _transact(
        self, item: dict[str, Any], draft: MessageDraft, expire_at: int, answers: int | None
    ) -> None:
        created_at = int(item["createdAt"]["N"])
        writes: list[dict[str, Any]] = []
        if draft.client_message_id is not None:
            guard = to_item(
                {
                    "sessionId": draft.session_id + GUARD_SEPARATOR + draft.client_message_id,
                    "createdAt": 0,
                    "ref": created_at,
                    "expireAt": expire_at,
                }
            )
            writes.append(_put(self._table, guard, "attribute_not_exists(sessionId)"))
        writes.append(_put(self._table, item, "attribute_not_exists(createdAt)"))
        sets = ["lastKey = :k"]
        conditions = ["(attribute_not_exists(lastKey) OR lastKey < :k)"]
        values: dict[str, Any] = {":k": to_attr(created_at)}
        if draft.role is Role.USER:
            sets.append("lastUserAt = :k")  # above lastKey, so above every earlier mark
        if answers is not None:
            sets.append("answeredAt = :a")
            conditions.append("(attribute_not_exists(answeredAt) OR answeredAt < :a)")
            values[":a"] = to_attr(answers)
        if draft.fence is not None:
            sets.append("fence = :f")
            conditions.append(FENCE_CONDITION)
            values[":f"] = to_attr(draft.fence)
        writes.append(
            {
                "Update": {
                    "TableName": self._sessions,
                    "Key": {"sessionId": to_attr(draft.session_id)},
                    "UpdateExpression": "SET " + ", ".join(sets),
                    "ConditionExpression": " AND ".join(conditions),
                    "ExpressionAttributeValues": values,
                }
            }
        )
        await self._call("transact_write_items", TransactItems=writes)

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
        if after is not None and after >= MAX_NUMBER:
            return []  # past every key (and past what a DynamoDB Number holds): nothing after
        return [
            _message(i) for i in await self._query(session_id, after, limit, newest_first=False)
        ]

    async def delete_all(self, session_id: str) -> None:
        """Every message of the session and its idempotency guard, 25 keys per
        BatchWriteItem (DynamoDB's most), pages of keys read with a keys-only Query."""
        await self._delete_where(session_id, None, lambda _at, _role: True)

    async def delete_turn(self, rewind: Rewind) -> list[int]:
        """The messages ``rewind`` takes back (read from ``prompt_at`` on; a USER message
        read as such is never deleted, so one stored meanwhile stays), guards included."""
        return await self._delete_where(rewind.session_id, rewind.prompt_at, rewind.removes)

    async def _delete_where(
        self, session_id: str, start: int | None, removes: Callable[[int, Role], bool]
    ) -> list[int]:
        values = {":s": to_attr(session_id)}
        condition = "sessionId = :s"
        if start is not None:
            values[":a"] = to_attr(start)
            condition += " AND createdAt >= :a"
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ExpressionAttributeNames": {"#r": "role"},  # ROLE is a reserved word
            "ProjectionExpression": "createdAt, clientMessageId, #r",
            "ConsistentRead": True,
        }
        removed: list[int] = []
        while True:
            response = await self._call("query", **params)
            keys: list[dict[str, Any]] = []
            for raw in response.get("Items", []):
                item = from_item(raw)
                if not removes(int(item["createdAt"]), Role(item["role"])):
                    continue
                removed.append(int(item["createdAt"]))
                keys.append({"sessionId": to_attr(session_id), "createdAt": raw["createdAt"]})
                if item.get("clientMessageId"):
                    guard = session_id + GUARD_SEPARATOR + item["clientMessageId"]
                    keys.append({"sessionId": to_attr(guard), "createdAt": to_attr(0)})
            for first in range(0, len(keys), BATCH_WRITE_MAX):
                await self._delete_batch(keys[first : first + BATCH_WRITE_MAX])
            if "LastEvaluatedKey" not in response:
                return removed
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
        "stopReason": draft.stop_reason,
        "detail": draft.detail,
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
        usage=None if usage is None else Usage.from_wire(usage),
        cost_usd=None if v.get("costUsd") is None else float(v["costUsd"]),
        stop_reason=v.get("stopReason"),
        expire_at=v.get("expireAt"),
        detail=v.get("detail"),
    )
