"""The stub's state and its script: what it has seen, the knobs a test turns, and the answer
a request gets. Both APIs parse a request into a ``Turn`` and speak the same ``Answer``, so
the script is written once (see the package docstring for what it answers)."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.inprocess.scripted_model import ARITHMETIC
from core.services.history import estimate_tokens
from testsupport.stubs.openai.wire import context_exceeded, overloaded, throttled

FILLER = (
    "the castle of Azuchi stood on a hill above Lake Biwa and its keep rose seven floors "
    "painted in gold and red so that travellers saw it from far away"
).split()
PLAN_STEPS = ["Read the request", "Look up the current time", "Answer with what I found"]
FAIL_AT = 5  # a failing answer streams this many words, then the provider's error
CUT_AT = 2  # a "cut" answer streams this many words, then the connection closes
REASONING = "The user wants a short answer. I will keep it brief."
REFUSAL = "I'm sorry, but I can't help with that."


@dataclass(slots=True)
class Turn:
    """A request seen the same way for both APIs."""

    system: str
    last_user: str
    tool_results: list[tuple[str, str]] | None  # (tool name, output) when the input ends so
    offered: set[str]
    max_tokens: int | None
    input_chars: int
    streaming: bool = True


@dataclass(slots=True)
class Answer:
    """What to say, whichever API says it: text, tool calls, or text that fails midway."""

    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: bool = False
    reasoning: str = ""  # streamed first: Responses summaries, chat reasoning_content
    think_tags: bool = False  # chat: the reasoning inline as <think>…</think> instead
    refusal: str = ""  # the model declines (Responses refusal part, chat delta.refusal)
    error: str | None = None  # "flat" | "nested": an error event instead of response.failed
    error_first: bool = False  # the failure comes before any text
    failed_code: str = "server_error"  # response.failed's error code
    filtered: bool = False  # chat finish_reason content_filter, Responses incomplete
    cut: bool = False  # the connection closes between two events after CUT_AT words
    unknown: bool = False  # events and fields this SDK and adapter do not know
    empty: bool = False  # HTTP 200 and an empty stream (llama-cpp-python over its context)


@dataclass
class OpenAIStub:
    """The running stub: what it received, and knobs a test may turn."""

    tokens_per_second: float = 0.0
    reply_tokens: int = 40
    omit_usage: bool = False  # chat: never send usage, like servers without include_usage
    tools_required_for_tool_messages: bool = True
    stall_s: float = 2.0
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)  # every body, in order
    endpoints: list[str] = field(default_factory=list)  # "responses" | "chat", per request
    first_byte_at: list[float] = field(default_factory=list)
    response_ids: list[str] = field(default_factory=list)  # Responses ids made, in order
    usages: list[dict[str, Any]] = field(default_factory=list)  # usage objects sent, in order
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    throttled: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def expire(self, response_id: str) -> None:
        """Forget a stored response, as OpenAI does once its retention ends."""
        self.stored.pop(response_id, None)

    def new_id(self, prefix: str) -> str:
        """Ids shaped like OpenAI's: ``resp_…``, ``msg_…``, ``fc_…``, ``call_…``, ``chatcmpl-…``."""
        separator = "-" if prefix == "chatcmpl" else "_"
        return f"{prefix}{separator}stub{next(self._ids):06d}"

    def env(self, **extra: str) -> dict[str, str]:
        """Settings that point azuchi's OpenAI adapters (through the SDK's own variables)
        at this stub, with a dummy key and quick retries."""
        return {
            "OPENAI_BASE_URL": self.url,
            "OPENAI_API_KEY": "sk-stub-not-a-real-key",
            "AZUCHI_MODEL_RETRY_BASE_MS": "5",
            **extra,
        }

    async def answer(self, turn: Turn, endpoint: str) -> Answer | web.Response:
        """The scripted answer to ``turn``, or the 429 a "throttle" request gets at first."""
        if turn.tool_results is not None:
            quoted = " ".join(f"{name} answered: {out}." for name, out in turn.tool_results)
            return Answer(text=f"I used the tools. {quoted}")
        if turn.system.startswith("Write a title"):
            first = turn.last_user.split("\n", 1)[0].removeprefix("User:").strip()
            words = re.findall(r"[\w'-]+", first)[:4]
            return Answer(text=" ".join(words).capitalize() or "New chat")
        text = turn.last_user.lower()
        if "throttle" in text and self.throttled[endpoint, turn.last_user] < 2:
            self.throttled[endpoint, turn.last_user] += 1
            return throttled()
        if "status 503" in text and self.throttled[endpoint, turn.last_user] < 2:
            self.throttled[endpoint, turn.last_user] += 1
            return overloaded()
        if "too long" in text:
            # llama-cpp-python raises inside its stream: 200, then nothing; unstreamed, a 400
            quiet = "quietly" in text and turn.streaming and endpoint == "chat"
            return Answer(empty=True) if quiet else context_exceeded()
        if "stall" in text:
            await asyncio.sleep(self.stall_s)
        calls: list[tuple[str, dict[str, Any]]] = []
        if "plan" in text and "update_plan" in turn.offered:
            calls.append(("update_plan", {"steps": PLAN_STEPS}))
            if "current_time" in turn.offered:
                calls.append(("current_time", {}))
        match = ARITHMETIC.search(turn.last_user)
        if match and "calculate" in turn.offered:
            calls.append(("calculate", {"expression": match.group(0)}))
        if calls:
            return Answer(calls=calls)
        echo = " ".join(turn.last_user.split()[:8])
        words = f'You said "{echo}".'.split()
        words += list(
            itertools.islice(itertools.cycle(FILLER), max(0, self.reply_tokens - len(words)))
        )
        if "refuse" in text:
            return Answer(refusal=REFUSAL)
        error = "nested" if "error nested" in text else "flat" if "error flat" in text else None
        return Answer(
            text=" ".join(words),
            fail="fail" in text or error is not None,
            reasoning=REASONING if "reason" in text or "think tags" in text else "",
            think_tags="think tags" in text,
            error=error,
            error_first="first" in text,
            failed_code="context_length_exceeded" if "overflow" in text else "server_error",
            filtered="filtered" in text,
            cut="cut" in text,
            unknown="future" in text,
        )

    async def pace(self, index: int) -> None:
        """Waits before word ``index`` (``tokens_per_second``, or a bare yield so streams
        interleave), and notes when the first word goes out for latency benchmarks."""
        if not index:
            self.first_byte_at.append(time.perf_counter())
        elif self.tokens_per_second > 0:
            await asyncio.sleep(1 / self.tokens_per_second)
        else:
            await asyncio.sleep(0)


def cut(answer: Answer, max_tokens: int | None) -> tuple[list[str], bool]:
    """The words to stream (one per event, trailing space kept), and whether the token
    budget cut them short."""
    words = re.findall(r"\S+\s*", answer.text)
    if max_tokens is not None and len(words) > max_tokens:
        return words[:max_tokens], True
    return words, False


def fragments(arguments: dict[str, Any]) -> tuple[str, tuple[str, str]]:
    """A call's JSON arguments, and the two halves they stream in, so clients must
    reassemble them as they would from a real server."""
    raw = json.dumps(arguments)
    return raw, (raw[: len(raw) // 2], raw[len(raw) // 2 :])


def spoken(words: list[str], answer: Answer) -> str:
    """Everything the answer put out: streamed words, then the calls' arguments."""
    return "".join(words) + "".join(json.dumps(a) for _, a in answer.calls)


def usage_numbers(turn: Turn, output: str) -> tuple[int, int]:
    """(input, output) tokens, estimated the way azuchi estimates them."""
    return estimate_tokens("x" * max(1, turn.input_chars)), estimate_tokens(output or "x")
