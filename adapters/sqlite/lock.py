"""The lock port on SQLite: one lease row per session, taken by a conditional upsert."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.owner import new_token, owner_is_dead
from core.domain import Lease
from core.ports import LeaseState


def _wall_ms() -> int:
    # Wall time, not monotonic: processes on one host share it, and a lease outlives
    # the process that took it.
    return time.time_ns() // 1_000_000


class SqliteSessionLock:
    """``SessionLock`` on SQLite; correct across processes sharing the file, since every
    change is a conditional write inside ``BEGIN IMMEDIATE``. A session's row outlives its
    leases (release empties it), so its ``fence`` counts up across them, from at least
    the wall clock in ms (``core.domain.next_fence``).

    A live lease whose owner process has died on this host (``adapters.sqlite.owner``) is
    taken over at once: after a crash of ``azuchi serve`` the restarted one answers the
    interrupted reply without waiting out the dead one's lease."""

    def __init__(self, db: SqliteDatabase, now_ms: Callable[[], int] = _wall_ms) -> None:
        self._db = db
        self._now = now_ms

    async def acquire(self, session_id: str, lease_ms: int) -> Lease | None:
        token = new_token()
        now = self._now()

        def write(conn: sqlite3.Connection) -> int | None:
            # Inside BEGIN IMMEDIATE: the holder read here is the one the upsert replaces.
            held = conn.execute(
                "SELECT token FROM leases WHERE session_id = ? AND expires_at_ms > ?",
                (session_id, now),
            ).fetchone()
            free_from = now
            if held is not None and owner_is_dead(str(held[0])):
                free_from = 2**62  # its lease is void: the upsert's condition holds
            row = conn.execute(
                "INSERT INTO leases (session_id, token, expires_at_ms, stop, fence)"
                " VALUES (?, ?, ?, 0, ?) ON CONFLICT (session_id) DO UPDATE"
                " SET token = excluded.token, expires_at_ms = excluded.expires_at_ms, stop = 0,"
                " fence = MAX(leases.fence + 1, excluded.fence)"
                " WHERE leases.expires_at_ms <= ? RETURNING fence",
                (session_id, token, now + lease_ms, now, free_from),
            ).fetchone()
            return None if row is None else int(row[0])

        fence = await self._db.run(write)
        return None if fence is None else Lease(token, fence)

    async def is_held(self, session_id: str) -> bool:
        now = self._now()

        def read(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT token FROM leases WHERE session_id = ? AND expires_at_ms > ?",
                (session_id, now),
            ).fetchone()
            return row is not None and not owner_is_dead(str(row[0]))

        return await self._db.read(read)

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
                "UPDATE leases SET token = '', expires_at_ms = 0, stop = 0"
                " WHERE session_id = ? AND token = ? AND expires_at_ms > ?",
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
