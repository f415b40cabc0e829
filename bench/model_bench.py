"""Added latency of azuchi per model adapter: from the moment a stub model server writes the
first byte of reply text to the moment a WebSocket client receives the first delta frame.

    .venv/bin/python bench/model_bench.py [--replies 40] [--tokens-per-second 50]

What sits in that interval is everything azuchi adds: the SDK's stream parsing (AWS
event-stream or server-sent events), the adapter's translation, the agent loop, the delta
coalescer (the first delta is never held back), the fan-out, the local API Gateway and the
client's WebSocket read. The stub runs on its own thread and event loop; azuchi and the client
share the main loop (as a single busy server would). Both times come from the same
``time.perf_counter`` clock. Prints a table; asserts nothing (timings on shared machines are
noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.bootstrap import build_app
from adapters.local_gateway import serving
from adapters.settings import Settings
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from testsupport.stubs.bedrock import running_bedrock_stub
from testsupport.stubs.openai import running_openai_stub
from testsupport.stubs.thread import StubOnThread

StubFactory = Callable[[], AbstractAsyncContextManager[Any]]
EnvFor = Callable[[Any], dict[str, str]]  # the adapter's variables for a running stub


def adapters(rate: float, tokens: int) -> dict[str, tuple[StubFactory, EnvFor]]:
    return {
        "bedrock": (
            lambda: running_bedrock_stub(tokens_per_second=rate, reply_tokens=tokens),
            lambda stub: {
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stub.url,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": "us-east-1",
            },
        ),
        "openai": (
            lambda: running_openai_stub(tokens_per_second=rate, reply_tokens=tokens),
            lambda stub: {"OPENAI_BASE_URL": stub.url, "OPENAI_API_KEY": "sk-bench"},
        ),
        "openai-chat": (
            lambda: running_openai_stub(tokens_per_second=rate, reply_tokens=tokens),
            lambda stub: {
                "OPENAI_BASE_URL": stub.url,
                "OPENAI_API_KEY": "sk-bench",
                "AZUCHI_MODEL_ID": "llama3.2",
            },
        ),
    }


@asynccontextmanager
async def azuchi(model: str, env: dict[str, str]) -> AsyncIterator[str]:
    os.environ.update(env)  # the SDKs read their own variables from the process
    settings = Settings.from_env({**env, "AZUCHI_MODEL": model, "AZUCHI_TITLES": "false"})
    app = build_app(settings)
    try:
        async with serving(
            app, websocket_routes=WEBSOCKET_ROUTES, rest_routes=REST_ROUTES, port=0
        ) as gateway:
            yield gateway.ws_url
    finally:
        await app.aclose()


async def measure(model: str, replies: int, rate: float, tokens: int) -> list[float]:
    factory, env_for = adapters(rate, tokens)[model]
    added: list[float] = []
    with StubOnThread(factory) as stub:
        async with (
            azuchi(model, env_for(stub)) as ws_url,
            aiohttp.ClientSession() as http,
            http.ws_connect(ws_url) as ws,
        ):
            for index in range(replies + 1):  # the first warms the clients up
                before = len(stub.first_byte_at)
                await ws.send_str(json.dumps({"action": "putMessage", "message": f"hi {index}"}))
                first: float | None = None
                while True:
                    frame = json.loads((await ws.receive(timeout=30)).data)
                    if frame["type"] == "delta" and first is None:
                        first = time.perf_counter()
                    if frame["type"] == "done":
                        break
                if index and first is not None and len(stub.first_byte_at) > before:
                    added.append((first - stub.first_byte_at[before]) * 1000)
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=40)
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--tokens", type=int, default=20, help="words per stub reply")
    parser.add_argument("--models", default="bedrock,openai,openai-chat")
    args = parser.parse_args()
    print(
        f"Added latency, stub's first text byte -> client's first delta "
        f"({args.replies} replies each, stub at {args.tokens_per_second:g} tokens/s)"
    )
    print(f"{'adapter':<12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for model in args.models.split(","):
        samples = sorted(
            asyncio.run(measure(model, args.replies, args.tokens_per_second, args.tokens))
        )
        p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
        print(f"{model:<12} {statistics.median(samples):8.2f} {p95:8.2f} {samples[-1]:8.2f}")


if __name__ == "__main__":
    main()
