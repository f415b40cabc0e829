"""The storage port on SQLite: sessions, connections and messages in one local file."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from adapters.sqlite.database import SqliteDatabase
from core.clock import SystemClock
from core.domain import AppendResult, Connection, Message, MessageDraft, Role, Session, Usage
from core.ports import Clock

DAY_S = 86_400
PURGE_EVERY_MS = 60_000  # expired rows are invisible at once; deleting them can wait


class SqliteChatStore:
    """``ChatStore`` on SQLite. Each method is one transaction (``BEGIN IMMEDIATE``), so
    the read that picks a ``createdAt`` and the insert that uses it cannot interleave
    with another writer, in this process or another. Rows past their TTL are invisible
    to reads and deleted at most once a minute, on a write."""

    def __init__(
        self,
        db: SqliteDatabase,
        clock: Clock | None = None,
        message_ttl_s: int = 7 * DAY_S,
        connection_ttl_s: int = DAY_S,
    ) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._message_ttl_s = message_ttl_s
        self._connection_ttl_s = connection_ttl_s
        self._purged_at_ms = 0

    def _now_s(self) -> int:
        return self._clock.now_ms() // 1000

    async def create_session(self, session: Session) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO sessions VALUES (?, ?, ?, ?, ?)",
                (
                    session.session_id,
                    session.created_at,
                    session.title,
                    session.last_user_at,
                    session.answered_at,
                ),
            )

        await self._db.run(write)

    async def get_session(self, session_id: str) -> Session | None:
        def read(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute(
                "SELECT session_id, created_at, title, last_user_at, answered_at"
                " FROM sessions WHERE session_id = ?",
                (session_id,),
            ).fetchone()
            return None if row is None else Session(*row)

        return await self._db.run(read)

    async def set_session_title(self, session_id: str, title: str) -> None:
        await self._execute("UPDATE sessions SET title = ? WHERE session_id = ?", title, session_id)

    async def record_user_message(self, session_id: str, created_at: int) -> None:
        await self._execute(
            "UPDATE sessions SET last_user_at = ? WHERE session_id = ? AND last_user_at < ?",
            created_at,
            session_id,
            created_at,
        )

    async def record_answered(self, session_id: str, created_at: int) -> None:
        await self._execute(
            "UPDATE sessions SET answered_at = ? WHERE session_id = ? AND answered_at < ?",
            created_at,
            session_id,
            created_at,
        )

    async def _execute(self, sql: str, *args: object) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(sql, args)

        await self._db.run(write)

    async def put_connection(self, connection: Connection) -> None:
        expire_at = connection.connected_at // 1000 + self._connection_ttl_s
        await self._execute(
            "INSERT OR REPLACE INTO connections VALUES (?, ?, ?, ?, ?)",
            connection.connection_id,
            connection.session_id,
            connection.connected_at,
            connection.user_id,
            expire_at,
        )

    async def get_connection(self, connection_id: str) -> Connection | None:
        now_s = self._now_s()

        def read(conn: sqlite3.Connection) -> Connection | None:
            row = conn.execute(
                "SELECT connection_id, session_id, connected_at, user_id, expire_at"
                " FROM connections WHERE connection_id = ? AND expire_at > ?",
                (connection_id, now_s),
            ).fetchone()
            return None if row is None else Connection(*row)

        return await self._db.run(read)

    async def delete_connection(self, connection_id: str) -> None:
        await self._execute("DELETE FROM connections WHERE connection_id = ?", connection_id)

    async def session_connections(self, session_id: str) -> list[Connection]:
        now_s = self._now_s()

        def read(conn: sqlite3.Connection) -> list[Connection]:
            rows = conn.execute(
                "SELECT connection_id, session_id, connected_at, user_id, expire_at"
                " FROM connections WHERE session_id = ? AND expire_at > ?",
                (session_id, now_s),
            ).fetchall()
            return [Connection(*row) for row in rows]

        return await self._db.run(read)

    async def append_message(self, draft: MessageDraft) -> AppendResult:
        now_ms = self._clock.now_ms()
        purge = now_ms - self._purged_at_ms >= PURGE_EVERY_MS
        if purge:
            self._purged_at_ms = now_ms

        def write(conn: sqlite3.Connection) -> AppendResult:
            now_s = now_ms // 1000
            if purge:
                conn.execute("DELETE FROM messages WHERE expire_at <= ?", (now_s,))
                conn.execute("DELETE FROM connections WHERE expire_at <= ?", (now_s,))
            if draft.client_message_id is not None:
                row = conn.execute(
                    "SELECT session_id, created_at, expire_at, body FROM messages"
                    " WHERE session_id = ? AND client_message_id = ?",
                    (draft.session_id, draft.client_message_id),
                ).fetchone()
                if row is not None and row[2] > now_s:
                    return AppendResult(_message(row), created=False)
                if row is not None:  # expired, so invisible: the id may be used again
                    conn.execute(
                        "DELETE FROM messages WHERE session_id = ? AND created_at = ?",
                        (row[0], row[1]),
                    )
            # The newest key, expired or not: createdAt never goes back, never collides.
            (newest,) = conn.execute(
                "SELECT MAX(created_at) FROM messages WHERE session_id = ?",
                (draft.session_id,),
            ).fetchone()
            created_at = now_ms if newest is None else max(now_ms, newest + 1)
            message = Message.from_draft(
                draft, created_at, created_at // 1000 + self._message_ttl_s
            )
            conn.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?)",
                (
                    draft.session_id,
                    created_at,
                    draft.client_message_id,
                    message.expire_at,
                    _body(message),
                ),
            )
            return AppendResult(message, created=True)

        return await self._db.run(write)

    async def delete_session(self, session_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:  # one transaction: all of it or nothing
            conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))

        await self._db.run(write)

    async def last_messages(self, session_id: str, limit: int) -> list[Message]:
        newest = await self._messages(session_id, -1, limit, newest_first=True)
        return newest[::-1]

    async def messages_after(self, session_id: str, after: int | None, limit: int) -> list[Message]:
        # A cursor past SQLite's 64-bit integers (a hostile client's 40 digits) is past
        # every key: nothing comes after it, rather than an OverflowError.
        cursor = -1 if after is None else min(after, MAX_INTEGER)
        return await self._messages(session_id, cursor, limit)

    async def _messages(
        self, session_id: str, after: int, limit: int, newest_first: bool = False
    ) -> list[Message]:
        """Unexpired messages of the session after ``after``, an index range either way."""
        if limit <= 0:
            return []
        now_s = self._now_s()
        order = "DESC" if newest_first else "ASC"

        def read(conn: sqlite3.Connection) -> list[Message]:
            rows = conn.execute(
                "SELECT session_id, created_at, expire_at, body FROM messages"
                " WHERE session_id = ? AND created_at > ? AND expire_at > ?"
                f" ORDER BY created_at {order} LIMIT ?",
                (session_id, after, now_s, limit),
            ).fetchall()
            return [_message(row) for row in rows]

        return await self._db.run(read)


MAX_INTEGER = 2**63 - 1  # SQLite's largest INTEGER


def _body(message: Message) -> str:
    """The fields that are not columns, as JSON."""
    usage = message.usage
    return json.dumps(
        {
            "role": message.role.value,
            "messageType": message.message_type,
            "message": message.message,
            "connectionId": message.connection_id,
            "clientMessageId": message.client_message_id,
            "replyId": message.reply_id,
            "replyTo": message.reply_to,
            "status": message.status,
            "model": message.model,
            "usage": None if usage is None else usage.to_wire(),
            "costUsd": message.cost_usd,
        },
        ensure_ascii=False,
    )


def _message(row: tuple[Any, ...]) -> Message:
    session_id, created_at, expire_at, body = row
    data = json.loads(body)
    usage = data["usage"]
    return Message(
        session_id=session_id,
        created_at=created_at,
        role=Role(data["role"]),
        message_type=data["messageType"],
        message=data["message"],
        connection_id=data["connectionId"],
        client_message_id=data["clientMessageId"],
        reply_id=data["replyId"],
        reply_to=data["replyTo"],
        status=data["status"],
        model=data["model"],
        usage=None
        if usage is None
        else Usage(
            usage["inputTokens"],
            usage["outputTokens"],
            usage["cacheReadTokens"],
            usage["cacheWriteTokens"],
        ),
        cost_usd=data["costUsd"],
        expire_at=expire_at,
    )
