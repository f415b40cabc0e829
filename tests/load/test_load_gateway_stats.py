"""``GET /_azuchi/stats``: the local gateway counts what API Gateway and Lambda would bill."""

from __future__ import annotations

import aiohttp
import pytest

from adapters.local_gateway.stats import billing_units

pytestmark = pytest.mark.anyio


async def stats(gateway) -> dict:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{gateway.http_url}/_azuchi/stats") as response,
    ):
        assert response.status == 200
        return await response.json()


def test_messages_are_billed_per_started_32_kb():
    assert [billing_units(n) for n in (0, 1, 32 * 1024, 32 * 1024 + 1)] == [1, 1, 1, 2]


async def test_a_chat_is_counted_as_frames_invocations_and_connection_time(gateway, open_client):
    before = await stats(gateway)
    client = await open_client(gateway)
    await client.send(action="putMessage", message="hello", clientMessageId="m1")
    received = await client.recv_type("done")
    await client.history()  # one more frame each way
    await client.ws.close()

    async def settled() -> dict:
        for _ in range(100):
            now = await stats(gateway)
            if "disconnect" in now["lambda"]:
                return now
            await anyio_sleep()
        raise AssertionError("no $disconnect counted")

    after = await settled()
    apigw = after["apigw"]
    assert apigw["inbound_messages"] - before["apigw"]["inbound_messages"] == 2
    # every frame the client read, plus the title frame that may follow done
    assert apigw["outbound_frames"] >= len(received) + 1
    assert apigw["outbound_messages"] == apigw["outbound_frames"]  # all under 32 KB
    assert apigw["connection_minutes"] > 0
    assert apigw["open_connections"] == 0
    functions = after["lambda"]
    assert functions["connect"]["invocations"] == 1
    assert functions["connect"]["memory_mb"] == 128
    assert functions["put_message"]["invocations"] == 1
    assert functions["get_messages"]["invocations"] == 1
    worker = functions["reply_worker"]
    assert worker["invocations"] == 1
    assert worker["memory_mb"] == 512
    assert worker["duration_ms"] > functions["put_message"]["duration_ms"]
    assert after["dynamodb"] == {"read_units": 0.0, "write_units": 0.0, "measured": False}


async def anyio_sleep() -> None:
    import anyio

    await anyio.sleep(0.02)
