"""One slow member cannot stall a session: a real client that stops reading is closed with
1008 after the send timeout, while the session's other connection streams on."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from adapters.local_gateway.connection import SLOW_CLIENT_CODE
from core.domain import MessageDraft, MessageType, Role

pytestmark = pytest.mark.anyio

PAGE_TEXT = secrets.token_hex(7_500)  # a history page of these is near 128 KB
REPLY_TOKENS = 1_500  # 5 s at 300 tokens/s: the slow client gets stuck meanwhile


def small_buffer_socket(host: str, port: int) -> socket.socket:
    """A TCP socket whose receive window is a few KB: once its reader stops, the server's
    writes back up within a few frames instead of megabytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    sock.setblocking(False)
    return sock


async def test_a_client_that_stops_reading_is_closed_and_the_others_stream_on(
    start_gateway: Any, open_client: Any
) -> None:
    gateway = await start_gateway(
        env={
            "AZUCHI_SEND_TIMEOUT_S": "1",
            "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "300",
            "AZUCHI_SCRIPTED_REPLY_TOKENS": str(REPLY_TOKENS),
        }
    )
    reader = await open_client(gateway)
    session_id = await reader.session_id()
    for _ in range(8):  # pages of ~128 KB for the slow client to ask for
        await gateway.app.store.append_message(
            MessageDraft(session_id, Role.SYSTEM, MessageType.SYSTEM_LOG, PAGE_TEXT)
        )
    (reader_id,) = gateway.connections
    sock = small_buffer_socket(gateway._reachable_host, gateway.port)
    async with connect(
        f"{gateway.ws_url}?sessionId={session_id}",
        sock=sock,
        max_queue=1,
        close_timeout=1,
        compression=None,  # the bytes on the wire are the frames' own
    ) as slow:
        (slow_id,) = set(gateway.connections) - {reader_id}
        # The other member chats; once its reply streams, the slow one asks for many pages
        # and reads none of them.
        await reader.send(action="putMessage", message="tell me a long story")
        frames = await reader.recv_type("delta")
        for _ in range(80):  # ~10 MB: past the kernel buffers and MAX_QUEUED_BYTES
            await slow.send(json.dumps({"action": "getMessages", "after": 0}))
        # The reply streams on to the end.
        frames += await reader.recv_type("done", timeout=30)
        assert frames[-1]["status"] == "complete"
        deltas = [f for f in frames if f["type"] == "delta"]
        assert len("".join(d["text"] for d in deltas).split()) == REPLY_TOKENS
        # The slow one was closed by the server, with 1008 and a reason that says why.
        await _until(lambda: slow_id not in gateway.connections, timeout=30)
        code, reason = await _close_seen_by(slow)
        assert code == SLOW_CLIENT_CODE == 1008
        assert "did not read its frames" in reason
    # The store no longer lists it: the session's next reply goes to the reader alone.
    connections = await gateway.app.store.session_connections(session_id)
    assert [c.connection_id for c in connections] == [reader_id]


async def _until(condition: Any, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def _close_seen_by(ws: Any) -> tuple[int, str]:
    """Reads what is left (the backlog, then the close frame)."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(30):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "the server dropped it without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason
