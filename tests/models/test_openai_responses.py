"""The OpenAI Responses adapter, through the real ``openai`` SDK against the stub server."""

from __future__ import annotations

import logging
from contextlib import aclosing

import pytest

from adapters.openai.plugin import build_responses
from adapters.openai.responses import OpenAIResponsesModel
from adapters.openai.streaming import parse_arguments
from adapters.settings import SettingsError
from core.domain import (
    ModelEvent,
    ModelRequest,
    TextDelta,
    ToolCallRequested,
    ToolResult,
    ToolRound,
    UsageReported,
)
from core.errors import ModelStreamError, ModelThrottled, ModelTimeout
from core.services.title import TITLE_PROMPT
from tests.models.support import (
    TOOLS,
    ask,
    build_on,
    collect,
    context,
    end_of,
    openai_fixtures,
    text_of,
)
from testsupport.stubs.openai import OpenAIStub, running_openai_stub

pytestmark = pytest.mark.anyio


stub, model = openai_fixtures(build_responses)


def build(stub: OpenAIStub, **env: str) -> OpenAIResponsesModel:
    return build_on(stub, build_responses, **env)


async def test_a_first_turn_sends_history_and_prompt_and_streams_the_reply(
    stub: OpenAIStub, model: OpenAIResponsesModel
) -> None:
    events = await collect(model, ask("Tell me about castles"))

    assert text_of(events).startswith('You said "Tell me about castles".')
    assert len([e for e in events if isinstance(e, TextDelta)]) == 12  # one word per event
    end = end_of(events)
    assert end.stop_reason == "end_turn"
    assert end.response_id == stub.response_ids[-1]
    (sent,) = stub.requests
    assert sent["instructions"] == "You are azuchi."
    assert sent["input"] == [
        {"role": "user", "content": "Hi, I'm Ana."},
        {"role": "assistant", "content": "Hello Ana!"},
        {"role": "user", "content": "Tell me about castles"},
    ]
    assert sent["store"] is True and sent["stream"] is True
    assert sent["max_output_tokens"] == 4096
    assert "previous_response_id" not in sent and "temperature" not in sent


async def test_the_next_turn_chains_on_the_previous_response_and_sends_no_history(
    stub: OpenAIStub, model: OpenAIResponsesModel
) -> None:
    first = end_of(await collect(model, ask("First question")))
    request = ask("Second question", previous_response_id=first.response_id)

    events = await collect(model, request)

    second = stub.requests[-1]
    assert second["previous_response_id"] == first.response_id
    assert second["input"] == [{"role": "user", "content": "Second question"}]
    assert text_of(events).startswith('You said "Second question".')
    (usage,) = [e.usage for e in events if isinstance(e, UsageReported)]
    assert usage.cache_read_tokens > 0  # the chained context was read from the cache
    assert usage.input_tokens > 0
    assert end_of(events).response_id == stub.response_ids[-1] != first.response_id


async def test_a_gone_previous_response_falls_back_to_the_whole_conversation(
    stub: OpenAIStub, model: OpenAIResponsesModel, caplog: pytest.LogCaptureFixture
) -> None:
    first = end_of(await collect(model, ask("First question")))
    stub.expire(first.response_id or "")
    caplog.set_level(logging.INFO, logger="adapters.openai.responses")

    events = await collect(model, ask("Second question", previous_response_id=first.response_id))

    assert text_of(events).startswith('You said "Second question".')
    assert end_of(events).stop_reason == "end_turn"
    refused, retried = stub.requests[-2:]
    assert refused["previous_response_id"] == first.response_id
    assert "previous_response_id" not in retried
    assert retried["input"][0] == {"role": "user", "content": "Hi, I'm Ana."}
    assert retried["input"][-1] == {"role": "user", "content": "Second question"}
    assert "is gone" in caplog.text


async def test_tool_calls_arrive_whole_and_their_results_go_back_chained(
    stub: OpenAIStub, model: OpenAIResponsesModel
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
    assert len({c.call_id for c in calls}) == 2
    end = end_of(events)
    assert end.stop_reason == "tool_use"
    sent_tools = stub.requests[-1]["tools"]
    assert {t["name"] for t in sent_tools} == {"update_plan", "calculate"}
    assert all(t["type"] == "function" and t["strict"] is False for t in sent_tools)

    results = (
        ToolResult(calls[0].call_id, "update_plan", "Plan shown to the user."),
        ToolResult(calls[1].call_id, "calculate", "12 * 7 = 84"),
    )
    round_ = ToolRound("", tuple(calls), results, end.response_id)
    events = await collect(model, ask("Make a plan, then what is 12 * 7?", rounds=(round_,)))

    sent = stub.requests[-1]
    assert sent["previous_response_id"] == end.response_id
    assert sent["input"] == [
        {
            "type": "function_call_output",
            "call_id": calls[0].call_id,
            "output": "Plan shown to the user.",
        },
        {"type": "function_call_output", "call_id": calls[1].call_id, "output": "12 * 7 = 84"},
    ]
    assert "calculate answered: 12 * 7 = 84." in text_of(events)
    assert end_of(events).stop_reason == "end_turn"


async def test_rounds_without_ids_are_replayed_as_calls_and_outputs(
    stub: OpenAIStub, model: OpenAIResponsesModel
) -> None:
    events = await collect(model, ask("What is 2 + 3?", tools=TOOLS))
    (call,) = [e.call for e in events if isinstance(e, ToolCallRequested)]
    round_ = ToolRound("Let me compute.", (call,), (ToolResult(call.call_id, "calculate", "5"),))

    events = await collect(model, ask("What is 2 + 3?", rounds=(round_,)))

    kinds = [item.get("type", item.get("role")) for item in stub.requests[-1]["input"]]
    assert kinds == [
        "user",
        "assistant",
        "user",
        "assistant",
        "function_call",
        "function_call_output",
    ]
    assert "calculate answered: 5." in text_of(events)


async def test_usage_separates_cached_input_from_fresh_input(
    stub: OpenAIStub, model: OpenAIResponsesModel
) -> None:
    first = end_of(await collect(model, ask("First question")))
    events = await collect(model, ask("Second question", previous_response_id=first.response_id))

    (usage,) = [e.usage for e in events if isinstance(e, UsageReported)]
    sent = stub.usages[-1]
    cached = sent["input_tokens_details"]["cached_tokens"]
    assert cached > 0
    # OpenAI counts cached tokens inside input_tokens; azuchi reports each token once.
    assert usage.cache_read_tokens == cached
    assert usage.input_tokens == sent["input_tokens"] - cached
    assert usage.output_tokens == sent["output_tokens"] > 0


async def test_a_failure_mid_stream_raises_after_the_text_already_streamed(
    stub: OpenAIStub, model: OpenAIResponsesModel
) -> None:
    seen: list[ModelEvent] = []
    with pytest.raises(ModelStreamError, match="OpenAI"):
        async with aclosing(model.stream(ask("Tell me a story, then fail"))) as events:  # type: ignore[type-var]
            async for event in events:
                seen.append(event)

    assert len(seen) == 5 and all(isinstance(e, TextDelta) for e in seen)
    assert len(stub.requests) == 1  # never retried once text was shown


async def test_throttling_before_the_stream_is_retried_until_it_clears(
    stub: OpenAIStub, model: OpenAIResponsesModel
) -> None:
    events = await collect(model, ask("please throttle me"))

    assert [r["input"][-1]["content"] for r in stub.requests] == ["please throttle me"] * 3
    assert text_of(events).startswith('You said "please throttle me".')


async def test_throttling_that_never_clears_is_model_throttled(stub: OpenAIStub) -> None:
    model = build(stub, AZUCHI_MODEL_MAX_RETRIES="1")
    try:
        with pytest.raises(ModelThrottled) as raised:
            await collect(model, ask("throttle forever"))
    finally:
        await model.aclose()

    assert len(stub.requests) == 2
    assert "OpenAI" in str(raised.value) and "429" in str(raised.value)
    assert "sk-stub" not in str(raised.value)


async def test_a_server_that_stalls_past_the_timeout_is_model_timeout() -> None:
    async with running_openai_stub(stall_s=2.0) as stub:
        model = build(stub, AZUCHI_MODEL_TIMEOUT_S="0.3")
        try:
            with pytest.raises(ModelTimeout, match="OpenAI"):
                await collect(model, ask("stall please"))
        finally:
            await model.aclose()


async def test_a_budget_cut_reply_ends_with_max_tokens(
    stub: OpenAIStub, model: OpenAIResponsesModel
) -> None:
    events = await collect(model, ask("A long answer please", max_output_tokens=4))

    assert len(text_of(events).split()) == 4
    assert end_of(events).stop_reason == "max_tokens"
    assert stub.requests[-1]["max_output_tokens"] == 4


async def test_title_requests_are_short_and_not_stored(stub: OpenAIStub) -> None:
    model = build(stub, AZUCHI_MODEL_ID="gpt-4.1-mini")  # not a reasoning model
    request = ModelRequest(
        TITLE_PROMPT,
        (),
        "User: How do I bake sourdough at home?\n\nAssistant: x",
        purpose="title",
        max_output_tokens=24,
    )

    try:
        events = await collect(model, request)
    finally:
        await model.aclose()

    assert text_of(events) == "How do i bake"
    assert stub.requests[-1]["store"] is False
    assert stub.requests[-1]["max_output_tokens"] == 24
    assert "reasoning" not in stub.requests[-1]


async def test_settings_reach_the_request(stub: OpenAIStub) -> None:
    model = build(
        stub,
        AZUCHI_MODEL_ID="gpt-5",
        AZUCHI_TEMPERATURE="0.2",
        AZUCHI_MAX_OUTPUT_TOKENS="100",
        AZUCHI_OPENAI_REASONING_EFFORT="low",
    )
    try:
        await collect(model, ask("hello"))
    finally:
        await model.aclose()

    sent = stub.requests[-1]
    assert (sent["model"], sent["temperature"], sent["max_output_tokens"]) == ("gpt-5", 0.2, 100)
    assert sent["reasoning"] == {"effort": "low"}
    assert model.model_id == "gpt-5"


def test_without_a_key_or_a_base_url_the_adapter_says_what_to_set() -> None:
    ctx = context({})
    with pytest.raises(SettingsError, match="OPENAI_API_KEY"):
        build_responses(ctx)


def test_invalid_json_arguments_become_an_empty_object_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)

    assert parse_arguments('{"expression": "1 +', "calculate", "OpenAI") == {}
    assert parse_arguments("[1, 2]", "calculate", "OpenAI") == {}
    assert parse_arguments('{"expression": "1 + 1"}', "calculate", "OpenAI") == {
        "expression": "1 + 1"
    }
    assert "calculate" in caplog.text and "not JSON" in caplog.text


async def test_a_reasoning_model_gets_room_to_think_before_a_title(stub: OpenAIStub) -> None:
    """gpt-5 models count their reasoning as output: 24 tokens would leave the title empty."""
    model = build(stub, AZUCHI_MODEL_ID="gpt-5-mini")
    request = ModelRequest(
        TITLE_PROMPT, (), "User: sourdough?\n\nAssistant: x", purpose="title", max_output_tokens=24
    )
    try:
        await collect(model, request)
        await collect(model, ask("hello"))
    finally:
        await model.aclose()

    title, reply = stub.requests[-2], stub.requests[-1]
    assert title["max_output_tokens"] >= 1024 and title["reasoning"] == {"effort": "low"}
    assert "reasoning" not in reply  # replies keep the model's own default effort
