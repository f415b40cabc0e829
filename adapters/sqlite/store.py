"""The storage port on SQLite: sessions, connections and messages in one local file."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from adapters.sqlite.database import SqliteDatabase
from core.clock import SystemClock
from core.domain import (
    AppendResult,
    Connection,
    Message,
    MessageDraft,
    ReplyCheckpoint,
    Rewind,
    Role,
    Session,
    SessionCursor,
    Usage,
)
from core.errors import FenceRejected
from core.ports import Clock
from core.text import require_encodable, require_storable

DAY_S = 86_400
PURGE_EVERY_MS = 60_000  # expired rows are invisible at once; deleting them can wait
PURGE_BATCH = 1_000  # rows per table per purge, so no message waits behind a week's backlog


# In the order of core.domain.Session's fields.
SESSION_COLUMNS = (
    "session_id, created_at, title, last_user_at, answered_at, fence, reply_id, reply_to,"
    " high_water, user_id"
)


class SqliteChatStore:
    """``ChatStore`` on SQLite. Each method is one transaction (``BEGIN IMMEDIATE``), so
    the read that picks a ``createdAt`` and the insert that uses it cannot interleave
    with another writer, in this process or another; for the same reason keys follow commit
    order, and a fenced write's check of ``sessions.fence`` and the write itself are one
    transaction. Rows past their TTL are invisible to reads and deleted on a write after a
    minute without a purge (``PURGE_BATCH`` rows per table at a time; a bigger backlog goes
    on the next write). Lease rows are never deleted: a session's fence must only grow."""

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
                "INSERT OR IGNORE INTO sessions"
                " (session_id, created_at, title, last_user_at, answered_at, user_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    session.session_id,
                    session.created_at,
                    session.title,
                    session.last_user_at,
                    session.answered_at,
                    session.owner,
                ),
            )

        await self._db.run(write)

    async def get_session(self, session_id: str) -> Session | None:
        def read(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute(
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id = ?",
                (session_id,),
            ).fetchone()
            return None if row is None else Session(*row)

        return await self._db.read(read)

    async def user_sessions(
        self, user_id: str, limit: int, before: SessionCursor | None = None
    ) -> list[Session]:
        def read(conn: sqlite3.Connection) -> list[Session]:
            after = "" if before is None else " AND (created_at, session_id) < (?, ?)"
            rows = conn.execute(
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?{after}"
                " ORDER BY created_at DESC, session_id DESC LIMIT ?",
                (user_id, *(before.key if before else ()), limit),
            ).fetchall()
            return [Session(*row) for row in rows]

        return await self._db.read(read)

    async def set_session_title(self, session_id: str, title: str) -> None:
        require_encodable((("title", title),))
        await self._execute("UPDATE sessions SET title = ? WHERE session_id = ?", title, session_id)

    async def record_user_message(self, session_id: str, created_at: int) -> None:
        await self._execute(
            "UPDATE sessions SET last_user_at = ? WHERE session_id = ? AND last_user_at < ?",
            created_at,
            session_id,
            created_at,
        )

    async def record_answered(
        self, session_id: str, created_at: int, fence: int | None = None
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            _fence(conn, session_id, fence)
            _answered(conn, session_id, created_at)

        await self._db.run(write)

    async def start_reply(self, session_id: str, reply_id: str, reply_to: int, fence: int) -> None:
        def write(conn: sqlite3.Connection) -> None:
            _fence(conn, session_id, fence)
            conn.execute(
                "UPDATE sessions SET reply_id = ?, reply_to = ? WHERE session_id = ?",
                (reply_id, reply_to, session_id),
            )

        await self._db.run(write)

    async def checkpoint_reply(self, checkpoint: ReplyCheckpoint) -> None:
        def write(conn: sqlite3.Connection) -> None:
            _fence(conn, checkpoint.session_id, checkpoint.fence)
            _checkpoint_fence(conn, checkpoint.session_id, checkpoint.fence)
            _put_checkpoint(conn, checkpoint)

        await self._db.run(write)

    async def take_checkpoint(self, session_id: str, fence: int) -> ReplyCheckpoint | None:
        def write(conn: sqlite3.Connection) -> ReplyCheckpoint | None:
            _fence(conn, session_id, fence)
            _checkpoint_fence(conn, session_id, fence)
            row = conn.execute(
                "SELECT session_id, reply_id, reply_to, fence, text, message_type"
                " FROM reply_checkpoints WHERE session_id = ?",
                (session_id,),
            ).fetchone()
            _put_checkpoint(conn, ReplyCheckpoint(session_id, "", 0, fence))
            return ReplyCheckpoint(*row) if row is not None and row[1] else None

        return await self._db.run(write)

    async def finish_reply(self, draft: MessageDraft) -> Message:
        if draft.fence is None or draft.reply_to is None:
            raise ValueError("finish_reply needs a fenced draft with reply_to")
        reply_to = draft.reply_to

        def write(conn: sqlite3.Connection) -> Message:
            message = self._append(conn, draft, self._clock.now_ms()).message
            _answered(conn, draft.session_id, reply_to)
            return message

        return await self._db.run(write)

    async def pending_sessions(self, limit: int) -> list[str]:
        def read(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT session_id FROM sessions WHERE last_user_at > answered_at LIMIT ?",
                (limit,),
            ).fetchall()
            return [str(row[0]) for row in rows]

        return await self._db.run(read)

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

        return await self._db.read(read)

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

        return await self._db.read(read)

    async def append_message(self, draft: MessageDraft) -> AppendResult:
        require_storable(draft)
        now_ms = self._clock.now_ms()
        return await self._db.run(lambda conn: self._append(conn, draft, now_ms))

    def _append(self, conn: sqlite3.Connection, draft: MessageDraft, now_ms: int) -> AppendResult:
        """One append inside the caller's transaction."""
        now_s = now_ms // 1000
        if now_ms - self._purged_at_ms >= PURGE_EVERY_MS:
            self._purged_at_ms = now_ms
            if purge_expired(conn, now_s):
                self._purged_at_ms = 0  # a backlog: the next write takes another batch
        _fence(conn, draft.session_id, draft.fence)
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
        # The newest key, expired or not, or deleted by a rewind (high_water): createdAt
        # never goes back, never collides.
        (newest,) = conn.execute(
            "SELECT MAX(COALESCE((SELECT MAX(created_at) FROM messages WHERE session_id = ?), 0),"
            " COALESCE((SELECT high_water FROM sessions WHERE session_id = ?), 0))",
            (draft.session_id, draft.session_id),
        ).fetchone()
        created_at = max(now_ms, newest + 1) if newest else now_ms
        message = Message.from_draft(draft, created_at, created_at // 1000 + self._message_ttl_s)
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
        if draft.role is Role.USER:
            conn.execute(
                "UPDATE sessions SET last_user_at = ? WHERE session_id = ? AND last_user_at < ?",
                (created_at, draft.session_id, created_at),
            )
        return AppendResult(message, created=True)

    async def rewind(self, rewind: Rewind) -> list[int]:
        sid = rewind.session_id

        def write(conn: sqlite3.Connection) -> list[int]:  # one transaction, all or nothing
            _fence(conn, sid, rewind.fence)
            rows = conn.execute(
                "SELECT created_at, body FROM messages"
                " WHERE session_id = ? AND created_at >= ? ORDER BY created_at",
                (sid, rewind.prompt_at),
            ).fetchall()
            removed = [
                at for at, body in rows if rewind.removes(at, Role(json.loads(body)["role"]))
            ]
            conn.execute(
                "UPDATE sessions SET high_water = MAX(high_water, ?), answered_at = ?,"
                " reply_id = NULL, reply_to = 0 WHERE session_id = ?",
                (rows[-1][0] if rows else 0, rewind.prompt_at - 1, sid),
            )
            conn.executemany(
                "DELETE FROM messages WHERE session_id = ? AND created_at = ?",
                [(sid, at) for at in removed],
            )
            return removed

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

        return await self._db.read(read)


MAX_INTEGER = 2**63 - 1  # SQLite's largest INTEGER


def purge_expired(conn: sqlite3.Connection, now_s: int) -> bool:
    """Deletes up to ``PURGE_BATCH`` expired messages and as many expired connections;
    True when a table may hold more."""
    more = False
    for table, key in (("messages", "session_id, created_at"), ("connections", "connection_id")):
        cursor = conn.execute(
            f"DELETE FROM {table} WHERE ({key}) IN"
            f" (SELECT {key} FROM {table} WHERE expire_at <= ? LIMIT ?)",
            (now_s, PURGE_BATCH),
        )
        more = more or cursor.rowcount >= PURGE_BATCH
    return more


def _fence(conn: sqlite3.Connection, session_id: str, fence: int | None) -> None:
    """Refuses (raising, so the transaction rolls back) a write whose fence is older than
    the newest that wrote for the session; records a newer one."""
    if fence is None:
        return
    row = conn.execute("SELECT fence FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
    if row is None:
        return
    if fence < row[0]:
        raise FenceRejected(f"fence {fence} is older than {row[0]} in session {session_id}")
    if fence > row[0]:
        conn.execute("UPDATE sessions SET fence = ? WHERE session_id = ?", (fence, session_id))


def _checkpoint_fence(conn: sqlite3.Connection, session_id: str, fence: int) -> None:
    row = conn.execute(
        "SELECT fence FROM reply_checkpoints WHERE session_id = ?", (session_id,)
    ).fetchone()
    if row is not None and row[0] > fence:
        raise FenceRejected(f"the checkpoint of session {session_id} is fenced at {row[0]}")


def _put_checkpoint(conn: sqlite3.Connection, c: ReplyCheckpoint) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO reply_checkpoints VALUES (?, ?, ?, ?, ?, ?)",
        (c.session_id, c.reply_id, c.reply_to, c.fence, c.message_type, c.text),
    )


def _answered(conn: sqlite3.Connection, session_id: str, created_at: int) -> None:
    conn.execute(
        "UPDATE sessions SET answered_at = ? WHERE session_id = ? AND answered_at < ?",
        (created_at, session_id, created_at),
    )


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
            "stopReason": message.stop_reason,
            **({"detail": message.detail} if message.detail is not None else {}),
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
        usage=None if usage is None else Usage.from_wire(usage),
        cost_usd=data["costUsd"],
        stop_reason=data.get("stopReason"),  # absent from rows written before it existed
        expire_at=expire_at,
        detail=data.get("detail"),
    )
