"""A stub OpenAI server: ``POST /v1/responses`` and ``POST /v1/chat/completions``, streamed
in the real wire formats, so that the real ``openai`` SDK (and azuchi's adapters) run
against it unchanged.

What it answers is scripted by the LAST user text it receives:
- the last input item is a tool result -> a text answer quoting every tool result;
- a title request (instructions / system prompt starting "Write a title") -> a short title;
- "throttle" -> HTTP 429 the first 2 times for that exact text, then a normal reply;
- "fail" -> a few words, then the provider's mid-stream error;
- "stall" -> waits ``stall_s`` before answering (to try timeouts);
- "plan" -> calls ``update_plan`` and ``current_time`` (if offered);
- arithmetic such as "12 * 7" -> calls ``calculate`` (if offered);
- anything else -> a reply of ``reply_tokens`` words, one word per event.

Like the real APIs it validates what matters: a ``previous_response_id`` it does not know (or
one a test expired) is HTTP 400 ``previous_response_not_found``; a tool result must answer a
known call; a chat ``tool`` message needs the assistant ``tool_calls`` before it and (as
some servers insist) tools declared. Mid-stream failures: ``response.failed`` (Responses);
an ``{"error": {...}}`` data payload, then the connection closes (chat, as OpenAI and vLLM).

Run it alone: ``python -m tests.stubs.openai --port 8100`` and point azuchi at it with
``OPENAI_BASE_URL=http://127.0.0.1:8100/v1``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.memory.scripted_model import ARITHMETIC
from core.services.history import estimate_tokens
from tests.stubs import sse

FILLER = (
    "the castle of Azuchi stood on a hill above Lake Biwa and its keep rose seven floors "
    "painted in gold and red so that travellers saw it from far away"
).split()
PLAN_STEPS = ["Read the request", "Look up the current time", "Answer with what I found"]
SERVER_ERROR = (
    "An error occurred while processing your request. You can retry your request, or contact "
    "us through our help center at help.openai.com if the error persists."
)


@dataclass(slots=True)
class Turn:
    """A request seen the same way for both APIs."""

    system: str
    last_user: str
    tool_results: list[tuple[str, str]] | None  # (tool name, output) when the input ends so
    offered: set[str]
    max_tokens: int | None
    input_chars: int


@dataclass(slots=True)
class Answer:
    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: bool = False


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

    # --- what to answer -----------------------------------------------------------------

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
            return _throttled()
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
        return Answer(text=" ".join(words), fail="fail" in text)

    async def pace(self, index: int) -> None:
        if index and self.tokens_per_second > 0:
            await asyncio.sleep(1 / self.tokens_per_second)
        elif index:
            await asyncio.sleep(0)


def error_response(
    status: int,
    message: str,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status)


def _throttled() -> web.Response:
    message = (
        "Rate limit reached for requests in organization org-stub on tokens per min (TPM): "
        "Limit 30000, Used 30000, Requested 120. Please try again in 20ms. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    )
    response = error_response(429, message, code="rate_limit_exceeded", kind="tokens")
    response.headers["x-ratelimit-reset-tokens"] = "20ms"
    return response


def words_of(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


def cut(answer: Answer, max_tokens: int | None) -> tuple[list[str], bool]:
    """The words to stream, and whether the token budget cut them short."""
    words = words_of(answer.text)
    if max_tokens is not None and len(words) > max_tokens:
        return words[:max_tokens], True
    return words, False


def usage_numbers(turn: Turn, output: str) -> tuple[int, int]:
    return estimate_tokens("x" * max(1, turn.input_chars)), estimate_tokens(output or "x")


STUB = web.AppKey("stub", OpenAIStub)


@asynccontextmanager
async def running_openai_stub(
    host: str = "127.0.0.1", port: int = 0, **knobs: Any
) -> AsyncIterator[OpenAIStub]:
    """Serves a stub until the block ends; ``stub.url`` is the base URL (``.../v1``)."""
    stub = OpenAIStub(**knobs)
    app = web.Application()
    app[STUB] = stub
    app.router.add_post("/v1/responses", responses)
    app.router.add_post("/v1/chat/completions", chat_completions)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stub.url = f"http://{host}:{bound}/v1"
    try:
        yield stub
    finally:
        await runner.cleanup()


async def read_body(request: web.Request, endpoint: str) -> dict[str, Any] | web.Response:
    stub: OpenAIStub = request.app[STUB]
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return error_response(400, "We could not parse the JSON body of your request.")
    if not isinstance(body, dict):
        return error_response(400, "The request body must be a JSON object.")
    stub.requests.append(body)
    stub.endpoints.append(endpoint)
    if not body.get("model"):
        return error_response(400, "Missing required parameter: 'model'.", param="model")
    return body


def now() -> int:
    return int(time.time())


# --- POST /v1/responses -------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "input_text", "text": ...}, ...]
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def responses_turn(stub: OpenAIStub, body: dict[str, Any]) -> Turn | web.Response:
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
            text = _text_of(item.get("content"))
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


def _response(stub: OpenAIStub, rid: str, body: dict[str, Any], **fields: Any) -> dict[str, Any]:
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


async def responses(request: web.Request) -> web.StreamResponse:
    stub: OpenAIStub = request.app[STUB]
    body = await read_body(request, "responses")
    if isinstance(body, web.Response):
        return body
    turn = responses_turn(stub, body)
    if isinstance(turn, web.Response):
        return turn
    answer = await stub.answer(turn, "responses")
    if isinstance(answer, web.Response):
        return answer
    rid = stub.new_id("resp")
    stub.response_ids.append(rid)
    out = await sse.open_stream(request)
    seq = itertools.count()

    async def emit(kind: str, **data: Any) -> None:
        await sse.send(out, {"type": kind, "sequence_number": next(seq), **data}, kind)

    await emit("response.created", response=_response(stub, rid, body))
    await emit("response.in_progress", response=_response(stub, rid, body))
    output: list[dict[str, Any]] = []
    words, truncated = cut(answer, turn.max_tokens)
    if words:
        mid = stub.new_id("msg")
        item: dict[str, Any] = {
            "id": mid,
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        part: dict[str, Any] = {
            "type": "output_text",
            "annotations": [],
            "logprobs": [],
            "text": "",
        }
        await emit("response.output_item.added", output_index=0, item=item)
        await emit(
            "response.content_part.added", item_id=mid, output_index=0, content_index=0, part=part
        )
        for index, word in enumerate(words):
            if answer.fail and index == 5:
                error = {"code": "server_error", "message": SERVER_ERROR}
                failed = _response(stub, rid, body, status="failed", error=error)
                await emit("response.failed", response=failed)
                return out
            await stub.pace(index)
            if index == 0:
                stub.first_byte_at.append(time.perf_counter())
            await emit(
                "response.output_text.delta",
                item_id=mid,
                output_index=0,
                content_index=0,
                delta=word,
                logprobs=[],
            )
        text = "".join(words)
        part = {**part, "text": text}
        await emit(
            "response.output_text.done",
            item_id=mid,
            output_index=0,
            content_index=0,
            text=text,
            logprobs=[],
        )
        await emit(
            "response.content_part.done", item_id=mid, output_index=0, content_index=0, part=part
        )
        item = {**item, "status": "completed", "content": [part]}
        await emit("response.output_item.done", output_index=0, item=item)
        output.append(item)
    calls: dict[str, str] = {}
    for name, arguments in answer.calls:
        index, call_id, fid = len(output), stub.new_id("call"), stub.new_id("fc")
        raw = json.dumps(arguments)
        item = {
            "id": fid,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call_id,
            "name": name,
        }
        await emit("response.output_item.added", output_index=index, item=item)
        for piece in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
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
    said = "".join(words) + "".join(json.dumps(a) for _, a in answer.calls)
    prompt_tokens, output_tokens = usage_numbers(turn, said)
    previous = stub.stored.get(body.get("previous_response_id") or "", {"chars": 0})
    cached = estimate_tokens("x" * previous["chars"]) if previous["chars"] else 0
    usage = {
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": min(cached, prompt_tokens)},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt_tokens + output_tokens,
    }
    stub.usages.append(usage)
    if truncated:
        final = _response(
            stub,
            rid,
            body,
            status="incomplete",
            output=output,
            usage=usage,
            incomplete_details={"reason": "max_output_tokens"},
        )
        await emit("response.incomplete", response=final)
    else:
        final = _response(stub, rid, body, status="completed", output=output, usage=usage)
        await emit("response.completed", response=final)
    if body.get("store", True):
        stub.stored[rid] = {
            "calls": calls,
            "chars": turn.input_chars + len(said),
            "last_user": turn.last_user,
        }
    return out


# --- POST /v1/chat/completions --------------------------------------------------------------


def chat_turn(stub: OpenAIStub, body: dict[str, Any]) -> Turn | web.Response:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return error_response(400, "Missing required parameter: 'messages'.", param="messages")
    tools = body.get("tools") or []
    pending: dict[str, str] = {}  # tool_call_id -> name, awaiting its tool message
    known: dict[str, str] = {}
    system, last_user, results, chars = "", "", None, 0
    for index, message in enumerate(messages):
        role, text = message.get("role"), _text_of(message.get("content"))
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
    return Turn(system, last_user, results, offered, limit, chars)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    stub: OpenAIStub = request.app[STUB]
    body = await read_body(request, "chat")
    if isinstance(body, web.Response):
        return body
    turn = chat_turn(stub, body)
    if isinstance(turn, web.Response):
        return turn
    answer = await stub.answer(turn, "chat")
    if isinstance(answer, web.Response):
        return answer
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
    words, truncated = cut(answer, turn.max_tokens)
    for index, word in enumerate(words):
        if answer.fail and index == 5:
            error = {"message": SERVER_ERROR, "type": "server_error", "param": None, "code": None}
            await sse.send(out, {"error": error})
            await out.write_eof()
            return out
        await stub.pace(index)
        if index == 0:
            stub.first_byte_at.append(time.perf_counter())
        await chunk({"content": word})
    for index, (name, arguments) in enumerate(answer.calls):
        raw = json.dumps(arguments)
        first = {
            "index": index,
            "id": stub.new_id("call"),
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        await chunk({"tool_calls": [first]})
        for piece in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
            await chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    finish = "tool_calls" if answer.calls else ("length" if truncated else "stop")
    await chunk({}, finish)
    if with_usage:
        said = "".join(words) + "".join(json.dumps(a) for _, a in answer.calls)
        prompt_tokens, output_tokens = usage_numbers(turn, said)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": prompt_tokens + output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        stub.usages.append(usage)
        await chunk(None, usage=usage)
    await sse.send(out, "[DONE]")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--tokens-per-second", type=float, default=30.0)
    parser.add_argument("--reply-tokens", type=int, default=40)
    parser.add_argument("--no-usage", action="store_true", help="chat: never send usage")
    args = parser.parse_args()

    async def serve() -> None:
        async with running_openai_stub(
            args.host,
            args.port,
            tokens_per_second=args.tokens_per_second,
            reply_tokens=args.reply_tokens,
            omit_usage=args.no_usage,
        ) as stub:
            print(f"OpenAI stub at {stub.url}  (OPENAI_BASE_URL={stub.url})", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
