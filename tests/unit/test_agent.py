"""The agent loop: tools, plans, failures of a step, bounded steps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.inprocess import InProcessChatStore
from adapters.tools.builtin import CalculateTool
from core.domain import (
    ModelEvent,
    ModelRequest,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    ToolResult,
)
from core.services.agent import Agent, AgentOutcome
from core.services.reply import ReplyContext

pytestmark = pytest.mark.anyio


class ToolHappyModel:
    """Calls the given tools on every step it is offered tools; answers when it is not."""

    model_id = "tool-happy"

    def __init__(self, *calls: ToolCall) -> None:
        self.calls = calls
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        if request.tools:
            for call in self.calls:
                yield ToolCallRequested(call)
            yield StreamEnded("tool_use")
        else:
            yield TextDelta("final answer")
            yield StreamEnded("end_turn", "resp-1")


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_text(self, text: str) -> None:
        self.events.append(("text", text))

    async def on_plan(self, steps: list[str]) -> None:
        self.events.append(("plan", steps))

    async def on_tool_call(self, call: ToolCall) -> None:
        self.events.append(("call", call.name))

    async def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
        self.events.append(("result", (result.content, result.is_error)))


async def _run(model: ToolHappyModel, tools: dict, steps: int = 3) -> tuple[AgentOutcome, Sink]:
    sink = Sink()
    request = ModelRequest(system="s", history=(), prompt="p")
    agent = Agent(model, tools, steps)
    outcome = await agent.run(
        request, sink, ReplyContext("s1", InProcessChatStore()), AgentOutcome()
    )
    return outcome, sink


async def test_steps_are_bounded_and_the_last_step_must_answer() -> None:
    model = ToolHappyModel(ToolCall("1", "calculate", {"expression": "1+1"}))
    outcome, sink = await _run(model, {"calculate": CalculateTool()}, steps=3)
    assert len(model.requests) == 3
    assert model.requests[-1].tools == ()
    assert len(model.requests[-1].rounds) == 2  # both tool rounds are carried forward
    assert outcome.text == "final answer" and outcome.response_id == "resp-1"
    assert sink.events.count(("result", ("1+1 = 2", False))) == 2


async def test_unknown_and_failing_tools_are_failed_steps_not_failed_replies() -> None:
    model = ToolHappyModel(
        ToolCall("1", "teleport", {}),
        ToolCall("2", "calculate", {"expression": "__import__('os').system('true')"}),
    )
    outcome, sink = await _run(model, {"calculate": CalculateTool()}, steps=2)
    results = [payload for kind, payload in sink.events if kind == "result"]
    assert results[0] == ("Unknown tool 'teleport'.", True)
    assert results[1][1] is True and "only numbers" in results[1][0]
    assert outcome.text == "final answer"


async def test_a_plan_is_reported_as_a_plan() -> None:
    model = ToolHappyModel(ToolCall("1", "update_plan", {"steps": ["look", "answer"]}))
    _, sink = await _run(model, {}, steps=2)
    assert ("plan", ["look", "answer"]) in sink.events
    assert not [e for e in sink.events if e[0] == "call"]


async def test_a_malformed_plan_is_refused_to_the_model() -> None:
    model = ToolHappyModel(ToolCall("1", "update_plan", {"steps": "look, answer"}))
    _, sink = await _run(model, {}, steps=2)
    assert not [e for e in sink.events if e[0] == "plan"]
    assert model.requests[1].rounds[0].results[0].is_error
