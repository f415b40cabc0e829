"""The model port's contract (``core.ports.ChatModel``), for every registered adapter.

Each adapter's provider says which prompt makes its model call a tool and which makes it
fail; the suite checks what the agent loop relies on.
"""

from __future__ import annotations

from contextlib import AsyncExitStack, aclosing

import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import ModelRig, contract_tools
from core.config import DEFAULT_SYSTEM_PROMPT
from core.domain import (
    HistoryItem,
    ModelEvent,
    ModelRequest,
    ReasoningDelta,
    StopReason,
    StreamEnded,
    TextDelta,
    ToolCallRequested,
    ToolResult,
    ToolRound,
    ToolSpec,
    UsageReported,
)
from core.errors import ModelError
from core.ports import ChatModel
from core.services.title import TITLE_PROMPT, clean_title

pytestmark = pytest.mark.anyio

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

EVENT_TYPES = (TextDelta, ReasoningDelta, ToolCallRequested, UsageReported, StreamEnded)
STOP_REASONS = {reason.value for reason in StopReason}


@pytest.fixture
async def rig(model_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> ModelRig:
    return await exit_stack.enter_async_context(model_adapter.open())


def request(prompt: str, tools: tuple[ToolSpec, ...] = ()) -> ModelRequest:
    history = (HistoryItem("user", "Hi, I'm Ana."), HistoryItem("assistant", "Hello Ana!"))
    return ModelRequest(DEFAULT_SYSTEM_PROMPT, history, prompt, tools=tools)


async def collect(model: ChatModel, req: ModelRequest) -> list[ModelEvent]:
    async with aclosing(model.stream(req)) as stream:  # type: ignore[type-var]
        return [event async for event in stream]


def assert_well_formed(events: list[ModelEvent]) -> StreamEnded:
    assert all(isinstance(e, EVENT_TYPES) for e in events), events
    ends = [e for e in events if isinstance(e, StreamEnded)]
    assert len(ends) == 1, f"expected exactly one StreamEnded, got {ends}"
    assert events[-1] is ends[0], "StreamEnded must be the last event"
    assert ends[0].stop_reason in STOP_REASONS, f"{ends[0].stop_reason!r} is not a StopReason"
    return ends[0]


async def test_model_has_an_id(rig: ModelRig) -> None:
    assert isinstance(rig.model.model_id, str) and rig.model.model_id


async def test_reply_streams_text_then_ends_once(rig: ModelRig) -> None:
    events = await collect(rig.model, request("Tell me about the castle of Azuchi."))

    end = assert_well_formed(events)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas and "".join(deltas).strip()
    assert all(isinstance(text, str) for text in deltas)
    assert end.stop_reason == "end_turn"
    assert end.response_id is None or (isinstance(end.response_id, str) and end.response_id)
    assert not any(isinstance(e, ToolCallRequested) for e in events)  # no tools offered


async def test_usage_is_reported(rig: ModelRig) -> None:
    events = await collect(rig.model, request("Say something short."))

    assert_well_formed(events)
    usages = [e.usage for e in events if isinstance(e, UsageReported)]
    assert usages, "a reply must report its usage"
    assert sum(u.input_tokens for u in usages) > 0
    assert sum(u.output_tokens for u in usages) > 0


async def test_tool_prompts_yield_tool_calls(rig: ModelRig) -> None:
    tools = contract_tools()
    specs = {spec.name: spec for spec in tools}
    for tool_prompt in rig.tool_prompts:
        events = await collect(rig.model, request(tool_prompt.prompt, tools=tools))

        end = assert_well_formed(events)
        calls = [e.call for e in events if isinstance(e, ToolCallRequested)]
        names = {call.name for call in calls}
        assert tool_prompt.expected_tools <= names, (tool_prompt.prompt, calls)
        assert names <= set(specs), f"called a tool it was not offered: {names - set(specs)}"
        assert len({call.call_id for call in calls}) == len(calls), "call ids must be unique"
        for call in calls:
            assert isinstance(call.call_id, str) and call.call_id
            assert isinstance(call.arguments, dict)
            required = set(specs[call.name].parameters.get("required", []))
            assert required <= set(call.arguments), (call.name, call.arguments)
        assert end.stop_reason == "tool_use"


@pytest.mark.parametrize("tools_offered", [True, False], ids=["next-step", "last-step"])
async def test_tool_results_lead_to_an_answer_that_uses_them(
    rig: ModelRig, tools_offered: bool
) -> None:
    """The agent's second step: the calls and their results go back, an answer comes out.
    On the agent's last step no tools are offered, yet the rounds must still be accepted."""
    tools = contract_tools()
    first = request(rig.tool_prompts[-1].prompt, tools=tools)
    events = await collect(rig.model, first)
    calls = tuple(e.call for e in events if isinstance(e, ToolCallRequested))
    end = assert_well_formed(events)
    assert calls, "the tool prompt must make the model call a tool"
    marker = "4219"  # a result the model could not have made up
    results = tuple(ToolResult(c.call_id, c.name, f"result {marker}") for c in calls)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    follow_up = ModelRequest(
        first.system,
        first.history,
        first.prompt,
        tools=tools if tools_offered else (),
        rounds=(ToolRound(text, calls, results, end.response_id),),
        previous_response_id=first.previous_response_id,
    )
    events = await collect(rig.model, follow_up)

    end = assert_well_formed(events)
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert end.stop_reason == "end_turn"
    assert not any(isinstance(e, ToolCallRequested) for e in events)
    assert marker in answer, f"the answer should use the tool's result: {answer!r}"


async def test_title_request_yields_short_text(rig: ModelRig) -> None:
    title_request = ModelRequest(
        system=TITLE_PROMPT,
        history=(),
        prompt="User: How do I bake sourdough bread at home?\n\nAssistant: Start with a starter.",
        purpose="title",
        max_output_tokens=24,
    )
    events = await collect(rig.model, title_request)

    assert_well_formed(events)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert clean_title(text) is not None
    assert 0 < len(text.split()) <= 12, text


async def test_provider_failure_is_a_model_error(rig: ModelRig) -> None:
    seen: list[ModelEvent] = []
    with pytest.raises(ModelError):
        async with aclosing(rig.model.stream(request(rig.failure_prompt))) as stream:  # type: ignore[type-var]
            async for event in stream:
                seen.append(event)
    assert not any(isinstance(e, StreamEnded) for e in seen), "a failed stream never ends well"
