"""The API Gateway transport, with the real aioboto3 client, against the local API Gateway."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from typing import Any

import pluggy
import pytest

from adapters.apigateway import plugin
from adapters.apigateway.transport import ApiGatewayOptions, ApiGatewayTransport, aioboto3_client
from adapters.bootstrap import build_app
from adapters.registry import PROJECT, AdapterSpecs, find_adapter
from adapters.settings import SettingsError
from core.domain import Role
from core.errors import ConnectionGone, PayloadTooLarge, TransportError
from core.services.fanout import CONNECT_GRACE_MS
from handlers import lambda_runtime
from tests.aws.gateway import apigw_event, aws_like_gateway, build_context
from tests.support import fast_settings
from testsupport.ports import free_port

pytestmark = pytest.mark.anyio

LIMIT = 128 * 1024


# --- sending through the management API --------------------------------------------------


async def test_a_frame_reaches_a_real_websocket_client_and_one_client_serves_all(rig):
    peer = await rig.sockets.open()
    opened: list[str] = []
    options = ApiGatewayOptions(endpoint=rig.tap.url)
    real = aioboto3_client(options)

    def counting(endpoint: str) -> Any:
        opened.append(endpoint)
        return real(endpoint)

    async with contextlib.aclosing(ApiGatewayTransport(options, open_client=counting)) as t:
        for text in ('{"type":"delta","text":"日本語 👋"}', "two", "three"):
            await t.send(peer.connection_id, text)
        assert await peer.received() == ['{"type":"delta","text":"日本語 👋"}', "two", "three"]
        assert opened == [rig.tap.url]  # one client, reused


async def test_an_oversize_frame_is_refused_before_anything_is_sent(rig):
    peer = await rig.sockets.open()
    transport = await rig.transport()
    with pytest.raises(PayloadTooLarge):
        await transport.send(peer.connection_id, "é" * (LIMIT // 2 + 1))  # fewer chars than bytes
    assert rig.tap.requests == []
    await transport.send(peer.connection_id, "x" * LIMIT)
    assert await peer.received() == ["x" * LIMIT]


async def test_a_gone_connection_raises_connection_gone(rig):
    peer = await rig.sockets.open()
    transport = await rig.transport()
    await peer.hang_up()
    with pytest.raises(ConnectionGone):
        await transport.send(peer.connection_id, "late")
    with pytest.raises(ConnectionGone):
        await transport.close(peer.connection_id)
    assert rig.sleeps == []  # a gone connection is not retried


async def test_throttled_posts_are_retried_with_backoff_until_delivered(rig):
    peer = await rig.sockets.open()
    transport = await rig.transport()
    rig.tap.throttle_posts = 2
    await transport.send(peer.connection_id, "after two 429s")
    assert await peer.received() == ["after two 429s"]
    assert rig.tap.requests == [("POST", peer.connection_id)] * 3
    assert len(rig.sleeps) == 2
    assert all(0 <= s <= 1.0 for s in rig.sleeps)


async def test_posts_still_throttled_after_the_last_attempt_raise_transport_error(rig):
    peer = await rig.sockets.open()
    transport = await rig.transport(max_attempts=3)
    rig.tap.throttle_posts = 10
    with pytest.raises(TransportError) as raised:
        await transport.send(peer.connection_id, "never")
    assert type(raised.value) is TransportError
    assert "LimitExceededException after 3 attempts" in raised.value.message
    assert len(rig.tap.requests) == 3
    assert await peer.received() == []


async def test_a_forbidden_answer_is_a_transport_error_that_says_why(rig):
    peer = await rig.sockets.open()
    transport = await rig.transport()
    rig.tap.refuse_with = (403, "ForbiddenException")
    with pytest.raises(TransportError) as raised:
        await transport.send(peer.connection_id, "hi")
    assert type(raised.value) is TransportError
    assert "execute-api:ManageConnections" in raised.value.message
    assert len(rig.tap.requests) == 1  # a refusal is not retried


async def test_an_unreachable_endpoint_is_a_transport_error_naming_it():
    endpoint = f"http://127.0.0.1:{free_port()}/local"  # nothing listens there
    async with contextlib.aclosing(
        ApiGatewayTransport(ApiGatewayOptions(endpoint=endpoint))
    ) as transport:
        with pytest.raises(TransportError) as raised:
            await transport.send("abc=", "hi")
    assert endpoint in raised.value.message


async def test_without_an_endpoint_sending_fails_with_the_setting_to_set():
    transport = ApiGatewayTransport(ApiGatewayOptions())
    transport.bind_event({"sessionId": str(uuid.uuid4())})  # the worker's payload: no API
    with pytest.raises(TransportError) as raised:
        await transport.send("abc=", "hi")
    assert "AZUCHI_APIGW_ENDPOINT" in raised.value.message


# --- the endpoint, from settings or from events -------------------------------------------


@pytest.mark.parametrize(
    ("domain", "stage", "region", "endpoint"),
    [
        (
            "abcd1234.execute-api.us-east-1.amazonaws.com",
            "prod",
            "us-east-1",
            "https://abcd1234.execute-api.us-east-1.amazonaws.com/prod",
        ),
        # A custom domain maps a base path, not the stage: post to the API's own URL.
        (
            "chat.example.com",
            "prod",
            "eu-west-1",
            "https://abcd1234.execute-api.eu-west-1.amazonaws.com/prod",
        ),
        ("127.0.0.1:8000", "local", "us-east-1", "http://127.0.0.1:8000/local"),
    ],
)
def test_the_endpoint_comes_from_the_event(domain, stage, region, endpoint):
    transport = ApiGatewayTransport(ApiGatewayOptions(region=region))
    assert transport.endpoint is None
    transport.bind_event(apigw_event(domain, stage))
    assert transport.endpoint == endpoint
    transport.bind_event({"sessionId": str(uuid.uuid4())})  # not from API Gateway: kept
    assert transport.endpoint == endpoint


def test_a_configured_endpoint_wins_over_events():
    options = ApiGatewayOptions.from_env(
        {"AZUCHI_APIGW_ENDPOINT": "https://x1.execute-api.us-east-1.amazonaws.com/prod/"}
    )
    transport = ApiGatewayTransport(options)
    transport.bind_event(apigw_event("chat.example.com"))
    assert transport.endpoint == "https://x1.execute-api.us-east-1.amazonaws.com/prod"


def test_the_lambda_runtime_binds_each_event_before_handling_it(monkeypatch):
    app = build_app(fast_settings(), overrides={"transport": ApiGatewayTransport()})
    monkeypatch.setattr(lambda_runtime, "_app", app)
    monkeypatch.setattr(lambda_runtime, "_loop", None)
    seen: list[str | None] = []

    async def handle(event: dict[str, Any], app: Any) -> dict[str, Any]:
        seen.append(app.transport.endpoint)
        return {"statusCode": 200}

    handler = lambda_runtime.lambda_entry(handle)
    handler(apigw_event("abcd1234.execute-api.us-east-1.amazonaws.com"), None)
    assert seen == ["https://abcd1234.execute-api.us-east-1.amazonaws.com/prod"]


# --- the plugin ---------------------------------------------------------------------------


def test_the_plugin_builds_the_transport_from_settings():
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(AdapterSpecs)
    manager.register(plugin)
    spec = find_adapter(manager, "transport", "apigateway")
    env = {
        "AZUCHI_APIGW_ENDPOINT": "https://x1.execute-api.eu-west-1.amazonaws.com/dev",
        "AZUCHI_APIGW_MAX_ATTEMPTS": "6",
        "AWS_REGION": "eu-west-1",
    }
    transport = spec.factory(build_context(env))
    assert isinstance(transport, ApiGatewayTransport)
    assert transport.endpoint == env["AZUCHI_APIGW_ENDPOINT"]
    assert transport.options.retry.max_attempts == 6
    assert transport.options.region == "eu-west-1"
    assert transport.max_payload_bytes == LIMIT
    with pytest.raises(SettingsError, match="AZUCHI_APIGW_MAX_ATTEMPTS"):
        spec.factory(build_context({"AZUCHI_APIGW_MAX_ATTEMPTS": "0"}))


# --- through the app: handlers, fan-out, store --------------------------------------------


async def test_a_whole_exchange_reaches_the_client_through_connections(open_client):
    async with aws_like_gateway() as gateway:
        client = await open_client(gateway)
        await client.send(action="putMessage", message="hello")
        frames = await client.recv_type("done")
        assert frames[0]["role"] == "USER" and frames[0]["message"] == "hello"
        assert any(f["type"] == "delta" for f in frames)
        assert frames[-1]["status"] == "complete"
        assert gateway.app.transport.endpoint == gateway.management_url


async def test_a_gone_connection_is_dropped_from_the_store_and_the_sender_still_gets_the_reply(
    open_client,
):
    async def lost(event: dict[str, Any], app: Any) -> dict[str, Any]:
        return {"statusCode": 200}  # a $disconnect that never reached the store

    async with aws_like_gateway(**{"$disconnect": lost}) as gateway:
        sender = await open_client(gateway)
        session_id = await sender.session_id()
        (sender_id,) = gateway.connections
        leaver = await open_client(gateway, session_id)
        await leaver.session_id()
        (leaver_id,) = set(gateway.connections) - {sender_id}
        store = gateway.app.store
        await leaver.ws.close()
        with pytest.raises(ConnectionGone):
            await gateway.app.transport.send(leaver_id, "anyone?")
        before = {c.connection_id for c in await store.session_connections(session_id)}
        assert before == {sender_id, leaver_id}  # the store has not heard of it yet
        # Past its handshake's grace (a younger one is kept: tests/unit/test_fanout_gone.py).
        record = await store.get_connection(leaver_id)
        assert record is not None
        aged = record.connected_at - CONNECT_GRACE_MS - 1
        await store.put_connection(dataclasses.replace(record, connected_at=aged))

        await sender.send(action="putMessage", message="still there?")
        frames = await sender.recv_type("done")
        assert [f["message"] for f in frames if f.get("role") == "USER"] == ["still there?"]
        assert frames[-1]["status"] == "complete"
        after = [c.connection_id for c in await store.session_connections(session_id)]
        assert after == [sender_id]


async def test_a_reply_is_stored_once_even_when_api_gateway_refuses_every_frame(rig, caplog):
    """Throttled past the retries, forbidden, unreachable: frames are lost for that
    connection, but the reply runs to the end and is stored once (the client resumes with
    getMessages), so a retried worker invocation finds nothing left to answer."""
    peer = await rig.sockets.open()
    rig.tap.refuse_with = (403, "ForbiddenException")
    app = build_app(
        fast_settings(AZUCHI_REPLY_LAUNCHER="inline"),
        overrides={"transport": await rig.transport()},
    )
    session_id = await app.chat.connect(peer.connection_id, None)
    await app.chat.put_message(peer.connection_id, {"message": "hi"})
    stored = await app.store.last_messages(session_id, 10)
    assert [m.role for m in stored] == [Role.USER, Role.AGENT]
    assert await app.replies.run_pending(session_id) == 0
    assert "ForbiddenException" in caplog.text
    assert await peer.received() == []
