"""The bare relay streams the same frames azuchi does for the same settings, so comparing
their latencies compares the work in between and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from websockets.asyncio.client import connect

from adapters.inprocess.scripted_model import ScriptedSettings
from core.protocol import encode
from load_tests.relay import PATH, Relay
from tests.conftest import Client

pytestmark = pytest.mark.anyio

# As fast as the model goes, with a window longer than the reply: the first delta goes out
# at once and the rest in one frame at the end, in both servers — deterministic sizes.
PACE = {
    "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
    "AZUCHI_SCRIPTED_REPLY_TOKENS": "60",
    "AZUCHI_COALESCE_MS": "5000",
}


@asynccontextmanager
async def relay_url() -> AsyncIterator[str]:
    relay = Relay(ScriptedSettings(tokens_per_second=0, reply_tokens=60), coalesce_ms=5000)
    runner = web.AppRunner(relay.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"ws://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    finally:
        await runner.cleanup()


async def reply_frames(client, text: str) -> list[dict]:
    await client.send(action="putMessage", message=text, clientMessageId="c1")
    return await client.recv_type("done", timeout=10)


async def test_the_relay_sends_frames_of_the_sizes_azuchi_sends(start_gateway, open_client):
    gateway = await start_gateway({**PACE, "AZUCHI_TITLES": "false"})
    azuchi = await reply_frames(await open_client(gateway), "tell me about castles")
    async with relay_url() as url, connect(url, open_timeout=5, close_timeout=1) as ws:
        relay = await reply_frames(Client(ws), "tell me about castles")

    def deltas(frames: list[dict]) -> list[dict]:
        return [f for f in frames if f["type"] == "delta"]

    def sizes(frames: list[dict]) -> list[int]:
        return [len(encode(f).encode()) for f in deltas(frames)]

    assert len(deltas(azuchi)) == 2
    assert sizes(relay) == sizes(azuchi)
    assert [d["text"] for d in deltas(relay)] == [d["text"] for d in deltas(azuchi)]
    assert [f["seq"] for f in deltas(relay)] == [0, 1]

    def final(frames: list[dict]) -> dict:
        return next(f for f in frames if f["type"] == "message" and f["role"] == "AGENT")

    assert final(relay)["message"] == final(azuchi)["message"]
    assert final(relay)["replyTo"] == next(f for f in relay if f["role"] == "USER")["createdAt"]
    assert relay[-1]["usage"]["outputTokens"] == azuchi[-1]["usage"]["outputTokens"] == 60


async def test_a_run_against_a_target_without_stats_estimates_operations_client_side():
    from load_tests.harness import LoadConfig
    from load_tests.run import run_load

    relay = Relay(ScriptedSettings(tokens_per_second=400, reply_tokens=60), coalesce_ms=20)
    runner = web.AppRunner(relay.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"ws://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    try:
        config = LoadConfig(url, sessions=3, duration_s=1.0, think_s=(0.0, 0.1), drop_weight=0,
                            verify=False, seed=1)  # fmt: skip
        run = await run_load(config, out=None)
    finally:
        await runner.cleanup()

    summary = run.summary

    assert summary["errors"] == 0 and summary["replies"] >= 3
    operations = summary["operations"]
    assert operations["source"] == "client"
    assert operations["turns"] == summary["replies"]
    assert operations["lambda"]["connect"]["invocations"] == 3
    assert operations["lambda"]["put_message"]["invocations"] == summary["replies"]
    assert operations["apigw"]["inbound_messages"] == summary["replies"]  # putMessage only
    frames = sum(run.metrics.frames_per_reply)
    # each reply: its echo, its deltas, its final message and done
    assert operations["apigw"]["outbound_messages"] == frames + 3 * summary["replies"]
    assert operations["model"]["output_tokens"] == 60 * summary["replies"]
