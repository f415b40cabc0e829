"""The storage port on DynamoDB: the sessions, connections and messages tables (DESIGN §3)."""

from __future__ import annotations

from typing import Any

from adapters.dynamodb.errors import Caller, ConditionFailed, RetryPolicy
from adapters.dynamodb.items import check_size, from_item, to_attr, to_item
from adapters.dynamodb.messages import MessageLog
from adapters.dynamodb.tables import BY_SESSION, TableNames
from core.clock import SystemClock
from core.domain import AppendResult, Connection, Message, MessageDraft, Session
from core.ports import Clock

DAY_S = 86_400


class DynamoChatStore:
    """Sessions, connections and messages in three DynamoDB tables (``tables`` names them).

    Sessions: one item each; ``lastUserAt`` / ``answeredAt`` move forward only, by an update
    whose condition refuses a smaller value. Connections: one item each with a 24 h TTL,
    found per session through the ``bySession`` index. Messages: see ``MessageLog``.
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
        self._messages = MessageLog(
            self._call, tables.messages, clock or SystemClock(), message_ttl_s
        )

    # --- sessions ------------------------------------------------------------------

    async def create_session(self, session: Session) -> None:
        item = to_item(
            {
                "sessionId": session.session_id,
                "createdAt": session.created_at,
                "title": session.title,
                "lastUserAt": session.last_user_at or None,
                "answeredAt": session.answered_at or None,
            }
        )
        check_size(item, "session")
        try:  # a session is made once; a second create keeps the first, as setdefault does
            await self._call(
                "put_item",
                TableName=self._t.sessions,
                Item=item,
                ConditionExpression="attribute_not_exists(sessionId)",
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
        if "Item" not in response:
            return None
        v = from_item(response["Item"])
        return Session(
            session_id=v["sessionId"],
            created_at=v["createdAt"],
            title=v.get("title"),
            last_user_at=v.get("lastUserAt", 0),
            answered_at=v.get("answeredAt", 0),
        )

    async def set_session_title(self, session_id: str, title: str) -> None:
        check_size({"title": to_attr(title)}, "session title")
        await self._update_session(session_id, "title", title, "attribute_exists(sessionId)")

    async def record_user_message(self, session_id: str, created_at: int) -> None:
        await self._advance(session_id, "lastUserAt", created_at)

    async def record_answered(self, session_id: str, created_at: int) -> None:
        await self._advance(session_id, "answeredAt", created_at)

    async def _advance(self, session_id: str, marker: str, value: int) -> None:
        """Moves a marker forward only: the condition refuses any value not above it."""
        condition = "attribute_exists(sessionId) AND (attribute_not_exists(#a) OR #a < :v)"
        await self._update_session(session_id, marker, value, condition)

    async def _update_session(self, session_id: str, attr: str, value: Any, condition: str) -> None:
        try:
            await self._call(
                "update_item",
                TableName=self._t.sessions,
                Key={"sessionId": to_attr(session_id)},
                UpdateExpression="SET #a = :v",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#a": attr},
                ExpressionAttributeValues={":v": to_attr(value)},
            )
        except ConditionFailed:
            pass  # no such session, or the marker is already further on: nothing to do

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

    async def delete_session(self, session_id: str) -> None:
        # Messages first: a failure half-way leaves the session, so the user can delete again.
        await self._messages.delete_all(session_id)
        await self._call(
            "delete_item", TableName=self._t.sessions, Key={"sessionId": to_attr(session_id)}
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
