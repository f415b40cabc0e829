"""Registers the sqlite adapters: storage, agent memory and lock in one local file.

``AZUCHI_SQLITE_PATH`` names the file (default ``$XDG_DATA_HOME/azuchi/azuchi.db``, i.e.
``~/.local/share/azuchi/azuchi.db``); the ports of one app share one connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.registry import AdapterSpec, BuildContext, hookimpl
from adapters.settings import EnvReader

if TYPE_CHECKING:
    from adapters.sqlite.agent_memory import SqliteAgentMemory
    from adapters.sqlite.database import SqliteDatabase
    from adapters.sqlite.limits import SqliteLimitCounters
    from adapters.sqlite.lock import SqliteSessionLock
    from adapters.sqlite.store import SqliteChatStore

# The factories import sqlite3 and the adapters' modules when called: registering this
# plugin costs a function that selects no SQLite adapter (every Lambda) no import of them.

NAME = "sqlite"


def sqlite_path(env: Mapping[str, str]) -> Path:
    """Where the database lives, from ``AZUCHI_SQLITE_PATH`` or the XDG data directory."""
    explicit = (env.get("AZUCHI_SQLITE_PATH") or "").strip()
    if explicit:
        return Path(explicit).expanduser()
    data_home = (env.get("XDG_DATA_HOME") or "").strip() or str(Path.home() / ".local" / "share")
    return Path(data_home) / "azuchi" / "azuchi.db"


def _database(ctx: BuildContext) -> SqliteDatabase:
    from adapters.sqlite.database import BUSY_TIMEOUT_MS, SYNCHRONOUS, SqliteDatabase

    path = sqlite_path(ctx.settings.env)
    read = EnvReader(ctx.settings.env)
    busy_timeout_ms = read.int("AZUCHI_SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS, low=0)
    synchronous = read.name("AZUCHI_SQLITE_SYNCHRONOUS", SYNCHRONOUS[0])

    def make() -> SqliteDatabase:
        db = SqliteDatabase(path, busy_timeout_ms, synchronous)
        ctx.resources.on_close(db.aclose)
        return db

    return ctx.resources.shared(("sqlite", str(path)), make)


def _store(ctx: BuildContext) -> SqliteChatStore:
    from adapters.sqlite.store import SqliteChatStore

    s = ctx.settings
    return SqliteChatStore(_database(ctx), ctx.clock, s.message_ttl_s, s.connection_ttl_s)


def _agent_memory(ctx: BuildContext) -> SqliteAgentMemory:
    from adapters.sqlite.agent_memory import SqliteAgentMemory

    s = ctx.settings
    return SqliteAgentMemory(_database(ctx), s.history_items, s.response_id_ttl_s)


def _lock(ctx: BuildContext) -> SqliteSessionLock:
    from adapters.sqlite.lock import SqliteSessionLock

    return SqliteSessionLock(_database(ctx))


def _limits(ctx: BuildContext) -> SqliteLimitCounters:
    from adapters.sqlite.limits import SqliteLimitCounters

    return SqliteLimitCounters(_database(ctx))


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("storage", NAME, _store, "one local SQLite file (AZUCHI_SQLITE_PATH)"),
        AdapterSpec("agent_memory", NAME, _agent_memory, "capped history in SQLite"),
        AdapterSpec("lock", NAME, _lock, "lease rows in SQLite"),
        AdapterSpec("limits", NAME, _limits, "limit counters in SQLite"),
    ]
