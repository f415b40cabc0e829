"""A frame to a connection the transport calls gone: an old connection is forgotten (its
record deleted), but one still in its handshake is not — API Gateway answers 410 to posts
until $connect has returned, and deleting it then would leave a tab that just opened with
no connection ("reconnect") for the rest of its life."""

from __future__ import annotations

import pytest

from adapters.inprocess.store import InProcessChatStore
from core.domain import Connection, Session
from core.errors import BackendUnavailable, ConnectionGone, PayloadTooLarge, TransportError
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


class FlakyTransport(GoneTransport):
    """Gone, refusing or failing per connection, as the test says."""

    def __init__(self, gone: set[str], errors: dict[str, Exception]) -> None:
        super().__init__(gone)
        self.errors = errors

    async def send(self, connection_id: str, data: str) -> None:
        if connection_id in self.errors:
            raise self.errors[connection_id]
        await super().send(connection_id, data)


async def test_a_connection_that_took_frames_then_went_away_is_forgotten_though_young() -> None:
    young = Connection("young", "s1", connected_at=NOW - 200)
    store = await _store(young, Connection("live", "s1", connected_at=NOW - 600_000))
    transport = GoneTransport(set())
    fanout = Fanout(transport, store, ["young", "live"], now_ms=lambda: NOW)
    await fanout.send({"type": "delta", "text": "x"})  # its handshake is done: it took one
    transport.gone.add("young")  # the tab is closed
    await fanout.send({"type": "delta", "text": "y"})
    assert await store.get_connection("young") is None
    assert fanout.connection_ids == ["live"]
    assert sorted(transport.sent) == ["live", "live", "young"]


async def test_a_refused_or_failed_frame_skips_that_tab_only_and_keeps_its_record() -> None:
    live = Connection("live", "s1", connected_at=NOW - 600_000)
    big = Connection("big", "s1", connected_at=NOW - 600_000)
    throttled = Connection("throttled", "s1", connected_at=NOW - 600_000)
    store = await _store(live, big, throttled)
    errors: dict[str, Exception] = {
        "big": PayloadTooLarge("too big"),
        "throttled": TransportError("throttled past retries"),
    }
    transport = FlakyTransport(set(), errors)
    fanout = Fanout(transport, store, ["live", "big", "throttled"], now_ms=lambda: NOW)
    await fanout.send({"type": "delta", "text": "x"})
    assert transport.sent == ["live"]
    # Neither is gone: both keep their record and get the next frame tried.
    assert fanout.connection_ids == ["live", "big", "throttled"]
    assert await store.get_connection("big") is not None
    assert await store.get_connection("throttled") is not None


async def test_a_store_down_while_forgetting_a_gone_tab_does_not_fail_the_others() -> None:
    old = Connection("old", "s1", connected_at=NOW - 600_000)
    store = await _store(old, Connection("live", "s1", connected_at=NOW - 600_000))

    async def down(connection_id: str) -> None:
        raise BackendUnavailable("store down")

    store.delete_connection = down  # type: ignore[method-assign]
    transport = GoneTransport({"old"})
    fanout = Fanout(transport, store, ["old", "live"], now_ms=lambda: NOW)
    await fanout.send({"type": "delta", "text": "x"})
    assert transport.sent == ["live"] and fanout.connection_ids == ["live"]


@pytest.mark.parametrize(("age_ms", "kept"), [(29_999, True), (30_000, False)])
async def test_a_gone_tab_is_given_30_seconds_of_handshake(age_ms: int, kept: bool) -> None:
    tab = Connection("tab", "s1", connected_at=NOW - age_ms)
    store = await _store(tab)
    await Fanout(GoneTransport({"tab"}), store, ["tab"], now_ms=lambda: NOW).send({"type": "x"})
    assert (await store.get_connection("tab") is not None) is kept
