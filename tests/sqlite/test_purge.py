"""Rows past their TTL disappear from reads at once and from the file soon after: the
first write after a minute without a purge deletes them, a batch at a time, so a week of
chats does not grow the file for ever. Driven by a fake clock; nothing sleeps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.sqlite import store as store_module
from adapters.sqlite.agent_memory import PURGE_EVERY_S, SqliteAgentMemory
from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.store import PURGE_EVERY_MS, SqliteChatStore
from core.domain import Connection, MessageDraft, Role, Session

pytestmark = pytest.mark.anyio
SID = "7d2f0a3c-1b4e-4f5a-8c9d-0e1f2a3b4c5d"
DAY_MS = 86_400_000


class FakeClock:
    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now


def _rows(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _draft(text: str) -> MessageDraft:
    return MessageDraft(SID, Role.USER, "CONVERSATION", text)


async def test_expired_messages_and_connections_are_deleted_by_a_later_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "azuchi.db"
    clock = FakeClock(1_000 * DAY_MS)
    store = SqliteChatStore(SqliteDatabase(path), clock, message_ttl_s=86_400)
    await store.create_session(Session(SID, clock.now))
    await store.put_connection(Connection("old-tab", SID, clock.now))
    for i in range(3):
        await store.append_message(_draft(f"old {i}"))  # the first append purged nothing

    clock.now += 2 * DAY_MS  # past both TTLs (a day)
    assert await store.last_messages(SID, 10) == []  # invisible at once
    assert await store.get_connection("old-tab") is None
    assert (_rows(path, "messages"), _rows(path, "connections")) == (3, 1)  # still in the file

    await store.append_message(_draft("new"))  # a minute has passed since the last purge
    assert [m.message for m in await store.last_messages(SID, 10)] == ["new"]
    assert (_rows(path, "messages"), _rows(path, "connections")) == (1, 0)


async def test_a_backlog_goes_a_batch_per_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PURGE_BATCH", 2)
    path = tmp_path / "azuchi.db"
    clock = FakeClock(1_000 * DAY_MS)
    store = SqliteChatStore(SqliteDatabase(path), clock, message_ttl_s=86_400)
    await store.create_session(Session(SID, clock.now))
    for i in range(5):
        await store.append_message(_draft(f"old {i}"))

    clock.now += 2 * DAY_MS
    counts = []
    for i in range(3):  # a write after a full batch purges again, whatever the time
        await store.append_message(_draft(f"new {i}"))
        counts.append(_rows(path, "messages"))
    assert counts == [4, 3, 3]  # 5 old - 2 + 1 new; 3 - 2 + 1; 2 - 1 (the last old) + 1


async def test_writes_within_a_minute_of_a_purge_do_not_purge(tmp_path: Path) -> None:
    path = tmp_path / "azuchi.db"
    clock = FakeClock(1_000 * DAY_MS)
    store = SqliteChatStore(SqliteDatabase(path), clock, message_ttl_s=10)
    await store.create_session(Session(SID, clock.now))
    await store.append_message(_draft("first"))  # purges (nothing yet)
    clock.now += 11_000  # "first" has expired
    await store.append_message(_draft("second"))
    assert _rows(path, "messages") == 2  # 11 s after the last purge: not yet
    clock.now += PURGE_EVERY_MS - 11_000
    await store.append_message(_draft("third"))
    assert _rows(path, "messages") == 1  # a minute after: both expired ones are gone
    assert [m.message for m in await store.last_messages(SID, 10)] == ["third"]


async def test_expired_response_ids_are_deleted_by_a_later_set(tmp_path: Path) -> None:
    path = tmp_path / "azuchi.db"
    now = [1_000_000.0]
    memory = SqliteAgentMemory(SqliteDatabase(path), response_id_ttl_s=60, clock=lambda: now[0])
    await memory.set_previous_response_id("session-a", "resp-a")
    now[0] += 61
    assert await memory.get_previous_response_id("session-a") is None
    assert _rows(path, "response_ids") == 1
    now[0] += PURGE_EVERY_S
    await memory.set_previous_response_id("session-b", "resp-b")
    assert _rows(path, "response_ids") == 1  # only b's
    assert await memory.get_previous_response_id("session-b") == "resp-b"
