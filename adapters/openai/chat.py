"""Any chat-completions server (``AZUCHI_MODEL=openai-chat``): OpenAI, Ollama, vLLM,
llama.cpp's server, LM Studio. Stateless: every call sends the whole conversation.

Servers differ in small ways this adapter absorbs:
- many local servers send no usage in a stream; usage is then estimated (four characters a
  token), so a reply's cost is never missing;
- some reject ``tool`` messages when no tools are defined, which is what the agent's last
  step looks like (it offers no tools so that the model answers); the tools the rounds used
  are then declared again with ``tool_choice="none"``;
- tool calls stream as fragments keyed by ``index`` (id and name first, arguments in
  pieces), or whole in one chunk (Ollama); both end up as one complete call;
- reasoning arrives as a ``reasoning_content`` (llama.cpp's ``llama-server``, DeepSeek,
  older vLLM) or ``reasoning`` (newer vLLM, Ollama) field of the delta, or inline in the
  text as ``<think>…</think>``, which ``AZUCHI_THINK_TAGS=true`` splits out; all of it
  becomes ``ReasoningDelta``;
- a ``refusal`` delta (OpenAI) is passed on as text, and the stop reason is ``refusal``;
- llama-cpp-python's server answers a streamed request over its context window with HTTP
  200 and an empty body (the error is raised inside its stream). A stream that ends before
  its first chunk is asked again once without streaming and with ``max_tokens=1``, whose
  answer says why (HTTP 400 ``context_length_exceeded``); the caller gets that error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from adapters.openai.client import OpenAIOptions
from adapters.openai.streaming import parse_arguments, with_retries
from adapters.openai.think import ThinkSplitter
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
from core.services.history import estimate_tokens

if TYPE_CHECKING:
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

DEFAULT_MODEL = "llama3.2"
FINISH_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "content_filtered",
}
REASONING_FIELDS = ("reasoning_content", "reasoning")  # servers name it one way or the other


class OpenAIChatModel:
    """A ``ChatModel`` over ``client.chat.completions.create(stream=True)``."""

    def __init__(self, client: AsyncOpenAI, options: OpenAIOptions) -> None:
        self._client = client
        self._options = options
        self._where = f"The chat-completions server at {client.base_url}"

    @property
    def model_id(self) -> str:
        return self._options.model_id

    async def aclose(self) -> None:
        await self._client.close()

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        params = self.params(request)
        return with_retries(lambda: self._attempt(params), self._options, self._where)

    def params(self, request: ModelRequest) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for ``request``."""
        params: dict[str, Any] = {
            "model": self._options.model_id,
            "messages": messages(request),
            "stream": True,
            "stream_options": {"include_usage": True},
            self._options.max_tokens_field: self._options.output_tokens(request),
        }
        if request.tools:
            params["tools"] = [
                _tool(spec.name, spec.description, spec.parameters) for spec in request.tools
            ]
        elif request.rounds:
            used = dict.fromkeys(call.name for r in request.rounds for call in r.calls)
            params["tools"] = [_tool(name, "", {"type": "object"}) for name in used]
            params["tool_choice"] = "none"
        if self._options.temperature is not None:
            params["temperature"] = self._options.temperature
        return params

    async def _attempt(self, params: dict[str, Any]) -> AsyncIterator[ModelEvent]:
        offered = "tool_choice" not in params and bool(params.get("tools"))
        reply = _Reply()
        splitter = ThinkSplitter() if self._options.think_tags else None
        stream = await self._client.chat.completions.create(**params)
        async with stream:
            async for chunk in stream:
                reply.chunks += 1
                if chunk.usage is not None:
                    reply.usage = _usage(chunk.usage)
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if delta is not None:
                        for event in reply.read(delta, splitter):
                            yield event
                    if choice.finish_reason:
                        reply.finish_reason = choice.finish_reason
        for event in reply.pieces(splitter.flush() if splitter else []):
            yield event
        if reply.finish_reason is None:
            if not reply.chunks:
                await self._why_empty(params)
            raise ModelStreamError(f"{self._where} ended the stream before the reply finished")
        calls = reply.calls(self._where) if offered else reply.ignore_calls(self._where)
        for call in calls:
            yield ToolCallRequested(call)
        yield UsageReported(reply.usage or _estimate(params, reply))
        reason = "tool_use" if calls else FINISH_REASONS.get(reply.finish_reason, "incomplete")
        if reason == "tool_use" and not calls:
            reason = "end_turn"
        if reply.refused and not calls:
            reason = "refusal"
        yield StreamEnded(reason, None)

    async def _why_empty(self, params: dict[str, Any]) -> None:
        """Raises the error the same request gets without streaming (see the module's
        docstring); returns when it gets none."""
        import openai

        probe = {k: v for k, v in params.items() if k not in ("stream", "stream_options")}
        probe[self._options.max_tokens_field] = 1
        for _ in range(2):  # the pooled connection the broken stream left may be dead
            try:
                await self._client.chat.completions.create(**probe)
                return
            except openai.APIConnectionError:
                continue


class _Reply:
    """What one streamed completion has said so far."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.fragments: dict[int, dict[str, str]] = {}  # index -> id, name, arguments
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.refused = False
        self.chunks = 0

    def read(self, delta: Any, splitter: ThinkSplitter | None) -> list[ModelEvent]:
        """The events in one choice delta: reasoning, text (split by ``splitter`` when
        thinking tags are on), a refusal as text; tool-call fragments are kept."""
        events: list[ModelEvent] = []
        extra = getattr(delta, "model_extra", None) or {}
        for name in REASONING_FIELDS:
            thought = extra.get(name)
            if isinstance(thought, str) and thought:
                events.append(ReasoningDelta(thought))
                break
        if delta.content:
            pieces = splitter.feed(delta.content) if splitter else [(False, delta.content)]
            events += self.pieces(pieces)
        refusal = getattr(delta, "refusal", None)
        if refusal:
            self.refused = True
            events += self.pieces([(False, refusal)])
        if delta.tool_calls:
            self.add_fragments(delta.tool_calls)
        return events

    def pieces(self, pieces: list[tuple[bool, str]]) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        for thinking, text in pieces:
            if thinking:
                events.append(ReasoningDelta(text))
            else:
                self.text.append(text)
                events.append(TextDelta(text))
        return events

    def add_fragments(self, tool_calls: list[Any]) -> None:
        for position, fragment in enumerate(tool_calls):
            index = fragment.index if fragment.index is not None else position
            call = self.fragments.setdefault(index, {"id": "", "name": "", "arguments": ""})
            function = fragment.function
            call["id"] = call["id"] or (fragment.id or "")
            if function is not None:
                call["name"] = call["name"] or (function.name or "")
                call["arguments"] += function.arguments or ""

    def calls(self, where: str) -> list[ToolCall]:
        return [
            ToolCall(
                call["id"] or f"call_{index}",
                call["name"],
                parse_arguments(call["arguments"], call["name"], where),
            )
            for index, call in sorted(self.fragments.items())
            if call["name"]
        ]

    def ignore_calls(self, where: str) -> list[ToolCall]:
        if self.fragments:
            names = [call["name"] for call in self.fragments.values()]
            log.warning("%s called %s although no tools were offered; ignored", where, names)
        return []


def messages(request: ModelRequest) -> list[dict[str, Any]]:
    """System, history, prompt, then each tool round as an assistant message with
    ``tool_calls`` followed by one ``tool`` message per result."""
    out: list[dict[str, Any]] = [{"role": "system", "content": request.system}]
    out += [{"role": item.role, "content": item.content} for item in request.history]
    out.append({"role": "user", "content": request.prompt})
    for round_ in request.rounds:
        out.append(
            {
                "role": "assistant",
                "content": round_.text,
                "tool_calls": [
                    {
                        "id": call.call_id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": json.dumps(call.arguments, ensure_ascii=False),
                        },
                    }
                    for call in round_.calls
                ],
            }
        )
        out += [
            {"role": "tool", "tool_call_id": result.call_id, "content": result.content}
            for result in round_.results
        ]
    return out


def _tool(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def _usage(usage: Any) -> Usage:
    """Like OpenAI's Responses API, chat completions count cached input inside
    ``prompt_tokens``; azuchi keeps cache reads apart so that each token is priced once."""
    details = getattr(usage, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", 0) or 0) if details else 0
    out_details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        input_tokens=max(0, (usage.prompt_tokens or 0) - cached),
        output_tokens=usage.completion_tokens or 0,
        cache_read_tokens=cached,
        reasoning_tokens=(getattr(out_details, "reasoning_tokens", 0) or 0) if out_details else 0,
    )


def _estimate(params: dict[str, Any], reply: _Reply) -> Usage:
    """For servers that send no usage: four characters a token, never zero."""
    sent = "".join(str(m.get("content") or "") for m in params["messages"])
    said = "".join(reply.text) + "".join(c["arguments"] for c in reply.fragments.values())
    return Usage(input_tokens=estimate_tokens(sent), output_tokens=estimate_tokens(said))
