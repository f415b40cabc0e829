"""The whole app on the OpenAI adapters: two messages in a session, each answered by the
stub through the real SDK, replies streamed and stored, turns chained or replayed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from adapters.bootstrap import App
from core.domain import Message, MessageType, Role
from tests.support import Client, fast_settings, running_app, settle
from testsupport.stubs.openai import OpenAIStub, running_openai_stub

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def app_on(adapter: str) -> AsyncIterator[tuple[App, OpenAIStub]]:
    async with running_openai_stub(reply_tokens=12) as stub:
        settings = fast_settings(AZUCHI_MODEL=adapter, **stub.env())
        async with running_app(settings) as app:
            try:
                yield app, stub
            finally:
                await app.aclose()


async def two_turns(app: App) -> tuple[Client, list[Message]]:
    client = await Client.connect(app, "c1")
    for text in ("Tell me about castles", "And about gardens"):
        await client.say(text)
        await settle(app)
    stored = await app.store.last_messages(client.session_id, 20)
    replies = [
        m for m in stored if m.role is Role.AGENT and m.message_type == MessageType.CONVERSATION
    ]
    return client, replies


def reply_requests(stub: OpenAIStub, key: str) -> list[dict[str, Any]]:
    """The requests for replies, not for the session's title."""
    return [
        r
        for r in stub.requests
        if not str(r.get("instructions") or r.get("messages", [{}])[0].get("content")).startswith(
            "Write a title"
        )
        and key in r
    ]


async def test_openai_replies_stream_are_stored_and_the_second_turn_chains_on_the_first() -> None:
    async with app_on("openai") as (app, stub):
        client, replies = await two_turns(app)

        assert [m.status for m in replies] == ["complete", "complete"]
        assert replies[0].message.startswith('You said "Tell me about castles".')
        assert replies[1].message.startswith('You said "And about gardens".')
        assert replies[1].usage is not None and replies[1].usage.cache_read_tokens > 0
        streamed = "".join(f["text"] for f in client.of_type("delta"))
        assert streamed == replies[0].message + replies[1].message
        assert [d["status"] for d in client.of_type("done")] == ["complete", "complete"]

        first, second = reply_requests(stub, "input")
        assert "previous_response_id" not in first
        assert second["previous_response_id"] == stub.response_ids[0]
        assert second["input"] == [{"role": "user", "content": "And about gardens"}]
        latest = await app.agent_memory.get_previous_response_id(client.session_id)
        assert latest is not None and stub.stored[latest]["last_user"] == "And about gardens"


async def test_openai_chat_replies_are_stored_and_the_second_turn_carries_the_history() -> None:
    async with app_on("openai-chat") as (app, stub):
        client, replies = await two_turns(app)

        assert [m.status for m in replies] == ["complete", "complete"]
        assert replies[1].message.startswith('You said "And about gardens".')
        assert replies[1].usage is not None and replies[1].usage.output_tokens > 0
        assert [d["status"] for d in client.of_type("done")] == ["complete", "complete"]

        _, second = reply_requests(stub, "messages")
        turns = [(m["role"], m["content"]) for m in second["messages"][1:]]
        assert turns == [
            ("user", "Tell me about castles"),
            ("assistant", replies[0].message),
            ("user", "And about gardens"),
        ]
        assert {t["function"]["name"] for t in second["tools"]} >= {"update_plan", "calculate"}


@pytest.mark.parametrize("adapter", ["openai", "openai-chat"])
async def test_titles_come_from_the_title_model_and_replies_from_the_reply_model(
    adapter: str,
) -> None:
    """AZUCHI_TITLE_MODEL_ID: the session's title is asked of the cheaper model, every reply
    of the configured one; the user sees the title either way."""
    async with running_openai_stub(reply_tokens=12) as stub:
        settings = fast_settings(
            AZUCHI_MODEL=adapter,
            AZUCHI_MODEL_ID="big-model",
            AZUCHI_TITLE_MODEL_ID="small-model",
            AZUCHI_TITLES="true",
            **stub.env(),
        )
        async with running_app(settings) as app:
            client = await Client.connect(app, "c1")
            await client.say("Tell me about castles")
            await settle(app)
            session = await app.store.get_session(client.session_id)
            await app.aclose()
    titles = [r for r in stub.requests if r not in reply_requests(stub, "model")]
    replies = reply_requests(stub, "model")
    assert replies and {r["model"] for r in replies} == {"big-model"}
    assert titles and {r["model"] for r in titles} == {"small-model"}
    assert session is not None and session.title
    assert any(f["type"] == "session" and f["title"] == session.title for f in client.frames)
