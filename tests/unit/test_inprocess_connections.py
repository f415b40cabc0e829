"""The in-process store's per-session connection index: a reply's fan-out reads it three
times a turn, so it must list a session's connections without scanning the server's."""

from __future__ import annotations

import pytest

from adapters.inprocess.store import InProcessChatStore
from core.domain import Connection

pytestmark = pytest.mark.anyio


async def test_a_connection_put_again_under_another_session_moves_there() -> None:
    store = InProcessChatStore()
    await store.put_connection(Connection("c1", "s1", 1))
    await store.put_connection(Connection("c2", "s1", 2))
    await store.put_connection(Connection("c1", "s2", 3))  # the tab opened another chat
    assert [c.connection_id for c in await store.session_connections("s1")] == ["c2"]
    assert [c.connection_id for c in await store.session_connections("s2")] == ["c1"]
    await store.put_connection(Connection("c2", "s1", 4))  # the same session again: listed once
    assert [c.connected_at for c in await store.session_connections("s1")] == [4]


async def test_a_deleted_connection_leaves_its_sessions_list() -> None:
    store = InProcessChatStore()
    for i in range(3):
        await store.put_connection(Connection(f"c{i}", "s", i))
    await store.delete_connection("c1")
    await store.delete_connection("c1")  # twice: nothing to do
    assert [c.connection_id for c in await store.session_connections("s")] == ["c0", "c2"]
    for i in (0, 2):
        await store.delete_connection(f"c{i}")
    assert await store.session_connections("s") == []
