"""The chat-completions adapter (Ollama, vLLM, llama.cpp, OpenAI), through the real
``openai`` SDK against the stub server."""

from __future__ import annotations

from contextlib import aclosing

import pytest

from adapters.openai.chat import OpenAIChatModel
from adapters.openai.plugin import build_chat
from core.domain import (
    ModelEvent,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    ToolResult,
    ToolRound,
)
from core.errors import ModelInvalidRequest, ModelStreamError, ModelThrottled, ModelTimeout
from core.services.history import estimate_tokens
from tests.models.support import (
    TOOLS,
    ask,
    build_on,
    collect,
    context,
    end_of,
    openai_fixtures,
    text_of,
    usage_of,
)
from testsupport.stubs.openai import OpenAIStub, running_openai_stub

pytestmark = pytest.mark.anyio


stub, model = openai_fixtures(build_chat)


def build(stub: OpenAIStub, **env: str) -> OpenAIChatModel:
    return build_on(stub, build_chat, **env)


async def test_every_turn_sends_system_history_and_prompt(
    stub: OpenAIStub, model: OpenAIChatModel
) -> None:
    events = await collect(model, ask("Second question"))

    assert text_of(events).startswith('You said "Second question".')
    end = end_of(events)
    assert (end.stop_reason, end.response_id) == ("end_turn", None)
    (sent,) = stub.requests
    assert sent["messages"] == [
        {"role": "system", "content": "You are azuchi."},
        {"role": "user", "content": "Hi, I'm Ana."},
        {"role": "assistant", "content": "Hello Ana!"},
        {"role": "user", "content": "Second question"},
    ]
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["max_tokens"] == 4096
    assert "tools" not in sent and "temperature" not in sent


async def test_usage_comes_from_the_server_when_it_sends_it(
    stub: OpenAIStub, model: OpenAIChatModel
) -> None:
    usage = usage_of(await collect(model, ask("hello")))

    sent = stub.usages[-1]
    assert (usage.input_tokens, usage.output_tokens) == (
        sent["prompt_tokens"],
        sent["completion_tokens"],
    )


async def test_usage_is_estimated_when_the_server_sends_none() -> None:
    async with running_openai_stub(reply_tokens=12, omit_usage=True) as stub:
        model = build(stub)
        try:
            events = await collect(model, ask("hello"))
        finally:
            await model.aclose()

    assert stub.usages == []
    usage = usage_of(events)
    sent_chars = len("You are azuchi.Hi, I'm Ana.Hello Ana!hello")
    assert usage.input_tokens == estimate_tokens("x" * sent_chars)
    assert usage.output_tokens == estimate_tokens(text_of(events))


async def test_tool_calls_are_assembled_from_fragments(
    stub: OpenAIStub, model: OpenAIChatModel
) -> None:
    events = await collect(model, ask("Make a plan, then what is 12 * 7?", tools=TOOLS))

    calls = [e.call for e in events if isinstance(e, ToolCallRequested)]
    assert [(c.name, c.arguments) for c in calls] == [
        (
            "update_plan",
            {"steps": ["Read the request", "Look up the current time", "Answer with what I found"]},
        ),
        ("calculate", {"expression": "12 * 7"}),
    ]
    assert all(c.call_id.startswith("call_") for c in calls)
    assert end_of(events).stop_reason == "tool_use"
    assert [t["function"]["name"] for t in stub.requests[-1]["tools"]] == [
        "update_plan",
        "calculate",
    ]


def _calc_round() -> ToolRound:
    call = ToolCall("call_1", "calculate", {"expression": "12 * 7"})
    return ToolRound(
        "Let me compute.", (call,), (ToolResult("call_1", "calculate", "12 * 7 = 84"),)
    )


async def test_tool_results_go_back_as_tool_messages_after_the_calls(
    stub: OpenAIStub, model: OpenAIChatModel
) -> None:
    events = await collect(model, ask("What is 12 * 7?", tools=TOOLS, rounds=(_calc_round(),)))

    sent = stub.requests[-1]["messages"]
    assert sent[-2] == {
        "role": "assistant",
        "content": "Let me compute.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "calculate", "arguments": '{"expression": "12 * 7"}'},
            }
        ],
    }
    assert sent[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "12 * 7 = 84"}
    assert "calculate answered: 12 * 7 = 84." in text_of(events)


async def test_the_last_step_declares_the_used_tools_but_forbids_calling_them(
    stub: OpenAIStub, model: OpenAIChatModel
) -> None:
    # The agent's last step offers no tools; the stub, like some servers, refuses tool
    # messages unless tools are declared.
    events = await collect(model, ask("What is 12 * 7?", rounds=(_calc_round(),)))

    sent = stub.requests[-1]
    assert sent["tool_choice"] == "none"
    assert [t["function"]["name"] for t in sent["tools"]] == ["calculate"]
    assert "calculate answered: 12 * 7 = 84." in text_of(events)
    assert not any(isinstance(e, ToolCallRequested) for e in events)


async def test_a_failure_mid_stream_raises_after_the_text_already_streamed(
    stub: OpenAIStub, model: OpenAIChatModel
) -> None:
    seen: list[ModelEvent] = []
    with pytest.raises(ModelStreamError, match="chat-completions server"):
        async with aclosing(model.stream(ask("Tell me a story, then fail"))) as events:  # type: ignore[type-var]
            async for event in events:
                seen.append(event)

    assert len(seen) == 5 and all(isinstance(e, TextDelta) for e in seen)
    assert len(stub.requests) == 1


async def test_throttling_is_retried_and_then_gives_up_as_model_throttled(stub: OpenAIStub) -> None:
    model = build(stub, AZUCHI_MODEL_MAX_RETRIES="1")
    try:
        with pytest.raises(ModelThrottled, match="429"):
            await collect(model, ask("throttle me"))
        events = await collect(model, ask("throttle me"))  # the stub's third answer succeeds
    finally:
        await model.aclose()

    assert len(stub.requests) == 3
    assert text_of(events).startswith('You said "throttle me".')


async def test_a_server_that_stalls_past_the_timeout_is_model_timeout() -> None:
    async with running_openai_stub(stall_s=2.0) as stub:
        model = build(stub, AZUCHI_MODEL_TIMEOUT_S="0.3")
        try:
            with pytest.raises(ModelTimeout):
                await collect(model, ask("stall please"))
        finally:
            await model.aclose()


async def test_a_rejected_request_is_model_invalid_request(
    stub: OpenAIStub, model: OpenAIChatModel
) -> None:
    call = ToolCall("call_1", "calculate", {"expression": "1 + 1"})
    orphan = ToolRound("", (call,), (ToolResult("call_9", "calculate", "2"),))

    with pytest.raises(ModelInvalidRequest, match="HTTP 400"):
        await collect(model, ask("What is 1 + 1?", tools=TOOLS, rounds=(orphan,)))
    assert len(stub.requests) == 1  # a rejected request is not retried


async def test_a_budget_cut_reply_ends_with_max_tokens_in_the_configured_field(
    stub: OpenAIStub,
) -> None:
    model = build(stub, AZUCHI_OPENAI_MAX_TOKENS_FIELD="max_completion_tokens")
    try:
        events = await collect(model, ask("A long answer please", max_output_tokens=3))
    finally:
        await model.aclose()

    assert stub.requests[-1]["max_completion_tokens"] == 3
    assert "max_tokens" not in stub.requests[-1]
    assert len(text_of(events).split()) == 3
    assert end_of(events).stop_reason == "max_tokens"


async def test_no_api_key_is_needed_for_a_local_server(stub: OpenAIStub) -> None:
    env = {k: v for k, v in stub.env().items() if k != "OPENAI_API_KEY"}
    model = build_chat(context(env))
    try:
        events = await collect(model, ask("hello"))
    finally:
        await model.aclose()

    assert model.model_id == "llama3.2"
    assert end_of(events).stop_reason == "end_turn"
