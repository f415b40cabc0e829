"""The storage port on DynamoDB: the sessions, connections and messages tables (DESIGN §3)."""

from __future__ import annotations

from typing import Any

from adapters.dynamodb.errors import Caller, ConditionFailed, RetryPolicy
from adapters.dynamodb.items import check_size, from_item, to_attr, to_item
from adapters.dynamodb.messages import FENCE_CONDITION, MessageLog
from adapters.dynamodb.tables import BY_SESSION, BY_USER, TableNames
from core.clock import SystemClock
from core.domain import (
    AppendResult,
    Connection,
    Message,
    MessageDraft,
    MessageType,
    ReplyCheckpoint,
    Rewind,
    Session,
    SessionCursor,
)
from core.errors import FenceRejected
from core.ports import Clock
from core.text import require_encodable

DAY_S = 86_400
CHECKPOINT_SEPARATOR = "#reply"  # the checkpoint item's partition key: <sessionId>#reply


class DynamoChatStore:
    """Sessions, connections and messages in three DynamoDB tables (``tables`` names them).

    Sessions: one item each; ``lastUserAt`` / ``answeredAt`` move forward only, by an update
    whose condition refuses a smaller value; ``lastKey`` (the messages' high-water mark),
    ``fence``, ``replyId`` and ``replyTo`` are written with the messages (``MessageLog``)
    and by ``start_reply``. Connections: one item each with a 24 h TTL, found per session
    through the ``bySession`` index. Messages: see ``MessageLog``.

    A streaming reply's checkpoint is one item in the messages table under the partition
    key ``<sessionId>#reply`` (createdAt 0, so no message query sees it), replaced by each
    checkpoint with the condition ``fence <= :f`` on that item: one plain write per
    checkpoint (its size in write units, about 1 per KB of text), never a transaction.
    Its fence is the checkpoint's own: a recovering replier's ``take_checkpoint`` (or its
    first checkpoint) raises it, and from then the old replier's checkpoints are refused.
    The final message does not delete it (that would cost its size again); the next
    reply's first checkpoint replaces it, and TTL removes it from an idle session.
    Reads the core relies on right after a write (sessions, connections, messages) are
    strongly consistent. Vendor errors are mapped by ``errors.Caller``.
    """

    def __init__(
        self,
        client: Any,
        tables: TableNames,
        *,
        clock: Clock | None = None,
        message_ttl_s: int = 7 * DAY_S,
        connection_ttl_s: int = DAY_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._call = Caller(client, retry)
        self._t = tables
        self._connection_ttl_s = connection_ttl_s
        self._clock = clock or SystemClock()
        self._message_ttl_s = message_ttl_s
        # A session lives as long as its newest message: each message pushes its expireAt.
        self._session_ttl_s = message_ttl_s
        self._messages = MessageLog(
            self._call, tables.messages, self._clock, message_ttl_s, tables.sessions
        )

    # --- sessions ------------------------------------------------------------------

    async def create_session(self, session: Session) -> None:
        values = {
            "createdAt": session.created_at,
            "title": session.title,
            "userId": session.owner,  # absent when anonymous: the byUser index is sparse
            "lastUserAt": session.last_user_at or None,
            "answeredAt": session.answered_at or None,
            "expireAt": self._session_expiry(session.created_at),
        }
        item = to_item({"sessionId": session.session_id, **values})
        check_size(item, "session")
        names = {f"#{k}": k for k in values if values[k] is not None}
        try:  # a session is made once; a second create keeps the first, as setdefault does
            # An update, not a put: a message appended before the session was made has
            # left its high-water mark on the item already (MessageLog), and it must stay.
            await self._call(
                "update_item",
                TableName=self._t.sessions,
                Key={"sessionId": to_attr(session.session_id)},
                UpdateExpression="SET " + ", ".join(f"{n} = :{n[1:]}" for n in names),
                ConditionExpression="attribute_not_exists(createdAt)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":{n[1:]}": item[n[1:]] for n in names},
            )
        except ConditionFailed:
            pass

    async def get_session(self, session_id: str) -> Session | None:
        response = await self._call(
            "get_item",
            TableName=self._t.sessions,
            Key={"sessionId": to_attr(session_id)},
            ConsistentRead=True,  # the reply drain loop re-reads the markers it just moved
        )
        if "Item" not in response or "createdAt" not in response["Item"]:
            return None  # none, or only the mark of messages appended before it was made
        return _session(from_item(response["Item"]))

    async def user_sessions(
        self, user_id: str, limit: int, before: SessionCursor | None = None
    ) -> list[Session]:
        """One query of the sessions table's ``byUser`` index (userId, createdAt), newest
        first; the index holds only the list's attributes, so a page costs about one read
        unit per 4 KB of summaries. DynamoDB orders sessions of one millisecond by its own
        rule, and ``before`` resumes at that exact item (its full key)."""
        params: dict[str, Any] = {
            "TableName": self._t.sessions,
            "IndexName": BY_USER,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": to_attr(user_id)},
            "ScanIndexForward": False,
        }
        if before is not None:
            params["ExclusiveStartKey"] = {
                "userId": to_attr(user_id),
                "createdAt": to_attr(before.created_at),
                "sessionId": to_attr(before.session_id),
            }
        sessions: list[Session] = []
        while len(sessions) < limit:
            response = await self._call("query", Limit=limit - len(sessions), **params)
            sessions.extend(_session(from_item(item)) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sessions

    async def set_session_title(self, session_id: str, title: str) -> None:
        require_encodable((("title", title),))
        check_size({"title": to_attr(title)}, "session title")
        await self._update_session(session_id, "title", title, "attribute_exists(sessionId)")

    async def record_user_message(self, session_id: str, created_at: int) -> None:
        await self._advance(session_id, "lastUserAt", created_at)

    async def record_answered(
        self, session_id: str, created_at: int, fence: int | None = None
    ) -> None:
        await self._advance(session_id, "answeredAt", created_at, fence)

    async def _advance(
        self, session_id: str, marker: str, value: int, fence: int | None = None
    ) -> None:
        """Moves a marker forward only: the condition refuses any value not above it. The
        session's expiry moves with it (a refused move had a later message, and expiry)."""
        condition = "attribute_exists(sessionId) AND (attribute_not_exists(#a) OR #a < :v)"
        expire_at = self._session_expiry(value)
        if fence is None:
            await self._update_session(session_id, marker, value, condition, expire_at=expire_at)
            return
        try:
            await self._call(
                "update_item",
                TableName=self._t.sessions,
                Key={"sessionId": to_attr(session_id)},
                UpdateExpression="SET #a = :v, fence = :f, expireAt = :e",
                ConditionExpression=f"{condition} AND {FENCE_CONDITION}",
                ExpressionAttributeNames={"#a": marker},
                ExpressionAttributeValues={
                    ":v": to_attr(value),
                    ":f": to_attr(fence),
                    ":e": to_attr(expire_at),
                },
            )
        except ConditionFailed:
            await self._check_fence(session_id, fence)  # else: already further on

    async def _check_fence(self, session_id: str, fence: int) -> None:
        """After a refused fenced update: raises if a newer fence is why."""
        session = await self.get_session(session_id)
        if session is not None and session.fence > fence:
            raise FenceRejected(f"fence {fence} is older than {session.fence} in {session_id}")

    def _session_expiry(self, at_ms: int) -> int:
        return at_ms // 1000 + self._session_ttl_s

    async def _update_session(
        self, session_id: str, attr: str, value: Any, condition: str, expire_at: int | None = None
    ) -> None:
        update, values = "SET #a = :v", {":v": to_attr(value)}
        if expire_at is not None:
            update, values = f"{update}, expireAt = :e", {**values, ":e": to_attr(expire_at)}
        try:
            await self._call(
                "update_item",
                TableName=self._t.sessions,
                Key={"sessionId": to_attr(session_id)},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#a": attr},
                ExpressionAttributeValues=values,
            )
        except ConditionFailed:
            pass  # no such session, or the marker is already further on: nothing to do

    # --- replies: the claim, checkpoints, the final message ------------------------------

    async def start_reply(self, session_id: str, reply_id: str, reply_to: int, fence: int) -> None:
        try:
            await self._call(
                "update_item",
                TableName=self._t.sessions,
                Key={"sessionId": to_attr(session_id)},
                UpdateExpression="SET fence = :f, replyId = :r, replyTo = :p",
                ConditionExpression=f"attribute_exists(sessionId) AND {FENCE_CONDITION}",
                ExpressionAttributeValues={
                    ":f": to_attr(fence),
                    ":r": to_attr(reply_id),
                    ":p": to_attr(reply_to),
                },
            )
        except ConditionFailed:
            await self._check_fence(session_id, fence)  # else: no such session

    def _checkpoint_key(self, session_id: str) -> dict[str, Any]:
        return {
            "sessionId": to_attr(session_id + CHECKPOINT_SEPARATOR),
            "createdAt": to_attr(0),
        }

    async def checkpoint_reply(self, checkpoint: ReplyCheckpoint) -> None:
        await self._put_checkpoint(checkpoint)

    async def _put_checkpoint(self, c: ReplyCheckpoint, return_old: bool = False) -> dict[str, Any]:
        expire_at = self._clock.now_ms() // 1000 + self._message_ttl_s
        item = to_item(
            {
                "sessionId": c.session_id + CHECKPOINT_SEPARATOR,
                "createdAt": 0,
                "replyId": c.reply_id,
                "replyTo": c.reply_to,
                "fence": c.fence,
                "messageType": c.message_type,
                "message": c.text,
                "expireAt": expire_at,
            }
        )
        check_size(item, "reply checkpoint")
        try:
            return await self._call(
                "put_item",
                TableName=self._t.messages,
                Item=item,
                ConditionExpression=FENCE_CONDITION,
                ExpressionAttributeValues={":f": to_attr(c.fence)},
                **({"ReturnValues": "ALL_OLD"} if return_old else {}),
            )
        except ConditionFailed:
            raise FenceRejected(
                f"the checkpoint of session {c.session_id} is fenced above {c.fence}"
            ) from None

    async def take_checkpoint(self, session_id: str, fence: int) -> ReplyCheckpoint | None:
        empty = ReplyCheckpoint(session_id, "", 0, fence)
        old = (await self._put_checkpoint(empty, return_old=True)).get("Attributes")
        if not old:
            return None
        v = from_item(old)
        if not v.get("replyId"):
            return None
        return ReplyCheckpoint(
            session_id,
            v["replyId"],
            int(v.get("replyTo", 0)),
            int(v.get("fence", 0)),
            v.get("message", ""),
            v.get("messageType", MessageType.CONVERSATION),
        )

    async def finish_reply(self, draft: MessageDraft) -> Message:
        if draft.fence is None or draft.reply_to is None:
            raise ValueError("finish_reply needs a fenced draft with reply_to")
        return (await self._messages.append(draft, answers=draft.reply_to)).message

    async def pending_sessions(self, limit: int) -> list[str]:
        """A Scan of the sessions table (recovery sweeps of ``azuchi serve``, not a hot path:
        it reads every session item, 0.5 read units per 4 KB)."""
        params: dict[str, Any] = {
            "TableName": self._t.sessions,
            "FilterExpression": "lastUserAt > answeredAt OR "
            "(attribute_exists(lastUserAt) AND attribute_not_exists(answeredAt))",
            "ProjectionExpression": "sessionId",
        }
        found: list[str] = []
        while len(found) < limit:
            response = await self._call("scan", **params)
            found.extend(from_item(i)["sessionId"] for i in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit]

    # --- connections ----------------------------------------------------------------

    async def put_connection(self, connection: Connection) -> None:
        expire_at = connection.connected_at // 1000 + self._connection_ttl_s
        item = to_item(
            {
                "connectionId": connection.connection_id,
                "sessionId": connection.session_id,
                "userId": connection.user_id,  # absent when None: the byUser index is sparse
                "connectedAt": connection.connected_at,
                "expireAt": expire_at,
            }
        )
        check_size(item, "connection")
        await self._call("put_item", TableName=self._t.connections, Item=item)

    async def get_connection(self, connection_id: str) -> Connection | None:
        response = await self._call(
            "get_item",
            TableName=self._t.connections,
            Key={"connectionId": to_attr(connection_id)},
            ConsistentRead=True,  # a frame may follow $connect by a millisecond
        )
        return _connection(response["Item"]) if "Item" in response else None

    async def delete_connection(self, connection_id: str) -> None:
        await self._call(
            "delete_item",
            TableName=self._t.connections,
            Key={"connectionId": to_attr(connection_id)},
        )

    async def session_connections(self, session_id: str) -> list[Connection]:
        params: dict[str, Any] = {
            "TableName": self._t.connections,
            "IndexName": BY_SESSION,
            "KeyConditionExpression": "sessionId = :s",
            "ExpressionAttributeValues": {":s": to_attr(session_id)},
        }
        connections: list[Connection] = []
        while True:
            response = await self._call("query", **params)
            connections.extend(_connection(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return connections
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # --- messages -------------------------------------------------------------------

    async def append_message(self, draft: MessageDraft) -> AppendResult:
        return await self._messages.append(draft)

    async def last_messages(self, session_id: str, limit: int) -> list[Message]:
        return await self._messages.last(session_id, limit)

    async def messages_after(self, session_id: str, after: int | None, limit: int) -> list[Message]:
        return await self._messages.after(session_id, after, limit)

    async def rewind(self, rewind: Rewind) -> list[int]:
        """The fenced session update first (the fence check; the turn pending again), then
        the deletes (BatchWriteItem takes no condition). A failure between them leaves the
        turn pending with some of its old messages: it is answered again all the same.
        ``lastKey`` stays, so later keys go above the deleted ones."""
        sid = rewind.session_id
        try:
            await self._call(
                "update_item",
                TableName=self._t.sessions,
                Key={"sessionId": to_attr(sid)},
                UpdateExpression="SET fence = :f, answeredAt = :a, replyTo = :z,"
                " rewoundAt = if_not_exists(lastKey, :z) REMOVE replyId",
                ConditionExpression=f"attribute_exists(sessionId) AND {FENCE_CONDITION}",
                ExpressionAttributeValues={
                    ":f": to_attr(rewind.fence),
                    ":a": to_attr(rewind.prompt_at - 1),
                    ":z": to_attr(0),
                },
            )
        except ConditionFailed:
            await self._check_fence(sid, rewind.fence)
            return []  # no such session
        return await self._messages.delete_turn(rewind)

    async def delete_session(self, session_id: str) -> None:
        # Messages first: a failure half-way leaves the session, so the user can delete again.
        await self._messages.delete_all(session_id)
        await self._call(
            "delete_item", TableName=self._t.sessions, Key={"sessionId": to_attr(session_id)}
        )


def _session(v: dict[str, Any]) -> Session:
    return Session(
        session_id=v["sessionId"],
        created_at=v["createdAt"],
        title=v.get("title"),
        last_user_at=v.get("lastUserAt", 0),
        answered_at=v.get("answeredAt", 0),
        fence=v.get("fence", 0),
        reply_id=v.get("replyId"),
        reply_to=v.get("replyTo", 0),
        rewound_at=v.get("rewoundAt", 0),
        owner=v.get("userId"),
    )


def _connection(item: dict[str, Any]) -> Connection:
    v = from_item(item)
    return Connection(
        connection_id=v["connectionId"],
        session_id=v["sessionId"],
        connected_at=v["connectedAt"],
        user_id=v.get("userId"),
        expire_at=v.get("expireAt"),
    )
