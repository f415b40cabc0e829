"""A SQLite file azuchi cannot use stops start-up with a message naming it and the fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.bootstrap import build_app
from adapters.settings import Settings, SettingsError
from adapters.sqlite.database import SCHEMA_VERSION, SqliteDatabase


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
