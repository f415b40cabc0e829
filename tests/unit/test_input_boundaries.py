"""The edges of what a client may send, as the user meets them: a clientMessageId of 128
characters and a title of 200 are taken, one character more is refused with its code and
nothing is stored (DESIGN §4, docs/protocol.md)."""

from __future__ import annotations

import pytest

from core.config import MAX_TITLE_CHARS
from core.errors import InvalidInput
from core.services.chat import MAX_CLIENT_MESSAGE_ID
from tests.support import Client, running_app, settle

pytestmark = pytest.mark.anyio


async def test_a_client_message_id_of_the_longest_length_is_taken_one_more_is_refused() -> None:
    assert MAX_CLIENT_MESSAGE_ID == 128
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await client.say("hello", clientMessageId="m" * 128)
        await settle(app)
        with pytest.raises(InvalidInput) as refused:
            await client.say("again", clientMessageId="m" * 129)
        assert refused.value.code == "INVALID_CLIENT_MESSAGE_ID"
        with pytest.raises(InvalidInput):
            await client.say("empty id", clientMessageId="")
        stored = await app.store.last_messages(client.session_id, 20)
    users = [m for m in stored if m.role.value == "USER"]
    assert [(m.message, m.client_message_id) for m in users] == [("hello", "m" * 128)]


async def test_a_title_of_the_longest_length_is_taken_one_more_is_refused() -> None:
    assert MAX_TITLE_CHARS == 200
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await app.chat.rename_session("c1", {"title": "t" * 200})
        session = await app.store.get_session(client.session_id)
        assert session is not None and session.title == "t" * 200
        for bad in ("t" * 201, "   ", ""):
            with pytest.raises(InvalidInput) as refused:
                await app.chat.rename_session("c1", {"title": bad})
            assert refused.value.code == "INVALID_TITLE"
        session = await app.store.get_session(client.session_id)
    assert session is not None and session.title == "t" * 200
    assert [f["title"] for f in client.of_type("session")] == ["t" * 200]
