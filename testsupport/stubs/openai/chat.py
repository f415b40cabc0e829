"""``POST /v1/chat/completions``: the chat-completions wire format (OpenAI, Ollama, vLLM,
llama.cpp). Requests are parsed into a ``Turn`` (checking tool messages follow their
calls), and answers are streamed as ``chat.completion.chunk`` deltas, ending ``[DONE]``."""

from __future__ import annotations

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


def chat_turn(stub: OpenAIStub, body: Body) -> Turn | web.Response:
    """The turn the messages ask for; a 400 for what servers refuse (tool messages that
    answer no call, calls left unanswered, and, where insisted, tools left undeclared)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return error_response(400, "Missing required parameter: 'messages'.", param="messages")
    tools = body.get("tools") or []
    pending: dict[str, str] = {}  # tool_call_id -> name, awaiting its tool message
    known: dict[str, str] = {}
    system, last_user, results, chars = "", "", None, 0
    for index, message in enumerate(messages):
        role, text = message.get("role"), text_of(message.get("content"))
        chars += len(text)
        if role != "tool" and pending:
            return error_response(
                400,
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(pending)}",
                param=f"messages.[{index}].role",
            )
        if role == "system" and index == 0:
            system = text
        elif role == "user":
            last_user, results = text, None
        elif role == "assistant":
            results = None
            for call in message.get("tool_calls") or []:
                pending[call["id"]] = known[call["id"]] = call["function"]["name"]
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in known:
                return error_response(
                    400,
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    param=f"messages.[{index}].role",
                )
            if not tools and stub.tools_required_for_tool_messages:
                return error_response(
                    400, "Tool messages were sent but no tools are defined.", param="tools"
                )
            pending.pop(call_id, None)
            results = [*(results or []), (known[call_id], text)]
    offered = (
        set()
        if body.get("tool_choice") == "none"
        else {t["function"]["name"] for t in tools if t.get("type") == "function"}
    )
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    return Turn(system, last_user, results, offered, limit, chars, bool(body.get("stream")))


def usage_of(turn: Turn, said: str, reasoning: str = "") -> dict[str, Any]:
    """Usage in the chat format, sent in its own chunk when ``include_usage`` asks for it;
    reasoning counts inside ``completion_tokens``, as OpenAI counts it."""
    prompt_tokens, output_tokens = usage_numbers(turn, said)
    thought = estimate_tokens(reasoning) if reasoning else 0
    output_tokens += thought
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": prompt_tokens + output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": thought,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


async def stream_chat(
    request: web.Request, stub: OpenAIStub, body: Body, turn: Turn, answer: Answer
) -> web.StreamResponse:
    """Streams the answer as chunks: role, words, call fragments, finish reason, usage. A
    failing answer sends an ``{"error": ...}`` payload and closes, as OpenAI and vLLM do."""
    if answer.empty:
        out = await sse.open_stream(request)
        await out.write_eof()
        return out
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    with_usage = with_usage and not stub.omit_usage
    cid, created = stub.new_id("chatcmpl"), now()
    out = await sse.open_stream(request)

    async def chunk(
        delta: dict[str, Any] | None, finish: str | None = None, usage: dict[str, Any] | None = None
    ) -> None:
        data: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body["model"],
            "system_fingerprint": "fp_stub",
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if with_usage:
            data["usage"] = usage
        await sse.send(out, data)

    await chunk({"role": "assistant", "content": "", "refusal": None})
    if answer.unknown:  # fields and members newer than the SDK: passed over
        await chunk({"content": "", "audio_future": {"id": "x"}, "annotations": [{"type": "new"}]})
    if answer.think_tags:
        thought = f"<think>{answer.reasoning}</think>\n\n"
        for at in range(0, len(thought), 7):  # tags arrive cut across chunks
            await chunk({"content": thought[at : at + 7]})
    elif answer.reasoning:
        for piece in answer.reasoning.split(" "):
            await chunk({"content": None, "reasoning_content": piece + " "})
    words, truncated = cut(answer, turn.max_tokens)
    fail_at = 0 if answer.error_first else FAIL_AT
    for index, word in enumerate(words):
        if answer.fail and index == fail_at:
            error = {"message": SERVER_ERROR, "type": "server_error", "param": None, "code": None}
            await sse.send(out, {"error": error})
            await out.write_eof()
            return out
        if answer.cut and index == CUT_AT:
            assert request.transport is not None
            request.transport.close()
            return out
        await stub.pace(index)
        await chunk({"content": word})
    for piece in answer.refusal.split(" ") if answer.refusal else ():
        await chunk({"content": None, "refusal": piece + " "})
    for index, (name, arguments) in enumerate(answer.calls):
        _, pieces = fragments(arguments)
        first = {
            "index": index,
            "id": stub.new_id("call"),
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        await chunk({"tool_calls": [first]})
        for piece in pieces:
            await chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    finish = "tool_calls" if answer.calls else ("length" if truncated else "stop")
    if answer.filtered:
        finish = "content_filter"
    await chunk({}, finish)
    if with_usage:
        usage = usage_of(turn, spoken(words, answer), answer.reasoning)
        stub.usages.append(usage)
        await chunk(None, usage=usage)
    await sse.send(out, "[DONE]")
    return out


chat_completions = endpoint("chat", chat_turn, stream_chat)
