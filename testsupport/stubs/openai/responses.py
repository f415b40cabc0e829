"""``POST /v1/responses``: the Responses API wire format. Requests are parsed into a
``Turn`` (checking ``previous_response_id`` and that tool outputs answer known calls), and
answers are streamed as the typed, sequence-numbered events the SDK expects."""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from core.services.history import estimate_tokens
from testsupport.stubs import sse
from testsupport.stubs.openai.endpoint import Body, endpoint
from testsupport.stubs.openai.script import (
    CUT_AT,
    FAIL_AT,
    Answer,
    OpenAIStub,
    Turn,
    cut,
    fragments,
    spoken,
    usage_numbers,
)
from testsupport.stubs.openai.wire import SERVER_ERROR, error_response, now, text_of

Emit = Callable[..., Awaitable[None]]


def responses_turn(stub: OpenAIStub, body: Body) -> Turn | web.Response:
    """The turn a request asks for, continuing the stored response it chains on; a 400
    for what OpenAI refuses (unknown previous response, outputs for unknown calls, calls
    of the previous response left unanswered)."""
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        return error_response(400, "Missing required parameter: 'input'.", param="input")
    previous_id = body.get("previous_response_id")
    previous: dict[str, Any] = {"calls": {}, "chars": 0, "last_user": ""}
    if previous_id is not None:
        if previous_id not in stub.stored:
            return error_response(
                400,
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        previous = stub.stored[previous_id]
    known: dict[str, str] = dict(previous["calls"])
    answered: set[str] = set()
    last_user, results, chars = previous["last_user"], None, previous["chars"]
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call":
            known[item["call_id"]] = item["name"]
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in known:
                return error_response(
                    400,
                    f"No tool call found for function call output with call_id {call_id}.",
                    param="input",
                )
            answered.add(call_id)
            results = [*(results or []), (known[call_id], str(item.get("output", "")))]
            chars += len(str(item.get("output", "")))
            continue
        elif kind == "message":
            text = text_of(item.get("content"))
            chars += len(text)
            if item.get("role") == "user":
                last_user = text
        results = None
    missing = [cid for cid in previous["calls"] if cid not in answered]
    if missing:
        return error_response(
            400, f"No tool output found for function call {missing[0]}.", param="input"
        )
    offered = {t.get("name") for t in body.get("tools") or [] if t.get("type") == "function"}
    return Turn(
        str(body.get("instructions") or ""),
        last_user,
        results,
        offered,
        body.get("max_output_tokens"),
        chars + len(str(body.get("instructions") or "")),
    )


def response_object(rid: str, body: Body, **fields: Any) -> dict[str, Any]:
    """The ``response`` object the lifecycle events carry, echoing the request's settings."""
    base = {
        "id": rid,
        "object": "response",
        "created_at": now(),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }
    return {**base, **fields}


class Cut(Exception):
    """The answer asked for the connection to close between two events."""


async def stream_reasoning(stub: OpenAIStub, emit: Emit, text: str) -> dict[str, Any]:
    """A reasoning item whose summary comes in two parts, as ``reasoning.summary`` streams
    it (``response.reasoning_summary_*`` events); returns the finished item."""
    rid = stub.new_id("rs")
    item: dict[str, Any] = {"id": rid, "type": "reasoning", "summary": []}
    await emit("response.output_item.added", output_index=0, item=item)
    parts = re.split(r"(?<=\.) ", text, maxsplit=1)
    summary = []
    for index, part in enumerate(parts):
        where = {"item_id": rid, "output_index": 0, "summary_index": index}
        empty = {"type": "summary_text", "text": ""}
        await emit("response.reasoning_summary_part.added", **where, part=empty)
        for word in part.split(" "):
            await emit("response.reasoning_summary_text.delta", **where, delta=word + " ")
        await emit("response.reasoning_summary_text.done", **where, text=part)
        done = {"type": "summary_text", "text": part}
        await emit("response.reasoning_summary_part.done", **where, part=done)
        summary.append(done)
    item = {**item, "summary": summary}
    await emit("response.output_item.done", output_index=0, item=item)
    return item


async def stream_refusal(stub: OpenAIStub, emit: Emit, text: str, index: int) -> dict[str, Any]:
    """A message whose one content part is a refusal, as OpenAI streams one."""
    mid = stub.new_id("msg")
    where = {"item_id": mid, "output_index": index, "content_index": 0}
    item: dict[str, Any] = {
        "id": mid,
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    await emit("response.output_item.added", output_index=index, item=item)
    await emit("response.content_part.added", **where, part={"type": "refusal", "refusal": ""})
    for word in text.split(" "):
        await emit("response.refusal.delta", **where, delta=word + " ")
    await emit("response.refusal.done", **where, refusal=text)
    part = {"type": "refusal", "refusal": text}
    await emit("response.content_part.done", **where, part=part)
    item = {**item, "status": "completed", "content": [part]}
    await emit("response.output_item.done", output_index=index, item=item)
    return item


async def stream_message(
    stub: OpenAIStub, emit: Emit, words: list[str], answer: Answer, index: int = 0
) -> dict[str, Any] | None:
    """Streams the text as one message item and returns it; None when the answer fails
    at ``FAIL_AT`` (the caller then sends ``response.failed``); raises ``Cut`` when it asks
    for the connection to close."""
    fail = answer.fail
    fail_at = 0 if answer.error_first else FAIL_AT
    mid = stub.new_id("msg")
    where = {"item_id": mid, "output_index": index, "content_index": 0}
    item: dict[str, Any] = {
        "id": mid,
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    part: dict[str, Any] = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    await emit("response.output_item.added", output_index=index, item=item)
    await emit("response.content_part.added", **where, part=part)
    for position, word in enumerate(words):
        if fail and position == fail_at:
            return None
        if answer.cut and position == CUT_AT:
            raise Cut
        await stub.pace(position)
        await emit("response.output_text.delta", **where, delta=word, logprobs=[])
    text = "".join(words)
    part = {**part, "text": text}
    await emit("response.output_text.done", **where, text=text, logprobs=[])
    await emit("response.content_part.done", **where, part=part)
    item = {**item, "status": "completed", "content": [part]}
    await emit("response.output_item.done", output_index=index, item=item)
    return item


async def stream_failure(emit: Emit, rid: str, body: Body, answer: Answer) -> None:
    """How a failing answer ends: ``response.failed``, or an ``error`` event in the flat
    shape OpenAI documents or the nested shape seen from OpenAI and Azure."""
    message = SERVER_ERROR if answer.failed_code == "server_error" else "Input is too long."
    if answer.error == "flat":
        await emit("error", code=answer.failed_code, message=message, param=None)
    elif answer.error == "nested":
        error = {"type": "server_error", "code": answer.failed_code, "message": message}
        await emit("error", error={**error, "param": None})
    else:
        error = {"code": answer.failed_code, "message": message}
        await emit(
            "response.failed", response=response_object(rid, body, status="failed", error=error)
        )


async def stream_calls(
    stub: OpenAIStub, emit: Emit, answer: Answer, output: list[dict[str, Any]]
) -> dict[str, str]:
    """Streams each call as a function_call item appended to ``output``; returns the new
    calls (call id -> tool name) for the stored response to check outputs against."""
    calls: dict[str, str] = {}
    for name, arguments in answer.calls:
        index, call_id, fid = len(output), stub.new_id("call"), stub.new_id("fc")
        raw, pieces = fragments(arguments)
        item = {
            "id": fid,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call_id,
            "name": name,
        }
        await emit("response.output_item.added", output_index=index, item=item)
        for piece in pieces:
            await emit(
                "response.function_call_arguments.delta",
                item_id=fid,
                output_index=index,
                delta=piece,
            )
        await emit(
            "response.function_call_arguments.done", item_id=fid, output_index=index, arguments=raw
        )
        item = {**item, "status": "completed", "arguments": raw}
        await emit("response.output_item.done", output_index=index, item=item)
        output.append(item)
        calls[call_id] = name
    return calls


def usage_of(
    stub: OpenAIStub, body: Body, turn: Turn, said: str, reasoning: str = ""
) -> dict[str, Any]:
    """Usage as OpenAI reports it: the chained context counts as cached input, reasoning
    inside the output tokens."""
    prompt_tokens, output_tokens = usage_numbers(turn, said)
    thought = estimate_tokens(reasoning) if reasoning else 0
    output_tokens += thought
    previous = stub.stored.get(body.get("previous_response_id") or "", {"chars": 0})
    cached = estimate_tokens("x" * previous["chars"]) if previous["chars"] else 0
    return {
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": min(cached, prompt_tokens)},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": thought},
        "total_tokens": prompt_tokens + output_tokens,
    }


async def stream_response(
    request: web.Request, stub: OpenAIStub, body: Body, turn: Turn, answer: Answer
) -> web.StreamResponse:
    """Streams the answer as one response and stores it (unless ``store`` is false) so the
    next request may chain on it."""
    rid = stub.new_id("resp")
    stub.response_ids.append(rid)
    out = await sse.open_stream(request)
    seq = itertools.count()

    async def emit(kind: str, **data: Any) -> None:
        await sse.send(out, {"type": kind, "sequence_number": next(seq), **data}, kind)

    await emit("response.created", response=response_object(rid, body))
    await emit("response.in_progress", response=response_object(rid, body))
    output: list[dict[str, Any]] = []
    if answer.unknown:  # newer than the SDK: an event type and an output item it lacks
        await emit("response.future_feature.delta", item_id="fx_1", output_index=0, delta="?")
        await emit(
            "response.output_item.added", output_index=0, item={"id": "fx_1", "type": "future_item"}
        )
    if answer.reasoning:
        output.append(await stream_reasoning(stub, emit, answer.reasoning))
    if answer.refusal:
        output.append(await stream_refusal(stub, emit, answer.refusal, len(output)))
    words, truncated = cut(answer, turn.max_tokens)
    if words:
        try:
            message = await stream_message(stub, emit, words, answer, len(output))
        except Cut:
            assert request.transport is not None
            request.transport.close()
            return out
        if message is None:
            await stream_failure(emit, rid, body, answer)
            return out
        output.append(message)
    calls = await stream_calls(stub, emit, answer, output)
    said = spoken(words, answer)
    usage = usage_of(stub, body, turn, said, answer.reasoning)
    stub.usages.append(usage)
    if answer.filtered:
        truncated = True
    if truncated:
        final = response_object(
            rid,
            body,
            status="incomplete",
            output=output,
            usage=usage,
            incomplete_details={
                "reason": "content_filter" if answer.filtered else "max_output_tokens"
            },
        )
        await emit("response.incomplete", response=final)
    else:
        final = response_object(rid, body, status="completed", output=output, usage=usage)
        await emit("response.completed", response=final)
    if body.get("store", True):
        stub.stored[rid] = {
            "calls": calls,
            "chars": turn.input_chars + len(said),
            "last_user": turn.last_user,
        }
    return out


responses = endpoint("responses", responses_turn, stream_response)
