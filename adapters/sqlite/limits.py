"""The limits counters in the SQLite file: one row per key (a bucket's TAT, or a total)."""

from __future__ import annotations

import sqlite3
import time

from adapters.sqlite.database import SqliteDatabase
from core.gcra import gcra

_PRUNE_EVERY = 1024  # writes between deletions of expired rows


class SqliteLimitCounters:
    """``LimitCounters`` on SQLite: each call is one ``BEGIN IMMEDIATE`` transaction, so
    processes sharing the file count together. A row past ``expire_at_ms`` counts as absent
    and is deleted now and then."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._writes = 0

    async def take(self, key: str, capacity: int, interval_ms: int, now_ms: int) -> int:
        prune = self._due()

        def write(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT value FROM limit_counters WHERE key = ? AND expire_at_ms > ?",
                (key, now_ms),
            ).fetchone()
            tat, wait = gcra(None if row is None else int(row[0]), capacity, interval_ms, now_ms)
            if tat is not None:
                conn.execute(
                    "INSERT INTO limit_counters (key, value, expire_at_ms) VALUES (?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                    " expire_at_ms = excluded.expire_at_ms",
                    (key, tat, tat),
                )
            if prune:
                conn.execute("DELETE FROM limit_counters WHERE expire_at_ms <= ?", (now_ms,))
            return wait

        return await self._db.run(write)

    async def add(self, key: str, amount: int, expire_at_s: int) -> int:
        now_ms = time.time_ns() // 1_000_000
        expire_ms = expire_at_s * 1000

        def write(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "INSERT INTO limit_counters (key, value, expire_at_ms) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET"
                " value = CASE WHEN limit_counters.expire_at_ms > ?"
                " THEN limit_counters.value + excluded.value ELSE excluded.value END,"
                " expire_at_ms = excluded.expire_at_ms RETURNING value",
                (key, amount, expire_ms, now_ms),
            ).fetchone()
            return int(row[0])

        return await self._db.run(write)

    async def total(self, key: str, now_ms: int) -> int:
        def read(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT value FROM limit_counters WHERE key = ? AND expire_at_ms > ?",
                (key, now_ms),
            ).fetchone()
            return 0 if row is None else int(row[0])

        return await self._db.read(read)

    def _due(self) -> bool:
        self._writes += 1
        return self._writes % _PRUNE_EVERY == 0
