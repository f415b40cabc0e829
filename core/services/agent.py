"""The agent loop: model → tool calls → model again, a bounded number of steps.

The plan is a tool like any other for the model (``update_plan``), but the agent answers it
itself and the reply shows it as a PLAN message.

A tool named in ``approval`` is never run on the model's word alone: when the model asks for
it (with arguments its schema accepts), the run stops there and returns an ``AgentPause``
(``outcome.pause``): the steps so far, the step's calls and the results of those before it.
The reply service stores it and ends the turn; the user's decision comes back as a
``Resume`` and the run goes on from that very call (core/services/approvals.py). Nothing a
tool returns changes this: a call the model makes because a tool's answer told it to is
paused like any other.
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
    ReasoningBlock,
    ReasoningDelta,
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
from core.ports import ArgumentCheck, ChatModel, Tool, ToolContext
from core.text import scrub

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


@dataclass(frozen=True, slots=True)
class AgentPause:
    """Where a run stopped to wait for the user's approval of ``call``: the finished steps
    (``rounds``), this step with the results of its calls before ``call`` (``step``), and
    how many model calls the reply has made (``steps``)."""

    call: ToolCall
    rounds: tuple[ToolRound, ...]
    step: ToolRound
    steps: int


@dataclass(frozen=True, slots=True)
class Resume:
    """The user's decision on a paused call: run it (``approved``) or tell the model it
    was refused (``refusal``, the tool result it gets)."""

    pause: AgentPause
    approved: bool
    refusal: str = "The user denied this call; it was not run."


class AgentSink(Protocol):
    """Where the agent reports what happens while it works."""

    def on_text(self, text: str) -> None: ...

    def on_reasoning(self, text: str) -> None: ...

    async def on_plan(self, steps: list[str]) -> None: ...

    async def on_tool_call(self, call: ToolCall) -> None: ...

    async def on_tool_result(self, call: ToolCall, result: ToolResult) -> None: ...


@dataclass(slots=True)
class AgentOutcome:
    parts: list[str] = dataclasses.field(default_factory=list)  # the reply's text, as streamed
    usage: Usage = dataclasses.field(default_factory=Usage)
    response_id: str | None = None
    stop_reason: str = "end_turn"
    reasoning: str = ""  # the thinking shown to the user, every step's
    redacted_reasoning: bool = False  # some thinking came encrypted (nothing to show)
    steps: int = 0  # model calls that ran to their end
    pause: AgentPause | None = None  # set when the run stopped for the user's approval

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
        max_result_chars: int = 8_000,
        approval: frozenset[str] = frozenset(),
        check_arguments: ArgumentCheck | None = None,
    ) -> None:
        self._approval = approval
        self._check_arguments = check_arguments
        self._model = model
        self._tools = dict(tools)
        self._max_steps = max(1, max_steps)
        self._tool_timeout = tool_timeout_s
        self._max_result = max_result_chars
        self._specs = (PLAN_TOOL, *(tool.spec for tool in self._tools.values()))

    @property
    def model_id(self) -> str:
        return self._model.model_id

    async def run(
        self,
        request: ModelRequest,
        sink: AgentSink,
        context: ToolContext,
        outcome: AgentOutcome,
        resume: Resume | None = None,
    ) -> AgentOutcome:
        """Runs to the end (or to a pause: ``outcome.pause``), filling ``outcome`` as it goes
        so that a caller that cancels it (stop, lost lock) still holds the usage and text
        gathered so far. ``resume`` goes on from a paused call with the user's decision."""
        rounds: list[ToolRound] = []
        first = 0
        if resume is not None:
            pause = resume.pause
            rounds, first = list(pause.rounds), pause.steps
            results = list(pause.step.results)
            results.append(await self._decided(resume, sink, context))
            if await self._calls(pause.step, results, rounds, first, sink, context, outcome):
                return outcome
            rounds.append(dataclasses.replace(pause.step, results=tuple(results)))
        for step in range(first, self._max_steps):
            last = step == self._max_steps - 1
            calls: list[ToolCall] = []
            texts: list[str] = []
            thinking = ThinkingBlocks()
            step_response_id: str | None = None
            step_request = dataclasses.replace(
                request, tools=() if last else self._specs, rounds=tuple(rounds)
            )
            async for event in self._model.stream(step_request):
                if isinstance(event, TextDelta):
                    text = scrub(event.text)  # a provider's lone surrogate cannot be sent on
                    texts.append(text)
                    outcome.parts.append(text)
                    sink.on_text(text)
                elif isinstance(event, ReasoningDelta):
                    thinking.add(event)
                    outcome.reasoning += scrub(event.text)
                    outcome.redacted_reasoning |= event.redacted is not None
                    if event.text:
                        sink.on_reasoning(scrub(event.text))
                elif isinstance(event, ToolCallRequested):
                    calls.append(event.call)
                elif isinstance(event, UsageReported):
                    outcome.usage = outcome.usage + event.usage
                elif isinstance(event, StreamEnded):
                    outcome.stop_reason = event.stop_reason
                    step_response_id = event.response_id
                    outcome.response_id = event.response_id or outcome.response_id
            outcome.steps += 1
            if not calls:
                break
            this = ToolRound("".join(texts), tuple(calls), (), step_response_id, thinking.blocks())
            results = []
            if await self._calls(this, results, rounds, step + 1, sink, context, outcome):
                return outcome
            rounds.append(dataclasses.replace(this, results=tuple(results)))
        return outcome

    async def _calls(
        self,
        step: ToolRound,
        results: list[ToolResult],
        rounds: list[ToolRound],
        steps: int,
        sink: AgentSink,
        context: ToolContext,
        outcome: AgentOutcome,
    ) -> bool:
        """Runs the step's calls after those in ``results``, in order, adding their results;
        True (and ``outcome.pause`` set) when one must wait for the user's approval."""
        for call in step.calls[len(results) :]:
            if call.name in self._approval and self._invalid(call) is None:
                done = dataclasses.replace(step, results=tuple(results))
                outcome.pause = AgentPause(call, tuple(rounds), done, steps)
                return True
            results.append(await self._run_tool(call, sink, context))
        return False

    async def _decided(self, resume: Resume, sink: AgentSink, context: ToolContext) -> ToolResult:
        call = resume.pause.call
        if resume.approved:
            return await self._run_tool(call, sink, context)
        result = ToolResult(call.call_id, call.name, resume.refusal, True)
        await sink.on_tool_result(call, result)
        return result

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
        problem = self._invalid(call)  # an unknown tool, or arguments its schema refuses
        if problem is not None:
            return ToolResult(call.call_id, call.name, problem, True)
        tool = self._tools[call.name]
        try:
            with anyio.fail_after(self._tool_timeout):
                content = await tool.run(call.arguments, context)
        except TimeoutError:
            log.info("tool %s timed out after %.1f s", call.name, self._tool_timeout)
            return ToolResult(
                call.call_id, call.name, f"The tool timed out after {self._tool_timeout:g} s.", True
            )
        except Exception as exc:  # a tool's failure is a step's failure, not the reply's
            log.info("tool %s failed: %s", call.name, exc)
            return ToolResult(
                call.call_id, call.name, self._bounded(f"The tool failed: {exc}"), True
            )
        return ToolResult(call.call_id, call.name, self._bounded(content))

    def _invalid(self, call: ToolCall) -> str | None:
        """Why the call's arguments do not meet its tool's schema (None when they do): such
        a call is a failed step, never run and never put to the user for approval."""
        tool = self._tools.get(call.name)
        if tool is None:
            return f"Unknown tool {call.name!r}."
        if self._check_arguments is None:
            return None
        return self._check_arguments(tool.spec.parameters, call.arguments)

    def _bounded(self, content: str) -> str:
        """A tool's answer, cut to its limit (it goes to the model and into an AGENT_LOG)."""
        content = scrub(content)
        if len(content) <= self._max_result:
            return content
        return content[: self._max_result] + f"… (cut: {len(content):,} characters in all)"


class ThinkingBlocks:
    """One step's reasoning, as the blocks the provider wants back: text gathers until a
    signature closes its block; a redacted block stands alone."""

    def __init__(self) -> None:
        self._blocks: list[ReasoningBlock] = []
        self._text: list[str] = []

    def add(self, delta: ReasoningDelta) -> None:
        self._text.append(delta.text)
        if delta.signature is not None:
            self._blocks.append(ReasoningBlock("".join(self._text), delta.signature))
            self._text = []
        if delta.redacted is not None:
            self._blocks.append(ReasoningBlock(redacted=delta.redacted))

    def blocks(self) -> tuple[ReasoningBlock, ...]:
        tail = "".join(self._text)
        return (*self._blocks, *([ReasoningBlock(tail)] if tail else []))


def describe_call(call: ToolCall) -> str:
    args: Any = call.arguments
    return f"{call.name}({json.dumps(args, ensure_ascii=False, sort_keys=True)})"
