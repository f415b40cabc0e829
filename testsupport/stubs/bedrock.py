"""A stub of Bedrock's ConverseStream (``POST /model/{modelId}/converse-stream``) that speaks
the real wire format: AWS event-stream framing (``testsupport/stubs/eventstream.py``), errors
before the stream as JSON with an ``x-amzn-ErrorType`` header, errors inside it as exception
messages. It refuses what the service refuses (``testsupport/stubs/bedrock_validation.py``) and
accounts for prompt caching by prefix.

The LAST user text scripts the answer, deterministically:
- "fail": a few words, then a ``modelStreamErrorException`` in the stream;
- "throttle": ``ThrottlingException`` (429) the first 2 times for that exact text;
- "stall": the stream starts, then nothing comes (the client's read timeout fires);
- "drop": two words, then the connection closes in the middle of a frame;
- "cut": two words, then the connection closes between two frames;
- "fail first": a ``modelStreamErrorException`` before any text (the first 2 times);
- "unready" / "status 503" / "status 424": ``ModelNotReadyException`` (429),
  ``ServiceUnavailableException`` (503), ``ModelErrorException`` (424), the first 2 times;
- "too long": ``ValidationException`` "Input is too long for requested model.";
- "stop:<reason>": the reply ends with that ``stopReason`` (guardrail_intervened,
  content_filtered, model_context_window_exceeded, stop_sequence, max_tokens ...);
- "reason": a reasoning block (text, then its signature) before the text, as extended
  thinking streams it; a request with ``thinking`` enabled always gets one, and its tool
  follow-ups are refused unless the assistant turn starts with that block, as Claude does;
- "redact": a redacted (encrypted) reasoning block;
- "cite": a citation delta on the text block;
- "future": an event type this botocore does not know;
- "plan": ``update_plan`` {"steps": [...]} and ``current_time`` {}, if offered;
- arithmetic like "12 * 7": ``calculate`` {"expression": "12 * 7"}, if offered;
- tool results as the last input: an answer quoting them;
- a title request (system prompt starts with "Write a title"): a few words of the user text;
- otherwise: ``reply_tokens`` words, one per event, at ``tokens_per_second`` (0: at once).
A model id containing "no-access" gets ``AccessDeniedException``.

Run it alone: ``python -m testsupport.stubs.bedrock --port 4010 --tokens-per-second 50``, then
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME=<url> AZUCHI_MODEL=bedrock azuchi serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testsupport.stubs.bedrock_validation import (
    MAX_OUTPUT_TOKENS,
    Refused,
    offered_tools,
    thinking_on,
    validate,
    validate_thinking,
)
from testsupport.stubs.eventstream import event, exception

THROTTLE_TIMES = 2
# Errors before the stream, by trigger word: (HTTP status, error code, message).
REFUSALS = {
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "unready": (429, "ModelNotReadyException", "Model is not ready to serve inference requests."),
    "status 503": (
        503,
        "ServiceUnavailableException",
        "Bedrock is unable to process your request.",
    ),
    "status 424": (424, "ModelErrorException", "The model returned an error while processing."),
}
SIGNATURE = "EqQBCkYIBxgCKkBstubsignature0123456789"
ARITHMETIC = re.compile(r"(\d+(?:\.\d+)?\s*[-+*/]\s*)+\d+(?:\.\d+)?")
FILLER = (
    "azuchi streams replies in coalesced frames keeps every message in its store lets a "
    "reconnecting client resume where it left off and runs one reply per session at a time"
).split()
CORAL = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


@dataclass
class BedrockStub:
    tokens_per_second: float = 0.0
    reply_tokens: int = 40
    stall_s: float = 30.0
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    first_byte_at: list[float] = field(default_factory=list)
    _throttled: dict[str, int] = field(default_factory=dict)
    _cached: set[str] = field(default_factory=set)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            if not request.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
                raise Refused(
                    403, "MissingAuthenticationTokenException", "Missing Authentication Token"
                )
            body = await request.json()
            self.requests.append(body)
            model_id = request.match_info["model_id"]
            if "no-access" in model_id:
                raise Refused(
                    403,
                    "AccessDeniedException",
                    "You don't have access to the model with the specified model ID.",
                )
            validate(body)
            if thinking_on(body):
                validate_thinking(body)
            text = last_user_text(body)
            if "too long" in text:
                raise Refused(400, "ValidationException", "Input is too long for requested model.")
            for trigger, (status, code, message) in REFUSALS.items():
                if trigger in text and self._refuse(text):
                    raise Refused(status, code, message)
        except Refused as refused:
            return web.json_response(
                {"message": refused.message},
                status=refused.status,
                headers={
                    "x-amzn-ErrorType": refused.code + CORAL,
                    "x-amzn-RequestId": str(uuid.uuid4()),
                },
            )
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/vnd.amazon.eventstream",
                "x-amzn-RequestId": str(uuid.uuid4()),
            }
        )
        await response.prepare(request)
        await self._stream(response, body, text, request.transport)
        if request.transport is not None and not request.transport.is_closing():
            await response.write_eof()
        return response

    def _refuse(self, text: str) -> bool:
        """True the first ``THROTTLE_TIMES`` times a text asks to be refused."""
        seen = self._throttled.get(text, 0)
        self._throttled[text] = seen + 1
        return seen < THROTTLE_TIMES

    async def _stream(
        self, response: web.StreamResponse, body: dict[str, Any], text: str, transport: Any
    ) -> None:
        started = time.perf_counter()
        await response.write(event("messageStart", {"role": "assistant"}, padding=18))
        if "stall" in text:
            await self._stall()
            return
        if "fail first" in text and self._refuse(text):
            await response.write(
                exception(
                    "modelStreamErrorException",
                    "The model stream was interrupted. Retry your request.",
                    originalStatusCode=500,
                )
            )
            return
        if "future" in text:
            await response.write(event("futureEvent", {"anything": 1}))
        index = 0
        if thinking_on(body) or "reason" in text:
            await self._reasoning(response, index, text)
            index += 1
        if "redact" in text:
            blob = base64.b64encode(b"\x00encrypted-thinking\xff").decode()
            delta = {
                "contentBlockIndex": index,
                "delta": {"reasoningContent": {"redactedContent": blob}},
            }
            await response.write(event("contentBlockDelta", delta))
            await response.write(event("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        limit = body.get("inferenceConfig", {}).get("maxTokens", MAX_OUTPUT_TOKENS)
        words, calls = self._script(body, text)
        stop = "tool_use" if calls else "end_turn"
        asked = re.search(r"stop:([a-z_]+)", text)
        if asked:
            stop = asked.group(1)
        if len(words) > limit:
            words, calls, stop = words[:limit], [], "max_tokens"
        interval = 1 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0
        for position, word in enumerate(words):
            if position == 0:
                self.first_byte_at.append(time.perf_counter())
            elif interval:
                await asyncio.sleep(interval)
            if "cut" in text and position == 2:  # the connection dies between two frames
                assert transport is not None
                transport.close()
                return
            if "drop" in text and position == 2:  # the connection dies in the middle of a frame
                frame = event(
                    "contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": word}}
                )
                await response.write(frame[: len(frame) // 2])
                assert transport is not None
                transport.close()
                return
            if "fail" in text and "fail first" not in text and position == 3:
                await response.write(
                    exception(
                        "modelStreamErrorException",
                        "The model stream was interrupted. Retry your request.",
                        originalStatusCode=500,
                    )
                )
                return
            piece = word if position == len(words) - 1 else word + " "
            delta = {"contentBlockIndex": index, "delta": {"text": piece}}
            await response.write(event("contentBlockDelta", delta, padding=len(piece) % 7 + 1))
        if words and "cite" in text:
            citation = {
                "title": "Azuchi Castle",
                "sourceContent": [{"text": "Azuchi Castle was built by Oda Nobunaga."}],
                "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 40}},
            }
            delta = {"contentBlockIndex": index, "delta": {"citation": citation}}
            await response.write(event("contentBlockDelta", delta))
        if words:
            await response.write(event("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        for offset, (name, arguments) in enumerate(calls):
            await self._tool_use(response, index + offset, name, arguments, text)
        await response.write(event("messageStop", {"stopReason": stop}, padding=5))
        usage = self._usage(body, output_tokens=len(words) + 8 * len(calls))
        latency = int((time.perf_counter() - started) * 1000)
        await response.write(event("metadata", {"usage": usage, "metrics": {"latencyMs": latency}}))

    async def _tool_use(
        self, response: web.StreamResponse, index: int, name: str, args: dict[str, Any], text: str
    ) -> None:
        tool_id = "tooluse_" + hashlib.sha1(f"{text}/{name}".encode()).hexdigest()[:22]
        start = {
            "contentBlockIndex": index,
            "start": {"toolUse": {"toolUseId": tool_id, "name": name}},
        }
        await response.write(event("contentBlockStart", start))
        raw = json.dumps(args)
        for at in range(0, len(raw), 9):  # the input arrives as fragments of JSON
            delta = {"contentBlockIndex": index, "delta": {"toolUse": {"input": raw[at : at + 9]}}}
            await response.write(event("contentBlockDelta", delta))
        await response.write(event("contentBlockStop", {"contentBlockIndex": index}))

    async def _reasoning(self, response: web.StreamResponse, index: int, text: str) -> None:
        """A reasoning block as extended thinking streams it: text pieces, then one
        signature delta, then the block's stop."""
        for piece in ("The user wrote ", f"{len(text.split())} words; ", "I will answer briefly."):
            delta = {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}}
            await response.write(event("contentBlockDelta", delta))
        delta = {
            "contentBlockIndex": index,
            "delta": {"reasoningContent": {"signature": SIGNATURE}},
        }
        await response.write(event("contentBlockDelta", delta))
        await response.write(event("contentBlockStop", {"contentBlockIndex": index}))

    async def _stall(self) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), self.stall_s)
        except TimeoutError:
            pass

    def _script(self, body: dict[str, Any], text: str) -> tuple[list[str], list[tuple[str, Any]]]:
        """The words of the reply and the tool calls (name, arguments) it makes."""
        results = tool_results(body)
        if results:
            quoted = " ".join(f"{name} answered: {content}." for name, content in results)
            return f"Here is what the tools said. {quoted}".split(), []
        system = " ".join(block.get("text", "") for block in body.get("system", []))
        if system.startswith("Write a title"):
            first = text.split("\n", 1)[0].removeprefix("User:").strip()
            return (re.findall(r"[\w'-]+", first)[:4] or ["New", "chat"]), []
        offered = offered_tools(body)
        calls: list[tuple[str, Any]] = []
        if "plan" in text.lower() and "update_plan" in offered:
            steps = ["Read the request", "Look up the current time", "Answer with what I found"]
            calls.append(("update_plan", {"steps": steps}))
            if "current_time" in offered:
                calls.append(("current_time", {}))
        match = ARITHMETIC.search(text)
        if match and "calculate" in offered:
            calls.append(("calculate", {"expression": match.group(0)}))
        if calls:
            return "Let me work on that.".split(), calls
        words = f'You said: "{" ".join(text.split()[:30])}".'.split()
        while len(words) < self.reply_tokens:
            words.append(FILLER[len(words) % len(FILLER)])
        return words[: self.reply_tokens], []

    def _usage(self, body: dict[str, Any], output_tokens: int) -> dict[str, int]:
        """Tokens ~ characters / 4. The prefix up to each cache point is cached: read when an
        earlier request wrote it, written otherwise (tools, then system, then messages)."""
        chars, digest, checkpoints = 0, hashlib.sha256(), []
        sections = [
            body.get("toolConfig", {}).get("tools", []),
            body.get("system", []),
            *(message["content"] for message in body.get("messages", [])),
        ]
        for blocks in sections:
            for block in blocks:
                if "cachePoint" in block:
                    checkpoints.append((chars, digest.hexdigest()))
                    continue
                piece = json.dumps(block, sort_keys=True)
                chars += len(piece)
                digest.update(piece.encode())
        read = max((c for c, key in checkpoints if key in self._cached), default=0)
        cached = checkpoints[-1][0] if checkpoints else 0
        self._cached.update(key for _, key in checkpoints)
        usage = {
            "inputTokens": max(1, (chars - cached) // 4),
            "outputTokens": output_tokens,
            "cacheReadInputTokens": read // 4,
            "cacheWriteInputTokens": (cached - read) // 4,
        }
        usage["totalTokens"] = sum(usage.values())
        return usage


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            texts = [block["text"] for block in message["content"] if "text" in block]
            if texts:
                return "\n".join(texts)
    return ""


def tool_results(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(tool name, result text) when the last message holds tool results, else []."""
    messages = body.get("messages", [])
    if len(messages) < 2:
        return []
    names = {
        block["toolUse"]["toolUseId"]: block["toolUse"]["name"]
        for block in messages[-2]["content"]
        if "toolUse" in block
    }
    return [
        (names.get(r["toolUseId"], "?"), " ".join(c.get("text", "") for c in r["content"]))
        for block in messages[-1]["content"]
        if (r := block.get("toolResult"))
    ]


@asynccontextmanager
async def running_bedrock_stub(
    tokens_per_second: float = 0.0,
    reply_tokens: int = 40,
    host: str = "127.0.0.1",
    port: int = 0,
    stall_s: float = 30.0,
) -> AsyncIterator[BedrockStub]:
    stub = BedrockStub(tokens_per_second, reply_tokens, stall_s)
    app = web.Application(client_max_size=20 * 1024 * 1024)
    app.router.add_post("/model/{model_id}/converse-stream", stub.handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    stub.url = f"http://{host}:{bound}"
    try:
        yield stub
    finally:
        stub._closing.set()
        await runner.cleanup()


async def _serve(args: argparse.Namespace) -> None:
    async with running_bedrock_stub(
        args.tokens_per_second, args.reply_tokens, args.host, args.port
    ) as stub:
        print(f"Bedrock stub listening on {stub.url}", flush=True)
        print(f"  AWS_ENDPOINT_URL_BEDROCK_RUNTIME={stub.url} AZUCHI_MODEL=bedrock azuchi serve")
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="A stub of Bedrock's ConverseStream.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--reply-tokens", type=int, default=40)
    try:
        asyncio.run(_serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
