"""A model's text that UTF-8 cannot encode (a provider's lone surrogate, in a delta or in a
tool call's arguments) cannot poison a session either: it is shown and stored with U+FFFD."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.domain import (
    ModelEvent,
    ModelRequest,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    Usage,
    UsageReported,
)
from tests.support import Client, running_app, settle

pytestmark = pytest.mark.anyio


class SurrogateModel:
    """Calls a tool with a lone surrogate in its arguments, then answers with another."""

    model_id = "surrogate-test"

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if request.purpose == "reply" and not request.rounds and request.tools:
            args = {"query": "cat \ud800"}
            yield ToolCallRequested(ToolCall("call-1", "search_messages", args))
            yield StreamEnded("tool_use", None)
            return
        yield TextDelta("half an emoji: \ud83d")
        yield TextDelta(" and the rest")
        yield UsageReported(Usage(1, 2))
        yield StreamEnded("end_turn", None)


async def test_lone_surrogates_from_a_model_become_replacement_characters() -> None:
    async with running_app(model=SurrogateModel()) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)
        for text in client.outbox.frames:
            text.encode("utf-8")  # every frame went out
        assert [d["status"] for d in client.of_type("done")] == ["complete"]
        stored = await app.store.last_messages(client.session_id, 10)
        reply = stored[-1]
        assert reply.message == "half an emoji: \ufffd and the rest"
        logs = [m.message for m in stored if m.message_type == "AGENT_LOG"]
        assert logs[0] == '→ search_messages({"query": "cat \ufffd"})'
        # The session is still readable.
        await app.chat.get_messages("c1", {})
        assert client.frames[-1]["type"] == "history"
