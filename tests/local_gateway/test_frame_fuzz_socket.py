"""Arbitrary frames through the real local gateway socket (a smaller set than the handler
fuzz in tests/handlers/test_frame_fuzz.py): each text frame is answered on the socket and a
refused one stores nothing; a text frame whose bytes are not UTF-8 closes with 1007."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from adapters.bootstrap import build_app
from adapters.local_gateway import RunningGateway, serving
from adapters.settings import Settings
from core.text import encodable
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from tests.conftest import FAST_ENV
from tests.handlers.test_frame_fuzz import ANSWERS, REFUSALS, bodies
from tests.support import PrivateLoop

ANSWER_TIMEOUT_S = 10.0


class GatewayHarness(PrivateLoop):
    """One gateway on a private loop for every example."""

    def __init__(self) -> None:
        # In process, so that the test can see every session the bare clients made.
        env = {**FAST_ENV, "AZUCHI_TITLES": "false", "AZUCHI_STORAGE": "inprocess"}
        app = build_app(Settings.from_env(env))
        super().__init__(
            serving(app, websocket_routes=WEBSOCKET_ROUTES, rest_routes=REST_ROUTES, port=0)
        )
        self.gateway: RunningGateway = self.value

    async def check_text(self, body: str) -> None:
        async with connect(self.gateway.ws_url, max_size=None, close_timeout=1) as ws:
            await ws.send(body)
            first = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT_S))
            assert first.get("type") in ANSWERS, first
            session_id = first["sessionId"]
            if first["type"] in REFUSALS:
                assert await self.gateway.app.store.last_messages(session_id, 10) == []
            await ws.send(json.dumps({"action": "getMessages"}))
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                while json.loads(await ws.recv())["type"] != "history":
                    pass

    async def check_not_utf8(self, payload: bytes) -> int:
        """Sends one text frame of ``payload`` from a bare-socket client; the close code."""
        reader, writer = await asyncio.open_connection(
            self.gateway._reachable_host, self.gateway.port
        )
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(
                (
                    f"GET /{self.gateway.stage} HTTP/1.1\r\nHost: localhost\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), ANSWER_TIMEOUT_S)
            assert status.startswith(b"HTTP/1.1 101"), status
            writer.write(_masked_text_frame(payload))
            await writer.drain()
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                while True:
                    opcode, data = await _read_frame(reader)
                    if opcode == 0x8:
                        return int(struct.unpack("!H", data[:2])[0])
        finally:
            writer.close()


def _masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    size = len(payload)
    header = bytes([0x81])
    if size < 126:
        header += bytes([0x80 | size])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", size)
    return header + mask + masked


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", await reader.readexactly(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", await reader.readexactly(8))
    return first & 0x0F, await reader.readexactly(size)


@pytest.fixture(scope="module")
def gateway_harness() -> Any:
    harness = GatewayHarness()
    yield harness
    harness.close()


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=bodies.filter(encodable))
def test_every_text_frame_on_the_socket_is_answered(
    gateway_harness: GatewayHarness, body: str
) -> None:
    gateway_harness.run(gateway_harness.check_text(body))


@FUZZ
@given(
    payload=st.one_of(
        st.binary(min_size=1, max_size=100).map(lambda b: b + b"\xff"),
        st.just(b'{"action":"putMessage","message":"\xed\xa0\x80"}'),  # a surrogate, as UTF-8
        st.just(b'{"action":"putMessage","message":"\xc0\xaf"}'),  # an overlong encoding
    )
)
def test_a_text_frame_that_is_not_utf8_closes_with_1007(
    gateway_harness: GatewayHarness, payload: bytes
) -> None:
    store = gateway_harness.gateway.app.store
    before = set(store._sessions)  # type: ignore[attr-defined]
    assert gateway_harness.run(gateway_harness.check_not_utf8(payload)) == 1007
    # The bare client's $connect made a session; the refused frame stored nothing in it.
    (session_id,) = set(store._sessions) - before  # type: ignore[attr-defined]
    assert gateway_harness.run(store.last_messages(session_id, 10)) == []
