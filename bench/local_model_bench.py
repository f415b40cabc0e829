"""A real local model, straight and through azuchi: time to first token and streaming
speed from llama-cpp-python's server running SmolLM2-135M-Instruct, measured in the same
run both ways, and their ratio.

    .venv/bin/python bench/local_model_bench.py [--replies 6] [--max-tokens 96]
    (make bench-local-model)

Direct: the OpenAI SDK streams ``/v1/chat/completions`` from the server; first token is
the first chunk with text, speed is the characters of text over the time from the first
to the last text chunk. Through azuchi: a WebSocket client of ``azuchi serve``'s local
gateway (``openai-chat`` adapter) sends putMessage; first token is the first ``delta``
frame, speed the characters of the deltas over the first to the last delta (characters,
as llama-cpp-python reports no token usage in a stream and azuchi would estimate it).
Like for like: the direct request is the one azuchi's adapter builds for the
first model call of a reply (its system prompt, its tool definitions, the same output limit
and temperature 0), sent by the same SDK. The two alternate, so load on the machine hits
both alike. Prints medians; asserts nothing (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.bootstrap import build_app
from adapters.local_gateway import serving
from adapters.settings import Settings
from core.domain import ModelRequest
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from testsupport.llama_server import LlamaServer, LlamaUnavailable

PROMPT = "Describe a Japanese castle in a few sentences."
Sample = tuple[float, float]  # (first token ms, characters per second)


def azuchi_request(app: Any) -> dict[str, Any]:
    """The keyword arguments azuchi's ``openai-chat`` adapter gives the SDK for the first
    call of a reply to PROMPT in a new session."""
    request = ModelRequest(
        system=app.settings.chat.system_prompt,
        history=(),
        prompt=PROMPT,
        tools=tuple(tool.spec for tool in app.tools.values()),
    )
    params: dict[str, Any] = app.model.params(request)
    return params


async def direct(server: LlamaServer, params: dict[str, Any]) -> Sample:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="local", base_url=server.base_url, max_retries=0, timeout=300)
    try:
        started = time.perf_counter()
        first = last = 0.0
        chars = 0
        stream = await client.chat.completions.create(**params)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                last = time.perf_counter()
                first = first or last
                chars += len(chunk.choices[0].delta.content)
    finally:
        await client.close()
    return (first - started) * 1000, chars / max(last - first, 1e-9)


async def through_azuchi(ws: aiohttp.ClientWebSocketResponse) -> Sample:
    started = time.perf_counter()
    await ws.send_str(json.dumps({"action": "putMessage", "message": PROMPT}))
    first = last = 0.0
    chars = 0
    while True:
        frame = json.loads((await ws.receive(timeout=300)).data)
        if frame["type"] == "delta" and frame["messageType"] == "CONVERSATION":
            last = time.perf_counter()
            first = first or last
            chars += len(frame["text"])
        if frame["type"] == "done":
            return (first - started) * 1000, chars / max(last - first, 1e-9)


async def run(replies: int, max_tokens: int) -> tuple[list[Sample], list[Sample]]:
    server = LlamaServer().start()
    try:
        env = server.env(
            AZUCHI_MAX_OUTPUT_TOKENS=str(max_tokens), AZUCHI_TEMPERATURE="0", AZUCHI_TITLES="false"
        )
        os.environ.update(env)
        app = build_app(Settings.from_env(env))
        same = azuchi_request(app)
        straight: list[Sample] = []
        azuchi: list[Sample] = []
        try:
            async with (
                serving(
                    app, websocket_routes=WEBSOCKET_ROUTES, rest_routes=REST_ROUTES, port=0
                ) as gateway,
                aiohttp.ClientSession() as http,
            ):
                for index in range(replies + 1):  # the first of each warms up
                    # a new session per reply: every prompt the same, no history
                    async with http.ws_connect(gateway.ws_url) as ws:
                        via = await through_azuchi(ws)
                    plain = await direct(server, same)
                    if index:
                        azuchi.append(via)
                        straight.append(plain)
        finally:
            await app.aclose()
    finally:
        server.stop()
    return straight, azuchi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    try:
        straight, azuchi = asyncio.run(run(args.replies, args.max_tokens))
    except LlamaUnavailable as exc:
        sys.exit(f"no local model: {exc}")
    rows = [("direct (llama.cpp server)", straight), ("through azuchi (WebSocket)", azuchi)]
    print(
        f"SmolLM2-135M-Instruct on llama-cpp-python, {args.replies} replies each, "
        f"up to {args.max_tokens} tokens, medians"
    )
    print(f"{'':<28} {'first token ms':>15} {'chars/s':>10}")
    medians = []
    for name, samples in rows:
        first = statistics.median(s[0] for s in samples)
        rate = statistics.median(s[1] for s in samples)
        medians.append((first, rate))
        print(f"{name:<28} {first:15.1f} {rate:10.1f}")
    (d_first, d_rate), (a_first, a_rate) = medians
    print(
        f"{'ratio azuchi / direct':<28} {a_first / d_first:15.2f} {a_rate / d_rate:10.2f}"
        f"   (azuchi adds {a_first - d_first:+.1f} ms to the first token)"
    )


if __name__ == "__main__":
    main()
