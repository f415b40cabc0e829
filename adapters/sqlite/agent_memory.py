"""The agent-memory port on SQLite: a capped history per session, response ids with TTL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from adapters.sqlite.database import SqliteDatabase
from core.domain import HistoryItem
from core.errors import FenceRejected

PURGE_EVERY_S = 60.0  # expired response ids are invisible at once; deleting them can wait


class SqliteAgentMemory:
    """``AgentMemory`` on SQLite: append and trim are one transaction, so no reader ever
    sees more than the newest ``max_items``. Expired response ids are invisible to reads
    and deleted by the first id set after a minute without a purge."""

    def __init__(
        self,
        db: SqliteDatabase,
        max_items: int = 20,
        response_id_ttl_s: int = 1_728_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._max_items = max_items
        self._ttl = response_id_ttl_s
        self._now = clock
        self._purged_at = float("-inf")

    async def append_history(
        self, session_id: str, items: Sequence[HistoryItem], fence: int | None = None
    ) -> None:
        batch = [(item.role, item.content) for item in items]

        def write(conn: sqlite3.Connection) -> None:
            _fence(conn, session_id, fence)
            (newest,) = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM history WHERE session_id = ?", (session_id,)
            ).fetchone()
            conn.executemany(
                "INSERT INTO history VALUES (?, ?, ?, ?)",
                [(session_id, newest + i + 1, role, text) for i, (role, text) in enumerate(batch)],
            )
            conn.execute(
                "DELETE FROM history WHERE session_id = ? AND seq <= ?",
                (session_id, newest + len(batch) - self._max_items),
            )

        await self._db.run(write)

    async def recent_history(self, session_id: str) -> list[HistoryItem]:
        def read(conn: sqlite3.Connection) -> list[HistoryItem]:
            rows = conn.execute(
                "SELECT role, content FROM history WHERE session_id = ? ORDER BY seq DESC LIMIT ?",
                (session_id, self._max_items),
            ).fetchall()
            return [HistoryItem(role, content) for role, content in reversed(rows)]

        return await self._db.read(read)

    async def get_previous_response_id(self, session_id: str) -> str | None:
        now = self._now()

        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT response_id FROM response_ids WHERE session_id = ? AND expire_at > ?",
                (session_id, now),
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._db.read(read)

    async def set_previous_response_id(
        self, session_id: str, response_id: str, fence: int | None = None
    ) -> None:
        now = self._now()
        expire_at = now + self._ttl
        purge = now - self._purged_at >= PURGE_EVERY_S
        if purge:
            self._purged_at = now

        def write(conn: sqlite3.Connection) -> None:
            _fence(conn, session_id, fence)
            if purge:
                conn.execute("DELETE FROM response_ids WHERE expire_at <= ?", (now,))
            conn.execute(
                "INSERT OR REPLACE INTO response_ids VALUES (?, ?, ?)",
                (session_id, response_id, expire_at),
            )

        await self._db.run(write)

    async def forget(self, session_id: str, fence: int | None = None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            _fence(conn, session_id, fence)
            conn.execute("DELETE FROM history WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM response_ids WHERE session_id = ?", (session_id,))

        await self._db.run(write)


def _fence(conn: sqlite3.Connection, session_id: str, fence: int | None) -> None:
    """Refuses (rolling the transaction back) a write older than the newest fence that
    wrote this session's memory; records a newer one."""
    if fence is None:
        return
    row = conn.execute(
        "SELECT fence FROM memory_fences WHERE session_id = ?", (session_id,)
    ).fetchone()
    if row is not None and fence < row[0]:
        raise FenceRejected(f"agent memory of {session_id} is fenced at {row[0]}")
    if row is None or fence > row[0]:
        conn.execute("INSERT OR REPLACE INTO memory_fences VALUES (?, ?)", (session_id, fence))
