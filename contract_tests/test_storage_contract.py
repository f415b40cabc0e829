"""The storage port's contract (``core.ports.ChatStore``), for every registered adapter."""

from __future__ import annotations

import itertools
import time
from contextlib import AsyncExitStack
from typing import Any

import anyio
import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import Connection, Message, MessageDraft, Role, Session, Usage
from core.errors import TextNotEncodable
from core.ports import ChatStore

pytestmark = pytest.mark.anyio

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

MESSAGE_TTL_DAYS = 3
CONNECTION_TTL_HOURS = 5
SLACK_S = 60  # clock skew and slow backends


@pytest.fixture
async def store(storage_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> ChatStore:
    return await exit_stack.enter_async_context(
        storage_adapter.open(
            message_ttl_days=MESSAGE_TTL_DAYS, connection_ttl_hours=CONNECTION_TTL_HOURS
        )
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def draft(session_id: str, text: str, **fields: Any) -> MessageDraft:
    fields.setdefault("role", Role.USER)
    fields.setdefault("message_type", "CONVERSATION")
    return MessageDraft(session_id=session_id, message=text, **fields)


async def append_texts(store: ChatStore, session_id: str, texts: list[str]) -> list[Message]:
    return [(await store.append_message(draft(session_id, t))).message for t in texts]


# --- sessions -------------------------------------------------------------------------


async def test_created_session_reads_back(store: ChatStore) -> None:
    session = Session(new_id(), created_at=now_ms())
    await store.create_session(session)
    assert await store.get_session(session.session_id) == session


async def test_unknown_session_is_none(store: ChatStore) -> None:
    assert await store.get_session(new_id()) is None


async def test_title_is_set(store: ChatStore) -> None:
    session = Session(new_id(), created_at=now_ms())
    await store.create_session(session)
    await store.set_session_title(session.session_id, "Trip to Kyoto 京都")
    stored = await store.get_session(session.session_id)
    assert stored is not None
    assert stored.title == "Trip to Kyoto 京都"
    assert stored.created_at == session.created_at


async def test_deleted_session_is_gone_with_all_its_messages(store: ChatStore) -> None:
    """deleteSession: the session, its messages (more than one DynamoDB batch) and its
    clientMessageId records go; another session's stay; a repeat is harmless."""
    gone, kept = Session(new_id(), created_at=now_ms()), Session(new_id(), created_at=now_ms())
    for session in (gone, kept):
        await store.create_session(session)
    await append_texts(store, gone.session_id, [f"m{i}" for i in range(30)])
    await store.append_message(draft(gone.session_id, "with id", client_message_id="c1"))
    (other,) = await append_texts(store, kept.session_id, ["stays"])

    await store.delete_session(gone.session_id)

    assert await store.get_session(gone.session_id) is None
    assert await store.messages_after(gone.session_id, None, 100) == []
    assert await store.last_messages(gone.session_id, 10) == []
    still = await store.get_session(kept.session_id)  # its markers moved with its message
    assert still is not None and (still.created_at, still.title) == (kept.created_at, kept.title)
    assert await store.messages_after(kept.session_id, None, 10) == [other]
    # The clientMessageId is free again: a new message with it is stored, not a repeat.
    again = await store.append_message(draft(gone.session_id, "new", client_message_id="c1"))
    assert again.created and again.message.message == "new"
    await store.delete_session(gone.session_id)
    await store.delete_session(new_id())  # unknown: nothing happens


async def test_session_markers_only_move_forward(store: ChatStore) -> None:
    session_id = new_id()
    await store.create_session(Session(session_id, created_at=now_ms()))

    async def markers() -> tuple[int, int, bool]:
        s = await store.get_session(session_id)
        assert s is not None
        return s.last_user_at, s.answered_at, s.has_pending

    await store.record_user_message(session_id, 2_000)
    assert await markers() == (2_000, 0, True)
    await store.record_user_message(session_id, 1_000)  # late and older: ignored
    assert await markers() == (2_000, 0, True)
    await store.record_answered(session_id, 1_500)
    assert await markers() == (2_000, 1_500, True)
    await store.record_answered(session_id, 2_000)
    assert await markers() == (2_000, 2_000, False)
    await store.record_answered(session_id, 1_800)  # a slow, older reply finishing late
    assert await markers() == (2_000, 2_000, False)
    await store.record_user_message(session_id, 3_000)
    assert await markers() == (3_000, 2_000, True)


# --- connections ----------------------------------------------------------------------


async def test_connection_put_get_delete(store: ChatStore) -> None:
    session_id, connection_id = new_id(), new_id()
    connected_at = now_ms()
    await store.put_connection(Connection(connection_id, session_id, connected_at, "user-7"))

    stored = await store.get_connection(connection_id)
    assert stored is not None
    assert (stored.connection_id, stored.session_id) == (connection_id, session_id)
    assert (stored.connected_at, stored.user_id) == (connected_at, "user-7")

    await store.delete_connection(connection_id)
    assert await store.get_connection(connection_id) is None
    assert await store.get_connection(new_id()) is None


async def test_connection_expire_at_is_epoch_seconds(store: ChatStore) -> None:
    connection_id = new_id()
    await store.put_connection(Connection(connection_id, new_id(), now_ms()))
    stored = await store.get_connection(connection_id)
    assert stored is not None and stored.expire_at is not None
    expected = time.time() + CONNECTION_TTL_HOURS * 3_600
    assert abs(stored.expire_at - expected) < SLACK_S


async def test_session_connections_are_that_sessions_only(store: ChatStore) -> None:
    mine, other = new_id(), new_id()
    a, b, c, gone = new_id(), new_id(), new_id(), new_id()
    for connection_id, session_id in ((a, mine), (b, mine), (gone, mine), (c, other)):
        await store.put_connection(Connection(connection_id, session_id, now_ms()))
    await store.delete_connection(gone)

    found = await store.session_connections(mine)
    assert sorted(conn.connection_id for conn in found) == sorted([a, b])
    assert all(conn.session_id == mine for conn in found)
    assert [conn.connection_id for conn in await store.session_connections(other)] == [c]
    assert await store.session_connections(new_id()) == []


# --- messages -------------------------------------------------------------------------


async def test_append_gives_increasing_unique_created_at(store: ChatStore) -> None:
    session_id = new_id()
    before = now_ms()
    texts = [f"message {i}" for i in range(50)]  # a tight loop: many share a millisecond
    appended = await append_texts(store, session_id, texts)

    keys = [m.created_at for m in appended]
    assert all(a < b for a, b in itertools.pairwise(keys))
    assert before - SLACK_S * 1000 < keys[0] < now_ms() + SLACK_S * 1000  # epoch ms
    stored = await store.last_messages(session_id, 100)
    assert [m.message for m in stored] == texts
    assert stored == appended


async def test_concurrent_appends_all_survive_in_order(store: ChatStore) -> None:
    session_id = new_id()
    results: list[Message] = []

    async def append(i: int) -> None:
        result = await store.append_message(draft(session_id, f"concurrent {i}"))
        assert result.created
        results.append(result.message)

    async with anyio.create_task_group() as tg:
        for i in range(200):
            tg.start_soon(append, i)

    stored = await store.messages_after(session_id, None, 500)
    assert len(stored) == 200
    assert {m.message for m in stored} == {f"concurrent {i}" for i in range(200)}
    keys = [m.created_at for m in stored]
    assert all(a < b for a, b in itertools.pairwise(keys))
    # Each append's answer is what the store kept, in the order of the keys it handed out.
    assert stored == sorted(results, key=lambda m: m.created_at)
    assert await store.last_messages(session_id, 200) == stored


async def test_repeated_client_message_id_stores_once(store: ChatStore) -> None:
    session_id = new_id()
    first = await store.append_message(draft(session_id, "hello", client_message_id="c-1"))
    again = await store.append_message(draft(session_id, "hello", client_message_id="c-1"))

    assert first.created and not again.created
    assert again.message == first.message
    assert await store.last_messages(session_id, 10) == [first.message]


async def test_client_message_id_is_per_session(store: ChatStore) -> None:
    one, two = new_id(), new_id()
    a = await store.append_message(draft(one, "in one", client_message_id="same"))
    b = await store.append_message(draft(two, "in two", client_message_id="same"))

    assert a.created and b.created
    assert [m.message for m in await store.last_messages(one, 10)] == ["in one"]
    assert [m.message for m in await store.last_messages(two, 10)] == ["in two"]


async def test_sessions_do_not_share_messages(store: ChatStore) -> None:
    one, two = new_id(), new_id()
    await append_texts(store, one, ["a1", "a2"])
    await append_texts(store, two, ["b1"])
    assert [m.message for m in await store.messages_after(one, None, 10)] == ["a1", "a2"]
    assert [m.message for m in await store.last_messages(two, 10)] == ["b1"]
    assert await store.last_messages(new_id(), 10) == []
    assert await store.messages_after(new_id(), None, 10) == []


async def test_last_messages_are_the_newest_in_order(store: ChatStore) -> None:
    session_id = new_id()
    texts = [f"m{i}" for i in range(7)]
    await append_texts(store, session_id, texts)

    assert [m.message for m in await store.last_messages(session_id, 3)] == texts[-3:]
    assert [m.message for m in await store.last_messages(session_id, 1)] == texts[-1:]
    assert [m.message for m in await store.last_messages(session_id, 100)] == texts


async def test_messages_after_cursor(store: ChatStore) -> None:
    session_id = new_id()
    messages = await append_texts(store, session_id, [f"m{i}" for i in range(7)])
    cursor = messages[2].created_at

    assert await store.messages_after(session_id, cursor, 2) == messages[3:5]
    assert await store.messages_after(session_id, cursor, 100) == messages[3:]
    assert await store.messages_after(session_id, None, 3) == messages[:3]
    assert await store.messages_after(session_id, messages[-1].created_at, 10) == []
    # A cursor between two keys (or before the first) still means "strictly later".
    assert await store.messages_after(session_id, messages[4].created_at - 1, 1) == [messages[4]]
    assert await store.messages_after(session_id, 0, 100) == messages


async def test_unicode_and_large_messages_round_trip(store: ChatStore) -> None:
    session_id = new_id()
    unicode = 'héllo 世界 👩‍👩‍👧 שלום e\u0301 "quotes" \\ back\nnew line\ttab'
    unit = "あé😀x"  # 3 + 2 + 4 + 1 bytes
    big = unit * (16 * 1024 // len(unit.encode()))
    big += "x" * (16 * 1024 - len(big.encode()))
    assert len(big.encode()) == 16 * 1024

    await append_texts(store, session_id, [unicode, big])
    assert [m.message for m in await store.last_messages(session_id, 2)] == [unicode, big]
    assert [m.message for m in await store.messages_after(session_id, None, 2)] == [unicode, big]


async def test_every_message_field_round_trips(store: ChatStore) -> None:
    session_id = new_id()
    user = await store.append_message(
        draft(session_id, "make me a sheet", connection_id=new_id(), client_message_id="c-9")
    )
    full = MessageDraft(
        session_id=session_id,
        role=Role.AGENT,
        message_type="EXCEL",  # a plugin's type: the set of types is open
        message='{"sheet": "Q3"}',
        connection_id=None,
        client_message_id=None,
        reply_id=new_id(),
        reply_to=user.message.created_at,
        status="complete",
        model="azuchi-scripted",
        usage=Usage(
            input_tokens=11,
            output_tokens=22,
            cache_read_tokens=3,
            cache_write_tokens=4,
            reasoning_tokens=5,
        ),
        cost_usd=0.00001234,  # small enough that a float written with an exponent would show
        stop_reason="max_tokens",  # a reply cut short says so after a reload too
        # Server-side state (an APPROVAL request keeps its paused reply here): large, nested
        # JSON with text of every plane must come back byte for byte.
        detail='{"v":1,"text":"京都 🏯 \\u0000","rounds":[' + ",".join(["{}"] * 5000) + "]}",
    )
    result = await store.append_message(full)
    message = result.message

    assert message == Message.from_draft(full, message.created_at, message.expire_at)
    assert await store.last_messages(session_id, 2) == [user.message, message]
    assert await store.messages_after(session_id, user.message.created_at, 5) == [message]
    assert user.message.client_message_id == "c-9" and user.message.role == Role.USER


async def test_message_expire_at_is_epoch_seconds(store: ChatStore) -> None:
    session_id = new_id()
    await append_texts(store, session_id, ["expiring"])
    [stored] = await store.last_messages(session_id, 1)
    assert stored.expire_at is not None
    expected = time.time() + MESSAGE_TTL_DAYS * 86_400
    assert abs(stored.expire_at - expected) < SLACK_S


# --- hostile input: refused with a domain error, nothing stored ----------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"message": "x\ud800y"},
        {"message": "\udfff"},
        {"client_message_id": "\ud800"},
        {"message_type": "CONVERSATION\udc00"},
        {"connection_id": "c\ud83d"},
        {"model": "m\udead"},
    ],
    ids=["message", "message-alone", "clientMessageId", "messageType", "connectionId", "model"],
)
async def test_text_that_cannot_be_encoded_is_refused_and_stores_nothing(
    store: ChatStore, fields: dict[str, Any]
) -> None:
    """A lone surrogate is valid JSON and a valid Python ``str``, but no store may keep it:
    it could never be sent back, and would poison every later read of the session."""
    session_id = new_id()
    fields = dict(fields)  # the same parameters serve every adapter
    text = fields.pop("message", "hello")
    with pytest.raises(TextNotEncodable):
        await store.append_message(draft(session_id, text, **fields))
    assert await store.last_messages(session_id, 10) == []
    # The session takes a good message afterwards, and reads back whole.
    (good,) = await append_texts(store, session_id, ["fine"])
    assert await store.messages_after(session_id, None, 10) == [good]


async def test_a_title_that_cannot_be_encoded_is_refused(store: ChatStore) -> None:
    session = Session(new_id(), created_at=now_ms())
    await store.create_session(session)
    with pytest.raises(TextNotEncodable):
        await store.set_session_title(session.session_id, "bad \ud800 title")
    assert await store.get_session(session.session_id) == session


@pytest.mark.parametrize("cursor", [2**63 - 1, 2**63, 10**38, int("1234567890" * 4)])
async def test_a_cursor_past_every_key_pages_to_nothing(store: ChatStore, cursor: int) -> None:
    """A huge cursor is a page past the end, never a backend error (DynamoDB Numbers stop
    at 38 digits, SQLite's INTEGER at 2**63 - 1)."""
    session_id = new_id()
    await append_texts(store, session_id, ["a", "b"])
    assert await store.messages_after(session_id, cursor, 10) == []
