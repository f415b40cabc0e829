"""One SQLite file per app: opened and migrated at start-up, every call run off the loop.

The standard library's ``sqlite3`` blocks, so each call runs in a worker thread
(``anyio.to_thread.run_sync``) on the app's one connection, under a thread lock: SQLite
serialises writers anyway, and one connection keeps each call's transaction whole. WAL
lets readers in other processes (a second ``azuchi serve``) read while one writes; the
busy timeout makes a writer wait for another process's write instead of failing at once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from adapters.settings import SettingsError
from core.errors import BackendUnavailable

T = TypeVar("T")
BUSY_TIMEOUT_MS = 5_000

# Migration i takes a file from user_version i to i + 1. Append only; never edit one
# that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        session_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        title TEXT,
        last_user_at INTEGER NOT NULL DEFAULT 0,
        answered_at INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE connections (
        connection_id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        connected_at INTEGER NOT NULL,
        user_id TEXT,
        expire_at INTEGER NOT NULL
    );
    CREATE INDEX connections_by_session ON connections (session_id);
    -- (session_id, created_at) is the key: the newest N is one index range, whatever
    -- the length of the conversation.
    CREATE TABLE messages (
        session_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        client_message_id TEXT,
        expire_at INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (session_id, created_at)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX messages_by_client_id ON messages (session_id, client_message_id)
        WHERE client_message_id IS NOT NULL;
    CREATE INDEX messages_by_expiry ON messages (expire_at);
    CREATE TABLE history (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE response_ids (
        session_id TEXT PRIMARY KEY,
        response_id TEXT NOT NULL,
        expire_at REAL NOT NULL
    );
    CREATE TABLE leases (
        session_id TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        stop INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: fencing and durable partial replies (docs/recovery.md). Lease rows now outlive
    # their lease (release empties them), so the fence counter survives a release.
    """
    ALTER TABLE sessions ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN reply_id TEXT;
    ALTER TABLE sessions ADD COLUMN reply_to INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX sessions_pending ON sessions (session_id) WHERE last_user_at > answered_at;
    CREATE TABLE reply_checkpoints (
        session_id TEXT PRIMARY KEY,
        reply_id TEXT NOT NULL,
        reply_to INTEGER NOT NULL,
        fence INTEGER NOT NULL,
        message_type TEXT NOT NULL,
        text TEXT NOT NULL
    );
    ALTER TABLE leases ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE memory_fences (
        session_id TEXT PRIMARY KEY,
        fence INTEGER NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteFileError(SettingsError):
    """The SQLite file cannot be used; the message names it and says what to do."""


class SqliteDatabase:
    """The app's connection to one SQLite file. ``run(fn)`` calls ``fn(connection)`` in a
    worker thread inside one transaction (committed when it returns, rolled back when it
    raises); a busy or failing file becomes ``BackendUnavailable``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = open_database(self.path)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(self._conn)
                except BaseException:
                    self._conn.rollback()
                    raise
                self._conn.commit()
                return result
            except sqlite3.OperationalError as error:
                raise BackendUnavailable(f"sqlite {self.path}: {error}") from error

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._close)

    def _close(self) -> None:
        with self._lock:
            self._conn.close()


def open_database(path: Path) -> sqlite3.Connection:
    """Opens ``path`` (making its directory), sets WAL and the busy timeout, and migrates
    it forward; any reason it cannot be used is a ``SqliteFileError`` naming the file."""
    where = f"AZUCHI_SQLITE_PATH={path}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SqliteFileError(
            f"{where}: cannot create its directory ({error.strerror}); "
            "set AZUCHI_SQLITE_PATH to a writable place"
        ) from None
    try:
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE in run), so a read
        # and the write it decides are one transaction.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as error:
        raise SqliteFileError(
            f"{where}: cannot open it ({error}); check the path and its permissions"
        ) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SqliteFileError(
                f"{where}: written by a newer azuchi (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade azuchi or point AZUCHI_SQLITE_PATH elsewhere"
            )
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError("attempt to write a readonly database")
        _migrate(conn, version)
    except sqlite3.DatabaseError as error:
        conn.close()
        raise SqliteFileError(f"{where}: {error}; {_advice(error)}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    for target in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Statement by statement: executescript would commit our transaction.
            for statement in MIGRATIONS[target].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target + 1}")
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _advice(error: sqlite3.DatabaseError) -> str:
    text = str(error).lower()
    if "readonly" in text or "read-only" in text:
        return "make the file and its directory writable, or point AZUCHI_SQLITE_PATH elsewhere"
    if "not a database" in text or "malformed" in text:
        return (
            "the file is not an azuchi database or is damaged; move it aside "
            "(azuchi starts a new one) or point AZUCHI_SQLITE_PATH elsewhere"
        )
    return "check the file, or point AZUCHI_SQLITE_PATH elsewhere"
