"""OpenAI Responses API (``AZUCHI_MODEL=openai``): streamed replies chained by
``previous_response_id``, so a turn sends only what is new since the last response.

Three ways to build a call (see ``ModelRequest``):
- the last tool round has a ``response_id``: chain on it, send that round's tool outputs;
- the request has a ``previous_response_id`` (the last turn's): chain on it, send the
  prompt and any rounds whole;
- neither: send history, prompt and rounds.
OpenAI keeps stored responses for a limited time. When it answers that the previous
response is gone, the call is made again once without chaining, with everything.

What the stream may say besides text and calls: reasoning summaries (and, from open-weight
models behind compatible servers, raw reasoning text) become ``ReasoningDelta``; a refusal
is passed on as text with stop reason ``refusal``; ``response.incomplete`` ends with the
reason it gives; ``response.failed`` and ``error`` events (flat, as documented, or with a
nested ``error`` object, as seen from OpenAI and Azure) raise, as a context error when
their code says the input was too long; event types this adapter does not know are ignored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from adapters.openai.client import OpenAIOptions, is_context_error
from adapters.openai.streaming import parse_arguments, with_retries
from core.domain import (
    ModelEvent,
    ModelRequest,
    ReasoningDelta,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    ToolRound,
    Usage,
    UsageReported,
)
from core.errors import ModelContextExceeded, ModelStreamError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-5-mini"
WHERE = "OpenAI (Responses API)"
INCOMPLETE_REASONS = {"max_output_tokens": "max_tokens", "content_filter": "content_filtered"}
REASONING_DELTAS = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")


TITLE_ROOM = 1024  # output tokens a reasoning model may use for a title, thinking included
REASONING_MODELS = ("gpt-5", "o1", "o3", "o4")


def _reasons(model_id: str) -> bool:
    return model_id.startswith(REASONING_MODELS)


class PreviousResponseGone(Exception):
    """The provider no longer has the response a call chained on (expired or deleted)."""


class OpenAIResponsesModel:
    """A ``ChatModel`` over ``client.responses.create(stream=True)``."""

    def __init__(self, client: AsyncOpenAI, options: OpenAIOptions) -> None:
        self._client = client
        self._options = options

    @property
    def model_id(self) -> str:
        return self._options.model_id

    async def aclose(self) -> None:
        await self._client.close()

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        chained = bool(_chain_id(request))
        try:
            async with aclosing(self._stream(request, chained)) as events:  # type: ignore[type-var]
                async for event in events:
                    yield event
            return
        except PreviousResponseGone:
            log.info(
                "%s: previous response %s is gone; sending the whole conversation",
                WHERE,
                _chain_id(request),
            )
        async with aclosing(self._stream(request, chained=False)) as events:  # type: ignore[type-var]
            async for event in events:
                yield event

    def _stream(self, request: ModelRequest, chained: bool) -> AsyncIterator[ModelEvent]:
        params = self.params(request, chained)
        return with_retries(lambda: self._attempt(params, chained), self._options, WHERE)

    def params(self, request: ModelRequest, chained: bool = True) -> dict[str, Any]:
        """The keyword arguments of ``responses.create`` for ``request``."""
        previous = _chain_id(request) if chained else None
        if previous is None:
            items = [*_history(request), _user(request.prompt), *_rounds(request.rounds)]
        elif request.rounds and request.rounds[-1].response_id:
            items = _outputs(request.rounds[-1])
        else:
            items = [_user(request.prompt), *_rounds(request.rounds)]
        params: dict[str, Any] = {
            "model": self._options.model_id,
            "instructions": request.system,
            "input": items,
            "max_output_tokens": self._options.output_tokens(request),
            "store": request.purpose != "title",  # titles are never chained on
            "stream": True,
        }
        if previous is not None:
            params["previous_response_id"] = previous
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": spec.parameters,
                    "strict": False,  # Responses defaults to strict schemas; ours are not
                }
                for spec in request.tools
            ]
        if self._options.temperature is not None:
            params["temperature"] = self._options.temperature
        if self._options.reasoning_effort:
            params["reasoning"] = {"effort": self._options.reasoning_effort}
        if self._options.reasoning_summary and request.purpose != "title":
            params.setdefault("reasoning", {})["summary"] = self._options.reasoning_summary
        if request.purpose == "title" and _reasons(self._options.model_id):
            # A reasoning model spends output tokens thinking before it writes: a 24-token
            # cap would leave a title empty. The title is cut to six words by the core anyway.
            params["max_output_tokens"] = max(params["max_output_tokens"], TITLE_ROOM)
            params.setdefault("reasoning", {"effort": "low"})
        return params

    async def _attempt(self, params: dict[str, Any], chained: bool) -> AsyncIterator[ModelEvent]:
        import openai

        translator = _Translator(offered=bool(params.get("tools")))
        try:
            stream = await self._client.responses.create(**params)
            async with stream:
                async for raw in stream:
                    if raw.type == "error" and chained and not translator.yielded:
                        _raise_if_previous_gone(raw.code, raw.param, raw.message)
                    for event in translator.feed(raw):
                        yield event
                    if translator.ended:
                        return
        except openai.APIError as exc:
            # HTTP 400/404 before the stream, or an error payload first thing inside it.
            if chained and not translator.yielded:
                _raise_if_previous_gone(exc.code, exc.param, exc.message, exc)
            raise
        raise ModelStreamError(f"{WHERE} ended the stream before the response was complete")


class _Translator:
    """Turns Responses stream events into model events, one raw event at a time."""

    def __init__(self, offered: bool) -> None:
        self.offered = offered
        self.response_id: str | None = None
        self.calls: dict[int, dict[str, str]] = {}  # output_index -> call_id, name, arguments
        self.made_calls = False
        self.refused = False
        self.yielded = False
        self.ended = False

    def feed(self, raw: Any) -> list[ModelEvent]:
        events = self._translate(raw)
        self.yielded = self.yielded or bool(events)
        return events

    def _translate(self, raw: Any) -> list[ModelEvent]:
        kind = raw.type
        if kind in ("response.created", "response.in_progress"):
            self.response_id = raw.response.id or self.response_id
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            self.refused = self.refused or kind == "response.refusal.delta"
            return [TextDelta(raw.delta)] if raw.delta else []
        elif kind in REASONING_DELTAS:
            return [ReasoningDelta(raw.delta)] if raw.delta else []
        elif kind == "response.reasoning_summary_part.added" and raw.summary_index:
            return [ReasoningDelta("\n\n")]  # summaries come in parts: keep them apart
        elif kind == "response.output_item.added" and raw.item.type == "function_call":
            self.calls[raw.output_index] = {
                "call_id": raw.item.call_id,
                "name": raw.item.name,
                "arguments": "",
            }
        elif kind == "response.function_call_arguments.delta" and raw.output_index in self.calls:
            self.calls[raw.output_index]["arguments"] += raw.delta
        elif kind == "response.function_call_arguments.done" and raw.output_index in self.calls:
            self.calls[raw.output_index]["arguments"] = raw.arguments
        elif kind == "response.output_item.done" and raw.item.type == "function_call":
            return self._call_done(raw.output_index, raw.item)
        elif kind in ("response.completed", "response.incomplete"):
            return self._end(raw.response)
        elif kind == "response.failed":
            error = raw.response.error
            _raise_stream_error(
                getattr(error, "code", None), getattr(error, "message", None) or "no reason given"
            )
        elif kind == "error":
            nested = _nested_error(raw)
            _raise_stream_error(
                raw.code or nested.get("code"),
                raw.message or nested.get("message") or "no reason given",
            )
        return []

    def _call_done(self, output_index: int, item: Any) -> list[ModelEvent]:
        partial = self.calls.pop(output_index, {})
        name = item.name or partial.get("name", "")
        if not self.offered:
            log.warning("%s: ignored a call to %s: no tools were offered", WHERE, name)
            return []
        self.made_calls = True
        arguments = item.arguments if item.arguments is not None else partial.get("arguments")
        call_id = item.call_id or partial.get("call_id", "")
        return [ToolCallRequested(ToolCall(call_id, name, parse_arguments(arguments, name, WHERE)))]

    def _end(self, response: Any) -> list[ModelEvent]:
        self.ended = True
        self.response_id = response.id or self.response_id
        events: list[ModelEvent] = [UsageReported(_usage(response.usage))]
        details = response.incomplete_details
        if response.status == "incomplete":
            reason = INCOMPLETE_REASONS.get(
                (details.reason if details else None) or "", "incomplete"
            )
        elif self.made_calls:
            reason = "tool_use"
        else:
            reason = "refusal" if self.refused else "end_turn"
        return [*events, StreamEnded(reason, self.response_id)]


def _usage(usage: Any) -> Usage:
    """OpenAI counts cached input inside ``input_tokens``; azuchi keeps cache reads apart
    (as Bedrock reports them), so that each token is priced once."""
    if usage is None:
        return Usage()
    details = usage.input_tokens_details
    cached = (getattr(details, "cached_tokens", 0) or 0) if details else 0
    written = (getattr(details, "cache_write_tokens", 0) or 0) if details else 0
    out_details = getattr(usage, "output_tokens_details", None)
    return Usage(
        input_tokens=max(0, usage.input_tokens - cached - written),
        output_tokens=usage.output_tokens,
        cache_read_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=(getattr(out_details, "reasoning_tokens", 0) or 0) if out_details else 0,
    )


def _nested_error(raw: Any) -> dict[str, Any]:
    """The ``error`` object of an error event in the nested shape (kept by the SDK as an
    extra field), or {}."""
    extra = getattr(raw, "model_extra", None) or {}
    nested = extra.get("error")
    return nested if isinstance(nested, dict) else {}


def _raise_stream_error(code: Any, message: str) -> None:
    if is_context_error(code, message):
        raise ModelContextExceeded(f"{WHERE} cannot take this much input: {message}")
    raise ModelStreamError(f"{WHERE} failed in the middle of the reply: {message}")


def _raise_if_previous_gone(
    code: str | None, param: str | None, message: str | None, cause: Exception | None = None
) -> None:
    """OpenAI answers HTTP 400 ``previous_response_not_found`` ("Previous response with id
    '...' not found."); some compatible servers only set ``param``."""
    text = (message or "").lower()
    if code == "previous_response_not_found" or (
        param == "previous_response_id" and "not found" in text
    ):
        raise PreviousResponseGone(message or "previous response not found") from cause


def _chain_id(request: ModelRequest) -> str | None:
    if request.rounds and request.rounds[-1].response_id:
        return request.rounds[-1].response_id
    return request.previous_response_id


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _history(request: ModelRequest) -> list[dict[str, Any]]:
    return [{"role": item.role, "content": item.content} for item in request.history]


def _rounds(rounds: tuple[ToolRound, ...]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for round_ in rounds:
        if round_.text:
            items.append({"role": "assistant", "content": round_.text})
        items.extend(
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": json.dumps(call.arguments, ensure_ascii=False),
            }
            for call in round_.calls
        )
        items.extend(_outputs(round_))
    return items


def _outputs(round_: ToolRound) -> list[dict[str, Any]]:
    return [
        {"type": "function_call_output", "call_id": result.call_id, "output": result.content}
        for result in round_.results
    ]
