"""Shared by every test tier: async tests run on asyncio through anyio's pytest plugin, and
no test touches the user's own azuchi database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def users_database_untouched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """With no settings azuchi keeps its chats in ``$XDG_DATA_HOME/azuchi/azuchi.db``. A
    test run must never write there: every process it starts inherits a data home of the
    run's own, and opening the user's file in process (settings built from a mapping that
    names neither ``AZUCHI_SQLITE_PATH`` nor ``XDG_DATA_HOME``) fails the test that did it."""
    from adapters.sqlite import database
    from adapters.sqlite.plugin import sqlite_path

    users = sqlite_path(os.environ).resolve()
    home_default = sqlite_path({}).resolve()
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data-home"))
    real_open = database.open_database

    def guarded_open(path: Path, *args: object) -> object:
        if Path(path).resolve() in (users, home_default):
            raise AssertionError(
                f"a test opened the user's own database {path}: give it "
                "AZUCHI_SQLITE_PATH under tmp_path, or AZUCHI_STORAGE/LOCK/AGENT_MEMORY=inprocess"
            )
        return real_open(path, *args)  # type: ignore[arg-type]

    database.open_database = guarded_open  # type: ignore[assignment]
    try:
        yield
    finally:
        database.open_database = real_open
        if previous is None:
            os.environ.pop("XDG_DATA_HOME", None)
        else:
            os.environ["XDG_DATA_HOME"] = previous
