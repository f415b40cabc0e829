"""A frame to a connection the transport calls gone: an old connection is forgotten (its
record deleted), but one still in its handshake is not — API Gateway answers 410 to posts
until $connect has returned, and deleting it then would leave a tab that just opened with
no connection ("reconnect") for the rest of its life."""

from __future__ import annotations

import pytest

from adapters.inprocess.store import InProcessChatStore
from core.domain import Connection, Session
from core.errors import ConnectionGone
from core.services.fanout import CONNECT_GRACE_MS, Fanout

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000_000


class GoneTransport:
    def __init__(self, gone: set[str]) -> None:
        self.gone = gone
        self.sent: list[str] = []

    async def send(self, connection_id: str, data: str) -> None:
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        self.sent.append(connection_id)

    async def close(self, connection_id: str) -> None:
        pass


async def _store(*connections: Connection) -> InProcessChatStore:
    store = InProcessChatStore()
    await store.create_session(Session("s1", created_at=NOW - 600_000))
    for connection in connections:
        await store.put_connection(connection)
    return store


async def test_an_old_gone_connection_is_forgotten_a_new_one_kept() -> None:
    old = Connection("old", "s1", connected_at=NOW - CONNECT_GRACE_MS - 1)
    new = Connection("new", "s1", connected_at=NOW - 200)
    live = Connection("live", "s1", connected_at=NOW - 600_000)
    store = await _store(old, new, live)
    transport = GoneTransport({"old", "new"})
    fanout = Fanout(transport, store, ["old", "new", "live"], now_ms=lambda: NOW)

    await fanout.send({"type": "delta", "text": "x"})

    assert transport.sent == ["live"]
    assert await store.get_connection("old") is None
    kept = await store.get_connection("new")  # it reads what it missed on connect
    assert kept is not None and kept.connection_id == "new"
    assert fanout.connection_ids == ["live"]  # neither is tried again by this reply
    # A later reply reaches the new tab once its handshake is done.
    transport.gone.discard("new")
    ids = [c.connection_id for c in await store.session_connections("s1")]
    await Fanout(transport, store, ids, now_ms=lambda: NOW).send({"type": "done"})
    assert sorted(transport.sent[1:]) == ["live", "new"]
