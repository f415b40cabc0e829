"""The whole app with ``AZUCHI_MODEL=bedrock`` against the ConverseStream stub, everything
else in memory: a user's messages get streamed, stored replies, tools and a title."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import pytest

from adapters.bedrock.config import DEFAULT_MODEL_ID
from adapters.bedrock.model import BedrockChatModel
from adapters.bootstrap import App
from core.domain import Message, Role
from tests.models.test_bedrock import stub_env
from tests.support import Client, fast_settings, running_app, settle
from testsupport.stubs.bedrock import BedrockStub, running_bedrock_stub

pytestmark = pytest.mark.anyio


@pytest.fixture
async def stub() -> AsyncIterator[BedrockStub]:
    async with running_bedrock_stub(reply_tokens=30) as running:
        yield running


def chat(stub: BedrockStub, **env: str) -> AbstractAsyncContextManager[App]:
    return running_app(fast_settings(AZUCHI_MODEL="bedrock", **stub_env(stub), **env))


def conversation(messages: list[Message]) -> list[tuple[str, str]]:
    return [(m.role.value, m.message) for m in messages if m.message_type == "CONVERSATION"]


async def test_a_chat_streams_stores_titles_and_carries_history(stub: BedrockStub) -> None:
    async with chat(stub) as app:
        assert isinstance(app.model, BedrockChatModel)
        user = await Client.connect(app, "conn-bedrock-1")
        await user.say("Tell me about castles", clientMessageId="m-1")
        await settle(app)
        await user.say("And about temples", clientMessageId="m-2")
        await settle(app)
        stored = await app.store.last_messages(user.session_id, 10)
        session = await app.store.get_session(user.session_id)
        await app.aclose()

    first_reply = next(m for m in stored if m.role is Role.AGENT)
    assert first_reply.message.startswith('You said: "Tell me about castles".')
    assert len(first_reply.message.split()) == 30
    assert first_reply.status == "complete" and first_reply.model == DEFAULT_MODEL_ID
    assert first_reply.usage is not None and first_reply.usage.output_tokens == 30
    deltas = [f["text"] for f in user.of_type("delta") if f["replyId"] == first_reply.reply_id]
    assert "".join(deltas) == first_reply.message
    assert session is not None and session.title == "Tell me about castles"

    assert [role for role, _ in conversation(stored)] == ["USER", "AGENT"] * 2
    second_turn = next(r for r in stub.requests if "And about temples" in str(r["messages"][-1]))
    sent = [(m["role"], [b.get("text") for b in m["content"]]) for m in second_turn["messages"]]
    assert sent == [
        ("user", ["Tell me about castles"]),
        ("assistant", [first_reply.message, None]),  # None: the cache point after the history
        ("user", ["And about temples"]),
    ]


async def test_a_tool_call_runs_and_the_last_step_answers_with_its_result(
    stub: BedrockStub,
) -> None:
    async with chat(stub, AZUCHI_MAX_AGENT_STEPS="2", AZUCHI_TITLES="false") as app:
        user = await Client.connect(app, "conn-bedrock-2")
        await user.say("What is 12 * 7?")
        await settle(app)
        stored = await app.store.last_messages(user.session_id, 10)
        await app.aclose()

    (reply,) = [m for m in stored if m.role is Role.AGENT and m.message_type == "CONVERSATION"]
    assert reply.status == "complete"
    assert "calculate answered: 12 * 7 = 84." in reply.message
    assert "toolConfig" in stub.requests[1]  # the last step: rounds kept, tools not offered
    logs = [m.message for m in stored if m.message_type == "AGENT_LOG"]
    assert any("12 * 7" in text for text in logs)
