"""The lock port on SQLite: one lease row per session, taken by a conditional upsert."""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable

from adapters.sqlite.database import SqliteDatabase
from core.ports import LeaseState


def _wall_ms() -> int:
    # Wall time, not monotonic: processes on one host share it, and a lease outlives
    # the process that took it.
    return time.time_ns() // 1_000_000


class SqliteSessionLock:
    """``SessionLock`` on SQLite; correct across processes sharing the file, since every
    change is a conditional write inside ``BEGIN IMMEDIATE``."""

    def __init__(self, db: SqliteDatabase, now_ms: Callable[[], int] = _wall_ms) -> None:
        self._db = db
        self._now = now_ms

    async def acquire(self, session_id: str, lease_ms: int) -> str | None:
        token = secrets.token_hex(16)
        now = self._now()

        def write(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT INTO leases VALUES (?, ?, ?, 0) ON CONFLICT (session_id) DO UPDATE"
                " SET token = excluded.token, expires_at_ms = excluded.expires_at_ms, stop = 0"
                " WHERE leases.expires_at_ms <= ?",
                (session_id, token, now + lease_ms, now),
            )
            return cursor.rowcount == 1

        return token if await self._db.run(write) else None

    async def extend(self, session_id: str, token: str, lease_ms: int) -> LeaseState:
        now = self._now()

        def write(conn: sqlite3.Connection) -> LeaseState:
            row = conn.execute(
                "UPDATE leases SET expires_at_ms = ? WHERE session_id = ? AND token = ?"
                " AND expires_at_ms > ? RETURNING stop",
                (now + lease_ms, session_id, token, now),
            ).fetchone()
            if row is None:
                return LeaseState.LOST
            return LeaseState.STOP_REQUESTED if row[0] else LeaseState.HELD

        return await self._db.run(write)

    async def release(self, session_id: str, token: str) -> bool:
        now = self._now()

        def write(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "DELETE FROM leases WHERE session_id = ? AND token = ? AND expires_at_ms > ?",
                (session_id, token, now),
            )
            return cursor.rowcount == 1

        return await self._db.run(write)

    async def request_stop(self, session_id: str) -> bool:
        now = self._now()

        def write(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE leases SET stop = 1 WHERE session_id = ? AND expires_at_ms > ?",
                (session_id, now),
            )
            return cursor.rowcount == 1

        return await self._db.run(write)
