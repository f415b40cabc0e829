"""A client cannot hold the server with a request it never finishes, nor make it read an
unbounded one: headers and bodies have a time and a size (raw sockets, since a client
library always finishes what it starts)."""

from __future__ import annotations

import asyncio

import pytest

from tests.local_gateway.raw_http import connect, parse, request

pytestmark = pytest.mark.anyio

QUICK = {"AZUCHI_HEADER_TIMEOUT_S": "0.3", "AZUCHI_BODY_TIMEOUT_S": "0.3"}


async def test_half_sent_headers_are_answered_408_and_closed(start_gateway):
    gateway = await start_gateway(QUICK)
    conn = await connect(gateway.port)
    await conn.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")  # and no more
    answer = parse(await conn.until_closed())  # a hang fails here (raw_http.WAIT_S)
    conn.close()
    assert answer.status == 408


async def test_headers_trickled_a_byte_at_a_time_do_not_keep_the_connection(start_gateway):
    gateway = await start_gateway(QUICK)
    conn = await connect(gateway.port)
    await conn.send(b"GET / HTTP/1.1\r\n")
    seen = b""
    for _ in range(100):  # one header byte every 50 ms: each arrives within any idle timer
        await conn.send(b"X")
        try:  # the 50 ms between two bytes, listening
            seen = await asyncio.wait_for(conn.reader.read(65536), 0.05)
        except TimeoutError:
            continue
        break
    assert parse(seen + await conn.until_closed()).status == 408
    conn.close()


async def test_a_second_request_half_sent_on_a_kept_alive_connection_is_closed(start_gateway):
    gateway = await start_gateway(QUICK)
    conn = await connect(gateway.port)
    await conn.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert (await conn.answer()).status == 200
    await conn.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and no more
    assert await conn.until_closed() == b""  # closed (aiohttp's keep-alive timeout)
    conn.close()


async def test_a_body_that_stops_half_way_is_answered_408_and_nothing_is_stored(
    start_gateway, open_client
):
    gateway = await start_gateway(QUICK)
    client = await open_client(gateway)
    session_id = await client.session_id()
    path = f"/api/v1/chat/sessions/{session_id}/reply/generate"
    conn = await connect(gateway.port)
    await conn.send(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        'Content-Length: 100\r\n\r\n{"message": "'.encode()
    )
    answer = parse(await conn.until_closed())
    conn.close()
    assert answer.status == 408
    assert b"REQUEST_TIMEOUT" in answer.body
    assert await client.history() == []


async def test_headers_over_the_cap_are_answered_431(start_gateway):
    gateway = await start_gateway({"AZUCHI_MAX_HEADER_BYTES": "2048"})
    padding = "X-Pad: " + "a" * 1000 + "\r\n"
    data = f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{padding * 3}\r\n".encode()
    assert (await request(gateway.port, data)).status == 431


async def test_a_body_over_the_cap_is_refused_413_before_it_is_read(start_gateway, open_client):
    gateway = await start_gateway({"AZUCHI_MAX_BODY_BYTES": "2048"})
    client = await open_client(gateway)
    path = f"/api/v1/chat/sessions/{await client.session_id()}/reply/generate"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 5000\r\nConnection: close\r\n\r\n"
    )
    answer = await request(gateway.port, head.encode())  # the body is never sent
    assert answer.status == 413
    assert b"BODY_TOO_LARGE" in answer.body
    assert await client.history() == []


async def test_a_whole_request_within_the_limits_is_served(start_gateway):
    gateway = await start_gateway(QUICK)
    data = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = await request(gateway.port, data)
    assert (answer.status, answer.body) == (200, b"ok")
