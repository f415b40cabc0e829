"""The agent loop: model → tool calls → model again, a bounded number of steps.

The plan is a tool like any other for the model (``update_plan``), but the agent answers it
itself and the reply shows it as a PLAN message.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from core.domain import (
    ModelRequest,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    ToolResult,
    ToolRound,
    ToolSpec,
    Usage,
    UsageReported,
)
from core.ports import ChatModel, Tool, ToolContext

log = logging.getLogger(__name__)

PLAN_TOOL = ToolSpec(
    name="update_plan",
    description=(
        "Show the user your plan for a task that needs several steps. Call it before "
        "starting, with one short imperative sentence per step."
    ),
    parameters={
        "type": "object",
        "properties": {"steps": {"type": "array", "items": {"type": "string"}}},
        "required": ["steps"],
    },
)


class AgentSink(Protocol):
    """Where the agent reports what happens while it works."""

    def on_text(self, text: str) -> None: ...

    async def on_plan(self, steps: list[str]) -> None: ...

    async def on_tool_call(self, call: ToolCall) -> None: ...

    async def on_tool_result(self, call: ToolCall, result: ToolResult) -> None: ...


@dataclass(slots=True)
class AgentOutcome:
    parts: list[str] = dataclasses.field(default_factory=list)  # the reply's text, as streamed
    usage: Usage = dataclasses.field(default_factory=Usage)
    response_id: str | None = None
    stop_reason: str = "end_turn"

    @property
    def text(self) -> str:
        """The reply's text so far (joined on demand: appending to one string per token
        copies the whole reply every time)."""
        return "".join(self.parts)


class Agent:
    def __init__(
        self,
        model: ChatModel,
        tools: Mapping[str, Tool],
        max_steps: int,
        tool_timeout_s: float = 20.0,
    ) -> None:
        self._model = model
        self._tools = dict(tools)
        self._max_steps = max(1, max_steps)
        self._tool_timeout = tool_timeout_s
        self._specs = (PLAN_TOOL, *(tool.spec for tool in self._tools.values()))

    @property
    def model_id(self) -> str:
        return self._model.model_id

    async def run(
        self, request: ModelRequest, sink: AgentSink, context: ToolContext, outcome: AgentOutcome
    ) -> AgentOutcome:
        """Runs to the end, filling ``outcome`` as it goes so that a caller that cancels it
        (stop, lost lock) still holds the usage and text gathered so far."""
        rounds: list[ToolRound] = []
        for step in range(self._max_steps):
            last = step == self._max_steps - 1
            calls: list[ToolCall] = []
            texts: list[str] = []
            step_response_id: str | None = None
            step_request = dataclasses.replace(
                request, tools=() if last else self._specs, rounds=tuple(rounds)
            )
            async for event in self._model.stream(step_request):
                if isinstance(event, TextDelta):
                    texts.append(event.text)
                    outcome.parts.append(event.text)
                    sink.on_text(event.text)
                elif isinstance(event, ToolCallRequested):
                    calls.append(event.call)
                elif isinstance(event, UsageReported):
                    outcome.usage = outcome.usage + event.usage
                elif isinstance(event, StreamEnded):
                    outcome.stop_reason = event.stop_reason
                    step_response_id = event.response_id
                    outcome.response_id = event.response_id or outcome.response_id
            if not calls:
                break
            results = [await self._run_tool(call, sink, context) for call in calls]
            rounds.append(ToolRound("".join(texts), tuple(calls), tuple(results), step_response_id))
        return outcome

    async def _run_tool(self, call: ToolCall, sink: AgentSink, context: ToolContext) -> ToolResult:
        if call.name == PLAN_TOOL.name:
            steps = call.arguments.get("steps")
            if isinstance(steps, list) and all(isinstance(s, str) for s in steps):
                await sink.on_plan(steps)
                return ToolResult(call.call_id, call.name, "Plan shown to the user.")
            return ToolResult(call.call_id, call.name, "steps must be a list of strings", True)
        await sink.on_tool_call(call)
        result = await self._call(call, context)
        await sink.on_tool_result(call, result)
        return result

    async def _call(self, call: ToolCall, context: ToolContext) -> ToolResult:
        tool = self._tools.get(call.name)
        if tool is None:
            return ToolResult(call.call_id, call.name, f"Unknown tool {call.name!r}.", True)
        try:
            with anyio.fail_after(self._tool_timeout):
                content = await tool.run(call.arguments, context)
        except TimeoutError:
            return ToolResult(call.call_id, call.name, "The tool timed out.", True)
        except Exception as exc:  # a tool's failure is a step's failure, not the reply's
            log.info("tool %s failed: %s", call.name, exc)
            return ToolResult(call.call_id, call.name, f"The tool failed: {exc}", True)
        return ToolResult(call.call_id, call.name, content)


def describe_call(call: ToolCall) -> str:
    args: Any = call.arguments
    return f"{call.name}({json.dumps(args, ensure_ascii=False, sort_keys=True)})"
