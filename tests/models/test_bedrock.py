"""The Bedrock adapter through the real aioboto3 client, against the ConverseStream stub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import pytest

from adapters.bedrock.config import DEFAULT_MODEL_ID
from adapters.bedrock.model import BedrockChatModel
from adapters.bedrock.plugin import _build
from adapters.inprocess.transport import ConnectionHub
from adapters.registry import BuildContext
from adapters.settings import Settings
from adapters.tools.builtin import CalculateTool, CurrentTimeTool
from core.clock import SystemClock
from core.domain import (
    HistoryItem,
    ModelEvent,
    ModelRequest,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    ToolResult,
    ToolRound,
    UsageReported,
)
from core.errors import (
    ModelError,
    ModelInvalidRequest,
    ModelStreamError,
    ModelThrottled,
    ModelTimeout,
)
from core.services.agent import PLAN_TOOL
from core.services.title import TITLE_PROMPT
from testsupport.stubs.bedrock import BedrockStub, running_bedrock_stub

pytestmark = pytest.mark.anyio

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CALCULATE = CalculateTool.spec
HISTORY = (HistoryItem("user", "Hi, I'm Ana."), HistoryItem("assistant", "Hello Ana!"))


def stub_env(stub: BedrockStub | str, **extra: str) -> dict[str, str]:
    """Dummy credentials (the stub only checks that requests are signed) and its URL."""
    return {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stub if isinstance(stub, str) else stub.url,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": "eu-west-1",
        "AZUCHI_MODEL_RETRY_BASE_MS": "1",
        **extra,
    }


@pytest.fixture
async def stub() -> AsyncIterator[BedrockStub]:
    async with running_bedrock_stub(reply_tokens=40) as running:
        yield running


@asynccontextmanager
async def bedrock(stub: BedrockStub | str, **extra: str) -> AsyncIterator[BedrockChatModel]:
    """The adapter as the plugin's factory builds it."""
    settings = Settings.from_env({"AZUCHI_MODEL": "bedrock", **stub_env(stub, **extra)})
    ctx = BuildContext(settings=settings, clock=SystemClock(), hub=ConnectionHub())
    try:
        yield _build(ctx)
    finally:
        await ctx.resources.aclose()


def ask(prompt: str, **fields: Any) -> ModelRequest:
    return ModelRequest("You are azuchi.", fields.pop("history", HISTORY), prompt, **fields)


async def collect(model: BedrockChatModel, request: ModelRequest) -> list[ModelEvent]:
    async with aclosing(model.stream(request)) as stream:
        return [event async for event in stream]


async def collect_until_error(
    model: BedrockChatModel, request: ModelRequest
) -> tuple[list[ModelEvent], ModelError]:
    seen: list[ModelEvent] = []
    with pytest.raises(ModelError) as raised:
        async with aclosing(model.stream(request)) as stream:
            async for event in stream:
                seen.append(event)
    return seen, raised.value


def text_of(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def cache_points(blocks: list[dict[str, Any]]) -> list[int]:
    return [i for i, block in enumerate(blocks) if "cachePoint" in block]


async def test_a_reply_streams_word_by_word_and_ends_once(stub: BedrockStub) -> None:
    async with bedrock(stub) as model:
        events = await collect(model, ask("Tell me about the castle of Azuchi."))

    assert model.model_id == DEFAULT_MODEL_ID
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 40
    assert text_of(events).startswith('You said: "Tell me about the castle of Azuchi.".')
    assert events[-1] == StreamEnded("end_turn", None)
    assert sum(isinstance(e, StreamEnded) for e in events) == 1
    assert sum(isinstance(e, UsageReported) for e in events) == 1
    (sent,) = stub.requests
    assert sent["inferenceConfig"] == {"maxTokens": 4096}
    assert sent["system"][0] == {"text": "You are azuchi."}
    assert "toolConfig" not in sent


async def test_settings_shape_the_request(stub: BedrockStub) -> None:
    extra = {"AZUCHI_TEMPERATURE": "0.2", "AZUCHI_MAX_OUTPUT_TOKENS": "5"}
    async with bedrock(stub, **extra) as model:
        events = await collect(model, ask("Tell me a long story."))
        title = await collect(model, ask("User: x", purpose="title", max_output_tokens=3))

    assert stub.requests[0]["inferenceConfig"] == {"maxTokens": 5, "temperature": 0.2}
    assert stub.requests[1]["inferenceConfig"]["maxTokens"] == 3  # the smaller limit wins
    assert len([e for e in events if isinstance(e, TextDelta)]) == 5
    assert events[-1] == StreamEnded("max_tokens", None)
    assert len([e for e in title if isinstance(e, TextDelta)]) == 3


async def test_tool_calls_arrive_whole_and_their_results_reach_the_model(
    stub: BedrockStub,
) -> None:
    tools = (PLAN_TOOL, CurrentTimeTool.spec, CALCULATE)
    async with bedrock(stub) as model:
        first = await collect(
            model, ask("Please plan my afternoon and work out 12 * 7", tools=tools)
        )
        calls = [e.call for e in first if isinstance(e, ToolCallRequested)]
        results = (
            ToolResult(calls[0].call_id, "update_plan", "Plan shown to the user."),
            ToolResult(calls[1].call_id, "current_time", "The tool timed out.", is_error=True),
            ToolResult(calls[2].call_id, "calculate", "12 * 7 = 84"),
        )
        rounds = (ToolRound(text_of(first), tuple(calls), results),)
        second = await collect(
            model, ask("Please plan my afternoon and work out 12 * 7", tools=tools, rounds=rounds)
        )

    assert [(c.name, c.arguments) for c in calls] == [
        (
            "update_plan",
            {"steps": ["Read the request", "Look up the current time", "Answer with what I found"]},
        ),
        ("current_time", {}),
        ("calculate", {"expression": "12 * 7"}),
    ]
    assert len({c.call_id for c in calls}) == 3
    assert first[-1] == StreamEnded("tool_use", None)
    tool_names = [t["toolSpec"]["name"] for t in stub.requests[0]["toolConfig"]["tools"][:-1]]
    assert tool_names == ["update_plan", "current_time", "calculate"]
    assert stub.requests[0]["toolConfig"]["tools"][2]["toolSpec"]["inputSchema"] == {
        "json": CALCULATE.parameters
    }

    assistant, results_message = stub.requests[1]["messages"][-2:]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {"text": "Let me work on that."}
    assert [b["toolUse"]["toolUseId"] for b in assistant["content"][1:]] == [
        c.call_id for c in calls
    ]
    assert assistant["content"][3]["toolUse"]["input"] == {"expression": "12 * 7"}
    blocks = [b["toolResult"] for b in results_message["content"] if "toolResult" in b]
    assert [b.get("status") for b in blocks] == [None, "error", None]
    assert blocks[2]["content"] == [{"text": "12 * 7 = 84"}]
    assert "calculate answered: 12 * 7 = 84." in text_of(second)
    assert second[-1] == StreamEnded("end_turn", None)


async def test_the_last_agent_step_keeps_its_rounds_without_offering_tools(
    stub: BedrockStub,
) -> None:
    call = ToolCall("tooluse_abc", "calculate", {"expression": "12 * 7"})
    rounds = (ToolRound("", (call,), (ToolResult("tooluse_abc", "calculate", "12 * 7 = 84"),)),)
    async with bedrock(stub) as model:
        events = await collect(model, ask("What is 12 * 7?", rounds=rounds))  # tools=()

    assert "calculate answered: 12 * 7 = 84." in text_of(events)  # the stub accepted it
    (sent,) = stub.requests
    declared = [t["toolSpec"] for t in sent["toolConfig"]["tools"] if "toolSpec" in t]
    assert [spec["name"] for spec in declared] == ["calculate"]
    assert "Not available" in declared[0]["description"]
    assert sent["messages"][-2]["content"] == [{"toolUse": call_block(call)}]  # blank text left out


def call_block(call: ToolCall) -> dict[str, Any]:
    return {"toolUseId": call.call_id, "name": call.name, "input": call.arguments}


async def test_history_alternates_from_a_user_turn_whatever_memory_holds(
    stub: BedrockStub,
) -> None:
    history = (
        HistoryItem("assistant", "Welcome back."),  # a leading assistant turn is dropped
        HistoryItem("user", "First question"),
        HistoryItem("user", "   "),  # blank: left out
        HistoryItem("user", "and a follow-up"),  # same role: merged
        HistoryItem("assistant", "An answer"),
        HistoryItem("user", "a message that got no reply"),  # merged with the prompt
    )
    async with bedrock(stub) as model:
        events = await collect(model, ask("Now this", history=history))

    assert events[-1] == StreamEnded("end_turn", None)
    messages = stub.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == [{"text": "First question"}, {"text": "and a follow-up"}]
    assert messages[2]["content"] == [
        {"text": "a message that got no reply"},
        {"cachePoint": {"type": "default"}},  # the history ends here; this turn follows
        {"text": "Now this"},
    ]


async def test_cache_points_mark_the_stable_prefix_and_usage_counts_the_cache(
    stub: BedrockStub,
) -> None:
    call = ToolCall("tooluse_1", "calculate", {"expression": "2 + 2"})
    rounds = (ToolRound("", (call,), (ToolResult("tooluse_1", "calculate", "2 + 2 = 4"),)),)
    tools = (CALCULATE,)
    async with bedrock(stub) as model:
        first = await collect(model, ask("What is 2 + 2?", tools=tools, rounds=rounds))
        second = await collect(model, ask("And something else", tools=tools))
        await collect(model, ask("User: title me", history=(), purpose="title"))

    sent = stub.requests[0]
    assert cache_points(sent["system"]) == [1]
    assert cache_points(sent["toolConfig"]["tools"]) == [1]
    messages = sent["messages"]
    assert cache_points(messages[1]["content"]) == [1]  # after "Hello Ana!", the history's end
    assert cache_points(messages[-1]["content"]) == [1]  # after the latest tool results
    assert sum(len(cache_points(m["content"])) for m in messages) == 2
    title = stub.requests[2]
    assert not cache_points(title["system"])
    assert not any(cache_points(m["content"]) for m in title["messages"])

    (written,) = [e.usage for e in first if isinstance(e, UsageReported)]
    (read,) = [e.usage for e in second if isinstance(e, UsageReported)]
    assert written.cache_write_tokens > 0 and written.cache_read_tokens == 0
    assert read.cache_read_tokens > 0  # the same tools, system and history as before
    assert read.input_tokens > 0 and read.output_tokens == 40


async def test_prompt_caching_can_be_switched_off(stub: BedrockStub) -> None:
    async with bedrock(stub, AZUCHI_BEDROCK_PROMPT_CACHE="false") as model:
        events = await collect(model, ask("What is 2 + 2?", tools=(CALCULATE,)))

    sent = str(stub.requests[0])
    assert "cachePoint" not in sent
    (usage,) = [e.usage for e in events if isinstance(e, UsageReported)]
    assert usage.cache_read_tokens == usage.cache_write_tokens == 0


async def test_an_error_in_the_middle_of_the_stream_keeps_what_came_before(
    stub: BedrockStub,
) -> None:
    async with bedrock(stub) as model:
        seen, error = await collect_until_error(model, ask("Tell me a story, then fail"))

    assert isinstance(error, ModelStreamError)
    assert "Bedrock" in str(error) and "interrupted" in str(error)
    assert [type(e) for e in seen] == [TextDelta] * 3
    assert len(stub.requests) == 1  # a reply that had started is never retried


async def test_a_connection_dropped_mid_reply_is_a_stream_error(stub: BedrockStub) -> None:
    async with bedrock(stub) as model:
        seen, error = await collect_until_error(model, ask("Go on, then drop"))

    assert isinstance(error, ModelStreamError)
    assert "connection failed" in str(error)
    assert [type(e) for e in seen] == [TextDelta] * 2
    assert len(stub.requests) == 1


async def test_throttling_before_the_stream_is_retried(stub: BedrockStub) -> None:
    async with bedrock(stub) as model:
        events = await collect(model, ask("throttle me, then answer"))

    assert len(stub.requests) == 3  # throttled twice, then served
    assert stub.requests[0] == stub.requests[2]
    assert text_of(events).startswith('You said: "throttle me, then answer".')
    assert events[-1] == StreamEnded("end_turn", None)


async def test_throttling_that_never_clears_is_model_throttled(stub: BedrockStub) -> None:
    async with bedrock(stub, AZUCHI_MODEL_MAX_RETRIES="1") as model:
        seen, error = await collect_until_error(model, ask("throttle me"))

    assert isinstance(error, ModelThrottled)
    assert str(error).startswith(f"Bedrock is throttling requests to model {DEFAULT_MODEL_ID}")
    assert seen == [] and len(stub.requests) == 2


async def test_a_request_bedrock_refuses_is_invalid_and_not_retried(stub: BedrockStub) -> None:
    async with bedrock(stub, AZUCHI_MAX_OUTPUT_TOKENS="100000") as model:
        _, error = await collect_until_error(model, ask("hello", max_output_tokens=100_000))

    assert isinstance(error, ModelInvalidRequest)
    assert "exceeds the model limit of 64000" in str(error)
    assert len(stub.requests) == 1


async def test_access_denied_says_what_to_do_and_shows_no_secret(stub: BedrockStub) -> None:
    model_id = "us.anthropic.claude-no-access-v1:0"
    async with bedrock(stub, AZUCHI_MODEL_ID=model_id) as model:
        _, error = await collect_until_error(model, ask("hello"))

    assert isinstance(error, ModelInvalidRequest)
    assert str(error).startswith(f"Bedrock denied access to model {model_id}: enable model access")
    assert SECRET not in str(error) and SECRET not in repr(error.__cause__)


async def test_a_stalled_stream_times_out(stub: BedrockStub) -> None:
    async with bedrock(stub, AZUCHI_MODEL_TIMEOUT_S="0.3") as model:
        seen, error = await collect_until_error(model, ask("please stall"))

    assert isinstance(error, ModelTimeout)
    assert "did not answer in time" in str(error)
    assert seen == [] and len(stub.requests) == 1


async def test_the_sdk_finds_the_endpoint_variable_itself(
    stub: BedrockStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in stub_env(stub).items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env({"AZUCHI_MODEL": "bedrock"})  # no AWS variables in it
    ctx = BuildContext(settings=settings, clock=SystemClock(), hub=ConnectionHub())
    try:
        events = await collect(_build(ctx), ask("hello"))
    finally:
        await ctx.resources.aclose()

    assert events[-1] == StreamEnded("end_turn", None)
    assert len(stub.requests) == 1  # botocore itself read AWS_ENDPOINT_URL_BEDROCK_RUNTIME


async def test_a_title_request_gets_a_few_words(stub: BedrockStub) -> None:
    request = ModelRequest(
        TITLE_PROMPT,
        (),
        "User: How do I bake sourdough bread at home?\n\nAssistant: Start with a starter.",
        purpose="title",
        max_output_tokens=24,
    )
    async with bedrock(stub) as model:
        events = await collect(model, request)

    assert text_of(events) == "How do I bake"
    assert stub.requests[0]["inferenceConfig"]["maxTokens"] == 24
