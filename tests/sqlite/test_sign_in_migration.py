"""A chat file from before sign-in (schema 2) opens with its sessions anonymous, as they
were: anyone holding an id may still use it, and no user's list shows it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.sqlite.database import MIGRATIONS, SqliteDatabase
from adapters.sqlite.store import SqliteChatStore
from core.domain import Session

pytestmark = pytest.mark.anyio

OLD_SESSION = "0b9a5e8e-6a43-4c1e-9d8e-3f0c1b2a4d5e"


async def test_sessions_of_a_schema_2_file_stay_anonymous(tmp_path: Path) -> None:
    path = tmp_path / "azuchi.db"
    old = sqlite3.connect(path)
    for script in MIGRATIONS[:2]:
        old.executescript(script)
    old.execute(
        "INSERT INTO sessions (session_id, created_at, title) VALUES (?, 1, 'kept')", (OLD_SESSION,)
    )
    old.execute("PRAGMA user_version = 2")
    old.commit()
    old.close()
    db = SqliteDatabase(path)
    store = SqliteChatStore(db)
    try:
        assert await store.get_session(OLD_SESSION) == Session(OLD_SESSION, 1, title="kept")
        await store.create_session(
            Session("1b9a5e8e-6a43-4c1e-9d8e-3f0c1b2a4d5e", 2, owner="alice")
        )
        listed = await store.user_sessions("alice", 10)
        assert [s.session_id for s in listed] == ["1b9a5e8e-6a43-4c1e-9d8e-3f0c1b2a4d5e"]
    finally:
        await db.aclose()
