"""azuchi's offline model: a deterministic reply streamed at a set rate, with a plan and a
tool call when asked. It lets the whole stack run, be tested and be load-tested without a
model provider."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import anyio
import anyio.lowlevel

from core.clock import loop_clock
from core.domain import (
    ModelEvent,
    ModelRequest,
    ReasoningDelta,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    Usage,
    UsageReported,
)
from core.errors import ModelStreamError

INTRO = (
    "Hello! This is azuchi's offline scripted model: no real model was called, so this "
    "reply is canned. To chat with a real one, set AZUCHI_MODEL=bedrock (Amazon Bedrock), "
    "AZUCHI_MODEL=openai (OpenAI Responses) or AZUCHI_MODEL=openai-chat (any "
    "chat-completions server, such as Ollama) and restart azuchi serve. "
)
FILLER = (
    "azuchi streams replies in coalesced frames, keeps every message in its store, lets a "
    "reconnecting client resume where it left off, and runs one reply per session at a time. "
)
NUMBER = r"\d+(?:\.\d+)?"
# "12 * 7", "(1 + 2) ** 3", "((((9**64)**64)**64)**64)": numbers joined by operators, with
# parentheses around either side.
ARITHMETIC = re.compile(rf"\(*{NUMBER}(?:\)*\s*(?:\*\*|//|[-+*/%])\s*\(*{NUMBER})+\)*")


@dataclass(frozen=True, slots=True)
class ScriptedSettings:
    tokens_per_second: float = 50.0  # 0: as fast as possible
    first_token_delay_ms: int = 0
    reply_tokens: int = 120  # length of the reply, in tokens (words)
    fail_after_tokens: int | None = None  # raise a stream error after this many tokens


class ScriptedChatModel:
    """Deterministic: the same request always streams the same reply.

    - A prompt that mentions "plan" gets a plan (``update_plan``) and a ``current_time`` call.
    - A prompt holding arithmetic such as ``12 * 7`` gets a ``calculate`` call.
    - A prompt containing ``/fail`` fails in the middle of the reply (to try error handling).
    - A prompt containing ``/think`` streams a line of reasoning before the reply.
    - A reply longer than the request's ``max_output_tokens`` is cut there (``max_tokens``).
    """

    def __init__(self, settings: ScriptedSettings | None = None) -> None:
        self._settings = settings or ScriptedSettings()
        self._responses = 0

    @property
    def model_id(self) -> str:
        return "azuchi-scripted"

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        # The text's generator is handed out itself, not re-yielded through another one:
        # every token would pay for both.
        self._responses += 1
        response_id = f"scripted-{self._responses}"
        if request.purpose == "title":
            return self._emit(_title_for(request.prompt), request, response_id)
        calls = self._tool_calls(request)
        if calls:
            return self._call_tools(calls, request, response_id)
        return self._emit(self._reply_text(request), request, response_id)

    async def _call_tools(
        self, calls: list[ToolCall], request: ModelRequest, response_id: str
    ) -> AsyncIterator[ModelEvent]:
        for call in calls:
            yield ToolCallRequested(call)
        yield UsageReported(Usage(input_tokens=_count(request), output_tokens=len(calls) * 8))
        yield StreamEnded("tool_use", response_id)

    async def _emit(
        self, text: str, request: ModelRequest, response_id: str
    ) -> AsyncIterator[ModelEvent]:
        settings = self._settings
        tokens = re.findall(r"\S+\s*", text)
        fail_at = settings.fail_after_tokens
        if fail_at is None and "/fail" in request.prompt and request.purpose == "reply":
            fail_at = min(10, len(tokens) // 2)
        if settings.first_token_delay_ms:
            await anyio.sleep(settings.first_token_delay_ms / 1000)
        if "/think" in request.prompt and request.purpose == "reply":
            yield ReasoningDelta("The user asked me to think first, so I do: ")
            yield ReasoningDelta("a scripted thought.")
        stop = "end_turn"
        if len(tokens) > request.max_output_tokens:
            tokens, stop = tokens[: request.max_output_tokens], "max_tokens"
        interval = 1 / settings.tokens_per_second if settings.tokens_per_second > 0 else 0
        now = loop_clock()
        sleep_until = _sleeper()
        start = now()
        for index, token in enumerate(tokens):
            if fail_at is not None and index >= fail_at:
                raise ModelStreamError("The scripted model failed in the middle of its reply")
            if index and not interval:
                # Even at full speed, yield to the loop between tokens, as a network stream does.
                await anyio.lowlevel.checkpoint()
            elif index:
                # Token i is due at start + i × interval, as a provider's clock produces it: a
                # consumer woken late gets what is due at once (a network stream buffers it),
                # so the pace never drifts below the set rate on a busy loop.
                due = start + index * interval
                if due > now():
                    await sleep_until(due)
            yield TextDelta(token)
        yield UsageReported(Usage(input_tokens=_count(request), output_tokens=len(tokens)))
        yield StreamEnded(stop, response_id)

    def _tool_calls(self, request: ModelRequest) -> list[ToolCall]:
        offered = {spec.name for spec in request.tools}
        if request.rounds or not offered:
            return []
        calls = []
        if "plan" in request.prompt.lower() and "update_plan" in offered:
            steps = ["Read the request", "Look up the current time", "Answer with what I found"]
            calls.append(ToolCall("call-plan", "update_plan", {"steps": steps}))
            if "current_time" in offered:
                calls.append(ToolCall("call-time", "current_time", {}))
        match = ARITHMETIC.search(request.prompt)
        if match and "calculate" in offered:
            calls.append(ToolCall("call-calc", "calculate", {"expression": match.group(0)}))
        return calls

    def _reply_text(self, request: ModelRequest) -> str:
        echo = " ".join(request.prompt.split())[:200]
        text = INTRO + f'You said: "{echo}". '
        for round_ in request.rounds:
            for result in round_.results:
                if result.name != "update_plan":
                    text += f"The tool {result.name} answered: {result.content}. "
        words = text.split()
        filler = FILLER.split()
        index = 0
        while len(words) < self._settings.reply_tokens:
            words.append(filler[index % len(filler)])
            index += 1
        return " ".join(words)


def _sleeper() -> Callable[[float], Awaitable[None]]:
    """A sleep until a moment of the loop's clock. On asyncio the future itself, woken by
    a timer at that moment (what ``asyncio.sleep`` does, without ``anyio.sleep``'s backend
    look-up and a coroutine of its own on every call: this runs once per token of every
    reply; a stream cancelled meanwhile leaves its timer to resolve nothing);
    elsewhere ``anyio.sleep_until``."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return anyio.sleep_until

    def wake_at(deadline: float) -> asyncio.Future[None]:
        waiter = loop.create_future()
        loop.call_at(deadline, _resolve, waiter)
        return waiter

    return wake_at


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _title_for(prompt: str) -> str:
    first = prompt.split("\n", 1)[0].removeprefix("User:").strip()
    words = re.findall(r"[\w'-]+", first)[:5]
    return " ".join(words).capitalize() if words else "New chat"


def _count(request: ModelRequest) -> int:
    text = request.system + request.prompt + "".join(item.content for item in request.history)
    return len(text.split())
