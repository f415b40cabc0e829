"""The local API Gateway behaves as API Gateway does, seen from a real client."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import aiohttp
import anyio
import boto3
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.config import ROUTES
from handlers.events import RestEvent, WebSocketEvent
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES

pytestmark = pytest.mark.anyio

GATEWAY_ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")


async def closed_with(client: Any) -> tuple[int, str]:
    """The close code and reason the server sent, once the socket closes."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await client.recv()
    assert closed.value.rcvd is not None, "the server closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def until(condition: Any, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not await condition():
            await asyncio.sleep(0.02)


# --- handshake -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session_id", "status", "code"),
    [
        ("not-a-uuid", 400, "INVALID_SESSION_ID"),
        (str(uuid.uuid4()), 404, "SESSION_NOT_FOUND"),
    ],
)
async def test_a_bad_session_id_refuses_the_handshake(
    gateway, open_client, session_id, status, code
):
    with pytest.raises(InvalidStatus) as refused:
        await open_client(gateway, session_id)
    assert refused.value.response.status_code == status
    assert code in refused.value.response.body.decode()
    assert not gateway.connections


# --- route selection and validation ------------------------------------------------------


@pytest.mark.parametrize("frame", ["hello, not json", '{"action": "dance"}', "[1, 2]", '{"x": 1}'])
async def test_frames_without_a_known_action_get_the_routes(gateway, open_client, frame):
    client = await open_client(gateway)
    await client.ws.send(frame)
    answer = await client.recv()
    assert answer["type"] == "routes"
    assert answer["routes"] == list(ROUTES)
    assert answer["sessionId"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "MESSAGE_REQUIRED"),
        ({"message": "   "}, "MESSAGE_EMPTY"),
        ({"message": 42}, "MESSAGE_NOT_STRING"),
        ({"message": "x" * (16 * 1024 + 1)}, "MESSAGE_TOO_LARGE"),
    ],
)
async def test_a_rejected_message_is_explained_and_not_stored(gateway, open_client, fields, code):
    client = await open_client(gateway)
    await client.send(action="putMessage", **fields)
    error = await client.recv()
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["message"]
    assert await client.history() == []  # nothing stored, and the socket still answers


async def test_a_failing_handler_reports_internal_error_and_the_socket_lives_on(
    start_gateway, open_client
):
    async def broken(event: dict[str, Any], app: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    gateway = await start_gateway(websocket_routes={**WEBSOCKET_ROUTES, "putMessage": broken})
    client = await open_client(gateway)
    await client.send(action="putMessage", message="hi")
    answer = await client.recv()
    assert answer["message"] == "Internal server error"
    assert answer["connectionId"] in gateway.connections
    assert answer["requestId"]
    assert await client.history() == []


# --- limits ----------------------------------------------------------------------------


async def test_a_binary_frame_closes_with_1003(gateway, open_client):
    client = await open_client(gateway)
    await client.ws.send(b"\x00\x01")
    code, _ = await closed_with(client)
    assert code == 1003


async def test_a_message_over_128_kb_closes_with_1009(gateway, open_client):
    client = await open_client(gateway)
    await client.ws.send("x" * (129 * 1024))
    code, _ = await closed_with(client)
    assert code == 1009


async def test_a_message_of_128_kb_is_still_accepted(gateway, open_client):
    client = await open_client(gateway)
    frame = '{"action":"nothing","pad":"' + "x" * (128 * 1024 - 29) + '"}'
    assert len(frame) == 128 * 1024
    await client.ws.send(frame)
    assert (await client.recv())["type"] == "routes"


async def test_an_idle_connection_is_closed_with_1001(start_gateway, open_client):
    gateway = await start_gateway({"AZUCHI_IDLE_TIMEOUT_S": "0.5"})
    client = await open_client(gateway)
    (cid,) = gateway.connections
    started = anyio.current_time()
    code, reason = await closed_with(client)
    assert code == 1001
    assert reason == "Going away"
    assert 0.4 < anyio.current_time() - started < 3
    await until(lambda: _gone(gateway, cid))


async def test_activity_keeps_a_connection_open_until_its_maximum_duration(
    start_gateway, open_client
):
    gateway = await start_gateway(
        {"AZUCHI_IDLE_TIMEOUT_S": "0.4", "AZUCHI_MAX_CONNECTION_S": "1.2"}
    )
    client = await open_client(gateway)
    started = anyio.current_time()
    with pytest.raises(ConnectionClosed) as closed:
        while True:  # a frame every 0.2 s: never idle
            await client.send(action="ping")
            await client.recv()
            await asyncio.sleep(0.2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert 1.1 < anyio.current_time() - started < 3


async def test_disconnect_removes_the_connection_from_the_store(gateway, open_client):
    client = await open_client(gateway)
    await client.session_id()
    (cid,) = gateway.connections
    assert await gateway.app.store.get_connection(cid) is not None
    await client.ws.close()
    await until(lambda: _gone(gateway, cid))
    assert cid not in gateway.app.hub


async def _gone(gateway: Any, cid: str) -> bool:
    return await gateway.app.store.get_connection(cid) is None


# --- the management API, through boto3 ---------------------------------------------------


def management(gateway: Any) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=gateway.management_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


ADMIN = {"AZUCHI_ADMIN_PORT": "0"}  # the management API is on the admin listener


async def test_boto3_posts_gets_and_deletes_a_connection(start_gateway, open_client):
    gateway = await start_gateway(ADMIN)
    client = await open_client(gateway)
    (cid,) = gateway.connections
    api = management(gateway)

    await anyio.to_thread.run_sync(
        lambda: api.post_to_connection(ConnectionId=cid, Data='{"type":"hi","n":"日本"}'.encode())
    )
    assert await client.recv() == {"type": "hi", "n": "日本"}

    info = await anyio.to_thread.run_sync(lambda: api.get_connection(ConnectionId=cid))
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    assert "websockets" in info["Identity"]["UserAgent"]
    assert info["ConnectedAt"] <= info["LastActiveAt"]

    await anyio.to_thread.run_sync(lambda: api.delete_connection(ConnectionId=cid))
    code, _ = await closed_with(client)
    assert code == 1000
    await until(lambda: _gone(gateway, cid))

    with pytest.raises(api.exceptions.GoneException):
        await anyio.to_thread.run_sync(
            lambda: api.post_to_connection(ConnectionId=cid, Data=b"late")
        )
    with pytest.raises(api.exceptions.GoneException):
        await anyio.to_thread.run_sync(lambda: api.get_connection(ConnectionId=cid))
    with pytest.raises(api.exceptions.GoneException):
        await anyio.to_thread.run_sync(lambda: api.delete_connection(ConnectionId=cid))


async def test_boto3_is_refused_a_payload_over_128_kb(start_gateway, open_client):
    gateway = await start_gateway(ADMIN)
    client = await open_client(gateway)
    (cid,) = gateway.connections
    api = management(gateway)
    with pytest.raises(api.exceptions.PayloadTooLargeException):
        await anyio.to_thread.run_sync(
            lambda: api.post_to_connection(ConnectionId=cid, Data=b"x" * (128 * 1024 + 1))
        )
    await client.send(action="ping")
    assert (await client.recv())["type"] == "routes"  # nothing was sent, the socket is fine


# --- events as API Gateway shapes them ----------------------------------------------------


def _recording(routes: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    def recording(handle: Any) -> Any:
        async def wrapped(event: dict[str, Any], app: Any) -> dict[str, Any]:
            events.append(event)
            return await handle(event, app)  # type: ignore[no-any-return]

        return wrapped

    return {key: recording(handle) for key, handle in routes.items()}


async def test_handlers_get_api_gateway_shaped_events(start_gateway, open_client):
    """What the gateway builds parses through the handlers' own view of an event."""
    raw: list[dict[str, Any]] = []
    gateway = await start_gateway(websocket_routes=_recording(WEBSOCKET_ROUTES, raw))
    first = await open_client(gateway)
    session_id = await first.session_id()
    second = await open_client(gateway, session_id)
    body = '{"action":"getMessages","limit":5}'
    await second.ws.send(body)
    await second.recv_type("history")
    await second.ws.close(code=1000, reason="bye")
    await until(lambda: _async(any(e["requestContext"]["eventType"] == "DISCONNECT" for e in raw)))

    events = [WebSocketEvent.parse(event) for event in raw]
    connect_plain, _default, connect_query, message, disconnect = events
    host = f"127.0.0.1:{gateway.port}"
    for event, shaped in zip(events, raw, strict=True):
        assert GATEWAY_ID.match(event.connection_id)
        assert GATEWAY_ID.match(event.request_id)
        assert (event.stage, event.domain_name) == ("local", host)
        assert event.identity.source_ip == "127.0.0.1"
        assert event.identity.user_agent  # the client's own User-Agent header
        assert event.request_time_epoch >= event.connected_at
        assert shaped["requestContext"]["messageDirection"] == "IN"
        requested = shaped["requestContext"]["requestTime"]
        assert re.match(r"^\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000$", requested)
        assert shaped["isBase64Encoded"] is False
    assert len({e.api_id for e in events}) == 1

    assert (connect_plain.route_key, connect_plain.event_type) == ("$connect", "CONNECT")
    assert "queryStringParameters" not in raw[0] and connect_plain.query == {}
    assert connect_plain.headers["Host"] == host
    assert raw[0]["multiValueHeaders"]["Host"] == [host]
    assert connect_query.query == {"sessionId": session_id}
    assert raw[2]["multiValueQueryStringParameters"] == {"sessionId": [session_id]}

    assert (message.route_key, message.event_type) == ("getMessages", "MESSAGE")
    assert message.message_id is not None and GATEWAY_ID.match(message.message_id)
    assert message.body == body
    assert message.connection_id == connect_query.connection_id
    assert message.connected_at == connect_query.connected_at

    assert (disconnect.route_key, disconnect.event_type) == ("$disconnect", "DISCONNECT")
    assert disconnect.connection_id == connect_query.connection_id
    assert disconnect.disconnect_status_code == 1000
    assert disconnect.disconnect_reason is not None
    assert "'1000'" in disconnect.disconnect_reason and "bye" in disconnect.disconnect_reason


async def test_the_rest_handler_gets_an_api_gateway_shaped_event(start_gateway, open_client):
    raw: list[dict[str, Any]] = []
    gateway = await start_gateway(rest_routes=_recording(REST_ROUTES, raw))
    session_id = await (await open_client(gateway)).session_id()
    url = f"{gateway.http_url}/local/api/v1/chat/sessions/{session_id}/reply/generate?x=1"
    async with aiohttp.ClientSession() as http, http.post(url, json={"message": "日本"}) as r:
        assert r.status == 202

    (event,) = [RestEvent.parse(e) for e in raw]
    assert (event.http_method, event.path_parameters) == ("POST", {"sessionId": session_id})
    assert event.resource == "/api/v1/chat/sessions/{sessionId}/reply/generate"
    assert event.path == f"/api/v1/chat/sessions/{session_id}/reply/generate"
    assert json.loads(event.body or "") == {"message": "日本"}
    assert event.query == {"x": "1"}
    assert event.headers["Content-Type"].startswith("application/json")
    assert event.stage == "local" and event.identity.source_ip == "127.0.0.1"


async def _async(value: bool) -> bool:
    return value


# --- the agent REST API ------------------------------------------------------------------


async def test_the_rest_generate_endpoint_starts_a_reply_in_an_existing_session(
    gateway, open_client
):
    client = await open_client(gateway)
    session_id = await client.session_id()
    url = f"{gateway.http_url}/api/v1/chat/sessions/{session_id}/reply/generate"
    async with aiohttp.ClientSession() as http, http.post(url, json={"message": "from REST"}) as r:
        assert r.status == 202
    frames = await client.recv_type("done")
    assert [f["message"] for f in frames if f.get("role") == "USER"] == ["from REST"]
    assert frames[-1]["status"] == "complete"


@pytest.mark.parametrize(
    ("session_id", "body", "status", "code"),
    [
        (str(uuid.uuid4()), '{"message": "hi"}', 404, "SESSION_NOT_FOUND"),
        ("not-a-session", '{"message": "hi"}', 400, "INVALID_SESSION_ID"),
        (None, "this is not json", 400, "INVALID_BODY"),
    ],
)
async def test_the_rest_generate_endpoint_refuses_bad_requests(
    gateway, open_client, session_id, body, status, code
):
    if session_id is None:
        session_id = await (await open_client(gateway)).session_id()
    url = f"{gateway.http_url}/api/v1/chat/sessions/{session_id}/reply/generate"
    headers = {"Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as response,
    ):
        assert response.status == status
        assert (await response.json(content_type=None))["code"] == code


async def test_the_rest_api_is_also_served_under_the_stage_as_on_aws(gateway):
    url = f"{gateway.http_url}/local/api/v1/chat/sessions/{uuid.uuid4()}/reply/generate"
    async with aiohttp.ClientSession() as http, http.post(url, json={}) as response:
        assert response.status == 404
        assert (await response.json())["code"] == "SESSION_NOT_FOUND"


# --- the frontend ------------------------------------------------------------------------


async def test_the_frontend_and_its_config_are_served(gateway):
    async with aiohttp.ClientSession(gateway.http_url) as http:
        async with http.get("/") as page:
            assert page.status == 200
            assert page.content_type == "text/html"
            assert "<html" in (await page.text()).lower()
        async with http.get("/config.json") as config:
            assert await config.json() == {"websocketUrl": gateway.ws_url}
        async with http.get("/js/app.js") as script:
            assert script.status == 200
            assert script.content_type == "text/javascript"
            assert script.headers["Cache-Control"] == "no-cache"
        async with http.get("/css/base.css") as style:
            assert style.content_type == "text/css"
        async with http.get("/../pyproject.toml") as escape:
            assert escape.status == 404
        async with http.get("/healthz") as health:
            assert await health.text() == "ok"


async def test_the_config_names_the_host_the_browser_used(gateway):
    async with aiohttp.ClientSession() as http:
        url = f"{gateway.http_url}/config.json"
        async with http.get(url, headers={"Host": "chat.example:9000"}) as config:
            assert await config.json() == {"websocketUrl": "ws://chat.example:9000/local"}
