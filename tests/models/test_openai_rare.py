"""The rarer things OpenAI-style servers send, for both OpenAI adapters through the real
SDK and the stub: reasoning (summaries, ``reasoning_content``, ``<think>`` tags), refusals,
content filters, ``incomplete``, ``failed`` and ``error`` events in the flat and the nested
shape, errors before and after text, 503s and dropped connections before the first byte (retried),
a drop between events after text (not retried), context errors, unknown union members."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.openai.plugin import build_chat, build_responses
from core.domain import ReasoningDelta
from core.errors import ModelContextExceeded, ModelStreamError
from tests.models.support import ClosableModel, ask, build_on, collect, end_of, text_of, usage_of
from testsupport.stubs.openai import OpenAIStub, running_openai_stub
from testsupport.stubs.openai.script import REASONING, REFUSAL

pytestmark = pytest.mark.anyio

BUILDERS = {"openai": build_responses, "openai-chat": build_chat}


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    async with running_openai_stub(reply_tokens=12) as running:
        yield running


@pytest.fixture(params=sorted(BUILDERS))
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def model(stub: OpenAIStub, adapter: str) -> AsyncIterator[ClosableModel]:
    built = build_on(
        stub, BUILDERS[adapter], AZUCHI_THINK_TAGS="true", AZUCHI_OPENAI_REASONING_SUMMARY="auto"
    )
    yield built
    await built.aclose()


def reasoning_of(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


async def test_reasoning_streams_apart_and_counts_its_tokens(
    model: ClosableModel, stub: OpenAIStub, adapter: str
) -> None:
    events = await collect(model, ask("reason about castles"))
    thought = reasoning_of(events)
    assert " ".join(thought.split()) == REASONING
    assert ("\n\n" in thought) is (adapter == "openai")  # summary parts kept apart
    assert text_of(events).startswith('You said "reason about castles".')
    assert usage_of(events).reasoning_tokens > 0
    if adapter == "openai":
        assert stub.requests[-1]["reasoning"] == {"summary": "auto"}


async def test_think_tags_cut_across_chunks_become_reasoning(stub: OpenAIStub) -> None:
    model = build_on(stub, build_chat, AZUCHI_THINK_TAGS="true")
    try:
        events = await collect(model, ask("use think tags"))
    finally:
        await model.aclose()
    assert reasoning_of(events) == REASONING
    assert text_of(events).startswith('You said "use think tags".')
    assert "<think>" not in text_of(events) and "</think>" not in text_of(events)


async def test_think_tags_stay_text_unless_asked(stub: OpenAIStub) -> None:
    model = build_on(stub, build_chat)
    try:
        events = await collect(model, ask("use think tags"))
    finally:
        await model.aclose()
    assert text_of(events).startswith(f"<think>{REASONING}</think>")


async def test_a_refusal_is_shown_and_says_refusal(model: ClosableModel) -> None:
    events = await collect(model, ask("refuse this"))
    assert text_of(events).strip() == REFUSAL
    assert end_of(events).stop_reason == "refusal"


async def test_a_content_filter_ends_as_content_filtered(model: ClosableModel) -> None:
    events = await collect(model, ask("filtered words"))
    assert end_of(events).stop_reason == "content_filtered"


async def test_a_reply_over_the_output_limit_ends_as_max_tokens(
    stub: OpenAIStub, adapter: str
) -> None:
    model = build_on(stub, BUILDERS[adapter], AZUCHI_MAX_OUTPUT_TOKENS="3")
    try:
        events = await collect(model, ask("tell me a lot"))
    finally:
        await model.aclose()
    assert end_of(events).stop_reason == "max_tokens"


FAILURES = [
    ("openai", "fail"),  # response.failed
    ("openai", "error flat"),  # {"type": "error", "code", "message"} as documented
    ("openai", "error nested"),  # {"type": "error", "error": {...}} as seen from OpenAI
    ("openai-chat", "fail"),  # chat has one shape: a {"error": {...}} payload
]


@pytest.mark.parametrize(("adapter_name", "shape"), FAILURES)
@pytest.mark.parametrize("when", ["first", "later"])
async def test_failures_in_the_stream_raise_in_every_shape(
    stub: OpenAIStub, adapter_name: str, shape: str, when: str
) -> None:
    model = build_on(stub, BUILDERS[adapter_name])
    seen: list[Any] = []
    try:
        with pytest.raises(ModelStreamError, match="An error occurred"):
            async for event in model.stream(ask(f"{shape} {when}")):
                seen.append(event)
    finally:
        await model.aclose()
    assert bool(text_of(seen)) is (when == "later")


async def test_a_failed_response_for_a_long_input_is_a_context_error(stub: OpenAIStub) -> None:
    model = build_on(stub, build_responses)
    try:
        with pytest.raises(ModelContextExceeded):
            await collect(model, ask("overflow fail first"))
    finally:
        await model.aclose()


async def test_a_prompt_over_the_context_is_a_context_error(
    model: ClosableModel, stub: OpenAIStub
) -> None:
    with pytest.raises(ModelContextExceeded, match="maximum context length"):
        await collect(model, ask("this is too long"))
    assert len(stub.requests) == 1  # never retried


@pytest.mark.parametrize("trigger", ["status 503", "drop first"])
async def test_503s_and_dropped_connections_before_any_byte_are_retried(
    model: ClosableModel, stub: OpenAIStub, trigger: str
) -> None:
    events = await collect(model, ask(f"{trigger} please"))
    assert text_of(events).startswith(f'You said "{trigger} please".')
    assert len(stub.requests) == 3


async def test_a_drop_between_events_after_text_is_not_retried(
    model: ClosableModel, stub: OpenAIStub
) -> None:
    seen: list[Any] = []
    with pytest.raises(ModelStreamError):
        async for event in model.stream(ask("cut me off")):
            seen.append(event)
    assert text_of(seen) == "You said "
    assert len(stub.requests) == 1


async def test_unknown_events_and_fields_are_passed_over(model: ClosableModel) -> None:
    events = await collect(model, ask("future stuff"))
    assert text_of(events).startswith('You said "future stuff".')
    assert end_of(events).stop_reason == "end_turn"


async def test_an_empty_stream_over_the_context_is_a_context_error(stub: OpenAIStub) -> None:
    """llama-cpp-python's way: HTTP 200 and no chunk at all; asked again unstreamed with
    max_tokens=1, it says why."""
    model = build_on(stub, build_chat)
    try:
        with pytest.raises(ModelContextExceeded, match="maximum context length"):
            await collect(model, ask("too long quietly"))
    finally:
        await model.aclose()
    assert [r.get("stream") for r in stub.requests] == [True, None]
    assert stub.requests[-1]["max_tokens"] == 1
