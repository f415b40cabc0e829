"""The chat service's flows, on the in-memory stack."""

from __future__ import annotations

import pytest

from core.errors import (
    ConnectionNotFound,
    InvalidInput,
    InvalidSessionId,
    MessageRejected,
    SessionNotFound,
)
from core.protocol import encoded_size
from tests.support import Client, running_app, settle

pytestmark = pytest.mark.anyio


async def test_connect_without_session_starts_one_with_a_uuid4() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        session = await app.store.get_session(client.session_id)
        assert session is not None and session.title is None
        assert (await app.store.get_connection("c1")).session_id == client.session_id  # type: ignore[union-attr]


async def test_connect_refuses_malformed_and_unknown_session_ids() -> None:
    async with running_app() as app:
        with pytest.raises(InvalidSessionId):
            await app.chat.connect("c1", "not-a-uuid")
        with pytest.raises(InvalidSessionId):  # a UUID, but not a v4 one azuchi makes
            await app.chat.connect("c1", "00000000-0000-1000-8000-000000000000")
        with pytest.raises(SessionNotFound):
            await app.chat.connect("c1", "3f1c1f0e-8a4b-4c1e-9d2a-1b2c3d4e5f60")
        assert await app.store.get_connection("c1") is None


async def test_second_tab_joins_the_same_session() -> None:
    async with running_app() as app:
        first = await Client.connect(app, "c1")
        second = await Client.connect(app, "c2", first.session_id.upper())
        assert second.session_id == first.session_id
        await first.say("hello")
        await settle(app)
        assert second.of_type("done") and first.of_type("done")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({}, "MESSAGE_REQUIRED"),
        ({"message": ""}, "MESSAGE_EMPTY"),
        ({"message": "   \n"}, "MESSAGE_EMPTY"),
        ({"message": 42}, "MESSAGE_NOT_STRING"),
        ({"message": ["hi"]}, "MESSAGE_NOT_STRING"),
        ({"message": "é" * 8193}, "MESSAGE_TOO_LARGE"),  # 16,386 bytes in UTF-8
        ({"message": "hi", "clientMessageId": 7}, "INVALID_CLIENT_MESSAGE_ID"),
        ({"message": "hi", "clientMessageId": "x" * 129}, "INVALID_CLIENT_MESSAGE_ID"),
    ],
)
async def test_bad_put_message_is_refused_and_stores_nothing(frame: dict, code: str) -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        with pytest.raises(InvalidInput) as caught:
            await app.chat.put_message("c1", frame)
        assert caught.value.code == code
        assert await app.store.last_messages(client.session_id, 10) == []


async def test_message_exactly_at_the_size_limit_is_accepted() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await client.say("a" * 16 * 1024)
        await settle(app)
        stored = await app.store.last_messages(client.session_id, 10)
        assert stored[0].message == "a" * 16 * 1024


async def test_put_message_for_another_session_is_refused() -> None:
    async with running_app() as app:
        await Client.connect(app, "c1")
        other = await Client.connect(app, "c2")
        with pytest.raises(InvalidInput) as caught:
            await app.chat.put_message("c1", {"message": "hi", "sessionId": other.session_id})
        assert caught.value.code == "SESSION_MISMATCH"


async def test_frames_from_unknown_connections_are_refused() -> None:
    async with running_app() as app:
        with pytest.raises(ConnectionNotFound):
            await app.chat.put_message("ghost", {"message": "hi"})


async def test_a_retried_message_is_stored_and_answered_once() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await client.say("hello", clientMessageId="m-1")
        await client.say("hello", clientMessageId="m-1")
        await settle(app)
        stored = await app.store.last_messages(client.session_id, 50)
        assert [m.role.value for m in stored if m.message_type == "CONVERSATION"] == [
            "USER",
            "AGENT",
        ]
        echoes = [f for f in client.of_type("message") if f["role"] == "USER"]
        assert len(echoes) == 2 and echoes[0]["createdAt"] == echoes[1]["createdAt"]


async def test_get_messages_pages_under_the_frame_limit_without_duplicates() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        for i in range(20):  # 20 × 16 KB: must not fit one 128 KB frame
            draft_text = f"{i:02d}" + "x" * (16 * 1024 - 2)
            await app.store.append_message(_user(client.session_id, draft_text))
        seen, cursor = [], None
        for _ in range(10):
            frame: dict = {"limit": 200} if cursor is None else {"after": cursor, "limit": 200}
            await app.chat.get_messages("c1", frame)
            history = client.of_type("history")[-1]
            assert encoded_size(history) <= 128 * 1024
            seen += [m["message"][:2] for m in history["messages"]]
            cursor = history["next"]
            if cursor is None:
                break
        assert seen == [f"{i:02d}" for i in range(20)]
        assert len(client.of_type("history")) > 1


async def test_get_messages_after_a_cursor_returns_only_later_messages() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await client.say("first")
        await settle(app)
        first = (await app.store.last_messages(client.session_id, 50))[0]
        await app.chat.get_messages("c1", {"after": first.created_at})
        history = client.of_type("history")[-1]
        assert history["messages"] and all(
            m["createdAt"] > first.created_at for m in history["messages"]
        )
        assert "first" not in [m["message"] for m in history["messages"]]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"after": "yesterday"}, "INVALID_CURSOR"),
        ({"after": -1}, "INVALID_CURSOR"),
        ({"after": True}, "INVALID_CURSOR"),
        ({"limit": 0}, "INVALID_LIMIT"),
        ({"limit": 201}, "INVALID_LIMIT"),
        ({"limit": "10"}, "INVALID_LIMIT"),
    ],
)
async def test_bad_get_messages_is_refused(frame: dict, code: str) -> None:
    async with running_app() as app:
        await Client.connect(app, "c1")
        with pytest.raises(InvalidInput) as caught:
            await app.chat.get_messages("c1", frame)
        assert caught.value.code == code


async def test_errors_reach_the_client_as_error_frames() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await app.chat.report("c1", MessageRejected("The message is empty.", code="MESSAGE_EMPTY"))
        (frame,) = client.of_type("error")
        assert frame == {
            "type": "error",
            "sessionId": client.session_id,
            "code": "MESSAGE_EMPTY",
            "message": "The message is empty.",
        }


def _user(session_id: str, text: str):  # type: ignore[no-untyped-def]
    from core.domain import MessageDraft, Role

    return MessageDraft(session_id, Role.USER, "CONVERSATION", text)


async def test_a_refused_put_message_error_names_the_client_message_id() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        frame = {"action": "putMessage", "message": "", "clientMessageId": "m-9"}
        with pytest.raises(InvalidInput) as caught:
            await app.chat.put_message("c1", frame)
        await app.chat.report("c1", caught.value, frame)
        (error,) = client.of_type("error")
        assert error["clientMessageId"] == "m-9" and error["action"] == "putMessage"


async def test_loading_the_conversation_also_sends_its_title() -> None:
    async with running_app() as app:
        first = await Client.connect(app, "c1")
        await first.say("castles of japan")
        await settle(app)
        other_device = await Client.connect(app, "c2", first.session_id)
        await app.chat.get_messages("c2", {})
        kinds = [f["type"] for f in other_device.frames]
        assert kinds == ["session", "history"]
        assert other_device.frames[0]["title"] == "Castles of japan"
        await app.chat.get_messages("c2", {"after": 1})  # paging on: no title again
        assert [f["type"] for f in other_device.frames][2:] == ["history"]
