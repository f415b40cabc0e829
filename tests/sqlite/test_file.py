"""A SQLite file azuchi cannot use stops start-up with a message naming it and the fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.bootstrap import build_app
from adapters.settings import Settings, SettingsError
from adapters.sqlite.database import SCHEMA_VERSION, SqliteDatabase
from core.errors import InvalidInput


def _settings(path: Path) -> Settings:
    return Settings.from_env(
        {"AZUCHI_STORAGE": "sqlite", "AZUCHI_LOCK": "sqlite", "AZUCHI_SQLITE_PATH": str(path)}
    )


def test_a_new_file_is_made_with_its_directory_and_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "azuchi.db"
    build_app(_settings(path))
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION


def test_a_file_from_a_newer_azuchi_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "azuchi.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SettingsError, match="newer azuchi") as caught:
        build_app(_settings(path))
    assert str(path) in str(caught.value)


def test_a_corrupt_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "azuchi.db"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(SettingsError, match="move it aside") as caught:
        SqliteDatabase(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes().startswith(b"this is not a database")


@pytest.mark.anyio
async def test_a_cursor_past_every_key_pages_to_nothing_instead_of_failing(tmp_path: Path) -> None:
    """A cursor of 40 digits is valid JSON; SQLite's integers stop at 2**63 - 1, so the
    store answers "nothing after it", not an OverflowError, and the service refuses it as
    a validation error (INVALID_CURSOR), never an internal one."""
    from adapters.inprocess.transport import Outbox

    async with build_app(_settings(tmp_path / "azuchi.db")) as app:
        session_id = await app.chat.connect("c1", None)
        outbox = Outbox()
        app.hub.attach("c1", outbox)
        await app.chat.put_message("c1", {"message": "hello"})
        assert len(await app.store.messages_after(session_id, None, 10)) >= 1
        assert await app.store.messages_after(session_id, 10**40, 10) == []
        with pytest.raises(InvalidInput) as refused:
            await app.chat.get_messages("c1", {"after": 10**40})
        assert refused.value.code == "INVALID_CURSOR"


def test_the_commit_sync_setting_is_checked_at_start_up(tmp_path: Path) -> None:
    env = {"AZUCHI_SQLITE_PATH": str(tmp_path / "azuchi.db"), "AZUCHI_SQLITE_SYNCHRONOUS": "off"}
    with pytest.raises(SettingsError, match="AZUCHI_SQLITE_SYNCHRONOUS='off': use normal or full"):
        build_app(Settings.from_env(env))
    full = {**env, "AZUCHI_SQLITE_SYNCHRONOUS": "FULL"}
    app = build_app(Settings.from_env(full))
    assert app.store._db._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # type: ignore[attr-defined]
