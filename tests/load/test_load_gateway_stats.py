"""``GET /_azuchi/stats``: the local gateway counts what API Gateway and Lambda would bill."""

from __future__ import annotations

import aiohttp
import pytest

from adapters.local_gateway.stats import REPLY_RUNS, GatewayStats, billing_units
from handlers.functions import FUNCTIONS

pytestmark = pytest.mark.anyio


@pytest.fixture
async def gateway(start_gateway):
    return await start_gateway({"AZUCHI_ADMIN_PORT": "0"})  # the stats are on the admin port


async def stats(gateway) -> dict:
    async with (
        aiohttp.ClientSession() as http,
        http.get(gateway.stats_url) as response,
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
    await client.session_id()  # an unknown action: $default answers with the routes
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
    assert apigw["inbound_messages"] - before["apigw"]["inbound_messages"] == 3
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
    # each at the size the template deploys it (handlers/functions.py)
    assert functions["default"]["invocations"] == 1
    assert functions["default"]["memory_mb"] == 128
    assert functions["put_message"]["memory_mb"] == 256
    worker = functions["reply_worker"]
    assert worker["invocations"] == 1
    assert worker["memory_mb"] == 512
    assert worker["duration_ms"] > functions["put_message"]["duration_ms"]
    assert after["dynamodb"] == {"read_units": 0.0, "write_units": 0.0, "measured": False}


async def test_the_stats_name_functions_by_the_facts_and_without_them_by_route_key():
    async def handler(event, context):
        return {"statusCode": 200}

    async def run(session_id):
        return None

    for facts, route_name, reply_name in (
        ((), "putMessage", REPLY_RUNS),
        (FUNCTIONS, "put_message", "reply_worker"),
    ):
        stats = GatewayStats(facts)
        routes = stats.wrap_routes({"putMessage": handler})
        await routes["putMessage"]({"requestContext": {"eventType": "MESSAGE"}, "body": "{}"}, None)
        await stats.wrap_reply_run(run)("s1")
        counted = stats.snapshot()["lambda"]
        assert set(counted) == {route_name, reply_name}
        assert ("memory_mb" in counted[route_name]) == bool(facts)


async def anyio_sleep() -> None:
    import anyio

    await anyio.sleep(0.02)


def test_a_server_record_says_its_dynamodb_units_count_transactions_at_the_aws_rate():
    """The server's meter counts a transaction at AWS's rate; a record that dropped the flag
    was read by `azuchi cost` as DynamoDB Local's figures and billed 2 WCU a turn more."""
    from load_tests.operations import server_operations
    from load_tests.stats import Metrics

    def snapshot(reads: float, writes: float) -> dict:
        return {
            "at_ms": 0,
            "apigw": {"inbound_messages": 0, "outbound_messages": 0, "connection_minutes": 0},
            "lambda": {},
            "dynamodb": {
                "read_units": reads,
                "write_units": writes,
                "measured": True,
                "transactions_at_aws_rate": True,
            },
        }

    record = server_operations(snapshot(0, 0), snapshot(10, 20), Metrics())
    assert record["dynamodb"] == {
        "read_units": 10,
        "write_units": 20,
        "measured": True,
        "transactions_at_aws_rate": True,
    }
