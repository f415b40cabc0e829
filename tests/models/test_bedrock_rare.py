"""The rarer things a real ConverseStream sends, through the real aioboto3 client and the
stub: reasoning (signed and redacted) and its return in tool follow-ups, citations, every
stop reason, errors before and inside the stream, drops between frames, unknown events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.tools.builtin import CalculateTool
from core.domain import ReasoningDelta, StreamEnded, ToolCallRequested, ToolResult, ToolRound
from core.errors import ModelContextExceeded, ModelStreamError
from core.services.agent import PLAN_TOOL, ThinkingBlocks
from tests.models.support import collect, end_of, text_of
from tests.models.test_bedrock import ask, bedrock, stub_env
from tests.support import Client, fast_settings, running_app, settle
from testsupport.stubs.bedrock import SIGNATURE, BedrockStub, running_bedrock_stub

pytestmark = pytest.mark.anyio


@pytest.fixture
async def stub() -> AsyncIterator[BedrockStub]:
    async with running_bedrock_stub(reply_tokens=12) as running:
        yield running


def thoughts(events: list[object]) -> list[ReasoningDelta]:
    return [e for e in events if isinstance(e, ReasoningDelta)]


async def test_reasoning_streams_apart_from_the_text_with_its_signature(stub: BedrockStub) -> None:
    async with bedrock(stub) as model:
        events = await collect(model, ask("reason about castles"))
    pieces = thoughts(events)
    assert "".join(p.text for p in pieces) == "The user wrote 3 words; I will answer briefly."
    assert pieces[-1].signature == SIGNATURE
    assert text_of(events).startswith('You said: "reason about castles".')


async def test_a_redacted_block_arrives_as_bytes(stub: BedrockStub) -> None:
    async with bedrock(stub) as model:
        events = await collect(model, ask("redact this"))
    (redacted,) = [p for p in thoughts(events) if p.redacted is not None]
    assert redacted.redacted == b"\x00encrypted-thinking\xff" and not redacted.text


async def test_citations_and_unknown_events_leave_the_text_whole(stub: BedrockStub) -> None:
    async with bedrock(stub) as model:
        events = await collect(model, ask("cite a future source"))
    assert text_of(events).startswith('You said: "cite a future source".')
    assert end_of(events).stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("reason", "normalised"),
    [
        ("guardrail_intervened", "guardrail"),
        ("content_filtered", "content_filtered"),
        ("model_context_window_exceeded", "context_window"),
        ("stop_sequence", "stop_sequence"),
        ("max_tokens", "max_tokens"),
        ("brand_new_reason", "incomplete"),
    ],
)
async def test_every_stop_reason_is_normalised(
    stub: BedrockStub, reason: str, normalised: str
) -> None:
    async with bedrock(stub) as model:
        events = await collect(model, ask(f"please stop:{reason}"))
    assert end_of(events).stop_reason == normalised


@pytest.mark.parametrize("trigger", ["unready", "status 503", "status 424", "fail first"])
async def test_errors_before_any_text_are_retried(stub: BedrockStub, trigger: str) -> None:
    async with bedrock(stub) as model:
        events = await collect(model, ask(f"{trigger} now"))
    assert text_of(events).startswith(f'You said: "{trigger} now".')
    assert len(stub.requests) == 3  # refused twice, then answered


async def test_a_prompt_over_the_context_is_a_context_error(stub: BedrockStub) -> None:
    async with bedrock(stub) as model:
        with pytest.raises(ModelContextExceeded, match="too long"):
            await collect(model, ask("this is too long"))
    assert len(stub.requests) == 1  # never retried


async def test_a_drop_between_frames_after_text_fails_the_stream(stub: BedrockStub) -> None:
    async with bedrock(stub) as model:
        seen: list[object] = []
        with pytest.raises(ModelStreamError):
            async for event in model.stream(ask("cut me off")):
                seen.append(event)
    assert text_of(seen) == "You said: "  # type: ignore[arg-type]
    assert len(stub.requests) == 1  # text had reached the user: no retry


async def test_extended_thinking_goes_back_in_tool_follow_ups(stub: BedrockStub) -> None:
    env = {"AZUCHI_THINKING_BUDGET_TOKENS": "2048", "AZUCHI_MAX_OUTPUT_TOKENS": "8000"}
    tools = (PLAN_TOOL, CalculateTool.spec)
    async with bedrock(stub, **env) as model:
        first = await collect(model, ask("what is 12 * 7", tools=tools))
        (call,) = [e.call for e in first if isinstance(e, ToolCallRequested)]
        pieces = thoughts(first)
        thinking = ThinkingBlocks()
        for piece in pieces:
            thinking.add(piece)
        result = ToolResult(call.call_id, call.name, "12 * 7 = 84")
        with_thinking = ToolRound("", (call,), (result,), None, thinking.blocks())
        second = await collect(model, ask("what is 12 * 7", tools=tools, rounds=(with_thinking,)))
        assert "calculate answered: 12 * 7 = 84" in text_of(second)
        # Without the block Claude (and so the stub) refuses the follow-up.
        bare = ToolRound("", (call,), (result,))
        with pytest.raises(Exception, match="thinking"):
            await collect(model, ask("what is 12 * 7", tools=tools, rounds=(bare,)))
    sent = stub.requests[1]
    assert sent["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }
    assistant = sent["messages"][-2]["content"]
    assert assistant[0]["reasoningContent"]["reasoningText"]["signature"] == SIGNATURE
    assert isinstance(end_of(second), StreamEnded)


async def test_the_agent_answers_with_thinking_and_tools_end_to_end(stub: BedrockStub) -> None:
    env = stub_env(stub, AZUCHI_THINKING_BUDGET_TOKENS="2048", AZUCHI_MAX_OUTPUT_TOKENS="8000")
    async with running_app(
        fast_settings(AZUCHI_MODEL="bedrock", AZUCHI_TITLES="false", **env)
    ) as app:
        client = await Client.connect(app, "c1")
        await client.say("what is 12 * 7")
        await settle(app)
        (done,) = client.of_type("done")
        assert done["status"] == "complete" and done["stopReason"] == "end_turn"
        kinds = [
            (f["messageType"], f["message"])
            for f in client.of_type("message")
            if f["role"] == "AGENT"
        ]
        assert ("AGENT_LOG", "← calculate: 12 * 7 = 84") in kinds
        assert kinds[-2][0] == "REASONING" and "I will answer briefly." in kinds[-2][1]
        assert "calculate answered: 12 * 7 = 84" in kinds[-1][1]
