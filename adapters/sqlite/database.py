"""One SQLite file per app: opened and migrated at start-up, every call run off the loop.

The standard library's ``sqlite3`` blocks, so each call runs in a worker thread
(``anyio.to_thread.run_sync``) on the app's one connection, under a thread lock: SQLite
serialises writers anyway, and one connection keeps each call's transaction whole. WAL
lets readers in other processes (a second ``azuchi serve``) read while one writes; the
busy timeout makes a writer wait for another process's write instead of failing at once.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from adapters.settings import SettingsError
from core.errors import BackendUnavailable, StorageFull

T = TypeVar("T")
BUSY_TIMEOUT_MS = 5_000  # AZUCHI_SQLITE_BUSY_TIMEOUT_MS
# AZUCHI_SQLITE_SYNCHRONOUS. In WAL mode NORMAL syncs at checkpoints, not at each commit: a
# killed process loses nothing committed, a power cut may lose the last commits but never
# corrupts the file. FULL syncs every commit (several ms each on a laptop disk).
SYNCHRONOUS = ("normal", "full")

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
    # 3: taking a turn back (regenerate, editMessage) deletes the newest messages; new keys
    # must still go above the deleted ones, so the newest key ever given is kept here.
    """
    ALTER TABLE sessions ADD COLUMN high_water INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: the limits' counters (adapters/sqlite/limits.py): a bucket's TAT or a total.
    """
    CREATE TABLE limit_counters (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL,
        expire_at_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX limit_counters_by_expiry ON limit_counters (expire_at_ms);
    """,
    # 5: sign-in (docs/auth.md). A signed-in user's sessions, newest first, are one range
    # of this index (listSessions); anonymous sessions (NULL) are not in it.
    """
    ALTER TABLE sessions ADD COLUMN user_id TEXT;
    CREATE INDEX sessions_by_user ON sessions (user_id, created_at, session_id)
        WHERE user_id IS NOT NULL;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteFileError(SettingsError):
    """The SQLite file cannot be used; the message names it and says what to do."""


class SqliteDatabase:
    """The app's connection to one SQLite file. ``run(fn)`` calls ``fn(connection)`` in a
    worker thread inside one transaction (committed when it returns, rolled back when it
    raises, the commit included); a full disk becomes ``StorageFull``, any other failure of
    the file (busy past the timeout, damaged) ``BackendUnavailable``."""

    def __init__(
        self,
        path: str | Path,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        synchronous: str = SYNCHRONOUS[0],
    ) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = open_database(self.path, busy_timeout_ms, synchronous)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` in a write transaction (``BEGIN IMMEDIATE``: the write lock first, so a
        read and the write it decides cannot interleave with another writer)."""
        return await anyio.to_thread.run_sync(self._call, fn, "BEGIN IMMEDIATE")

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` in a read transaction: one snapshot, and no wait for another process's
        write (WAL readers never block on the writer)."""
        return await anyio.to_thread.run_sync(self._call, fn, "BEGIN")

    def _call(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        with self._lock:
            try:
                self._conn.execute(begin)
                try:
                    result = fn(self._conn)
                    self._conn.commit()
                except BaseException:
                    # After SQLITE_FULL or an I/O error SQLite undoes only the failing
                    # statement (a failed COMMIT leaves the transaction open): the rest of
                    # the transaction must go too, or half of it would commit later.
                    if self._conn.in_transaction:
                        self._conn.rollback()
                    raise
                return result
            except sqlite3.Error as error:
                raise _mapped(self.path, error) from error

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._close)

    def _close(self) -> None:
        with self._lock:
            self._conn.close()


def _mapped(path: Path, error: sqlite3.Error) -> BackendUnavailable:
    if _primary_code(error) == sqlite3.SQLITE_FULL:
        return StorageFull(
            "The server's disk is full, so this was not saved; nothing of it was "
            "stored. Try again once space has been freed."
        )
    return BackendUnavailable(f"sqlite {path}: {error}")


def open_database(
    path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS, synchronous: str = SYNCHRONOUS[0]
) -> sqlite3.Connection:
    """Opens ``path`` (making its directory), sets WAL and the busy timeout, migrates it
    forward and proves it can write; any reason it cannot be used (read-only, locked by
    another process past the busy timeout, damaged, from a newer azuchi) is a
    ``SqliteFileError`` naming the file and what to do."""
    if synchronous not in SYNCHRONOUS:
        raise SettingsError(f"AZUCHI_SQLITE_SYNCHRONOUS={synchronous!r}: use normal or full")
    where = f"AZUCHI_SQLITE_PATH={path}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SqliteFileError(
            f"{where}: cannot create its directory ({error.strerror}); "
            "set AZUCHI_SQLITE_PATH to a writable place"
        ) from None
    _refuse_read_only(path, where)
    try:
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE in run), so a read
        # and the write it decides are one transaction.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as error:
        raise SqliteFileError(
            f"{where}: cannot open it ({error}); check the path and its permissions"
        ) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SqliteFileError(
                f"{where}: written by a newer azuchi (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade azuchi or point AZUCHI_SQLITE_PATH elsewhere"
            )
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError("attempt to write a readonly database")
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        _migrate(conn, version)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a damaged schema
        _prove_writable(conn)
    except sqlite3.DatabaseError as error:
        conn.close()
        raise SqliteFileError(f"{where}: {_advice(error, busy_timeout_ms)}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _refuse_read_only(path: Path, where: str) -> None:
    """SQLite opens a file it cannot write read-only without a word, and fails at the first
    message; say so at start-up. ``access`` answers for a read-only mount even to root."""
    for target, what in ((path, "the file"), (path.parent, "its directory")):
        if target.exists() and not os.access(target, os.W_OK):
            how = "on a disk mounted read-only" if _read_only_mount(target) else "read-only"
            raise SqliteFileError(
                f"{where}: {what} is {how}; azuchi writes every chat there "
                "(and its -wal and -shm files beside it): make it writable, or point "
                "AZUCHI_SQLITE_PATH elsewhere"
            )


def _read_only_mount(target: Path) -> bool:
    try:
        return bool(os.statvfs(target).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _prove_writable(conn: sqlite3.Connection) -> None:
    """A write that is rolled back: takes the write lock (waiting the busy timeout for
    another process's write) and fails now if the file cannot be written."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        conn.rollback()


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


def _primary_code(error: sqlite3.Error) -> int | None:
    """SQLite's primary result code (the extended code's low byte: SQLITE_BUSY_SNAPSHOT is
    SQLITE_BUSY), or None when the error carries none."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _advice(error: sqlite3.DatabaseError, busy_timeout_ms: int) -> str:
    """What went wrong, in words, and what to do about it."""
    code = _primary_code(error)
    text = str(error).lower()
    if code == sqlite3.SQLITE_BUSY or "locked" in text:
        return (
            f"locked by another process for more than {busy_timeout_ms} ms (another "
            "azuchi serve in the middle of a long write, or a tool such as the sqlite3 "
            "shell holding a transaction open); close it and start again, raise "
            "AZUCHI_SQLITE_BUSY_TIMEOUT_MS, or point AZUCHI_SQLITE_PATH elsewhere"
        )
    if code == sqlite3.SQLITE_READONLY or "readonly" in text or "read-only" in text:
        return (
            f"{error}; make the file and its directory writable, or point "
            "AZUCHI_SQLITE_PATH elsewhere"
        )
    if code == sqlite3.SQLITE_FULL:
        return f"{error}; free some disk space, or point AZUCHI_SQLITE_PATH elsewhere"
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT) or "malformed" in text:
        return (
            f"{error}: the file is not an azuchi database or is damaged; move it aside "
            "(azuchi starts a new one) or point AZUCHI_SQLITE_PATH elsewhere"
        )
    return f"{error}; check the file, or point AZUCHI_SQLITE_PATH elsewhere"
