"""A real local model, straight and through azuchi: time to first token and tokens per
second from llama-cpp-python's server running SmolLM2-135M-Instruct, measured in the same
run both ways, and their ratio.

    .venv/bin/python bench/local_model_bench.py [--replies 6] [--max-tokens 96]
    (make bench-local-model)

Direct: the OpenAI SDK streams ``/v1/chat/completions`` from the server; first token is
the first chunk with text, tokens/s is the server's ``completion_tokens`` over the time
from first to last text chunk. Through azuchi: a WebSocket client of ``azuchi serve``'s
local gateway (``openai-chat`` adapter) sends putMessage; first token is the first
``delta`` frame, tokens/s is the ``done`` frame's ``outputTokens`` over first delta to
``done``. The two alternate, same prompt, temperature 0, same output limit, so load on the
machine hits both alike. Prints medians; asserts nothing (shared machines are noisy).
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

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.bootstrap import build_app
from adapters.local_gateway import serving
from adapters.settings import Settings
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from testsupport.llama_server import MODEL_ALIAS, LlamaServer, LlamaUnavailable

PROMPT = "Describe a Japanese castle in a few sentences."
Sample = tuple[float, float]  # (first token ms, tokens per second)


async def direct(server: LlamaServer, max_tokens: int) -> Sample:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="local", base_url=server.base_url, max_retries=0, timeout=300)
    try:
        started = time.perf_counter()
        first = last = 0.0
        tokens = chunks = 0
        stream = await client.chat.completions.create(
            model=MODEL_ALIAS,
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=max_tokens,
            temperature=0,
        )
        async for chunk in stream:
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
            if chunk.choices and chunk.choices[0].delta.content:
                last = time.perf_counter()
                first = first or last
                chunks += 1
    finally:
        await client.close()
    # llama-cpp-python sends no usage in a stream: one chunk is one token there
    return (first - started) * 1000, (tokens or chunks) / max(last - first, 1e-9)


async def through_azuchi(ws: aiohttp.ClientWebSocketResponse) -> Sample:
    started = time.perf_counter()
    await ws.send_str(json.dumps({"action": "putMessage", "message": PROMPT}))
    first = 0.0
    while True:
        frame = json.loads((await ws.receive(timeout=300)).data)
        if frame["type"] == "delta" and frame["messageType"] == "CONVERSATION" and not first:
            first = time.perf_counter()
        if frame["type"] == "done":
            done_at = time.perf_counter()
            tokens = frame["usage"]["outputTokens"]
            return (first - started) * 1000, tokens / max(done_at - first, 1e-9)


async def run(replies: int, max_tokens: int) -> tuple[list[Sample], list[Sample]]:
    server = LlamaServer().start()
    try:
        env = server.env(
            AZUCHI_MAX_OUTPUT_TOKENS=str(max_tokens), AZUCHI_TEMPERATURE="0", AZUCHI_TITLES="false"
        )
        os.environ.update(env)
        app = build_app(Settings.from_env(env))
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
                    plain = await direct(server, max_tokens)
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
    print(f"{'':<28} {'first token ms':>15} {'tokens/s':>10}")
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
